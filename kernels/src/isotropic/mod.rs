//! The isotropic-noise model of SPEC §5: batched SGD chains for the three protocols, their
//! stationary measurements and entropy queues.

pub mod config;
pub mod group;
pub mod queue;
pub mod run;
pub mod stationary;

pub use config::{ChainPoint, EntropySchedule, IsotropicBatch, IsotropicModel, Schedule};
pub use group::{ChainGroup, LANES, LaneHyper, NoiseSource, PhiloxNoise};
pub use run::run_isotropic;
