//! From a trained point's window sums and retained measurements to its [`PointSummary`], with the
//! derived variables of DESIGN §5 computed exactly as for the isotropic chains: σ² = tr Σ/(d−1),
//! T from sweep-theory's SDE closed form, P = λ (or the Pythagorean `wd_eff` on the fixed sphere),
//! V = r̄²/2 (r²/2 on the sphere), total entropy = S_unit + (d−1)·ln r̄.

use std::collections::VecDeque;

use sweep_kernels::isotropic::ChainPoint;
use sweep_kernels::stationary::{Sigma2, StationaryMeans, estimates_mean_sem, mean_sem};
use sweep_kernels::{PointStatus, PointSummary};

use super::NetworkBatch;
use crate::train::StepLog;

/// Sums over one batch of the stationary window.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct WindowSums {
    count: u64,
    loss: f64,
    radius: f64,
    radius_sq: f64,
    pre_norm: f64,
    pre_norm_sq: f64,
}

impl WindowSums {
    /// Adds one step.
    pub(super) fn add(&mut self, log: &StepLog) {
        self.count += 1;
        self.loss += log.loss;
        self.radius += log.norm;
        self.radius_sq += log.norm * log.norm;
        self.pre_norm += log.pre_norm;
        self.pre_norm_sq += log.pre_norm * log.pre_norm;
    }
}

/// One gradient measurement (SPEC §7.3), tr Σ and ‖∇L‖² already on the unit sphere.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Measurement {
    /// Full-batch training loss.
    pub full_loss: f64,
    /// tr Σ(w̄).
    pub trace_sigma: f64,
    /// ‖∇L(w̄)‖².
    pub full_grad_sq: f64,
}

/// Loss and accuracy on the test set in evaluation mode.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct TestEval {
    /// Mean cross-entropy.
    pub loss: f64,
    /// Fraction classified correctly.
    pub accuracy: f64,
}

/// Mean and standard error by batch means of the window's measurements: dense measurements are
/// correlated (tr Σ and ‖∇L‖² have long excursions), so they are averaged per window batch first,
/// like the per-step sums.
fn batch_mean_sem(
    batches: usize,
    measurements: &[(usize, Measurement)],
    f: fn(&Measurement) -> f64,
) -> (f64, f64) {
    let mut per = vec![(0.0, 0u64); batches];
    for (k, m) in measurements {
        if let Some(b) = per.get_mut(*k) {
            b.0 += f(m);
            b.1 += 1;
        }
    }
    mean_sem(per.into_iter())
}

/// Mean of the retained test evaluations.
fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let v: VecDeque<f64> = values.collect();
    estimates_mean_sem(&v, 1, 1).0
}

/// The summary of point `p`.
#[allow(clippy::too_many_arguments)]
pub(super) fn summarise(
    b: &NetworkBatch,
    dim: usize,
    p: &ChainPoint,
    sums: &[WindowSums],
    batches: usize,
    measurements: &[(usize, Measurement)],
    estimates: &VecDeque<f64>,
    tests: &VecDeque<TestEval>,
    status: PointStatus,
    iterations: u64,
    wall_seconds: f64,
) -> PointSummary {
    let of = |f: fn(&WindowSums) -> f64| mean_sem(sums.iter().map(|s| (f(s), s.count)));
    let trace_sigma = batch_mean_sem(batches, measurements, |m| m.trace_sigma);
    StationaryMeans {
        loss: batch_mean_sem(batches, measurements, |m| m.full_loss),
        radius: of(|s| s.radius),
        radius_sq: of(|s| s.radius_sq).0,
        entropy_unit: estimates_mean_sem(
            estimates,
            b.entropy.queue as u64 * b.entropy.every,
            b.entropy.log_every,
        ),
        entropy_estimates: estimates.len() as u32,
        sigma2: Sigma2::Measured(trace_sigma.0 / (dim as f64 - 1.0)),
        trace_sigma,
        full_grad_sq: batch_mean_sem(batches, measurements, |m| m.full_grad_sq),
        test_loss: mean(tests.iter().map(|t| t.loss)),
        test_accuracy: mean(tests.iter().map(|t| t.accuracy)),
        pre_norm: of(|s| s.pre_norm).0,
        pre_norm_sq: of(|s| s.pre_norm_sq),
    }
    .into_summary(b.protocol, dim, p, status, iterations, wall_seconds)
}
