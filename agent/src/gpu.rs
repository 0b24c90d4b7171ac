//! The agent's view of the CUDA backend: whether this build and machine can offer it, and which
//! backend a task runs on. A build without the `cuda` feature, or a machine without a usable GPU,
//! says why and serves CPU tasks (unless `--backend cuda` demanded a GPU).

use sweep_kernels::observer::BatchObserver;
use sweep_kernels::{KernelError, PointSummary, isotropic::IsotropicBatch};
use sweep_spec::model::Backend;

/// The name of the GPU this agent can use, or why it cannot use one.
pub fn detect() -> Result<String, String> {
    #[cfg(feature = "cuda")]
    {
        sweep_kernels::cuda::cuda_available().map_err(|e| e.to_string())
    }
    #[cfg(not(feature = "cuda"))]
    {
        Err("this build has no CUDA backend (build sweep-agent with --features cuda)".into())
    }
}

/// Whether a task whose spec asks for `backend` runs on this agent's GPU.
pub fn use_gpu(backend: Backend, agent_has_gpu: bool) -> bool {
    agent_has_gpu && matches!(backend, Backend::Cuda | Backend::Auto)
}

/// The `backend` column of results this agent computes on its CUDA device: `cuda`, or
/// `cuda-on-cpu` when `THERMOSWEEP_CUDA_DEVICE=cpu` runs the kernels on the CPU.
pub fn gpu_backend_name() -> &'static str {
    #[cfg(feature = "cuda")]
    {
        sweep_kernels::cuda::default_device().map_or("cuda", |d| d.backend())
    }
    #[cfg(not(feature = "cuda"))]
    {
        "cuda"
    }
}

/// Runs `batch` on the GPU.
pub fn run_on_gpu(
    batch: &IsotropicBatch,
    observer: &dyn BatchObserver,
) -> Result<Vec<PointSummary>, KernelError> {
    #[cfg(feature = "cuda")]
    {
        sweep_kernels::cuda::run_isotropic_cuda(batch, observer)
    }
    #[cfg(not(feature = "cuda"))]
    {
        let _ = (batch, observer);
        Err(KernelError::invalid(
            "execution.backend",
            "this build has no CUDA backend",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_go_to_the_gpu_only_when_asked_and_present() {
        assert!(use_gpu(Backend::Cuda, true));
        assert!(use_gpu(Backend::Auto, true));
        assert!(!use_gpu(Backend::Cpu, true));
        assert!(!use_gpu(Backend::Auto, false));
        assert!(!use_gpu(Backend::Cuda, false));
    }

    #[test]
    fn detection_never_panics() {
        // On a machine without CUDA (or a build without the feature) this is an error that says
        // why; with a GPU it is the device name.
        match detect() {
            Ok(name) => assert!(!name.is_empty()),
            Err(why) => assert!(!why.is_empty()),
        }
    }
}
