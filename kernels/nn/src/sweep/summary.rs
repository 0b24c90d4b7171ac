//! From a trained point's window sums and retained measurements to its [`PointSummary`], with the
//! derived variables of DESIGN §5 computed exactly as for the isotropic chains: σ² = tr Σ/(d−1),
//! T from sweep-theory's SDE closed form, P = λ (or the Pythagorean `wd_eff` on the fixed sphere),
//! V = r̄²/2 (r²/2 on the sphere), total entropy = S_unit + (d−1)·ln r̄.

use std::collections::VecDeque;

use sweep_kernels::isotropic::ChainPoint;
use sweep_kernels::stationary::{estimates_mean_sem, mean_sem};
use sweep_kernels::{PointStatus, PointSummary};
use sweep_theory::predict::sde_temperature;
use sweep_theory::{Hyper, Protocol};

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

/// Mean and standard error of independent-looking values (measurements `log_every` apart).
fn plain_mean_sem(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let v: VecDeque<f64> = values.collect();
    estimates_mean_sem(&v, 1, 1)
}

/// The summary of point `p`.
#[allow(clippy::too_many_arguments)]
pub(super) fn summarise(
    b: &NetworkBatch,
    dim: usize,
    p: &ChainPoint,
    sums: &[WindowSums],
    measurements: &[Measurement],
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
    let (loss_mean, loss_sem) = plain_mean_sem(measurements.iter().map(|m| m.full_loss));
    let (entropy_unit, entropy_unit_sem) = estimates_mean_sem(
        estimates,
        b.entropy.queue as u64 * b.entropy.every,
        b.entropy.log_every,
    );
    let (trace_sigma, trace_sigma_sem) = plain_mean_sem(measurements.iter().map(|m| m.trace_sigma));
    let (full_grad_sq, full_grad_sq_sem) =
        plain_mean_sem(measurements.iter().map(|m| m.full_grad_sq));
    let sigma2 = trace_sigma / (d - 1.0);
    let (test_loss, _) = plain_mean_sem(tests.iter().map(|t| t.loss));
    let (test_accuracy, _) = plain_mean_sem(tests.iter().map(|t| t.accuracy));
    let temperature = Hyper::new(b.protocol, p.first, p.second)
        .and_then(|h| sde_temperature(&h, dim, sigma2))
        .unwrap_or(f64::NAN);
    let (wd_eff, wd_eff_sem, wd_eff_linear, pressure, volume) = match b.protocol {
        Protocol::FixedSphere => {
            let (r, eta) = (p.second, p.first * p.second * p.second);
            let wd_eff = (pre_norm_sq - r * r) / (2.0 * eta * r * r);
            let sem = pre_norm_sq_sem / (2.0 * eta * r * r);
            let linear = (pre_norm - r) / (eta * r);
            (wd_eff, sem, linear, wd_eff, r * r / 2.0)
        }
        Protocol::FixedElr | Protocol::FixedLr => (
            f64::NAN,
            f64::NAN,
            f64::NAN,
            p.second,
            radius_mean * radius_mean / 2.0,
        ),
    };
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
