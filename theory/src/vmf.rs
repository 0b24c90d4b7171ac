//! Why this module exists: the isotropic toy model's stationary law is the von Mises–Fisher
//! distribution on S^{d−1} with concentration κ = 1/T (SPEC §5). Its exact statistics are the
//! theory curves (U, S, C_V, G2) every isotropic check compares to, and their inverse turns a
//! measured loss into a temperature ("loss thermometer"). SPEC §16.3: use these exact forms, not
//! the small-T asymptotics, which are provided only for comparison.
//!
//! Loss convention (SPEC §5.1): f = 1 − ⟨w*, u⟩, so U = 1 − A_d(κ).

use crate::bessel::{bessel_ratio, evaluate};
use crate::error::{Result, TheoryError, dimension, positive};

/// Exact VMF statistics on S^{d−1} at concentration κ (density C_d(κ) e^{κ⟨w*,u⟩} w.r.t. the
/// surface measure).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VmfStats {
    /// Ambient dimension d (the sphere is S^{d−1}).
    pub d: usize,
    /// Concentration κ = 1/T.
    pub kappa: f64,
    /// log C_d(κ) = (d/2−1) log κ − (d/2) log 2π − log I_{d/2−1}(κ) (SPEC Eq. 104).
    pub log_c: f64,
    /// A_d(κ) = E⟨w*, u⟩ = I_{d/2}(κ)/I_{d/2−1}(κ).
    pub mean_cos: f64,
    /// U = E f = 1 − A_d(κ), computed without cancellation (SPEC Eq. 105).
    pub energy: f64,
    /// Differential entropy of the unit-sphere density, S = −log C_d − κ A_d (SPEC Eq. 105).
    pub entropy: f64,
    /// C_V = dU/dT = κ² Var⟨u, w*⟩ (→ (d−1)/2 as T → 0).
    pub heat_capacity: f64,
    /// G2 = E‖P_u w*‖² = E‖∇f(u)‖² = (d−1) A_d/κ.
    pub grad_sq: f64,
}

impl VmfStats {
    /// Statistics at concentration `kappa` (finite, > 0) on S^{d−1}, d ≥ 2.
    pub fn new(d: usize, kappa: f64) -> Result<VmfStats> {
        dimension(d)?;
        positive("kappa", kappa)?;
        let nu = order(d);
        let e = evaluate(nu, kappa);
        let half_d = 0.5 * d as f64;
        let log_tau = std::f64::consts::TAU.ln();
        // log I = log_scaled + κ; entropy = −ν log κ + (d/2) log 2π + log_scaled + κ(1 − A),
        // which avoids the cancellation of the two O(κ) terms at large κ.
        let nu_log_kappa = if nu == 0.0 { 0.0 } else { nu * kappa.ln() };
        let log_c = nu_log_kappa - half_d * log_tau - (e.log_scaled + kappa);
        let entropy = -nu_log_kappa + half_d * log_tau + e.log_scaled + kappa * e.one_minus_ratio;
        Ok(VmfStats {
            d,
            kappa,
            log_c,
            mean_cos: e.ratio,
            energy: e.one_minus_ratio,
            entropy,
            heat_capacity: e.slope_x2,
            grad_sq: (d as f64 - 1.0) * e.ratio / kappa,
        })
    }

    /// Statistics at temperature `t` (finite, > 0): κ = 1/T.
    pub fn at_temperature(d: usize, t: f64) -> Result<VmfStats> {
        positive("temperature", t)?;
        VmfStats::new(d, t.recip())
    }

    /// The temperature T = 1/κ.
    pub fn temperature(&self) -> f64 {
        self.kappa.recip()
    }

    /// E‖P_u w*‖⁴ = E(1 − c²)², c = ⟨u, w*⟩. Exact: integrating by parts against the marginal
    /// (1−c²)^{(d−3)/2} e^{κc} gives κ E(1−c²)² = (d+1) E[c(1−c²)] and κ E[c(1−c²)] =
    /// (d−1)(1 − d A_d/κ); with the Bessel recurrence 1 − d A_d/κ = r_ν r_{ν+1}, so
    /// E(1 − c²)² = (d+1)(d−1) r_ν(κ) r_{ν+1}(κ)/κ² with no cancellation.
    pub fn grad_sq_second_moment(&self) -> f64 {
        let d = self.d as f64;
        let next = bessel_ratio(order(self.d) + 1.0, self.kappa);
        (d + 1.0) * (d - 1.0) * self.mean_cos * next / (self.kappa * self.kappa)
    }
}

/// The Bessel order ν = d/2 − 1 of the VMF normaliser on S^{d−1}.
fn order(d: usize) -> f64 {
    0.5 * d as f64 - 1.0
}

/// The concentration κ with A_d(κ) = `mean_cos` (the inverse of the mean cosine), for
/// 0 < mean_cos < 1.
pub fn kappa_from_mean_cos(d: usize, mean_cos: f64) -> Result<f64> {
    dimension(d)?;
    if !(mean_cos > 0.0 && mean_cos < 1.0) {
        return Err(TheoryError::OutOfRange {
            name: "mean cosine",
            value: mean_cos,
            range: "(0, 1)",
        });
    }
    solve_kappa(d, mean_cos, 1.0 - mean_cos)
}

/// The loss thermometer: the temperature T at which the exact VMF energy U(T) = 1 − A_d(1/T)
/// equals `energy`, for 0 < energy < 1 (energy ≥ 1 would need T = ∞ or a negative temperature).
pub fn temperature_from_energy(d: usize, energy: f64) -> Result<f64> {
    dimension(d)?;
    if !(energy > 0.0 && energy < 1.0) {
        return Err(TheoryError::OutOfRange {
            name: "energy",
            value: energy,
            range: "(0, 1)",
        });
    }
    Ok(solve_kappa(d, 1.0 - energy, energy)?.recip())
}

/// Solves A_d(κ) = a where both a and ε = 1 − a are given accurately. Newton in log κ on the
/// better-conditioned of log A and log(1 − A), safeguarded by bisection inside the Amos bracket
/// (d−1)a/(1−a²) ≤ κ ≤ d·a/(1−a²) (from x/(ν+1+√((ν+1)²+x²)) ≤ r_ν ≤ x/(ν+½+√((ν+½)²+x²))).
fn solve_kappa(d: usize, a: f64, eps: f64) -> Result<f64> {
    let nu = order(d);
    let df = d as f64;
    let one_minus_a2 = eps * (1.0 + a);
    let use_eps = a > 0.5;
    // Residual in log space; decreasing in κ when use_eps, increasing otherwise.
    let residual = |kappa: f64| {
        let e = evaluate(nu, kappa);
        let (value, slope) = if use_eps {
            (
                e.one_minus_ratio.ln() - eps.ln(),
                -e.slope_x2 / (kappa * e.one_minus_ratio),
            )
        } else {
            (e.ratio.ln() - a.ln(), e.slope_x2 / (kappa * e.ratio))
        };
        (value, slope)
    };
    let sign = if use_eps { -1.0 } else { 1.0 };
    let mut lo = ((df - 1.0) * a / one_minus_a2 * (1.0 - 1e-9)).ln();
    let mut hi = (df * a / one_minus_a2 * (1.0 + 1e-9)).ln();
    // The bracket is guaranteed by the bounds; widen defensively if rounding says otherwise.
    for _ in 0..60 {
        let ok_lo = sign * residual(lo.exp()).0 <= 0.0;
        let ok_hi = sign * residual(hi.exp()).0 >= 0.0;
        if ok_lo && ok_hi {
            break;
        }
        if !ok_lo {
            lo -= 1.0;
        }
        if !ok_hi {
            hi += 1.0;
        }
    }
    let mut u = 0.5 * (lo + hi);
    for _ in 0..200 {
        let (value, slope) = residual(u.exp());
        if value == 0.0 {
            return Ok(u.exp());
        }
        if sign * value < 0.0 {
            lo = u;
        } else {
            hi = u;
        }
        let newton = u - value / slope;
        let next = if newton > lo && newton < hi && newton.is_finite() {
            newton
        } else {
            0.5 * (lo + hi)
        };
        if (next - u).abs() <= 4.0 * f64::EPSILON * u.abs().max(1.0) || hi - lo <= f64::EPSILON {
            return Ok(next.exp());
        }
        u = next;
    }
    Err(TheoryError::NoRoot {
        what: "kappa from mean cosine",
        lo: lo.exp(),
        hi: hi.exp(),
    })
}

/// Leading-order small-T energy U ≈ (d−1)T/2 (SPEC Eq. 108; the notebooks' theory curve).
pub fn energy_asymptotic(d: usize, t: f64) -> f64 {
    0.5 * (d as f64 - 1.0) * t
}

/// Leading-order small-T entropy S ≈ ((d−1)/2) ln(2πeT) (SPEC Eq. 109).
pub fn entropy_asymptotic(d: usize, t: f64) -> f64 {
    0.5 * (d as f64 - 1.0) * (std::f64::consts::TAU * std::f64::consts::E * t).ln()
}
