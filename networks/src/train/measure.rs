//! Gradient statistics at a point (SPEC §7.3): the full-batch gradient ∇L(w), summed over the
//! training set in chunks (BatchNorm in training mode, so each chunk uses its own statistics) and
//! divided by N, and the spread of M fresh mini-batch gradients around it:
//! `stoch_grad_rms = sqrt(mean_m ‖g_m − ∇L(w)‖²)`. Then tr Σ(w̄) = stoch_grad_rms² · r̄² and
//! ‖∇L(w̄)‖² = full_grad_norm² · r̄² (SPEC §7.3's rescalings, done by the caller who knows r̄).

use super::norm;
use super::trainer::TrainError;
use crate::data::{BatchSampler, Dataset};
use crate::layers::BnStats;
use crate::models::Network;
use crate::par;
use crate::real::Real;

/// SPEC §7.3's chunk size for the full-batch pass.
pub const FULL_BATCH_CHUNK: usize = 1024;

/// Full-batch chunk passes run at once (each holds a chunk's activations, ~0.5 GB for ConvNet
/// c=8 at 1024 CIFAR images); the mini-batch passes run one per thread.
pub const CHUNKS_IN_FLIGHT: usize = 2;

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

/// The BatchNorm batch statistics of a measurement's passes, in order: what PyTorch, in training
/// mode, folds into the running statistics during the measurement (SPEC §7.3 measures with
/// `model.train()`), for [`crate::train::Trainer::absorb_running_stats`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BnRecord {
    /// One entry per full-batch chunk, each one [`BnStats`] per BatchNorm layer.
    pub chunks: Vec<Vec<BnStats>>,
    /// One entry per fresh mini-batch, likewise.
    pub batches: Vec<Vec<BnStats>>,
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
    measure(
        net,
        data,
        w,
        chunk,
        sampler,
        first_iteration,
        samples,
        false,
    )
    .map(|(s, _)| s)
}

/// [`gradient_statistics`], also returning each pass's BatchNorm batch statistics.
pub fn gradient_statistics_recording<T: Real>(
    net: &Network<T>,
    data: &Dataset,
    w: &[T],
    chunk: usize,
    sampler: &BatchSampler,
    first_iteration: u64,
    samples: usize,
) -> Result<(GradStats, BnRecord), TrainError> {
    measure(net, data, w, chunk, sampler, first_iteration, samples, true)
}

/// One pass's loss and gradient into `g`, with its BatchNorm statistics when `record`.
fn pass<T: Real>(
    net: &Network<T>,
    w: &[T],
    (x, labels): (crate::Act<T>, Vec<u8>),
    g: &mut [T],
    record: bool,
) -> Result<(T, Vec<BnStats>), TrainError> {
    let mut stats = Vec::new();
    let loss = if record {
        net.loss_grad_recording(w, &x, &labels, g, &mut stats)?
    } else {
        net.loss_grad(w, &x, &labels, g)?
    };
    Ok((loss, stats))
}

#[allow(clippy::too_many_arguments)]
fn measure<T: Real>(
    net: &Network<T>,
    data: &Dataset,
    w: &[T],
    chunk: usize,
    sampler: &BatchSampler,
    first_iteration: u64,
    samples: usize,
    record: bool,
) -> Result<(GradStats, BnRecord), TrainError> {
    let dim = net.dim();
    let n = data.len();
    let chunk = chunk.max(1);
    let mut record_out = BnRecord::default();
    // The full-batch chunks, at most CHUNKS_IN_FLIGHT at once (each holds a 1024-image pass's
    // activations), their passes also splitting over the pool. Reduced in order: the one-thread
    // sum bit for bit.
    let mut full = vec![0.0f64; dim];
    let mut full_loss = 0.0;
    par::passes_in_order(
        n.div_ceil(chunk),
        CHUNKS_IN_FLIGHT,
        |i| {
            let idx: Vec<usize> = (i * chunk..((i + 1) * chunk).min(n)).collect();
            let mut g = vec![T::ZERO; dim];
            let (l, bn) = pass(net, w, data.batch::<T>(&idx), &mut g, record)?;
            Ok::<_, TrainError>((l.to_f64(), g, idx.len(), bn))
        },
        |r| {
            let (l, g, len, bn) = r?;
            if record {
                record_out.chunks.push(bn);
            }
            let weight = len as f64 / n as f64;
            full_loss += l * weight;
            full.iter_mut()
                .zip(&g)
                .for_each(|(a, b)| *a += b.to_f64() * weight);
            Ok::<_, TrainError>(())
        },
    )?;
    let full_grad_norm = full.iter().map(|v| v * v).sum::<f64>().sqrt();
    // The fresh mini-batches are small independent passes: a window of one per thread runs in
    // parallel, and results are reduced in order, so the sum is the one-thread sum bit for bit.
    let (mut sq, mut finite) = (0.0, true);
    par::passes_in_order(
        samples,
        usize::MAX,
        |m| {
            let t = first_iteration.wrapping_add(m as u64);
            let mut indices = Vec::new();
            sampler.fill(t, &mut indices);
            let mut g = vec![T::ZERO; dim];
            let (_, bn) = pass(net, w, data.batch::<T>(&indices), &mut g, record)?;
            let sq = g
                .iter()
                .zip(&full)
                .map(|(a, b)| (a.to_f64() - b) * (a.to_f64() - b))
                .sum::<f64>();
            Ok::<_, TrainError>((sq, norm(&g).is_finite(), bn))
        },
        |r| {
            let (s, f, bn) = r?;
            if record {
                record_out.batches.push(bn);
            }
            sq += s;
            finite &= f;
            Ok::<_, TrainError>(())
        },
    )?;
    if !full_loss.is_finite() || !sq.is_finite() || !finite {
        return Err(TrainError::NonFinite {
            iteration: first_iteration,
        });
    }
    let stats = GradStats {
        full_loss,
        full_grad_norm,
        stoch_grad_rms: (sq / samples.max(1) as f64).sqrt(),
        samples,
    };
    Ok((stats, record_out))
}
