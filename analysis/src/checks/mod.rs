//! Why this module exists: DESIGN §6 lists eight law checks; each lives in its own module with
//! two entry points — `assess` (value, default tolerance derived from the estimators' errors, and
//! a detail in words, or the reason it does not run) and `value` (the checked quantity alone, a
//! pure function of the points, re-evaluated on every bootstrap resample). This module holds
//! their shared context and helpers.

pub(crate) mod adiabat;
pub(crate) mod ideal_gas;
pub(crate) mod maxwell;
pub(crate) mod potential;
pub(crate) mod radius;
pub(crate) mod vmf;

use sweep_theory::Protocol;

use crate::sweep::Point;
use crate::theory::PointTheory;

/// What every check sees besides the points.
pub(crate) struct Ctx<'a> {
    pub protocol: Protocol,
    pub d: usize,
    /// R = (d−1)/2.
    pub gas_constant: f64,
    pub isotropic: bool,
    /// Predictions, indexed by `Point::index`.
    pub theory: &'a [PointTheory],
    /// A data-driven floor on every point's entropy error: the residual standard deviation of
    /// the quadratic entropy surface fitted to the measured S (0 when none can be fitted, e.g.
    /// adiabat paths). The chains' own `entropy_unit_sem` averages overlapping estimates (the
    /// queue outlives the interval between estimates) and understates the estimator's error
    /// several-fold on real chains; the scatter about a smooth surface contains the estimator's
    /// noise and the point-to-point variation of its bias, but not a smooth violation of a law
    /// (a wrong slope), which the floor must not absorb.
    pub entropy_floor: f64,
}

impl Ctx<'_> {
    /// A point's entropy standard error with the floor applied.
    pub(crate) fn entropy_se(&self, p: &Point) -> f64 {
        p.errors.entropy.max(self.entropy_floor)
    }
}

impl Ctx<'_> {
    pub(crate) fn theory_of(&self, p: &Point) -> &PointTheory {
        &self.theory[p.index]
    }
}

/// A check's result before overrides.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Outcome {
    pub value: f64,
    pub tolerance: f64,
    pub detail: String,
}

/// Why a check did not run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NotRun {
    /// It does not apply to this kind of sweep.
    NotApplicable(String),
    /// It applies but cannot be computed from these points.
    Unavailable(String),
}

/// The entry points of one check.
pub(crate) struct CheckFns {
    pub id: &'static str,
    pub assess: fn(&Ctx, &[Point]) -> Result<Outcome, NotRun>,
    pub value: fn(&Ctx, &[Point]) -> Option<f64>,
}

/// All checks, in DESIGN §6 order.
pub(crate) const ALL: [CheckFns; 8] = [
    CheckFns {
        id: "ideal_gas",
        assess: ideal_gas::assess,
        value: ideal_gas::value,
    },
    CheckFns {
        id: "V1.radius",
        assess: radius::assess_sde,
        value: radius::value_sde,
    },
    CheckFns {
        id: "V1.radius_discrete",
        assess: radius::assess_discrete,
        value: radius::value_discrete,
    },
    CheckFns {
        id: "V2.potential",
        assess: potential::assess,
        value: potential::value,
    },
    CheckFns {
        id: "V3.maxwell",
        assess: maxwell::assess,
        value: maxwell::value,
    },
    CheckFns {
        id: "V4.adiabat",
        assess: adiabat::assess,
        value: adiabat::value,
    },
    CheckFns {
        id: "vmf.energy",
        assess: vmf::assess_energy,
        value: vmf::value_energy,
    },
    CheckFns {
        id: "vmf.entropy",
        assess: vmf::assess_entropy,
        value: vmf::value_entropy,
    },
];

/// A short label of a point for details: "point 12 (lr=0.01, wd=0.001)".
pub(crate) fn label(ctx: &Ctx, p: &Point) -> String {
    let (a, b) = ctx.protocol.axis_names();
    format!(
        "point {} ({a}={:.4e}, {b}={:.4e})",
        p.point, p.first, p.second
    )
}

/// The point with the largest `key` (first of ties) and that key; None when empty or all NaN.
pub(crate) fn worst<'p, T>(items: impl Iterator<Item = (T, f64)>) -> Option<(T, f64)>
where
    T: 'p,
{
    let mut best: Option<(T, f64)> = None;
    for (item, v) in items {
        if !v.is_finite() {
            continue;
        }
        if best.as_ref().is_none_or(|(_, b)| v > *b) {
            best = Some((item, v));
        }
    }
    best
}

/// The largest value of an iterator of finite numbers (None when empty or any is not finite).
pub(crate) fn max_finite(values: impl Iterator<Item = f64>) -> Option<f64> {
    let mut m: Option<f64> = None;
    for v in values {
        if !v.is_finite() {
            return None;
        }
        m = Some(m.map_or(v, |a: f64| a.max(v)));
    }
    m
}
