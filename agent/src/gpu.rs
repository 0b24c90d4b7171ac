//! The agent's view of the CUDA backend: whether this build and machine can offer it, and which
//! backend a task runs on. A build without the `cuda` feature, or a machine without a usable GPU,
//! says why and serves CPU tasks (unless `--backend cuda` demanded a GPU).

use sweep_kernels::Backend;
use sweep_spec::model::Backend as SpecBackend;

/// The name of the GPU this agent can use, or why it cannot use one.
pub fn detect() -> Result<String, String> {
    Backend::cuda().map(|b| b.device_name())
}

/// Whether a task whose spec asks for `backend` runs on this agent's GPU.
pub fn use_gpu(backend: SpecBackend, agent_has_gpu: bool) -> bool {
    agent_has_gpu && matches!(backend, SpecBackend::Cuda | SpecBackend::Auto)
}

/// The backend a task runs on: the CUDA device when `on_gpu` (and this process has one), else
/// the CPU.
pub fn backend_for(on_gpu: bool) -> Result<Backend, String> {
    if on_gpu {
        Backend::cuda()
    } else {
        Ok(Backend::Cpu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_go_to_the_gpu_only_when_asked_and_present() {
        assert!(use_gpu(SpecBackend::Cuda, true));
        assert!(use_gpu(SpecBackend::Auto, true));
        assert!(!use_gpu(SpecBackend::Cpu, true));
        assert!(!use_gpu(SpecBackend::Auto, false));
        assert!(!use_gpu(SpecBackend::Cuda, false));
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
