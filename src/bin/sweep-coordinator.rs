//! `sweep-coordinator --listen ADDR --data-dir DIR`: the coordinator daemon (DESIGN §7). A thin
//! main over `sweep_coordinator::serve`; stops cleanly on SIGINT or SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use thermosweep::exit::{CliError, finish};
use thermosweep::logging::{self, LogFormat};

/// The thermosweep coordinator.
#[derive(Debug, Parser)]
#[command(name = "sweep-coordinator", version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7070")]
    listen: String,
    /// Directory for state.db and the sweeps' files.
    #[arg(long)]
    data_dir: PathBuf,
    /// Lease time-to-live in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    lease_ttl_ms: u64,
    /// File holding the bearer token clients and agents must send (default: `$SWEEP_TOKEN`);
    /// required when listening beyond loopback.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// TLS certificate (PEM) to serve gRPC over TLS (with --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve Prometheus metrics on this address (`GET /metrics`), e.g. 127.0.0.1:9464.
    #[arg(long)]
    metrics_listen: Option<std::net::SocketAddr>,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

fn main() -> ExitCode {
    let args = Args::parse();
    logging::init(args.log_format, "info");
    finish(serve(args))
}

fn serve(args: Args) -> Result<(), CliError> {
    if args.lease_ttl_ms == 0 {
        return Err(CliError::Usage("--lease-ttl-ms: must be at least 1".into()));
    }
    let token =
        sweep_proto::auth::read_token(args.token_file.as_deref()).map_err(CliError::Usage)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Failure(format!("async runtime: {e}")))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| CliError::Usage(format!("--listen {}: {e}", args.listen)))?;
        if let Ok(addr) = listener.local_addr() {
            // Scripts and tests read the bound address (useful with port 0) from this line.
            println!("listening on {addr}");
        }
        let mut config = sweep_coordinator::CoordinatorConfig::new(&args.data_dir);
        config.lease_ttl = Duration::from_millis(args.lease_ttl_ms);
        config.token = token;
        config.metrics = args.metrics_listen;
        config.tls = args.tls_cert.zip(args.tls_key);
        sweep_coordinator::serve(listener, config, thermosweep::signals::terminated())
            .await
            .map_err(|e| match e {
                e @ (sweep_coordinator::CoordinatorError::Insecure(_)
                | sweep_coordinator::CoordinatorError::Tls(_)) => CliError::Usage(e.to_string()),
                e => CliError::Failure(e.to_string()),
            })
    })
}
