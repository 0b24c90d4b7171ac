//! The agent of thermosweep (DESIGN §1, §4): it registers with the coordinator, leases tasks,
//! runs them on its own compute pool, heartbeats on a separate stream, streams series, and
//! reports results under the lease's epoch. When the coordinator is unreachable it keeps
//! computing, spools finished tasks to disk and delivers them when the coordinator is back.
//!
//! Modules:
//! * [`config`]: the agent's settings, [`AgentConfig`].
//! * [`workload`]: spec + task → kernel batch, kernel summary → wire row.
//! * [`network`]: network tasks: their data (read once, kept for the next task) and batch.
//! * [`compute`]: the bounded compute pool and the task observer.
//! * [`spool`]: finished tasks waiting for delivery.
//! * [`session`]: the connection: registration, lease loop, heartbeats, delivery.

pub mod compute;
pub mod config;
pub mod gpu;
pub mod network;
pub mod session;
pub mod spool;
pub mod workload;

pub use config::{AgentConfig, BackendChoice};
pub use session::{AgentError, AgentReport, run};
