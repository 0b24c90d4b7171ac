//! Statistics of a run's stationary part, shared by the isotropic chains and the networks: the
//! window (the last `average_last` iterations) cut into batches for standard errors by batch
//! means, the mean and standard error of overlapping-queue entropy estimates, and the one place
//! where a point's measured means become its [`PointSummary`] ([`StationaryMeans`]).

use std::collections::VecDeque;

use sweep_theory::Protocol;
use sweep_theory::predict::sde_temperature;

use crate::isotropic::ChainPoint;
use crate::summary::{PointStatus, PointSummary};

/// Batch-means batches per window (fewer when the window is shorter).
const WINDOW_BATCHES: u64 = 20;

/// The stationary window `(start, end]` of a run, cut into equal batches.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    start: u64,
    len: u64,
    batches: u64,
}

impl Window {
    /// The last `average_last` of `iterations` iterations.
    pub fn new(iterations: u64, average_last: u64) -> Self {
        let len = average_last.min(iterations).max(1);
        Self {
            start: iterations - len,
            len,
            batches: WINDOW_BATCHES.min(len),
        }
    }

    /// Number of batches.
    pub fn batches(&self) -> usize {
        self.batches as usize
    }

    /// The batch that the state after iteration `t` belongs to, `None` before the window.
    pub fn batch_of(&self, t: u64) -> Option<usize> {
        (t > self.start).then(|| (((t - self.start - 1) * self.batches) / self.len) as usize)
    }

    /// The first batch boundary (window start included) strictly after `t`.
    pub fn next_boundary(&self, t: u64) -> Option<u64> {
        (0..=self.batches)
            .map(|j| self.start + (j * self.len).div_ceil(self.batches))
            .find(|b| *b > t)
    }
}

/// Mean of per-batch means and its standard error.
pub fn mean_sem(values: impl Iterator<Item = (f64, u64)>) -> (f64, f64) {
    let means: Vec<(f64, u64)> = values.filter(|(_, n)| *n > 0).collect();
    let total: u64 = means.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mean = means.iter().map(|(s, _)| s).sum::<f64>() / total as f64;
    let k = means.len() as f64;
    if means.len() < 2 {
        return (mean, f64::NAN);
    }
    let var = means
        .iter()
        .map(|(s, n)| (s / *n as f64 - mean).powi(2))
        .sum::<f64>()
        / (k - 1.0);
    (mean, (var / k).sqrt())
}

/// Mean and standard error of the retained entropy estimates. Estimates `spacing` iterations
/// apart whose queues each span `window` iterations share samples: with window ≫ spacing their
/// correlation falls off linearly with the lag (overlap of two windows), so the variance of their
/// mean is that of independent estimates times ≈ window/spacing (the sum of that triangular
/// autocorrelation), and never more than the variance of one estimate.
pub fn estimates_mean_sem(est: &VecDeque<f64>, window: u64, spacing: u64) -> (f64, f64) {
    let n = est.len() as f64;
    if est.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mean = est.iter().sum::<f64>() / n;
    if est.len() < 2 {
        return (mean, f64::NAN);
    }
    let var = est.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let overlap = (window as f64 / spacing.max(1) as f64).clamp(1.0, n);
    (mean, (var * overlap / n).sqrt())
}

/// The state variables DESIGN §5 derives from a point's stationary means, the same for isotropic
/// chains and networks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StateVariables {
    /// T: the SDE closed form at the point's σ² (NaN if the inputs are out of range).
    pub temperature: f64,
    /// P: λ, or `wd_eff` on the fixed sphere.
    pub pressure: f64,
    /// V: r̄²/2, or r²/2 on the fixed sphere.
    pub volume: f64,
    /// Fixed sphere: the Pythagorean (E‖w̃‖² − r²)/(2ηr²) (SPEC §16.6), else NaN.
    pub wd_eff: f64,
    /// Its standard error from that of E‖w̃‖².
    pub wd_eff_sem: f64,
    /// Fixed sphere: the paper's linearised (E‖w̃‖ − r)/(η r) (SPEC §3.6), else NaN.
    pub wd_eff_linear: f64,
}

/// Window means a point's state variables come from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WindowMeans {
    /// r̄.
    pub radius: f64,
    /// E‖w̃‖ (pre-projection norm).
    pub pre_norm: f64,
    /// E‖w̃‖².
    pub pre_norm_sq: f64,
    /// Standard error of E‖w̃‖².
    pub pre_norm_sq_sem: f64,
}

/// T, P, V and `wd_eff` of a point (`first`, `second`) of `protocol` in dimension `dim`.
pub fn state_variables(
    protocol: Protocol,
    first: f64,
    second: f64,
    dim: usize,
    sigma2: f64,
    m: WindowMeans,
) -> StateVariables {
    let temperature = sweep_theory::Hyper::new(protocol, first, second)
        .and_then(|h| sde_temperature(&h, dim, sigma2))
        .unwrap_or(f64::NAN);
    match protocol {
        Protocol::FixedSphere => {
            let (r, eta) = (second, first * second * second);
            let wd_eff = (m.pre_norm_sq - r * r) / (2.0 * eta * r * r);
            StateVariables {
                temperature,
                pressure: wd_eff,
                volume: r * r / 2.0,
                wd_eff,
                wd_eff_sem: m.pre_norm_sq_sem / (2.0 * eta * r * r),
                wd_eff_linear: (m.pre_norm - r) / (eta * r),
            }
        }
        Protocol::FixedElr | Protocol::FixedLr => StateVariables {
            temperature,
            pressure: second,
            volume: m.radius * m.radius / 2.0,
            wd_eff: f64::NAN,
            wd_eff_sem: f64::NAN,
            wd_eff_linear: f64::NAN,
        },
    }
}

/// σ² of a point: configured (the isotropic model's, reported whatever the point's status) or
/// measured (a network's tr Σ/(d−1), NaN unless the point finished).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sigma2 {
    /// Given by the spec.
    Configured(f64),
    /// Measured in the stationary window.
    Measured(f64),
}

/// A point's stationary results as its workload measured them, each `(mean, standard error)`
/// where the workload has one (NaN where not). [`StationaryMeans::into_summary`] derives the
/// state variables and applies DESIGN §5's rule: a point that did not finish reports NaN for
/// everything measured, while what the spec fixes (σ² when configured, and T from it; P on the
/// free-radius protocols, V on the fixed sphere) stays.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StationaryMeans {
    /// U: the loss over the window.
    pub loss: (f64, f64),
    /// r̄.
    pub radius: (f64, f64),
    /// E‖w‖².
    pub radius_sq: f64,
    /// The unit-sphere entropy (mean of the last estimates).
    pub entropy_unit: (f64, f64),
    /// Estimates averaged.
    pub entropy_estimates: u32,
    /// σ².
    pub sigma2: Sigma2,
    /// tr Σ(w̄).
    pub trace_sigma: (f64, f64),
    /// ‖∇L(w̄)‖².
    pub full_grad_sq: (f64, f64),
    /// Networks: test loss in evaluation mode (NaN otherwise).
    pub test_loss: f64,
    /// Networks: test accuracy (NaN otherwise).
    pub test_accuracy: f64,
    /// E‖w̃‖ (pre-projection norm, for `wd_eff`).
    pub pre_norm: f64,
    /// E‖w̃‖² and its standard error.
    pub pre_norm_sq: (f64, f64),
}

impl StationaryMeans {
    /// The summary of `point` (of `protocol`, in dimension `dim`) that ended with `status`.
    pub fn into_summary(
        self,
        protocol: Protocol,
        dim: usize,
        point: &ChainPoint,
        status: PointStatus,
        iterations: u64,
        wall_seconds: f64,
    ) -> PointSummary {
        let (sigma2, sigma2_measured) = match self.sigma2 {
            Sigma2::Configured(s) => (s, false),
            Sigma2::Measured(s) => (s, true),
        };
        let radius = self.radius.0;
        let sv = state_variables(
            protocol,
            point.first,
            point.second,
            dim,
            sigma2,
            WindowMeans {
                radius,
                pre_norm: self.pre_norm,
                pre_norm_sq: self.pre_norm_sq.0,
                pre_norm_sq_sem: self.pre_norm_sq.1,
            },
        );
        let ok = status == PointStatus::Done;
        let keep = |x: f64| if ok { x } else { f64::NAN };
        let keep_if = |measured: bool, x: f64| if measured { keep(x) } else { x };
        let sphere = protocol == Protocol::FixedSphere;
        PointSummary {
            point: point.point,
            replica: point.replica,
            seed: point.seed,
            iterations,
            loss_mean: keep(self.loss.0),
            loss_sem: keep(self.loss.1),
            radius_mean: keep(radius),
            radius_sem: keep(self.radius.1),
            radius_sq_mean: keep(self.radius_sq),
            entropy_unit: keep(self.entropy_unit.0),
            entropy_unit_sem: keep(self.entropy_unit.1),
            entropy_estimates: self.entropy_estimates,
            entropy: keep(self.entropy_unit.0 + (dim as f64 - 1.0) * radius.ln()),
            sigma2: keep_if(sigma2_measured, sigma2),
            trace_sigma: keep(self.trace_sigma.0),
            full_grad_sq: keep(self.full_grad_sq.0),
            temperature: keep_if(sigma2_measured, sv.temperature),
            // On the fixed sphere P is measured (`wd_eff`) and V fixed; elsewhere the reverse.
            pressure: keep_if(sphere, sv.pressure),
            volume: keep_if(!sphere, sv.volume),
            wd_eff: keep(sv.wd_eff),
            wd_eff_sem: keep(sv.wd_eff_sem),
            wd_eff_linear: keep(sv.wd_eff_linear),
            trace_sigma_sem: keep(self.trace_sigma.1),
            full_grad_sq_sem: keep(self.full_grad_sq.1),
            test_loss: keep(self.test_loss),
            test_accuracy: keep(self.test_accuracy),
            status,
            wall_seconds,
        }
    }
}
