//! The per-point result a batch returns: the stationary measurements and derived thermodynamic
//! variables of DESIGN §5, plus their statistical errors.

/// How a point ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PointStatus {
    /// Ran to the end.
    Done,
    /// The state became NaN/Inf or zero (DESIGN §4 `diverged`): not retried.
    Diverged {
        /// An iteration by which the divergence was seen.
        iteration: u64,
    },
    /// A measurement failed (message says which).
    Failed(String),
}

impl PointStatus {
    /// The `status` column: `done` | `diverged` | `failed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Diverged { .. } => "diverged",
            Self::Failed(_) => "failed",
        }
    }

    /// The `error` column.
    pub fn error(&self) -> Option<String> {
        match self {
            Self::Done => None,
            Self::Diverged { iteration } => Some(format!(
                "state became non-finite or zero by iteration {iteration}"
            )),
            Self::Failed(e) => Some(e.clone()),
        }
    }
}

/// Stationary results of one chain (one point × replica). Values are NaN where not measured.
#[derive(Clone, Debug, PartialEq)]
pub struct PointSummary {
    /// Point index.
    pub point: u32,
    /// Replica index.
    pub replica: u32,
    /// Point seed.
    pub seed: u64,
    /// Iterations run.
    pub iterations: u64,
    /// U: mean loss over the stationary window.
    pub loss_mean: f64,
    /// Standard error of `loss_mean` (batch means).
    pub loss_sem: f64,
    /// r̄: mean ‖w‖ over the window (the radius on the fixed sphere).
    pub radius_mean: f64,
    /// Standard error of `radius_mean` (batch means).
    pub radius_sem: f64,
    /// Mean ‖w‖² over the window.
    pub radius_sq_mean: f64,
    /// S of the unit-sphere distribution: mean of the last estimates.
    pub entropy_unit: f64,
    /// Standard error of `entropy_unit` over those estimates.
    pub entropy_unit_sem: f64,
    /// Number of entropy estimates averaged.
    pub entropy_estimates: u32,
    /// Total entropy: `entropy_unit + (d−1)·ln r̄`.
    pub entropy: f64,
    /// σ² (configured for the isotropic model).
    pub sigma2: f64,
    /// Measured tr Σ(w̄).
    pub trace_sigma: f64,
    /// Measured ‖∇L(w̄)‖² (mean over the window).
    pub full_grad_sq: f64,
    /// T (DESIGN §5).
    pub temperature: f64,
    /// P: λ, or `wd_eff` on the fixed sphere.
    pub pressure: f64,
    /// V = r̄²/2 (r²/2 on the fixed sphere).
    pub volume: f64,
    /// Fixed sphere: the Pythagorean effective weight decay (E‖w̃‖² − r²)/(2ηr²) (SPEC §16.6).
    pub wd_eff: f64,
    /// Standard error of `wd_eff` (batch means).
    pub wd_eff_sem: f64,
    /// Fixed sphere: the paper's linearised estimator (E‖w̃‖ − r)/(η r) (SPEC §3.6).
    pub wd_eff_linear: f64,
    /// Standard error of `trace_sigma` (NaN for the isotropic model, whose σ² is configured).
    pub trace_sigma_sem: f64,
    /// Standard error of `full_grad_sq` (NaN for the isotropic model).
    pub full_grad_sq_sem: f64,
    /// Networks: mean test loss in evaluation mode over the last entropy estimates' iterations.
    pub test_loss: f64,
    /// Networks: mean test accuracy (fraction) likewise.
    pub test_accuracy: f64,
    /// How the point ended.
    pub status: PointStatus,
    /// Wall-clock seconds of the group the point ran in.
    pub wall_seconds: f64,
}
