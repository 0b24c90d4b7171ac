//! Why this module exists: [`analyse`] is the one function the coordinator, the CLI and tests call
//! to turn result rows into a [`Verdict`]: validate and aggregate the rows, predict every point,
//! run the checks of DESIGN §6, apply the `[analysis]` overrides, and attach bootstrap intervals.

use crate::bootstrap::{self, Mode};
use crate::checks::{ALL, Ctx, NotRun};
use crate::error::AnalysisError;
use crate::options::AnalysisOptions;
use crate::stats::{Rng, quantile};
use crate::sweep::{Sweep, build_sweep};
use crate::theory::{PointTheory, predict};
use crate::verdict::{Check, Skipped, Verdict};

/// The residual standard deviation of the quadratic entropy surface (SPEC §8) fitted to the
/// measured total entropies (see [`Ctx::entropy_floor`]); 0 when no surface can be fitted.
fn entropy_floor(sweep: &Sweep) -> f64 {
    let x: Vec<f64> = sweep.points.iter().map(|p| p.x()).collect();
    let y: Vec<f64> = sweep.points.iter().map(|p| p.y()).collect();
    let s: Vec<f64> = sweep.points.iter().map(|p| p.measured.entropy).collect();
    crate::fit::fit_surface(&x, &y, &s).map_or(0.0, |f| f.residual_sd)
}

/// Analyses the rows of one sweep. Rows whose status is not `done` are excluded (and counted).
pub fn analyse(
    rows: &[sweep_results::ResultRow],
    options: &AnalysisOptions,
) -> Result<Verdict, AnalysisError> {
    Ok(run(rows, options)?.verdict)
}

/// A verdict with the sweep and predictions behind it (for the report's figures).
pub(crate) struct Analysis {
    pub verdict: Verdict,
    pub sweep: Sweep,
    pub theory: Vec<PointTheory>,
}

/// [`analyse`], keeping the sweep and the predictions.
pub(crate) fn run(
    rows: &[sweep_results::ResultRow],
    options: &AnalysisOptions,
) -> Result<Analysis, AnalysisError> {
    options.validate()?;
    let sweep = build_sweep(rows)?;
    let theory = predict(&sweep);
    let ctx = Ctx {
        protocol: sweep.protocol,
        d: sweep.d(),
        gas_constant: 0.5 * (sweep.d() as f64 - 1.0),
        isotropic: sweep.isotropic(),
        theory: &theory,
        entropy_floor: entropy_floor(&sweep),
    };
    let points = &sweep.points;
    let mut checks = Vec::new();
    let mut skipped = Vec::new();
    let mut value_fns = Vec::new();
    for c in &ALL {
        match (c.assess)(&ctx, points) {
            Ok(o) => {
                let overridden = options.override_for(c.id);
                let tolerance = overridden.unwrap_or(o.tolerance);
                checks.push(Check {
                    id: c.id.to_owned(),
                    value: o.value,
                    tolerance,
                    pass: o.value <= tolerance,
                    detail: o.detail,
                    interval: None,
                    fails_inside_interval: false,
                    tolerance_overridden: overridden.is_some(),
                    default_tolerance: o.tolerance,
                });
                value_fns.push(c.value);
            }
            Err(NotRun::NotApplicable(reason)) => skipped.push(Skipped {
                id: c.id.to_owned(),
                applicable: false,
                reason,
            }),
            Err(NotRun::Unavailable(reason)) => skipped.push(Skipped {
                id: c.id.to_owned(),
                applicable: true,
                reason,
            }),
        }
    }
    let mode = bootstrap::mode(&sweep);
    if options.bootstrap > 0 && !checks.is_empty() {
        let mut rng = Rng::new(options.seed);
        let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(options.bootstrap); checks.len()];
        for _ in 0..options.bootstrap {
            let resampled = bootstrap::resample(&sweep, mode, &mut rng);
            for (k, f) in value_fns.iter().enumerate() {
                if let Some(v) = f(&ctx, &resampled) {
                    samples[k].push(v);
                }
            }
        }
        for (check, s) in checks.iter_mut().zip(&samples) {
            // Fewer than 20 usable resamples give no meaningful 95 % interval.
            if s.len() < 20.min(options.bootstrap) {
                continue;
            }
            // Basic (reverse-percentile) interval [2v − q97.5, 2v − q2.5]: most checked values
            // are maxima over points, which resampling biases upwards; reflecting the quantiles
            // about v removes that bias to first order. Values are ≥ 0 (errors, fractions). When
            // the noise dominates a small value, the reflected interval can exclude v itself (v
            // is then inflated by noise too); it is widened to contain v.
            if let (Some(q_lo), Some(q_hi)) = (quantile(s, 0.025), quantile(s, 0.975)) {
                let v = check.value;
                let lo = (2.0 * v - q_hi).max(0.0).min(v);
                let hi = (2.0 * v - q_lo).max(v);
                check.interval = Some([lo, hi]);
                check.fails_inside_interval = !check.pass && lo <= check.tolerance;
            }
        }
    }
    let fit = match crate::checks::maxwell::fit_summary(&ctx, points) {
        Ok(f) => Some(f),
        Err(e) => {
            tracing::info!(sweep = %sweep.sweep, "entropy surface not fitted: {e}");
            None
        }
    };
    let bootstrap = if options.bootstrap == 0 {
        "none (bootstrap = 0)".to_owned()
    } else {
        format!("{} resamples, {}", options.bootstrap, Mode::describe(mode))
    };
    let verdict = Verdict {
        sweep: sweep.sweep.clone(),
        workload: sweep.workload.clone(),
        protocol: sweep.protocol.as_str().to_owned(),
        dim: sweep.dim,
        checks,
        fit,
        skipped,
        rows_total: sweep.rows_total,
        rows_excluded: sweep.excluded.clone(),
        bootstrap,
        points: sweep.points.clone(),
    };
    Ok(Analysis {
        verdict,
        sweep,
        theory,
    })
}
