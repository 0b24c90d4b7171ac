//! Writing a sweep's result files (DESIGN §5): `results.parquet` from the stored rows (with the
//! hyperparameter and identity columns filled from the coordinator's own copy of the spec),
//! `series.parquet` from the accepted epoch's series chunks, and `spec.toml`. Runs on a blocking
//! thread with a snapshot taken under the state lock, so the service keeps answering.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use prost::Message;
use sweep_proto::v1;
use sweep_results::{ParquetSink, ResultRow, ResultsError, SeriesRow, SinkOptions, Status};
use sweep_spec::{Point, SweepSpec};
use sweep_theory::Protocol;

use crate::series_files::SeriesFiles;
use crate::state::State;
use crate::store::{StoreError, StoredResult, TaskState};

/// Why writing the files failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Writing Parquet.
    #[error(transparent)]
    Results(#[from] ResultsError),
    /// Reading the state.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A stored message that does not decode.
    #[error("sweep {sweep}: stored {what} does not decode: {detail}")]
    Corrupt {
        /// The sweep.
        sweep: u64,
        /// Which record.
        what: String,
        /// The decoder's message.
        detail: String,
    },
    /// No such sweep.
    #[error("unknown sweep {0}")]
    UnknownSweep(u64),
}

/// What an export needs, copied out of the state.
#[derive(Debug)]
pub struct ExportJob {
    sweep: u64,
    spec_text: Arc<str>,
    spec: Arc<SweepSpec>,
    points: Arc<Vec<Point>>,
    results: Vec<StoredResult>,
    done_tasks: Vec<(u32, u64)>,
    series: SeriesFiles,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Exported {
    /// `results.parquet`.
    pub results: PathBuf,
    /// `series.parquet`, unless skipped.
    pub series: Option<PathBuf>,
    /// Result rows written.
    pub rows: u64,
    /// Series rows written.
    pub series_rows: u64,
}

impl ExportJob {
    /// Takes what is needed to write `sweep`'s files now.
    pub fn snapshot(state: &State, sweep: u64) -> Result<Self, ExportError> {
        let info = state.sweep(sweep).ok_or(ExportError::UnknownSweep(sweep))?;
        let done_tasks = state
            .store()
            .tasks(sweep)?
            .into_iter()
            .filter(|t| t.state == TaskState::Done)
            .map(|t| (t.task, t.epoch))
            .collect();
        Ok(Self {
            sweep,
            spec_text: info.spec_text.clone(),
            spec: info.spec.clone(),
            points: info.points.clone(),
            results: state.store().results(sweep)?,
            done_tasks,
            series: state.series().clone(),
        })
    }

    /// The spec's `[analysis]` tolerance overrides.
    pub fn tolerances(&self) -> std::collections::BTreeMap<String, f64> {
        self.spec.analysis.clone()
    }

    /// Writes `spec.toml`, `results.parquet` and (unless `skip_series`) `series.parquet` into
    /// `dir`; each appears under its final name only once complete.
    pub fn write(&self, dir: &Path, skip_series: bool) -> Result<Exported, ExportError> {
        std::fs::create_dir_all(dir).map_err(|source| ExportError::Io {
            action: "create",
            path: dir.to_path_buf(),
            source,
        })?;
        let spec_path = dir.join("spec.toml");
        let tmp = dir.join(".spec.toml.tmp");
        std::fs::write(&tmp, self.spec_text.as_bytes())
            .and_then(|()| std::fs::rename(&tmp, &spec_path))
            .map_err(|source| ExportError::Io {
                action: "write",
                path: spec_path,
                source,
            })?;
        let rows = self.result_rows()?;
        let mut sink =
            ParquetSink::<ResultRow>::create(dir.join("results.parquet"), SinkOptions::default())?;
        let count = rows.len() as u64;
        sink.send(rows)?;
        let results = sink.finish()?.path;
        let (series, series_rows) = if skip_series {
            (None, 0)
        } else {
            let (path, n) = self.write_series(&dir.join("series.parquet"))?;
            (Some(path), n)
        };
        // Chunks of epochs that were never accepted are of no further use.
        for &(task, epoch) in &self.done_tasks {
            if let Err(e) = self.series.discard_other_epochs(self.sweep, task, epoch) {
                tracing::warn!(sweep = self.sweep, task, error = %e, "could not delete stale series chunks");
            }
        }
        Ok(Exported {
            results,
            series,
            rows: count,
            series_rows,
        })
    }

    fn result_rows(&self) -> Result<Vec<ResultRow>, ExportError> {
        let spec = &self.spec;
        let by_key: std::collections::HashMap<(u32, u32), &Point> = self
            .points
            .iter()
            .map(|p| ((p.index, p.replica), p))
            .collect();
        self.results
            .iter()
            .map(|stored| {
                let wire = v1::PointResult::decode(stored.row.as_slice()).map_err(|e| {
                    ExportError::Corrupt {
                        sweep: self.sweep,
                        what: format!(
                            "result of point {} replica {}",
                            stored.point, stored.replica
                        ),
                        detail: e.to_string(),
                    }
                })?;
                let point = by_key.get(&(stored.point, stored.replica)).ok_or_else(|| {
                    ExportError::Corrupt {
                        sweep: self.sweep,
                        what: format!(
                            "result of point {} replica {}",
                            stored.point, stored.replica
                        ),
                        detail: "the spec has no such point".into(),
                    }
                })?;
                Ok(result_row(self.sweep, spec, point, stored, wire))
            })
            .collect()
    }

    fn write_series(&self, path: &Path) -> Result<(PathBuf, u64), ExportError> {
        let mut sink = ParquetSink::<SeriesRow>::create(path, SinkOptions::default())?;
        let sweep_name = self.sweep.to_string();
        let mut total = 0u64;
        for &(task, epoch) in &self.done_tasks {
            let io = |source| ExportError::Io {
                action: "read series chunks of",
                path: path.to_path_buf(),
                source,
            };
            let seqs = self.series.stored(self.sweep, task, epoch).map_err(io)?;
            let count = seqs.last().map_or(0, |s| s + 1);
            let chunks = self
                .series
                .read(self.sweep, task, epoch, count)
                .map_err(io)?;
            // Chunks arrive in the order the chain groups produced them; the file is sorted
            // by point, replica and iteration within each task (tasks are in point order).
            let mut rows: Vec<SeriesRow> = Vec::new();
            for (seq, bytes) in chunks {
                let chunk = v1::SeriesChunk::decode(bytes.as_slice()).map_err(|e| {
                    ExportError::Corrupt {
                        sweep: self.sweep,
                        what: format!("series chunk {seq} of task {task}"),
                        detail: e.to_string(),
                    }
                })?;
                rows.extend(chunk.samples.into_iter().map(|s| SeriesRow {
                    sweep: sweep_name.clone(),
                    point: s.point,
                    replica: s.replica,
                    iteration: s.iteration,
                    loss: s.loss,
                    radius: s.radius,
                    entropy_unit: s.entropy_unit,
                    entropy: s.entropy,
                    trace_sigma: s.trace_sigma,
                    full_grad_sq: s.full_grad_sq,
                }));
            }
            rows.sort_by_key(|r| (r.point, r.replica, r.iteration));
            total += rows.len() as u64;
            sink.send(rows)?;
        }
        Ok((sink.finish()?.path, total))
    }
}

/// A stored wire row as a `results.parquet` row: identity and hyperparameter columns from the
/// coordinator's spec, measurements from the agent.
fn result_row(
    sweep: u64,
    spec: &SweepSpec,
    point: &Point,
    stored: &StoredResult,
    w: v1::PointResult,
) -> ResultRow {
    let (first, second) = (Some(point.first), Some(point.second));
    let (lr, elr, wd, radius) = match spec.protocol {
        Protocol::FixedLr => (first, None, second, None),
        Protocol::FixedElr => (None, first, second, None),
        Protocol::FixedSphere => (None, first, None, second),
    };
    let status = w.status.parse().unwrap_or(Status::Failed);
    ResultRow {
        sweep: sweep.to_string(),
        point: point.index,
        replica: point.replica,
        seed: w.seed,
        workload: spec.workload.kind().to_owned(),
        protocol: spec.protocol.as_str().to_owned(),
        dim: spec.workload.dim() as u64,
        lr,
        elr,
        wd,
        radius,
        iterations: w.iterations,
        loss_mean: w.loss_mean,
        radius_mean: w.radius_mean,
        entropy_unit: w.entropy_unit,
        entropy: w.entropy,
        sigma2: w.sigma2,
        trace_sigma: w.trace_sigma,
        full_grad_sq: w.full_grad_sq,
        temperature: w.temperature,
        pressure: w.pressure,
        volume: w.volume,
        wd_eff: w.wd_eff,
        status,
        error: w.error,
        backend: w.backend,
        agent: stored.agent.clone(),
        attempt: stored.attempt,
        wall_seconds: w.wall_seconds,
        loss_sem: w.loss_sem,
        radius_sem: w.radius_sem,
        entropy_unit_sem: w.entropy_unit_sem,
        wd_eff_sem: w.wd_eff_sem,
        wd_eff_linear: w.wd_eff_linear,
        trace_sigma_sem: w.trace_sigma_sem,
        full_grad_sq_sem: w.full_grad_sq_sem,
        test_loss: w.test_loss,
        test_accuracy: w.test_accuracy,
        adiabat: point.path,
    }
}
