//! The bounded compute pool: a task's chains run on a rayon pool of the agent's own, entered
//! from a blocking thread, never on the async runtime's workers. While it runs, the observer
//! publishes progress for the heartbeat, cuts the series into chunks for the reporter, and
//! polls the abandon flag the heartbeat sets.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use sweep_kernels::observer::{BatchObserver, Progress, SeriesRow};
use sweep_kernels::{Backend, KernelError, PointSummary};
use sweep_proto::v1;
use sweep_spec::Workload;
use tokio::sync::mpsc;

use crate::network::{DataCache, network_batch};
use crate::workload::{isotropic_batch, point_result, series_sample};

/// Series samples per chunk sent to the coordinator.
pub const SAMPLES_PER_CHUNK: usize = 8192;

/// What a running task shares with the heartbeat.
#[derive(Debug, Default)]
pub struct RunningTask {
    /// Chain-steps done.
    pub steps_done: AtomicU64,
    /// Chain-steps in the task.
    pub steps_total: AtomicU64,
    /// Set when the coordinator says the lease is gone (or the agent shuts down).
    pub abandon: AtomicBool,
}

/// How a task run ended.
#[derive(Debug)]
pub enum Outcome {
    /// Rows for every point.
    Finished(Vec<v1::PointResult>),
    /// Stopped because the lease was abandoned.
    Abandoned,
    /// The run could not be done (bad spec for this build, kernel error): counted.
    Error(String),
}

/// The pool.
#[derive(Debug, Clone)]
pub struct ComputePool {
    pool: Arc<rayon::ThreadPool>,
    threads: usize,
    gpu: bool,
    data: DataCache,
}

impl ComputePool {
    /// A pool of `threads` compute threads (0: one per core).
    pub fn new(threads: usize, name: &str) -> Result<Self, rayon::ThreadPoolBuildError> {
        let prefix = name.to_owned();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(move |i| format!("{prefix}-compute-{i}"))
            .build()?;
        let threads = pool.current_num_threads();
        Ok(Self {
            pool: Arc::new(pool),
            threads,
            gpu: false,
            data: DataCache::default(),
        })
    }

    /// The same pool, reading network data through `data` (a cache it may share).
    pub fn with_data(self, data: DataCache) -> Self {
        Self { data, ..self }
    }

    /// The same pool, running tasks that ask for CUDA (or auto) on the GPU when `gpu` is true.
    pub fn with_gpu(self, gpu: bool) -> Self {
        Self { gpu, ..self }
    }

    /// Number of compute threads.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs a task to its end on the pool; series chunks go to `series` as they fill.
    pub async fn run(
        &self,
        task: &v1::TaskAssignment,
        running: Arc<RunningTask>,
        series: mpsc::UnboundedSender<Vec<v1::SeriesSample>>,
    ) -> Outcome {
        let spec = match sweep_spec::parse(&task.spec_toml) {
            Ok(spec) => spec,
            Err(e) => {
                return Outcome::Error(format!("the task's spec does not validate here: {e}"));
            }
        };
        let total = task.points.len() as u64 * spec.schedule.iterations;
        running.steps_total.store(total, Ordering::Relaxed);
        let pool = Arc::clone(&self.pool);
        let on_gpu = crate::gpu::use_gpu(spec.execution.backend, self.gpu);
        let backend = match crate::gpu::backend_for(on_gpu) {
            Ok(b) => b,
            Err(why) => return Outcome::Error(format!("execution.backend: {why}")),
        };
        let data = self.data.clone();
        let points = task.points.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let observer = TaskObserver {
                running: &running,
                buffer: Mutex::new(Vec::new()),
                series: &series,
            };
            let result = run_task(&spec, &points, &data, &pool, backend, &observer);
            observer.flush();
            result
        })
        .await;
        match joined {
            Ok(Ok(summaries)) => Outcome::Finished(
                summaries
                    .iter()
                    .map(|s| point_result(s, backend.label()))
                    .collect(),
            ),
            Ok(Err(TaskError::Kernel(KernelError::Cancelled))) => Outcome::Abandoned,
            Ok(Err(TaskError::Kernel(e))) => Outcome::Error(e.to_string()),
            Ok(Err(TaskError::Data(e))) => Outcome::Error(format!("training data: {e}")),
            Err(e) => Outcome::Error(format!("compute thread failed: {e}")),
        }
    }
}

/// Why a task could not finish.
enum TaskError {
    Kernel(KernelError),
    Data(sweep_nn::data::DataError),
}

/// Runs a task's points on `pool` (blocking) on `backend`: isotropic chains, or network training
/// with the task's data set (read through `data`).
fn run_task(
    spec: &sweep_spec::SweepSpec,
    points: &[v1::PointAssignment],
    data: &DataCache,
    pool: &rayon::ThreadPool,
    backend: Backend,
    observer: &TaskObserver<'_>,
) -> Result<Vec<PointSummary>, TaskError> {
    match &spec.workload {
        Workload::Isotropic { .. } => {
            let batch = isotropic_batch(spec, points).ok_or_else(|| {
                TaskError::Kernel(KernelError::invalid("workload", "not isotropic"))
            })?;
            // A CUDA run's host side (entropy estimates) also uses the pool's threads.
            pool.install(|| backend.run_isotropic(&batch, observer))
                .map_err(TaskError::Kernel)
        }
        Workload::Network(w) => {
            let data = data.get(w).map_err(TaskError::Data)?;
            let batch = network_batch(spec, w, points);
            pool.install(|| {
                sweep_nn::sweep::run_network_on(
                    backend,
                    &batch,
                    &data.train,
                    data.test.as_ref(),
                    observer,
                )
            })
            .map_err(TaskError::Kernel)
        }
    }
}

struct TaskObserver<'a> {
    running: &'a RunningTask,
    buffer: Mutex<Vec<v1::SeriesSample>>,
    series: &'a mpsc::UnboundedSender<Vec<v1::SeriesSample>>,
}

impl TaskObserver<'_> {
    fn flush(&self) {
        let rows = match self.buffer.lock() {
            Ok(mut b) => std::mem::take(&mut *b),
            Err(_) => return,
        };
        if !rows.is_empty() {
            let _ = self.series.send(rows);
        }
    }
}

impl BatchObserver for TaskObserver<'_> {
    fn series(&self, rows: Vec<SeriesRow>) {
        let full = {
            let Ok(mut buffer) = self.buffer.lock() else {
                return;
            };
            buffer.extend(rows.iter().map(series_sample));
            (buffer.len() >= SAMPLES_PER_CHUNK).then(|| std::mem::take(&mut *buffer))
        };
        if let Some(chunk) = full {
            let _ = self.series.send(chunk);
        }
    }

    fn progress(&self, progress: Progress) {
        self.running
            .steps_done
            .store(progress.steps_done, Ordering::Relaxed);
        self.running
            .steps_total
            .store(progress.steps_total, Ordering::Relaxed);
    }

    fn cancelled(&self) -> bool {
        self.running.abandon.load(Ordering::Relaxed)
    }
}
