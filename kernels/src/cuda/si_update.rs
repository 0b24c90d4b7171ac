//! The scale-invariant SGD step for network weights (SPEC §2) on a CUDA device, and its CPU
//! reference.
//!
//! One step on a flat f32 weight vector `w` with gradient `g` (of the loss at `w`):
//! * fixed LR: `w ← w − η(g + λw)`;
//! * fixed ELR: the same with `η = η_eff‖w‖²` from the current norm;
//! * fixed sphere: `w̃ = w − ηg` with `η = η_eff r²`, then `w ← r·w̃/‖w̃‖`.
//!
//! Arithmetic is f64 per element, stored back as f32; norms are f64 sums (block reductions on the
//! device, so their summation order differs from the CPU's by rounding only).

use sweep_theory::Protocol;

use super::device::{Args, Buffer, Device, Shape};
use super::error::CudaError;
use super::layout::protocol_code;
use super::sources::KernelSource;

/// Threads per block of si_update.cu.
const THREADS: u32 = 256;

/// One step's protocol and hyperparameters: `first` is η or η_eff, `second` is λ or r.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SiStep {
    /// The protocol.
    pub protocol: Protocol,
    /// η (fixed LR) or η_eff (fixed ELR, fixed sphere).
    pub first: f64,
    /// λ (fixed LR, fixed ELR) or r (fixed sphere).
    pub second: f64,
}

impl SiStep {
    /// (η, λ) of this step given ‖w‖².
    pub fn eta_wd(&self, norm_sq: f64) -> (f64, f64) {
        match self.protocol {
            Protocol::FixedLr => (self.first, self.second),
            Protocol::FixedElr => (self.first * norm_sq, self.second),
            Protocol::FixedSphere => (self.first * self.second * self.second, 0.0),
        }
    }
}

/// The CPU reference step; returns (‖w‖² before, ‖w'‖² after the gradient step, before any
/// projection).
pub fn si_update_cpu(w: &mut [f32], grad: &[f32], step: SiStep) -> (f64, f64) {
    let before: f64 = w.iter().map(|x| f64::from(*x) * f64::from(*x)).sum();
    let (eta, wd) = step.eta_wd(before);
    let mut after = 0.0;
    for (x, g) in w.iter_mut().zip(grad) {
        let xd = f64::from(*x);
        let y = (xd - eta * (f64::from(*g) + wd * xd)) as f32;
        *x = y;
        after += f64::from(y) * f64::from(y);
    }
    if step.protocol == Protocol::FixedSphere {
        let f = step.second / after.sqrt();
        w.iter_mut().for_each(|x| *x = (f64::from(*x) * f) as f32);
    }
    (before, after)
}

/// Blocks for `len` elements: enough to fill the device, each thread striding over the rest.
fn blocks(len: usize) -> u32 {
    (len.div_ceil(THREADS as usize)).clamp(1, 4096) as u32
}

/// The launch shape of the three kernels for `len` weights.
pub fn si_shape(len: usize) -> Shape {
    Shape::linear(blocks(len), THREADS, 0)
}

/// One step on device buffers (same length); returns (‖w‖² before, ‖w'‖² after the step).
pub fn si_update_on(
    device: &dyn Device,
    w: &mut Buffer<f32>,
    grad: &Buffer<f32>,
    step: SiStep,
) -> Result<(f64, f64), CudaError> {
    let len = w.len().min(grad.len());
    let n = len as i64;
    let norms = device.zeros::<f64>(2)?;
    let shape = si_shape(len);
    let protocol = protocol_code(step.protocol);
    let args = Args::new().buf(w).val(&n).buf(&norms);
    // SAFETY: matches si_norm_sq(const float*, long long, double*); `w` holds `n` values.
    unsafe { device.launch(KernelSource::SiUpdate, "si_norm_sq", shape, args) }?;
    let args = Args::new()
        .buf(w)
        .buf(grad)
        .val(&n)
        .val(&protocol)
        .val(&step.first)
        .val(&step.second)
        .buf(&norms);
    // SAFETY: matches si_step's signature; both buffers hold at least `n` values.
    unsafe { device.launch(KernelSource::SiUpdate, "si_step", shape, args) }?;
    if step.protocol == Protocol::FixedSphere {
        let args = Args::new().buf(w).val(&n).val(&step.second).buf(&norms);
        // SAFETY: matches si_project(float*, long long, double, const double*).
        unsafe { device.launch(KernelSource::SiUpdate, "si_project", shape, args) }?;
    }
    let out = device.download_all(&norms)?;
    Ok((out[0], out[1]))
}

/// [`si_update_on`] for host vectors (copies in and out): for tests and small models.
pub fn si_update_host(
    device: &dyn Device,
    w: &mut [f32],
    grad: &[f32],
    step: SiStep,
) -> Result<(f64, f64), CudaError> {
    let mut w_d = device.upload(w)?;
    let g_d = device.upload(grad)?;
    let norms = si_update_on(device, &mut w_d, &g_d, step)?;
    device.copy_out(&w_d, 0..w.len(), w)?;
    Ok(norms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_reference_follows_each_protocol() {
        let g = [0.5f32, -1.0, 0.0];
        let mut w = [1.0f32, 2.0, 2.0];
        let (b, _) = si_update_cpu(
            &mut w,
            &g,
            SiStep {
                protocol: Protocol::FixedLr,
                first: 0.1,
                second: 0.5,
            },
        );
        assert_eq!(b, 9.0);
        assert_eq!(w, [(1.0 - 0.1 * 1.0) as f32, (2.0 - 0.1 * 0.0) as f32, 1.9]);
        // Fixed ELR: η = η_eff‖w‖² = 0.01·9.
        let mut w = [1.0f32, 2.0, 2.0];
        si_update_cpu(
            &mut w,
            &g,
            SiStep {
                protocol: Protocol::FixedElr,
                first: 0.01,
                second: 0.0,
            },
        );
        assert_eq!(w[1], (2.0 + 0.09f64) as f32);
        // Fixed sphere: back on radius 3.
        let mut w = [1.0f32, 2.0, 2.0];
        si_update_cpu(
            &mut w,
            &g,
            SiStep {
                protocol: Protocol::FixedSphere,
                first: 0.01,
                second: 3.0,
            },
        );
        let r: f64 = w.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
        assert!((r - 3.0).abs() < 1e-6, "{r}");
    }
}
