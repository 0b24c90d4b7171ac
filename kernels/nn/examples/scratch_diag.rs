use sweep_nn::data::{BatchSampler, Dataset, Split};
use sweep_nn::train::{Trainer, Update, gradient_statistics, norm};
use sweep_nn::{Architecture, Network};
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let full = Dataset::mnist_family(std::path::Path::new("data/mnist"), Split::Train, None)?;
    let data = full.first_per_label(100, std::path::Path::new("data/mnist"))?;
    let (lr, wd): (f64, f64) = (std::env::args().nth(1).unwrap().parse()?, std::env::args().nth(2).unwrap().parse()?);
    let b: usize = std::env::args().nth(3).unwrap().parse()?;
    let (net, si) = Network::<f32>::initial(Architecture::ConvNet { c: 2 }, 1, 10, 1, 4, 1.0, 10.0)?;
    let mut tr = Trainer::new(&net, &data, BatchSampler::new(99, data.len(), b), si);
    let u = Update::FixedLr { lr, wd };
    let mut prev = 1.0f64;
    let (mut g_run, mut r_run, mut r4, mut n) = (0.0, 0.0, 0.0, 0.0);
    let mut meas = vec![];
    for t in 0..4000u64 {
        let log = tr.step(u)?;
        if t >= 2000 {
            g_run += log.grad_norm * log.grad_norm * prev * prev;
            r_run += log.norm; r4 += log.norm.powi(4); n += 1.0;
            if t % 20 == 0 {
                let w = tr.weights().to_vec();
                let r = norm(&w);
                let s = gradient_statistics(&net, &data, &w, 1024, &BatchSampler::new(5, data.len(), b), (1u64<<63) + t * 64, 16)?;
                // mean ||g_m||^2 directly
                let mut g = vec![0f32; net.dim()]; let mut idx = vec![]; let mut gm = 0.0;
                let sm = BatchSampler::new(5, data.len(), b);
                for m in 0..16u64 { sm.fill((1u64<<63) + t*64 + m, &mut idx); let (x, l) = data.batch::<f32>(&idx); net.loss_grad(&w, &x, &l, &mut g)?; gm += norm(&g).powi(2); }
                meas.push((s.trace_sigma(r), s.full_grad_norm.powi(2) * r * r, gm / 16.0 * r * r));
            }
        }
        prev = log.norm;
    }
    let rbar = r_run / n;
    println!("lr {lr} wd {wd} b {b}: rbar {rbar:.4} r4mean {:.1}  running E|g|^2 r^2 = {:.1} -> r_pred {:.4}", r4 / n, g_run / n, (lr * g_run / n / (2.0 * wd) / (1.0 - lr * wd / 2.0)).powf(0.25));
    let k = meas.len() as f64;
    let (a, b2, c) = meas.iter().fold((0.0, 0.0, 0.0), |s, m| (s.0 + m.0 / k, s.1 + m.1 / k, s.2 + m.2 / k));
    println!("  measured trS {a:.1} g2 {b2:.1} sum {:.1} direct E|g_m|^2 r^2 {c:.1} -> sde {:.4} apph {:.4}", a + b2, (lr * a / (2.0 * wd)).powf(0.25), (lr * (a + b2) / (2.0 * wd)).powf(0.25));
    Ok(())
}
