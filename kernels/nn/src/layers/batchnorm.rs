//! BatchNorm without affine parameters, in training mode: every channel is normalised by the
//! mean and (biased) variance of the current batch, `y = (x − μ)/√(σ² + ε)`. This is what makes
//! the networks scale-invariant (exactly for ε = 0, up to O(ε/σ²) for PyTorch's ε = 1e-5).

use crate::real::Real;
use crate::tensor::Act;

/// PyTorch's default ε.
pub const BN_EPS: f64 = 1e-5;

/// What the backward pass needs: the normalised output and `1/√(σ² + ε)` per channel.
#[derive(Clone, Debug)]
pub struct BnCache<T> {
    /// The output `y`.
    pub y: Act<T>,
    /// `1/√(σ² + ε)` per channel.
    pub inv_std: Vec<T>,
}

/// Normalises each channel of `x` by its batch statistics.
pub fn bn_forward<T: Real>(x: &Act<T>, eps: T) -> BnCache<T> {
    let m = x.plane();
    let inv_m = T::ONE / T::from_f64(m as f64);
    let mut y = x.zeros_like();
    let mut inv_std = Vec::with_capacity(x.c);
    for (xs, ys) in x.data.chunks_exact(m).zip(y.data.chunks_exact_mut(m)) {
        let mean = xs.iter().copied().sum::<T>() * inv_m;
        let var = xs.iter().map(|&v| (v - mean) * (v - mean)).sum::<T>() * inv_m;
        let inv = T::ONE / (var + eps).sqrt();
        for (o, &v) in ys.iter_mut().zip(xs) {
            *o = (v - mean) * inv;
        }
        inv_std.push(inv);
    }
    BnCache { y, inv_std }
}

/// `dL/dx = s (dy − mean(dy) − y · mean(dy · y))` per channel, `s = 1/√(σ² + ε)` (exact for any ε).
pub fn bn_backward<T: Real>(cache: &BnCache<T>, dy: &Act<T>) -> Act<T> {
    let m = dy.plane();
    let inv_m = T::ONE / T::from_f64(m as f64);
    let mut dx = dy.zeros_like();
    for (((ys, dys), dxs), &s) in cache
        .y
        .data
        .chunks_exact(m)
        .zip(dy.data.chunks_exact(m))
        .zip(dx.data.chunks_exact_mut(m))
        .zip(&cache.inv_std)
    {
        let mean_dy = dys.iter().copied().sum::<T>() * inv_m;
        let mean_dyy = dys.iter().zip(ys).map(|(&a, &b)| a * b).sum::<T>() * inv_m;
        for ((o, &g), &yv) in dxs.iter_mut().zip(dys).zip(ys) {
            *o = s * (g - mean_dy - yv * mean_dyy);
        }
    }
    dx
}
