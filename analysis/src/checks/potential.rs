//! Why this module exists: V2 (SPEC §4, Eq. 23) checks that each point's own state minimises its
//! thermodynamic potential among all measured states: the Gibbs energy
//! G_j(U, S, V) = U − T_j S + P_j V (fixed ELR / LR, all pairs) or the Helmholtz energy
//! F_j(U, S) = U − T_j S among points on the same sphere (fixed sphere). Only the isotropic toy
//! has a known energy function, so V2 runs only there (SPEC §4, §7.5).
//!
//! DESIGN §6 / SPEC §16.8 (noise-aware rule): value = fraction of ordered pairs (j, i) with
//! Φ_j(own) > Φ_j(state i) by more than their combined standard error
//! √(se_U_j² + se_U_i² + T_j²(se_S_j² + se_S_i²) + P_j²(se_V_j² + se_V_i²)).
//!
//! Default tolerance: the fraction expected by chance. For a pair with true margin m ≥ 0 and
//! combined error s, noise alone gives a counted violation with probability 1 − Φ(m/s + 1);
//! neighbouring temperatures have margins ≈ ½ C_V (ΔT/T)² T comparable to s (SPEC §16.8), so this is
//! not small on fine grids. m comes from theory (the SDE states, and the discrete-time states,
//! whose own point need not be the exact minimiser: the larger rate is used). The expected
//! number of chance violations λ = Σ p is small (a handful of neighbouring pairs), so the
//! tolerance is the one-sided 3σ (p = 0.00135) upper quantile of a Poisson(λ) count, divided by
//! the number of pairs: 0 for exact data, a few pairs for noisy fine grids.
//! Entropy errors are floored by the entropy surface's residual scatter ([`Ctx::entropy_floor`]).

use sweep_theory::Protocol;

use super::{Ctx, NotRun, Outcome, label};
use crate::options::{ROUNDING, Z};
use crate::stats::normal_cdf;
use crate::sweep::Point;
use crate::theory::State;

/// Φ_j at a state: G (fixed ELR / LR) or F (fixed sphere).
fn potential(ctx: &Ctx, j: &Point, energy: f64, entropy: f64, volume: f64) -> f64 {
    let m = &j.measured;
    let f = energy - m.temperature * entropy;
    match ctx.protocol {
        Protocol::FixedSphere => f,
        _ => f + m.pressure * volume,
    }
}

fn comparable(ctx: &Ctx, j: &Point, i: &Point) -> bool {
    let same_config = j.first == i.first && j.second == i.second;
    let same_sphere = ctx.protocol != Protocol::FixedSphere || j.second == i.second;
    j.index != i.index && !same_config && same_sphere
}

fn combined_se(ctx: &Ctx, j: &Point, i: &Point) -> f64 {
    let t = j.measured.temperature;
    let pv = match ctx.protocol {
        Protocol::FixedSphere => 0.0,
        _ => {
            let p = j.measured.pressure;
            let sv_j = j.measured.radius * j.errors.radius;
            let sv_i = i.measured.radius * i.errors.radius;
            p * p * (sv_j * sv_j + sv_i * sv_i)
        }
    };
    (j.errors.energy.powi(2)
        + i.errors.energy.powi(2)
        + t * t * (ctx.entropy_se(j).powi(2) + ctx.entropy_se(i).powi(2))
        + pv)
        .sqrt()
}

/// (violations, pairs, worst excess as (j, i, excess − se)).
fn count<'p>(
    ctx: &Ctx,
    points: &'p [Point],
) -> (usize, usize, Option<(&'p Point, &'p Point, f64)>) {
    let (mut bad, mut pairs) = (0, 0);
    let mut worst: Option<(&Point, &Point, f64)> = None;
    for j in points {
        let m = &j.measured;
        let own = potential(ctx, j, m.energy, m.entropy, m.volume);
        for i in points.iter().filter(|i| comparable(ctx, j, i)) {
            pairs += 1;
            let mi = &i.measured;
            let other = potential(ctx, j, mi.energy, mi.entropy, mi.volume);
            let floor = ROUNDING
                * (m.energy.abs()
                    + (m.temperature * m.entropy).abs()
                    + (m.pressure * m.volume).abs());
            let excess = own - other - combined_se(ctx, j, i) - floor;
            if excess > 0.0 {
                bad += 1;
            }
            if worst.as_ref().is_none_or(|w| excess > w.2) {
                worst = Some((j, i, excess));
            }
        }
    }
    (bad, pairs, worst)
}

/// Fraction of pairs violating beyond their combined standard error.
pub(crate) fn value(ctx: &Ctx, points: &[Point]) -> Option<f64> {
    if !ctx.isotropic {
        return None;
    }
    let (bad, pairs, _) = count(ctx, points);
    (pairs > 0).then(|| bad as f64 / pairs as f64)
}

/// Expected chance-violation fraction with the theory margins of `states`.
fn expected(
    ctx: &Ctx,
    points: &[Point],
    states: fn(&crate::theory::Isotropic) -> Option<State>,
) -> Option<f64> {
    let (mut sum, mut pairs) = (0.0, 0usize);
    for j in points {
        let sj = states(&ctx.theory_of(j).isotropic?)?;
        let own = potential(ctx, j, sj.energy, sj.entropy, sj.volume);
        for i in points.iter().filter(|i| comparable(ctx, j, i)) {
            let si = states(&ctx.theory_of(i).isotropic?)?;
            let margin = potential(ctx, j, si.energy, si.entropy, si.volume) - own;
            let s = combined_se(ctx, j, i);
            let floor =
                ROUNDING * (sj.energy.abs() + (j.measured.temperature * sj.entropy).abs() + 1.0);
            sum += if s > 0.0 {
                1.0 - normal_cdf(margin / s + 1.0)
            } else if margin < -floor {
                1.0
            } else {
                0.0
            };
            pairs += 1;
        }
    }
    (pairs > 0).then(|| sum / pairs as f64)
}

/// The smallest k with P(Poisson(λ) > k) ≤ 0.00135 (one-sided 3σ); normal approximation
/// λ + 3√λ + 1 beyond λ = 100.
fn poisson_upper(lambda: f64) -> usize {
    const TAIL: f64 = 0.00135;
    if lambda.is_nan() || lambda <= 0.0 {
        return 0;
    }
    if lambda > 100.0 {
        return (lambda + Z * lambda.sqrt() + 1.0).ceil() as usize;
    }
    let mut pmf = (-lambda).exp();
    let mut cdf = pmf;
    let mut k = 0usize;
    while 1.0 - cdf > TAIL {
        k += 1;
        pmf *= lambda / k as f64;
        cdf += pmf;
    }
    k
}

/// V2.potential.
pub(crate) fn assess(ctx: &Ctx, points: &[Point]) -> Result<Outcome, NotRun> {
    if !ctx.isotropic {
        return Err(NotRun::NotApplicable(
            "not an isotropic sweep: the energy function Φ of a network is unknown (SPEC §4, §7.5)"
                .to_owned(),
        ));
    }
    let (bad, pairs, worst) = count(ctx, points);
    if pairs == 0 {
        // A property of the sweep's design (one point, or no sphere with two temperatures, as
        // on a fixed-sphere adiabat), not a numerical failure.
        return Err(NotRun::NotApplicable(
            "no comparable pairs of states (fixed sphere: no sphere carries two temperatures)"
                .to_owned(),
        ));
    }
    let value = bad as f64 / pairs as f64;
    let sde = expected(ctx, points, |i| Some(i.state_sde));
    let disc = expected(ctx, points, |i| i.state_disc);
    let f = sde.unwrap_or(0.0).max(disc.unwrap_or(0.0));
    let allowed = poisson_upper(f * pairs as f64);
    let tolerance = allowed as f64 / pairs as f64 + ROUNDING;
    let pot = if ctx.protocol == Protocol::FixedSphere {
        "F = U − T_j S (same sphere)"
    } else {
        "G = U − T_j S + P_j V"
    };
    let worst_text = match worst {
        Some((j, i, e)) if e > 0.0 => format!(
            " Worst: {} prefers the state of {} by {:.3e} beyond the combined se.",
            label(ctx, j),
            label(ctx, i),
            e
        ),
        _ => String::new(),
    };
    Ok(Outcome {
        value,
        tolerance,
        detail: format!(
            "{bad} of {pairs} ordered pairs violate {pot} minimisation by more than their combined \
             standard error. Tolerance = chance rate expected from the theory margins and the \
             errors (per pair: SDE {}, discrete-time {}), as the 3σ upper Poisson count \
             ({allowed} pairs).{worst_text}",
            sde.map_or("n/a".to_owned(), |v| format!("{v:.3e}")),
            disc.map_or("n/a".to_owned(), |v| format!("{v:.3e}")),
        ),
    })
}
