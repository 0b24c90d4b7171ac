//! The gRPC services over the shared state: [`clients::SweepsService`] for sweepctl and scripts,
//! [`agents::AgentsService`] for workers. Handlers validate their input, then run state
//! changes on blocking threads ([`ServiceState::with_state`]) so the async workers never wait on
//! SQLite or the disk.

pub mod agents;
pub mod clients;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, mpsc, watch};
use tonic::Status;

use crate::state::{Effects, State};

/// What every handler shares.
#[derive(Debug)]
pub struct ServiceState {
    state: Mutex<State>,
    /// Bumped on every change a watcher may care about.
    pub changed: watch::Sender<u64>,
    /// Woken when tasks may have become available.
    pub work: Notify,
    /// Sweeps whose files must be written.
    pub exports: mpsc::UnboundedSender<u64>,
    /// Where sweeps' files go: `DATA/sweeps/ID/`.
    pub sweeps_dir: PathBuf,
}

impl ServiceState {
    /// Wraps the state.
    pub fn new(state: State, exports: mpsc::UnboundedSender<u64>, sweeps_dir: PathBuf) -> Self {
        Self {
            state: Mutex::new(state),
            changed: watch::Sender::new(0),
            work: Notify::new(),
            exports,
            sweeps_dir,
        }
    }

    /// Runs `f` on the state on a blocking thread.
    pub async fn with_state<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut State) -> T + Send + 'static,
    ) -> Result<T, Status> {
        let shared = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut state = shared
                .state
                .lock()
                .map_err(|_| Status::internal("coordinator state lock poisoned"))?;
            Ok(f(&mut state))
        })
        .await
        .map_err(|e| Status::internal(format!("state task failed: {e}")))?
    }

    /// Locks the state on the current (blocking) thread.
    pub fn lock(&self) -> Result<std::sync::MutexGuard<'_, State>, Status> {
        self.state
            .lock()
            .map_err(|_| Status::internal("coordinator state lock poisoned"))
    }

    /// Tells watchers something changed and queues exports of ended sweeps.
    pub fn apply(&self, effects: Effects) {
        for sweep in effects.ended {
            let _ = self.exports.send(sweep);
        }
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// The directory of a sweep's final files.
    pub fn results_dir(&self, sweep: u64) -> PathBuf {
        self.sweeps_dir.join(sweep.to_string()).join("results")
    }
}
