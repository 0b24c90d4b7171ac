//! Running the coordinator: open (and resume) the state, serve both gRPC services and gRPC
//! health on a listener, expire leases on a timer, write the files of sweeps that end, and stop
//! cleanly when `shutdown` resolves. `sweep-coordinator` and `sweepctl run` both call [`serve`].

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sweep_proto::auth::RequireToken;
use sweep_proto::v1::agents_server::AgentsServer;
use sweep_proto::v1::sweeps_server::SweepsServer;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tonic::service::interceptor::InterceptedService;

use crate::export::ExportJob;
use crate::scheduler::LeasePolicy;
use crate::series_files::SeriesFiles;
use crate::service::ServiceState;
use crate::service::agents::AgentsService;
use crate::service::clients::SweepsService;
use crate::state::State;
use crate::store::{Checkpointer, Store, StoreError};

/// How the coordinator runs.
#[derive(Debug, Clone)]
pub struct CoordinatorConfig {
    /// Holds `state.db` and `sweeps/ID/` (series chunks, result files).
    pub data_dir: PathBuf,
    /// A lease lasts this long past its grant or last heartbeat.
    pub lease_ttl: Duration,
    /// Bearer token every client and agent must send (DESIGN §8); required unless the
    /// listener is on loopback.
    pub token: Option<String>,
    /// Where to serve Prometheus metrics (`GET /metrics`), if anywhere.
    pub metrics: Option<std::net::SocketAddr>,
    /// TLS certificate and key (PEM files): serve gRPC over TLS.
    pub tls: Option<(PathBuf, PathBuf)>,
}

impl CoordinatorConfig {
    /// Defaults: 30 s leases.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            lease_ttl: Duration::from_secs(30),
            token: None,
            metrics: None,
            tls: None,
        }
    }
}

/// Why the coordinator could not run.
#[derive(Debug, thiserror::Error)]
pub enum CoordinatorError {
    /// The data directory.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The state database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Listening beyond loopback without a token.
    #[error(
        "listening on {0}, which is not a loopback address, needs a bearer token (--token-file or $SWEEP_TOKEN)"
    )]
    Insecure(std::net::SocketAddr),
    /// The TLS certificate or key.
    #[error("TLS: {0}")]
    Tls(String),
    /// The metrics listener.
    #[error("metrics listener {addr}: {source}")]
    Metrics {
        /// The address.
        addr: std::net::SocketAddr,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The gRPC server.
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Serves on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    config: CoordinatorConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), CoordinatorError> {
    if let Ok(addr) = listener.local_addr()
        && !addr.ip().is_loopback()
        && config.token.is_none()
    {
        return Err(CoordinatorError::Insecure(addr));
    }
    let tls = match &config.tls {
        Some((cert, key)) => {
            Some(sweep_proto::tls::server_tls(cert, key).map_err(CoordinatorError::Tls)?)
        }
        None => None,
    };
    let metrics_listener = match config.metrics {
        Some(addr) => {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|source| CoordinatorError::Metrics { addr, source })?;
            tracing::info!(addr = ?listener.local_addr().ok(), "metrics on GET /metrics");
            Some(listener)
        }
        None => None,
    };
    let sweeps_dir = config.data_dir.join("sweeps");
    std::fs::create_dir_all(&sweeps_dir).map_err(|source| CoordinatorError::DataDir {
        path: sweeps_dir.clone(),
        source,
    })?;
    let db = config.data_dir.join("state.db");
    let policy = LeasePolicy {
        ttl_ms: config.lease_ttl.as_millis().max(1) as u64,
    };
    let (state, pending_exports) = tokio::task::spawn_blocking(move || {
        let store = Store::open(&db)?;
        State::open(store, SeriesFiles::new(sweeps_dir_for(&db)), policy)
    })
    .await
    .map_err(|e| CoordinatorError::DataDir {
        path: config.data_dir.clone(),
        source: std::io::Error::other(e.to_string()),
    })??;
    let (exports_tx, exports_rx) = mpsc::unbounded_channel();
    for sweep in pending_exports {
        let _ = exports_tx.send(sweep);
    }
    let shared = Arc::new(ServiceState::new(state, exports_tx, sweeps_dir));
    let local = listener.local_addr().ok();
    tracing::info!(addr = ?local, data_dir = %config.data_dir.display(), ttl_ms = policy.ttl_ms, "coordinator serving");

    let exporting = Arc::new(tokio::sync::Mutex::new(()));
    let exporter = tokio::spawn(run_exports(
        Arc::clone(&shared),
        exports_rx,
        Arc::clone(&exporting),
    ));
    let checkpoints = spawn_checkpoints(config.data_dir.join("state.db"));
    let metrics = metrics_listener
        .map(|listener| tokio::spawn(crate::metrics::serve_metrics(listener, Arc::clone(&shared))));
    let expirer = tokio::spawn(run_expiry(Arc::clone(&shared), config.lease_ttl));

    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<SweepsServer<SweepsService>>().await;
    health.set_serving::<AgentsServer<AgentsService>>().await;

    let limit = sweep_proto::MAX_MESSAGE_BYTES;
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = tls {
        builder = builder
            .tls_config(tls)
            .map_err(|e| CoordinatorError::Tls(e.to_string()))?;
    }
    let result = builder
        .add_service(health_service)
        .add_service(InterceptedService::new(
            SweepsServer::new(SweepsService::new(Arc::clone(&shared)))
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit),
            RequireToken::new(config.token.as_deref()),
        ))
        .add_service(InterceptedService::new(
            AgentsServer::new(AgentsService::new(Arc::clone(&shared)))
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit),
            RequireToken::new(config.token.as_deref()),
        ))
        .serve_with_incoming_shutdown(incoming(listener), shutdown)
        .await;
    expirer.abort();
    if let Some(m) = metrics {
        m.abort();
    }
    checkpoints.send_replace(true);
    exporter.abort();
    // An export already running finishes first: its files (and `sweepctl run`'s directory, which
    // is removed once the coordinator has stopped) must not be pulled from under it.
    let _finished = exporting.lock().await;
    tracing::info!("coordinator stopped");
    result.map_err(CoordinatorError::from)
}

/// Accepted connections with Nagle's algorithm off: a lease is a small request answered at
/// once, and delayed acknowledgements would otherwise add ~40 ms to each.
fn incoming(
    listener: TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use tokio_stream::StreamExt;
    tokio_stream::wrappers::TcpListenerStream::new(listener).map(|stream| {
        let stream = stream?;
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        Ok(stream)
    })
}

fn sweeps_dir_for(db: &std::path::Path) -> PathBuf {
    db.parent()
        .map_or_else(|| PathBuf::from("sweeps"), |d| d.join("sweeps"))
}

/// Checkpoints the WAL once a second on a thread of its own; stops when told to (the
/// returned sender) or when the coordinator is dropped.
fn spawn_checkpoints(db: PathBuf) -> tokio::sync::watch::Sender<bool> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let spawned = std::thread::Builder::new()
        .name("wal-checkpoint".into())
        .spawn(move || {
            let checkpointer = match Checkpointer::open(&db) {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "no WAL checkpoints: the WAL will grow until restart");
                    return;
                }
            };
            while !*stopped.borrow() && stopped.has_changed().is_ok() {
                if let Err(e) = checkpointer.checkpoint() {
                    tracing::warn!(error = %e, "WAL checkpoint failed; retried in a second");
                }
                std::thread::sleep(Duration::from_secs(1));
            }
            let _ = checkpointer.checkpoint();
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "could not start the checkpoint thread");
    }
    stop
}

/// Takes back expired leases a few times per TTL.
async fn run_expiry(shared: Arc<ServiceState>, ttl: Duration) {
    let period = (ttl / 4).clamp(Duration::from_millis(10), Duration::from_secs(5));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match shared.with_state(|s| s.expire()).await {
            Ok(Ok(0)) => {}
            Ok(Ok(_)) => {
                shared.apply(Default::default());
                shared.work.notify_waiters();
            }
            Ok(Err(e)) | Err(e) => tracing::error!(error = %e, "lease expiry failed"),
        }
    }
}

/// Writes the files of each sweep that ended, one at a time, on a blocking thread that holds
/// `exporting` while it runs.
async fn run_exports(
    shared: Arc<ServiceState>,
    mut rx: mpsc::UnboundedReceiver<u64>,
    exporting: Arc<tokio::sync::Mutex<()>>,
) {
    while let Some(sweep) = rx.recv().await {
        let shared2 = Arc::clone(&shared);
        let busy = Arc::clone(&exporting).lock_owned().await;
        let outcome = tokio::task::spawn_blocking(move || -> Result<(), String> {
            let _busy = busy;
            let job = {
                let state = shared2.lock().map_err(|e| e.to_string())?;
                ExportJob::snapshot(&state, sweep).map_err(|e| e.to_string())?
            };
            let dir = shared2.results_dir(sweep);
            let written = job.write(&dir, false).map_err(|e| e.to_string())?;
            tracing::info!(sweep, rows = written.rows, series_rows = written.series_rows, dir = %dir.display(), "result files written");
            let options = sweep_analysis::AnalysisOptions {
                tolerances: job.tolerances(),
                ..Default::default()
            };
            // The verdict is a product of the files, not part of them: a sweep whose rows cannot
            // be analysed (all diverged, say) still has its results.
            match sweep_analysis::report_dir(&dir, &options) {
                Ok(v) => tracing::info!(sweep, all_passed = v.all_passed(), "verdict and report written"),
                Err(e) => tracing::warn!(sweep, error = %e, "no verdict for this sweep"),
            }
            let mut state = shared2.lock().map_err(|e| e.to_string())?;
            state.mark_exported(sweep).map_err(|e| e.to_string())
        })
        .await;
        match outcome {
            Ok(Ok(())) => shared.apply(Default::default()),
            Ok(Err(e)) => {
                tracing::error!(sweep, error = %e, "writing the result files failed; retried at the next start")
            }
            Err(e) => tracing::error!(sweep, error = %e, "export task failed"),
        }
    }
}
