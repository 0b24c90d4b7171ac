//! The closed set of backends a batch of isotropic chains runs on: the CPU's SIMD chain groups,
//! or a CUDA device (a GPU, or the CPU execution of the same kernels). Callers match on
//! [`Backend`] and never on the `cuda` feature: without it, the CUDA variant holds an uninhabited
//! stub ([`NoCuda`]) and [`Backend::cuda`] says why there is none.

use crate::error::KernelError;
use crate::isotropic::{IsotropicBatch, run_isotropic};
use crate::observer::BatchObserver;
use crate::summary::PointSummary;

/// The device of the CUDA backend in this build.
#[cfg(feature = "cuda")]
pub type CudaDevice = &'static dyn crate::cuda::Device;
/// The device of the CUDA backend in this build: none (built without the `cuda` feature).
#[cfg(not(feature = "cuda"))]
pub type CudaDevice = NoCuda;

/// The CUDA device of a build without the `cuda` feature: no value exists.
#[derive(Clone, Copy, Debug)]
pub enum NoCuda {}

/// Where a batch runs.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    /// The CPU chain groups.
    Cpu,
    /// The process-wide CUDA device.
    Cuda(CudaDevice),
}

impl Backend {
    /// The CUDA backend on the process-wide device (`THERMOSWEEP_CUDA_DEVICE`), or why this build
    /// or machine has none.
    pub fn cuda() -> Result<Self, String> {
        #[cfg(feature = "cuda")]
        {
            crate::cuda::default_device()
                .map(Backend::Cuda)
                .map_err(|e| e.to_string())
        }
        #[cfg(not(feature = "cuda"))]
        {
            Err("this build has no CUDA backend (build with --features cuda)".into())
        }
    }

    /// What the batch runs on, e.g. `cpu` or `NVIDIA H200`.
    pub fn device_name(&self) -> String {
        match self {
            Self::Cpu => "cpu".into(),
            Self::Cuda(d) => cuda_name(d),
        }
    }

    /// The `backend` column of results computed here: `cpu`, `cuda` or `cuda-on-cpu`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Cuda(d) => cuda_label(d),
        }
    }

    /// Runs `batch` here ([`run_isotropic`]'s contract on every backend).
    pub fn run_isotropic(
        &self,
        batch: &IsotropicBatch,
        observer: &dyn BatchObserver,
    ) -> Result<Vec<PointSummary>, KernelError> {
        match self {
            Self::Cpu => run_isotropic(batch, observer),
            Self::Cuda(d) => cuda_run(d, batch, observer),
        }
    }
}

#[cfg(feature = "cuda")]
fn cuda_name(d: &CudaDevice) -> String {
    d.name().to_string()
}

#[cfg(feature = "cuda")]
fn cuda_label(d: &CudaDevice) -> &'static str {
    d.backend()
}

#[cfg(feature = "cuda")]
fn cuda_run(
    d: &CudaDevice,
    batch: &IsotropicBatch,
    observer: &dyn BatchObserver,
) -> Result<Vec<PointSummary>, KernelError> {
    crate::cuda::isotropic::run_isotropic_on(*d, batch, observer)
}

#[cfg(not(feature = "cuda"))]
fn cuda_name(d: &NoCuda) -> String {
    match *d {}
}

#[cfg(not(feature = "cuda"))]
fn cuda_label(d: &NoCuda) -> &'static str {
    match *d {}
}

#[cfg(not(feature = "cuda"))]
fn cuda_run(
    d: &NoCuda,
    _batch: &IsotropicBatch,
    _observer: &dyn BatchObserver,
) -> Result<Vec<PointSummary>, KernelError> {
    match *d {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_backend_is_always_there_and_cuda_says_why_not() {
        assert_eq!(Backend::Cpu.label(), "cpu");
        match Backend::cuda() {
            Ok(b) => assert!(matches!(b.label(), "cuda" | "cuda-on-cpu")),
            Err(why) => assert!(!why.is_empty()),
        }
    }
}
