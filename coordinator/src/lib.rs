//! The coordinator of thermosweep (DESIGN §1, §4).
//!
//! Modules:
//! * [`scheduler`]: tasks, leases, heartbeats, epochs, failures and retries as a pure state
//!   machine with injected time, so every rule is tested without clocks or sockets.
//!
//! The gRPC service and SQLite state build on these (issue 3).

pub mod scheduler;
