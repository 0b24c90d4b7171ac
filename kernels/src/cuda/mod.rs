//! The CUDA backend (feature `cuda`): hand-written kernels under `kernels/cuda/`, compiled at run
//! time with NVRTC, behind the same API as the CPU backend. The CPU code is the oracle: the chains
//! draw the same Philox noise and repeat the same f64 arithmetic, and the nearest-neighbour
//! search re-checks its candidates with the CPU's own f64 distance.
//!
//! Nothing here panics when CUDA is absent: [`cuda_available`] and [`CudaBackend::probe`] check
//! that the libraries load before any cudarc call, and every failure is a [`CudaError`].

mod device;
pub mod entropy;
mod error;
#[cfg(test)]
mod iso_emulator;
pub mod iso_host;
pub mod isotropic;
pub mod layout;
mod libs;
pub mod nearest;
pub mod si_update;
pub mod sources;

pub use device::{CudaBackend, cuda_available};
pub use error::CudaError;
pub use isotropic::run_isotropic_cuda;
pub use libs::{NVRTC_PATH_ENV, driver_present, nvrtc_present};
pub use nearest::nearest_neighbours_cuda;
pub use si_update::{SiStep, si_update_cpu};
pub use sources::{CUBIN_DIR_ENV, KernelSource, compile_cubin};
