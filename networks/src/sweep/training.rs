//! What a point's training runs on, behind one trait so the sweep's schedule, sums and summaries
//! ([`super::point`]) are written once: the CPU [`Trainer`] with the CPU measurements, or (feature
//! `cuda`) a [`crate::device::DeviceTrainer`] with the device's ([`super::on_device`]). Both keep
//! SPEC §7.3's order of a measurement's BatchNorm passes: the full-batch chunks fold into the
//! running statistics before the test evaluation, the fresh mini-batches after it.

use std::ops::Range;

use sweep_kernels::KernelError;
use sweep_kernels::isotropic::ChainPoint;

use super::NetworkRun;
use super::summary::{Measurement, TestEval};
use crate::data::BatchSampler;
use crate::layers::BnStats;
use crate::models::Network;
use crate::train::{
    GradStats, StepLog, TrainError, Trainer, Update, gradient_statistics_recording,
};

/// PyTorch's BatchNorm momentum for the running statistics evaluation mode uses.
pub(super) const BN_MOMENTUM: f64 = 0.1;
/// Test images evaluated per forward pass (evaluation mode makes the chunking irrelevant).
const TEST_CHUNK: usize = 1024;
/// Measurement mini-batches are drawn at sampler iterations from here on, which training
/// (iterations below 2⁶³) never reaches; measurement `k` uses `[MEASURE_BASE + k·M, … + M)`.
const MEASURE_BASE: u64 = 1 << 63;

/// A step's outcome.
pub(super) enum Stepped {
    /// The step's log.
    Log(StepLog),
    /// The loss or gradient of step `iteration` (0-based) was not finite.
    Diverged {
        /// The step's index.
        iteration: u64,
    },
}

/// One point's training, wherever it runs.
pub(super) trait PointTraining {
    /// One SGD step.
    fn step(&mut self, update: Update) -> Result<Stepped, KernelError>;
    /// Gradient measurement number `k` at the current weights, of norm `r` (SPEC §7.3); folds
    /// its full-batch chunks into the running statistics and keeps its mini-batches' for
    /// [`PointTraining::settle`]. `None` when the loss or gradient is no longer finite.
    fn measure(&mut self, r: f64, k: u64) -> Result<Option<Measurement>, KernelError>;
    /// The test set in evaluation mode with the running statistics (`None` without a test set).
    fn evaluate(&mut self) -> Result<Option<TestEval>, KernelError>;
    /// Folds the last measurement's mini-batch statistics into the running statistics.
    fn settle(&mut self) -> Result<(), KernelError>;
    /// Brings [`PointTraining::weights`] up to date (a copy from a device).
    fn refresh_weights(&mut self) -> Result<(), KernelError>;
    /// The weights as of the last [`PointTraining::refresh_weights`] (the current ones on the
    /// CPU).
    fn weights(&self) -> &[f32];
}

pub(super) fn net_error(e: impl std::fmt::Display) -> KernelError {
    KernelError::invalid("workload", e.to_string())
}

/// The sampler of point `p`'s training batches, which its measurements also draw from.
pub(super) fn sampler_of(run: &NetworkRun<'_>, p: &ChainPoint) -> BatchSampler {
    BatchSampler::new(p.seed, run.data.len(), run.batch.batch_size)
}

/// The sampler iteration measurement `k` starts at, with `m` fresh mini-batches each.
pub(super) fn measure_iteration(k: u64, m: usize) -> u64 {
    MEASURE_BASE + k * m as u64
}

/// A measurement's statistics on the unit sphere: SPEC §7.3 rescales by the queue's mean radius
/// r̄; this uses ‖w‖ of the measured point itself (`r`), which by scale invariance gives tr Σ and
/// ‖∇L‖² at w/‖w‖ exactly (the two differ by the radius fluctuation, well under 1 %) and needs no
/// full queue. On the fixed sphere ‖w‖ is the nominal r up to rounding.
pub(super) fn on_unit_sphere(stats: &GradStats, r: f64) -> Measurement {
    Measurement {
        full_loss: stats.full_loss,
        trace_sigma: stats.trace_sigma(r),
        full_grad_sq: stats.full_grad_norm * stats.full_grad_norm * r * r,
    }
}

/// The test loss and accuracy over `n` images from per-chunk `(mean loss, correct)` of
/// [`TEST_CHUNK`]-image ranges.
pub(super) fn test_eval(
    n: usize,
    mut chunk: impl FnMut(Range<usize>) -> Result<(f64, usize), KernelError>,
) -> Result<TestEval, KernelError> {
    let (mut loss, mut correct) = (0.0, 0usize);
    for start in (0..n).step_by(TEST_CHUNK) {
        let end = (start + TEST_CHUNK).min(n);
        let (l, c) = chunk(start..end)?;
        loss += l * (end - start) as f64;
        correct += c;
    }
    let n = n as f64;
    Ok(TestEval {
        loss: loss / n,
        accuracy: correct as f64 / n,
    })
}

/// A point training on the CPU.
pub(super) struct CpuTraining<'a> {
    run: &'a NetworkRun<'a>,
    net: &'a Network<f32>,
    sampler: BatchSampler,
    trainer: Trainer<'a, f32>,
    pending: Vec<Vec<BnStats>>,
}

impl<'a> CpuTraining<'a> {
    /// Point `p` of `run` from weights `si`.
    pub(super) fn new(
        run: &'a NetworkRun<'a>,
        net: &'a Network<f32>,
        p: &ChainPoint,
        si: Vec<f32>,
    ) -> Self {
        let sampler = sampler_of(run, p);
        let mut trainer = Trainer::new(net, run.data, sampler, si);
        if run.test.is_some() {
            trainer = trainer.track_running_stats(BN_MOMENTUM);
        }
        Self {
            run,
            net,
            sampler,
            trainer,
            pending: Vec::new(),
        }
    }
}

impl PointTraining for CpuTraining<'_> {
    fn step(&mut self, update: Update) -> Result<Stepped, KernelError> {
        match self.trainer.step(update) {
            Ok(log) => Ok(Stepped::Log(log)),
            Err(TrainError::NonFinite { iteration }) => Ok(Stepped::Diverged { iteration }),
            Err(TrainError::Net(e)) => Err(net_error(e)),
        }
    }

    fn measure(&mut self, r: f64, k: u64) -> Result<Option<Measurement>, KernelError> {
        let b = self.run.batch;
        // The passes' BatchNorm statistics come with the measurement; they only matter (and are
        // only folded in) when the trainer keeps running statistics for a test set.
        let measured = gradient_statistics_recording(
            self.net,
            self.run.data,
            self.trainer.weights(),
            crate::train::measure::FULL_BATCH_CHUNK,
            &self.sampler,
            measure_iteration(k, b.grad_samples),
            b.grad_samples,
        );
        let (stats, bn) = match measured {
            Ok(s) => s,
            Err(TrainError::NonFinite { .. }) => return Ok(None),
            Err(TrainError::Net(e)) => return Err(net_error(e)),
        };
        self.trainer.absorb_running_stats(&bn.chunks);
        self.pending = bn.batches;
        Ok(Some(on_unit_sphere(&stats, r)))
    }

    fn evaluate(&mut self) -> Result<Option<TestEval>, KernelError> {
        let (Some(test), Some(stats)) = (self.run.test, self.trainer.running_stats()) else {
            return Ok(None);
        };
        let (net, w) = (self.net, self.trainer.weights());
        test_eval(test.len(), |range| {
            let (x, labels) = test.batch::<f32>(&range.collect::<Vec<_>>());
            let e = net.evaluate(w, &x, &labels, stats).map_err(net_error)?;
            Ok((e.loss, e.correct))
        })
        .map(Some)
    }

    fn settle(&mut self) -> Result<(), KernelError> {
        let pending = std::mem::take(&mut self.pending);
        self.trainer.absorb_running_stats(&pending);
        Ok(())
    }

    fn refresh_weights(&mut self) -> Result<(), KernelError> {
        Ok(())
    }

    fn weights(&self) -> &[f32] {
        self.trainer.weights()
    }
}
