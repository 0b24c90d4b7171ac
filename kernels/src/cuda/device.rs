//! One CUDA device, probed without panicking, with its loaded modules cached per kernel (the
//! compiled images are cached per architecture and options in [`super::sources`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cudarc::driver::{CudaContext, CudaFunction, CudaModule, CudaStream};
use cudarc::nvrtc::Ptx;

use super::error::CudaError;
use super::libs::driver_present;
use super::sources::{KernelSource, arch_name, compile_cubin, kernels_available};

/// A usable GPU: its context, a stream and its loaded kernels.
pub struct CudaBackend {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    name: String,
    arch: String,
    modules: Mutex<HashMap<KernelSource, Arc<CudaModule>>>,
}

impl std::fmt::Debug for CudaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CudaBackend")
            .field("name", &self.name)
            .field("arch", &self.arch)
            .finish_non_exhaustive()
    }
}

/// Whether this machine can run the CUDA backend: the name of device 0, or why not. Cheap
/// enough for an agent to call at start-up to decide whether to advertise a GPU (it creates a
/// context but compiles nothing).
pub fn cuda_available() -> Result<String, CudaError> {
    let backend = CudaBackend::probe()?;
    Ok(backend.name)
}

impl CudaBackend {
    /// Device 0, after checking that the driver loads, the device exists and its kernels can be
    /// had (NVRTC loads, or every image is prebuilt in `THERMOSWEEP_CUBIN_DIR`).
    pub fn probe() -> Result<Self, CudaError> {
        Self::probe_ordinal(0)
    }

    /// Device `ordinal`, as [`CudaBackend::probe`].
    pub fn probe_ordinal(ordinal: usize) -> Result<Self, CudaError> {
        if !driver_present() {
            return Err(CudaError::NoDriver);
        }
        let count =
            CudaContext::device_count().map_err(|e| CudaError::NoDevice(format!("{e:?}")))?;
        if usize::try_from(count).unwrap_or(0) <= ordinal {
            return Err(CudaError::NoDevice(format!(
                "device {ordinal} requested, {count} present"
            )));
        }
        let ctx = CudaContext::new(ordinal).map_err(|e| CudaError::NoDevice(format!("{e:?}")))?;
        let name = ctx
            .name()
            .map_err(|e| CudaError::driver("device name", e))?;
        let (major, minor) = ctx
            .compute_capability()
            .map_err(|e| CudaError::driver("compute capability", e))?;
        let arch = arch_name(major, minor);
        if !kernels_available(&arch) {
            return Err(CudaError::NoNvrtc);
        }
        let stream = ctx.default_stream();
        tracing::info!(%name, major, minor, "CUDA device ready");
        Ok(Self {
            ctx,
            stream,
            name,
            arch,
            modules: Mutex::new(HashMap::new()),
        })
    }

    /// The device name, e.g. "NVIDIA H200".
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The architecture kernels are compiled for, e.g. `sm_90`.
    pub fn arch(&self) -> &str {
        &self.arch
    }

    /// The stream every launch of this backend goes to.
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    /// (free, total) device memory in bytes.
    pub fn memory(&self) -> Result<(usize, usize), CudaError> {
        self.ctx
            .mem_get_info()
            .map_err(|e| CudaError::driver("memory info", e))
    }

    /// Kernel `function` of `kernel`, compiling and loading the module on first use.
    pub fn function(
        &self,
        kernel: KernelSource,
        function: &str,
    ) -> Result<CudaFunction, CudaError> {
        let module = {
            let mut modules = self
                .modules
                .lock()
                .map_err(|_| CudaError::Launch("module cache poisoned".into()))?;
            match modules.get(&kernel) {
                Some(m) => m.clone(),
                None => {
                    let image = compile_cubin(kernel, &self.arch)?;
                    let m = self
                        .ctx
                        .load_module(Ptx::from_binary(image.as_ref().clone()))
                        .map_err(|e| CudaError::driver(kernel.file_name(), e))?;
                    modules.insert(kernel, m.clone());
                    m
                }
            }
        };
        module
            .load_function(function)
            .map_err(|e| CudaError::driver(function, e))
    }
}
