//! Wall time of one f32 training step (batch 128, 3×32×32 inputs, fixed ELR) for ConvNet c=8 and
//! ResNet-18 k=4: `cargo run --release -p sweep-nn --example step_speed [steps] [convnet|resnet18]`
//! (both models unless one is named; a profiler's view of one model). The comparison against JAX
//! is the `step` bench.
//! Pixel values do not affect speed, so the data are synthetic.

use std::time::Instant;

use sweep_nn::data::{BatchSampler, Dataset};
use sweep_nn::train::{Trainer, Update};
use sweep_nn::{Architecture, Network};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let steps: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let n = 2048;
    let data = Dataset {
        pixels: (0..n * 3072).map(|i| (i * 7919 % 256) as u8).collect(),
        labels: (0..n).map(|i| (i % 10) as u8).collect(),
        c: 3,
        h: 32,
        w: 32,
        classes: 10,
        mean: vec![0.5; 3],
        std: vec![0.25; 3],
    };
    let only = std::env::args().nth(2);
    for arch in [
        Architecture::ConvNet { c: 8 },
        Architecture::ResNet18 { k: 4 },
    ] {
        let name = match arch {
            Architecture::ConvNet { .. } => "convnet",
            Architecture::ResNet18 { .. } => "resnet18",
        };
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let (net, si) = Network::<f32>::initial(arch, 3, 10, 1, 4, 1.0, 10.0)?;
        let mut tr = Trainer::new(&net, &data, BatchSampler::new(1, n, 128), si);
        let update = Update::FixedElr {
            elr: 1e-3,
            wd: 1e-3,
        };
        tr.step(update)?; // warm-up
        let t0 = Instant::now();
        let mut loss = 0.0;
        for _ in 0..steps {
            loss = tr.step(update)?.loss;
        }
        let per = t0.elapsed().as_secs_f64() / steps as f64;
        println!(
            "{arch:?}: dim {}, {:.1} ms per step (batch 128, f32), last loss {loss:.4}",
            net.dim(),
            per * 1e3
        );
    }
    Ok(())
}
