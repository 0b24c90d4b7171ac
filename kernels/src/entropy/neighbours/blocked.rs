//! Blocked float32 nearest-neighbour engine with an exact float64 recheck (SPEC §16.9).
//!
//! 1. Centre the sample on the mean c of a row subsample (distances are translation-invariant),
//!    scale it by a power of two s (exact), round x·s − c·s to float32 and pack it in groups of
//!    [`MR`] rows, k-major (`packed[g][k][r]`), 64-byte aligned; keep the float64 norms
//!    ñ_i = ‖x̃_i‖² of the packed rows. This single pass over the input also checks that it is
//!    finite and that every scaled value is below 1 in magnitude (s comes from the subsample
//!    with 8× headroom; if some value still reaches 1 the pass is repeated with s from the true
//!    max |x|, which guarantees it). The packed buffer is reused from call to call.
//! 2. Over tiles of row blocks I ≤ J (symmetric: the product is computed once per pair), and over
//!    k-blocks of [`KC`], a register-blocked micro-kernel adds the 48×8 float32 products into a
//!    tile buffer; then every entry gives d̃_ij = ñ_i + ñ_j − 2·g̃_ij, offered to both rows.
//! 3. Error bound. Each entry is a sequential float32 sum over at most KC terms inside a block,
//!    then nb = ⌈K/KC⌉ block sums added in order, so |g̃ − x̃_i·x̃_j| ≤ γ_{KC+nb}·|x̃_i|·|x̃_j|
//!    ≤ γ_{KC+nb}·(ñ_i + ñ_j)/2 (Higham, γ_n = nu/(1 − nu), u = 2⁻²⁴). Rounding the centred rows to
//!    float32 moves ‖x_i − x_j‖² by at most (4u + 2u²)(n_i + n_j). Hence
//!    |d̃_ij − ‖x_i − x_j‖²| ≤ e_ij = 1.25·(KC + nb + 8)·u·(ñ_i + ñ_j) + e_abs, where 1.25 covers
//!    the γ denominators, ñ vs n and the float64 rounding of every other step (all ≤ 1e-11
//!    relative), and e_abs covers float32 underflow (with |x̃| ≤ 1). The row's candidate list
//!    (see `candidates`) then provably contains its nearest neighbour, or the row is flagged.
//! 4. Every surviving candidate pair is rechecked exactly with [`dist2`] on the original float64
//!    rows, once per pair (flagged rows get a full float64 search), so the result equals the
//!    brute-force one bit for bit, however strongly the float32 product cancels.
//!
//! Speed (2-core AVX-512 VM, N = 1000, m = 10⁴): the packing pass is memory-bound (one read of
//! the float64 input), the product runs the micro-kernel at ~85 % of its in-L1 rate thanks to
//! L2 prefetching of the next k-block, and the recheck reads two float64 rows per pair.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
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

/// The packed buffer of the previous call, kept for the next one: a fresh buffer of N·m floats
/// costs one page fault per 4 KiB on first touch, which at N = 1000, m = 10⁴ took about as long
/// as the rest of the packing pass. The largest buffer seen up to [`MAX_KEPT_FLOATS`] is kept
/// (N·m·4 bytes, half the size of the caller's input).
static PACK_BUFFER: Mutex<Vec<f32>> = Mutex::new(Vec::new());
/// Largest packed buffer kept between calls (1 GiB).
const MAX_KEPT_FLOATS: usize = 1 << 28;

/// The centred, scaled, float32 sample in packed groups.
struct Packed {
    data: Vec<f32>,
    offset: usize,
    k: usize,
    groups: usize,
    norms: Vec<f64>,
}

/// What one packing pass saw: the largest |scaled value| and whether every input was finite.
#[derive(Clone, Copy)]
struct PackStats {
    max_scaled: f64,
    max_abs: f64,
    finite: bool,
}

impl PackStats {
    const EMPTY: Self = Self {
        max_scaled: 0.0,
        max_abs: 0.0,
        finite: true,
    };

    fn join(self, o: Self) -> Self {
        Self {
            max_scaled: max_nan(self.max_scaled, o.max_scaled),
            max_abs: self.max_abs.max(o.max_abs),
            finite: self.finite && o.finite,
        }
    }
}

/// max(a, b), NaN if either is NaN.
fn max_nan(a: f64, b: f64) -> f64 {
    if a.is_nan() || a > b { a } else { b }
}

/// 2⁻ᵉ with e = ⌊log₂ x⌋ + 1 + `headroom` (clamped), so that x·2⁻ᵉ < 2^−headroom; 1 for x = 0
/// or a non-finite x.
fn power_of_two_scale(x: f64, headroom: i32) -> f64 {
    if x > 0.0 && x.is_finite() {
        // Up to 2⁻¹⁰⁷⁰ for x near f64::MAX (a product of two exact powers of two: powi alone
        // would overflow its intermediate), at most 2¹⁰⁰⁰ for subnormal x.
        let e = (x.log2().floor() as i32 + 1 + headroom).clamp(-1000, 1070);
        2.0_f64.powi(-e.min(1000)) * 2.0_f64.powi(-(e - e.min(1000)))
    } else {
        1.0
    }
}

impl Packed {
    /// Packs the sample; `None` when it holds a NaN or an infinity.
    fn new(points: &[f64], n: usize, m: usize) -> Option<Self> {
        let (centre, sample_dev, sample_abs) = subsample_mean(points, n, m);
        let groups = n.div_ceil(MR);
        let group_len = m * MR;
        let mut data =
            std::mem::take(&mut *PACK_BUFFER.lock().unwrap_or_else(PoisonError::into_inner));
        if data.len() < groups * group_len + 16 {
            // Zero-filled by the allocator (untouched pages): the packing pass faults them in,
            // on all threads.
            data = vec![0.0_f32; groups * group_len + 16];
        }
        let offset = (64 - data.as_ptr() as usize % 64) % 64 / 4;
        let mut norms = vec![0.0; groups * MR];
        // The scale is a power of two (exact) chosen from the subsample with 8× headroom, so
        // that one pass normally suffices; the pass checks that every scaled value is below 1
        // and repeats with the scale of the true max |x| otherwise (then |x·s|, |c·s| < 1/2).
        let mut scale = power_of_two_scale(
            if sample_dev > 0.0 {
                sample_dev
            } else {
                sample_abs
            },
            3,
        );
        let mut attempt = 0;
        loop {
            let centre_scaled: Vec<f64> = centre.iter().map(|c| c * scale).collect();
            let stats = data[offset..offset + groups * group_len]
                .par_chunks_mut(group_len)
                .zip(norms.par_chunks_mut(MR))
                .enumerate()
                .map(|(g, (dst, nrm))| {
                    pack_group(points, m, &centre_scaled, scale, g, rows_of(n, g), dst, nrm)
                })
                .reduce(|| PackStats::EMPTY, PackStats::join);
            if !stats.finite {
                *PACK_BUFFER.lock().unwrap_or_else(PoisonError::into_inner) = data;
                return None;
            }
            if stats.max_scaled < 1.0 {
                break;
            }
            scale = if attempt == 0 {
                power_of_two_scale(stats.max_abs, 1)
            } else {
                scale * 0.5
            };
            attempt += 1;
        }
        Some(Self {
            data,
            offset,
            k: m,
            groups,
            norms,
        })
    }

    /// Group `g`, k-major: `[k][r]`.
    fn group(&self, g: usize) -> &[f32] {
        let len = self.k * MR;
        &self.data[self.offset + g * len..self.offset + (g + 1) * len]
    }
}

impl Drop for Packed {
    fn drop(&mut self) {
        let mut cached = PACK_BUFFER.lock().unwrap_or_else(PoisonError::into_inner);
        if cached.len() < self.data.len() && self.data.len() <= MAX_KEPT_FLOATS {
            *cached = std::mem::take(&mut self.data);
        }
    }
}

/// [`dist2`], compiled for AVX-512 when the CPU has it (the recheck reads two float64 rows per
/// pair and was compute-bound in SSE2 code). Lane-wise additions and multiplications in the same
/// order, no contraction: the same bits either way.
fn recheck_dist2(a: &[f64], b: &[f64]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if super::avx512_available() {
        // SAFETY: AVX-512F was detected at run time.
        return unsafe { dist2_avx512(a, b) };
    }
    dist2(a, b)
}

/// [`dist2`] compiled with AVX-512F.
///
/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn dist2_avx512(a: &[f64], b: &[f64]) -> f64 {
    dist2(a, b)
}

/// Prefetch hint into L1 (`_MM_HINT_T0`).
const HINT_L1: i32 = 3;
/// Prefetch hint into L2 (`_MM_HINT_T1`).
const HINT_L2: i32 = 2;

/// Hints the cache line holding `x` into the cache level `HINT` ([`HINT_L1`], [`HINT_L2`]).
#[inline(always)]
fn prefetch<const HINT: i32, T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch has no architectural effect; SSE is part of the x86-64 baseline.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<HINT>(std::ptr::from_ref(x).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// Number of real rows in group `g`.
fn rows_of(n: usize, g: usize) -> usize {
    (n - g * MR).min(MR)
}

/// Packs group `g` (k-major, `dst[k·MR + r]`) from the original rows as x·s − c·s
/// (`centre_scaled` = c·s), and sets `nrm` to the float64 norms of the packed rows. Padding
/// rows are written as 0. Compiled for AVX-512 too (chosen at run time): the pass is
/// compute-bound in SSE2 code. Both versions do the same float64 operations in the same order
/// (no contraction), so the packed sample is the same bit for bit.
#[allow(clippy::too_many_arguments)]
fn pack_group(
    points: &[f64],
    m: usize,
    centre_scaled: &[f64],
    scale: f64,
    g: usize,
    rows: usize,
    dst: &mut [f32],
    nrm: &mut [f64],
) -> PackStats {
    #[cfg(target_arch = "x86_64")]
    if super::avx512_available() {
        // SAFETY: AVX-512F was detected at run time.
        return unsafe { pack_group_avx512(points, m, centre_scaled, scale, g, rows, dst, nrm) };
    }
    pack_group_body(
        points,
        m,
        centre_scaled,
        scale,
        g,
        rows,
        dst,
        nrm,
        |d, s| {
            d.copy_from_slice(s);
        },
    )
}

/// [`pack_group`] compiled with AVX-512F.
///
/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn pack_group_avx512(
    points: &[f64],
    m: usize,
    centre_scaled: &[f64],
    scale: f64,
    g: usize,
    rows: usize,
    dst: &mut [f32],
    nrm: &mut [f64],
) -> PackStats {
    let stats = pack_group_body(
        points,
        m,
        centre_scaled,
        scale,
        g,
        rows,
        dst,
        nrm,
        |d, s| {
            // SAFETY: this function only runs on CPUs with AVX-512F.
            unsafe { stream_copy(d, s) }
        },
    );
    // Order the streaming stores before the threads that read the packed data are told it is
    // ready (rayon's join then publishes them).
    std::arch::x86_64::_mm_sfence();
    stats
}

/// `dst.copy_from_slice(src)` with non-temporal stores when `dst` is 64-byte aligned and a
/// whole number of cache lines: the packed copy is written once and read much later, so it
/// need not be read into the cache first (saves the read-for-ownership traffic).
///
/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn stream_copy(dst: &mut [f32], src: &[f32]) {
    use std::arch::x86_64::{_mm512_loadu_ps, _mm512_stream_ps};
    let aligned = (dst.as_ptr() as usize).is_multiple_of(64);
    if dst.len() != src.len() || !dst.len().is_multiple_of(16) || !aligned {
        dst.copy_from_slice(src);
        return;
    }
    for (d, s) in dst.chunks_exact_mut(16).zip(src.chunks_exact(16)) {
        // SAFETY: `d` and `s` hold 16 floats each and `d` is 64-byte aligned (checked above,
        // and every chunk start is a multiple of 64 bytes from it).
        unsafe { _mm512_stream_ps(d.as_mut_ptr(), _mm512_loadu_ps(s.as_ptr())) };
    }
}

/// The body of [`pack_group`]; `store(dst, src)` copies a finished slice out.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn pack_group_body(
    points: &[f64],
    m: usize,
    centre_scaled: &[f64],
    scale: f64,
    g: usize,
    rows: usize,
    dst: &mut [f32],
    nrm: &mut [f64],
    store: impl Fn(&mut [f32], &[f32]),
) -> PackStats {
    // Transpose through a small L1 buffer of PACK_K × MR floats, then copy it out contiguously.
    // Long contiguous reads per row (512 B) keep the hardware prefetchers effective.
    const PACK_K: usize = 64;
    const L: usize = 8;
    let mut buf = [0.0_f32; PACK_K * MR];
    let mut row = [0.0_f32; PACK_K];
    // Lane-wise statistics (vectorise): max |scaled|, max |x|, any non-finite.
    let mut hi = [0.0_f64; L];
    let mut big = [0.0_f64; L];
    let mut bad = [false; L];
    nrm.fill(0.0);
    for k0 in (0..m).step_by(PACK_K) {
        let kk = PACK_K.min(m - k0);
        for r in 0..rows {
            let src = &points[(g * MR + r) * m + k0..][..kk];
            // The row's next chunk, needed once the other rows of the group are done: 48
            // short streams are too many for the hardware prefetchers alone.
            if let Some(next) = points.get((g * MR + r) * m + k0 + PACK_K..(g * MR + r + 1) * m) {
                for line in next.iter().take(PACK_K).step_by(8) {
                    prefetch::<HINT_L1, _>(line);
                }
            }
            let cs = &centre_scaled[k0..k0 + kk];
            let mut lane = |t: &mut [f32], x: &[f64], c: &[f64]| {
                let stats = hi.iter_mut().zip(big.iter_mut()).zip(bad.iter_mut());
                for (((t, &x), &c), ((h, b), bd)) in t.iter_mut().zip(x).zip(c).zip(stats) {
                    let v = x * scale - c;
                    *t = v as f32;
                    let (va, xa) = (v.abs(), x.abs());
                    // A NaN |v| (overflow) propagates into `h`, which then fails the check.
                    *h = if va <= *h { *h } else { va };
                    *b = if xa > *b { xa } else { *b };
                    *bd |= !x.is_finite();
                }
            };
            let t = row[..kk].chunks_exact_mut(L);
            let x = src.chunks_exact(L);
            let c = cs.chunks_exact(L);
            let (tt, xt, ct) = (kk - kk % L, x.remainder(), c.remainder());
            for ((t, x), c) in t.zip(x).zip(c) {
                lane(t, x, c);
            }
            lane(&mut row[tt..kk], xt, ct);
            for (k, &v) in row[..kk].iter().enumerate() {
                buf[k * MR + r] = v;
            }
        }
        // Norms lane-wise over the MR rows (vectorises; padding rows stay 0).
        for col in buf.chunks_exact(MR).take(kk) {
            for (acc, &v) in nrm.iter_mut().zip(col) {
                *acc += f64::from(v) * f64::from(v);
            }
        }
        store(&mut dst[k0 * MR..(k0 + kk) * MR], &buf[..kk * MR]);
    }
    PackStats {
        max_scaled: hi.into_iter().fold(0.0, max_nan),
        max_abs: big.into_iter().fold(0.0, f64::max),
        finite: !bad.contains(&true),
    }
}

/// Rows averaged for the centre.
const CENTRE_ROWS: usize = 64;

/// The mean c of at most [`CENTRE_ROWS`] evenly spaced rows, with max |x − c| and max |x| over
/// those rows. Any centre gives exact results (the error bound uses the norms of the centred
/// rows); this one removes the common offset, which is what matters against cancellation, at a
/// fraction of the cost of a full pass.
fn subsample_mean(points: &[f64], n: usize, m: usize) -> (Vec<f64>, f64, f64) {
    let take = n.min(CENTRE_ROWS);
    let inv = 1.0 / take as f64;
    let row = |t: usize| {
        let i = t * n / take;
        &points[i * m..(i + 1) * m]
    };
    let mut c = vec![0.0; m];
    for t in 0..take {
        // Scaled before adding: no overflow for any finite input.
        c.iter_mut().zip(row(t)).for_each(|(a, x)| *a += x * inv);
    }
    let (mut dev, mut abs) = (0.0_f64, 0.0_f64);
    for t in 0..take {
        for (a, x) in c.iter().zip(row(t)) {
            dev = dev.max((x - a).abs());
            abs = abs.max(x.abs());
        }
    }
    (c, dev, abs)
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
    fn micro(&self, a: &[f32], b: &[f32], kc: usize, c: &mut [f32], first: bool, next_b: &[f32]) {
        let accumulate = !first;
        match self.kernel {
            // SAFETY: `Kernel::Avx512` is only chosen after run-time detection of AVX-512F.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => unsafe {
                super::kernel_avx512::micro(a, b, kc, c, accumulate, next_b)
            },
            Kernel::Portable => super::kernel_portable::micro(a, b, kc, c, accumulate, next_b),
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
        let sliver = |js: usize, k0: usize| {
            &p.group(gj0 + js / per_group)[k0 * MR + (js % per_group) * NR..]
        };
        // The tile's groups (the J groups only when off the diagonal).
        let tile_group = |t: usize| if t < ni { gi0 + t } else { gj0 + t - ni };
        let tile_groups = ni + if diag { 0 } else { nj };
        for k0 in (0..p.k).step_by(KC) {
            let kc = KC.min(p.k - k0);
            // While this k-block is computed, the next one of every group of the tile is
            // prefetched into L2, a few cache lines per micro-kernel call (measured: +10 % at
            // N = 1000, m = 10⁴, where the tile's data otherwise comes from L3 on first use).
            let next = (k0 + KC) * MR..(k0 + KC + KC.min(p.k.saturating_sub(k0 + KC))) * MR;
            let per_call = 16 * (tile_groups * next.len() / 16).div_ceil(ni * slivers);
            // Cursor: the part of the current group's next k-block not yet prefetched.
            let (mut pf_group, mut pf_rest): (usize, &[f32]) = (0, &[]);
            for ig in 0..ni {
                let a = &p.group(gi0 + ig)[k0 * MR..(k0 + kc) * MR];
                for js in 0..slivers {
                    let mut todo = per_call;
                    while todo > 0 {
                        if pf_rest.is_empty() {
                            if pf_group >= tile_groups {
                                break;
                            }
                            pf_rest = &p.group(tile_group(pf_group))[next.clone()];
                            pf_group += 1;
                        }
                        let (now, rest) = pf_rest.split_at(todo.min(pf_rest.len()));
                        for x in now.iter().step_by(16) {
                            prefetch::<HINT_L2, _>(x);
                        }
                        todo -= now.len();
                        pf_rest = rest;
                    }
                    if !needed(ig, js).0 {
                        continue;
                    }
                    let b = sliver(js, k0);
                    let next_b = if js + 1 < slivers {
                        sliver(js + 1, k0)
                    } else {
                        b
                    };
                    let c = &mut tile[(js * ni + ig) * MR * NR..][..MR * NR];
                    self.micro(a, b, kc, c, k0 == 0, next_b);
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

    /// Offers every entry of micro-tile C (rows `row0..`, columns `col0..`) to both its rows.
    /// A column is first screened, vectorised, against the rows' current upper bounds (read
    /// once per tile: they only decrease, so a stale one screens conservatively); a column no
    /// row would accept is skipped, which leaves every candidate list exactly as the offers
    /// would have (they would all have been rejected).
    fn offer_micro_tile(&mut self, c: &[f32], row0: usize, col0: usize, diag: bool) {
        let n = self.n;
        let norms = &self.packed.norms;
        let rows = n.saturating_sub(row0).min(MR);
        let mut ni = [0.0_f64; MR];
        let mut up = [0.0_f64; MR];
        for r in 0..rows {
            ni[r] = norms[row0 + r];
            up[r] = self.cands[row0 + r].upper();
        }
        let (err_rel, err_abs) = (self.err_rel, self.err_abs);
        let entry = |ni: f64, nj: f64, g: f32| {
            let sum = ni + nj;
            (sum - 2.0 * f64::from(g), err_rel * sum + err_abs)
        };
        for (col, cc) in c.chunks_exact(MR).enumerate() {
            let j = col0 + col;
            if j >= n {
                break;
            }
            // Rows i < n, and i < j on the diagonal.
            let lim = if diag {
                rows.min(j.saturating_sub(row0))
            } else {
                rows
            };
            let nj = norms[j];
            let up_j = self.cands[j].upper();
            let wanted = cc[..lim].iter().zip(&ni[..lim]).zip(&up[..lim]).fold(
                false,
                |any, ((&g, &ni), &up_i)| {
                    let (approx, err) = entry(ni, nj, g);
                    let lower = approx - err;
                    any | (lower <= up_i) | (lower <= up_j)
                },
            );
            if !wanted {
                continue;
            }
            for (r, &g) in cc[..lim].iter().enumerate() {
                let i = row0 + r;
                let (approx, err) = entry(ni[r], nj, g);
                // n < 2³² is checked by the caller.
                self.cands[i].offer(j as u32, approx, err);
                self.cands[j].offer(i as u32, approx, err);
            }
        }
    }
}

/// Squared 1-NN distances of the `n` rows of `points` (n·m, n ≥ 2, m ≥ 1, n < 2³²); `None` when
/// `points` holds a NaN or an infinity.
pub(super) fn nearest_sq(points: &[f64], n: usize, m: usize, kernel: Kernel) -> Option<Vec<f64>> {
    let start = Instant::now();
    let packed = Packed::new(points, n, m)?;
    let packed_at = start.elapsed();
    let threads = rayon::current_num_threads().max(1);
    // Smaller tiles when there are too few pairs to keep every thread busy (the largest tiles
    // reuse each packed k-block most: at N = 1000, 384-row tiles beat 192-row ones by ~10 %).
    let mut gpb = MAX_GROUPS_PER_BLOCK;
    let pairs_for = |gpb: usize| {
        let b = packed.groups.div_ceil(gpb);
        b * (b + 1) / 2
    };
    while gpb > 2 && pairs_for(gpb) < 3 * threads {
        gpb -= 1;
    }
    let blocks = packed.groups.div_ceil(gpb);
    // Largest tiles first (a diagonal tile computes about half its entries), so that the
    // shared counter below balances the threads well (longest-processing-time order).
    let size = |b: usize| (packed.groups - b * gpb).min(gpb);
    let mut pairs: Vec<(usize, usize)> = (0..blocks)
        .flat_map(|bi| (bi..blocks).map(move |bj| (bi, bj)))
        .collect();
    pairs.sort_by_key(|&(bi, bj)| {
        let work = 2 * size(bi) * size(bj) / if bi == bj { 2 } else { 1 };
        (std::cmp::Reverse(work), bi, bj)
    });
    let nb = m.div_ceil(KC) as f64;
    let err_rel = 1.25 * (KC as f64 + nb + 8.0) * U32;
    // Float32 underflow: at most 2⁻¹⁴⁹ per product and per rounded input, with max |x| < 1.
    let err_abs = (m as f64 + 16.0) * 2.0_f64.powi(-140);
    // One worker per thread, taking tiles from a shared counter.
    let next = AtomicUsize::new(0);
    let cands = (0..threads)
        .into_par_iter()
        .with_max_len(1)
        .map(|_| {
            let mut w = Worker {
                packed: &packed,
                n,
                groups_per_block: gpb,
                kernel,
                err_rel,
                err_abs,
                tile: Vec::new(),
                cands: vec![RowCandidates::default(); n],
            };
            while let Some(&(bi, bj)) = pairs.get(next.fetch_add(1, Ordering::Relaxed)) {
                w.run_pair(bi, bj);
            }
            w.cands
        })
        .reduce_with(|mut a, b| {
            a.iter_mut().zip(&b).for_each(|(x, y)| x.merge(y));
            a
        })
        .unwrap_or_default();
    drop(packed);
    let product_at = start.elapsed();
    // Exact recheck. A pair offered to both of its rows is computed once: every distance to
    // another row bounds a row's nearest distance from above, so each result may serve both.
    let mut keys: Vec<u64> = Vec::with_capacity(2 * n);
    let mut flagged = Vec::new();
    for (i, c) in cands.iter().enumerate() {
        match c.survivors() {
            Some(js) => keys.extend(js.map(|j| {
                let (lo, hi) = if i < j { (i, j) } else { (j, i) };
                ((lo as u64) << 32) | hi as u64
            })),
            None => flagged.push(i),
        }
    }
    keys.sort_unstable();
    keys.dedup();
    let row = |i: usize| &points[i * m..(i + 1) * m];
    let split = |k: u64| ((k >> 32) as usize, (k & 0xffff_ffff) as usize);
    let d: Vec<f64> = keys
        .par_iter()
        .map(|&k| {
            let (i, j) = split(k);
            recheck_dist2(row(i), row(j))
        })
        .collect();
    let mut out = vec![f64::INFINITY; n];
    for (&k, &d) in keys.iter().zip(&d) {
        let (i, j) = split(k);
        out[i] = out[i].min(d);
        out[j] = out[j].min(d);
    }
    let full: Vec<f64> = flagged
        .par_iter()
        .map(|&i| nearest_sq_of_row(points, n, m, i))
        .collect();
    for (&i, &d) in flagged.iter().zip(&full) {
        out[i] = d;
    }
    tracing::debug!(
        n,
        m,
        ?kernel,
        tile_rows = gpb * MR,
        pack_s = packed_at.as_secs_f64(),
        product_s = (product_at - packed_at).as_secs_f64(),
        recheck_s = (start.elapsed() - product_at).as_secs_f64(),
        rechecked_pairs = keys.len(),
        fallback_rows = flagged.len(),
        "blocked nearest neighbours"
    );
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg_points(n: usize, m: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..n * m)
            .map(|_| {
                s = s
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (s >> 11) as f64 / (1u64 << 53) as f64
            })
            .collect()
    }

    fn kernels() -> Vec<Kernel> {
        let mut k = vec![Kernel::Portable];
        #[cfg(target_arch = "x86_64")]
        if super::super::avx512_available() {
            k.push(Kernel::Avx512);
        }
        k
    }

    #[test]
    fn outlier_outside_the_subsample_forces_a_rescale_and_stays_exact() {
        let (n, m) = (100, 20);
        // Row 2 is not among the centre's subsample rows (t·100/64): the first scale, taken
        // from the subsample, leaves its scaled values above 1 and the pass is redone.
        assert!((0..64).all(|t| t * n / 64 != 2));
        for scale in [1.0, 1e300, 1e-300, 1e305, -1e305, 1e-310] {
            let mut pts: Vec<f64> = lcg_points(n, m, 5).iter().map(|x| x * scale).collect();
            pts[2 * m..3 * m].iter_mut().for_each(|x| *x *= 1e3);
            let want = super::super::brute_force_sq(&pts, n, m);
            for k in kernels() {
                assert_eq!(
                    nearest_sq(&pts, n, m, k),
                    Some(want.clone()),
                    "{k:?} {scale}"
                );
            }
        }
    }

    #[test]
    fn non_finite_values_anywhere_are_reported() {
        let (n, m) = (100, 12);
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut pts = lcg_points(n, m, 6);
            pts[2 * m + 5] = bad;
            assert_eq!(nearest_sq(&pts, n, m, Kernel::Portable), None);
        }
    }

    #[test]
    fn reused_buffer_of_another_shape_gives_the_same_answer() {
        for &(n, m) in &[(150, 300), (60, 40), (150, 300), (97, 129)] {
            let pts = lcg_points(n, m, n as u64);
            let want = super::super::brute_force_sq(&pts, n, m);
            for k in kernels() {
                assert_eq!(
                    nearest_sq(&pts, n, m, k),
                    Some(want.clone()),
                    "{k:?} {n}×{m}"
                );
            }
        }
    }
}
