//! The CUDA backend (feature `cuda`): hand-written kernels under `kernels/cuda/`, behind the same
//! API as the CPU backend. The CPU code is the oracle: the chains draw the same Philox noise and
//! repeat the same f64 arithmetic, and the nearest-neighbour search re-checks its candidates with
//! the CPU's own f64 distance.
//!
//! The host code is written once against [`Device`], which two devices implement: a GPU through
//! the driver API, its kernels compiled at run time by NVRTC ([`CudaBackend`]), and the CPU
//! execution of the same sources compiled by g++ ([`CudaOnCpu`]), so that every kernel and all
//! the host logic run in `cargo test` on machines without a GPU.
//!
//! Nothing here panics when CUDA is absent: [`cuda_available`] and [`CudaBackend::probe`] check
//! that the libraries load before any cudarc call, and every failure is a [`CudaError`].

pub mod batch;
pub mod batchnorm;
pub mod device;
mod driver;
pub mod entropy;
mod error;
pub mod iso_plan;
pub mod isotropic;
pub mod layout;
mod libs;
pub mod measure;
pub mod nearest;
pub mod on_cpu;
pub mod pointwise;
mod select;
pub mod si_update;
pub mod sources;
pub mod tensor;

pub use device::{Args, Buffer, Device, Shape};
pub use driver::CudaBackend;
pub use error::CudaError;
pub use isotropic::run_isotropic_cuda;
pub use libs::{NVRTC_PATH_ENV, driver_present, nvrtc_present};
pub use nearest::nearest_neighbours_cuda;
pub use on_cpu::{CUDA_DEVICE_ENV, CudaOnCpu, Schedule};
pub use select::{cuda_available, default_device};
pub use si_update::{SiStep, si_update_cpu};
pub use sources::{CUBIN_DIR_ENV, KernelSource, compile_cubin};
