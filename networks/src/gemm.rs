//! The GEMM of the networks: `matrixmultiply` (pinned in DEPENDENCIES.md), a small, well-kept crate with f32 and f64
//! kernels and arbitrary strides: all that im2col convolutions need. It is built *without* its
//! `threading` feature: its thread handoff (`sched_yield`, channel receives) cost more than it
//! gained at every shape we train (ConvNet c=8 at batch 128: 202 ms per step threaded, 176 ms on
//! one thread). [`gemm`] splits the work itself instead ([`crate::par`]): by output columns, or,
//! for the long reductions of a weight gradient into a narrow output, by fixed `k` blocks, so that
//! the result never depends on the thread count. A hand-written layer set on a GEMM keeps f64 for
//! the checks; candle and burn would add a tensor runtime and minutes of build without changing
//! the GEMM, and were not benchmarked. Speed against JAX: `cargo bench -p sweep-nn --bench step`.

use std::ops::Range;

use crate::par;
use crate::real::Real;

/// How a row-major operand of [`gemm`] is read: as stored, or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// The stored `rows × cols` matrix.
    N,
    /// Its transpose.
    T,
}

/// `C ← A' B' + β C` for row-major slices, where `A'` (`m×k`) is `a` read as stored (`a` is
/// `m×k`) or transposed (`a` is `k×m`), likewise `B'` (`k×n`), and `c` is `m×n`.
///
/// Panics if a slice is shorter than its shape: the shapes come from the network's own layer
/// bookkeeping, never from user data, so a mismatch is a bug here.
#[allow(clippy::too_many_arguments)]
pub fn gemm<T: Real>(
    m: usize,
    k: usize,
    n: usize,
    a: &[T],
    op_a: Op,
    b: &[T],
    op_b: Op,
    beta: T,
    c: &mut [T],
) {
    let fits =
        |len: usize, rows: usize, cols: usize| rows.checked_mul(cols).is_some_and(|x| len >= x);
    assert!(
        fits(a.len(), m, k) && fits(b.len(), k, n) && fits(c.len(), m, n),
        "gemm shapes"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        // β = 0 ignores C's old values (they may be NaN), as matrixmultiply does.
        c[..m * n]
            .iter_mut()
            .for_each(|x| *x = if beta == T::ZERO { T::ZERO } else { *x * beta });
        return;
    }
    if k >= K_SPLIT_MIN && n < K_SPLIT_MAX_N {
        gemm_k_blocks(m, k, n, a, op_a, b, op_b, beta, c);
        return;
    }
    // SAFETY: the lengths were checked above; `c` is a unique borrow aliasing neither input.
    unsafe { gemm_columns(m, k, n, a, op_a, b, op_b, beta, MutPtr(c.as_mut_ptr())) };
}

/// `A' B'` (as [`gemm`] reads them, `m×n`) into a new vector, which is not zeroed first when the
/// product writes every element anyway.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_new<T: Real>(
    m: usize,
    k: usize,
    n: usize,
    a: &[T],
    op_a: Op,
    b: &[T],
    op_b: Op,
) -> Vec<T> {
    let len = m.checked_mul(n).expect("gemm shapes");
    let columns = m > 0 && n > 0 && k > 0 && !(k >= K_SPLIT_MIN && n < K_SPLIT_MAX_N);
    let (fits_a, fits_b) = (
        m.checked_mul(k).is_some_and(|x| a.len() >= x),
        k.checked_mul(n).is_some_and(|x| b.len() >= x),
    );
    if !columns || !fits_a || !fits_b {
        // Empty shapes and split reductions (small outputs) through the checked path.
        let mut c = vec![T::ZERO; len];
        gemm(m, k, n, a, op_a, b, op_b, T::ZERO, &mut c);
        return c;
    }
    let mut c = Vec::with_capacity(len);
    // SAFETY: `a` and `b` fit their shapes (checked), `c` has capacity m·n and is borrowed by
    // no one else.
    unsafe {
        gemm_columns(m, k, n, a, op_a, b, op_b, T::ZERO, MutPtr(c.as_mut_ptr()));
        // matrixmultiply with β = 0 writes every element of C without reading it (its documented
        // contract: "if β is zero, then C does not need to be initialized"), and the column
        // blocks tile `0..n`.
        c.set_len(len);
    }
    c
}

/// The column-split product: column blocks (multiples of 32, whole micro-kernel tiles) run in
/// parallel, each summing over `k` exactly as the whole product does, so the result does not
/// depend on the split.
///
/// # Safety
/// `a` and `b` must fit `(m, k, n)` as [`gemm`] checks, `c` must address `m·n` writable elements
/// that nothing else accesses meanwhile, and `m`, `k`, `n` must be non-zero.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_columns<T: Real>(
    m: usize,
    k: usize,
    n: usize,
    a: &[T],
    op_a: Op,
    b: &[T],
    op_b: Op,
    beta: T,
    c: MutPtr<T>,
) {
    let parts = par::parts(n / 32, m.saturating_mul(k).saturating_mul(n));
    let (a, b) = (ConstPtr(a.as_ptr()), ConstPtr(b.as_ptr()));
    par::ranges(n, parts, 32, |cols| {
        // SAFETY: forwarded from the caller; the column blocks of C are disjoint, so no two
        // calls write the same element.
        unsafe { gemm_block(m, 0..k, cols, (m, k, n), a, op_a, b, op_b, beta, c) };
    });
}

/// Reductions at least this long into outputs narrower than [`K_SPLIT_MAX_N`] are split along
/// `k` (the weight gradient of a convolution, `k = N·H·W`): a column split would leave its
/// handful of columns to one thread.
const K_SPLIT_MIN: usize = 1 << 14;
/// See [`K_SPLIT_MIN`].
const K_SPLIT_MAX_N: usize = 256;
/// The fixed `k` block of a split reduction. It depends on nothing but the shape, so the sum
/// (block partial products added in order) is the same on any number of threads.
const K_BLOCK: usize = 1 << 13;

/// `C ← A' B' + β C` as a sum over fixed `k` blocks, the blocks' products computed in parallel
/// and added in block order.
#[allow(clippy::too_many_arguments)]
fn gemm_k_blocks<T: Real>(
    m: usize,
    k: usize,
    n: usize,
    a: &[T],
    op_a: Op,
    b: &[T],
    op_b: Op,
    beta: T,
    c: &mut [T],
) {
    let (ap, bp) = (ConstPtr(a.as_ptr()), ConstPtr(b.as_ptr()));
    let blocks = k.div_ceil(K_BLOCK);
    let partials = par::map(blocks, m * n * K_BLOCK, |i| {
        let mut p = vec![T::ZERO; m * n];
        let ks = i * K_BLOCK..((i + 1) * K_BLOCK).min(k);
        let out = MutPtr(p.as_mut_ptr());
        // SAFETY: the caller checked the lengths of `a` and `b` for (m, k, n); `p` is this
        // block's own m×n buffer.
        unsafe { gemm_block(m, ks, 0..n, (m, k, n), ap, op_a, bp, op_b, T::ZERO, out) };
        p
    });
    let mut parts = partials.into_iter();
    let Some(mut sum) = parts.next() else {
        return;
    };
    for p in parts {
        sum.iter_mut().zip(&p).for_each(|(s, x)| *s += *x);
    }
    for (o, s) in c[..m * n].iter_mut().zip(sum) {
        // β = 0 ignores C's old values entirely (they may be NaN), as matrixmultiply does.
        *o = if beta == T::ZERO { s } else { beta * *o + s };
    }
}

/// The sub-product over `ks` of `k` for output columns `cols` of a row-major `C` (`m×n`), from
/// operands shaped for the whole `(m, k, n)` product.
///
/// # Safety
/// `a`, `b` and `c` must hold the whole product's operands (lengths as [`gemm`] checks), and no
/// other thread may write `c`'s columns `cols` meanwhile.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_block<T: Real>(
    m: usize,
    ks: Range<usize>,
    cols: Range<usize>,
    (_, k, n): (usize, usize, usize),
    a: ConstPtr<T>,
    op_a: Op,
    b: ConstPtr<T>,
    op_b: Op,
    beta: T,
    c: MutPtr<T>,
) {
    let (rsa, csa, a_off) = match op_a {
        Op::N => (k as isize, 1, ks.start),
        Op::T => (1, m as isize, ks.start * m),
    };
    let (rsb, csb, b_off) = match op_b {
        Op::N => (n as isize, 1, ks.start * n + cols.start),
        Op::T => (1, k as isize, cols.start * k + ks.start),
    };
    // SAFETY: forwarded from the caller; the offsets stay inside the operands.
    unsafe {
        T::gemm_raw(
            m,
            ks.len(),
            cols.len(),
            T::ONE,
            a.get().add(a_off),
            rsa,
            csa,
            b.get().add(b_off),
            rsb,
            csb,
            beta,
            c.get().add(cols.start),
            n as isize,
            1,
        );
    }
}

/// A read-only pointer handed to the column blocks of [`gemm`].
#[derive(Clone, Copy)]
struct ConstPtr<T>(*const T);
impl<T> ConstPtr<T> {
    /// The pointer (a method, so that closures capture the whole `Send` wrapper).
    fn get(self) -> *const T {
        self.0
    }
}

// SAFETY: only read, from the borrow `gemm` holds for the duration of the parallel calls.
unsafe impl<T: Sync> Send for ConstPtr<T> {}
// SAFETY: as above.
unsafe impl<T: Sync> Sync for ConstPtr<T> {}

/// The output pointer of [`gemm`]; each column block writes its own columns only.
#[derive(Clone, Copy)]
struct MutPtr<T>(*mut T);
impl<T> MutPtr<T> {
    /// The pointer (a method, so that closures capture the whole `Send` wrapper).
    fn get(self) -> *mut T {
        self.0
    }
}

// SAFETY: the blocks write disjoint columns of the unique borrow `gemm` holds.
unsafe impl<T: Send> Send for MutPtr<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for MutPtr<T> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_matches_naive_products_in_all_transpositions() {
        let (m, k, n) = (3, 4, 5);
        let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.11).cos()).collect();
        let at: Vec<f64> = (0..k * m).map(|i| a[(i % m) * k + i / m]).collect();
        let bt: Vec<f64> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
        let mut want = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                want[i * n + j] = (0..k).map(|l| a[i * k + l] * b[l * n + j]).sum::<f64>() + 0.5;
            }
        }
        for (aa, oa) in [(&a, Op::N), (&at, Op::T)] {
            for (bb, ob) in [(&b, Op::N), (&bt, Op::T)] {
                let mut c = vec![1.0; m * n];
                gemm(m, k, n, aa, oa, bb, ob, 0.5, &mut c);
                for (x, y) in c.iter().zip(&want) {
                    assert!((x - y).abs() < 1e-12);
                }
            }
        }
    }
}
