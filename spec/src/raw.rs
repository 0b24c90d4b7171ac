//! The spec exactly as written (DESIGN §3, version 1): serde structures that reject unknown keys.
//! Nothing here is checked beyond types; [`crate::validate`] turns it into a [`crate::SweepSpec`].

// Fields are the spec keys of DESIGN §3, documented there and on the validated model.
#![allow(missing_docs)]

use std::collections::BTreeMap;

use serde::Deserialize;

/// A whole spec file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSpec {
    pub version: Option<i64>,
    pub name: Option<String>,
    pub seed: Option<i64>,
    pub workload: Option<RawWorkload>,
    pub protocol: Option<RawProtocol>,
    pub grid: Option<BTreeMap<String, RawAxis>>,
    pub adiabat: Option<RawAdiabat>,
    pub schedule: Option<RawSchedule>,
    pub entropy: Option<RawEntropy>,
    pub execution: Option<RawExecution>,
    pub analysis: Option<BTreeMap<String, f64>>,
}

/// `[workload]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    pub kind: Option<String>,
    pub dim: Option<i64>,
    pub sigma2: Option<f64>,
    pub target_seed: Option<i64>,
    pub width: Option<i64>,
    pub dataset: Option<String>,
    pub data_dir: Option<String>,
    pub batch_size: Option<i64>,
    pub head_norm: Option<f64>,
    pub init_seed: Option<i64>,
    pub samples_per_label: Option<i64>,
    pub grad_samples: Option<i64>,
    pub measure_every: Option<i64>,
    pub test_samples: Option<i64>,
    pub log_schedule: Option<String>,
}

/// `[protocol]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProtocol {
    pub kind: Option<String>,
    pub init_radius: Option<f64>,
}

/// One axis: a list of values or `{ geomspace = [first, last, count] }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawAxis {
    /// Explicit values.
    List(Vec<f64>),
    /// numpy.geomspace(first, last, count).
    Geomspace(RawGeomspace),
}

/// `{ geomspace = [first, last, count] }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGeomspace {
    pub geomspace: Vec<f64>,
}

/// `[adiabat]`: `through`, `gamma`, and the free axis under its own name.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdiabat {
    pub through: Option<Vec<BTreeMap<String, f64>>>,
    pub gamma: Option<f64>,
    pub lr: Option<RawAxis>,
    pub elr: Option<RawAxis>,
    pub wd: Option<RawAxis>,
    pub radius: Option<RawAxis>,
}

/// `[schedule]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    pub iterations: Option<i64>,
    pub log_every: Option<i64>,
    pub average_last: Option<i64>,
}

/// `[entropy]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEntropy {
    pub queue: Option<i64>,
    pub every: Option<i64>,
    pub log_every: Option<i64>,
    pub average_last: Option<i64>,
    pub estimator: Option<String>,
}

/// `[execution]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExecution {
    pub replicas: Option<i64>,
    pub points_per_task: Option<i64>,
    pub backend: Option<String>,
    pub max_attempts: Option<i64>,
}
