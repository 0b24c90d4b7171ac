//! Gradient statistics at a point (SPEC §7.3): the full-batch gradient ∇L(w), summed over the
//! training set in chunks (BatchNorm in training mode, so each chunk uses its own statistics) and
//! divided by N, and the spread of M fresh mini-batch gradients around it:
//! `stoch_grad_rms = sqrt(mean_m ‖g_m − ∇L(w)‖²)`. Then tr Σ(w̄) = stoch_grad_rms² · r̄² and
//! ‖∇L(w̄)‖² = full_grad_norm² · r̄² (SPEC §7.3's rescalings, done by the caller who knows r̄).

use super::norm;
use super::trainer::TrainError;
use crate::data::{BatchSampler, Dataset};
use crate::models::Network;
use crate::par;
use crate::real::Real;

/// SPEC §7.3's chunk size for the full-batch pass.
pub const FULL_BATCH_CHUNK: usize = 1024;

/// Gradient statistics at one point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradStats {
    /// Full-batch training loss.
    pub full_loss: f64,
    /// ‖∇L(w)‖.
    pub full_grad_norm: f64,
    /// sqrt(mean_m ‖g_m − ∇L(w)‖²) over the fresh mini-batches.
    pub stoch_grad_rms: f64,
    /// Mini-batches drawn.
    pub samples: usize,
}

impl GradStats {
    /// tr Σ(w̄) = stoch_grad_rms² r̄² (SPEC §7.3, Eq. 3 rescaling) for mean radius `r_bar` (the
    /// nominal r on a fixed sphere).
    pub fn trace_sigma(&self, r_bar: f64) -> f64 {
        self.stoch_grad_rms * self.stoch_grad_rms * r_bar * r_bar
    }
}

/// Gradient statistics at `w`: the full-batch pass in chunks of `chunk`, then `samples`
/// mini-batches drawn by `sampler` at iterations `first_iteration..first_iteration + samples`
/// (give a range the training run never uses, e.g. from 2⁶³ on). Gradients accumulate in f64.
pub fn gradient_statistics<T: Real>(
    net: &Network<T>,
    data: &Dataset,
    w: &[T],
    chunk: usize,
    sampler: &BatchSampler,
    first_iteration: u64,
    samples: usize,
) -> Result<GradStats, TrainError> {
    let dim = net.dim();
    let n = data.len();
    let chunk = chunk.max(1);
    // Chunks, then mini-batches, are independent passes: they run in parallel and are reduced
    // in order, so the result is the one-thread result bit for bit.
    let chunks = par::map_passes(n.div_ceil(chunk), |i| {
        let idx: Vec<usize> = (i * chunk..((i + 1) * chunk).min(n)).collect();
        let (x, labels) = data.batch::<T>(&idx);
        let mut g = vec![T::ZERO; dim];
        let l = net.loss_grad(w, &x, &labels, &mut g);
        // The chunk's im2col buffer served all its convolutions; do not keep it.
        crate::scratch::trim::<T>();
        Ok::<_, TrainError>((l?.to_f64(), g, idx.len()))
    });
    let mut full = vec![0.0f64; dim];
    let mut full_loss = 0.0;
    for c in chunks {
        let (l, g, len) = c?;
        let weight = len as f64 / n as f64;
        full_loss += l * weight;
        full.iter_mut()
            .zip(&g)
            .for_each(|(a, b)| *a += b.to_f64() * weight);
    }
    let full_grad_norm = full.iter().map(|v| v * v).sum::<f64>().sqrt();
    let batches = par::map_passes(samples, |m| {
        let t = first_iteration.wrapping_add(m as u64);
        let mut indices = Vec::new();
        sampler.fill(t, &mut indices);
        let (x, labels) = data.batch::<T>(&indices);
        let mut g = vec![T::ZERO; dim];
        net.loss_grad(w, &x, &labels, &mut g)?;
        let sq = g
            .iter()
            .zip(&full)
            .map(|(a, b)| (a.to_f64() - b) * (a.to_f64() - b))
            .sum::<f64>();
        Ok::<_, TrainError>((sq, norm(&g).is_finite()))
    });
    let mut sq = 0.0;
    let mut finite = true;
    for b in batches {
        let (s, f) = b?;
        sq += s;
        finite &= f;
    }
    if !full_loss.is_finite() || !sq.is_finite() || !finite {
        return Err(TrainError::NonFinite {
            iteration: first_iteration,
        });
    }
    Ok(GradStats {
        full_loss,
        full_grad_norm,
        stoch_grad_rms: (sq / samples.max(1) as f64).sqrt(),
        samples,
    })
}
