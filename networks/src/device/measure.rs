//! A gradient measurement (SPEC §7.3) and a test evaluation on a device, the CPU's
//! [`crate::train::measure`] and evaluation-mode pass: the full-batch gradient over the
//! device-resident training set in chunks, accumulated in f64 on the device (`measure.cu`), then
//! M fresh mini-batch gradients and their squared distances from it; the test set's chunks in
//! evaluation mode with the running statistics. Only the losses and the reductions' scalars come
//! back; the passes' BatchNorm statistics stay on the device for the running statistics.

use sweep_kernels::cuda::batch::batch_indices_on;
use sweep_kernels::cuda::measure::{axpy_on, norm_sq_f64_on, sq_distance_on};
use sweep_kernels::cuda::{Buffer, CudaError};

use super::layers::{DeviceBnMode, DeviceBnStats};
use super::trainer::{AtWeights, DeviceTrainError};
use super::{DeviceBatch, DeviceSet, PassOut, pass_on};
use crate::data::BatchSampler;
use crate::train::GradStats;

/// The BatchNorm batch statistics of a measurement's passes, in order, on the device (the CPU's
/// [`crate::train::BnRecord`]).
#[derive(Debug, Default)]
pub struct DeviceBnRecord {
    /// One entry per full-batch chunk, each one [`DeviceBnStats`] per BatchNorm layer.
    pub chunks: Vec<Vec<DeviceBnStats>>,
    /// One entry per fresh mini-batch, likewise.
    pub batches: Vec<Vec<DeviceBnStats>>,
}

/// One training-mode pass with its gradient into `grads`, its statistics recorded when `record`.
fn train_pass(
    at: AtWeights<'_>,
    batch: &DeviceBatch,
    grads: &mut [Buffer<f32>],
    record: Option<&mut Vec<Vec<DeviceBnStats>>>,
) -> Result<PassOut, CudaError> {
    let mut stats = Vec::new();
    let out = {
        let mut mode = match record {
            Some(_) => DeviceBnMode::Record(&mut stats),
            None => DeviceBnMode::Batch,
        };
        pass_on(
            at.device,
            at.net,
            at.head,
            at.weights,
            batch,
            &mut mode,
            Some(grads),
        )?
    };
    if let Some(r) = record {
        r.push(stats);
    }
    Ok(out)
}

/// Gradient statistics at the weights of `at`, as [`crate::train::gradient_statistics`]: the
/// full-batch pass over `data` in chunks of `chunk`, then `samples` mini-batches drawn by
/// `sampler` at iterations `first_iteration..`; with `record`, each pass's BatchNorm statistics.
pub fn gradient_statistics_on(
    at: AtWeights<'_>,
    data: &DeviceSet,
    chunk: usize,
    sampler: &BatchSampler,
    first_iteration: u64,
    samples: usize,
    record: bool,
) -> Result<(GradStats, DeviceBnRecord), DeviceTrainError> {
    let d = at.device;
    let n = data.len();
    let chunk = chunk.max(1);
    let mut rec = DeviceBnRecord::default();
    let mut grads: Vec<Buffer<f32>> = at
        .weights
        .iter()
        .map(|w| d.zeros(w.len()))
        .collect::<Result<_, _>>()?;
    let mut full: Vec<Buffer<f64>> = at
        .weights
        .iter()
        .map(|w| d.zeros(w.len()))
        .collect::<Result<_, _>>()?;
    let mut full_loss = 0.0;
    for start in (0..n).step_by(chunk) {
        let end = (start + chunk).min(n);
        let batch = data.range(d, start..end)?;
        let out = train_pass(at, &batch, &mut grads, record.then_some(&mut rec.chunks))?;
        let weight = (end - start) as f64 / n as f64;
        full_loss += f64::from(out.loss) * weight;
        for (g, f) in grads.iter().zip(full.iter_mut()) {
            axpy_on(d, weight, g, f)?;
        }
    }
    let full_grad_norm = norm_sq_f64_on(d, &full)?.sqrt();
    let mut indices = d.zeros::<u32>(sampler.batch())?;
    let mut sq = 0.0;
    for m in 0..samples {
        let t = first_iteration.wrapping_add(m as u64);
        batch_indices_on(d, sampler.seed(), t, sampler.items(), &mut indices)?;
        let batch = DeviceBatch::gather(d, data, &indices)?;
        train_pass(at, &batch, &mut grads, record.then_some(&mut rec.batches))?;
        sq += sq_distance_on(d, &grads, &full)?;
    }
    if !full_loss.is_finite() || !sq.is_finite() || !full_grad_norm.is_finite() {
        return Err(DeviceTrainError::NonFinite {
            iteration: first_iteration,
        });
    }
    let stats = GradStats {
        full_loss,
        full_grad_norm,
        stoch_grad_rms: (sq / samples.max(1) as f64).sqrt(),
        samples,
    };
    Ok((stats, rec))
}

/// The mean loss and the correct count of `batch` in evaluation mode, BatchNorm by `stats` (one
/// entry per layer, in forward order), as [`crate::Network::evaluate`].
pub fn evaluate_on(
    at: AtWeights<'_>,
    batch: &DeviceBatch,
    stats: &[DeviceBnStats],
) -> Result<PassOut, CudaError> {
    let layers = at.net.bn_layers();
    if stats.len() != layers {
        return Err(CudaError::Launch(format!(
            "evaluation needs statistics for {layers} BatchNorm layers, got {}",
            stats.len()
        )));
    }
    let mut mode = DeviceBnMode::Fixed { stats, next: 0 };
    pass_on(
        at.device, at.net, at.head, at.weights, batch, &mut mode, None,
    )
}
