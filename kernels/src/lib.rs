//! The numerical core of thermosweep.
//!
//! Modules:
//! * [`cuda`] (feature `cuda`): the same chains, distances and updates on an NVIDIA GPU.
//! * [`entropy`]: the spherical Kozachenko–Leonenko entropy estimator (SPEC §6, §16.1–2, §16.9).
//! * [`rng`]: Philox4x32-10, Box–Muller normals and seed derivation shared with CUDA.
//! * [`stationary`]: the stationary window and its standard errors (isotropic chains and networks).
//! * [`vmf_sampler`]: exact von Mises–Fisher sampling (Wood's algorithm), an oracle for the estimator.

#[cfg(feature = "cuda")]
pub mod cuda;
pub mod entropy;
pub mod error;
pub mod isotropic;
pub mod observer;
pub mod rng;
pub mod stationary;
pub mod summary;
pub mod vmf_sampler;

pub use error::KernelError;
pub use summary::{PointStatus, PointSummary};
