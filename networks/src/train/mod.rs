//! Training the scale-invariant group with the three protocols of SPEC §2/§7.2, and the gradient
//! statistics that give tr Σ (SPEC §7.3). The frozen head never changes (its learning rate is 0).

pub mod measure;
pub mod protocol;
pub mod trainer;

pub use measure::{BnRecord, GradStats, gradient_statistics, gradient_statistics_recording};
pub use protocol::{StepInfo, Update, apply_update};
pub use trainer::{StepLog, TrainError, Trainer};

use crate::real::Real;

/// Euclidean norm accumulated in f64 (an f32 sum over 10⁵ weights would lose ~3 digits).
pub fn norm<T: Real>(v: &[T]) -> f64 {
    v.iter()
        .map(|x| x.to_f64() * x.to_f64())
        .sum::<f64>()
        .sqrt()
}
