//! Why the CUDA backend cannot serve a request, as values a caller can act on: an agent that gets
//! [`CudaError::NoDriver`] or [`CudaError::NoDevice`] advertises no GPU and keeps serving CPU
//! tasks. Nothing in the backend panics on a missing library; these errors say so instead.

/// A failure of the CUDA backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CudaError {
    /// `libcuda.so` (the NVIDIA driver) cannot be loaded.
    #[error("no CUDA driver: libcuda could not be loaded")]
    NoDriver,
    /// The driver loaded but reports no usable device (or device `ordinal` does not exist).
    #[error("no CUDA device: {0}")]
    NoDevice(String),
    /// `libnvrtc.so` cannot be loaded and no prebuilt images are at hand, so there are no kernels.
    #[error(
        "no NVRTC: libnvrtc could not be loaded (pip install nvidia-cuda-nvrtc-cu12) and \
         THERMOSWEEP_CUBIN_DIR holds no prebuilt kernels for this GPU"
    )]
    NoNvrtc,
    /// NVRTC rejected a kernel source.
    #[error("kernel {kernel} failed to compile: {log}")]
    Compile {
        /// The kernel source file, e.g. `isotropic.cu`.
        kernel: String,
        /// NVRTC's log.
        log: String,
    },
    /// A device allocation failed.
    #[error("out of device memory: {0}")]
    OutOfMemory(String),
    /// A driver call (module load, launch, copy) failed.
    #[error("CUDA launch failed: {0}")]
    Launch(String),
}

impl CudaError {
    /// Maps a driver error, keeping out-of-memory apart (`what` says which call failed).
    pub(crate) fn driver(what: &str, e: cudarc::driver::DriverError) -> Self {
        use cudarc::driver::sys::cudaError_enum::CUDA_ERROR_OUT_OF_MEMORY;
        if e.0 == CUDA_ERROR_OUT_OF_MEMORY {
            Self::OutOfMemory(format!("{what}: {e:?}"))
        } else {
            Self::Launch(format!("{what}: {e:?}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::CudaError;

    #[test]
    fn errors_say_what_is_missing() {
        assert!(
            CudaError::NoNvrtc
                .to_string()
                .contains("nvidia-cuda-nvrtc-cu12")
        );
        let e = CudaError::Compile {
            kernel: "nearest.cu".into(),
            log: "error: x".into(),
        };
        assert!(e.to_string().contains("nearest.cu"));
    }
}
