//! Portable float32 micro-kernel of the blocked distance product (any CPU).
//!
//! Same contract and the same per-entry summation order as the AVX-512 kernel (a sequential
//! sum over k inside the block, then one addition into C), without fused multiply-adds.

/// Rows of a packed group (the A side of a micro-tile).
pub(super) const MR: usize = 48;
/// Columns of a micro-tile (the B side).
pub(super) const NR: usize = 8;

/// `c[col·MR + row] (+)= Σ_{k<kc} a[k·MR + row] · b[k·MR + col]` for row < MR, col < NR;
/// `accumulate = false` overwrites C. `next_b` (the B sliver of the next call) is a prefetch hint
/// for the SIMD kernels, unused here.
///
/// # Panics
/// If the slices are shorter than the contract needs (an internal invariant).
pub(super) fn micro(
    a: &[f32],
    b: &[f32],
    kc: usize,
    c: &mut [f32],
    accumulate: bool,
    _next_b: &[f32],
) {
    assert!(kc >= 1 && a.len() >= kc * MR && b.len() > (kc - 1) * MR + NR - 1);
    assert_eq!(c.len(), MR * NR);
    let mut acc = [[0.0_f32; MR]; NR];
    for (ar, br) in a.chunks_exact(MR).zip(b.chunks(MR)).take(kc) {
        for (col, &bv) in acc.iter_mut().zip(&br[..NR]) {
            for (x, &av) in col.iter_mut().zip(ar) {
                *x += av * bv;
            }
        }
    }
    for (cc, col) in c.chunks_exact_mut(MR).zip(&acc) {
        for (x, &v) in cc.iter_mut().zip(col) {
            *x = if accumulate { *x + v } else { v };
        }
    }
}
