//! AVX-512F float32 micro-kernel of the blocked distance product: a 48×8 tile held in 24 zmm
//! accumulators (3 vectors of 16 rows × 8 broadcast columns), one FMA chain per entry over the
//! k-block, then one addition into C, the same order as the portable kernel. Each k step also
//! prefetches the matching row of the next B sliver into L1.

use std::arch::x86_64::{
    __m512, _MM_HINT_T0, _mm_prefetch, _mm512_add_ps, _mm512_fmadd_ps, _mm512_loadu_ps,
    _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps,
};

use super::kernel_portable::{MR, NR};

/// AVX-512 version of [`super::kernel_portable::micro`], same contract.
///
/// # Safety
/// The CPU must support AVX-512F.
///
/// # Panics
/// If the slices are shorter than the contract needs (an internal invariant).
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn micro(
    a: &[f32],
    b: &[f32],
    kc: usize,
    c: &mut [f32],
    accumulate: bool,
    next_b: &[f32],
) {
    assert!(kc >= 1 && a.len() >= kc * MR && b.len() > (kc - 1) * MR + NR - 1);
    assert_eq!(c.len(), MR * NR);
    if accumulate {
        // C is read back only after the k loop: start fetching it now.
        for line in c.chunks_exact(16) {
            _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast());
        }
    }
    let mut acc: [[__m512; 3]; NR] = [[_mm512_setzero_ps(); 3]; NR];
    let mut pa = a.as_ptr();
    let mut pb = b.as_ptr();
    let mut pn = next_b.as_ptr();
    for _ in 0..kc {
        // SAFETY: the asserts above keep pa[0..MR] and pb[0..NR] inside `a` and `b` for each
        // of the kc steps of MR floats.
        unsafe {
            let a0 = _mm512_loadu_ps(pa);
            let a1 = _mm512_loadu_ps(pa.add(16));
            let a2 = _mm512_loadu_ps(pa.add(32));
            // A hint only: prefetching any address is harmless.
            _mm_prefetch::<_MM_HINT_T0>(pn.cast());
            for (col, acc_col) in acc.iter_mut().enumerate() {
                let bv = _mm512_set1_ps(*pb.add(col));
                acc_col[0] = _mm512_fmadd_ps(a0, bv, acc_col[0]);
                acc_col[1] = _mm512_fmadd_ps(a1, bv, acc_col[1]);
                acc_col[2] = _mm512_fmadd_ps(a2, bv, acc_col[2]);
            }
            pa = pa.wrapping_add(MR);
            pb = pb.wrapping_add(MR);
            pn = pn.wrapping_add(MR);
        }
    }
    let pc = c.as_mut_ptr();
    for (col, acc_col) in acc.iter().enumerate() {
        for (part, &v) in acc_col.iter().enumerate() {
            // SAFETY: col·MR + part·16 + 16 ≤ MR·NR = c.len().
            unsafe {
                let p = pc.add(col * MR + part * 16);
                let out = if accumulate {
                    _mm512_add_ps(_mm512_loadu_ps(p), v)
                } else {
                    v
                };
                _mm512_storeu_ps(p, out);
            }
        }
    }
}
