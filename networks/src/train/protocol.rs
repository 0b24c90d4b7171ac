//! One SGD update of the scale-invariant group under each protocol (SPEC §2, §7.2), exactly as
//! `torch.optim.SGD` (no momentum, `weight_decay = λ` adds λw to the gradient) plus the run's
//! learning-rate rule:
//!
//! * fixed LR: `w ← w − η (g + λ w)`;
//! * fixed ELR: `w ← w − η_eff ‖w‖² (g + λ w)`, the norm taken before the step (i.e. after the
//!   previous one);
//! * fixed sphere: `w̃ = w − η_eff r² g`, then `w ← r w̃/‖w̃‖` (no weight decay).

use super::norm;
use crate::real::Real;

/// A protocol with its hyperparameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Update {
    /// Projected SGD on the sphere of radius `radius` with effective learning rate `elr`.
    FixedSphere {
        /// η_eff.
        elr: f64,
        /// r.
        radius: f64,
    },
    /// Fixed effective learning rate `elr` with weight decay `wd`.
    FixedElr {
        /// η_eff.
        elr: f64,
        /// λ.
        wd: f64,
    },
    /// Fixed learning rate `lr` with weight decay `wd`.
    FixedLr {
        /// η.
        lr: f64,
        /// λ.
        wd: f64,
    },
}

/// What one update did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepInfo {
    /// The learning rate applied (η, η_eff‖w‖² or η_eff r²).
    pub lr: f64,
    /// ‖w̃‖: the norm right after the SGD step, before any projection (SPEC §7.3 logs it).
    pub pre_norm: f64,
    /// ‖w‖ after the update.
    pub norm: f64,
}

/// Applies `update` to `w` given the stochastic gradient `g` (same length).
pub fn apply_update<T: Real>(update: Update, w: &mut [T], g: &[T]) -> StepInfo {
    let (lr, wd) = match update {
        Update::FixedSphere { elr, radius } => (elr * radius * radius, 0.0),
        Update::FixedElr { elr, wd } => {
            let n = norm(w);
            (elr * n * n, wd)
        }
        Update::FixedLr { lr, wd } => (lr, wd),
    };
    let shrink = T::from_f64(1.0 - lr * wd);
    let lr_t = T::from_f64(lr);
    for (x, &d) in w.iter_mut().zip(g) {
        *x = shrink * *x - lr_t * d;
    }
    let pre_norm = norm(w);
    let norm_after = if let Update::FixedSphere { radius, .. } = update {
        if pre_norm > 0.0 {
            let s = T::from_f64(radius / pre_norm);
            w.iter_mut().for_each(|x| *x *= s);
        }
        norm(w)
    } else {
        pre_norm
    };
    StepInfo {
        lr,
        pre_norm,
        norm: norm_after,
    }
}
