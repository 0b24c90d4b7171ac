//! Spherical Kozachenko–Leonenko entropy estimator (SPEC §6, §16.1, §16.2, §16.9).
//!
//! Given N unit vectors u_i ∈ S^{d−1} (and their radii), the estimator
//! 1. optionally reflects the sample ([`EstimatorMode::Reflected`], the default) with the
//!    Householder map that sends the normalised sample mean to θ = (π/2, …, π/2, π), i.e. to
//!    −e_{d−1}; |det| = 1, so the entropy is unchanged, but the sample leaves the coordinate pole
//!    where raw angles are strongly biased (SPEC §16.1);
//! 2. maps every vector to its hyperspherical angles φ ∈ R^{d−1} (last angle in [0, 2π));
//! 3. estimates the flat entropy of the angles with Kozachenko–Leonenko,
//!    Ĥ = (m/N) Σ ln ε_i + ln V_m + ln(N − 1) + γ_E, m = d − 1, ε_i ≥ 1e-8 the 1-NN distances
//!    ([`nearest_neighbor_distances`]);
//! 4. adds the mean log-Jacobian ½ Σ_{j=2}^{d−1} ln Σ_{k≥j} u_k² (partial norms clipped at 1e-8)
//!    for the unit-sphere entropy, and (d − 1)·ln r̄ for the total.

mod angles;
mod angles_small;
mod fast_atan;
pub(crate) mod neighbours;
mod special;

use thiserror::Error;

pub use angles::{MIN_PARTIAL_NORM, UNIT_TOLERANCE};
pub use neighbours::{
    KD_TREE_MAX_DIM, NnEngine, Simd, avx512_available, nearest_neighbor_distances,
    nearest_neighbor_distances_with,
};
pub use special::{EULER_GAMMA, ln_gamma, ln_unit_ball_volume};

/// Smallest nearest-neighbour distance allowed inside a logarithm (as in the authors' code).
pub const MIN_NN_DISTANCE: f64 = 1e-8;

/// Errors of the entropy estimator, each naming the offending input.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum EntropyError {
    /// Fewer than two samples: no nearest neighbour exists.
    #[error("need at least 2 samples, got {0}")]
    TooFewSamples(usize),
    /// The dimension is below the minimum (2 for unit vectors, 1 for flat points).
    #[error("dimension must be at least {min}, got {got}")]
    DimensionTooSmall {
        /// The dimension given.
        got: usize,
        /// The smallest dimension allowed.
        min: usize,
    },
    /// An input slice has the wrong length.
    #[error("{what} has length {got}, expected {expected}")]
    LengthMismatch {
        /// Which input.
        what: &'static str,
        /// Its length.
        got: usize,
        /// The length implied by the other inputs.
        expected: usize,
    },
    /// A NaN or infinity in an input.
    #[error("non-finite value in {what} at flat index {index}")]
    NonFinite {
        /// Which input.
        what: &'static str,
        /// Flat index of the first bad value.
        index: usize,
    },
    /// A row of `units` is not a unit vector (within [`UNIT_TOLERANCE`]).
    #[error("row {row} is not a unit vector (norm {norm})")]
    NotUnitVector {
        /// The row index.
        row: usize,
        /// Its Euclidean norm.
        norm: f64,
    },
    /// A radius is zero or negative.
    #[error("radius {index} is not positive ({value})")]
    NonPositiveRadius {
        /// The sample index.
        index: usize,
        /// The radius given.
        value: f64,
    },
    /// The requested SIMD path is not supported by this CPU.
    #[error("the {0} instruction set is not available on this CPU")]
    SimdUnavailable(&'static str),
    /// The sizes overflow the index types.
    #[error("input sizes overflow")]
    SizeOverflow,
}

/// Whether to reflect the sample away from the coordinate pole before taking angles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EstimatorMode {
    /// Householder reflection of the sample mean to θ = (π/2, …, π/2, π) first (SPEC §16.1).
    #[default]
    Reflected,
    /// The paper's raw angles, without reflection (biased near the pole θ₁ ≈ 0).
    Raw,
}

/// The result of [`estimate`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EntropyEstimate {
    /// Entropy of the directions on the unit sphere: `angle_entropy + mean_log_jacobian`.
    pub entropy_unit: f64,
    /// Total entropy: `entropy_unit + (dim − 1)·ln(mean_radius)`.
    pub entropy: f64,
    /// Mean radius r̄.
    pub mean_radius: f64,
    /// Kozachenko–Leonenko estimate Ĥ(φ) of the flat entropy of the angle vectors.
    pub angle_entropy: f64,
    /// Mean log-Jacobian (1/N) Σ_i ln J(φ_i).
    pub mean_log_jacobian: f64,
    /// Number of samples N.
    pub samples: usize,
    /// Ambient dimension d.
    pub dim: usize,
}

/// Estimates the entropy of a sample of directions `units` (N×`dim`, row-major, unit rows)
/// with radii `radii` (N values > 0).
///
/// Runs on the caller's current rayon pool.
pub fn estimate(
    units: &[f64],
    radii: &[f64],
    dim: usize,
    mode: EstimatorMode,
) -> Result<EntropyEstimate, EntropyError> {
    if dim < 2 {
        return Err(EntropyError::DimensionTooSmall { got: dim, min: 2 });
    }
    let n = radii.len();
    if n < 2 {
        return Err(EntropyError::TooFewSamples(n));
    }
    let expected = n.checked_mul(dim).ok_or(EntropyError::SizeOverflow)?;
    if units.len() != expected {
        return Err(EntropyError::LengthMismatch {
            what: "units",
            got: units.len(),
            expected,
        });
    }
    if let Some(index) = radii.iter().position(|r| !r.is_finite()) {
        return Err(EntropyError::NonFinite {
            what: "radii",
            index,
        });
    }
    if let Some(index) = radii.iter().position(|&r| r <= 0.0) {
        return Err(EntropyError::NonPositiveRadius {
            index,
            value: radii[index],
        });
    }
    angles::validate_units(units, dim)?;
    let reflection = match mode {
        EstimatorMode::Reflected => angles::Reflection::to_reference_direction(units, dim),
        EstimatorMode::Raw => angles::Reflection::identity(),
    };
    let (phi, log_j) = angles::angles_of_rows(units, dim, &reflection);
    let angle_entropy = kozachenko_leonenko(&phi, n, dim - 1)?;
    Ok(assemble(angle_entropy, &log_j, radii, dim))
}

/// The estimate from the angle-space entropy, the per-sample log-Jacobians and the radii (shared
/// by the CPU path and the CUDA path, which differ only in how they find nearest neighbours).
pub(crate) fn assemble(
    angle_entropy: f64,
    log_j: &[f64],
    radii: &[f64],
    dim: usize,
) -> EntropyEstimate {
    let n = log_j.len();
    let mean_log_jacobian = log_j.iter().sum::<f64>() / n as f64;
    let mean_radius = radii.iter().sum::<f64>() / radii.len() as f64;
    let entropy_unit = angle_entropy + mean_log_jacobian;
    EntropyEstimate {
        entropy_unit,
        entropy: entropy_unit + (dim - 1) as f64 * mean_radius.ln(),
        mean_radius,
        angle_entropy,
        mean_log_jacobian,
        samples: n,
        dim,
    }
}

/// The flat Kozachenko–Leonenko entropy estimate (nats) of `n` points in R^`m` (row-major):
/// (m/N) Σ ln max(ε_i, 1e-8) + ln V_m + ln(N − 1) + γ_E.
pub fn kozachenko_leonenko(points: &[f64], n: usize, m: usize) -> Result<f64, EntropyError> {
    let eps = nearest_neighbor_distances(points, n, m)?;
    Ok(kl_from_distances(&eps, m))
}

/// The Kozachenko–Leonenko estimate from given 1-NN distances `eps` of N = `eps.len()` ≥ 2
/// points in R^`m`.
pub fn kl_from_distances(eps: &[f64], m: usize) -> f64 {
    let n = eps.len();
    let mean_log = eps.iter().map(|e| e.max(MIN_NN_DISTANCE).ln()).sum::<f64>() / n as f64;
    m as f64 * mean_log + ln_unit_ball_volume(m) + ((n - 1) as f64).ln() + EULER_GAMMA
}

/// Hyperspherical angles (N×(d−1)) and log-Jacobians (N) of the rows of `units` (N×`dim`),
/// after the reflection of `mode`; exposed for tests and diagnostics. Rows are normalised first.
pub fn angles_and_log_jacobians(
    units: &[f64],
    dim: usize,
    mode: EstimatorMode,
) -> Result<(Vec<f64>, Vec<f64>), EntropyError> {
    check_unit_rows(units, dim)?;
    let reflection = match mode {
        EstimatorMode::Reflected => angles::Reflection::to_reference_direction(units, dim),
        EstimatorMode::Raw => angles::Reflection::identity(),
    };
    Ok(angles::angles_of_rows(units, dim, &reflection))
}

/// Checks that `units` is a whole number of unit rows of length `dim ≥ 2`.
fn check_unit_rows(units: &[f64], dim: usize) -> Result<(), EntropyError> {
    if dim < 2 {
        return Err(EntropyError::DimensionTooSmall { got: dim, min: 2 });
    }
    if !units.len().is_multiple_of(dim) {
        return Err(EntropyError::LengthMismatch {
            what: "units",
            got: units.len(),
            expected: units.len() / dim * dim,
        });
    }
    angles::validate_units(units, dim)
}

/// The rows of `units` (N×`dim`) after the [`EstimatorMode::Reflected`] Householder reflection,
/// which sends the normalised sample mean to −e_{dim−1}; exposed for tests and diagnostics.
pub fn reflect_to_reference(units: &[f64], dim: usize) -> Result<Vec<f64>, EntropyError> {
    check_unit_rows(units, dim)?;
    let reflection = angles::Reflection::to_reference_direction(units, dim);
    let mut out = units.to_vec();
    out.chunks_exact_mut(dim)
        .for_each(|row| reflection.apply(row));
    Ok(out)
}
