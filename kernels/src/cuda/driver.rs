//! One GPU through the CUDA driver API (cudarc), probed without panicking, with its loaded
//! modules cached per kernel (the compiled images are cached per architecture and options in
//! [`super::sources`]); the GPU implementation of [`Device`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cudarc::driver::{CudaContext, CudaFunction, CudaModule, CudaStream, DevicePtr};
use cudarc::nvrtc::Ptx;

use super::device::{Args, Device, Memory, Owner, Shape};
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

fn gpu_slice(m: &Memory) -> Result<&cudarc::driver::CudaSlice<u8>, CudaError> {
    match &m.owner {
        Owner::Gpu(s) => Ok(s),
        Owner::Host(_) => Err(CudaError::Launch("host memory given to the GPU".into())),
    }
}

impl Device for CudaBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn backend(&self) -> &'static str {
        "cuda"
    }

    fn alloc_zeroed(&self, bytes: usize) -> Result<Memory, CudaError> {
        let slice = self
            .stream
            .alloc_zeros::<u8>(bytes.max(1))
            .map_err(|e| CudaError::driver("allocation", e))?;
        let address = {
            let (ptr, _sync) = slice.device_ptr(&self.stream);
            ptr
        };
        Ok(Memory {
            address,
            bytes,
            owner: Owner::Gpu(slice),
        })
    }

    fn write(&self, dst: &mut Memory, offset: usize, src: &[u8]) -> Result<(), CudaError> {
        let range = offset..offset.saturating_add(src.len());
        dst.check(&range, "copy to the GPU")?;
        if src.is_empty() {
            return Ok(());
        }
        let Owner::Gpu(slice) = &mut dst.owner else {
            return Err(CudaError::Launch("host memory given to the GPU".into()));
        };
        let mut view = slice.slice_mut(range);
        self.stream
            .memcpy_htod(src, &mut view)
            .map_err(|e| CudaError::driver("copy to the GPU", e))
    }

    fn read(&self, src: &Memory, offset: usize, dst: &mut [u8]) -> Result<(), CudaError> {
        let range = offset..offset.saturating_add(dst.len());
        src.check(&range, "copy from the GPU")?;
        if dst.is_empty() {
            return Ok(());
        }
        let slice = gpu_slice(src)?;
        self.stream
            .memcpy_dtoh(&slice.slice(range), dst)
            .and_then(|()| self.stream.synchronize())
            .map_err(|e| CudaError::driver("copy from the GPU", e))
    }

    unsafe fn launch(
        &self,
        kernel: KernelSource,
        function: &str,
        shape: Shape,
        mut args: Args<'_>,
    ) -> Result<(), CudaError> {
        shape.validate()?;
        let f = self.function(kernel, function)?;
        self.ctx
            .bind_to_thread()
            .map_err(|e| CudaError::driver("bind context", e))?;
        let mut params = args.params();
        // SAFETY: the caller vouches that the arguments match the kernel and the buffers are
        // long enough; `params` points at `args`' values, alive until the call returns (the
        // driver copies them at launch).
        unsafe {
            cudarc::driver::result::launch_kernel(
                f.cu_function(),
                shape.grid,
                shape.block,
                shape.shared_bytes,
                self.stream.cu_stream(),
                &mut params,
            )
        }
        .map_err(|e| CudaError::driver(function, e))
    }

    fn memory_info(&self) -> Result<(usize, usize), CudaError> {
        self.memory()
    }
}
