//! The frozen linear head and the cross-entropy loss. The head's weight and bias get no gradient
//! (they are frozen, SPEC §7.1); only the gradient with respect to its input is propagated.

use crate::gemm::{Op, gemm};
use crate::real::Real;

/// Logits of a batch, `[classes, n]` row-major (class-major, like the activations).
#[derive(Clone, Debug)]
pub struct HeadOut<T> {
    /// The logits.
    pub logits: Vec<T>,
    /// Classes.
    pub classes: usize,
    /// Batch size.
    pub n: usize,
}

/// `logits = W feat + b`, `W` `[classes, f]` row-major, `feat` `[f, n]`, `b` of length `classes`
/// or empty (no bias).
pub fn linear_forward<T: Real>(
    weight: &[T],
    bias: &[T],
    feat: &[T],
    f: usize,
    n: usize,
) -> HeadOut<T> {
    let classes = weight.len() / f.max(1);
    let mut logits = vec![T::ZERO; classes * n];
    for (k, row) in logits.chunks_exact_mut(n.max(1)).enumerate() {
        let b = bias.get(k).copied().unwrap_or(T::ZERO);
        row.iter_mut().for_each(|v| *v = b);
    }
    gemm(
        classes,
        f,
        n,
        weight,
        Op::N,
        feat,
        Op::N,
        T::ONE,
        &mut logits,
    );
    HeadOut { logits, classes, n }
}

/// `dL/dfeat = Wᵀ dlogits`, `[f, n]`.
pub fn linear_backward<T: Real>(weight: &[T], f: usize, dlogits: &HeadOut<T>) -> Vec<T> {
    let mut dfeat = vec![T::ZERO; f * dlogits.n];
    gemm(
        f,
        dlogits.classes,
        dlogits.n,
        weight,
        Op::T,
        &dlogits.logits,
        Op::N,
        T::ZERO,
        &mut dfeat,
    );
    dfeat
}

/// Mean cross-entropy of the batch and its gradient with respect to the logits,
/// `(softmax − onehot)/n`. Labels must be `< classes` (the data readers guarantee it).
pub fn cross_entropy<T: Real>(out: &HeadOut<T>, labels: &[u8]) -> (T, HeadOut<T>) {
    let (k, n) = (out.classes, out.n);
    let mut d = vec![T::ZERO; k * n];
    let mut total = T::ZERO;
    let inv_n = T::ONE / T::from_f64(n as f64);
    for (j, &label) in labels.iter().enumerate().take(n) {
        let col = |c: usize| out.logits[c * n + j];
        let mut max = col(0);
        for c in 1..k {
            if col(c) > max {
                max = col(c);
            }
        }
        let z: T = (0..k).map(|c| (col(c) - max).exp()).sum();
        let log_z = z.ln() + max;
        total += log_z - col(label as usize);
        for c in 0..k {
            let p = (col(c) - log_z).exp();
            let target = if c == label as usize { T::ONE } else { T::ZERO };
            d[c * n + j] = (p - target) * inv_n;
        }
    }
    (
        total * inv_n,
        HeadOut {
            logits: d,
            classes: k,
            n,
        },
    )
}
