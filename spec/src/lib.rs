//! The sweep spec of thermosweep (DESIGN §3, version 1): what a user writes, checked before any
//! compute starts, and materialised into points and tasks.
//!
//! Modules:
//! * [`raw`]: the TOML as written (unknown keys rejected by serde).
//! * [`validate`]: defaults, rules and named errors ([`parse`], [`validate::validate`]).
//! * [`model`]: the validated [`SweepSpec`].
//! * [`network`]: the `convnet` / `resnet18` workloads and their `dim`.
//! * [`axis`]: axis values (lists, numpy-style `geomspace`).
//! * [`points`]: points, their order, and the partition into tasks.
//! * [`error`]: [`SpecError`] and [`SpecProblem`].

pub mod axis;
pub mod error;
pub mod model;
pub mod network;
pub mod points;
pub mod raw;
pub mod validate;

pub use error::{SpecError, SpecProblem};
pub use model::{Backend, Design, Entropy, Estimator, Execution, Schedule, SweepSpec, Workload};
pub use network::{DatasetKind, NetworkKind, NetworkWorkload};
pub use points::{Point, TaskRange, partition};
pub use validate::parse;
