//! The scheduler's vocabulary: identities, time, capabilities, leases and outcomes.

use std::fmt;

/// Milliseconds on the coordinator's clock; injected, so tests control time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Millis(pub u64);

impl Millis {
    /// `self + ms`, saturating.
    pub fn plus(self, ms: u64) -> Millis {
        Millis(self.0.saturating_add(ms))
    }
}

/// A sweep, as numbered by the coordinator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SweepId(pub u64);

/// One task of one sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId {
    /// The sweep.
    pub sweep: SweepId,
    /// Task index within the sweep.
    pub task: u32,
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.sweep.0, self.task)
    }
}

/// An agent, by the name it registered with.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgentId(pub String);

/// Which backend a task needs (the sweep's `execution.backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Requirement {
    /// Must run on a CPU backend.
    Cpu,
    /// Must run on a CUDA backend.
    Cuda,
    /// Either.
    Any,
}

/// What an agent can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// Runs CPU tasks.
    pub cpu: bool,
    /// Has a usable GPU.
    pub cuda: bool,
}

impl Capabilities {
    /// Whether a task with `need` may run here.
    pub fn satisfies(self, need: Requirement) -> bool {
        match need {
            Requirement::Cpu => self.cpu,
            Requirement::Cuda => self.cuda,
            Requirement::Any => self.cpu || self.cuda,
        }
    }
}

/// A task granted to an agent until `deadline` (DESIGN §4). Results are accepted only with the
/// current `epoch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The task.
    pub task: TaskId,
    /// The holder.
    pub agent: AgentId,
    /// 1 + the number of counted failures so far.
    pub attempt: u32,
    /// Increases with every grant of this task.
    pub epoch: u64,
    /// Expiry unless renewed by a heartbeat.
    pub deadline: Millis,
}

/// How a run of a task ended without results (DESIGN §4 failure kinds; `diverged` is a result).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The agent lost the task (preempted, shutting down): retried, not counted.
    Lost,
    /// The run failed: counted toward `max_attempts`.
    Error(String),
}

/// Why a report about a lease was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The task was re-leased (or cancelled) since: the report's epoch is stale. Not stored.
    #[error("superseded: task {task} is at epoch {current:?}, the report carries epoch {reported}")]
    Superseded {
        /// The task.
        task: TaskId,
        /// The current epoch, if the task still runs.
        current: Option<u64>,
        /// The epoch reported.
        reported: u64,
    },
    /// No such task.
    #[error("unknown task {0}")]
    UnknownTask(TaskId),
    /// The epoch is current but the lease belongs to another agent.
    #[error("task {task} is leased to another agent")]
    NotHolder {
        /// The task.
        task: TaskId,
    },
}

/// Where a task stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskStatus {
    /// Waiting for an agent.
    Pending,
    /// Held by an agent.
    Leased(Lease),
    /// Results stored.
    Done,
    /// Gave up after `max_attempts` errors; the last error.
    Failed(String),
    /// The sweep was cancelled.
    Cancelled,
}

/// Task counts of one sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SweepCounts {
    /// Waiting.
    pub pending: u32,
    /// Leased.
    pub leased: u32,
    /// Done.
    pub done: u32,
    /// Failed.
    pub failed: u32,
    /// Cancelled.
    pub cancelled: u32,
}

impl SweepCounts {
    /// All tasks.
    pub fn total(&self) -> u32 {
        self.pending + self.leased + self.done + self.failed + self.cancelled
    }

    /// Whether nothing is left to run.
    pub fn finished(&self) -> bool {
        self.pending == 0 && self.leased == 0
    }
}
