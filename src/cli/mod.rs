//! `sweepctl`'s subcommands (DESIGN §7). Each returns a [`CliError`] carrying its exit code.

mod client;
mod fetch;
mod progress;
mod remote;
mod report;
mod run;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::exit::CliError;
use crate::logging::LogFormat;

/// Default coordinator when neither `--coordinator` nor `$SWEEP_COORDINATOR` is given.
pub const DEFAULT_COORDINATOR: &str = "http://127.0.0.1:7070";

/// sweepctl: run and inspect thermosweep sweeps.
#[derive(Debug, Parser)]
#[command(name = "sweepctl", version, about, long_about = None)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Show the embedded coordinator's and agents' logs (info level).
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// File holding the coordinator's bearer token (default: `$SWEEP_TOKEN`, if set).
    #[arg(long, global = true)]
    pub token_file: Option<PathBuf>,
    /// CA certificate (PEM) to trust for an `https://` coordinator.
    #[arg(long, global = true, env = "SWEEP_TLS_CA")]
    pub tls_ca: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a sweep here: an embedded coordinator on 127.0.0.1 and local agents over loopback.
    Run {
        /// The sweep spec (TOML, DESIGN §3).
        spec: PathBuf,
        /// Where results go (default: runs/NAME).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Local agents (each gets an equal share of the cores).
        #[arg(long, default_value_t = 1)]
        agents: usize,
        /// Backend the local agents offer.
        #[arg(long, default_value = "auto", value_parser = ["cpu", "cuda", "auto"])]
        backend: String,
        /// Compute threads in all (0: one per core).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// Replace results already in the output directory.
        #[arg(long)]
        force: bool,
        /// Exit 3 when a check fails.
        #[arg(long)]
        strict: bool,
    },
    /// Submit a sweep to a coordinator; prints the sweep id as the last word.
    Submit {
        /// The sweep spec.
        spec: PathBuf,
        /// Coordinator URL.
        #[arg(long, env = "SWEEP_COORDINATOR", default_value = DEFAULT_COORDINATOR)]
        coordinator: String,
    },
    /// Status of one sweep or of all.
    Status {
        /// Sweep id (all sweeps if absent).
        id: Option<u64>,
        /// Coordinator URL.
        #[arg(long, env = "SWEEP_COORDINATOR", default_value = DEFAULT_COORDINATOR)]
        coordinator: String,
    },
    /// Follow a sweep until it ends (exit 0 if it completed).
    Watch {
        /// Sweep id.
        id: u64,
        /// Coordinator URL.
        #[arg(long, env = "SWEEP_COORDINATOR", default_value = DEFAULT_COORDINATOR)]
        coordinator: String,
    },
    /// Cancel a sweep (finished points stay in its results).
    Cancel {
        /// Sweep id.
        id: u64,
        /// Coordinator URL.
        #[arg(long, env = "SWEEP_COORDINATOR", default_value = DEFAULT_COORDINATOR)]
        coordinator: String,
    },
    /// Agents known to the coordinator.
    Agents {
        /// Coordinator URL.
        #[arg(long, env = "SWEEP_COORDINATOR", default_value = DEFAULT_COORDINATOR)]
        coordinator: String,
    },
    /// Fetch a sweep's result files into a directory.
    Results {
        /// Sweep id.
        id: u64,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Skip series.parquet.
        #[arg(long)]
        no_series: bool,
        /// Exit 3 when a check fails.
        #[arg(long)]
        strict: bool,
        /// Coordinator URL.
        #[arg(long, env = "SWEEP_COORDINATOR", default_value = DEFAULT_COORDINATOR)]
        coordinator: String,
    },
    /// Re-run the analysis on DIR/results.parquet: verdict.json, report.html, report.md, plots/.
    Report {
        /// A folder holding results.parquet (and optionally series.parquet and spec.toml).
        dir: PathBuf,
        /// Exit 3 when a check fails (or an applicable check could not run).
        #[arg(long)]
        strict: bool,
    },
}

static TOKEN_FILE: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
static TLS_CA: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();

/// The `--tls-ca` given, if any.
pub(crate) fn tls_ca() -> Option<PathBuf> {
    TLS_CA.get().cloned().flatten()
}

/// The `--token-file` given, if any.
pub(crate) fn token_file() -> Option<PathBuf> {
    TOKEN_FILE.get().cloned().flatten()
}

impl Cli {
    /// Runs the command.
    pub fn execute(self) -> Result<(), CliError> {
        let _ = TOKEN_FILE.set(self.token_file.clone());
        let _ = TLS_CA.set(self.tls_ca.clone());
        let level = if self.verbose { "info" } else { "warn" };
        crate::logging::init(self.log_format, level);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::Failure(format!("starting the async runtime: {e}")))?;
        runtime.block_on(async move {
            match self.command {
                Command::Run {
                    spec,
                    out,
                    agents,
                    backend,
                    threads,
                    force,
                    strict,
                } => {
                    run::run(run::RunArgs {
                        spec,
                        out,
                        agents,
                        backend,
                        threads,
                        force,
                        strict,
                        verbose: self.verbose,
                    })
                    .await
                }
                Command::Submit { spec, coordinator } => remote::submit(&spec, &coordinator).await,
                Command::Status { id, coordinator } => remote::status(id, &coordinator).await,
                Command::Watch { id, coordinator } => remote::watch(id, &coordinator).await,
                Command::Cancel { id, coordinator } => remote::cancel(id, &coordinator).await,
                Command::Agents { coordinator } => remote::agents(&coordinator).await,
                Command::Results {
                    id,
                    out,
                    no_series,
                    strict,
                    coordinator,
                } => {
                    remote::results(id, &out, no_series, &coordinator).await?;
                    report::report(out, strict).await
                }
                Command::Report { dir, strict } => report::report(dir, strict).await,
            }
        })
    }
}

/// Reads and validates a spec file (the coordinator validates again).
pub fn read_spec(path: &std::path::Path) -> Result<(String, sweep_spec::SweepSpec), CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Usage(format!("cannot read spec {}: {e}", path.display())))?;
    let spec = sweep_spec::parse(&text)
        .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
    Ok((text, spec))
}
