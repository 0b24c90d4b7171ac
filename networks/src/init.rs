//! Initial weights from the shared Philox stream (`Stream::NetworkInit`, keyed by the init seed),
//! following PyTorch's defaults in distribution: convolution and linear weights
//! `U(−1/√fan_in, 1/√fan_in)` (kaiming_uniform with a = √5), linear bias likewise. The
//! scale-invariant group is then rescaled jointly to its initial norm and the head weight to its
//! frozen norm (SPEC §7.1). The draws are not PyTorch's bits: only the distribution matches.

use sweep_kernels::rng::{Stream, counter, philox_key, philox4x32_10};

use crate::layers::Conv;

/// Counter "iteration" words that keep the SI weights, head weight and head bias apart.
const SI_WORD: u64 = 0;
const HEAD_WEIGHT_WORD: u64 = 1;
const HEAD_BIAS_WORD: u64 = 2;

/// `count` uniforms on `(−bound, bound)` from block 0 on of `(seed, word, NetworkInit)`, skipping
/// the first `skip` draws.
fn uniforms(seed: u64, word: u64, skip: usize, count: usize, bound: f64) -> Vec<f64> {
    let key = philox_key(seed);
    (skip..skip + count)
        .map(|i| {
            let block = philox4x32_10(counter((i / 4) as u32, word, Stream::NetworkInit), key);
            let u = (f64::from(block[i % 4]) + 0.5) * 2f64.powi(-32);
            (2.0 * u - 1.0) * bound
        })
        .collect()
}

/// Scales `v` to Euclidean norm `norm` (left as is if it is zero).
pub fn rescale(v: &mut [f64], norm: f64) {
    let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x *= norm / n);
    }
}

/// The scale-invariant group (all convolution weights, in `convs` order), each layer drawn with its
/// own fan-in bound, then rescaled jointly to norm `si_norm`.
pub fn init_si(convs: &[Conv], seed: u64, si_norm: f64) -> Vec<f64> {
    let mut w = Vec::with_capacity(convs.iter().map(Conv::size).sum());
    for cv in convs {
        let bound = 1.0 / (cv.fan_in() as f64).sqrt();
        w.extend(uniforms(seed, SI_WORD, w.len(), cv.size(), bound));
    }
    rescale(&mut w, si_norm);
    w
}

/// The frozen head: weight `[classes, features]` rescaled to Frobenius norm `head_norm`, and the
/// bias (PyTorch's default init, not rescaled) when `with_bias`.
pub fn init_head(
    features: usize,
    classes: usize,
    with_bias: bool,
    seed: u64,
    head_norm: f64,
) -> (Vec<f64>, Vec<f64>) {
    let bound = 1.0 / (features as f64).sqrt();
    let mut weight = uniforms(seed, HEAD_WEIGHT_WORD, 0, features * classes, bound);
    rescale(&mut weight, head_norm);
    let bias = if with_bias {
        uniforms(seed, HEAD_BIAS_WORD, 0, classes, bound)
    } else {
        Vec::new()
    };
    (weight, bias)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_uniform_within_bounds_and_norms_are_set() {
        let convs = [Conv::k3(3, 8, 1), Conv::k3(8, 16, 1)];
        let w = init_si(&convs, 1, 1.0);
        assert_eq!(w.len(), 27 * 8 + 72 * 16);
        assert!((w.iter().map(|x| x * x).sum::<f64>().sqrt() - 1.0).abs() < 1e-12);
        // Raw draws: mean 0 and variance bound²/3 within 5 standard errors.
        let raw = uniforms(7, SI_WORD, 0, 100_000, 1.0);
        let mean = raw.iter().sum::<f64>() / raw.len() as f64;
        let var = raw.iter().map(|x| x * x).sum::<f64>() / raw.len() as f64;
        assert!(mean.abs() < 5.0 * (1.0f64 / 3.0 / 1e5).sqrt());
        assert!((var - 1.0 / 3.0).abs() < 5.0 * (4.0f64 / 45.0 / 1e5).sqrt());
        assert!(raw.iter().all(|x| x.abs() < 1.0));
        let (hw, hb) = init_head(64, 10, true, 4, 10.0);
        assert!((hw.iter().map(|x| x * x).sum::<f64>().sqrt() - 10.0).abs() < 1e-9);
        assert_eq!(hb.len(), 10);
        assert!(hb.iter().all(|b| b.abs() < 1.0 / 8.0));
        assert_eq!(init_si(&convs, 1, 1.0), w, "deterministic in the seed");
        assert_ne!(init_si(&convs, 2, 1.0), w);
    }
}
