//! The f64 reductions of a network's gradient measurement on a CUDA device (`measure.cu`): the
//! full-batch gradient accumulated from f32 chunk gradients (`y += alpha·x`, the CPU's expression
//! per element, so bit for bit the CPU's given the same chunk gradients), its squared norm, and a
//! mini-batch gradient's squared distance from it (block sums: within f64 rounding of the CPU's
//! sequential sums).

use super::device::{Args, Buffer, Device, Shape};
use super::error::CudaError;
use super::sources::KernelSource;

const THREADS: u32 = 256;

fn shape(len: usize) -> Shape {
    Shape::linear(
        len.div_ceil(THREADS as usize).clamp(1, 4096) as u32,
        THREADS,
        0,
    )
}

fn same(a: usize, b: usize) -> Result<(), CudaError> {
    if a != b {
        return Err(CudaError::Launch(format!("buffers of {a} and {b} values")));
    }
    Ok(())
}

/// `y += alpha·x` (x f32, y f64).
pub fn axpy_on(
    device: &dyn Device,
    alpha: f64,
    x: &Buffer<f32>,
    y: &mut Buffer<f64>,
) -> Result<(), CudaError> {
    same(x.len(), y.len())?;
    let args = Args::new().val(&(x.len() as i64)).val(&alpha).buf(x).buf(y);
    // SAFETY: matches axpy_f64(long long, double, const float*, double*); same lengths.
    unsafe { device.launch(KernelSource::Measure, "axpy_f64", shape(x.len()), args) }
}

/// Σ y² over every buffer of `parts`.
pub fn norm_sq_f64_on(device: &dyn Device, parts: &[Buffer<f64>]) -> Result<f64, CudaError> {
    let out = device.zeros::<f64>(1)?;
    for y in parts {
        let args = Args::new().val(&(y.len() as i64)).buf(y).buf(&out);
        // SAFETY: matches norm_sq_f64(long long, const double*, double*).
        unsafe { device.launch(KernelSource::Measure, "norm_sq_f64", shape(y.len()), args) }?;
    }
    Ok(device.download_all(&out)?[0])
}

/// Σ (x − y)² over every pair of buffers of `xs` and `ys`.
pub fn sq_distance_on(
    device: &dyn Device,
    xs: &[Buffer<f32>],
    ys: &[Buffer<f64>],
) -> Result<f64, CudaError> {
    same(xs.len(), ys.len())?;
    let out = device.zeros::<f64>(1)?;
    for (x, y) in xs.iter().zip(ys) {
        same(x.len(), y.len())?;
        let args = Args::new().val(&(x.len() as i64)).buf(x).buf(y).buf(&out);
        // SAFETY: matches sq_distance_f64(long long, const float*, const double*, double*).
        unsafe {
            device.launch(
                KernelSource::Measure,
                "sq_distance_f64",
                shape(x.len()),
                args,
            )
        }?;
    }
    Ok(device.download_all(&out)?[0])
}
