//! The process-wide CUDA device, chosen once and never silently: GPU 0 by default, or the CPU
//! execution of the same kernels when `THERMOSWEEP_CUDA_DEVICE=cpu` says so (for tests and for
//! checking a sweep's CUDA path on a machine without a GPU; its results say `cuda-on-cpu` in
//! the `backend` column).

use std::sync::OnceLock;

use super::device::Device;
use super::driver::CudaBackend;
use super::error::CudaError;
use super::on_cpu::{CUDA_DEVICE_ENV, CudaOnCpu};

/// The device `THERMOSWEEP_CUDA_DEVICE` names (`gpu` or unset: GPU 0; `cpu`: cuda-on-cpu),
/// probed once per process.
pub fn default_device() -> Result<&'static dyn Device, CudaError> {
    static DEVICE: OnceLock<Result<Box<dyn Device>, CudaError>> = OnceLock::new();
    DEVICE
        .get_or_init(|| {
            let choice = std::env::var(CUDA_DEVICE_ENV);
            match choice.as_deref() {
                Ok("cpu") => {
                    let d = CudaOnCpu::default();
                    tracing::warn!(
                        device = d.name(),
                        "{CUDA_DEVICE_ENV}=cpu: CUDA kernels execute on the CPU (for testing, \
                         not for speed)"
                    );
                    Ok(Box::new(d) as Box<dyn Device>)
                }
                Ok("gpu") | Err(std::env::VarError::NotPresent) => {
                    CudaBackend::probe().map(|b| Box::new(b) as Box<dyn Device>)
                }
                _ => Err(CudaError::NoDevice(format!(
                    "{CUDA_DEVICE_ENV}={choice:?}: expected \"gpu\" or \"cpu\""
                ))),
            }
        })
        .as_ref()
        .map(|d| d.as_ref())
        .map_err(Clone::clone)
}

/// Whether this process can run the CUDA backend: the name of its device, or why not. Cheap
/// enough for an agent to call at start-up (it creates a context but compiles nothing).
pub fn cuda_available() -> Result<String, CudaError> {
    default_device().map(|d| d.name().to_string())
}
