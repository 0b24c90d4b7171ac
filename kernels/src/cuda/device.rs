//! What the host code needs of a device that runs the kernels of `kernels/cuda/`: zeroed
//! allocations, copies in and out, and launches of a named kernel with a grid, a block and
//! CUDA-style arguments. Two devices implement it: the GPU through the driver API
//! ([`super::driver::CudaBackend`]) and the CPU execution of the same sources
//! ([`super::on_cpu::CudaOnCpu`]). The host logic (buffer layout, launch shapes, the order of
//! launches and copies) is written once against [`Device`], so `cargo test` runs all of it with
//! no GPU.

use std::marker::PhantomData;
use std::ops::Range;

use super::error::CudaError;
use super::sources::KernelSource;

/// Values that may be copied to a device or passed to a kernel as raw bytes.
///
/// # Safety
/// The type must be plain old data: `Copy`, no padding bytes, no pointers, and every bit pattern
/// of its size a valid value (so bytes read back from a device are a value).
pub unsafe trait Pod: Copy + Send + Sync + 'static {}

// SAFETY: primitive numbers: no padding, every bit pattern valid.
unsafe impl Pod for f32 {}
// SAFETY: as above.
unsafe impl Pod for f64 {}
// SAFETY: as above.
unsafe impl Pod for u8 {}
// SAFETY: as above.
unsafe impl Pod for u32 {}
// SAFETY: as above.
unsafe impl Pod for u64 {}
// SAFETY: as above.
unsafe impl Pod for i32 {}
// SAFETY: as above.
unsafe impl Pod for i64 {}

/// The bytes of a slice of [`Pod`] values.
pub(crate) fn bytes_of<T: Pod>(values: &[T]) -> &[u8] {
    // SAFETY: `T: Pod` has no padding, so every byte is initialised; the length is the slice's.
    unsafe { std::slice::from_raw_parts(values.as_ptr().cast(), std::mem::size_of_val(values)) }
}

/// The bytes of a mutable slice of [`Pod`] values.
pub(crate) fn bytes_of_mut<T: Pod>(values: &mut [T]) -> &mut [u8] {
    // SAFETY: as `bytes_of`; any bytes written are a valid `T` (`Pod`).
    unsafe {
        std::slice::from_raw_parts_mut(values.as_mut_ptr().cast(), std::mem::size_of_val(values))
    }
}

/// A device allocation: its address on the device, its size, and what keeps it alive.
#[derive(Debug)]
pub struct Memory {
    pub(crate) address: u64,
    pub(crate) bytes: usize,
    pub(crate) owner: Owner,
}

/// The allocation behind a [`Memory`], by device.
#[derive(Debug)]
pub(crate) enum Owner {
    /// GPU memory, freed when dropped.
    Gpu(cudarc::driver::CudaSlice<u8>),
    /// Host memory of the CPU execution, with guard zones.
    Host(super::on_cpu::HostMemory),
}

impl Memory {
    /// Checks that `range` lies inside the allocation.
    pub(crate) fn check(&self, range: &Range<usize>, what: &str) -> Result<(), CudaError> {
        if range.start <= range.end && range.end <= self.bytes {
            Ok(())
        } else {
            Err(CudaError::Launch(format!(
                "{what}: bytes {range:?} outside an allocation of {}",
                self.bytes
            )))
        }
    }
}

/// A device array of `len` values of `T`.
#[derive(Debug)]
pub struct Buffer<T: Pod> {
    memory: Memory,
    len: usize,
    _values: PhantomData<T>,
}

impl<T: Pod> Buffer<T> {
    /// Values held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A launch's grid and block (as `dim3`) and its dynamic shared memory in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Blocks per grid dimension.
    pub grid: (u32, u32, u32),
    /// Threads per block dimension.
    pub block: (u32, u32, u32),
    /// Dynamic shared memory per block.
    pub shared_bytes: u32,
}

impl Shape {
    /// A one-dimensional launch.
    pub fn linear(blocks: u32, threads: u32, shared_bytes: u32) -> Self {
        Self {
            grid: (blocks, 1, 1),
            block: (threads, 1, 1),
            shared_bytes,
        }
    }

    /// Checks the limits every CUDA device since compute capability 3.0 enforces, and the 48 KiB
    /// of dynamic shared memory a launch may use without opting in.
    pub fn validate(&self) -> Result<(), CudaError> {
        let (gx, gy, gz) = self.grid;
        let (bx, by, bz) = self.block;
        let threads = u64::from(bx) * u64::from(by) * u64::from(bz);
        let bad = |why: String| Err(CudaError::Launch(format!("launch shape {self:?}: {why}")));
        if [gx, gy, gz, bx, by, bz].contains(&0) {
            return bad("every dimension must be at least 1".into());
        }
        if threads > 1024 || bx > 1024 || by > 1024 || bz > 64 {
            return bad(format!(
                "{threads} threads per block (at most 1024; z at most 64)"
            ));
        }
        if gx > i32::MAX as u32 || gy > 65_535 || gz > 65_535 {
            return bad("grid too large (x < 2³¹, y and z ≤ 65 535)".into());
        }
        if self.shared_bytes > 48 * 1024 {
            return bad("more than 48 KiB of dynamic shared memory".into());
        }
        Ok(())
    }

    /// Blocks in the grid.
    pub fn blocks(&self) -> u64 {
        u64::from(self.grid.0) * u64::from(self.grid.1) * u64::from(self.grid.2)
    }
}

/// A kernel's arguments, as CUDA's `kernelParams` holds them: one value per parameter, each in
/// its own 8-byte-aligned storage; a buffer argument is its device address.
#[derive(Debug, Default)]
pub struct Args<'a> {
    values: Vec<Vec<u64>>,
    sizes: Vec<usize>,
    /// `(address, bytes)` of each buffer argument, for the CPU execution's guard checks.
    buffers: Vec<(u64, usize)>,
    _buffers: PhantomData<&'a ()>,
}

impl<'a> Args<'a> {
    /// No arguments yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a buffer (its device address).
    pub fn buf<T: Pod>(mut self, b: &'a Buffer<T>) -> Self {
        self.buffers.push((b.memory.address, b.memory.bytes));
        self.val(&b.memory.address)
    }

    /// Appends a value.
    pub fn val<T: Pod>(mut self, v: &T) -> Self {
        let bytes = bytes_of(std::slice::from_ref(v));
        let mut words = vec![0u64; bytes.len().div_ceil(8).max(1)];
        bytes_of_mut(&mut words)[..bytes.len()].copy_from_slice(bytes);
        self.values.push(words);
        self.sizes.push(bytes.len());
        self
    }

    /// The size in bytes of each argument.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    /// Buffer arguments as `(address, bytes)`.
    pub(crate) fn buffers(&self) -> &[(u64, usize)] {
        &self.buffers
    }

    /// Pointers to each argument's value, as `kernelParams` wants them. The pointers stay valid
    /// while `self` lives and is not changed.
    pub(crate) fn params(&mut self) -> Vec<*mut std::ffi::c_void> {
        self.values
            .iter_mut()
            .map(|v| v.as_mut_ptr().cast())
            .collect()
    }
}

/// A device that runs the kernels of `kernels/cuda/`.
pub trait Device: Send + Sync + std::fmt::Debug {
    /// What it is, e.g. "NVIDIA H200" or "cuda-on-cpu (2 threads)".
    fn name(&self) -> &str;
    /// The `backend` column of results computed on it: `cuda` or `cuda-on-cpu`.
    fn backend(&self) -> &'static str;
    /// `bytes` of zeroed memory.
    fn alloc_zeroed(&self, bytes: usize) -> Result<Memory, CudaError>;
    /// Copies `src` into `dst` at byte `offset`.
    fn write(&self, dst: &mut Memory, offset: usize, src: &[u8]) -> Result<(), CudaError>;
    /// Copies `dst.len()` bytes of `src` from byte `offset` (waits for earlier launches).
    fn read(&self, src: &Memory, offset: usize, dst: &mut [u8]) -> Result<(), CudaError>;
    /// Launches `function` of `kernel` with `shape` and `args`.
    ///
    /// # Safety
    /// The arguments must match the kernel's parameters, and every buffer must be as long as
    /// the kernel indexes it for this launch; otherwise the GPU reads or writes out of bounds.
    /// (The CPU execution checks the arguments' count and sizes and guards the buffers' ends.)
    unsafe fn launch(
        &self,
        kernel: KernelSource,
        function: &str,
        shape: Shape,
        args: Args<'_>,
    ) -> Result<(), CudaError>;
    /// (free, total) memory in bytes.
    fn memory_info(&self) -> Result<(usize, usize), CudaError>;
}

impl dyn Device + '_ {
    /// `len` zeroed values (at least one byte is allocated, so empty buffers have an address).
    pub fn zeros<T: Pod>(&self, len: usize) -> Result<Buffer<T>, CudaError> {
        let bytes = len
            .checked_mul(std::mem::size_of::<T>())
            .ok_or_else(|| CudaError::OutOfMemory(format!("{len} values overflow")))?;
        Ok(Buffer {
            memory: self.alloc_zeroed(bytes)?,
            len,
            _values: PhantomData,
        })
    }

    /// A buffer holding `host`.
    pub fn upload<T: Pod>(&self, host: &[T]) -> Result<Buffer<T>, CudaError> {
        let mut b = self.zeros::<T>(host.len())?;
        self.write(&mut b.memory, 0, bytes_of(host))?;
        Ok(b)
    }

    /// Overwrites the start of `b` with `host`.
    pub fn copy_in<T: Pod>(&self, b: &mut Buffer<T>, host: &[T]) -> Result<(), CudaError> {
        if host.len() > b.len {
            return Err(CudaError::Launch(format!(
                "{} values copied into a buffer of {}",
                host.len(),
                b.len
            )));
        }
        self.write(&mut b.memory, 0, bytes_of(host))
    }

    /// Values `range` of `b`, copied into `out` (of the range's length).
    pub fn copy_out<T: Pod>(
        &self,
        b: &Buffer<T>,
        range: Range<usize>,
        out: &mut [T],
    ) -> Result<(), CudaError> {
        let size = std::mem::size_of::<T>();
        if range.end > b.len || range.start > range.end || out.len() != range.len() {
            return Err(CudaError::Launch(format!(
                "values {range:?} of a buffer of {} into {} places",
                b.len,
                out.len()
            )));
        }
        self.read(&b.memory, range.start * size, bytes_of_mut(out))
    }

    /// Values `range` of `b`.
    pub fn download<T: Pod + Default>(
        &self,
        b: &Buffer<T>,
        range: Range<usize>,
    ) -> Result<Vec<T>, CudaError> {
        let mut out = vec![T::default(); range.len()];
        self.copy_out(b, range, &mut out)?;
        Ok(out)
    }

    /// Every value of `b`.
    pub fn download_all<T: Pod + Default>(&self, b: &Buffer<T>) -> Result<Vec<T>, CudaError> {
        self.download(b, 0..b.len)
    }
}
