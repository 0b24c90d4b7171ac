//! The `Sweeps` service: submit, status, watch (a server stream that ends with the sweep),
//! cancel, the agent list, and the result files as a byte stream.

use std::io::Read;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use sweep_proto::v1;
use sweep_proto::v1::sweeps_server::Sweeps;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::ServiceState;
use crate::export::ExportJob;

/// Largest spec accepted.
const MAX_SPEC_BYTES: usize = 1 << 20;
/// Bytes per file chunk streamed to clients.
const FILE_CHUNK: usize = 1 << 20;
/// Watchers get at most this many updates per second.
const WATCH_INTERVAL: Duration = Duration::from_millis(250);

/// The service.
#[derive(Debug, Clone)]
pub struct SweepsService {
    shared: Arc<ServiceState>,
}

impl SweepsService {
    /// Over the shared state.
    pub fn new(shared: Arc<ServiceState>) -> Self {
        Self { shared }
    }
}

type StatusStream = Pin<Box<dyn Stream<Item = Result<v1::SweepStatus, Status>> + Send>>;
type FileStream = Pin<Box<dyn Stream<Item = Result<v1::FileChunk, Status>> + Send>>;

fn sweep_id(id: u64) -> Result<u64, Status> {
    if id == 0 {
        Err(Status::invalid_argument("sweep: required (ids start at 1)"))
    } else {
        Ok(id)
    }
}

#[tonic::async_trait]
impl Sweeps for SweepsService {
    async fn submit(
        &self,
        request: Request<v1::SubmitRequest>,
    ) -> Result<Response<v1::SubmitReply>, Status> {
        let spec = request.into_inner().spec_toml;
        if spec.len() > MAX_SPEC_BYTES {
            return Err(Status::invalid_argument(format!(
                "spec_toml: {} bytes is more than the {MAX_SPEC_BYTES} allowed",
                spec.len()
            )));
        }
        let reply = self.shared.with_state(move |s| s.submit(&spec)).await??;
        self.shared.apply(Default::default());
        self.shared.work.notify_waiters();
        Ok(Response::new(reply))
    }

    async fn status(
        &self,
        request: Request<v1::StatusRequest>,
    ) -> Result<Response<v1::StatusReply>, Status> {
        let id = request.into_inner().sweep;
        let sweeps = self
            .shared
            .with_state(move |s| -> Result<Vec<v1::SweepStatus>, Status> {
                if id != 0 {
                    return Ok(vec![s.status(id)?]);
                }
                s.sweep_ids().into_iter().map(|id| s.status(id)).collect()
            })
            .await??;
        Ok(Response::new(v1::StatusReply { sweeps }))
    }

    type WatchStream = StatusStream;

    async fn watch(
        &self,
        request: Request<v1::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let id = sweep_id(request.into_inner().sweep)?;
        let first = self.shared.with_state(move |s| s.status(id)).await??;
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let shared = Arc::clone(&self.shared);
        tokio::spawn(async move {
            let mut changed = shared.changed.subscribe();
            let mut last = first;
            if tx.send(Ok(last.clone())).await.is_err() {
                return;
            }
            loop {
                if v1::SweepState::try_from(last.state).is_ok_and(|s| s.is_terminal()) {
                    return;
                }
                let _ = tokio::time::timeout(Duration::from_secs(2), changed.changed()).await;
                tokio::time::sleep(WATCH_INTERVAL).await;
                let now = match shared
                    .with_state(move |s| s.status(id))
                    .await
                    .and_then(|r| r)
                {
                    Ok(now) => now,
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                if now != last {
                    if tx.send(Ok(now.clone())).await.is_err() {
                        return;
                    }
                    last = now;
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn cancel(
        &self,
        request: Request<v1::CancelRequest>,
    ) -> Result<Response<v1::CancelReply>, Status> {
        let id = sweep_id(request.into_inner().sweep)?;
        let (effects, status) = self
            .shared
            .with_state(move |s| -> Result<_, Status> {
                let effects = s.cancel(id)?;
                Ok((effects, s.status(id)?))
            })
            .await??;
        self.shared.apply(effects);
        Ok(Response::new(v1::CancelReply {
            status: Some(status),
        }))
    }

    async fn list_agents(
        &self,
        _request: Request<v1::ListAgentsRequest>,
    ) -> Result<Response<v1::ListAgentsReply>, Status> {
        let agents = self.shared.with_state(|s| s.agents()).await?;
        Ok(Response::new(v1::ListAgentsReply { agents }))
    }

    type FetchResultsStream = FileStream;

    async fn fetch_results(
        &self,
        request: Request<v1::FetchResultsRequest>,
    ) -> Result<Response<Self::FetchResultsStream>, Status> {
        let req = request.into_inner();
        let id = sweep_id(req.sweep)?;
        let shared = Arc::clone(&self.shared);
        // The final files once written; otherwise a snapshot of what has finished so far.
        let (dir, temporary) =
            tokio::task::spawn_blocking(move || -> Result<(PathBuf, bool), Status> {
                let job = {
                    let state = shared.lock()?;
                    let info = state
                        .sweep(id)
                        .ok_or_else(|| Status::not_found(format!("unknown sweep {id}")))?;
                    let final_dir = shared.results_dir(id);
                    if info.exported {
                        return Ok((final_dir, false));
                    }
                    ExportJob::snapshot(&state, id).map_err(|e| Status::internal(e.to_string()))?
                };
                let dir = tempfile::Builder::new()
                    .prefix("snapshot-")
                    .tempdir_in(shared.sweeps_dir.join(id.to_string()))
                    .map_err(|e| Status::internal(format!("snapshot directory: {e}")))?
                    .keep();
                job.write(&dir, req.skip_series)
                    .map_err(|e| Status::internal(e.to_string()))?;
                Ok((dir, true))
            })
            .await
            .map_err(|e| Status::internal(e.to_string()))??;
        let mut names = vec!["spec.toml", "results.parquet"];
        if !req.skip_series {
            names.push("series.parquet");
        }
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        tokio::task::spawn_blocking(move || {
            for name in names {
                if let Err(e) = send_file(&dir.join(name), name, &tx) {
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
            if temporary {
                let _ = std::fs::remove_dir_all(&dir);
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}

fn send_file(
    path: &std::path::Path,
    name: &str,
    tx: &tokio::sync::mpsc::Sender<Result<v1::FileChunk, Status>>,
) -> Result<(), Status> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return Err(Status::internal(format!("{}: {e}", path.display()))),
    };
    let mut offset = 0u64;
    loop {
        let mut data = vec![0u8; FILE_CHUNK];
        let mut filled = 0;
        while filled < data.len() {
            match file.read(&mut data[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) => return Err(Status::internal(format!("{}: {e}", path.display()))),
            }
        }
        data.truncate(filled);
        let last = filled < FILE_CHUNK;
        let chunk = v1::FileChunk {
            name: name.to_owned(),
            offset,
            data,
            last,
        };
        offset += filled as u64;
        if tx.blocking_send(Ok(chunk)).is_err() {
            return Ok(());
        }
        if last {
            return Ok(());
        }
    }
}
