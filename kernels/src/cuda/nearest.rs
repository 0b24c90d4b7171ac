//! Nearest-neighbour distances on a CUDA device for the entropy estimator, equal to the CPU engines'
//! ([`crate::entropy::nearest_neighbor_distances`]) bit for bit.
//!
//! The device screens in f32 (`nearest.cu`): pass 1 keeps each row's least upper bound
//! `min_j (d̃ + e)`, pass 2 lists every pair whose lower bound `d̃ − e` does not exceed it. The host
//! re-checks the listed pairs in f64 with the CPU's distance function on the original rows.
//!
//! The bound is `e = rel·(‖a‖² + ‖b‖²)`, ‖·‖ the norms of the centred f32 rows (summed in f64),
//! with `rel = 1.05·(4.02u + γ₁₆) + (m/16 + 8)·2⁻⁵²`, u = 2⁻²⁴, γ₁₆ = 16u/(1 − 16u). It covers:
//! rounding the centred rows to f32 (≤ u(‖a‖+‖b‖) on the distance, so ≤ 2.01u(‖a‖+‖b‖)² ≤
//! 4.02u(‖a‖²+‖b‖²) on its square), the f32 dot product within each chunk of 16 coordinates
//! (≤ γ₁₆ Σ|a_k b_k| ≤ γ₁₆‖a‖‖b‖, twice in the formula), and the f64 sum over chunks and the final
//! f64 combination (the last term). Because the f32 sums are only 16 long, the bound does not
//! grow with m in f32, and the screen stays sharp at m ≈ 10⁵ where distances concentrate.

use super::device::{Args, Buffer, Device, Shape};
use super::select::default_device;
use super::sources::KernelSource;
use crate::entropy::EntropyError;
use crate::entropy::neighbours::{dist2, nearest_sq_of_row};
use crate::error::KernelError;

/// Tile edge of nearest.cu (rows and columns per block).
const TILE: usize = 64;
/// Threads per block of nearest.cu.
const THREADS: u32 = 256;

/// Coordinates per f32 partial sum in nearest.cu (`NN_KC`).
pub const CHUNK: usize = 16;

/// The relative error factor of the screen for rows of length `m`.
pub fn error_factor(m: usize) -> f64 {
    let u = f64::powi(2.0, -24);
    let gamma = CHUNK as f64 * u / (1.0 - CHUNK as f64 * u);
    1.05 * (4.02 * u + gamma) + (m as f64 / CHUNK as f64 + 8.0) * f64::powi(2.0, -52)
}

/// Centres the rows (column means in f64), rounds them to f32 and returns them with their squared
/// norms (summed in f64 from the f32 values).
pub fn centre_to_f32(points: &[f64], n: usize, m: usize) -> (Vec<f32>, Vec<f64>) {
    let mut mean = vec![0.0f64; m];
    for row in points.chunks_exact(m) {
        for (s, x) in mean.iter_mut().zip(row) {
            *s += x;
        }
    }
    mean.iter_mut().for_each(|s| *s /= n as f64);
    let mut x = Vec::with_capacity(n * m);
    let mut norms = Vec::with_capacity(n);
    for row in points.chunks_exact(m) {
        let mut s = 0.0f64;
        for (v, mu) in row.iter().zip(&mean) {
            let c = (v - mu) as f32;
            s += f64::from(c) * f64::from(c);
            x.push(c);
        }
        norms.push(s);
    }
    (x, norms)
}

/// Distances from the screened pairs `(i, j)`: each row's minimum f64 distance over its listed
/// partners; a row with none (which the bound rules out) falls back to brute force.
pub fn recheck(points: &[f64], n: usize, m: usize, pairs: &[u32]) -> Vec<f64> {
    let mut best = vec![f64::INFINITY; n];
    for p in pairs.chunks_exact(2) {
        let (i, j) = (p[0] as usize, p[1] as usize);
        let d = dist2(&points[i * m..(i + 1) * m], &points[j * m..(j + 1) * m]);
        best[i] = best[i].min(d);
    }
    best.iter_mut().enumerate().for_each(|(i, d)| {
        if d.is_infinite() {
            tracing::warn!(row = i, "no screened candidate; brute force");
            *d = nearest_sq_of_row(points, n, m, i);
        }
    });
    best.into_iter().map(f64::sqrt).collect()
}

fn validate(points: &[f64], n: usize, m: usize) -> Result<(), EntropyError> {
    if m < 1 {
        return Err(EntropyError::DimensionTooSmall { got: m, min: 1 });
    }
    if n < 2 {
        return Err(EntropyError::TooFewSamples(n));
    }
    let expected = n.checked_mul(m).ok_or(EntropyError::SizeOverflow)?;
    if points.len() != expected || u32::try_from(n).is_err() || i32::try_from(m).is_err() {
        return Err(EntropyError::LengthMismatch {
            what: "points",
            got: points.len(),
            expected,
        });
    }
    if let Some(index) = points.iter().position(|x| !x.is_finite()) {
        return Err(EntropyError::NonFinite {
            what: "points",
            index,
        });
    }
    Ok(())
}

/// Exact nearest-neighbour distance of each of the `n` rows (length `m`) on the process-wide
/// CUDA device ([`default_device`]).
pub fn nearest_neighbours_cuda(
    points: &[f64],
    n: usize,
    m: usize,
) -> Result<Vec<f64>, KernelError> {
    validate(points, n, m)?;
    nearest_neighbours_on(default_device()?, points, n, m)
}

/// The launch shape of both passes for `n` rows: one block per 64×64 tile of the distance matrix.
pub fn tile_shape(n: usize) -> Shape {
    let tiles = n.div_ceil(TILE) as u32;
    Shape {
        grid: (tiles, tiles, 1),
        block: (THREADS, 1, 1),
        shared_bytes: 0,
    }
}

/// Pass 1 (`nn_upper`): each row's least upper bound `min_j (d̃ + e)` over the other rows, as f32
/// rounded up, for centred f32 rows `x` with squared norms `norms`.
pub fn upper_bounds_on(
    device: &dyn Device,
    x: &Buffer<f32>,
    norms: &Buffer<f64>,
    n: usize,
    m: usize,
) -> Result<Buffer<u32>, KernelError> {
    let upper = device.upload(&vec![f32::INFINITY.to_bits(); n])?;
    let (n_i, m_i, rel) = (n as i32, m as i32, error_factor(m));
    let args = Args::new()
        .buf(x)
        .buf(norms)
        .val(&n_i)
        .val(&m_i)
        .val(&rel)
        .buf(&upper);
    // SAFETY: matches nn_upper's signature; `x` holds n·m values, `norms` and `upper` n.
    unsafe { device.launch(KernelSource::Nearest, "nn_upper", tile_shape(n), args) }?;
    Ok(upper)
}

/// Pass 2 (`nn_candidates`): every pair `(i, j)` whose lower bound `d̃ − e` does not exceed row
/// i's upper bound, flattened, in the order the device listed them.
pub fn candidates_on(
    device: &dyn Device,
    x: &Buffer<f32>,
    norms: &Buffer<f64>,
    upper: &Buffer<u32>,
    n: usize,
    m: usize,
) -> Result<Vec<u32>, KernelError> {
    let (n_i, m_i, rel) = (n as i32, m as i32, error_factor(m));
    // Typical screens keep a handful of pairs per row; a larger count is retried at its size.
    let mut capacity = (16 * n) as u32;
    loop {
        let count = device.zeros::<u32>(1)?;
        let pairs = device.zeros::<u32>(2 * capacity as usize)?;
        let args = Args::new()
            .buf(x)
            .buf(norms)
            .val(&n_i)
            .val(&m_i)
            .val(&rel)
            .buf(upper)
            .buf(&count)
            .val(&capacity)
            .buf(&pairs);
        // SAFETY: matches nn_candidates' signature; `pairs` holds `capacity` pairs.
        unsafe { device.launch(KernelSource::Nearest, "nn_candidates", tile_shape(n), args) }?;
        let listed = device.download_all(&count)?[0];
        if listed <= capacity {
            return Ok(device.download(&pairs, 0..2 * listed as usize)?);
        }
        tracing::debug!(listed, capacity, "candidate buffer too small; retrying");
        capacity = listed;
    }
}

/// [`nearest_neighbours_cuda`] on an explicit device.
pub fn nearest_neighbours_on(
    device: &dyn Device,
    points: &[f64],
    n: usize,
    m: usize,
) -> Result<Vec<f64>, KernelError> {
    validate(points, n, m)?;
    let (x, norms) = centre_to_f32(points, n, m);
    let x = device.upload(&x)?;
    let norms = device.upload(&norms)?;
    let upper = upper_bounds_on(device, &x, &norms, n, m)?;
    let pairs = candidates_on(device, &x, &norms, &upper, n, m)?;
    Ok(recheck(points, n, m, &pairs))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two kernel passes, emulated on the CPU with the same f32 and f64 operations.
    fn screen_like_the_kernel(x: &[f32], norms: &[f64], n: usize, m: usize) -> Vec<u32> {
        let rel = error_factor(m);
        let approx = |i: usize, j: usize| {
            let mut dot = 0.0f64;
            for k0 in (0..m).step_by(CHUNK) {
                let mut part = 0.0f32;
                for k in k0..(k0 + CHUNK).min(m) {
                    part = x[i * m + k].mul_add(x[j * m + k], part);
                }
                dot += f64::from(part);
            }
            let d = norms[i] + norms[j] - 2.0 * dot;
            (d, rel * (norms[i] + norms[j]))
        };
        let mut pairs = Vec::new();
        for i in 0..n {
            let mut upper = f64::INFINITY;
            for j in (0..n).filter(|&j| j != i) {
                let (d, e) = approx(i, j);
                upper = upper.min((d + e).max(0.0));
            }
            let upper = f64::from(upper as f32).max(upper); // rounded up, as __double2float_ru
            for j in (0..n).filter(|&j| j != i) {
                let (d, e) = approx(i, j);
                if d - e <= upper {
                    pairs.extend([i as u32, j as u32]);
                }
            }
        }
        pairs
    }

    fn brute(points: &[f64], n: usize, m: usize) -> Vec<f64> {
        (0..n)
            .map(|i| nearest_sq_of_row(points, n, m, i).sqrt())
            .collect()
    }

    #[test]
    fn screen_and_recheck_equal_brute_force_under_cancellation() {
        // Rows far from the origin and close to each other: ‖a‖²+‖b‖²−2a·b cancels badly.
        let (n, m) = (40, 33);
        let mut state = 0x1234_5678_u64;
        let mut next = || {
            state = crate::rng::seed::splitmix64(state);
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let base: Vec<f64> = (0..m).map(|_| 1e3 + next()).collect();
        let mut points = Vec::new();
        for i in 0..n {
            for b in &base {
                points.push(b + 1e-4 * next() + if i == 7 { 1e-9 } else { 0.0 });
            }
        }
        // A duplicate row and a near-duplicate.
        let row3: Vec<f64> = points[3 * m..4 * m].to_vec();
        points[5 * m..6 * m].copy_from_slice(&row3);
        let (x, norms) = centre_to_f32(&points, n, m);
        let pairs = screen_like_the_kernel(&x, &norms, n, m);
        let got = recheck(&points, n, m, &pairs);
        let want = brute(&points, n, m);
        for i in 0..n {
            assert_eq!(got[i].to_bits(), want[i].to_bits(), "row {i}");
        }
        assert_eq!(got[3], 0.0);
        // The screen actually screens: far fewer pairs than n(n−1).
        assert!(
            pairs.len() / 2 < n * (n - 1) / 2,
            "{} pairs",
            pairs.len() / 2
        );
    }

    #[test]
    fn rows_without_candidates_fall_back() {
        let points = [0.0, 0.0, 3.0, 4.0, 6.0, 8.0];
        let got = recheck(&points, 3, 2, &[0, 1]);
        assert_eq!(got, vec![5.0, 5.0, 5.0]);
    }

    #[test]
    fn centring_keeps_differences() {
        let (x, norms) = centre_to_f32(&[1.0, 2.0, 3.0, 6.0], 2, 2);
        assert_eq!(x, vec![-1.0, -2.0, 1.0, 2.0]);
        assert_eq!(norms, vec![5.0, 5.0]);
    }

    #[test]
    fn the_screen_stays_sharp_when_distances_concentrate() {
        // Uniform data in m = 4000: squared distances ≈ 667 ± 12, all alike; the bound (≈ 1e-3
        // here) keeps a few pairs per row.
        let (n, m) = (60, 4000);
        let mut state = 7u64;
        let points: Vec<f64> = (0..n * m)
            .map(|_| {
                state = crate::rng::seed::splitmix64(state);
                (state >> 11) as f64 / (1u64 << 53) as f64
            })
            .collect();
        let (x, norms) = centre_to_f32(&points, n, m);
        let pairs = screen_like_the_kernel(&x, &norms, n, m);
        let got = recheck(&points, n, m, &pairs);
        let want = brute(&points, n, m);
        assert!(
            got.iter()
                .zip(&want)
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
        assert!(pairs.len() / 2 <= 2 * n, "{} pairs kept", pairs.len() / 2);
        // At the estimator's shape (m = 97 200, squared distances ≈ 16 200 ± 61 for uniform
        // data) the bound is ≈ 0.02; an f32 sum over all m would give ≈ 190 and keep most pairs.
        let e = error_factor(97_200) * 2.0 * 97_200.0 / 12.0;
        assert!(e < 0.05, "bound {e}");
    }
}
