//! The scale-invariant SGD step for network weights (SPEC §2) on the GPU, and its CPU reference.
//!
//! One step on a flat f32 weight vector `w` with gradient `g` (of the loss at `w`):
//! * fixed LR: `w ← w − η(g + λw)`;
//! * fixed ELR: the same with `η = η_eff‖w‖²` from the current norm;
//! * fixed sphere: `w̃ = w − ηg` with `η = η_eff r²`, then `w ← r·w̃/‖w̃‖`.
//!
//! Arithmetic is f64 per element, stored back as f32; norms are f64 sums (block reductions on the
//! device, so their summation order differs from the CPU's by rounding only).

use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};
use sweep_theory::Protocol;

use super::device::CudaBackend;
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

/// One step on device buffers (same length); returns (‖w‖² before, ‖w'‖² after the step).
pub fn si_update_on(
    backend: &CudaBackend,
    w: &mut CudaSlice<f32>,
    grad: &CudaSlice<f32>,
    step: SiStep,
) -> Result<(f64, f64), CudaError> {
    let stream = backend.stream();
    let len = w.len().min(grad.len());
    let n = len as i64;
    let mut norms = stream
        .alloc_zeros::<f64>(2)
        .map_err(|e| CudaError::driver("norms", e))?;
    let cfg = LaunchConfig {
        grid_dim: (blocks(len), 1, 1),
        block_dim: (THREADS, 1, 1),
        shared_mem_bytes: 0,
    };
    let norm_fn = backend.function(KernelSource::SiUpdate, "si_norm_sq")?;
    let step_fn = backend.function(KernelSource::SiUpdate, "si_step")?;
    let protocol = protocol_code(step.protocol);
    {
        let mut b = stream.launch_builder(&norm_fn);
        b.arg(&*w).arg(&n).arg(&mut norms);
        // SAFETY: matches si_norm_sq(const float*, long long, double*).
        unsafe { b.launch(cfg) }.map_err(|e| CudaError::driver("si_norm_sq", e))?;
    }
    {
        let mut b = stream.launch_builder(&step_fn);
        b.arg(&mut *w)
            .arg(grad)
            .arg(&n)
            .arg(&protocol)
            .arg(&step.first)
            .arg(&step.second)
            .arg(&mut norms);
        // SAFETY: matches si_step's signature; both buffers hold at least `n` values.
        unsafe { b.launch(cfg) }.map_err(|e| CudaError::driver("si_step", e))?;
    }
    if step.protocol == Protocol::FixedSphere {
        let project = backend.function(KernelSource::SiUpdate, "si_project")?;
        let mut b = stream.launch_builder(&project);
        b.arg(&mut *w).arg(&n).arg(&step.second).arg(&norms);
        // SAFETY: matches si_project(float*, long long, double, const double*).
        unsafe { b.launch(cfg) }.map_err(|e| CudaError::driver("si_project", e))?;
    }
    let out = stream
        .clone_dtoh(&norms)
        .map_err(|e| CudaError::driver("copy norms", e))?;
    Ok((out[0], out[1]))
}

/// [`si_update_on`] for host vectors (copies in and out): for tests and small models.
pub fn si_update_host(
    backend: &CudaBackend,
    w: &mut [f32],
    grad: &[f32],
    step: SiStep,
) -> Result<(f64, f64), CudaError> {
    let stream = backend.stream();
    let mut w_d = stream
        .clone_htod(w)
        .map_err(|e| CudaError::driver("weights", e))?;
    let g_d = stream
        .clone_htod(grad)
        .map_err(|e| CudaError::driver("gradient", e))?;
    let norms = si_update_on(backend, &mut w_d, &g_d, step)?;
    stream
        .memcpy_dtoh(&w_d, w)
        .map_err(|e| CudaError::driver("copy weights", e))?;
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
