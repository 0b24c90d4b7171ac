//! Why this module exists: V4 (SPEC §3.7, §16.10) checks that total entropy is constant along an
//! adiabat. Adiabat sweeps mark each row with the adiabat it lies on (`adiabat` column); for
//! isotropic sweeps the path is the exact isentrope, for networks P·V^γ = const with a given γ.
//! Value = max over adiabats of the entropy spread (max S − min S), in nats.
//!
//! Default tolerance, per adiabat, maximised:
//! * 3 × the combined standard error of the two extreme points;
//! * plus the spread theory itself predicts along the same points (isotropic: SDE states, ≈ 0 on
//!   the exact isentrope, and discrete-time states, the larger; networks: none, C_V is unknown);
//! * plus 0.1 nats: the KL estimator's bias varies with the concentration along the path (SPEC §16.1).

use std::collections::BTreeMap;

use super::{Ctx, NotRun, Outcome};
use crate::options::{KL_BIAS_NATS, ROUNDING, Z};
use crate::sweep::Point;

fn groups(points: &[Point]) -> BTreeMap<u32, Vec<&Point>> {
    let mut g: BTreeMap<u32, Vec<&Point>> = BTreeMap::new();
    for p in points {
        if let Some(a) = p.adiabat {
            g.entry(a).or_default().push(p);
        }
    }
    g.retain(|_, v| v.len() >= 2);
    g
}

fn spread(values: impl Iterator<Item = f64>) -> f64 {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    hi - lo
}

/// max spread of total entropy along an adiabat.
pub(crate) fn value(_ctx: &Ctx, points: &[Point]) -> Option<f64> {
    let g = groups(points);
    if g.is_empty() {
        return None;
    }
    let v = g
        .values()
        .map(|ps| spread(ps.iter().map(|p| p.measured.entropy)))
        .fold(0.0, f64::max);
    v.is_finite().then_some(v)
}

/// V4.adiabat.
pub(crate) fn assess(ctx: &Ctx, points: &[Point]) -> Result<Outcome, NotRun> {
    if points.iter().all(|p| p.adiabat.is_none()) {
        return Err(NotRun::NotApplicable(
            "no adiabat rows (a grid sweep)".to_owned(),
        ));
    }
    let g = groups(points);
    if g.is_empty() {
        return Err(NotRun::Unavailable(
            "no adiabat has two or more done points".to_owned(),
        ));
    }
    let mut value: f64 = 0.0;
    let mut tolerance: f64 = 0.0;
    let mut worst = 0;
    let mut model_max: f64 = 0.0;
    for (id, ps) in &g {
        let s = spread(ps.iter().map(|p| p.measured.entropy));
        if s > value {
            value = s;
            worst = *id;
        }
        let by =
            |f: &dyn Fn(&&Point) -> f64| ps.iter().copied().max_by(|a, b| f(a).total_cmp(&f(b)));
        let hi = by(&|p| p.measured.entropy);
        let lo = by(&|p| -p.measured.entropy);
        let se = match (hi, lo) {
            (Some(h), Some(l)) => (ctx.entropy_se(h).powi(2) + ctx.entropy_se(l).powi(2)).sqrt(),
            _ => 0.0,
        };
        let model = if ctx.isotropic {
            let sde: Option<Vec<f64>> = ps
                .iter()
                .map(|p| ctx.theory_of(p).isotropic.map(|i| i.state_sde.entropy))
                .collect();
            let disc: Option<Vec<f64>> = ps
                .iter()
                .map(|p| {
                    ctx.theory_of(p)
                        .isotropic
                        .and_then(|i| i.state_disc.map(|s| s.entropy))
                })
                .collect();
            let a = sde.map_or(0.0, |v| spread(v.into_iter()));
            let b = disc.map_or(0.0, |v| spread(v.into_iter()));
            a.max(b)
        } else {
            0.0
        };
        model_max = model_max.max(model);
        tolerance = tolerance.max(Z * se + model + KL_BIAS_NATS + ROUNDING);
    }
    let path = if ctx.isotropic {
        "the exact isentrope"
    } else {
        "P·V^γ = const (γ given; C_V unknown for networks)"
    };
    Ok(Outcome {
        value,
        tolerance,
        detail: format!(
            "{} adiabats along {path}: max spread of total S = {value:.3e} nats on adiabat {worst}. \
             Tolerance = 3·se + theory's own spread (up to {model_max:.3e}) + {KL_BIAS_NATS} nats KL bias",
            g.len()
        ),
    })
}
