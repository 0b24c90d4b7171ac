//! BatchNorm without affine parameters, in training mode: every channel is normalised by the
//! mean and (biased) variance of the current batch, `y = (x − μ)/√(σ² + ε)`. This is what makes
//! the networks scale-invariant (exactly for ε = 0, up to O(ε/σ²) for PyTorch's ε = 1e-5).
//!
//! Evaluation mode (PyTorch's `model.eval()`, SPEC §7.3's test loss and accuracy) normalises by
//! given statistics instead, the running averages a [`crate::train::Trainer`] keeps; a pass
//! chooses per [`BnMode`].

use crate::par;
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

/// Per-channel statistics of one BatchNorm layer.
#[derive(Clone, Debug, PartialEq)]
pub struct BnStats {
    /// Mean per channel.
    pub mean: Vec<f64>,
    /// Variance per channel (biased for a batch's statistics; running averages hold PyTorch's
    /// unbiased batch variances).
    pub var: Vec<f64>,
    /// Values per channel they were computed from (N·H·W; 0 for running averages).
    pub count: usize,
}

/// Normalises each channel of `x` by its batch statistics.
pub fn bn_forward<T: Real>(x: &Act<T>, eps: T) -> BnCache<T> {
    bn_forward_stats(x, eps).0
}

/// [`bn_forward`], also returning the batch statistics it used.
pub fn bn_forward_stats<T: Real>(x: &Act<T>, eps: T) -> (BnCache<T>, BnStats) {
    let m = x.plane();
    let inv_m = 1.0 / m as f64;
    let mut stats = BnStats {
        mean: Vec::with_capacity(x.c),
        var: Vec::with_capacity(x.c),
        count: m,
    };
    // Statistics accumulate in f64: an f32 sum over N·H·W = 131 072 values loses digits.
    let per_channel = par::map(x.c, 2 * m, |c| {
        let xs = &x.data[c * m..][..m];
        let mean = sum64(xs, |v| v) * inv_m;
        let var = sum64(xs, |v| (v - mean) * (v - mean)) * inv_m;
        (mean, var)
    });
    for (mean, var) in per_channel {
        stats.mean.push(mean);
        stats.var.push(var);
    }
    (bn_apply(x, eps, &stats), stats)
}

/// Normalises each channel of `x` by the given statistics (evaluation mode). Channels beyond
/// those `stats` hold pass through unnormalised; [`crate::Network::evaluate`] checks the counts.
pub fn bn_apply<T: Real>(x: &Act<T>, eps: T, stats: &BnStats) -> BnCache<T> {
    let m = x.plane();
    let inv_std: Vec<T> = (0..x.c)
        .map(|c| {
            let var = stats.var.get(c).copied().unwrap_or(1.0);
            T::from_f64(1.0 / (var + eps.to_f64()).sqrt())
        })
        .collect();
    if m == 0 {
        return BnCache {
            y: x.clone(),
            inv_std: Vec::new(),
        };
    }
    // SAFETY: the chunks hold whole channels (units of m), and each channel's m outputs are
    // written from its m inputs in either branch.
    let data = unsafe {
        par::new_filled(x.data.len(), m, m, |first, out| {
            for (i, ys) in out.chunks_exact_mut(m).enumerate() {
                let c = first + i;
                let xs = &x.data[c * m..][..m];
                match stats.mean.get(c) {
                    Some(&mean) if c < stats.var.len() => {
                        let (mean, inv) = (T::from_f64(mean), inv_std[c]);
                        for (o, &v) in ys.iter_mut().zip(xs) {
                            o.write((v - mean) * inv);
                        }
                    }
                    _ => {
                        for (o, &v) in ys.iter_mut().zip(xs) {
                            o.write(v);
                        }
                    }
                }
            }
        })
    };
    let y = x.with_data(data);
    let inv_std = inv_std[..x.c.min(stats.mean.len()).min(stats.var.len())].to_vec();
    BnCache { y, inv_std }
}

/// How the BatchNorm layers of one forward pass normalise.
#[derive(Debug)]
pub enum BnMode<'a> {
    /// Training mode: each layer uses its batch's statistics.
    Batch,
    /// Training mode, and each layer's batch statistics are appended here, in layer order.
    Record(&'a mut Vec<BnStats>),
    /// Evaluation mode: the `i`-th layer of the pass uses `stats[i]` (the index counts layers).
    Fixed {
        /// One entry per BatchNorm layer, in forward order.
        stats: &'a [BnStats],
        /// The next layer's index.
        next: usize,
        /// Set when a layer found no entry, or one with another channel count (the pass then
        /// used batch statistics there and its result must not be used).
        mismatch: bool,
    },
}

impl BnMode<'_> {
    /// The next BatchNorm layer of the pass, applied to `x`.
    pub fn forward<T: Real>(&mut self, x: &Act<T>, eps: T) -> BnCache<T> {
        match self {
            BnMode::Batch => bn_forward(x, eps),
            BnMode::Record(out) => {
                let (cache, stats) = bn_forward_stats(x, eps);
                out.push(stats);
                cache
            }
            BnMode::Fixed {
                stats,
                next,
                mismatch,
            } => {
                let i = *next;
                *next += 1;
                match stats.get(i) {
                    Some(s) if s.mean.len() == x.c && s.var.len() == x.c => bn_apply(x, eps, s),
                    _ => {
                        *mismatch = true;
                        bn_forward(x, eps)
                    }
                }
            }
        }
    }
}

/// `dL/dx = s (dy − mean(dy) − y · mean(dy · y))` per channel, `s = 1/√(σ² + ε)` (exact for any ε).
pub fn bn_backward<T: Real>(cache: &BnCache<T>, dy: &Act<T>) -> Act<T> {
    let m = dy.plane();
    let inv_m = 1.0 / m as f64;
    if m == 0 {
        return dy.zeros_like();
    }
    // SAFETY: the chunks hold whole channels (units of m), and each channel's m outputs are
    // written in either branch (`ys` and `dys` are m long like `dxs`).
    let data = unsafe {
        par::new_filled(dy.data.len(), m, 3 * m, |first, out| {
            for (i, dxs) in out.chunks_exact_mut(m).enumerate() {
                let c = first + i;
                // Channels without statistics (a mismatched evaluation) get no gradient.
                let Some(&s) = cache.inv_std.get(c) else {
                    dxs.iter_mut().for_each(|o| {
                        o.write(T::ZERO);
                    });
                    continue;
                };
                let (ys, dys) = (&cache.y.data[c * m..][..m], &dy.data[c * m..][..m]);
                let mean_dy = T::from_f64(sum64(dys, |v| v) * inv_m);
                let mean_dyy = T::from_f64(dot64(dys, ys) * inv_m);
                for ((o, &g), &yv) in dxs.iter_mut().zip(dys).zip(ys) {
                    o.write(s * (g - mean_dy - yv * mean_dyy));
                }
            }
        })
    };
    dy.with_data(data)
}

/// Lanes of the f64 sums: independent partial sums, so the adds pipeline and vectorise (a single
/// running sum is one dependent add per value).
const LANES: usize = 8;

/// `Σ f(x)` in f64 over `xs`, in [`LANES`] partial sums added at the end.
fn sum64<T: Real>(xs: &[T], f: impl Fn(f64) -> f64) -> f64 {
    let mut acc = [0.0f64; LANES];
    let chunks = xs.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += f(v.to_f64());
        }
    }
    acc.iter().sum::<f64>() + rest.iter().map(|v| f(v.to_f64())).sum::<f64>()
}

/// `Σ a·b` in f64, like [`sum64`].
fn dot64<T: Real>(a: &[T], b: &[T]) -> f64 {
    let mut acc = [0.0f64; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for ((s, u), v) in acc.iter_mut().zip(x).zip(y) {
            *s += u.to_f64() * v.to_f64();
        }
    }
    acc.iter().sum::<f64>()
        + ra.iter()
            .zip(rb)
            .map(|(u, v)| u.to_f64() * v.to_f64())
            .sum::<f64>()
}
