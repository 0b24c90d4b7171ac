//! A network workload as a sweep runs it (SPEC §7, DESIGN §3–5): every point of a task trains
//! its own copy of the network from the shared initial weights under its protocol and
//! hyperparameters, with its own i.i.d. batch stream, and returns the same [`PointSummary`] as an
//! isotropic chain, so the agent, the result files and the analysis treat both alike.
//!
//! Per point, each step feeds the stationary window (the last `schedule.average_last` iterations:
//! ‖w‖, ‖w‖², the pre-projection norm for `wd_eff`, the batch loss) and, every `entropy.every`
//! steps, the entropy queue of unit directions and radii. Once the queue is full, every
//! `entropy.log_every` steps the queue's spherical entropy is estimated; the stationary entropy
//! averages the last `entropy.average_last` estimates. A *gradient measurement* (SPEC §7.3's log
//! quantities: the full-batch loss and gradient over the training set in chunks, and M fresh
//! mini-batch gradients for tr Σ) runs at every `entropy.log_every` and, inside the stationary
//! window, every `measure_every` steps; the stationary U, tr Σ and ‖∇L‖² average the window's
//! measurements. They must be dense: tr Σ and ‖∇L‖² of a network at high effective learning rate
//! have rare large excursions, and a few sparse snapshots miss them (on MNIST, ConvNet(2) at batch
//! 32, eight snapshots 250 steps apart gave a mean E‖g‖² 18 % below the time average over every
//! step, while one every 20 steps agreed within 1 %). Series rows go out every
//! `schedule.log_every` steps (batch loss and ‖w‖) and at each estimate or measurement (the
//! full-batch loss replaces the batch loss there; entropies, tr Σ, ‖∇L‖², on the unit sphere).
//! With `paper_logs`, series rows come at SPEC §7.3's log-spaced iterations instead, each with a
//! gradient measurement as in the paper's code; the stationary values still average the window.
//!
//! Points run in parallel on the caller's rayon pool. With at least as many points as threads,
//! each point's steps run serially on its thread ([`crate::par::serial`]): whole points in
//! parallel waste nothing. With fewer points (one point, a small task on a big node), each step
//! also splits over the pool ([`crate::par`]). The result of a point depends only on its seed and
//! hyperparameters, never on the thread count or the split.

#[cfg(feature = "cuda")]
mod on_device;
mod point;
mod summary;
mod training;

use rayon::prelude::*;
use sweep_kernels::driver::BatchProgress;
use sweep_kernels::isotropic::{ChainPoint, EntropySchedule, Schedule};
use sweep_kernels::observer::BatchObserver;
use sweep_kernels::{Backend, KernelError, PointSummary};
use sweep_theory::Protocol;

use crate::data::Dataset;
use crate::models::Architecture;

/// The seed of the frozen head's initial weights (SPEC §7.1: `set_seed(4)`).
pub const HEAD_SEED: u64 = 4;

/// Everything a task of a network sweep needs besides its data.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkBatch {
    /// Model and width.
    pub arch: Architecture,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Frobenius norm of the frozen head.
    pub head_norm: f64,
    /// Seed of the initial weights (shared by every point).
    pub init_seed: u64,
    /// M: fresh mini-batch gradients per tr Σ measurement.
    pub grad_samples: usize,
    /// Gradient measurements every this-many iterations inside the stationary window (besides
    /// those at every entropy estimate's iteration).
    pub measure_every: u64,
    /// Series rows, each with a gradient measurement, at SPEC §7.3's log iterations
    /// ([`paper_log_iterations`]) instead of every `schedule.log_every` steps.
    pub paper_logs: bool,
    /// The protocol; points carry (first, second) as in [`ChainPoint`].
    pub protocol: Protocol,
    /// Initial ‖w‖ for fixed ELR and fixed LR (the sphere starts on its radius).
    pub init_radius: f64,
    /// Iterations, series interval and stationary window.
    pub schedule: Schedule,
    /// The entropy queue, which also sets when measurements happen.
    pub entropy: EntropySchedule,
    /// The points to train.
    pub points: Vec<ChainPoint>,
}

impl NetworkBatch {
    /// Rejects what the runner cannot honour, naming the field.
    pub fn validate(&self, data: &Dataset) -> Result<(), KernelError> {
        let s = &self.schedule;
        let e = &self.entropy;
        if s.iterations == 0 || s.log_every == 0 || s.average_last == 0 {
            return Err(KernelError::invalid(
                "schedule",
                "iterations, log_every and average_last must be positive",
            ));
        }
        if e.queue < 2 || e.every == 0 || e.log_every == 0 || e.average_last == 0 {
            return Err(KernelError::invalid(
                "entropy",
                "queue ≥ 2 and positive every, log_every and average_last",
            ));
        }
        if self.batch_size == 0 || self.grad_samples == 0 || self.measure_every == 0 {
            return Err(KernelError::invalid(
                "workload",
                "batch_size, grad_samples and measure_every must be positive",
            ));
        }
        if data.is_empty() {
            return Err(KernelError::invalid("workload.dataset", "holds no images"));
        }
        if !(self.init_radius > 0.0 && self.head_norm > 0.0) {
            return Err(KernelError::invalid(
                "init_radius/head_norm",
                "must be positive",
            ));
        }
        Ok(())
    }
}

/// SPEC §7.3's log schedule, `unique(int([200, 400, …, 9800] ++ logspace(4, log10(N), 151)))`
/// for a run of `iterations` = N steps (200 logs for N = 10⁶, 50 of them up to 10⁴), keeping the
/// iterations the run reaches.
pub fn paper_log_iterations(iterations: u64) -> Vec<u64> {
    let mut logs: Vec<u64> = (1..=49).map(|k| 200 * k).collect();
    if iterations >= 10_000 {
        let top = (iterations as f64).log10();
        logs.extend((0..151).map(|k| 10f64.powf(4.0 + (top - 4.0) * k as f64 / 150.0) as u64));
    }
    logs.retain(|&t| t >= 1 && t <= iterations);
    logs.sort_unstable();
    logs.dedup();
    logs
}

/// What every point of a run shares.
struct NetworkRun<'a> {
    batch: &'a NetworkBatch,
    data: &'a Dataset,
    test: Option<&'a Dataset>,
}

/// Trains every point of `batch` on `data` on the CPU and returns one summary per point, in the
/// order given ([`run_network_on`] with [`Backend::Cpu`]).
pub fn run_network(
    batch: &NetworkBatch,
    data: &Dataset,
    test: Option<&Dataset>,
    observer: &dyn BatchObserver,
) -> Result<Vec<PointSummary>, KernelError> {
    run_network_on(Backend::Cpu, batch, data, test, observer)
}

/// Trains every point of `batch` on `data` on `backend` and returns one summary per point, in the
/// order given. With a `test` set, each entropy estimate also evaluates it in evaluation mode
/// (BatchNorm by the running statistics, PyTorch's momentum 0.1), giving `test_loss` and
/// `test_accuracy`. As in the paper's code, the running statistics learn from every
/// training-mode pass: the steps, and each measurement's full-batch chunks (before the test
/// evaluation) and fresh mini-batches (after).
///
/// On a CUDA device the data sets are copied there once and shared by the points, each of which
/// trains there ([`crate::device`]); the summaries are the CPU's within f32 rounding of the
/// passes (bit for bit the same batch stream).
///
/// Runs on the current rayon pool (install one to bound the threads). Series rows and progress go
/// to `observer`; `observer.cancelled()` is polled every few steps.
pub fn run_network_on(
    backend: Backend,
    batch: &NetworkBatch,
    data: &Dataset,
    test: Option<&Dataset>,
    observer: &dyn BatchObserver,
) -> Result<Vec<PointSummary>, KernelError> {
    batch.validate(data)?;
    if let Some(t) = test
        && (t.is_empty() || (t.c, t.h, t.w, t.classes) != (data.c, data.h, data.w, data.classes))
    {
        return Err(KernelError::invalid(
            "workload.test_samples",
            "the test set must be non-empty and shaped like the training set",
        ));
    }
    let run = NetworkRun { batch, data, test };
    match backend {
        Backend::Cpu => run_points(&run, point::Place::Cpu, observer),
        #[cfg(feature = "cuda")]
        Backend::Cuda(device) => {
            let sets = on_device::DeviceSets::upload(device, &run)?;
            run_points(&run, point::Place::Device(device, &sets), observer)
        }
        #[cfg(not(feature = "cuda"))]
        Backend::Cuda(_) => Err(KernelError::invalid(
            "execution.backend",
            "this build of sweep-nn trains networks on the CPU only (build with --features cuda)",
        )),
    }
}

/// Every point of `run` at `place`, in parallel on the current pool.
fn run_points(
    run: &NetworkRun<'_>,
    place: point::Place<'_>,
    observer: &dyn BatchObserver,
) -> Result<Vec<PointSummary>, KernelError> {
    let batch = run.batch;
    let progress = BatchProgress::new(batch.points.len() as u64 * batch.schedule.iterations);
    // With a point for every thread, each point's step runs on its own thread; with fewer
    // points, their steps split over the idle threads too (the result is the same).
    let serial = batch.points.len() >= rayon::current_num_threads();
    let train = |p: &ChainPoint| {
        if serial {
            crate::par::serial(|| point::run_point(run, place, p, &progress, observer))
        } else {
            point::run_point(run, place, p, &progress, observer)
        }
    };
    let results: Vec<Result<PointSummary, KernelError>> =
        batch.points.par_iter().with_max_len(1).map(train).collect();
    results.into_iter().collect()
}
