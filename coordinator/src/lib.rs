//! The coordinator of thermosweep (DESIGN §1, §4).
//!
//! Modules:
//! * [`scheduler`]: tasks, leases, heartbeats, epochs, failures and retries as a pure state
//!   machine with injected time, so every rule is tested without clocks or sockets.
//!
//! The gRPC service, SQLite state and Parquet writer build on it (issue 3).

pub mod scheduler;
