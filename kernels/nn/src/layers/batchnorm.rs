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
    let inv_m = 1.0 / m as f64;
    let mut y = x.zeros_like();
    let mut inv_std = Vec::with_capacity(x.c);
    for (xs, ys) in x.data.chunks_exact(m).zip(y.data.chunks_exact_mut(m)) {
        // Statistics accumulate in f64: an f32 sum over N·H·W = 131 072 values loses digits.
        let mean64 = xs.iter().map(|v| v.to_f64()).sum::<f64>() * inv_m;
        let var = xs
            .iter()
            .map(|v| (v.to_f64() - mean64).powi(2))
            .sum::<f64>()
            * inv_m;
        let mean = T::from_f64(mean64);
        let inv = T::from_f64(1.0 / (var + eps.to_f64()).sqrt());
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
    let inv_m = 1.0 / m as f64;
    let mut dx = dy.zeros_like();
    for (((ys, dys), dxs), &s) in cache
        .y
        .data
        .chunks_exact(m)
        .zip(dy.data.chunks_exact(m))
        .zip(dx.data.chunks_exact_mut(m))
        .zip(&cache.inv_std)
    {
        let mean_dy = T::from_f64(dys.iter().map(|v| v.to_f64()).sum::<f64>() * inv_m);
        let mean_dyy = T::from_f64(
            dys.iter()
                .zip(ys)
                .map(|(a, b)| a.to_f64() * b.to_f64())
                .sum::<f64>()
                * inv_m,
        );
        for ((o, &g), &yv) in dxs.iter_mut().zip(dys).zip(ys) {
            *o = s * (g - mean_dy - yv * mean_dyy);
        }
    }
    dx
}
