//! Why this module exists: `verdict.json` is a contract (DESIGN §6) read by scripts, CI and
//! `sweepctl report --strict`. This module holds its types: the contract fields (`sweep`,
//! `workload`, `protocol`, `dim`, `checks` with `id`, `value`, `tolerance`, `pass`, `detail`, and
//! `fit`) and the extensions (confidence intervals, the checks that did not run and why, row
//! counts, the per-point table).
//!
//! Convention for checks that do not run: they are **omitted** from `checks` and listed in
//! `skipped` with the reason. `applicable = false` means the check does not apply to this kind of
//! sweep (V4 without adiabat rows, `vmf.*` and V2 for networks); `applicable = true` means it
//! applies but could not be computed (too few points for the fit, a singular design, missing
//! columns) — that makes [`Verdict::all_passed`] false.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::fit::Coefficients;
use crate::sweep::Point;

/// One law check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// Check id (DESIGN §6).
    pub id: String,
    /// The checked quantity (see DESIGN §6 for its meaning per id).
    pub value: f64,
    /// The tolerance: `value <= tolerance` passes.
    pub tolerance: f64,
    /// Whether the check passed.
    pub pass: bool,
    /// What was compared, the worst point, the tolerance's make-up.
    pub detail: String,
    /// Extension: 95 % basic-bootstrap interval of `value` (None without resamples).
    pub interval: Option<[f64; 2]>,
    /// Extension: the check failed but the tolerance lies inside the interval (not significant).
    #[serde(default)]
    pub fails_inside_interval: bool,
    /// Extension: whether the tolerance came from `[analysis]` rather than the default.
    #[serde(default)]
    pub tolerance_overridden: bool,
    /// Extension: the default tolerance (derived from the estimators' errors).
    pub default_tolerance: f64,
}

/// A check that did not run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    /// Check id.
    pub id: String,
    /// Whether the check applies to this sweep (true: it should have run, and the verdict cannot
    /// pass).
    pub applicable: bool,
    /// Why it did not run.
    pub reason: String,
}

/// The entropy-surface fit of SPEC §8 (the `fit` object of verdict.json).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fit {
    /// "S(x, y) = a0 + a1 x + a2 y + a3 x^2 + a4 y^2 + a5 x y".
    pub model: String,
    /// What x is ("ln lr" or "ln elr").
    pub x: String,
    /// What y is ("ln wd" or "ln radius").
    pub y: String,
    /// a0…a5.
    pub coefficients: Coefficients,
    /// R².
    pub r2: f64,
    /// Residual standard deviation (nats).
    pub residual_sd: f64,
    /// Points fitted.
    pub points: usize,
    /// The normalised coefficient conditions of SPEC §8 (≈ 1, ≈ 0, ≈ 0 under the law).
    pub conditions: BTreeMap<String, f64>,
    /// Max over points of the relative error of the Maxwell relation (fixed LR / ELR).
    pub max_relative_error: Option<f64>,
    /// Whether the fit is used only for plots (fixed sphere).
    pub plots_only: bool,
}

/// The verdict of a sweep (DESIGN §6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Sweep id.
    pub sweep: String,
    /// Workload kind.
    pub workload: String,
    /// Protocol name.
    pub protocol: String,
    /// Dimension d.
    pub dim: u64,
    /// The checks that ran.
    pub checks: Vec<Check>,
    /// The entropy-surface fit (null when it could not be fitted).
    pub fit: Option<Fit>,
    /// Extension: the checks that did not run, and why.
    pub skipped: Vec<Skipped>,
    /// Extension: rows in the results file.
    pub rows_total: usize,
    /// Extension: rows excluded from the checks (status not `done`), by status.
    pub rows_excluded: BTreeMap<String, usize>,
    /// Extension: bootstrap resamples behind the intervals, and how they were drawn.
    pub bootstrap: String,
    /// Extension: the points with their derived variables (T, P, V, R, σ², F, G).
    pub points: Vec<Point>,
}

impl Verdict {
    /// True when every check passed and no applicable check was left out.
    pub fn all_passed(&self) -> bool {
        self.checks.iter().all(|c| c.pass) && self.skipped.iter().all(|s| !s.applicable)
    }

    /// The check with this id, if it ran.
    pub fn check(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }
}
