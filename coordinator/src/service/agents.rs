//! The `Agents` service: register, lease (long-polling), heartbeats on their own stream, series
//! chunks, completion and failure reports, each fenced by the lease's epoch.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use sweep_proto::v1;
use sweep_proto::v1::agents_server::Agents;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use super::ServiceState;

/// Longest a lease request may wait for work.
const MAX_LEASE_WAIT: Duration = Duration::from_secs(30);

/// The service.
#[derive(Debug, Clone)]
pub struct AgentsService {
    shared: Arc<ServiceState>,
}

impl AgentsService {
    /// Over the shared state.
    pub fn new(shared: Arc<ServiceState>) -> Self {
        Self { shared }
    }
}

fn check_agent(agent: &str) -> Result<(), Status> {
    if agent.is_empty() {
        return Err(Status::invalid_argument("agent: required"));
    }
    Ok(())
}

type BeatStream = Pin<Box<dyn Stream<Item = Result<v1::BeatReply, Status>> + Send>>;

#[tonic::async_trait]
impl Agents for AgentsService {
    async fn register(
        &self,
        request: Request<v1::RegisterRequest>,
    ) -> Result<Response<v1::RegisterReply>, Status> {
        let req = request.into_inner();
        let reply = self.shared.with_state(move |s| s.register(&req)).await??;
        Ok(Response::new(reply))
    }

    async fn lease(
        &self,
        request: Request<v1::LeaseRequest>,
    ) -> Result<Response<v1::LeaseReply>, Status> {
        let req = request.into_inner();
        check_agent(&req.agent)?;
        let deadline =
            tokio::time::Instant::now() + Duration::from_millis(req.wait_ms).min(MAX_LEASE_WAIT);
        loop {
            let notified = self.shared.work.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let agent = req.agent.clone();
            let task = self.shared.with_state(move |s| s.lease(&agent)).await??;
            if task.is_some() {
                self.shared.apply(Default::default());
                return Ok(Response::new(v1::LeaseReply { task }));
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep_until(deadline) => {
                    return Ok(Response::new(v1::LeaseReply { task: None }));
                }
            }
        }
    }

    type HeartbeatStream = BeatStream;

    async fn heartbeat(
        &self,
        request: Request<Streaming<v1::Beat>>,
    ) -> Result<Response<Self::HeartbeatStream>, Status> {
        let mut beats = request.into_inner();
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let shared = Arc::clone(&self.shared);
        tokio::spawn(async move {
            let mut agent: Option<String> = None;
            while let Some(beat) = beats.next().await {
                let beat = match beat {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::debug!(error = %e, "heartbeat stream broke");
                        break;
                    }
                };
                if beat.agent.is_empty() {
                    let _ = tx
                        .send(Err(Status::invalid_argument("agent: required")))
                        .await;
                    break;
                }
                agent = Some(beat.agent.clone());
                let reply = shared
                    .with_state(move |s| s.heartbeat(&beat))
                    .await
                    .and_then(|r| r);
                shared.changed.send_modify(|v| *v = v.wrapping_add(1));
                let failed = reply.is_err();
                let reply = reply.map(|abandon| v1::BeatReply { abandon });
                if tx.send(reply).await.is_err() || failed {
                    break;
                }
            }
            if let Some(agent) = agent {
                let _ = shared
                    .with_state(move |s| s.set_connected(&agent, false))
                    .await;
            }
        });
        let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
        Ok(Response::new(Box::pin(stream)))
    }

    async fn report_series(
        &self,
        request: Request<v1::SeriesChunk>,
    ) -> Result<Response<v1::ReportReply>, Status> {
        let chunk = request.into_inner();
        check_agent(&chunk.agent)?;
        let shared = Arc::clone(&self.shared);
        let reply = tokio::task::spawn_blocking(move || -> Result<v1::ReportReply, Status> {
            let (rejected, files) = {
                let state = shared.lock()?;
                (state.check_series(&chunk)?, state.series().clone())
            };
            if let Some(reply) = rejected {
                return Ok(reply);
            }
            let r = chunk.task.unwrap_or_default();
            files
                .put(r.sweep, r.task, r.epoch, chunk.seq, &chunk.encode_to_vec())
                .map_err(|e| {
                    Status::internal(format!("storing series chunk {} of {r}: {e}", chunk.seq))
                })?;
            Ok(v1::ReportReply {
                outcome: v1::ReportOutcome::Accepted as i32,
                detail: String::new(),
            })
        })
        .await
        .map_err(|e| Status::internal(e.to_string()))??;
        Ok(Response::new(reply))
    }

    async fn complete(
        &self,
        request: Request<v1::CompleteRequest>,
    ) -> Result<Response<v1::ReportReply>, Status> {
        let req = request.into_inner();
        check_agent(&req.agent)?;
        let (reply, effects) = self.shared.with_state(move |s| s.complete(&req)).await??;
        self.shared.apply(effects);
        Ok(Response::new(reply))
    }

    async fn fail(
        &self,
        request: Request<v1::FailRequest>,
    ) -> Result<Response<v1::ReportReply>, Status> {
        let req = request.into_inner();
        check_agent(&req.agent)?;
        let (reply, effects) = self.shared.with_state(move |s| s.fail(&req)).await??;
        self.shared.apply(effects);
        self.shared.work.notify_waiters();
        Ok(Response::new(reply))
    }
}
