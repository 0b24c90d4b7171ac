//! The kernels' error type: what a caller (agent, CLI, test) can act on.

/// Why a batch could not run or finish.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// A request field breaks a rule; `field` is its spec key.
    #[error("invalid {field}: {rule}")]
    Invalid {
        /// The spec key, e.g. `schedule.average_last`.
        field: String,
        /// The rule it breaks.
        rule: String,
    },
    /// The caller cancelled the batch.
    #[error("cancelled")]
    Cancelled,
    /// The entropy estimator rejected the queue.
    #[error("entropy estimate failed: {0}")]
    Entropy(#[from] crate::entropy::EntropyError),
    /// The CUDA backend could not run the batch (no driver, device or NVRTC, or a device error).
    #[cfg(feature = "cuda")]
    #[error("CUDA backend: {0}")]
    Cuda(#[from] crate::cuda::CudaError),
}

impl KernelError {
    /// An [`KernelError::Invalid`] for `field`.
    pub fn invalid(field: &str, rule: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.to_string(),
            rule: rule.into(),
        }
    }
}
