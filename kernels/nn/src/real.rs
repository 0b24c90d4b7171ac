//! The floating-point type of the networks. Training runs in `f32` (half the memory traffic and
//! twice the GEMM throughput of `f64`), while the gradient checks need `f64`: central finite
//! differences in `f32` lose all their digits to rounding at the step sizes that keep the
//! truncation error small. So every layer is generic over [`Real`], and the same code is checked
//! in `f64` and run in `f32`.
//!
//! GEMM: `matrixmultiply` (pinned in DEPENDENCIES.md), a small, well-kept crate with f32 and f64
//! kernels and arbitrary strides: all that im2col convolutions need. It is built *without* its
//! `threading` feature: on the 2 shared cores its thread handoff (`sched_yield`, channel receives)
//! cost more than it gained at every shape we train, e.g. ConvNet c=8 at batch 128 took 202 ms per
//! step threaded and 176 ms on one thread, ConvNet c=2 at batch 32 11.5 ms and 9.5 ms. Sweeps run
//! their points in parallel instead, one point per thread. Measured on this machine (batch 128,
//! f32, one SGD step, `examples/step_speed.rs`): ours 176 ms (ConvNet c=8) and 193 ms (ResNet-18
//! k=4) on one thread, against 349 ms and 308 ms for the same models jit-compiled by JAX/XLA on both
//! CPU cores. A hand-written layer set on a GEMM is thus at least as fast as a full compiler stack
//! here, and it keeps f64 for the checks; candle and burn would add a tensor runtime and minutes of
//! build without changing the GEMM, and were not benchmarked.

use std::fmt::Debug;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// A floating-point scalar the networks run in: `f32` (training) or `f64` (gradient checks).
pub trait Real:
    Copy
    + Default
    + PartialOrd
    + Debug
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
{
    /// Zero.
    const ZERO: Self;
    /// One.
    const ONE: Self;
    /// Conversion from `f64` (rounding for `f32`).
    fn from_f64(x: f64) -> Self;
    /// Conversion to `f64` (exact).
    fn to_f64(self) -> f64;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Exponential.
    fn exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;

    /// `C ← α A B + β C` through matrixmultiply, with `A` `m×k`, `B` `k×n`, `C` `m×n` given by
    /// pointers and (row, column) strides.
    ///
    /// # Safety
    /// The pointers with these strides must address valid elements for every index in range, and
    /// `c` must not alias `a` or `b`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm_raw(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    );
}

macro_rules! impl_real {
    ($t:ty, $gemm:path) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                f64::from(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            unsafe fn gemm_raw(
                m: usize,
                k: usize,
                n: usize,
                alpha: Self,
                a: *const Self,
                rsa: isize,
                csa: isize,
                b: *const Self,
                rsb: isize,
                csb: isize,
                beta: Self,
                c: *mut Self,
                rsc: isize,
                csc: isize,
            ) {
                // SAFETY: forwarded from the caller's contract.
                unsafe { $gemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc) }
            }
        }
    };
}

impl_real!(f32, matrixmultiply::sgemm);
impl_real!(f64, matrixmultiply::dgemm);

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
    assert!(
        a.len() >= m * k && b.len() >= k * n && c.len() >= m * n,
        "gemm shapes"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        c[..m * n].iter_mut().for_each(|x| *x *= beta);
        return;
    }
    let (rsa, csa) = match op_a {
        Op::N => (k as isize, 1),
        Op::T => (1, m as isize),
    };
    let (rsb, csb) = match op_b {
        Op::N => (n as isize, 1),
        Op::T => (1, k as isize),
    };
    // SAFETY: the lengths were checked above for these row-major strides; `c` is a unique borrow.
    unsafe {
        T::gemm_raw(
            m,
            k,
            n,
            T::ONE,
            a.as_ptr(),
            rsa,
            csa,
            b.as_ptr(),
            rsb,
            csb,
            beta,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

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
