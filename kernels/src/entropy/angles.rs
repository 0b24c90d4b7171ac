//! Hyperspherical angles and log-Jacobians of unit vectors (SPEC §6 steps 1 and 3, §16.1–2),
//! with the optional Householder reflection of the sample mean to θ = (π/2, …, π/2, π).

use rayon::prelude::*;

use super::EntropyError;

thread_local! {
    /// Per-thread scratch for the reverse cumulative sums of one row.
    static TAILS: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Smallest partial norm (= smallest sin φ) allowed inside a logarithm, as in the authors' code.
pub const MIN_PARTIAL_NORM: f64 = 1e-8;

/// Largest allowed |‖u‖ − 1| for an input row.
pub const UNIT_TOLERANCE: f64 = 1e-6;

/// A Householder reflection H = I − 2 v vᵀ / (vᵀv); the identity when `v` is `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct Reflection {
    v: Option<Vec<f64>>,
    vv: f64,
}

impl Reflection {
    /// The identity map.
    pub fn identity() -> Self {
        Self { v: None, vv: 1.0 }
    }

    /// The reflection that maps the normalised mean of the rows of `units` (N×dim) to −e_{dim−1}
    /// (1-based), whose angles are (π/2, …, π/2, π). The identity when the mean vanishes or
    /// already points there.
    pub fn to_reference_direction(units: &[f64], dim: usize) -> Self {
        let mut mean = vec![0.0; dim];
        for row in units.chunks_exact(dim) {
            for (acc, &x) in mean.iter_mut().zip(row) {
                *acc += x;
            }
        }
        let norm = mean.iter().map(|x| x * x).sum::<f64>().sqrt();
        if !(norm > 0.0 && norm.is_finite()) {
            return Self::identity();
        }
        let mut v: Vec<f64> = mean.iter().map(|x| x / norm).collect();
        v[dim - 2] += 1.0; // v = μ̂ − t with t = −e_{d−1}
        let vv: f64 = v.iter().map(|x| x * x).sum();
        // ‖v‖² ≤ 1e-30 means μ̂ = t to rounding: nothing to do.
        if vv <= 1e-30 {
            return Self::identity();
        }
        Self { v: Some(v), vv }
    }

    /// The reflection vector v and vᵀv (`None` for the identity).
    pub(super) fn vector(&self) -> Option<(&[f64], f64)> {
        self.v.as_deref().map(|v| (v, self.vv))
    }

    /// Applies the reflection to `row` in place.
    pub fn apply(&self, row: &mut [f64]) {
        if let Some(v) = &self.v {
            let dot: f64 = v.iter().zip(row.iter()).map(|(a, b)| a * b).sum();
            let scale = 2.0 * dot / self.vv;
            for (x, &vk) in row.iter_mut().zip(v) {
                *x -= scale * vk;
            }
        }
    }
}

/// Checks that `units` holds `n` finite rows of length `dim` with unit norm.
pub fn validate_units(units: &[f64], dim: usize) -> Result<(), EntropyError> {
    if let Some(index) = units.iter().position(|x| !x.is_finite()) {
        return Err(EntropyError::NonFinite {
            what: "units",
            index,
        });
    }
    for (row, u) in units.chunks_exact(dim).enumerate() {
        let norm = u.iter().map(|x| x * x).sum::<f64>().sqrt();
        if (norm - 1.0).abs() > UNIT_TOLERANCE {
            return Err(EntropyError::NotUnitVector { row, norm });
        }
    }
    Ok(())
}

/// Angles and log-Jacobian of one unit vector `u` (length d ≥ 2), which is first normalised.
///
/// Writes φ_1..φ_{d−1} into `angles` (length d − 1; φ_k ∈ [0, π] for k ≤ d − 2 and
/// φ_{d−1} ∈ [0, 2π)) and returns log J = ½ Σ_{j=2}^{d−1} ln(Σ_{k≥j} u_k²) with every partial
/// norm clipped at [`MIN_PARTIAL_NORM`] (SPEC §16.2: no trigonometry needed).
pub fn angles_and_log_jacobian(u: &mut [f64], angles: &mut [f64]) -> f64 {
    let d = u.len();
    let total: f64 = u.iter().map(|x| x * x).sum();
    let inv = 1.0 / total.sqrt();
    u.iter_mut().for_each(|x| *x *= inv);
    let min_sq = MIN_PARTIAL_NORM * MIN_PARTIAL_NORM;
    // Backward pass: tails[j] = Σ_{k≥j} u_k² in a per-thread scratch row, then the vectorised
    // angle pass φ_k = atan2(√tails[k+1], u_k) for k ≤ d − 3 (0-based).
    // Σ ln s_j as ln of products of LOG_BLOCK factors: each factor lies in [1e-16, 1 + 1e-15],
    // so a product of 8 stays above 1e-128 (no underflow), and one logarithm serves 8 terms.
    const LOG_BLOCK: u32 = 8;
    TAILS.with_borrow_mut(|tails| {
        tails.clear();
        tails.resize(d, 0.0);
        let mut acc = 0.0;
        for (t, x) in tails.iter_mut().zip(u.iter()).rev() {
            acc += x * x;
            *t = acc;
        }
        super::fast_atan::polar_angles(u, tails, &mut angles[..d - 2]);
        angles[d - 2] = super::fast_atan::azimuth(u[d - 1], u[d - 2], tails[d - 2].sqrt());
        let mut log_j = 0.0;
        let mut product = 1.0;
        let mut factors = 0;
        // 0-based j in 1..=d−2 is the 1-based index 2..=d−1.
        for &t in &tails[1..d - 1] {
            product *= t.max(min_sq);
            factors += 1;
            if factors == LOG_BLOCK {
                log_j += product.ln();
                product = 1.0;
                factors = 0;
            }
        }
        0.5 * (log_j + product.ln())
    })
}

/// Angles (N×(d−1), row-major) and the per-row log-Jacobians of the rows of `units` (N×d),
/// after applying `reflection`. Rows are processed in parallel on the current rayon pool.
pub fn angles_of_rows(units: &[f64], dim: usize, reflection: &Reflection) -> (Vec<f64>, Vec<f64>) {
    let n = units.len() / dim;
    let m = dim - 1;
    let mut angles = vec![0.0; n * m];
    let mut log_j = vec![0.0; n];
    if dim <= super::angles_small::MAX_DIM {
        super::angles_small::angles_of_rows(units, dim, reflection, &mut angles, &mut log_j);
        return (angles, log_j);
    }
    angles
        .par_chunks_mut(m)
        .zip(log_j.par_iter_mut())
        .zip(units.par_chunks(dim))
        .for_each_init(
            || vec![0.0; dim],
            |scratch, ((out, lj), row)| {
                scratch.copy_from_slice(row);
                reflection.apply(scratch);
                *lj = angles_and_log_jacobian(scratch, out);
            },
        );
    (angles, log_j)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inverse map of SPEC §6: w_k = Π_{j<k} sin φ_j cos φ_k, w_d = Π_{j≤d−2} sin φ_j sin φ_{d−1}.
    fn from_angles(phi: &[f64]) -> Vec<f64> {
        let d = phi.len() + 1;
        let mut w = vec![0.0; d];
        let mut s = 1.0;
        for k in 0..d - 1 {
            w[k] = s * phi[k].cos();
            s *= phi[k].sin();
        }
        w[d - 1] = s;
        w
    }

    #[test]
    fn angles_invert_and_jacobian_matches_trig_definition() {
        let d = 7;
        let phi = [0.3, 2.9, 1.2, 0.05, 1.9, 4.4];
        let mut u = from_angles(&phi);
        let mut back = vec![0.0; d - 1];
        let log_j = angles_and_log_jacobian(&mut u, &mut back);
        for (a, b) in phi.iter().zip(&back) {
            assert!((a - b).abs() < 1e-13, "{a} vs {b}");
        }
        // Definition: Σ_{k=1}^{d−2} (d−1−k) ln sin φ_k.
        let want: f64 = (1..=d - 2)
            .map(|k| (d - 1 - k) as f64 * phi[k - 1].sin().ln())
            .sum();
        assert!((log_j - want).abs() < 1e-12, "{log_j} vs {want}");
    }

    #[test]
    fn reflection_moves_mean_to_reference() {
        let dim = 4;
        let units = [0.6, 0.8, 0.0, 0.0, 0.0, 0.6, 0.8, 0.0];
        let refl = Reflection::to_reference_direction(&units, dim);
        let mut mean = [0.3, 0.7, 0.4, 0.0];
        let norm = mean.iter().map(|x: &f64| x * x).sum::<f64>().sqrt();
        mean.iter_mut().for_each(|x| *x /= norm);
        refl.apply(&mut mean);
        let want = [0.0, 0.0, -1.0, 0.0];
        for (a, b) in mean.iter().zip(want) {
            assert!((a - b).abs() < 1e-15);
        }
    }
}
