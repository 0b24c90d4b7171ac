//! BatchNorm without affine parameters on a CUDA device (`batchnorm.cu`), in the layout and
//! arithmetic of the CPU layer (`sweep-nn`'s `layers::batchnorm`): a CNHW tensor of `channels`
//! planes of `m` values each; training mode (batch statistics), evaluation mode (given
//! statistics) and PyTorch's running statistics.
//!
//! Accuracy against the CPU: the per-channel sums run in f64 in another order (relative error
//! ~m·2⁻⁵³), so μ and s = f32(1/√(σ²+ε)) round to the CPU's f32 values or one ulp away; then each
//! y = (x − μ)·s differs by at most [`bn_error_bound`].

use super::device::{Args, Buffer, Device, Shape};
use super::error::CudaError;
use super::sources::KernelSource;

const THREADS: u32 = 256;

/// What a forward pass keeps: `1/√(σ² + ε)` per channel (f32) and the batch statistics (f64).
#[derive(Debug)]
pub struct BnForward {
    /// s per channel.
    pub inv_std: Buffer<f32>,
    /// Mean per channel.
    pub mean: Buffer<f64>,
    /// Biased variance per channel.
    pub var: Buffer<f64>,
}

fn check(x: usize, channels: usize, m: usize) -> Result<Shape, CudaError> {
    if x < channels * m {
        return Err(CudaError::Launch(format!(
            "BatchNorm of {channels}×{m} values given {x}"
        )));
    }
    let blocks =
        u32::try_from(channels).map_err(|_| CudaError::Launch(format!("{channels} channels")))?;
    Ok(Shape::linear(blocks.max(1), THREADS, 0))
}

/// A bound on |y_device − y_cpu| for an element with input `x`, output `y`, channel mean `mean`
/// and scale `inv_std`: one f32 ulp of μ (≤ 2u|μ|) scaled by s, and one ulp of s (≤ 2u) on y, with
/// u = 2⁻²⁴, doubled for the two roundings of each side.
pub fn bn_error_bound(y: f64, mean: f64, inv_std: f64) -> f64 {
    let u = f64::powi(2.0, -24);
    4.0 * u * (inv_std * mean.abs() + y.abs()) + f64::from(f32::MIN_POSITIVE)
}

/// Normalises each of `channels` planes of `m` values of `x` by its batch statistics into `y`.
pub fn bn_forward_on(
    device: &dyn Device,
    x: &Buffer<f32>,
    channels: usize,
    m: usize,
    eps: f32,
    y: &mut Buffer<f32>,
) -> Result<BnForward, CudaError> {
    let shape = check(x.len().min(y.len()), channels, m)?;
    let out = BnForward {
        inv_std: device.zeros(channels)?,
        mean: device.zeros(channels)?,
        var: device.zeros(channels)?,
    };
    if channels == 0 || m == 0 {
        return Ok(out);
    }
    let (m_i, eps) = (m as i64, f64::from(eps));
    let args = Args::new()
        .buf(x)
        .val(&m_i)
        .val(&eps)
        .buf(y)
        .buf(&out.inv_std)
        .buf(&out.mean)
        .buf(&out.var);
    // SAFETY: matches bn_forward_f32's signature; x and y hold channels·m values, the outputs
    // `channels` each.
    unsafe { device.launch(KernelSource::BatchNorm, "bn_forward_f32", shape, args) }?;
    Ok(out)
}

/// `dx = s·(dy − mean(dy) − y·mean(dy·y))` per channel, from the forward output `y` and its `s`.
pub fn bn_backward_on(
    device: &dyn Device,
    y: &Buffer<f32>,
    inv_std: &Buffer<f32>,
    dy: &Buffer<f32>,
    channels: usize,
    m: usize,
    dx: &mut Buffer<f32>,
) -> Result<(), CudaError> {
    let shape = check(y.len().min(dy.len()).min(dx.len()), channels, m)?;
    if inv_std.len() < channels {
        return Err(CudaError::Launch("fewer scales than channels".into()));
    }
    if channels == 0 || m == 0 {
        return Ok(());
    }
    let m_i = m as i64;
    let args = Args::new().buf(y).buf(dy).buf(inv_std).val(&m_i).buf(dx);
    // SAFETY: matches bn_backward_f32's signature; lengths checked.
    unsafe { device.launch(KernelSource::BatchNorm, "bn_backward_f32", shape, args) }
}

/// Evaluation mode: normalises each of `channels` planes of `m` values of `x` by the given
/// per-channel `mean` and (running) `var` into `y`, returning `s = f32(1/√(σ² + ε))` per channel.
#[allow(clippy::too_many_arguments)]
pub fn bn_apply_on(
    device: &dyn Device,
    x: &Buffer<f32>,
    channels: usize,
    m: usize,
    eps: f32,
    mean: &Buffer<f64>,
    var: &Buffer<f64>,
    y: &mut Buffer<f32>,
) -> Result<Buffer<f32>, CudaError> {
    let shape = check(x.len().min(y.len()), channels, m)?;
    if mean.len() != channels || var.len() != channels {
        return Err(CudaError::Launch(format!(
            "statistics of {} and {} channels for {channels}",
            mean.len(),
            var.len()
        )));
    }
    let inv_std = device.zeros(channels)?;
    if channels == 0 || m == 0 {
        return Ok(inv_std);
    }
    let (m_i, eps) = (m as i64, f64::from(eps));
    let args = Args::new()
        .buf(x)
        .val(&m_i)
        .val(&eps)
        .buf(mean)
        .buf(var)
        .buf(y)
        .buf(&inv_std);
    // SAFETY: matches bn_apply_f32's signature; x and y hold channels·m values, the statistics
    // and inv_std `channels` each.
    unsafe { device.launch(KernelSource::BatchNorm, "bn_apply_f32", shape, args) }?;
    Ok(inv_std)
}

/// Folds one training-mode pass's batch statistics (mean, biased variance, over `count` values
/// per channel) into the running statistics with `momentum`, as PyTorch does (the variance
/// made unbiased by `count/(count − 1)`).
pub fn bn_running_on(
    device: &dyn Device,
    momentum: f64,
    (batch_mean, batch_var, count): (&Buffer<f64>, &Buffer<f64>, usize),
    run_mean: &mut Buffer<f64>,
    run_var: &mut Buffer<f64>,
) -> Result<(), CudaError> {
    let channels = run_mean.len();
    if [batch_mean.len(), batch_var.len(), run_var.len()] != [channels; 3] {
        return Err(CudaError::Launch(
            "running and batch statistics of different channel counts".into(),
        ));
    }
    if channels == 0 {
        return Ok(());
    }
    let unbias = if count > 1 {
        count as f64 / (count - 1) as f64
    } else {
        1.0
    };
    let c = i32::try_from(channels).map_err(|_| CudaError::Launch("channels".into()))?;
    let args = Args::new()
        .val(&c)
        .val(&momentum)
        .val(&unbias)
        .buf(batch_mean)
        .buf(batch_var)
        .buf(run_mean)
        .buf(run_var);
    let shape = Shape::linear(channels.div_ceil(THREADS as usize) as u32, THREADS, 0);
    // SAFETY: matches bn_running_f64's signature; every buffer holds `channels` values.
    unsafe { device.launch(KernelSource::BatchNorm, "bn_running_f64", shape, args) }
}
