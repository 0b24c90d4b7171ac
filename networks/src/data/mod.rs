//! Real training data for the network workloads: IDX (MNIST, Fashion-MNIST; raw or gzipped) and
//! CIFAR-10/100 binary batches, per-channel normalisation, and i.i.d. batch sampling from the
//! shared Philox stream (SPEC §7.2), and a generated `synthetic` set. Every failure names the file.

pub mod cifar;
pub mod dataset;
pub mod error;
pub mod idx;
pub mod normalise;
pub mod sampler;
pub mod synthetic;

pub use dataset::{Dataset, Split};
pub use error::DataError;
pub use sampler::BatchSampler;
