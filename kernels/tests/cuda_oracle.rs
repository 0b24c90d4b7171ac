//! The CUDA backend against the CPU backend as oracle (issue 5): the first 1000 steps of every
//! protocol within 1e-5 relative, stationary statistics within their statistical error, entropy
//! queues, nearest-neighbour distances equal, and the SI update. Each test needs a GPU: where
//! there is none it prints "SKIPPED: no CUDA device (...)" and returns, which is a skip, not a pass
//! (scripts/gpu-check.sh counts those lines). Run with `--features cuda --test cuda_oracle
//! -- --nocapture --test-threads=1`.
#![cfg(feature = "cuda")]

use std::sync::Mutex;

use sweep_kernels::cuda::entropy::estimate_on;
use sweep_kernels::cuda::isotropic::run_isotropic_on;
use sweep_kernels::cuda::nearest::nearest_neighbours_on;
use sweep_kernels::cuda::si_update::si_update_host;
use sweep_kernels::cuda::{CudaBackend, CudaError, SiStep, cuda_available, si_update_cpu};
use sweep_kernels::entropy::{EstimatorMode, estimate, nearest_neighbor_distances};
use sweep_kernels::isotropic::{
    ChainPoint, EntropySchedule, IsotropicBatch, IsotropicModel, Schedule, run_isotropic,
};
use sweep_kernels::observer::{BatchObserver, NoObserver, SeriesRow};
use sweep_kernels::{KernelError, PointSummary};
use sweep_theory::Protocol;

/// The GPU, or `None` after printing why the test is skipped.
fn gpu() -> Option<CudaBackend> {
    match CudaBackend::probe() {
        Ok(b) => {
            println!("GPU: {} ({})", b.name(), b.arch());
            Some(b)
        }
        Err(e) => {
            println!("SKIPPED: no CUDA device ({e})");
            None
        }
    }
}

#[derive(Default)]
struct Rows(Mutex<Vec<SeriesRow>>);

impl BatchObserver for Rows {
    fn series(&self, rows: Vec<SeriesRow>) {
        self.0.lock().expect("rows lock").extend(rows);
    }
}

impl Rows {
    fn sorted(self) -> Vec<SeriesRow> {
        let mut v = self.0.into_inner().expect("rows lock");
        v.sort_by_key(|r| (r.point, r.replica, r.iteration));
        v
    }
}

fn batch(protocol: Protocol, dim: usize, iterations: u64, log_every: u64) -> IsotropicBatch {
    let hyper: Vec<(f64, f64)> = match protocol {
        Protocol::FixedLr => vec![(0.01, 0.1), (0.05, 0.5), (0.002, 1.0)],
        Protocol::FixedElr => vec![(0.01, 0.1), (0.02, 0.5), (0.005, 1.0)],
        Protocol::FixedSphere => vec![(0.01, 1.0), (0.02, 2.0), (0.005, 0.5)],
    };
    IsotropicBatch {
        model: IsotropicModel {
            dim,
            sigma2: 1.0,
            target_seed: 44,
        },
        protocol,
        init_radius: 1.0,
        sweep_seed: 42,
        schedule: Schedule {
            iterations,
            log_every,
            average_last: iterations / 2,
        },
        entropy: None,
        points: ChainPoint::for_sweep(7, &hyper, 3),
    }
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-12)
}

fn close(what: &str, a: Option<f64>, b: Option<f64>, tol: f64) {
    match (a, b) {
        (Some(a), Some(b)) => assert!(rel(a, b) <= tol, "{what}: gpu {a} cpu {b}"),
        (a, b) => assert_eq!(a.is_some(), b.is_some(), "{what}: presence differs"),
    }
}

fn close_floor(what: &str, a: Option<f64>, b: Option<f64>, tol: f64, floor: f64) {
    match (a, b) {
        (Some(a), Some(b)) => {
            assert!(
                (a - b).abs() <= tol * b.abs().max(floor),
                "{what}: gpu {a} cpu {b}"
            )
        }
        (a, b) => assert_eq!(a.is_some(), b.is_some(), "{what}: presence differs"),
    }
}

const PROTOCOLS: [Protocol; 3] = [Protocol::FixedLr, Protocol::FixedElr, Protocol::FixedSphere];

#[test]
fn without_a_gpu_the_backend_says_why() {
    match cuda_available() {
        Ok(name) => println!("GPU present: {name}"),
        Err(e) => {
            assert!(matches!(
                e,
                CudaError::NoDriver | CudaError::NoDevice(_) | CudaError::NoNvrtc
            ));
            println!("no GPU here ({e}): probing and running return it as an error");
            assert!(CudaBackend::probe().is_err());
            let err = sweep_kernels::cuda::run_isotropic_cuda(
                &batch(Protocol::FixedLr, 3, 10, 1),
                &NoObserver,
            )
            .expect_err("no GPU");
            assert!(matches!(err, KernelError::Cuda(_)), "{err}");
        }
    }
}

#[test]
fn first_1000_steps_equal_the_cpu_for_every_protocol() {
    let Some(gpu) = gpu() else { return };
    // d = 3 and 37 keep weights in shared memory (37 is not a multiple of 4); 300 in global.
    for dim in [3, 37, 300] {
        for protocol in PROTOCOLS {
            let b = batch(protocol, dim, 1000, 1);
            let (cpu_rows, gpu_rows) = (Rows::default(), Rows::default());
            let cpu = run_isotropic(&b, &cpu_rows).unwrap();
            let dev = run_isotropic_on(&gpu, &b, &gpu_rows).unwrap();
            let (c, g) = (cpu_rows.sorted(), gpu_rows.sorted());
            assert_eq!(c.len(), g.len(), "{protocol:?} d={dim}: row count");
            assert_eq!(c.len(), b.points.len() * 1000);
            let mut worst: f64 = 0.0;
            for (c, g) in c.iter().zip(&g) {
                assert_eq!(
                    (c.point, c.replica, c.iteration),
                    (g.point, g.replica, g.iteration)
                );
                let what = format!("{protocol:?} d={dim} point {} t {}", c.point, c.iteration);
                // Loss and ‖P w*‖² are differences from 1: compared relative to max(|x|, 1e-3),
                // so that cancellation near 0 does not count as a chain difference.
                close_floor(&format!("{what} loss"), g.loss, c.loss, 1e-5, 1e-3);
                close(&format!("{what} radius"), g.radius, c.radius, 1e-5);
                close(&format!("{what} trace"), g.trace_sigma, c.trace_sigma, 1e-5);
                close(
                    &format!("{what} grad"),
                    g.full_grad_sq,
                    c.full_grad_sq,
                    1e-5,
                );
                worst = worst.max(rel(g.radius.unwrap(), c.radius.unwrap()));
            }
            compare_summaries(&dev, &cpu, 1e-5);
            println!("{protocol:?} d={dim}: 1000 steps, worst relative radius error {worst:e}");
        }
    }
}

fn compare_summaries(dev: &[PointSummary], cpu: &[PointSummary], tol: f64) {
    assert_eq!(dev.len(), cpu.len());
    for (g, c) in dev.iter().zip(cpu) {
        assert_eq!(
            (g.point, g.replica, &g.status),
            (c.point, c.replica, &c.status)
        );
        for (name, a, b) in [
            ("loss_mean", g.loss_mean, c.loss_mean),
            ("radius_mean", g.radius_mean, c.radius_mean),
            ("radius_sq_mean", g.radius_sq_mean, c.radius_sq_mean),
            ("trace_sigma", g.trace_sigma, c.trace_sigma),
            ("full_grad_sq", g.full_grad_sq, c.full_grad_sq),
            ("pressure", g.pressure, c.pressure),
            ("volume", g.volume, c.volume),
        ] {
            assert!(
                rel(a, b) <= tol,
                "point {} {name}: gpu {a} cpu {b}",
                g.point
            );
        }
        if c.wd_eff.is_finite() {
            // wd_eff = (E‖w̃‖² − r²)/(2ηr²) cancels: compare on the scale of its error bar.
            let slack = 1e-3 * c.wd_eff_sem.max(0.0) + tol * c.wd_eff.abs();
            assert!(
                (g.wd_eff - c.wd_eff).abs() <= slack,
                "point {} wd_eff",
                g.point
            );
        }
    }
}

#[test]
fn stationary_statistics_agree_within_their_errors() {
    let Some(gpu) = gpu() else { return };
    for protocol in PROTOCOLS {
        let b = batch(protocol, 3, 200_000, 50_000);
        let cpu = run_isotropic(&b, &NoObserver).unwrap();
        let dev = run_isotropic_on(&gpu, &b, &NoObserver).unwrap();
        for (g, c) in dev.iter().zip(&cpu) {
            for (name, a, sa, x, sx) in [
                ("loss", g.loss_mean, g.loss_sem, c.loss_mean, c.loss_sem),
                (
                    "radius",
                    g.radius_mean,
                    g.radius_sem,
                    c.radius_mean,
                    c.radius_sem,
                ),
            ] {
                let z = (a - x).abs() / (sa * sa + sx * sx).sqrt().max(1e-300);
                assert!(
                    z < 4.0 || rel(a, x) < 1e-9,
                    "{protocol:?} point {} {name}: gpu {a}±{sa} cpu {x}±{sx}",
                    g.point
                );
            }
        }
        println!("{protocol:?}: stationary loss and radius agree");
    }
}

#[test]
fn entropy_queues_and_estimates_equal_the_cpu() {
    let Some(gpu) = gpu() else { return };
    for protocol in PROTOCOLS {
        let mut b = batch(protocol, 5, 20_000, 1_000);
        b.entropy = Some(EntropySchedule {
            queue: 200,
            every: 20,
            log_every: 2_000,
            average_last: 5,
            mode: EstimatorMode::Reflected,
        });
        let (cpu_rows, gpu_rows) = (Rows::default(), Rows::default());
        let cpu = run_isotropic(&b, &cpu_rows).unwrap();
        let dev = run_isotropic_on(&gpu, &b, &gpu_rows).unwrap();
        let (c, g) = (cpu_rows.sorted(), gpu_rows.sorted());
        assert_eq!(c.len(), g.len());
        for (c, g) in c.iter().zip(&g) {
            assert_eq!(
                (c.point, c.replica, c.iteration),
                (g.point, g.replica, g.iteration)
            );
            close("entropy_unit", g.entropy_unit, c.entropy_unit, 1e-6);
            close("entropy", g.entropy, c.entropy, 1e-6);
        }
        for (g, c) in dev.iter().zip(&cpu) {
            assert_eq!(g.entropy_estimates, c.entropy_estimates);
            assert!(rel(g.entropy_unit, c.entropy_unit) < 1e-6);
        }
        println!("{protocol:?}: entropy series and summaries agree");
    }
}

fn sample(n: usize, m: usize, offset: f64, seed: u64) -> Vec<f64> {
    let mut s = seed;
    (0..n * m)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            offset + ((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5)
        })
        .collect()
}

#[test]
fn nearest_neighbours_equal_the_cpu() {
    let Some(gpu) = gpu() else { return };
    for (n, m, offset) in [
        (2, 1, 0.0),
        (500, 50, 0.0),
        (1000, 300, 1e3),
        (130, 2000, -5.0),
    ] {
        let mut x = sample(n, m, offset, (n * m) as u64);
        if n > 10 {
            let dup = x[..m].to_vec();
            x[5 * m..6 * m].copy_from_slice(&dup);
        }
        let want = nearest_neighbor_distances(&x, n, m).unwrap();
        let got = nearest_neighbours_on(&gpu, &x, n, m).unwrap();
        for i in 0..n {
            assert_eq!(got[i].to_bits(), want[i].to_bits(), "n {n} m {m} row {i}");
        }
        println!("nearest neighbours n={n} m={m}: equal to the CPU");
    }
}

#[test]
fn entropy_with_gpu_distances_equals_the_cpu_estimate() {
    let Some(gpu) = gpu() else { return };
    for (n, dim) in [(400, 3), (1000, 50), (300, 500)] {
        let raw = sample(n, dim, 0.3, dim as u64);
        let units: Vec<f64> = raw
            .chunks(dim)
            .flat_map(|r| {
                let norm = r.iter().map(|x| x * x).sum::<f64>().sqrt();
                r.iter().map(move |x| x / norm)
            })
            .collect();
        let radii = vec![2.0; n];
        let cpu = estimate(&units, &radii, dim, EstimatorMode::Reflected).unwrap();
        let dev = estimate_on(&gpu, &units, &radii, dim, EstimatorMode::Reflected).unwrap();
        assert_eq!(
            cpu.entropy.to_bits(),
            dev.entropy.to_bits(),
            "n {n} d {dim}"
        );
        println!(
            "entropy n={n} d={dim}: equal to the CPU ({})",
            cpu.entropy_unit
        );
    }
}

#[test]
fn si_update_matches_the_cpu_reference() {
    let Some(gpu) = gpu() else { return };
    let n = 1_000_003;
    let w0: Vec<f32> = sample(n, 1, 0.0, 3).iter().map(|x| *x as f32).collect();
    let g: Vec<f32> = sample(n, 1, 0.1, 4).iter().map(|x| *x as f32).collect();
    for (protocol, first, second) in [
        (Protocol::FixedLr, 0.1, 5e-4),
        (Protocol::FixedElr, 1e-3, 5e-4),
        (Protocol::FixedSphere, 1e-3, 20.0),
    ] {
        let step = SiStep {
            protocol,
            first,
            second,
        };
        let (mut wc, mut wg) = (w0.clone(), w0.clone());
        let nc = si_update_cpu(&mut wc, &g, step);
        let ng = si_update_host(&gpu, &mut wg, &g, step).unwrap();
        assert!(
            rel(ng.norm_before, nc.norm_before) < 1e-12 && rel(ng.pre_norm, nc.pre_norm) < 1e-12,
            "{protocol:?} norms"
        );
        let worst = wc
            .iter()
            .zip(&wg)
            .map(|(a, b)| rel(f64::from(*b), f64::from(*a)))
            .fold(0.0, f64::max);
        assert!(
            worst < 1e-6,
            "{protocol:?}: worst relative weight error {worst:e}"
        );
        println!("SI update {protocol:?}: norms and weights agree (worst {worst:e})");
    }
}
