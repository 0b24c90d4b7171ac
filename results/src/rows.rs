//! The rows of the two result files (DESIGN §5), as plain Rust values. The coordinator keeps its
//! own row types rather than the kernels' summaries (DESIGN §2: it must not depend on kernels);
//! the agent maps a kernel summary to a [`ResultRow`] through the wire format.

use std::fmt;
use std::str::FromStr;

/// How a point ended: the `status` column (`done` | `diverged` | `failed`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// Ran to the end.
    Done,
    /// The state became NaN/Inf (DESIGN §4): a row with this status, never retried.
    Diverged,
    /// Failed for good (attempts exhausted or a measurement failed); `error` says why.
    Failed,
}

impl Status {
    /// The value stored in the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Diverged => "diverged",
            Self::Failed => "failed",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `status` value that is none of `done`, `diverged`, `failed`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown status `{0}` (expected done, diverged or failed)")]
pub struct UnknownStatus(pub String);

impl FromStr for Status {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "done" => Ok(Self::Done),
            "diverged" => Ok(Self::Diverged),
            "failed" => Ok(Self::Failed),
            other => Err(UnknownStatus(other.to_owned())),
        }
    }
}

/// One row of `results.parquet`: one point (grid point × replica). Fields are in column order and
/// carry the column names and meanings of DESIGN §5; `None` is a Parquet null. The last six
/// fields are extension columns, after the contract ones.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultRow {
    /// Sweep id.
    pub sweep: String,
    /// Point index.
    pub point: u32,
    /// Replica index.
    pub replica: u32,
    /// Point seed (DESIGN §4).
    pub seed: u64,
    /// Workload kind (`isotropic`, `convnet`, `resnet18`).
    pub workload: String,
    /// Protocol kind (`fixed_sphere`, `fixed_elr`, `fixed_lr`).
    pub protocol: String,
    /// Dimension d of the scale-invariant weights.
    pub dim: u64,
    /// Learning rate η; null where the protocol has no `lr` axis.
    pub lr: Option<f64>,
    /// Effective learning rate; null where the protocol has no `elr` axis.
    pub elr: Option<f64>,
    /// Weight decay λ; null where the protocol has no `wd` axis.
    pub wd: Option<f64>,
    /// Sphere radius; null where the protocol has no `radius` axis.
    pub radius: Option<f64>,
    /// Iterations run.
    pub iterations: u64,
    /// U: stationary mean loss.
    pub loss_mean: Option<f64>,
    /// r̄: stationary mean of ‖w‖.
    pub radius_mean: Option<f64>,
    /// S of the unit-sphere distribution.
    pub entropy_unit: Option<f64>,
    /// Total entropy, `entropy_unit + (d−1)·ln r̄`.
    pub entropy: Option<f64>,
    /// σ² (configured for isotropic sweeps, `trace_sigma/(d−1)` for networks).
    pub sigma2: Option<f64>,
    /// tr Σ(w̄) on the unit sphere.
    pub trace_sigma: Option<f64>,
    /// ‖∇L(w̄)‖² on the unit sphere.
    pub full_grad_sq: Option<f64>,
    /// T.
    pub temperature: Option<f64>,
    /// P: λ, or `wd_eff` on the fixed sphere.
    pub pressure: Option<f64>,
    /// V = r̄²/2 (r²/2 on the fixed sphere).
    pub volume: Option<f64>,
    /// Fixed sphere: the Pythagorean effective weight decay (SPEC §16.6).
    pub wd_eff: Option<f64>,
    /// How the point ended.
    pub status: Status,
    /// Why it did not end `done`; null otherwise.
    pub error: Option<String>,
    /// Backend that ran it (`cpu`, `cuda`).
    pub backend: String,
    /// Agent that ran it.
    pub agent: String,
    /// Attempt that produced the row.
    pub attempt: u32,
    /// Wall-clock seconds of the group the point ran in.
    pub wall_seconds: f64,
    /// Extension: standard error of `loss_mean`.
    pub loss_sem: Option<f64>,
    /// Extension: standard error of `radius_mean`.
    pub radius_sem: Option<f64>,
    /// Extension: standard error of `entropy_unit`.
    pub entropy_unit_sem: Option<f64>,
    /// Extension: standard error of `wd_eff`.
    pub wd_eff_sem: Option<f64>,
    /// Extension: the paper's linearised effective weight decay (SPEC §3.6).
    pub wd_eff_linear: Option<f64>,
    /// Extension: standard error of `trace_sigma` (networks, where σ² is measured).
    pub trace_sigma_sem: Option<f64>,
    /// Extension: standard error of `full_grad_sq` (networks).
    pub full_grad_sq_sem: Option<f64>,
    /// Extension (networks): test loss in evaluation mode, averaged like the entropy.
    pub test_loss: Option<f64>,
    /// Extension (networks): test accuracy (a fraction), likewise.
    pub test_accuracy: Option<f64>,
    /// Extension: the adiabat the point lies on (adiabat sweeps); null for grids.
    pub adiabat: Option<u32>,
}

/// One row of `series.parquet`: one time-series sample of one chain (DESIGN §5); `None` where
/// not measured at that step.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesRow {
    /// Sweep id.
    pub sweep: String,
    /// Point index.
    pub point: u32,
    /// Replica index.
    pub replica: u32,
    /// Iterations completed when sampled.
    pub iteration: u64,
    /// The loss.
    pub loss: Option<f64>,
    /// ‖w‖.
    pub radius: Option<f64>,
    /// Entropy of the unit-sphere distribution.
    pub entropy_unit: Option<f64>,
    /// Total entropy.
    pub entropy: Option<f64>,
    /// tr Σ(w̄).
    pub trace_sigma: Option<f64>,
    /// ‖∇L(w̄)‖².
    pub full_grad_sq: Option<f64>,
}
