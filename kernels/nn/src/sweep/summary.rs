//! From a trained point's window sums and retained measurements to its [`PointSummary`], with the
//! derived variables of DESIGN §5 computed exactly as for the isotropic chains: σ² = tr Σ/(d−1),
//! T from sweep-theory's SDE closed form, P = λ (or the Pythagorean `wd_eff` on the fixed sphere),
//! V = r̄²/2 (r²/2 on the sphere), total entropy = S_unit + (d−1)·ln r̄.

use std::collections::VecDeque;

use sweep_kernels::isotropic::ChainPoint;
use sweep_kernels::stationary::{
    StateVariables, WindowMeans, estimates_mean_sem, mean_sem, state_variables,
};
use sweep_kernels::{PointStatus, PointSummary};
use sweep_theory::Protocol;

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
    let d = dim as f64;
    let of = |f: fn(&WindowSums) -> f64| mean_sem(sums.iter().map(|s| (f(s), s.count)));
    let (radius_mean, radius_sem) = of(|s| s.radius);
    let (radius_sq_mean, _) = of(|s| s.radius_sq);
    let (pre_norm, _) = of(|s| s.pre_norm);
    let (pre_norm_sq, pre_norm_sq_sem) = of(|s| s.pre_norm_sq);
    let (loss_mean, loss_sem) = batch_mean_sem(batches, measurements, |m| m.full_loss);
    let (entropy_unit, entropy_unit_sem) = estimates_mean_sem(
        estimates,
        b.entropy.queue as u64 * b.entropy.every,
        b.entropy.log_every,
    );
    let (trace_sigma, trace_sigma_sem) = batch_mean_sem(batches, measurements, |m| m.trace_sigma);
    let (full_grad_sq, full_grad_sq_sem) =
        batch_mean_sem(batches, measurements, |m| m.full_grad_sq);
    let sigma2 = trace_sigma / (d - 1.0);
    let test_loss = mean(tests.iter().map(|t| t.loss));
    let test_accuracy = mean(tests.iter().map(|t| t.accuracy));
    let StateVariables {
        temperature,
        pressure,
        volume,
        wd_eff,
        wd_eff_sem,
        wd_eff_linear,
    } = state_variables(
        b.protocol,
        p.first,
        p.second,
        dim,
        sigma2,
        WindowMeans {
            radius: radius_mean,
            pre_norm,
            pre_norm_sq,
            pre_norm_sq_sem,
        },
    );
    let ok = status == PointStatus::Done;
    let keep = |x: f64| if ok { x } else { f64::NAN };
    PointSummary {
        point: p.point,
        replica: p.replica,
        seed: p.seed,
        iterations,
        loss_mean: keep(loss_mean),
        loss_sem: keep(loss_sem),
        radius_mean: keep(radius_mean),
        radius_sem: keep(radius_sem),
        radius_sq_mean: keep(radius_sq_mean),
        entropy_unit: keep(entropy_unit),
        entropy_unit_sem: keep(entropy_unit_sem),
        entropy_estimates: estimates.len() as u32,
        entropy: keep(entropy_unit + (d - 1.0) * radius_mean.ln()),
        sigma2: keep(sigma2),
        trace_sigma: keep(trace_sigma),
        full_grad_sq: keep(full_grad_sq),
        temperature: keep(temperature),
        pressure: if b.protocol == Protocol::FixedSphere {
            keep(pressure)
        } else {
            pressure
        },
        volume: if b.protocol == Protocol::FixedSphere {
            volume
        } else {
            keep(volume)
        },
        wd_eff: keep(wd_eff),
        wd_eff_sem: keep(wd_eff_sem),
        wd_eff_linear: keep(wd_eff_linear),
        trace_sigma_sem: keep(trace_sigma_sem),
        full_grad_sq_sem: keep(full_grad_sq_sem),
        test_loss: keep(test_loss),
        test_accuracy: keep(test_accuracy),
        status,
        wall_seconds,
    }
}
