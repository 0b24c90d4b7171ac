//! Why this module exists: for the isotropic toy the stationary direction is exactly von
//! Mises–Fisher (SPEC §5.2), so U and S_unit have exact values to compare with (DESIGN §6
//! `vmf.energy`, `vmf.entropy`: max abs error). The reference temperature is the discrete-time
//! one of SPEC §16.4 (the better prediction at a finite step, as §16 asks), falling back to the SDE
//! T where that correction does not apply; the detail also gives the error against the SDE T.
//!
//! Default tolerances, per point, maximised over points:
//! * energy: 3·se(U) + |U(T_disc) − U(T_SDE)| (the correction's own size: its second coefficient
//!   is an empirical fit, SPEC §16.4);
//! * entropy: 3·se(S_unit) + |S(T_disc) − S(T_SDE)| + 0.1 nats, the Kozachenko–Leonenko bias at
//!   d ≤ 10 (SPEC §6, §16.1), which is systematic and does not average out over chains.

use sweep_theory::VmfStats;

use super::{Ctx, NotRun, Outcome, label, max_finite, worst};
use crate::options::{KL_BIAS_NATS, ROUNDING, Z};
use crate::sweep::Point;

fn pairs<'p>(
    ctx: &'p Ctx,
    points: &'p [Point],
    stat: fn(&VmfStats) -> f64,
    measured: fn(&Point) -> f64,
) -> impl Iterator<Item = (&'p Point, f64, f64, f64)> + 'p {
    // (point, error against the reference T, error against the SDE T, |ref − SDE|)
    points.iter().filter_map(move |p| {
        let iso = ctx.theory_of(p).isotropic?;
        let sde = stat(&iso.vmf_sde);
        let reference = iso.vmf_disc.as_ref().map_or(sde, stat);
        let m = measured(p);
        Some((
            p,
            (m - reference).abs(),
            (m - sde).abs(),
            (reference - sde).abs(),
        ))
    })
}

fn not_isotropic(ctx: &Ctx) -> Option<NotRun> {
    (!ctx.isotropic).then(|| {
        NotRun::NotApplicable(
            "not an isotropic sweep: exact VMF values exist only for the toy model".to_owned(),
        )
    })
}

fn energy_of(v: &VmfStats) -> f64 {
    v.energy
}

fn entropy_of(v: &VmfStats) -> f64 {
    v.entropy
}

fn u(p: &Point) -> f64 {
    p.measured.energy
}

fn s_unit(p: &Point) -> f64 {
    p.measured.entropy_unit
}

/// max |U − U_VMF|.
pub(crate) fn value_energy(ctx: &Ctx, points: &[Point]) -> Option<f64> {
    max_finite(pairs(ctx, points, energy_of, u).map(|t| t.1))
}

/// max |S_unit − S_VMF|.
pub(crate) fn value_entropy(ctx: &Ctx, points: &[Point]) -> Option<f64> {
    max_finite(pairs(ctx, points, entropy_of, s_unit).map(|t| t.1))
}

#[allow(clippy::too_many_arguments)]
fn assess(
    ctx: &Ctx,
    points: &[Point],
    what: &str,
    stat: fn(&VmfStats) -> f64,
    measured: fn(&Point) -> f64,
    se: fn(&Point) -> f64,
    bias: f64,
) -> Result<Outcome, NotRun> {
    if let Some(n) = not_isotropic(ctx) {
        return Err(n);
    }
    let rows: Vec<_> = pairs(ctx, points, stat, measured).collect();
    let Some(&(wp, value, _, _)) = worst(rows.iter().map(|r| (r, r.1))).map(|(r, _)| r) else {
        return Err(NotRun::Unavailable(
            "no point with a VMF prediction (sigma2 null?)".to_owned(),
        ));
    };
    let sde_max = rows.iter().map(|r| r.2).fold(0.0, f64::max);
    let tolerance = rows
        .iter()
        .map(|r| Z * se(r.0) + r.3 + bias + ROUNDING)
        .fold(0.0, f64::max);
    let t_ref = ctx
        .theory_of(wp)
        .isotropic
        .map_or(f64::NAN, |i| i.t_disc.unwrap_or(i.t_sde));
    Ok(Outcome {
        value,
        tolerance,
        detail: format!(
            "max |{what} − exact VMF| = {value:.3e} at {} (measured {:.6}, VMF at the discrete-time \
             T = {t_ref:.5e}); against the SDE temperature the max error is {sde_max:.3e}. \
             Tolerance = 3·se + |VMF(T_disc) − VMF(T_SDE)|{}",
            label(ctx, wp),
            measured(wp),
            if bias > 0.0 {
                format!(" + {bias} nats KL-estimator bias (SPEC §6, §16.1)")
            } else {
                String::new()
            },
        ),
    })
}

/// vmf.energy.
pub(crate) fn assess_energy(ctx: &Ctx, points: &[Point]) -> Result<Outcome, NotRun> {
    assess(ctx, points, "U", energy_of, u, |p| p.errors.energy, 0.0)
}

/// vmf.entropy.
pub(crate) fn assess_entropy(ctx: &Ctx, points: &[Point]) -> Result<Outcome, NotRun> {
    assess(
        ctx,
        points,
        "S_unit",
        entropy_of,
        s_unit,
        |p| p.errors.entropy_unit,
        KL_BIAS_NATS,
    )
}
