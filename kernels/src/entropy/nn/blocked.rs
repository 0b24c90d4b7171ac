//! Blocked float32 nearest-neighbour engine with an exact float64 recheck (SPEC §16.9).
//!
//! 1. Centre the sample on the mean of a row subsample (distances are translation-invariant),
//!    scale it by a power of two (exact) so that max |x| < 1, round to float32 and pack it in groups of [`MR`] rows, k-major
//!    (`packed[g][k][r]`), 64-byte aligned; keep the float64 norms ñ_i = ‖x̃_i‖² of the packed rows.
//! 2. Over tiles of row blocks I ≤ J (symmetric: the product is computed once per pair), and over
//!    k-blocks of [`KC`], a register-blocked micro-kernel adds the 48×8 float32 products into a
//!    tile buffer; then every entry gives d̃_ij = ñ_i + ñ_j − 2·g̃_ij, offered to both rows.
//! 3. Error bound. Each entry is a sequential float32 sum over at most KC terms inside a block,
//!    then nb = ⌈K/KC⌉ block sums added in order, so |g̃ − x̃_i·x̃_j| ≤ γ_{KC+nb}·|x̃_i|·|x̃_j|
//!    ≤ γ_{KC+nb}·(ñ_i + ñ_j)/2 (Higham, γ_n = nu/(1 − nu), u = 2⁻²⁴). Rounding the centred rows to
//!    float32 moves ‖x_i − x_j‖² by at most (4u + 2u²)(n_i + n_j). Hence
//!    |d̃_ij − ‖x_i − x_j‖²| ≤ e_ij = 1.25·(KC + nb + 8)·u·(ñ_i + ñ_j) + e_abs, where 1.25 covers
//!    the γ denominators, ñ vs n and the float64 rounding of every other step (all ≤ 1e-11
//!    relative), and e_abs covers float32 underflow. The row's candidate list (see
//!    `candidates`) then provably contains its nearest neighbour, or the row is flagged.
//! 4. Every surviving candidate is rechecked exactly with [`dist2`] on the original float64 rows
//!    (flagged rows get a full float64 search), so the result equals the brute-force one bit for
//!    bit, however strongly the float32 product cancels.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use rayon::prelude::*;

use super::candidates::RowCandidates;
use super::kernel_portable::{MR, NR};
use super::{Kernel, dist2, nearest_sq_of_row};

/// Depth of one k-block: the A group slice (KC·MR floats, 24 KiB) and a B sliver stay in L1.
const KC: usize = 128;
/// Largest number of row groups per tile side (384 rows).
const MAX_GROUPS_PER_BLOCK: usize = 8;
/// Unit roundoff of float32.
const U32: f64 = 5.960_464_477_539_063e-8;

/// The centred, scaled, float32 sample in packed groups.
struct Packed {
    data: Vec<f32>,
    offset: usize,
    k: usize,
    groups: usize,
    norms: Vec<f64>,
}

impl Packed {
    fn new(points: &[f64], n: usize, m: usize, max_abs: f64) -> Self {
        let centre = subsample_mean(points, n, m);
        // |x − centre| ≤ 2·max |x|; a power-of-two scale (exact) keeps the centred values in
        // (−1, 1), so float32 can neither overflow nor lose the top of the range.
        let scale = if max_abs > 0.0 {
            let e = ((2.0 * max_abs).log2().floor() as i32 + 1).clamp(-1000, 1000);
            2.0_f64.powi(-e)
        } else {
            1.0
        };
        let groups = n.div_ceil(MR);
        let group_len = m * MR;
        let mut data = vec![0.0_f32; groups * group_len + 16];
        let offset = (64 - data.as_ptr() as usize % 64) % 64 / 4;
        let mut norms = vec![0.0; groups * MR];
        data[offset..offset + groups * group_len]
            .par_chunks_mut(group_len)
            .zip(norms.par_chunks_mut(MR))
            .enumerate()
            .for_each(|(g, (dst, nrm))| {
                pack_group(points, m, &centre, scale, g, rows_of(n, g), dst, nrm)
            });
        Self {
            data,
            offset,
            k: m,
            groups,
            norms,
        }
    }

    /// Group `g`, k-major: `[k][r]`.
    fn group(&self, g: usize) -> &[f32] {
        let len = self.k * MR;
        &self.data[self.offset + g * len..self.offset + (g + 1) * len]
    }
}

/// Number of real rows in group `g`.
fn rows_of(n: usize, g: usize) -> usize {
    (n - g * MR).min(MR)
}

/// Packs group `g` (k-major, `dst[k·MR + r]`) from the original rows, centring and scaling, and
/// accumulates the float64 norms of the packed rows into `nrm`.
#[allow(clippy::too_many_arguments)]
fn pack_group(
    points: &[f64],
    m: usize,
    mean: &[f64],
    scale: f64,
    g: usize,
    rows: usize,
    dst: &mut [f32],
    nrm: &mut [f64],
) {
    // Transpose through a small L1 buffer of PACK_K × MR floats, then copy it out contiguously.
    // Long contiguous reads per row (512 B) keep the hardware prefetchers effective.
    const PACK_K: usize = 64;
    let mut buf = [0.0_f32; PACK_K * MR];
    for k0 in (0..m).step_by(PACK_K) {
        let kk = PACK_K.min(m - k0);
        for r in 0..rows {
            let src = &points[(g * MR + r) * m + k0..][..kk];
            for ((k, &x), &c) in src.iter().enumerate().zip(&mean[k0..k0 + kk]) {
                buf[k * MR + r] = ((x - c) * scale) as f32;
            }
        }
        // Norms lane-wise over the MR rows (vectorises; padding rows stay 0).
        for col in buf.chunks_exact(MR).take(kk) {
            for (acc, &v) in nrm.iter_mut().zip(col) {
                *acc += f64::from(v) * f64::from(v);
            }
        }
        dst[k0 * MR..(k0 + kk) * MR].copy_from_slice(&buf[..kk * MR]);
    }
}

/// Rows averaged for the centre.
const CENTRE_ROWS: usize = 64;

/// The mean of at most [`CENTRE_ROWS`] evenly spaced rows. Any centre gives exact results (the
/// error bound uses the norms of the centred rows); this one removes the common offset, which
/// is what matters against cancellation, at a fraction of the cost of a full pass.
fn subsample_mean(points: &[f64], n: usize, m: usize) -> Vec<f64> {
    let take = n.min(CENTRE_ROWS);
    let mut c = vec![0.0; m];
    for t in 0..take {
        let i = t * n / take;
        c.iter_mut()
            .zip(&points[i * m..(i + 1) * m])
            .for_each(|(a, x)| *a += x);
    }
    let inv = 1.0 / take as f64;
    c.iter_mut().for_each(|a| *a *= inv);
    c
}

/// One rayon task's state: its candidate lists and tile buffer.
struct Worker<'a> {
    packed: &'a Packed,
    n: usize,
    groups_per_block: usize,
    kernel: Kernel,
    err_rel: f64,
    err_abs: f64,
    tile: Vec<f32>,
    cands: Vec<RowCandidates>,
}

impl Worker<'_> {
    fn micro(&self, a: &[f32], b: &[f32], kc: usize, c: &mut [f32], accumulate: bool) {
        match self.kernel {
            // SAFETY: `Kernel::Avx512` is only chosen after run-time detection of AVX-512F.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => unsafe { super::kernel_avx512::micro(a, b, kc, c, accumulate) },
            Kernel::Portable => super::kernel_portable::micro(a, b, kc, c, accumulate),
        }
    }

    /// Computes tile (bi, bj), bi ≤ bj, and offers its entries to both rows.
    fn run_pair(&mut self, bi: usize, bj: usize) {
        let p = self.packed;
        let gpb = self.groups_per_block;
        let (gi0, gj0) = (bi * gpb, bj * gpb);
        let ni = (gi0 + gpb).min(p.groups) - gi0;
        let nj = (gj0 + gpb).min(p.groups) - gj0;
        let per_group = MR / NR;
        let slivers = nj * per_group;
        let diag = bi == bj;
        let mut tile = std::mem::take(&mut self.tile);
        tile.resize(ni * slivers * MR * NR, 0.0);
        // Micro-tile (ig, js) is needed unless every row index ≥ every column index.
        let needed = |ig: usize, js: usize| {
            let row0 = (gi0 + ig) * MR;
            let col0 = (gj0 + js / per_group) * MR + (js % per_group) * NR;
            (!diag || row0 < col0 + NR - 1, row0, col0)
        };
        for k0 in (0..p.k).step_by(KC) {
            let kc = KC.min(p.k - k0);
            for ig in 0..ni {
                let a = &p.group(gi0 + ig)[k0 * MR..(k0 + kc) * MR];
                for js in 0..slivers {
                    if !needed(ig, js).0 {
                        continue;
                    }
                    let off = (js % per_group) * NR;
                    let b = &p.group(gj0 + js / per_group)[k0 * MR + off..];
                    let c = &mut tile[(js * ni + ig) * MR * NR..][..MR * NR];
                    self.micro(a, b, kc, c, k0 > 0);
                }
            }
        }
        for ig in 0..ni {
            for js in 0..slivers {
                let (need, row0, col0) = needed(ig, js);
                if need {
                    let c = &tile[(js * ni + ig) * MR * NR..][..MR * NR];
                    self.offer_micro_tile(c, row0, col0, diag);
                }
            }
        }
        self.tile = tile;
    }

    fn offer_micro_tile(&mut self, c: &[f32], row0: usize, col0: usize, diag: bool) {
        let n = self.n;
        let norms = &self.packed.norms;
        for (col, cc) in c.chunks_exact(MR).enumerate() {
            let j = col0 + col;
            if j >= n {
                break;
            }
            let nj = norms[j];
            for (r, &g) in cc.iter().enumerate() {
                let i = row0 + r;
                if i >= n || (diag && i >= j) {
                    break;
                }
                let sum = norms[i] + nj;
                let approx = sum - 2.0 * f64::from(g);
                let err = self.err_rel * sum + self.err_abs;
                // n < 2³² is checked by the caller.
                self.cands[i].offer(j as u32, approx, err);
                self.cands[j].offer(i as u32, approx, err);
            }
        }
    }
}

/// Squared 1-NN distances of the `n` rows of `points` (n·m, finite, n ≥ 2, m ≥ 1), whose
/// largest absolute value is `max_abs`.
pub(super) fn nearest_sq(
    points: &[f64],
    n: usize,
    m: usize,
    max_abs: f64,
    kernel: Kernel,
) -> Vec<f64> {
    let start = Instant::now();
    let packed = Packed::new(points, n, m, max_abs);
    let packed_at = start.elapsed();
    let threads = rayon::current_num_threads().max(1);
    // Smaller tiles when there are too few pairs to keep every thread busy.
    let mut gpb = MAX_GROUPS_PER_BLOCK;
    let pairs_for = |gpb: usize| {
        let b = packed.groups.div_ceil(gpb);
        b * (b + 1) / 2
    };
    while gpb > 2 && pairs_for(gpb) < 6 * threads {
        gpb -= 2;
    }
    let blocks = packed.groups.div_ceil(gpb);
    let pairs: Vec<(usize, usize)> = (0..blocks)
        .flat_map(|bi| (bi..blocks).map(move |bj| (bi, bj)))
        .collect();
    let nb = m.div_ceil(KC) as f64;
    let err_rel = 1.25 * (KC as f64 + nb + 8.0) * U32;
    // Float32 underflow: at most 2⁻¹⁴⁹ per product and per rounded input, with max |x| < 1.
    let err_abs = (m as f64 + 16.0) * 2.0_f64.powi(-140);
    let cands = pairs
        .par_iter()
        .with_max_len(1)
        .fold(
            || Worker {
                packed: &packed,
                n,
                groups_per_block: gpb,
                kernel,
                err_rel,
                err_abs,
                tile: Vec::new(),
                cands: vec![RowCandidates::default(); n],
            },
            |mut w, &(bi, bj)| {
                w.run_pair(bi, bj);
                w
            },
        )
        .map(|w| w.cands)
        .reduce_with(|mut a, b| {
            a.iter_mut().zip(&b).for_each(|(x, y)| x.merge(y));
            a
        })
        .unwrap_or_default();
    drop(packed);
    let product_at = start.elapsed();
    let fallback = AtomicUsize::new(0);
    let out = (0..n)
        .into_par_iter()
        .map(|i| {
            let a = &points[i * m..(i + 1) * m];
            match cands.get(i).and_then(RowCandidates::survivors) {
                Some(js) => js
                    .map(|j| dist2(a, &points[j * m..(j + 1) * m]))
                    .fold(f64::INFINITY, f64::min),
                None => {
                    fallback.fetch_add(1, Ordering::Relaxed);
                    nearest_sq_of_row(points, n, m, i)
                }
            }
        })
        .collect();
    tracing::debug!(
        n,
        m,
        ?kernel,
        tile_rows = gpb * MR,
        pack_s = packed_at.as_secs_f64(),
        product_s = (product_at - packed_at).as_secs_f64(),
        recheck_s = (start.elapsed() - product_at).as_secs_f64(),
        fallback_rows = fallback.into_inner(),
        "blocked nearest neighbours"
    );
    out
}
