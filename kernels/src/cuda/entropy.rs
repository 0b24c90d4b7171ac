//! The entropy estimator ([`crate::entropy::estimate`]) with its nearest-neighbour search on a
//! CUDA device, for high-dimensional queues where that search dominates. Built from the estimator's public
//! steps (angles and log-Jacobians, then Kozachenko–Leonenko from the distances), so with the
//! device's distances equal to the CPU's the estimate is the CPU's, bit for bit.

use super::device::Device;
use super::nearest::nearest_neighbours_on;
use crate::entropy::{
    EntropyError, EntropyEstimate, EstimatorMode, angles_and_log_jacobians, kl_from_distances,
};
use crate::error::KernelError;

/// [`crate::entropy::estimate`] with the 1-NN distances of the angle vectors computed on `device`.
pub fn estimate_on(
    device: &dyn Device,
    units: &[f64],
    radii: &[f64],
    dim: usize,
    mode: EstimatorMode,
) -> Result<EntropyEstimate, KernelError> {
    estimate_with(units, radii, dim, mode, |phi, n, m| {
        nearest_neighbours_on(device, phi, n, m)
    })
}

/// The estimator with the distances of `nn(points, n, m)`.
fn estimate_with(
    units: &[f64],
    radii: &[f64],
    dim: usize,
    mode: EstimatorMode,
    nn: impl FnOnce(&[f64], usize, usize) -> Result<Vec<f64>, KernelError>,
) -> Result<EntropyEstimate, KernelError> {
    let n = radii.len();
    if n < 2 {
        return Err(EntropyError::TooFewSamples(n).into());
    }
    if let Some(index) = radii.iter().position(|r| !r.is_finite()) {
        return Err(EntropyError::NonFinite {
            what: "radii",
            index,
        }
        .into());
    }
    if let Some(index) = radii.iter().position(|&r| r <= 0.0) {
        return Err(EntropyError::NonPositiveRadius {
            index,
            value: radii[index],
        }
        .into());
    }
    if units.len() != n.saturating_mul(dim) {
        return Err(EntropyError::LengthMismatch {
            what: "units",
            got: units.len(),
            expected: n.saturating_mul(dim),
        }
        .into());
    }
    let (phi, log_j) = angles_and_log_jacobians(units, dim, mode)?;
    let eps = nn(&phi, n, dim - 1)?;
    let angle_entropy = kl_from_distances(&eps, dim - 1);
    Ok(crate::entropy::assemble(angle_entropy, &log_j, radii, dim))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::{estimate, nearest_neighbor_distances};

    /// With the CPU's distances the composition is the CPU estimator, bit for bit.
    #[test]
    fn composition_equals_the_cpu_estimator() {
        for (n, dim) in [(200, 3), (150, 20)] {
            let mut s = 5u64;
            let mut units = Vec::new();
            for _ in 0..n {
                let row: Vec<f64> = (0..dim)
                    .map(|_| {
                        s = crate::rng::seed::splitmix64(s);
                        (s >> 11) as f64 / (1u64 << 53) as f64 + 0.2
                    })
                    .collect();
                let norm = row.iter().map(|x| x * x).sum::<f64>().sqrt();
                units.extend(row.iter().map(|x| x / norm));
            }
            let radii = vec![1.5; n];
            for mode in [EstimatorMode::Reflected, EstimatorMode::Raw] {
                let want = estimate(&units, &radii, dim, mode).unwrap();
                let got = estimate_with(&units, &radii, dim, mode, |p, n, m| {
                    Ok(nearest_neighbor_distances(p, n, m)?)
                })
                .unwrap();
                assert_eq!(got, want);
            }
        }
    }
}
