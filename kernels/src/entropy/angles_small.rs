//! The angle transform for low dimension (d ≤ [`MAX_DIM`]), eight rows at a time.
//!
//! At d = 3 (the paper's isotropic model) a row has two angles, so the per-row path of
//! [`super::angles`] spends its time on call overhead; here rows are the vector lanes. Every
//! operation is the per-row path's, in the same order, so the results are bit for bit the same
//! (a test checks this).

#![allow(clippy::needless_range_loop)] // lane loops index several arrays in lockstep

use rayon::prelude::*;

use super::angles::{MIN_PARTIAL_NORM, Reflection};
use super::fast_atan::{azimuth, polar_angle};

/// Largest dimension served here (the log-Jacobian product then has at most 7 factors ≥ 1e-16,
/// so it needs no intermediate logarithm, as in the per-row path).
pub const MAX_DIM: usize = 8;

/// Rows per lane group.
const ROWS: usize = 8;

/// Angles (N×(d−1)) and log-Jacobians (N) of the rows of `units` (N×d, d ≤ [`MAX_DIM`]) after
/// `reflection`, into `angles` and `log_j`.
pub fn angles_of_rows(
    units: &[f64],
    dim: usize,
    reflection: &Reflection,
    angles: &mut [f64],
    log_j: &mut [f64],
) {
    let m = dim - 1;
    units
        .par_chunks(dim * ROWS)
        .zip(angles.par_chunks_mut(m * ROWS))
        .zip(log_j.par_chunks_mut(ROWS))
        .with_min_len(8)
        .for_each(|((u, a), l)| dispatch(u, dim, reflection.vector(), a, l));
}

fn dispatch(
    units: &[f64],
    dim: usize,
    v: Option<(&[f64], f64)>,
    angles: &mut [f64],
    log_j: &mut [f64],
) {
    #[cfg(target_arch = "x86_64")]
    if super::neighbours::avx512_available() {
        // SAFETY: AVX-512F was detected at run time.
        unsafe { group_avx512(units, dim, v, angles, log_j) };
        return;
    }
    group(units, dim, v, angles, log_j);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn group_avx512(
    units: &[f64],
    dim: usize,
    v: Option<(&[f64], f64)>,
    angles: &mut [f64],
    log_j: &mut [f64],
) {
    group(units, dim, v, angles, log_j);
}

/// Up to [`ROWS`] rows: coordinate-major lanes, then the per-row formulas lane by lane.
#[inline(always)]
fn group(
    units: &[f64],
    dim: usize,
    v: Option<(&[f64], f64)>,
    angles: &mut [f64],
    log_j: &mut [f64],
) {
    let rows = log_j.len();
    let m = dim - 1;
    let mut u = [[0.0f64; ROWS]; MAX_DIM];
    for r in 0..rows {
        for k in 0..dim {
            u[k][r] = units[r * dim + k];
        }
    }
    if let Some((v, vv)) = v {
        let mut dot = [0.0f64; ROWS];
        for k in 0..dim {
            for r in 0..ROWS {
                dot[r] += v[k] * u[k][r];
            }
        }
        for r in 0..ROWS {
            dot[r] = 2.0 * dot[r] / vv;
        }
        for k in 0..dim {
            for r in 0..ROWS {
                u[k][r] -= dot[r] * v[k];
            }
        }
    }
    let mut total = [0.0f64; ROWS];
    for k in 0..dim {
        for r in 0..ROWS {
            total[r] += u[k][r] * u[k][r];
        }
    }
    for r in 0..ROWS {
        total[r] = 1.0 / total[r].sqrt();
    }
    for k in 0..dim {
        for r in 0..ROWS {
            u[k][r] *= total[r];
        }
    }
    let mut tails = [[0.0f64; ROWS]; MAX_DIM];
    let mut acc = [0.0f64; ROWS];
    for k in (0..dim).rev() {
        for r in 0..ROWS {
            acc[r] += u[k][r] * u[k][r];
        }
        tails[k] = acc;
    }
    let mut phi = [[0.0f64; ROWS]; MAX_DIM];
    for k in 0..dim - 2 {
        for r in 0..ROWS {
            phi[k][r] = polar_angle(tails[k + 1][r].sqrt(), u[k][r], tails[k][r].sqrt());
        }
    }
    for r in 0..ROWS {
        phi[m - 1][r] = azimuth(u[dim - 1][r], u[dim - 2][r], tails[dim - 2][r].sqrt());
    }
    let min_sq = MIN_PARTIAL_NORM * MIN_PARTIAL_NORM;
    let mut product = [1.0f64; ROWS];
    for tail in &tails[1..dim - 1] {
        for r in 0..ROWS {
            product[r] *= tail[r].max(min_sq);
        }
    }
    for r in 0..rows {
        for k in 0..m {
            angles[r * m + k] = phi[k][r];
        }
        log_j[r] = 0.5 * (0.0 + product[r].ln());
    }
}

#[cfg(test)]
mod tests {
    use super::super::angles::{Reflection, angles_and_log_jacobian};

    /// The lane path equals the per-row path bit for bit, reflected or not, for every d it
    /// serves and row counts that are not multiples of the lane group.
    #[test]
    fn lanes_equal_the_per_row_path() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        for dim in 2..=super::MAX_DIM {
            for n in [1usize, 7, 8, 9, 37] {
                let mut units = Vec::new();
                for _ in 0..n {
                    let row: Vec<f64> = (0..dim)
                        .map(|k| next() + if k == 0 { 0.7 } else { 0.0 })
                        .collect();
                    let norm = row.iter().map(|a| a * a).sum::<f64>().sqrt();
                    units.extend(row.iter().map(|a| a / norm));
                }
                for reflection in [
                    Reflection::identity(),
                    Reflection::to_reference_direction(&units, dim),
                ] {
                    let m = dim - 1;
                    let (mut angles, mut log_j) = (vec![0.0; n * m], vec![0.0; n]);
                    super::angles_of_rows(&units, dim, &reflection, &mut angles, &mut log_j);
                    for r in 0..n {
                        let mut row = units[r * dim..(r + 1) * dim].to_vec();
                        reflection.apply(&mut row);
                        let mut want = vec![0.0; m];
                        let lj = angles_and_log_jacobian(&mut row, &mut want);
                        assert_eq!(
                            lj.to_bits(),
                            log_j[r].to_bits(),
                            "d {dim} n {n} row {r} log J"
                        );
                        for k in 0..m {
                            assert_eq!(
                                want[k].to_bits(),
                                angles[r * m + k].to_bits(),
                                "d {dim} row {r} angle {k}"
                            );
                        }
                    }
                }
            }
        }
    }
}
