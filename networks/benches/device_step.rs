//! Speed of a network training step on the CUDA device against our CPU step in the same run:
//! `cargo bench -p sweep-nn --features cuda --bench device_step` (scripts/gpu-check.sh runs it on a
//! GPU machine). The device is the process-wide one (`THERMOSWEEP_CUDA_DEVICE`: a GPU by default;
//! `cpu` runs the kernels on the CPU, which measures nothing about a GPU and says so).
//!
//! Cases: ConvNet c=8 and ResNet-18 k=4 at batch 128 on synthetic 3×32×32 images, one point, and
//! 8 points stepping in turn on the same device (the many-points-per-GPU layout: each its
//! own weights, buffers and batches; they run one after another on one stream here, so this shows
//! what concurrency would have to gain). Each timing is the median of a few steps after one
//! warm-up step. The table gives ms per step on the device, on the CPU (`Trainer::step`, every
//! core), and their ratio (above 1: the device is faster); the goal on an H200 is a ResNet-18 k=4
//! step under 2 ms with 8 or more points in flight.
//!
//! What limits the device step as written: every step gathers and uploads its batch from the host
//! and copies back the loss terms and the norms (three synchronisations); the weight-gradient GEMM
//! of each convolution has a small m×n (c_out × 9·c_in) and a long k (128·h·w), one 64×64 tile, so
//! it runs on one multiprocessor; and every layer is a separate launch.

use std::error::Error;
use std::time::Instant;

use sweep_kernels::cuda::{Device, default_device};
use sweep_nn::data::{BatchSampler, Dataset};
use sweep_nn::device::{DeviceSet, DeviceTrainer};
use sweep_nn::train::{Trainer, Update};
use sweep_nn::{Architecture, Network};

const TRAIN: usize = 2048;

/// A setting from the environment (for a quick run: `BENCH_REPS=1 BENCH_BATCH=4 BENCH_POINTS=2`).
fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn synthetic() -> Dataset {
    let byte = |i: usize| (i * 7919 % 256) as u8;
    Dataset {
        pixels: (0..TRAIN * 3 * 32 * 32).map(byte).collect(),
        labels: (0..TRAIN).map(|i| (i % 10) as u8).collect(),
        c: 3,
        h: 32,
        w: 32,
        classes: 10,
        mean: vec![0.5; 3],
        std: vec![0.25; 3],
    }
}

fn median_ms(
    reps: usize,
    mut f: impl FnMut() -> Result<(), Box<dyn Error>>,
) -> Result<f64, Box<dyn Error>> {
    f()?;
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t0 = Instant::now();
        f()?;
        times.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

fn main() -> Result<(), Box<dyn Error>> {
    let device: &dyn Device = match default_device() {
        Ok(d) => d,
        Err(e) => {
            println!("device step bench SKIPPED: no CUDA device ({e})");
            return Ok(());
        }
    };
    println!("device: {}", device.name());
    if device.backend() != "cuda" {
        println!("(the kernels run on the CPU here: these timings say nothing about a GPU)");
    }
    let (reps, batch, points) = (
        setting("BENCH_REPS", 5),
        setting("BENCH_BATCH", 128),
        setting("BENCH_POINTS", 8),
    );
    println!("batch {batch}, {points} points for the shared-device case, median of {reps}");
    let data = synthetic();
    let update = Update::FixedElr {
        elr: 1e-3,
        wd: 5e-4,
    };
    println!(
        "{:<24} {:>12} {:>14} {:>12} {:>10}",
        "case", "device ms", "device ms/pt", "cpu ms", "cpu/device"
    );
    for arch in [
        Architecture::ConvNet { c: 8 },
        Architecture::ResNet18 { k: 4 },
    ] {
        let (net, si) = Network::<f32>::initial(arch, 3, 10, 1, 4, 1.0, 10.0)?;
        let sampler = || BatchSampler::new(7, data.len(), batch);
        let mut cpu = Trainer::new(&net, &data, sampler(), si.clone());
        let cpu_ms = median_ms(reps, || Ok(cpu.step(update).map(|_| ())?))?;
        let on_device = DeviceSet::upload(device, &data)?;
        let mut one = DeviceTrainer::new(device, &net, &on_device, sampler(), &si)?;
        let one_ms = median_ms(reps, || Ok(one.step(update).map(|_| ())?))?;
        let mut many: Vec<DeviceTrainer<'_>> = (0..points)
            .map(|_| DeviceTrainer::new(device, &net, &on_device, sampler(), &si))
            .collect::<Result<_, _>>()?;
        let many_ms = median_ms(reps.div_ceil(2), || {
            for t in many.iter_mut() {
                t.step(update)?;
            }
            Ok(())
        })?;
        let name = format!("{arch:?}");
        println!(
            "{name:<24} {one_ms:>12.2} {:>14} {cpu_ms:>12.2} {:>10.2}",
            "1 point",
            cpu_ms / one_ms
        );
        println!(
            "{:<24} {many_ms:>12.2} {:>14.2} {:>12} {:>10.2}",
            format!("  {points} points in turn"),
            many_ms / points as f64,
            "",
            cpu_ms * points as f64 / many_ms
        );
    }
    Ok(())
}
