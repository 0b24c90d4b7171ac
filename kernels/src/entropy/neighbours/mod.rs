//! Exact Euclidean 1-nearest-neighbour distances of every row of an N×m sample to the other rows.
//!
//! Engines:
//! * [`NnEngine::KdTree`]: an exact k-d tree (median splits on the widest axis), for low m.
//! * [`NnEngine::Blocked`]: a blocked float32 ‖a‖² + ‖b‖² − 2a·b product over the centred sample
//!   (symmetric: only tiles i ≤ j), with a per-row candidate list kept under a rigorous float32
//!   error bound and an exact float64 recheck of every surviving candidate (SPEC §16.9).
//! * [`NnEngine::BruteForce`]: the float64 reference, O(N²m).
//!
//! All engines return bit-identical distances: every final distance is computed by the same
//! float64 function ([`dist2`]) on the original rows.

mod blocked;
mod candidates;
mod kdtree;
#[cfg(target_arch = "x86_64")]
mod kernel_avx512;
mod kernel_portable;

use rayon::prelude::*;

use super::EntropyError;

/// Largest m served by the k-d tree under [`NnEngine::Auto`]; larger m use the blocked engine.
/// Measured on uniform data (2 cores, N = 1000 and 4000): the tree wins below m ≈ 8, the blocked
/// engine from m ≈ 9 on (at m = 12 it is 3× faster).
pub const KD_TREE_MAX_DIM: usize = 8;

/// Which nearest-neighbour engine to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NnEngine {
    /// The k-d tree for m ≤ [`KD_TREE_MAX_DIM`], else the blocked engine with the best SIMD path.
    #[default]
    Auto,
    /// Exact k-d tree.
    KdTree,
    /// Blocked float32 product with exact float64 recheck, on the given SIMD path.
    Blocked(Simd),
    /// Float64 brute force (reference).
    BruteForce,
}

/// The instruction-set path of the blocked engine's matrix-product micro-kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Simd {
    /// AVX-512 when the CPU has it (checked at run time), else portable.
    #[default]
    Auto,
    /// The AVX-512F micro-kernel; [`EntropyError::SimdUnavailable`] on CPUs without it.
    Avx512,
    /// Plain Rust, any CPU.
    Portable,
}

/// Whether the running CPU supports the AVX-512 micro-kernel.
pub fn avx512_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Exact Euclidean distance of each row of `points` (N = `n` rows of length `m`, row-major) to
/// its nearest other row, with the engine chosen by m ([`NnEngine::Auto`]).
///
/// Duplicate rows give distance 0. Runs on the caller's current rayon pool.
pub fn nearest_neighbor_distances(
    points: &[f64],
    n: usize,
    m: usize,
) -> Result<Vec<f64>, EntropyError> {
    nearest_neighbor_distances_with(points, n, m, NnEngine::Auto)
}

/// [`nearest_neighbor_distances`] with an explicit engine.
pub fn nearest_neighbor_distances_with(
    points: &[f64],
    n: usize,
    m: usize,
    engine: NnEngine,
) -> Result<Vec<f64>, EntropyError> {
    match engine {
        NnEngine::Blocked(simd) => blocked_checked(points, n, m, simd),
        NnEngine::Auto if m > KD_TREE_MAX_DIM => blocked_checked(points, n, m, Simd::Auto),
        NnEngine::Auto | NnEngine::KdTree => {
            validate_points(points, n, m)?;
            Ok(finish(kdtree::nearest_sq(points, n, m)))
        }
        NnEngine::BruteForce => {
            validate_points(points, n, m)?;
            Ok(finish(brute_force_sq(points, n, m)))
        }
    }
}

/// The blocked engine, which checks finiteness during its packing pass (one read of the input
/// instead of two); errors are reported exactly as [`validate_points`] reports them.
fn blocked_checked(
    points: &[f64],
    n: usize,
    m: usize,
    simd: Simd,
) -> Result<Vec<f64>, EntropyError> {
    validate_shape(points, n, m)?;
    let kernel = match resolve(simd) {
        Ok(k) => k,
        Err(e) => {
            validate_points(points, n, m)?;
            return Err(e);
        }
    };
    match blocked::nearest_sq(points, n, m, kernel) {
        Some(d2) => Ok(finish(d2)),
        None => {
            // The packing pass met a NaN or an infinity: report the first one.
            validate_points(points, n, m)?;
            Err(EntropyError::NonFinite {
                what: "points",
                index: 0,
            })
        }
    }
}

/// Squared distances to distances.
fn finish(d2: Vec<f64>) -> Vec<f64> {
    d2.into_iter().map(f64::sqrt).collect()
}

/// The micro-kernel actually used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kernel {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    Portable,
}

fn resolve(simd: Simd) -> Result<Kernel, EntropyError> {
    match simd {
        Simd::Portable => Ok(Kernel::Portable),
        #[cfg(target_arch = "x86_64")]
        Simd::Auto if avx512_available() => Ok(Kernel::Avx512),
        Simd::Auto => Ok(Kernel::Portable),
        #[cfg(target_arch = "x86_64")]
        Simd::Avx512 if avx512_available() => Ok(Kernel::Avx512),
        Simd::Avx512 => Err(EntropyError::SimdUnavailable("avx512f")),
    }
}

/// Checks the shape of `points` (not its values).
fn validate_shape(points: &[f64], n: usize, m: usize) -> Result<(), EntropyError> {
    if m < 1 {
        return Err(EntropyError::DimensionTooSmall { got: m, min: 1 });
    }
    if n < 2 {
        return Err(EntropyError::TooFewSamples(n));
    }
    let expected = n.checked_mul(m).ok_or(EntropyError::SizeOverflow)?;
    if u32::try_from(n).is_err() {
        return Err(EntropyError::SizeOverflow);
    }
    if points.len() != expected {
        return Err(EntropyError::LengthMismatch {
            what: "points",
            got: points.len(),
            expected,
        });
    }
    Ok(())
}

/// Checks the shape and finiteness of `points`.
fn validate_points(points: &[f64], n: usize, m: usize) -> Result<(), EntropyError> {
    validate_shape(points, n, m)?;
    let finite = points
        .par_chunks(1 << 16)
        .all(|c| c.iter().fold(true, |ok, x| ok & x.is_finite()));
    if !finite {
        let index = points.iter().position(|x| !x.is_finite()).unwrap_or(0);
        return Err(EntropyError::NonFinite {
            what: "points",
            index,
        });
    }
    Ok(())
}

/// Squared Euclidean distance in float64 with a fixed summation order (8 lane accumulators, then
/// the tail, then a fixed pairwise reduction). Every engine uses it for its final answer, so the
/// engines agree bit for bit. Each partial sum is monotone in every term, which makes the k-d
/// tree's pruning test exact.
#[inline(always)]
pub(crate) fn dist2(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0_f64; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ta, tb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for ((s, p), q) in acc.iter_mut().zip(x).zip(y) {
            let d = p - q;
            *s += d * d;
        }
    }
    for ((s, p), q) in acc.iter_mut().zip(ta).zip(tb) {
        let d = p - q;
        *s += d * d;
    }
    ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))
}

/// Squared nearest-neighbour distances by float64 brute force.
fn brute_force_sq(points: &[f64], n: usize, m: usize) -> Vec<f64> {
    (0..n)
        .into_par_iter()
        .map(|i| nearest_sq_of_row(points, n, m, i))
        .collect()
}

/// Squared distance from row `i` to its nearest other row, by brute force.
pub(crate) fn nearest_sq_of_row(points: &[f64], n: usize, m: usize, i: usize) -> f64 {
    let a = &points[i * m..(i + 1) * m];
    (0..n)
        .filter(|&j| j != i)
        .map(|j| dist2(a, &points[j * m..(j + 1) * m]))
        .fold(f64::INFINITY, f64::min)
}
