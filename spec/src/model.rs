//! The validated sweep spec: every field present, in range and consistent.

use std::collections::BTreeMap;

use sweep_theory::{AdiabatLaw, Protocol};

use crate::network::NetworkWorkload;

/// A validated sweep spec (DESIGN §3, version 1).
#[derive(Debug, Clone, PartialEq)]
pub struct SweepSpec {
    /// Label.
    pub name: String,
    /// Sweep seed; every random stream derives from it.
    pub seed: u64,
    /// What is trained.
    pub workload: Workload,
    /// The training protocol.
    pub protocol: Protocol,
    /// Initial norm of the scale-invariant weights (fixed ELR, fixed LR; the sphere starts on its radius).
    pub init_radius: f64,
    /// Which hyperparameters are run.
    pub design: Design,
    /// Iterations and the stationary window.
    pub schedule: Schedule,
    /// The entropy queue and estimates.
    pub entropy: Entropy,
    /// Replicas, task size, backend, retries.
    pub execution: Execution,
    /// Tolerance overrides by check id (DESIGN §6).
    pub analysis: BTreeMap<String, f64>,
}

/// `[workload]`.
#[derive(Debug, Clone, PartialEq)]
pub enum Workload {
    /// The isotropic-noise model of SPEC §5.
    Isotropic {
        /// Dimension d.
        dim: usize,
        /// Gradient-noise variance σ².
        sigma2: f64,
        /// Seed of the target direction w*.
        target_seed: u64,
    },
    /// A fully scale-invariant network trained on image data (SPEC §7).
    Network(NetworkWorkload),
}

impl Workload {
    /// The `workload` column: "isotropic", "convnet" or "resnet18".
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Isotropic { .. } => "isotropic",
            Self::Network(n) => n.kind.as_str(),
        }
    }

    /// Dimension of the scale-invariant weights.
    pub fn dim(&self) -> usize {
        match self {
            Self::Isotropic { dim, .. } => *dim,
            Self::Network(n) => n.dim(),
        }
    }
}

/// The hyperparameter design: a cartesian grid or points along adiabats.
#[derive(Debug, Clone, PartialEq)]
pub enum Design {
    /// Every (first, second) pair, first-axis major.
    Grid {
        /// Values of the first axis (lr or elr).
        first: Vec<f64>,
        /// Values of the second axis (wd or radius).
        second: Vec<f64>,
    },
    /// One path per `through` point: the free axis takes `values`, the partner is solved for.
    Adiabats {
        /// The law the paths follow.
        law: AdiabatLaw,
        /// Which axis is free (`true`: the first).
        free_is_first: bool,
        /// Each path as its (first, second) pairs, in the order of the free values.
        paths: Vec<Vec<(f64, f64)>>,
    },
}

/// `[schedule]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Iterations per chain.
    pub iterations: u64,
    /// Series sample interval.
    pub log_every: u64,
    /// Stationary values average the last this-many iterations.
    pub average_last: u64,
}

/// Angle-space entropy estimator (DESIGN §3 `entropy.estimator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Estimator {
    /// With the pole-avoiding reflection (SPEC §16.1), the default.
    Reflected,
    /// The paper's raw angles.
    Raw,
}

/// `[entropy]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entropy {
    /// Samples kept.
    pub queue: usize,
    /// One sample every this-many iterations.
    pub every: u64,
    /// Estimate this often once the queue is full.
    pub log_every: u64,
    /// Stationary entropy = mean of the last this-many estimates.
    pub average_last: usize,
    /// Estimator variant.
    pub estimator: Estimator,
}

/// Compute backend (DESIGN §3 `execution.backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The CPU.
    Cpu,
    /// A CUDA GPU.
    Cuda,
    /// CUDA where an agent has a usable GPU, else the CPU.
    Auto,
}

/// `[execution]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Execution {
    /// Independent chains per hyperparameter point.
    pub replicas: u32,
    /// Points leased together.
    pub points_per_task: u32,
    /// Backend.
    pub backend: Backend,
    /// Attempts that end in an error before a task fails.
    pub max_attempts: u32,
}
