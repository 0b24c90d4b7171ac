//! The coordinator of thermosweep (DESIGN §1, §4): it validates and stores sweeps, leases their
//! tasks to agents, accepts results under the lease's epoch, and writes the result files.
//!
//! Modules:
//! * [`scheduler`]: tasks, leases, heartbeats, epochs, failures and retries as a pure state
//!   machine with injected time, so every rule is tested without clocks or sockets.
//! * [`store`]: the same state, durable, in SQLite (WAL).
//! * [`state`]: the two kept in step behind one lock, plus agents and progress.
//! * [`series_files`]: running tasks' series chunks on disk, fenced by epoch.
//! * [`export`]: `results.parquet`, `series.parquet` and `spec.toml` of a sweep.
//! * [`service`]: the `Sweeps` and `Agents` gRPC services.
//! * [`metrics`]: Prometheus metrics on a plain-HTTP listener.
//! * [`server`]: [`serve`], which runs it all on a listener.

pub mod export;
pub mod metrics;
pub mod scheduler;
pub mod series_files;
pub mod server;
pub mod service;
pub mod state;
pub mod store;

pub use server::{CoordinatorConfig, CoordinatorError, serve};
