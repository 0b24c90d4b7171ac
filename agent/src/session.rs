//! One agent's life: connect lazily (the channel reconnects by itself), register, deliver what
//! the spool holds, then lease and run tasks one at a time until shut down. Heartbeats run on
//! their own task and stream, independent of the work, and carry each running task's progress;
//! the coordinator answers with leases to abandon.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sweep_proto::auth::{AgentsConn, BearerToken, agents_client};
use sweep_proto::v1;
use tokio::sync::{mpsc, watch};
use tonic::{Code, Status};
use tracing::Instrument;

use crate::compute::{ComputePool, Outcome, RunningTask};
use crate::config::{AgentConfig, BackendChoice};
use crate::spool::{Spool, SpoolError};

/// Why the agent could not run.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The coordinator URL.
    #[error("coordinator URL {url:?}: {detail}")]
    Url {
        /// The URL.
        url: String,
        /// What is wrong.
        detail: String,
    },
    /// The spool.
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// The compute pool.
    #[error("compute pool: {0}")]
    Pool(String),
    /// The backend asked for is not in this build.
    #[error("backend: {0}")]
    Backend(String),
    /// The coordinator refused the agent for good (protocol version, bad name).
    #[error("coordinator refused registration: {0}")]
    Refused(String),
}

/// What an agent did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AgentReport {
    /// Tasks whose results were accepted.
    pub tasks_done: u64,
    /// Tasks reported as errors.
    pub tasks_failed: u64,
    /// Reports answered "superseded".
    pub superseded: u64,
    /// Spooled tasks delivered after a delay.
    pub delivered_late: u64,
}

type Running = Arc<Mutex<HashMap<(u64, u32, u64), (v1::TaskRef, Arc<RunningTask>)>>>;

struct Agent {
    config: AgentConfig,
    client: AgentsConn,
    pool: ComputePool,
    spool: Spool,
    running: Running,
    heartbeat_ms: Arc<AtomicU64>,
    stop: watch::Receiver<bool>,
    report: AgentReport,
    backoff: Duration,
}

/// How a delivery went.
enum Delivery {
    Accepted,
    Superseded(String),
    /// The coordinator will never take it (unknown sweep, bad rows): dropped, logged.
    Rejected(Status),
    /// Try again later.
    Retry(Status),
}

fn capabilities(config: &AgentConfig, pool: &ComputePool) -> Result<v1::Capabilities, AgentError> {
    let gpu = match (config.backend, crate::gpu::detect()) {
        (BackendChoice::Cpu, _) => None,
        (_, Ok(name)) => Some(name),
        (BackendChoice::Cuda, Err(why)) => {
            return Err(AgentError::Backend(format!(
                "--backend cuda but no usable GPU: {why}; run with --backend cpu or auto"
            )));
        }
        (BackendChoice::Auto, Err(why)) => {
            tracing::info!(%why, "no usable GPU: serving CPU tasks");
            None
        }
    };
    Ok(v1::Capabilities {
        cpu: config.backend != BackendChoice::Cuda,
        cuda: gpu.is_some(),
        cpu_threads: pool.threads() as u32,
        gpu_name: gpu.unwrap_or_default(),
    })
}

/// Runs the agent until `shutdown` resolves (a running task is then given back) or a fatal
/// error.
pub async fn run(
    config: AgentConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<AgentReport, AgentError> {
    let endpoint = sweep_proto::tls::client_endpoint(&config.coordinator, config.tls_ca.as_deref())
        .map_err(|detail| AgentError::Url {
            url: config.coordinator.clone(),
            detail,
        })?;
    let channel = endpoint.connect_lazy();
    let token = BearerToken::new(config.token.as_deref()).map_err(|e| AgentError::Url {
        url: config.coordinator.clone(),
        detail: e.to_string(),
    })?;
    let client = agents_client(channel, token);
    let pool = ComputePool::new(config.threads, &config.name)
        .map_err(|e| AgentError::Pool(e.to_string()))?;
    let spool = Spool::open(&config.spool_dir)?;
    let caps = capabilities(&config, &pool)?;
    let pool = pool.with_gpu(caps.cuda).with_data(config.data.clone());
    let (stop_tx, stop) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let mut agent = Agent {
        client,
        pool,
        spool,
        running: Arc::default(),
        heartbeat_ms: Arc::new(AtomicU64::new(1000)),
        stop,
        report: AgentReport::default(),
        backoff: Duration::from_millis(50),
        config,
    };
    let registered = Arc::new(AtomicBool::new(false));
    let heartbeat = tokio::spawn(
        heartbeat_loop(
            agent.client.clone(),
            agent.config.name.clone(),
            caps.clone(),
            Arc::clone(&agent.running),
            Arc::clone(&agent.heartbeat_ms),
            agent.stop.clone(),
        )
        .instrument(tracing::info_span!("heartbeat", agent = %agent.config.name)),
    );
    let span = tracing::info_span!("agent", agent = %agent.config.name);
    let result = agent.work(caps, registered).instrument(span).await;
    heartbeat.abort();
    result.map(|()| agent.report)
}

async fn register(
    client: &mut AgentsConn,
    name: &str,
    caps: &v1::Capabilities,
) -> Result<v1::RegisterReply, Status> {
    client
        .register(v1::RegisterRequest {
            agent: name.to_owned(),
            protocol_version: sweep_proto::PROTOCOL_VERSION,
            capabilities: Some(caps.clone()),
        })
        .await
        .map(|r| r.into_inner())
}

impl Agent {
    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Sleeps the current backoff (doubling it up to `retry_max`); false if stopping.
    async fn pause(&mut self) -> bool {
        let wait = self.backoff;
        self.backoff = (self.backoff * 2).min(self.config.retry_max);
        let mut stop = self.stop.clone();
        tokio::select! {
            _ = tokio::time::sleep(wait) => !self.stopping(),
            _ = stopped(&mut stop) => false,
        }
    }

    async fn work(
        &mut self,
        caps: v1::Capabilities,
        registered: Arc<AtomicBool>,
    ) -> Result<(), AgentError> {
        while !self.stopping() {
            if !registered.load(Ordering::Relaxed) {
                match register(&mut self.client, &self.config.name, &caps).await {
                    Ok(reply) => {
                        self.heartbeat_ms
                            .store(reply.heartbeat_ms.max(10), Ordering::Relaxed);
                        registered.store(true, Ordering::Relaxed);
                        self.backoff = Duration::from_millis(50);
                        tracing::info!(coordinator = %self.config.coordinator, threads = caps.cpu_threads, "registered");
                    }
                    Err(s)
                        if matches!(
                            s.code(),
                            Code::FailedPrecondition
                                | Code::InvalidArgument
                                | Code::Unauthenticated
                        ) =>
                    {
                        return Err(AgentError::Refused(s.message().to_owned()));
                    }
                    Err(s) => {
                        tracing::warn!(error = %s.message(), "coordinator unreachable; retrying");
                        if !self.pause().await {
                            break;
                        }
                        continue;
                    }
                }
            }
            if !self.deliver_spool().await? {
                if !self.pause().await {
                    break;
                }
                continue;
            }
            let request = v1::LeaseRequest {
                agent: self.config.name.clone(),
                wait_ms: self.config.lease_wait.as_millis() as u64,
            };
            let mut stop = self.stop.clone();
            let reply = tokio::select! {
                r = self.client.lease(request) => r,
                _ = stopped(&mut stop) => break,
            };
            match reply {
                Ok(reply) => {
                    self.backoff = Duration::from_millis(50);
                    if let Some(task) = reply.into_inner().task {
                        let r = task.task.unwrap_or_default();
                        let span = tracing::info_span!(
                            "task",
                            sweep = r.sweep,
                            task = r.task,
                            epoch = r.epoch,
                            attempt = task.attempt
                        );
                        self.run_task(task).instrument(span).await?;
                    }
                }
                Err(s) if s.code() == Code::FailedPrecondition => {
                    tracing::info!(
                        "coordinator does not know this agent (restarted?); registering again"
                    );
                    registered.store(false, Ordering::Relaxed);
                }
                Err(s) => {
                    tracing::warn!(error = %s.message(), code = ?s.code(), "lease failed; retrying");
                    if !self.pause().await {
                        break;
                    }
                }
            }
        }
        tracing::info!("agent stopping");
        Ok(())
    }

    /// Delivers every spooled task; false if the coordinator could not be reached.
    async fn deliver_spool(&mut self) -> Result<bool, AgentError> {
        for path in self.spool.list()? {
            let Some(task) = self.spool.read(&path)? else {
                continue;
            };
            match self.deliver(&task, &BTreeSet::new()).await {
                Delivery::Retry(s) => {
                    tracing::warn!(error = %s.message(), "spooled results not delivered yet");
                    return Ok(false);
                }
                outcome => {
                    if matches!(outcome, Delivery::Accepted) {
                        self.report.delivered_late += 1;
                    }
                    self.settle(outcome);
                    self.spool.remove(&path)?;
                }
            }
        }
        Ok(true)
    }

    fn settle(&mut self, outcome: Delivery) {
        match outcome {
            Delivery::Accepted => {
                self.report.tasks_done += 1;
                tracing::info!("results accepted");
            }
            Delivery::Superseded(why) => {
                self.report.superseded += 1;
                tracing::warn!(reason = %why, "results superseded (the task was re-leased); dropped");
            }
            Delivery::Rejected(s) => {
                tracing::error!(code = ?s.code(), error = %s.message(), "coordinator rejected the results; dropped");
            }
            Delivery::Retry(_) => {}
        }
    }

    /// Sends the series chunks not yet acknowledged, then the report.
    async fn deliver(&mut self, task: &v1::SpooledTask, acked: &BTreeSet<u32>) -> Delivery {
        let Some(complete) = task.complete.clone() else {
            return Delivery::Rejected(Status::invalid_argument("spooled task without a report"));
        };
        for attempt in 0..2 {
            for chunk in &task.series {
                if attempt == 0 && acked.contains(&chunk.seq) {
                    continue;
                }
                match self.client.report_series(chunk.clone()).await {
                    Ok(r) => {
                        let r = r.into_inner();
                        if r.outcome == v1::ReportOutcome::Superseded as i32 {
                            return Delivery::Superseded(r.detail);
                        }
                    }
                    Err(s) => return classify(s),
                }
            }
            match self.client.complete(complete.clone()).await {
                Ok(r) => {
                    let r = r.into_inner();
                    return if r.outcome == v1::ReportOutcome::Accepted as i32 {
                        Delivery::Accepted
                    } else {
                        Delivery::Superseded(r.detail)
                    };
                }
                Err(s) if s.code() == Code::FailedPrecondition && attempt == 0 => {
                    tracing::warn!(error = %s.message(), "coordinator misses series chunks; sending them all again");
                }
                Err(s) => return classify(s),
            }
        }
        Delivery::Retry(Status::unavailable(
            "series chunks not stored after a resend",
        ))
    }

    async fn run_task(&mut self, task: v1::TaskAssignment) -> Result<(), AgentError> {
        let r = task.task.unwrap_or_default();
        let running = Arc::new(RunningTask::default());
        let key = (r.sweep, r.task, r.epoch);
        if let Ok(mut map) = self.running.lock() {
            map.insert(key, (r, Arc::clone(&running)));
        }
        tracing::info!(points = task.points.len(), "task started");
        let (series_tx, series_rx) = mpsc::unbounded_channel();
        let reporter = tokio::spawn(
            report_series(self.client.clone(), self.config.name.clone(), r, series_rx)
                .in_current_span(),
        );
        let mut stop = self.stop.clone();
        let abandon_on_stop = {
            let running = Arc::clone(&running);
            tokio::spawn(async move {
                stopped(&mut stop).await;
                running.abandon.store(true, Ordering::Relaxed);
            })
        };
        let outcome = self.pool.run(&task, Arc::clone(&running), series_tx).await;
        abandon_on_stop.abort();
        let (chunks, acked) = reporter.await.unwrap_or_default();
        if let Ok(mut map) = self.running.lock() {
            map.remove(&key);
        }
        match outcome {
            Outcome::Finished(results) => {
                let spooled = v1::SpooledTask {
                    complete: Some(v1::CompleteRequest {
                        agent: self.config.name.clone(),
                        task: Some(r),
                        series_chunks: chunks.len() as u32,
                        results,
                    }),
                    series: chunks,
                };
                let path = self.spool.put(&spooled)?;
                tracing::info!("task finished; delivering");
                loop {
                    match self.deliver(&spooled, &acked).await {
                        Delivery::Retry(s) => {
                            tracing::warn!(error = %s.message(), spool = %path.display(), "coordinator unreachable; results kept in the spool");
                            if !self.pause().await {
                                return Ok(());
                            }
                        }
                        outcome => {
                            self.settle(outcome);
                            self.spool.remove(&path)?;
                            self.backoff = Duration::from_millis(50);
                            return Ok(());
                        }
                    }
                }
            }
            Outcome::Abandoned => {
                if self.stopping() {
                    tracing::info!("shutting down: giving the task back");
                    self.fail(r, v1::FailureKind::Lost, "agent shutting down")
                        .await;
                } else {
                    tracing::warn!("lease abandoned at the coordinator's word; task stopped");
                }
                Ok(())
            }
            Outcome::Error(message) => {
                tracing::error!(error = %message, "task failed");
                self.report.tasks_failed += 1;
                self.fail(r, v1::FailureKind::Error, &message).await;
                Ok(())
            }
        }
    }

    /// Reports a failure, retrying briefly; if the coordinator stays away the lease expires.
    async fn fail(&mut self, task: v1::TaskRef, kind: v1::FailureKind, message: &str) {
        let request = v1::FailRequest {
            agent: self.config.name.clone(),
            task: Some(task),
            kind: kind as i32,
            message: message.to_owned(),
        };
        for _ in 0..3 {
            match self.client.fail(request.clone()).await {
                Ok(_) => return,
                Err(s) if matches!(classify(s.clone()), Delivery::Retry(_)) => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(s) => {
                    tracing::warn!(error = %s.message(), "failure report refused");
                    return;
                }
            }
        }
        tracing::warn!("failure report not delivered; the lease will expire instead");
    }
}

fn classify(s: Status) -> Delivery {
    match s.code() {
        Code::NotFound | Code::InvalidArgument | Code::PermissionDenied => Delivery::Rejected(s),
        _ => Delivery::Retry(s),
    }
}

/// Sends series chunks as the task produces them (best effort: what is not acknowledged is sent
/// again at delivery). Returns every chunk and the acknowledged sequence numbers.
async fn report_series(
    mut client: AgentsConn,
    agent: String,
    task: v1::TaskRef,
    mut rx: mpsc::UnboundedReceiver<Vec<v1::SeriesSample>>,
) -> (Vec<v1::SeriesChunk>, BTreeSet<u32>) {
    let mut chunks = Vec::new();
    let mut acked = BTreeSet::new();
    let mut reachable = true;
    while let Some(samples) = rx.recv().await {
        let chunk = v1::SeriesChunk {
            agent: agent.clone(),
            task: Some(task),
            seq: chunks.len() as u32,
            samples,
        };
        if reachable {
            match client.report_series(chunk.clone()).await {
                Ok(r) if r.get_ref().outcome == v1::ReportOutcome::Accepted as i32 => {
                    acked.insert(chunk.seq);
                }
                Ok(_) => {}
                Err(s) => {
                    tracing::debug!(error = %s.message(), "series chunk not delivered; kept for later");
                    reachable = false;
                }
            }
        }
        chunks.push(chunk);
    }
    (chunks, acked)
}

/// Beats every `heartbeat_ms` on one stream, reopening it (and registering again) when it breaks.
async fn heartbeat_loop(
    mut client: AgentsConn,
    agent: String,
    caps: v1::Capabilities,
    running: Running,
    heartbeat_ms: Arc<AtomicU64>,
    mut stop: watch::Receiver<bool>,
) {
    let mut pause = Duration::from_millis(50);
    loop {
        if *stop.borrow() {
            return;
        }
        let (tx, rx) = mpsc::channel::<v1::Beat>(2);
        let beat = |running: &Running| v1::Beat {
            agent: agent.clone(),
            leases: running
                .lock()
                .map(|m| {
                    m.values()
                        .map(|(r, t)| v1::LeaseProgress {
                            task: Some(*r),
                            steps_done: t.steps_done.load(Ordering::Relaxed),
                            steps_total: t.steps_total.load(Ordering::Relaxed),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        };
        let _ = tx.send(beat(&running)).await;
        let opened = client
            .heartbeat(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await;
        match opened {
            Ok(response) => {
                pause = Duration::from_millis(50);
                let mut replies = response.into_inner();
                let period = Duration::from_millis(heartbeat_ms.load(Ordering::Relaxed).max(10));
                let mut tick = tokio::time::interval(period);
                tick.tick().await;
                loop {
                    tokio::select! {
                        _ = tick.tick() => {
                            if tx.send(beat(&running)).await.is_err() {
                                break;
                            }
                        }
                        reply = replies.message() => match reply {
                            Ok(Some(reply)) => abandon(&running, &reply.abandon),
                            Ok(None) => break,
                            Err(s) => {
                                if s.code() == Code::FailedPrecondition {
                                    let _ = register(&mut client, &agent, &caps).await;
                                } else {
                                    tracing::debug!(error = %s.message(), "heartbeat stream broke");
                                }
                                break;
                            }
                        },
                        _ = stopped(&mut stop) => return,
                    }
                }
            }
            Err(s) => {
                if s.code() == Code::FailedPrecondition {
                    let _ = register(&mut client, &agent, &caps).await;
                }
                tracing::debug!(error = %s.message(), "heartbeat stream could not open");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stopped(&mut stop) => return,
        }
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

/// Resolves once the agent is told to stop (or the stop signal is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

fn abandon(running: &Running, refs: &[v1::TaskRef]) {
    let Ok(map) = running.lock() else { return };
    for r in refs {
        if let Some((_, task)) = map.get(&(r.sweep, r.task, r.epoch)) {
            tracing::warn!(
                sweep = r.sweep,
                task = r.task,
                epoch = r.epoch,
                "coordinator no longer holds this lease; abandoning"
            );
            task.abandon.store(true, Ordering::Relaxed);
        }
    }
}
