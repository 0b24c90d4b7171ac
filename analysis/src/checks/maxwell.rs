//! Why this module exists: V3 (SPEC §3.6, §8) checks the Maxwell relations, which in
//! hyperparameter variables become conditions on the entropy surface S(x, y):
//! * fixed LR (Eq. 24): ∂S/∂ln η − ∂S/∂ln λ = R;
//! * fixed ELR (Eq. 84): ∂S/∂ln λ = −R;
//! * fixed sphere (Eq. 83): λ_eff = RT/V, since ∂S/∂ln r = d − 1 holds by construction; the
//!   surface is fitted for the plots only.
//!
//! Value (fixed LR / ELR) = max over points of the relative error of the relation read off the
//! quadratic least-squares surface (SPEC §8). Default tolerance (in units of R):
//! * 3 × the largest standard error of the relation at a point, propagated exactly through the
//!   (linear) fit from per-point errors max(se(S), residual sd of the fit);
//! * plus the model allowance: the same max error computed on theory's entropies at the same points
//!   (isotropic: SDE and discrete-time states, the larger; it contains the quadratic surface's own
//!   misfit of the exact S(T)), or for networks on the discrete-time shift (d−1)·ln(r_exact/r_SDE);
//! * plus the KL bias spread (0.1 nats, SPEC §16.1) over the axis span, per axis in the relation.
//!
//! Fixed sphere: value = max |λ_eff·V/(RT) − 1| with tolerance 3·se + discrete-time gap (as V1).

use std::collections::BTreeMap;

use sweep_theory::Protocol;

use super::ideal_gas::gap;
use super::{Ctx, NotRun, Outcome, label, max_finite, worst};
use crate::fit::{FitError, Surface, fit_surface};
use crate::options::{KL_BIAS_NATS, ROUNDING, Z};
use crate::sweep::Point;
use crate::verdict::Fit;

/// (α, β, target): the relation is α ∂S/∂x + β ∂S/∂y = target.
fn relation(ctx: &Ctx) -> (f64, f64, f64) {
    let r = ctx.gas_constant;
    match ctx.protocol {
        Protocol::FixedLr => (1.0, -1.0, r),
        Protocol::FixedElr => (0.0, 1.0, -r),
        Protocol::FixedSphere => (0.0, 1.0, 2.0 * r),
    }
}

fn surface_of(
    points: &[Point],
    entropy: impl Fn(&Point) -> Option<f64>,
) -> Result<Surface, FitError> {
    let x: Vec<f64> = points.iter().map(Point::x).collect();
    let y: Vec<f64> = points.iter().map(Point::y).collect();
    let s: Option<Vec<f64>> = points.iter().map(entropy).collect();
    fit_surface(&x, &y, &s.ok_or(FitError::NonFinite(0))?)
}

/// Relative errors of the relation at each point from a surface, with `target`.
fn rel_errors(ctx: &Ctx, surface: &Surface, points: &[Point], target: f64) -> Vec<f64> {
    let (alpha, beta, _) = relation(ctx);
    points
        .iter()
        .map(|p| {
            let (gx, gy) = surface.coefficients.gradient(p.x(), p.y());
            (alpha * gx + beta * gy - target).abs() / ctx.gas_constant
        })
        .collect()
}

fn sphere_ratio(p: &Point) -> f64 {
    let m = &p.measured;
    m.wd_eff.unwrap_or(m.pressure) * m.volume / (p.gas_constant * m.temperature)
}

/// The checked quantity.
pub(crate) fn value(ctx: &Ctx, points: &[Point]) -> Option<f64> {
    if ctx.protocol == Protocol::FixedSphere {
        return max_finite(points.iter().map(|p| (sphere_ratio(p) - 1.0).abs()));
    }
    let surface = surface_of(points, |p| Some(p.measured.entropy)).ok()?;
    max_finite(rel_errors(ctx, &surface, points, relation(ctx).2).into_iter())
}

fn sphere(ctx: &Ctx, points: &[Point]) -> Result<Outcome, NotRun> {
    let Some((wp, value)) = worst(points.iter().map(|p| (p, (sphere_ratio(p) - 1.0).abs()))) else {
        return Err(NotRun::Unavailable(
            "no point with a finite λ_eff".to_owned(),
        ));
    };
    let tol = |p: &Point| {
        let w = p.measured.wd_eff.unwrap_or(p.measured.pressure).abs();
        let se = if w > 0.0 { p.errors.wd_eff / w } else { 0.0 };
        gap(ctx, ctx.theory_of(p)) + Z * se + ROUNDING
    };
    let tolerance = points.iter().map(tol).fold(0.0, f64::max);
    Ok(Outcome {
        value,
        tolerance,
        detail: format!(
            "fixed sphere (SPEC Eq. 83): ∂S/∂ln r = d − 1 holds by construction, so the Maxwell \
             relation is λ_eff = RT/V; max |λ_eff·V/(RT) − 1| = {value:.3e} at {}. Tolerance = 3·se \
             + discrete-time gap. The entropy surface is fitted for the plots only.",
            label(ctx, wp)
        ),
    })
}

/// V3.maxwell.
pub(crate) fn assess(ctx: &Ctx, points: &[Point]) -> Result<Outcome, NotRun> {
    if ctx.protocol == Protocol::FixedSphere {
        return sphere(ctx, points);
    }
    let surface = surface_of(points, |p| Some(p.measured.entropy)).map_err(|e| {
        // Adiabat sweeps sample curves, not a grid: the surface needs a grid, so V3 does not
        // apply to them unless their points happen to span one.
        if points.iter().all(|p| p.adiabat.is_some()) {
            NotRun::NotApplicable(format!(
                "adiabat sweep: the entropy surface of SPEC §8 needs a grid ({e})"
            ))
        } else {
            NotRun::Unavailable(format!("entropy surface: {e}"))
        }
    })?;
    let (alpha, beta, target) = relation(ctx);
    let errs = rel_errors(ctx, &surface, points, target);
    let Some((k, value)) = worst(errs.iter().copied().enumerate()) else {
        return Err(NotRun::Unavailable(
            "the relation is not finite at any point".to_owned(),
        ));
    };
    // Noise: exact propagation through the linear fit.
    let sd: Vec<f64> = points
        .iter()
        .map(|p| ctx.entropy_se(p).max(surface.residual_sd))
        .collect();
    let noise = points
        .iter()
        .map(|p| {
            let w = surface.linear_weights(p.x(), p.y(), alpha, beta);
            w.iter()
                .zip(&sd)
                .map(|(a, s)| (a * s).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .fold(0.0, f64::max)
        / ctx.gas_constant;
    let (model, model_note) = model_allowance(ctx, points);
    let span = |v: Vec<f64>| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        hi - lo
    };
    let (sx, sy) = (
        span(points.iter().map(Point::x).collect()),
        span(points.iter().map(Point::y).collect()),
    );
    let bias =
        (alpha.abs() * KL_BIAS_NATS / sx + beta.abs() * KL_BIAS_NATS / sy) / ctx.gas_constant;
    let tolerance = Z * noise + model + bias + ROUNDING;
    let rel = if ctx.protocol == Protocol::FixedLr {
        "∂S/∂ln η − ∂S/∂ln λ = R (Eq. 24)"
    } else {
        "∂S/∂ln λ = −R (Eq. 84)"
    };
    Ok(Outcome {
        value,
        tolerance,
        detail: format!(
            "{rel} from the quadratic entropy surface (R² = {:.5}, {} points): max relative error \
             {value:.3e} at {}. Tolerance = 3 × {noise:.2e} (propagated se) + {model:.2e} ({model_note}) \
             + {bias:.2e} (KL bias spread over the axis span)",
            surface.r2,
            points.len(),
            label(ctx, &points[k]),
        ),
    })
}

/// The Maxwell error that theory's own entropies give with the same surface at the same points.
fn model_allowance(ctx: &Ctx, points: &[Point]) -> (f64, &'static str) {
    let (_, _, target) = relation(ctx);
    let max_err = |s: Result<Surface, FitError>, target: f64| {
        s.ok()
            .and_then(|s| max_finite(rel_errors(ctx, &s, points, target).into_iter()))
    };
    if ctx.isotropic {
        let sde = max_err(
            surface_of(points, |p| {
                ctx.theory_of(p).isotropic.map(|i| i.state_sde.entropy)
            }),
            target,
        );
        let disc = max_err(
            surface_of(points, |p| {
                ctx.theory_of(p)
                    .isotropic
                    .and_then(|i| i.state_disc.map(|s| s.entropy))
            }),
            target,
        );
        match (sde, disc) {
            (None, None) => (0.0, "no theory entropies"),
            (a, b) => (
                a.unwrap_or(0.0).max(b.unwrap_or(0.0)),
                "theory's entropies on this surface",
            ),
        }
    } else {
        let m = ctx.d as f64 - 1.0;
        let shift = surface_of(points, |p| {
            let t = ctx.theory_of(p);
            Some(m * (t.exact?.radius / t.sde?.radius).ln())
        });
        match max_err(shift, 0.0) {
            Some(v) => (v, "discrete-time radius shift"),
            None => (0.0, "no discrete-time prediction"),
        }
    }
}

/// The entropy surface and its SPEC §8 summary (fixed sphere: plots only).
pub(crate) fn fit_summary(ctx: &Ctx, points: &[Point]) -> Result<Fit, String> {
    let surface = surface_of(points, |p| Some(p.measured.entropy)).map_err(|e| e.to_string())?;
    let c = surface.coefficients;
    let r = ctx.gas_constant;
    let (xn, yn) = ctx.protocol.axis_names();
    let mut conditions = BTreeMap::new();
    let max_relative_error = match ctx.protocol {
        Protocol::FixedLr => {
            conditions.insert("(a1-a2)/R".to_owned(), (c.a1 - c.a2) / r);
            conditions.insert("(2a3-a5)/R".to_owned(), (2.0 * c.a3 - c.a5) / r);
            conditions.insert("(2a4-a5)/R".to_owned(), (2.0 * c.a4 - c.a5) / r);
            max_finite(rel_errors(ctx, &surface, points, r).into_iter())
        }
        Protocol::FixedElr => {
            conditions.insert("a2/R".to_owned(), c.a2 / r);
            conditions.insert("2a4/R".to_owned(), 2.0 * c.a4 / r);
            conditions.insert("a5/R".to_owned(), c.a5 / r);
            max_finite(rel_errors(ctx, &surface, points, -r).into_iter())
        }
        Protocol::FixedSphere => {
            conditions.insert("a2/(2R)".to_owned(), c.a2 / (2.0 * r));
            conditions.insert("2a4/(2R)".to_owned(), c.a4 / r);
            conditions.insert("a5/(2R)".to_owned(), c.a5 / (2.0 * r));
            None
        }
    };
    Ok(Fit {
        model: "S(x, y) = a0 + a1 x + a2 y + a3 x^2 + a4 y^2 + a5 x y".to_owned(),
        x: format!("ln {xn}"),
        y: format!("ln {yn}"),
        coefficients: c,
        r2: surface.r2,
        residual_sd: surface.residual_sd,
        points: points.len(),
        conditions,
        max_relative_error,
        plots_only: ctx.protocol == Protocol::FixedSphere,
    })
}
