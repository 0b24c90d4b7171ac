//! One test body per behaviour, run on every backend this build has (candle's `test_device!`):
//! the CPU chain groups always; with the `cuda` feature, the CUDA kernels executed on the CPU
//! (cuda-on-cpu) and, where a GPU is present, the GPU (otherwise that test prints "SKIPPED: no
//! CUDA device" and returns). The CPU backend and SPEC's closed forms are the oracles.
#![allow(clippy::unwrap_used)]

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use sweep_kernels::entropy::EstimatorMode;
use sweep_kernels::isotropic::{
    ChainPoint, EntropySchedule, IsotropicBatch, IsotropicModel, Schedule, run_isotropic,
};
use sweep_kernels::observer::{BatchObserver, Progress, SeriesRow};
use sweep_kernels::{Backend, KernelError, PointStatus, PointSummary};
use sweep_theory::Protocol;

/// `fn $name(backend: Backend)` as one test per compiled backend.
macro_rules! test_backends {
    ($name:ident) => {
        mod $name {
            #[test]
            fn cpu() {
                super::$name(super::Backend::Cpu);
            }

            #[cfg(feature = "cuda")]
            #[test]
            fn cuda_on_cpu() {
                super::$name(super::on_cpu());
            }

            #[cfg(feature = "cuda")]
            #[test]
            fn gpu() {
                match super::gpu() {
                    Some(b) => super::$name(b),
                    None => println!("SKIPPED: no CUDA device"),
                }
            }
        }
    };
}

#[cfg(feature = "cuda")]
fn on_cpu() -> Backend {
    use std::sync::OnceLock;
    use sweep_kernels::cuda::{CudaOnCpu, Device};
    static DEVICE: OnceLock<CudaOnCpu> = OnceLock::new();
    Backend::Cuda(DEVICE.get_or_init(CudaOnCpu::default) as &dyn Device)
}

#[cfg(feature = "cuda")]
fn gpu() -> Option<Backend> {
    use std::sync::OnceLock;
    use sweep_kernels::cuda::{CudaBackend, Device};
    static DEVICE: OnceLock<Option<CudaBackend>> = OnceLock::new();
    DEVICE
        .get_or_init(|| CudaBackend::probe().ok())
        .as_ref()
        .map(|d| Backend::Cuda(d as &dyn Device))
}

fn batch(protocol: Protocol, points: &[(f64, f64)], iterations: u64) -> IsotropicBatch {
    IsotropicBatch {
        model: IsotropicModel {
            dim: 5,
            sigma2: 1.0,
            target_seed: 44,
        },
        protocol,
        init_radius: 1.0,
        sweep_seed: 42,
        schedule: Schedule {
            iterations,
            log_every: 500,
            average_last: iterations / 2,
        },
        entropy: Some(EntropySchedule {
            queue: 100,
            every: 40,
            log_every: 2_000,
            average_last: 5,
            mode: EstimatorMode::Reflected,
        }),
        points: ChainPoint::for_sweep(42, points, 1),
    }
}

#[derive(Default)]
struct Recorder {
    rows: Mutex<Vec<SeriesRow>>,
    done: AtomicU64,
    total: AtomicU64,
    cancel_after: Option<u64>,
    cancelled: AtomicBool,
}

impl BatchObserver for Recorder {
    fn series(&self, rows: Vec<SeriesRow>) {
        self.rows.lock().unwrap().extend(rows);
    }
    fn progress(&self, p: Progress) {
        self.done.fetch_max(p.steps_done, Ordering::Relaxed);
        self.total.store(p.steps_total, Ordering::Relaxed);
        if self.cancel_after.is_some_and(|c| p.steps_done >= c) {
            self.cancelled.store(true, Ordering::Relaxed);
        }
    }
    fn cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }
}

fn summary_text(s: &PointSummary) -> String {
    format!(
        "{:?}",
        PointSummary {
            wall_seconds: 0.0,
            ..s.clone()
        }
    )
}

/// Every protocol's summaries and series rows equal the CPU backend's bit for bit, and the
/// progress reaches the batch's chain-steps.
fn results_equal_the_cpu_backend(backend: Backend) {
    let grid = [(0.01, 0.1), (0.02, 0.5), (0.005, 1.0), (0.05, 0.2)];
    for protocol in [Protocol::FixedLr, Protocol::FixedElr, Protocol::FixedSphere] {
        let b = batch(protocol, &grid, 12_000);
        let (want_rows, got_rows) = (Recorder::default(), Recorder::default());
        let want = run_isotropic(&b, &want_rows).unwrap();
        let got = backend.run_isotropic(&b, &got_rows).unwrap();
        let text: Vec<String> = got.iter().map(summary_text).collect();
        assert_eq!(text, want.iter().map(summary_text).collect::<Vec<_>>());
        assert!(got.iter().all(|s| s.entropy_estimates == 5));
        let sorted = |r: Recorder| {
            let mut v = r.rows.into_inner().unwrap();
            v.sort_by_key(|r| (r.point, r.iteration));
            v
        };
        assert_eq!(got_rows.total.load(Ordering::Relaxed), 4 * 12_000);
        assert_eq!(got_rows.done.load(Ordering::Relaxed), 4 * 12_000);
        assert_eq!(
            sorted(got_rows),
            sorted(want_rows),
            "{protocol:?} on {}",
            backend.label()
        );
    }
}
test_backends!(results_equal_the_cpu_backend);

/// η = 50 with λ = 0.1 gives 1 − ηλ = −4: that chain's radius explodes geometrically and it is
/// marked diverged, with no rows after it diverged, while the others finish.
fn a_diverging_chain_stops_alone(backend: Backend) {
    let b = batch(
        Protocol::FixedLr,
        &[(0.01, 0.1), (50.0, 0.1), (0.02, 0.3)],
        50_000,
    );
    let rec = Recorder::default();
    let out = backend.run_isotropic(&b, &rec).unwrap();
    let PointStatus::Diverged { iteration } = out[1].status else {
        panic!("{:?} on {}", out[1].status, backend.label());
    };
    assert!(out[1].loss_mean.is_nan());
    for s in [&out[0], &out[2]] {
        assert_eq!(s.status, PointStatus::Done);
        assert!(s.loss_mean.is_finite());
    }
    let rows = rec.rows.into_inner().unwrap();
    assert!(
        rows.iter()
            .filter(|r| r.point == 1)
            .all(|r| r.iteration < iteration)
    );
    assert!(rows.iter().any(|r| r.point == 0 && r.iteration == 50_000));
}
test_backends!(a_diverging_chain_stops_alone);

/// A batch cancelled part way returns `Cancelled`, not a result.
fn cancellation_stops_the_batch(backend: Backend) {
    let b = batch(Protocol::FixedElr, &[(0.01, 0.1), (0.02, 0.1)], 2_000_000);
    let rec = Recorder {
        cancel_after: Some(1),
        ..Recorder::default()
    };
    let got = backend.run_isotropic(&b, &rec);
    assert!(matches!(got, Err(KernelError::Cancelled)), "{got:?}");
    assert!(rec.done.load(Ordering::Relaxed) < 2 * 2_000_000);
}
test_backends!(cancellation_stops_the_batch);
