//! The scale-invariant SGD step for network weights (SPEC §2) on a CUDA device (`si_update.cu`),
//! and its CPU reference, both with the arithmetic of the CPU trainer (`sweep-nn`'s
//! `train::apply_update`, which a test there ties to [`si_update_cpu`] bit for bit):
//! * the rates: fixed LR (η, λ); fixed ELR (η_eff·‖w‖·‖w‖, λ); fixed sphere (η_eff·r², 0);
//! * per weight in f32: `w ← f32(1 − ηλ)·w − f32(η)·g`;
//! * fixed sphere: `w ← f32(r/‖w̃‖)·w`.
//!
//! Norms are f64 sums of the f32 values (block reductions on the device, so their order differs
//! from the CPU's by rounding only). The weights may live in several buffers (one per layer).

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

/// What a step did: its learning rate, ‖w̃‖ after the gradient step, ‖w‖ after the step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SiStepInfo {
    /// ‖w‖ before the step.
    pub norm_before: f64,
    /// The learning rate applied.
    pub lr: f64,
    /// ‖w̃‖ after the gradient step, before any projection.
    pub pre_norm: f64,
    /// ‖w‖ after the step.
    pub norm: f64,
}

impl SiStep {
    /// (η, λ) of this step given ‖w‖.
    pub fn rates(&self, norm: f64) -> (f64, f64) {
        match self.protocol {
            Protocol::FixedLr => (self.first, self.second),
            Protocol::FixedElr => (self.first * norm * norm, self.second),
            Protocol::FixedSphere => (self.first * self.second * self.second, 0.0),
        }
    }
}

fn norm(v: &[f32]) -> f64 {
    v.iter()
        .map(|x| f64::from(*x) * f64::from(*x))
        .sum::<f64>()
        .sqrt()
}

/// The CPU reference step.
pub fn si_update_cpu(w: &mut [f32], grad: &[f32], step: SiStep) -> SiStepInfo {
    let norm_before = norm(w);
    let (lr, wd) = step.rates(norm_before);
    let (shrink, lr_t) = ((1.0 - lr * wd) as f32, lr as f32);
    for (x, g) in w.iter_mut().zip(grad) {
        *x = shrink * *x - lr_t * *g;
    }
    let pre_norm = norm(w);
    let norm_after = if step.protocol == Protocol::FixedSphere {
        if pre_norm > 0.0 {
            let f = (step.second / pre_norm) as f32;
            w.iter_mut().for_each(|x| *x *= f);
        }
        norm(w)
    } else {
        pre_norm
    };
    SiStepInfo {
        norm_before,
        lr,
        pre_norm,
        norm: norm_after,
    }
}

/// Blocks for `len` elements: enough to fill the device, each thread striding over the rest.
fn shape(len: usize) -> Shape {
    Shape::linear(
        (len.div_ceil(THREADS as usize)).clamp(1, 4096) as u32,
        THREADS,
        0,
    )
}

/// Σ x² over every buffer of `parts` (f64, on the device): a gradient's squared norm.
pub fn norm_sq_groups_on(device: &dyn Device, parts: &[Buffer<f32>]) -> Result<f64, CudaError> {
    let out = device.zeros::<f64>(1)?;
    for b in parts {
        let n = b.len() as i64;
        let args = Args::new().buf(b).val(&n).buf(&out);
        // SAFETY: matches si_norm_sq(const float*, long long, double*); `b` holds `n` values.
        unsafe { device.launch(KernelSource::SiUpdate, "si_norm_sq", shape(b.len()), args) }?;
    }
    Ok(device.download_all(&out)?[0])
}

/// One step on weights split over `w` (with gradients `grad`, buffer for buffer of the same
/// lengths), on the device.
pub fn si_update_groups_on(
    device: &dyn Device,
    w: &mut [Buffer<f32>],
    grad: &[Buffer<f32>],
    step: SiStep,
) -> Result<SiStepInfo, CudaError> {
    if w.len() != grad.len() || w.iter().zip(grad).any(|(a, b)| a.len() != b.len()) {
        return Err(CudaError::Launch(
            "weights and gradients of different lengths".into(),
        ));
    }
    let norms = device.zeros::<f64>(3)?;
    let protocol = protocol_code(step.protocol);
    for b in w.iter() {
        let n = b.len() as i64;
        let args = Args::new().buf(b).val(&n).buf(&norms);
        // SAFETY: matches si_norm_sq(const float*, long long, double*); `b` holds `n` values.
        unsafe { device.launch(KernelSource::SiUpdate, "si_norm_sq", shape(b.len()), args) }?;
    }
    for (b, g) in w.iter().zip(grad) {
        let n = b.len() as i64;
        let args = Args::new()
            .buf(b)
            .buf(g)
            .val(&n)
            .val(&protocol)
            .val(&step.first)
            .val(&step.second)
            .buf(&norms);
        // SAFETY: matches si_step's signature; both buffers hold `n` values.
        unsafe { device.launch(KernelSource::SiUpdate, "si_step", shape(b.len()), args) }?;
    }
    let sphere = step.protocol == Protocol::FixedSphere;
    if sphere {
        for b in w.iter() {
            let n = b.len() as i64;
            let args = Args::new().buf(b).val(&n).val(&step.second).buf(&norms);
            // SAFETY: matches si_project(float*, long long, double, double*).
            unsafe { device.launch(KernelSource::SiUpdate, "si_project", shape(b.len()), args) }?;
        }
    }
    let out = device.download_all(&norms)?;
    let norm_before = out[0].sqrt();
    Ok(SiStepInfo {
        norm_before,
        lr: step.rates(norm_before).0,
        pre_norm: out[1].sqrt(),
        norm: if sphere { out[2].sqrt() } else { out[1].sqrt() },
    })
}

/// [`si_update_groups_on`] for host vectors (copies in and out): for tests and small models.
pub fn si_update_host(
    device: &dyn Device,
    w: &mut [f32],
    grad: &[f32],
    step: SiStep,
) -> Result<SiStepInfo, CudaError> {
    let mut w_d = [device.upload(w)?];
    let g_d = [device.upload(grad)?];
    let info = si_update_groups_on(device, &mut w_d, &g_d, step)?;
    device.copy_out(&w_d[0], 0..w.len(), w)?;
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_reference_follows_each_protocol() {
        let g = [0.5f32, -1.0, 0.0];
        let mut w = [1.0f32, 2.0, 2.0];
        let info = si_update_cpu(
            &mut w,
            &g,
            SiStep {
                protocol: Protocol::FixedLr,
                first: 0.1,
                second: 0.5,
            },
        );
        assert_eq!(info.norm_before, 3.0);
        let shrink = (1.0 - 0.1 * 0.5) as f32;
        assert_eq!(w, [shrink - 0.1 * 0.5, shrink * 2.0 + 0.1, shrink * 2.0]);
        // Fixed ELR: η = η_eff‖w‖² = 0.01·9.
        let mut w = [1.0f32, 2.0, 2.0];
        let info = si_update_cpu(
            &mut w,
            &g,
            SiStep {
                protocol: Protocol::FixedElr,
                first: 0.01,
                second: 0.0,
            },
        );
        assert!((info.lr - 0.09).abs() < 1e-15);
        assert_eq!(w[1], 2.0 + 0.09f64 as f32);
        // Fixed sphere: back on radius 3.
        let mut w = [1.0f32, 2.0, 2.0];
        let info = si_update_cpu(
            &mut w,
            &g,
            SiStep {
                protocol: Protocol::FixedSphere,
                first: 0.01,
                second: 3.0,
            },
        );
        assert!((info.norm - 3.0).abs() < 1e-6, "{info:?}");
    }
}
