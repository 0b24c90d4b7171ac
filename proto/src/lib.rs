//! thermosweep's wire protocol (DESIGN §1, §4): the `sweep.v1` messages and the two gRPC
//! services generated from `sweep/v1/sweep.proto`, [`PROTOCOL_VERSION`], and small helpers that
//! keep wire values and their meanings together.
//!
//! * [`v1::sweeps_server`] / [`v1::sweeps_client`]: clients (submit, status, watch, cancel,
//!   agents, results);
//! * [`v1::agents_server`] / [`v1::agents_client`]: workers (register, lease, heartbeat, series,
//!   complete, fail);
//! * [`auth`]: bearer tokens, and clients that send them;
//! * [`tls`]: rustls for the server and `https://` clients.

pub mod auth;
pub mod tls;

/// The generated `sweep.v1` code.
#[allow(missing_docs, clippy::all, clippy::unwrap_used)]
pub mod v1 {
    tonic::include_proto!("sweep.v1");
}

/// Version of the agent protocol; an agent registering with another version is refused.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest message either side accepts (series chunks are kept well below it).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

impl v1::TaskRef {
    /// A task reference.
    pub fn new(sweep: u64, task: u32, epoch: u64) -> Self {
        Self { sweep, task, epoch }
    }
}

impl std::fmt::Display for v1::TaskRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}@{}", self.sweep, self.task, self.epoch)
    }
}

impl v1::SweepState {
    /// Whether the sweep has ended (nothing more will run).
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }

    /// A lower-case word for people.
    pub fn word(self) -> &'static str {
        match self {
            Self::Unspecified => "unknown",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}
