//! The numerical core of thermosweep.
//!
//! Modules:
//! * [`backend`]: the closed [`Backend`] enum (CPU or CUDA) callers match on, in every build.
//! * [`cuda`] (feature `cuda`): the same chains, distances and updates on an NVIDIA GPU, or
//!   executed from the same CUDA sources on the CPU.
//! * [`driver`]: the one chain driver every backend runs through (events, queues, estimates,
//!   series rows, divergence, progress, cancellation).
//! * [`entropy`]: the spherical Kozachenko–Leonenko entropy estimator (SPEC §6, §16.1–2, §16.9).
//! * [`rng`]: Philox4x32-10, Box–Muller normals and seed derivation shared with CUDA.
//! * [`stationary`]: the stationary window and its standard errors (isotropic chains and networks).
//! * [`vmf_sampler`]: exact von Mises–Fisher sampling (Wood's algorithm), an oracle for the estimator.

pub mod backend;
#[cfg(feature = "cuda")]
pub mod cuda;
pub mod driver;
pub mod entropy;
pub mod error;
pub mod isotropic;
pub mod observer;
pub mod rng;
pub mod stationary;
pub mod summary;
pub mod vmf_sampler;

pub use backend::Backend;
pub use error::KernelError;
pub use summary::{PointStatus, PointSummary};
