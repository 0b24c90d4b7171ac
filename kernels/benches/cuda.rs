//! GPU benchmark of the CUDA backend against the CPU backend on the same machine, printed as a
//! table (issue 5). Cases: the paper's 17×17 fixed-LR grid at d = 3 (2·10⁶ iterations), 10 000
//! chains at d = 100, and nearest-neighbour distances at N = 4000, m = 97 200. The distance kernel
//! is our own tiled f32 screen (no cuBLAS: cudarc is built without it); its baseline is the CPU's
//! blocked engine. Every GPU result is also checked against the CPU's before its time is printed.
//!
//! `cargo bench -p sweep-kernels --features cuda --bench cuda [-- --quick] [-- --gpu-only]`:
//! `--quick` divides iterations and sizes by 10; `--gpu-only` skips the CPU timings (and checks).

use std::time::Instant;

use sweep_kernels::cuda::CudaBackend;
use sweep_kernels::cuda::isotropic::run_isotropic_on;
use sweep_kernels::cuda::nearest::nearest_neighbours_on;
use sweep_kernels::entropy::nearest_neighbor_distances;
use sweep_kernels::isotropic::{
    ChainPoint, IsotropicBatch, IsotropicModel, Schedule, run_isotropic,
};
use sweep_kernels::observer::NoObserver;
use sweep_theory::Protocol;

fn geomspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| a * (b / a).powf(i as f64 / (n - 1) as f64))
        .collect()
}

fn batch(dim: usize, hyper: &[(f64, f64)], iterations: u64) -> IsotropicBatch {
    IsotropicBatch {
        model: IsotropicModel {
            dim,
            sigma2: 1.0,
            target_seed: 44,
        },
        protocol: Protocol::FixedLr,
        init_radius: 1.0,
        sweep_seed: 42,
        schedule: Schedule {
            iterations,
            log_every: (iterations / 20).max(1),
            average_last: iterations / 2,
        },
        entropy: None,
        points: ChainPoint::for_sweep(7, hyper, 1),
    }
}

struct Row {
    case: String,
    work: String,
    cpu: Option<f64>,
    gpu: f64,
    check: String,
}

fn time<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let clock = Instant::now();
    let out = f();
    (out, clock.elapsed().as_secs_f64())
}

fn chains_case(gpu: &CudaBackend, name: &str, b: &IsotropicBatch, cpu_too: bool) -> Row {
    let steps = b.points.len() as f64 * b.schedule.iterations as f64 * b.model.dim as f64;
    let (dev, g) = time(|| run_isotropic_on(gpu, b, &NoObserver).expect("GPU run"));
    let (cpu, check) = if cpu_too {
        let (host, c) = time(|| run_isotropic(b, &NoObserver).expect("CPU run"));
        let worst = dev
            .iter()
            .zip(&host)
            .map(|(g, c)| ((g.loss_mean - c.loss_mean) / c.loss_mean).abs())
            .fold(0.0, f64::max);
        (Some(c), format!("loss_mean rel. diff {worst:.1e}"))
    } else {
        (None, "not checked (--gpu-only)".into())
    };
    Row {
        case: name.into(),
        work: format!("{:.2e} coord-updates/s on GPU", steps / g),
        cpu,
        gpu: g,
        check,
    }
}

fn distances_case(gpu: &CudaBackend, n: usize, m: usize, cpu_too: bool) -> Row {
    let mut s = 99u64;
    let x: Vec<f64> = (0..n * m)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect();
    let (dev, g) = time(|| nearest_neighbours_on(gpu, &x, n, m).expect("GPU distances"));
    let (cpu, check) = if cpu_too {
        let (host, c) = time(|| nearest_neighbor_distances(&x, n, m).expect("CPU distances"));
        let equal = dev
            .iter()
            .zip(&host)
            .filter(|(a, b)| a.to_bits() == b.to_bits())
            .count();
        (Some(c), format!("{equal}/{n} distances bit-equal"))
    } else {
        (None, "not checked (--gpu-only)".into())
    };
    Row {
        case: format!("nearest neighbours N={n} m={m}"),
        work: "tiled f32 screen + f64 recheck (no cuBLAS)".into(),
        cpu,
        gpu: g,
        check,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let cpu_too = !args.iter().any(|a| a == "--gpu-only");
    let gpu = match CudaBackend::probe() {
        Ok(g) => g,
        Err(e) => {
            println!("SKIPPED: no CUDA device ({e}); no GPU benchmark");
            return;
        }
    };
    println!("GPU: {} ({})", gpu.name(), gpu.arch());
    let div = if quick { 10 } else { 1 };
    // Warm-up: compile and load every module once, outside the timings.
    let warm = batch(3, &[(0.01, 0.1)], 10);
    run_isotropic_on(&gpu, &warm, &NoObserver).expect("warm-up run");
    nearest_neighbours_on(&gpu, &[0.0, 1.0, 3.0], 3, 1).expect("warm-up distances");

    let lr = geomspace(1e-3, 1e-1, 17);
    let grid: Vec<(f64, f64)> = lr
        .iter()
        .flat_map(|&a| lr.iter().map(move |&b| (a, b)))
        .collect();
    let its = 2_000_000 / div as u64;
    let mut rows = vec![chains_case(
        &gpu,
        &format!("17x17 grid d=3, {its} its"),
        &batch(3, &grid, its),
        cpu_too,
    )];
    let many: Vec<(f64, f64)> = geomspace(1e-3, 1e-1, 10_000 / div)
        .into_iter()
        .map(|lr| (lr, 0.1))
        .collect();
    let its = 10_000 / div as u64;
    rows.push(chains_case(
        &gpu,
        &format!("{} chains d=100, {its} its", many.len()),
        &batch(100, &many, its),
        cpu_too,
    ));
    rows.push(distances_case(&gpu, 4000 / div, 97_200 / div, cpu_too));

    println!();
    println!("| case | CPU s | GPU s | speed-up | throughput | check |");
    println!("|---|---|---|---|---|---|");
    for r in rows {
        let (cpu, ratio) = match r.cpu {
            Some(c) => (format!("{c:.2}"), format!("{:.1}x", c / r.gpu)),
            None => ("-".into(), "-".into()),
        };
        println!(
            "| {} | {cpu} | {:.2} | {ratio} | {} | {} |",
            r.case, r.gpu, r.work, r.check
        );
    }
}
