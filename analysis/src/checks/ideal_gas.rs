//! Why this module exists: the ideal gas law PV = RT (SPEC §3.4) is the paper's headline claim.
//! DESIGN §6: value = max over points of |PV/(RT) − 1| with the columns' P, V (measured) and T.
//!
//! Default tolerance, per point, maximised over points:
//! * 3 standard errors of PV/(RT): 2·se(r̄)/r̄ (V ∝ r̄², fixed ELR / LR) or se(λ_eff)/λ_eff
//!   (fixed sphere, P = λ_eff), combined with that of T where σ² is measured (networks: T ∝ σ²
//!   or √σ², se(σ²) from `trace_sigma_sem`);
//! * plus the discrete-time gap: the law is an SDE statement, and a finite step moves the
//!   stationary state by a known amount (SPEC §9, §16.5: up to 2.7 % / 4.4 % of V on the paper's
//!   grids), computed here as the exact discrete prediction over the SDE one at that point.

use sweep_theory::Protocol;

use super::{Ctx, NotRun, Outcome, label, max_finite, worst};
use crate::options::{ROUNDING, Z};
use crate::sweep::Point;
use crate::theory::PointTheory;

fn ratio(p: &Point) -> f64 {
    let m = &p.measured;
    m.pressure * m.volume / (p.gas_constant * m.temperature)
}

/// max |PV/(RT) − 1|.
pub(crate) fn value(_ctx: &Ctx, points: &[Point]) -> Option<f64> {
    max_finite(points.iter().map(|p| (ratio(p) - 1.0).abs()))
}

/// The predicted discrete-time gap of PV/(RT) at a point (0 without predictions).
pub(crate) fn gap(ctx: &Ctx, t: &PointTheory) -> f64 {
    match (t.sde, t.exact) {
        (Some(s), Some(e)) => match ctx.protocol {
            Protocol::FixedSphere => (e.pressure / s.pressure - 1.0).abs(),
            _ => ((e.radius / s.radius).powi(2) - 1.0).abs(),
        },
        _ => 0.0,
    }
}

fn noise(ctx: &Ctx, p: &Point) -> f64 {
    match ctx.protocol {
        Protocol::FixedSphere => {
            let w = p.measured.wd_eff.unwrap_or(p.measured.pressure);
            if w != 0.0 {
                p.errors.wd_eff / w.abs()
            } else {
                0.0
            }
        }
        _ => 2.0 * p.errors.radius / p.measured.radius,
    }
    .hypot(temperature_rel_se(ctx, p))
}

/// Relative standard error of T through a measured σ² (networks): T ∝ σ² (fixed ELR, sphere) or
/// √σ² (fixed LR); 0 when σ² is configured.
fn temperature_rel_se(ctx: &Ctx, p: &Point) -> f64 {
    let power = match ctx.protocol {
        Protocol::FixedLr => 0.5,
        Protocol::FixedElr | Protocol::FixedSphere => 1.0,
    };
    power * super::radius::noise_rel_se(p, false)
}

/// Value and default tolerance.
pub(crate) fn assess(ctx: &Ctx, points: &[Point]) -> Result<Outcome, NotRun> {
    let Some((worst_point, value)) = worst(points.iter().map(|p| (p, (ratio(p) - 1.0).abs())))
    else {
        return Err(NotRun::Unavailable(
            "no point with a finite PV/(RT)".to_owned(),
        ));
    };
    let tol = |p: &Point| gap(ctx, ctx.theory_of(p)) + Z * noise(ctx, p) + ROUNDING;
    let (tol_point, tolerance) =
        worst(points.iter().map(|p| (p, tol(p)))).unwrap_or((worst_point, ROUNDING));
    let max_gap = points
        .iter()
        .map(|p| gap(ctx, ctx.theory_of(p)))
        .fold(0.0, f64::max);
    let p_name = if ctx.protocol == Protocol::FixedSphere {
        "λ_eff"
    } else {
        "λ"
    };
    Ok(Outcome {
        value,
        tolerance,
        detail: format!(
            "max |PV/(RT) − 1| = {value:.3e} at {} (PV/(RT) = {:.6}); P = {p_name}, V = r̄²/2, \
             R = (d−1)/2 = {}. Tolerance = 3·se + discrete-time gap, largest at {} (gap up to {max_gap:.3e})",
            label(ctx, worst_point),
            ratio(worst_point),
            worst_point.gas_constant,
            label(ctx, tol_point),
        ),
    })
}
