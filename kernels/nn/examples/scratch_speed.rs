use std::time::Instant;
use sweep_nn::data::{BatchSampler, Dataset};
use sweep_nn::train::{Trainer, Update, gradient_statistics};
use sweep_nn::{Architecture, Network};
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = Dataset::synthetic(1, 50);
    for c in [2usize, 3] { for b in [8usize, 16] {
        let (net, si) = Network::<f32>::initial(Architecture::ConvNet { c }, 1, 10, 1, 4, 1.0, 10.0)?;
        let mut tr = Trainer::new(&net, &data, BatchSampler::new(1, data.len(), b), si);
        let u = Update::FixedLr { lr: 0.1, wd: 0.01 };
        tr.step(u)?;
        let t0 = Instant::now();
        for _ in 0..100 { tr.step(u)?; }
        let step = t0.elapsed().as_secs_f64() * 1e3 / 100.0;
        let t0 = Instant::now();
        gradient_statistics(&net, &data, tr.weights(), 1024, &BatchSampler::new(2, data.len(), b), 1 << 63, 16)?;
        println!("c={c} b={b} dim={} {step:.2} ms/step, measurement (500 imgs, M=16) {:.1} ms", net.dim(), t0.elapsed().as_secs_f64() * 1e3);
    }}
    Ok(())
}
