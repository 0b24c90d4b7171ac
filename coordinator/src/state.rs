//! The coordinator's state behind one lock: the pure [`Scheduler`], the SQLite [`Store`] it is
//! mirrored into, and what lives only in memory (registered agents, progress of running tasks,
//! each live sweep's points). Every method changes the store first and the scheduler second, or
//! checks with the scheduler, stores, then commits the change, so an answer is only given for a
//! state that is on disk. The methods are synchronous and short; the service calls them on
//! blocking threads.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use prost::Message;
use sweep_proto::v1;
use sweep_spec::{Point, SweepSpec, TaskRange};
use tonic::Status;

use crate::scheduler::{
    AgentId, Capabilities, Failure, LeasePolicy, Millis, Rejection, Requirement, Resume, Scheduler,
    SweepId, SweepSetup, TaskId, TaskStatus,
};
use crate::series_files::SeriesFiles;
use crate::store::{Store, StoreError, StoredResult, StoredTask, SweepRecord, TaskState};

/// A sweep the coordinator knows, with its materialised points.
#[derive(Debug)]
pub struct SweepInfo {
    /// Id.
    pub id: u64,
    /// Label.
    pub name: String,
    /// The spec as submitted.
    pub spec_text: Arc<str>,
    /// The validated spec.
    pub spec: Arc<SweepSpec>,
    /// Every point, in result order.
    pub points: Arc<Vec<Point>>,
    /// The tasks.
    pub tasks: Vec<TaskRange>,
    /// Submission time, ms since the Unix epoch.
    pub submitted_ms: u64,
    /// Cancelled by a client.
    pub cancelled: bool,
    /// All tasks finished.
    pub ended: bool,
    /// The final result files are written.
    pub exported: bool,
    /// Stored result rows.
    pub points_done: u32,
    /// Last error of a failed task.
    pub last_error: Option<String>,
}

/// A registered agent.
#[derive(Debug, Clone)]
pub struct AgentEntry {
    /// What it can run.
    pub capabilities: v1::Capabilities,
    /// When it was last heard from.
    pub last_seen: Instant,
    /// Whether its heartbeat stream is open.
    pub connected: bool,
}

/// Event counts since the coordinator started, for the metrics endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Leases granted.
    pub leases: u64,
    /// Leases that expired.
    pub expiries: u64,
    /// Result rows stored.
    pub results: u64,
    /// Reports answered "superseded".
    pub superseded: u64,
    /// Failures reported by agents (lost or error).
    pub failures: u64,
}

/// What the caller must do after a change: export the result files of sweeps that ended.
#[derive(Debug, Default)]
#[must_use]
pub struct Effects {
    /// Sweeps that ended with this change.
    pub ended: Vec<u64>,
}

/// The state.
#[derive(Debug)]
pub struct State {
    scheduler: Scheduler,
    store: Store,
    series: SeriesFiles,
    sweeps: BTreeMap<u64, SweepInfo>,
    agents: BTreeMap<String, AgentEntry>,
    progress: HashMap<TaskId, (u64, u64)>,
    counters: Counters,
    started: Instant,
    policy: LeasePolicy,
}

fn internal(e: StoreError) -> Status {
    tracing::error!(error = %e, "state database failed");
    Status::internal(e.to_string())
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn requirement(spec: &SweepSpec) -> Requirement {
    match spec.execution.backend {
        sweep_spec::Backend::Cpu => Requirement::Cpu,
        sweep_spec::Backend::Cuda => Requirement::Cuda,
        sweep_spec::Backend::Auto => Requirement::Any,
    }
}

fn task_id(r: &v1::TaskRef) -> TaskId {
    TaskId {
        sweep: SweepId(r.sweep),
        task: r.task,
    }
}

fn rejection_reply(r: Rejection) -> Result<v1::ReportReply, Status> {
    match r {
        Rejection::UnknownTask(t) => Err(Status::not_found(format!("unknown task {t}"))),
        other => Ok(v1::ReportReply {
            outcome: v1::ReportOutcome::Superseded as i32,
            detail: other.to_string(),
        }),
    }
}

fn accepted(detail: impl Into<String>) -> v1::ReportReply {
    v1::ReportReply {
        outcome: v1::ReportOutcome::Accepted as i32,
        detail: detail.into(),
    }
}

impl State {
    /// Opens the store and resumes every sweep that had not ended. Returns the state and the
    /// sweeps that ended but whose files were not written yet.
    pub fn open(
        store: Store,
        series: SeriesFiles,
        policy: LeasePolicy,
    ) -> Result<(Self, Vec<u64>), StoreError> {
        let mut state = Self {
            scheduler: Scheduler::new(policy),
            store,
            series,
            sweeps: BTreeMap::new(),
            agents: BTreeMap::new(),
            progress: HashMap::new(),
            counters: Counters::default(),
            started: Instant::now(),
            policy,
        };
        let mut to_export = Vec::new();
        let now = state.now();
        for stored in state.store.sweeps()? {
            let spec = match sweep_spec::parse(&stored.record.spec) {
                Ok(spec) => spec,
                Err(e) => {
                    tracing::error!(sweep = stored.id, error = %e, "stored spec no longer validates; sweep skipped");
                    continue;
                }
            };
            let tasks = state.store.tasks(stored.id)?;
            let mut info = SweepInfo {
                id: stored.id,
                name: stored.record.name.clone(),
                spec_text: stored.record.spec.as_str().into(),
                points: Arc::new(spec.points()),
                tasks: spec.tasks(),
                spec: Arc::new(spec),
                submitted_ms: stored.record.submitted_ms,
                cancelled: stored.cancelled,
                ended: stored.ended_ms.is_some(),
                exported: stored.exported,
                points_done: state.store.result_count(stored.id)?,
                last_error: tasks.iter().rev().find_map(|t| {
                    (t.state == TaskState::Failed)
                        .then(|| t.last_error.clone())
                        .flatten()
                }),
            };
            let setup = SweepSetup {
                sweep: SweepId(stored.id),
                tasks: stored.record.tasks,
                need: requirement(&info.spec),
                max_attempts: info.spec.execution.max_attempts,
            };
            let resumes = tasks.iter().map(|t| (t.task, resume(stored.id, t)));
            state.scheduler.resume_sweep(setup, resumes, now);
            if !info.ended
                && state
                    .scheduler
                    .counts(SweepId(stored.id))
                    .is_some_and(|c| c.finished())
            {
                state.store.mark_ended(stored.id, unix_ms())?;
                info.ended = true;
            }
            if info.ended && !stored.exported {
                to_export.push(stored.id);
            }
            tracing::info!(sweep = stored.id, name = %info.name, ended = info.ended, "sweep resumed");
            state.sweeps.insert(stored.id, info);
        }
        Ok((state, to_export))
    }

    /// Milliseconds since this state was opened (the scheduler's clock).
    pub fn now(&self) -> Millis {
        Millis(self.started.elapsed().as_millis() as u64)
    }

    /// The lease policy.
    pub fn policy(&self) -> LeasePolicy {
        self.policy
    }

    /// A sweep.
    pub fn sweep(&self, id: u64) -> Option<&SweepInfo> {
        self.sweeps.get(&id)
    }

    /// The store (for exports).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The series chunk files.
    pub fn series(&self) -> &SeriesFiles {
        &self.series
    }

    /// Validates, materialises and stores a new sweep.
    pub fn submit(&mut self, spec_text: &str) -> Result<v1::SubmitReply, Status> {
        let spec = sweep_spec::parse(spec_text).map_err(|e| {
            let lines: Vec<String> = e.problems().iter().map(|p| p.to_string()).collect();
            Status::invalid_argument(lines.join("\n"))
        })?;
        let points = spec.points();
        let tasks = spec.tasks();
        let record = SweepRecord {
            name: spec.name.clone(),
            spec: spec_text.to_owned(),
            submitted_ms: unix_ms(),
            points: points.len() as u32,
            tasks: tasks.len() as u32,
        };
        let id = self.store.insert_sweep(&record).map_err(internal)?;
        self.scheduler.add_sweep(SweepSetup {
            sweep: SweepId(id),
            tasks: record.tasks,
            need: requirement(&spec),
            max_attempts: spec.execution.max_attempts,
        });
        tracing::info!(sweep = id, name = %record.name, points = record.points, tasks = record.tasks, "sweep submitted");
        self.sweeps.insert(
            id,
            SweepInfo {
                id,
                name: record.name.clone(),
                spec_text: spec_text.into(),
                spec: Arc::new(spec),
                points: Arc::new(points),
                tasks,
                submitted_ms: record.submitted_ms,
                cancelled: false,
                ended: false,
                exported: false,
                points_done: 0,
                last_error: None,
            },
        );
        Ok(v1::SubmitReply {
            sweep: id,
            name: record.name,
            points: record.points,
            tasks: record.tasks,
        })
    }

    /// Registers (or re-registers) an agent.
    pub fn register(&mut self, req: &v1::RegisterRequest) -> Result<v1::RegisterReply, Status> {
        if req.agent.is_empty() || req.agent.len() > 256 {
            return Err(Status::invalid_argument(
                "agent: must be a name of 1 to 256 bytes",
            ));
        }
        if req.protocol_version != sweep_proto::PROTOCOL_VERSION {
            return Err(Status::failed_precondition(format!(
                "protocol_version: this coordinator speaks version {}, the agent {}",
                sweep_proto::PROTOCOL_VERSION,
                req.protocol_version
            )));
        }
        let capabilities = req.capabilities.clone().unwrap_or_default();
        if !capabilities.cpu && !capabilities.cuda {
            return Err(Status::invalid_argument(
                "capabilities: an agent must run cpu or cuda tasks",
            ));
        }
        tracing::info!(agent = %req.agent, cpu = capabilities.cpu, cuda = capabilities.cuda, "agent registered");
        self.agents.insert(
            req.agent.clone(),
            AgentEntry {
                capabilities,
                last_seen: Instant::now(),
                connected: true,
            },
        );
        let ttl = self.policy.ttl_ms;
        Ok(v1::RegisterReply {
            protocol_version: sweep_proto::PROTOCOL_VERSION,
            lease_ttl_ms: ttl,
            heartbeat_ms: (ttl / 4).clamp(50, 2000),
        })
    }

    fn touch(&mut self, agent: &str) -> Result<Capabilities, Status> {
        let entry = self.agents.get_mut(agent).ok_or_else(|| {
            Status::failed_precondition(format!("agent {agent:?} is not registered"))
        })?;
        entry.last_seen = Instant::now();
        Ok(Capabilities {
            cpu: entry.capabilities.cpu,
            cuda: entry.capabilities.cuda,
        })
    }

    /// Leases the oldest task the agent can run, if any.
    pub fn lease(&mut self, agent: &str) -> Result<Option<v1::TaskAssignment>, Status> {
        let caps = self.touch(agent)?;
        let now = self.now();
        let Some(lease) = self.scheduler.lease(&AgentId(agent.to_owned()), caps, now) else {
            return Ok(None);
        };
        let (sweep, task) = (lease.task.sweep.0, lease.task.task);
        if let Err(e) = self.store.set_leased(sweep, task, lease.epoch, agent) {
            // Not on disk: give it back (lost, not counted) so the answer matches the store.
            let _ = self.scheduler.fail(lease.task, lease.epoch, Failure::Lost);
            return Err(internal(e));
        }
        let info = self
            .sweeps
            .get(&sweep)
            .ok_or_else(|| Status::internal(format!("sweep {sweep} has tasks but no spec")))?;
        let range = info
            .tasks
            .get(task as usize)
            .ok_or_else(|| Status::internal(format!("task {sweep}/{task} out of range")))?;
        let points = info.points[range.start as usize..range.end as usize]
            .iter()
            .map(|p| v1::PointAssignment {
                point: p.index,
                replica: p.replica,
                first: p.first,
                second: p.second,
            })
            .collect();
        self.counters.leases += 1;
        tracing::debug!(
            sweep,
            task,
            epoch = lease.epoch,
            attempt = lease.attempt,
            agent,
            "task leased"
        );
        Ok(Some(v1::TaskAssignment {
            task: Some(v1::TaskRef::new(sweep, task, lease.epoch)),
            attempt: lease.attempt,
            deadline_ms_from_now: lease.deadline.0.saturating_sub(now.0),
            spec_toml: info.spec_text.to_string(),
            points,
        }))
    }

    /// Renews the leases an agent names; returns those it must abandon.
    pub fn heartbeat(&mut self, beat: &v1::Beat) -> Result<Vec<v1::TaskRef>, Status> {
        self.touch(&beat.agent)?;
        let agent = AgentId(beat.agent.clone());
        let now = self.now();
        let mut abandon = Vec::new();
        for held in &beat.leases {
            let Some(r) = held.task else { continue };
            let id = task_id(&r);
            match self.scheduler.heartbeat(&agent, id, r.epoch, now) {
                Ok(_) => {
                    self.progress
                        .insert(id, (held.steps_done, held.steps_total.max(held.steps_done)));
                }
                Err(_) => abandon.push(r),
            }
        }
        Ok(abandon)
    }

    /// Marks an agent's heartbeat stream open or closed.
    pub fn set_connected(&mut self, agent: &str, connected: bool) {
        if let Some(entry) = self.agents.get_mut(agent) {
            entry.connected = connected;
            entry.last_seen = Instant::now();
        }
    }

    /// Checks that a series chunk belongs to the current lease; the caller then stores it.
    pub fn check_series(&self, chunk: &v1::SeriesChunk) -> Result<Option<v1::ReportReply>, Status> {
        let r = chunk
            .task
            .ok_or_else(|| Status::invalid_argument("task: required"))?;
        match self
            .scheduler
            .check(&AgentId(chunk.agent.clone()), task_id(&r), r.epoch)
        {
            Ok(_) => Ok(None),
            Err(rej) => rejection_reply(rej).map(Some),
        }
    }

    /// Stores a task's results if its epoch is current; a repeat of an accepted report is
    /// accepted again without storing anything twice.
    pub fn complete(
        &mut self,
        req: &v1::CompleteRequest,
    ) -> Result<(v1::ReportReply, Effects), Status> {
        let r = req
            .task
            .ok_or_else(|| Status::invalid_argument("task: required"))?;
        let id = task_id(&r);
        let (sweep, task) = (r.sweep, r.task);
        let info = self
            .sweeps
            .get(&sweep)
            .ok_or_else(|| Status::not_found(format!("unknown sweep {sweep}")))?;
        let range = *info
            .tasks
            .get(task as usize)
            .ok_or_else(|| Status::not_found(format!("unknown task {sweep}/{task}")))?;
        let lease = match self
            .scheduler
            .check(&AgentId(req.agent.clone()), id, r.epoch)
        {
            Ok(lease) => lease.clone(),
            Err(rej) => {
                if let Some(stored) = self.store.task(sweep, task).map_err(internal)?
                    && stored.state == TaskState::Done
                    && stored.epoch == r.epoch
                    && stored.agent.as_deref() == Some(req.agent.as_str())
                {
                    return Ok((accepted("already stored"), Effects::default()));
                }
                self.counters.superseded += 1;
                return rejection_reply(rej).map(|reply| (reply, Effects::default()));
            }
        };
        let expected = &info.points[range.start as usize..range.end as usize];
        check_rows(expected, &req.results)?;
        let stored = self
            .series
            .stored(sweep, task, r.epoch)
            .map_err(|e| Status::internal(format!("series chunks of {sweep}/{task}: {e}")))?;
        if let Some(missing) = (0..req.series_chunks).find(|s| stored.binary_search(s).is_err()) {
            return Err(Status::failed_precondition(format!(
                "series_chunks: chunk {missing} of {} for task {r} was never received; send the series again",
                req.series_chunks
            )));
        }
        let results: Vec<StoredResult> = req
            .results
            .iter()
            .map(|row| StoredResult {
                point: row.point,
                replica: row.replica,
                task,
                agent: req.agent.clone(),
                attempt: lease.attempt,
                row: row.encode_to_vec(),
            })
            .collect();
        self.store
            .complete_task(sweep, task, r.epoch, &req.agent, &results)
            .map_err(internal)?;
        self.scheduler
            .complete(id, r.epoch)
            .map_err(|e| Status::internal(e.to_string()))?;
        self.progress.remove(&id);
        self.counters.results += results.len() as u64;
        if let Some(info) = self.sweeps.get_mut(&sweep) {
            info.points_done += results.len() as u32;
        }
        tracing::info!(sweep, task, epoch = r.epoch, agent = %req.agent, points = results.len(), "task done");
        Ok((accepted("stored"), self.after_change(sweep)?))
    }

    /// Records a task that ended without results.
    pub fn fail(&mut self, req: &v1::FailRequest) -> Result<(v1::ReportReply, Effects), Status> {
        let r = req
            .task
            .ok_or_else(|| Status::invalid_argument("task: required"))?;
        let id = task_id(&r);
        let failure = match v1::FailureKind::try_from(req.kind) {
            Ok(v1::FailureKind::Lost) => Failure::Lost,
            Ok(v1::FailureKind::Error) => Failure::Error(req.message.clone()),
            _ => {
                return Err(Status::invalid_argument(
                    "kind: must be FAILURE_KIND_LOST or FAILURE_KIND_ERROR",
                ));
            }
        };
        let lease = match self
            .scheduler
            .check(&AgentId(req.agent.clone()), id, r.epoch)
        {
            Ok(lease) => lease.clone(),
            Err(rej) => {
                self.counters.superseded += 1;
                return rejection_reply(rej).map(|reply| (reply, Effects::default()));
            }
        };
        self.counters.failures += 1;
        let counted = matches!(failure, Failure::Error(_));
        let errors = lease.attempt - 1 + u32::from(counted);
        let max = self
            .sweeps
            .get(&r.sweep)
            .map_or(1, |s| s.spec.execution.max_attempts.max(1));
        let message = counted.then_some(req.message.as_str());
        if counted && errors >= max {
            self.store
                .set_failed(r.sweep, r.task, errors, &req.message)
                .map_err(internal)?;
        } else {
            self.store
                .set_pending(r.sweep, r.task, errors, message)
                .map_err(internal)?;
        }
        let status = self
            .scheduler
            .fail(id, r.epoch, failure)
            .map_err(|e| Status::internal(e.to_string()))?;
        self.progress.remove(&id);
        if let TaskStatus::Failed(m) = &status {
            tracing::warn!(sweep = r.sweep, task = r.task, attempts = errors, error = %m, "task failed for good");
            if let Some(info) = self.sweeps.get_mut(&r.sweep) {
                info.last_error = Some(m.clone());
            }
        } else {
            tracing::info!(sweep = r.sweep, task = r.task, counted, message = %req.message, "task back in the queue");
        }
        Ok((accepted("recorded"), self.after_change(r.sweep)?))
    }

    /// Takes back leases past their deadline.
    pub fn expire(&mut self) -> Result<usize, Status> {
        let now = self.now();
        let expired = self.scheduler.expire(now);
        self.counters.expiries += expired.len() as u64;
        for lease in &expired {
            let (sweep, task) = (lease.task.sweep.0, lease.task.task);
            tracing::warn!(sweep, task, epoch = lease.epoch, agent = %lease.agent.0, "lease expired; task back in the queue");
            self.progress.remove(&lease.task);
            self.store
                .set_pending(sweep, task, lease.attempt - 1, None)
                .map_err(internal)?;
        }
        Ok(expired.len())
    }

    /// Cancels a sweep's unfinished tasks.
    pub fn cancel(&mut self, sweep: u64) -> Result<Effects, Status> {
        if !self.sweeps.contains_key(&sweep) {
            return Err(Status::not_found(format!("unknown sweep {sweep}")));
        }
        self.store.cancel_sweep(sweep).map_err(internal)?;
        self.scheduler.cancel(SweepId(sweep));
        self.progress.retain(|t, _| t.sweep.0 != sweep);
        if let Some(info) = self.sweeps.get_mut(&sweep) {
            info.cancelled = true;
        }
        tracing::info!(sweep, "sweep cancelled");
        self.after_change(sweep)
    }

    fn after_change(&mut self, sweep: u64) -> Result<Effects, Status> {
        let finished = self
            .scheduler
            .counts(SweepId(sweep))
            .is_some_and(|c| c.finished());
        let mut effects = Effects::default();
        if let Some(info) = self.sweeps.get_mut(&sweep)
            && finished
            && !info.ended
        {
            self.store.mark_ended(sweep, unix_ms()).map_err(internal)?;
            info.ended = true;
            effects.ended.push(sweep);
            tracing::info!(sweep, "sweep ended");
        }
        Ok(effects)
    }

    /// Records that a sweep's files are written.
    pub fn mark_exported(&mut self, sweep: u64) -> Result<(), StoreError> {
        self.store.mark_exported(sweep)?;
        if let Some(info) = self.sweeps.get_mut(&sweep) {
            info.exported = true;
        }
        Ok(())
    }

    /// Status of one sweep.
    pub fn status(&self, sweep: u64) -> Result<v1::SweepStatus, Status> {
        let info = self
            .sweeps
            .get(&sweep)
            .ok_or_else(|| Status::not_found(format!("unknown sweep {sweep}")))?;
        let c = self.scheduler.counts(SweepId(sweep)).unwrap_or_default();
        let state = if !c.finished() {
            v1::SweepState::Running
        } else if info.cancelled {
            v1::SweepState::Cancelled
        } else if c.failed > 0 {
            v1::SweepState::Failed
        } else {
            v1::SweepState::Completed
        };
        let per_point = info.spec.schedule.iterations;
        let running: u64 = self
            .progress
            .iter()
            .filter(|(t, _)| t.sweep.0 == sweep)
            .map(|(_, (done, _))| *done)
            .sum();
        Ok(v1::SweepStatus {
            sweep,
            name: info.name.clone(),
            state: state as i32,
            tasks: Some(v1::TaskCounts {
                pending: c.pending,
                leased: c.leased,
                done: c.done,
                failed: c.failed,
                cancelled: c.cancelled,
            }),
            points: info.points.len() as u32,
            points_done: info.points_done,
            steps_done: u64::from(info.points_done) * per_point + running,
            steps_total: info.points.len() as u64 * per_point,
            submitted_unix_ms: info.submitted_ms,
            last_error: info.last_error.clone().unwrap_or_default(),
        })
    }

    /// Every sweep's id.
    pub fn sweep_ids(&self) -> Vec<u64> {
        self.sweeps.keys().copied().collect()
    }

    /// The agents seen, with the leases they hold.
    pub fn agents(&self) -> Vec<v1::AgentInfo> {
        let mut held: HashMap<&str, Vec<v1::TaskRef>> = HashMap::new();
        for lease in self.scheduler.leases() {
            held.entry(lease.agent.0.as_str())
                .or_default()
                .push(v1::TaskRef::new(
                    lease.task.sweep.0,
                    lease.task.task,
                    lease.epoch,
                ));
        }
        for refs in held.values_mut() {
            refs.sort_by_key(|r| (r.sweep, r.task));
        }
        self.agents
            .iter()
            .map(|(name, a)| v1::AgentInfo {
                agent: name.clone(),
                capabilities: Some(a.capabilities.clone()),
                leases: held.get(name.as_str()).cloned().unwrap_or_default(),
                last_seen_ms_ago: a.last_seen.elapsed().as_millis() as u64,
                connected: a.connected,
            })
            .collect()
    }

    /// Event counts since start.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Task counts summed over every sweep, and sweeps by state word.
    pub fn totals(&self) -> (crate::scheduler::SweepCounts, BTreeMap<&'static str, u32>) {
        let mut tasks = crate::scheduler::SweepCounts::default();
        let mut sweeps = BTreeMap::new();
        for id in self.sweeps.keys() {
            if let Some(c) = self.scheduler.counts(SweepId(*id)) {
                tasks.pending += c.pending;
                tasks.leased += c.leased;
                tasks.done += c.done;
                tasks.failed += c.failed;
                tasks.cancelled += c.cancelled;
            }
            if let Ok(s) = self.status(*id) {
                let word = v1::SweepState::try_from(s.state).map_or("unknown", |s| s.word());
                *sweeps.entry(word).or_insert(0) += 1;
            }
        }
        (tasks, sweeps)
    }

    /// Registered agents: (connected, disconnected).
    pub fn agent_counts(&self) -> (u32, u32) {
        let connected = self.agents.values().filter(|a| a.connected).count() as u32;
        (connected, self.agents.len() as u32 - connected)
    }

    /// Number of unfinished tasks held in memory (for the memory benchmark).
    pub fn unfinished_tasks(&self) -> usize {
        self.scheduler.unfinished()
    }
}

/// The scheduler state a stored task resumes as.
fn resume(sweep: u64, t: &StoredTask) -> Resume {
    match t.state {
        TaskState::Pending => Resume::Pending {
            errors: t.errors,
            epoch: t.epoch,
        },
        TaskState::Leased => Resume::Leased {
            lease: crate::scheduler::Lease {
                task: TaskId {
                    sweep: SweepId(sweep),
                    task: t.task,
                },
                agent: AgentId(t.agent.clone().unwrap_or_default()),
                attempt: t.errors + 1,
                epoch: t.epoch,
                deadline: Millis(0),
            },
            errors: t.errors,
        },
        TaskState::Done => Resume::Finished(TaskStatus::Done),
        TaskState::Failed => {
            Resume::Finished(TaskStatus::Failed(t.last_error.clone().unwrap_or_default()))
        }
        TaskState::Cancelled => Resume::Finished(TaskStatus::Cancelled),
    }
}

/// Checks that a report's rows are exactly the task's points, each once, with a known status.
fn check_rows(expected: &[Point], rows: &[v1::PointResult]) -> Result<(), Status> {
    let mut want: HashMap<(u32, u32), bool> = expected
        .iter()
        .map(|p| ((p.index, p.replica), false))
        .collect();
    for row in rows {
        match want.get_mut(&(row.point, row.replica)) {
            Some(seen) if !*seen => *seen = true,
            Some(_) => {
                return Err(Status::invalid_argument(format!(
                    "results: point {} replica {} appears twice",
                    row.point, row.replica
                )));
            }
            None => {
                return Err(Status::invalid_argument(format!(
                    "results: point {} replica {} is not part of this task",
                    row.point, row.replica
                )));
            }
        }
        if !matches!(row.status.as_str(), "done" | "diverged" | "failed") {
            return Err(Status::invalid_argument(format!(
                "results: point {} replica {}: status {:?} is not done, diverged or failed",
                row.point, row.replica, row.status
            )));
        }
    }
    if let Some(((p, r), _)) = want.iter().find(|(_, seen)| !**seen) {
        return Err(Status::invalid_argument(format!(
            "results: point {p} replica {r} is missing ({} rows for {} points)",
            rows.len(),
            expected.len()
        )));
    }
    Ok(())
}
