//! How an agent runs.

use std::path::PathBuf;
use std::time::Duration;

use crate::network::DataCache;

/// Which compute backend the agent offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendChoice {
    /// The CPU only.
    Cpu,
    /// CUDA only (refused by a build without the CUDA backend).
    Cuda,
    /// CUDA where a usable GPU is present, else the CPU.
    Auto,
}

impl std::str::FromStr for BackendChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda),
            "auto" => Ok(Self::Auto),
            other => Err(format!(
                "backend: expected cpu, cuda or auto, got {other:?}"
            )),
        }
    }
}

/// The agent's settings.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Coordinator URL, e.g. `http://127.0.0.1:7070`.
    pub coordinator: String,
    /// Name, unique among live agents.
    pub name: String,
    /// Compute threads (0: one per core).
    pub threads: usize,
    /// Where finished tasks wait for delivery.
    pub spool_dir: PathBuf,
    /// Backend offered.
    pub backend: BackendChoice,
    /// How long one lease request waits for work.
    pub lease_wait: Duration,
    /// Longest pause between attempts to reach the coordinator.
    pub retry_max: Duration,
    /// Bearer token sent with every call (DESIGN §8).
    pub token: Option<String>,
    /// CA certificate (PEM) trusted for an `https://` coordinator.
    pub tls_ca: Option<PathBuf>,
    /// The last network training data read. Agents in one process may share one cache:
    /// `sweepctl run` gives its local agents the cache it filled when it checked the data.
    pub data: DataCache,
}

impl AgentConfig {
    /// Defaults for everything but the coordinator: the host name and pid as name, one thread
    /// per core, a spool under the system's temporary directory, CPU, 10 s lease waits, retries
    /// at most 5 s apart.
    pub fn new(coordinator: impl Into<String>) -> Self {
        let name = default_name();
        Self {
            coordinator: coordinator.into(),
            spool_dir: std::env::temp_dir().join(format!("thermosweep-spool-{name}")),
            name,
            threads: 0,
            backend: BackendChoice::Auto,
            lease_wait: Duration::from_secs(10),
            retry_max: Duration::from_secs(5),
            token: None,
            tls_ca: None,
            data: DataCache::default(),
        }
    }
}

/// `HOST-PID`.
pub fn default_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "agent".to_owned());
    format!("{host}-{}", std::process::id())
}
