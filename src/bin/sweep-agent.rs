//! `sweep-agent --coordinator URL`: the agent daemon (DESIGN §7). A thin main over
//! `sweep_agent::run`; on SIGINT or SIGTERM it gives its running task back and exits.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use sweep_agent::{AgentConfig, BackendChoice};
use thermosweep::exit::{CliError, finish};
use thermosweep::logging::{self, LogFormat};

/// The thermosweep agent.
#[derive(Debug, Parser)]
#[command(name = "sweep-agent", version, about)]
struct Args {
    /// Coordinator URL.
    #[arg(long, env = "SWEEP_COORDINATOR", default_value = thermosweep::cli::DEFAULT_COORDINATOR)]
    coordinator: String,
    /// Backend offered: cpu, cuda or auto.
    #[arg(long, default_value = "auto")]
    backend: String,
    /// Agent name, unique among live agents (default: HOST-PID).
    #[arg(long)]
    name: Option<String>,
    /// Compute threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Where finished tasks wait for delivery (default: a directory named after the agent
    /// under the system's temporary directory). Keep it, with --name, across restarts.
    #[arg(long)]
    spool_dir: Option<PathBuf>,
    /// Longest pause between attempts to reach the coordinator, in milliseconds.
    #[arg(long, default_value_t = 5_000)]
    retry_max_ms: u64,
    /// File holding the coordinator's bearer token (default: `$SWEEP_TOKEN`, if set).
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// CA certificate (PEM) to trust for an `https://` coordinator.
    #[arg(long, env = "SWEEP_TLS_CA")]
    tls_ca: Option<PathBuf>,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

fn main() -> ExitCode {
    let args = Args::parse();
    logging::init(args.log_format, "info");
    finish(run(args))
}

fn run(args: Args) -> Result<(), CliError> {
    let backend: BackendChoice = args.backend.parse().map_err(CliError::Usage)?;
    let mut config = AgentConfig::new(args.coordinator);
    if let Some(name) = args.name {
        config.spool_dir = std::env::temp_dir().join(format!("thermosweep-spool-{name}"));
        config.name = name;
    }
    if let Some(dir) = args.spool_dir {
        config.spool_dir = dir;
    }
    config.threads = args.threads;
    config.backend = backend;
    config.retry_max = Duration::from_millis(args.retry_max_ms.max(10));
    config.token =
        sweep_proto::auth::read_token(args.token_file.as_deref()).map_err(CliError::Usage)?;
    config.tls_ca = args.tls_ca;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::Failure(format!("async runtime: {e}")))?;
    runtime.block_on(async move {
        match sweep_agent::run(config, thermosweep::signals::terminated()).await {
            Ok(report) => {
                tracing::info!(?report, "agent stopped");
                Ok(())
            }
            Err(e @ sweep_agent::AgentError::Backend(_)) => Err(CliError::Usage(e.to_string())),
            Err(e) => Err(CliError::Failure(e.to_string())),
        }
    })
}
