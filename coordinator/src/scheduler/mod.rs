//! Task scheduling as a pure state machine (DESIGN §4): tasks wait in first-in-first-out order,
//! are leased to agents whose capabilities fit, stay leased while heartbeats renew them, and go
//! back to the queue with a new epoch when a lease expires or its agent leaves. A report counts
//! only with the lease's current epoch. Errors count toward `max_attempts`; lost leases do not.
//!
//! Time is an argument ([`Millis`]), never read from a clock, so every rule is tested exactly.
//! Only unfinished tasks are held: memory is flat in the number of finished tasks (finished
//! tasks live in the coordinator's database).

mod types;

use std::collections::{BTreeMap, BTreeSet, HashMap};

pub use types::{
    AgentId, Capabilities, Failure, Lease, Millis, Rejection, Requirement, SweepCounts, SweepId,
    TaskId, TaskStatus,
};

/// Lease timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeasePolicy {
    /// A lease lasts this long past its grant or last heartbeat.
    pub ttl_ms: u64,
}

/// A sweep's tasks as handed to the scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepSetup {
    /// The sweep.
    pub sweep: SweepId,
    /// Number of tasks (indices `0..tasks`).
    pub tasks: u32,
    /// Backend its tasks need.
    pub need: Requirement,
    /// Counted failures before a task fails for good (≥ 1).
    pub max_attempts: u32,
}

/// A task's persisted state, for resuming after a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// Waiting, with `errors` counted failures and its last `epoch`.
    Pending {
        /// Counted failures so far.
        errors: u32,
        /// Last epoch granted.
        epoch: u64,
    },
    /// Leased when the coordinator stopped.
    Leased {
        /// The lease (its deadline is extended to give the agent time to reconnect).
        lease: Lease,
        /// Counted failures so far.
        errors: u32,
    },
    /// Finished: done, failed or cancelled.
    Finished(TaskStatus),
}

/// An unfinished task.
#[derive(Debug, Clone)]
struct Live {
    need: Requirement,
    seq: u64,
    epoch: u64,
    errors: u32,
    max_attempts: u32,
    lease: Option<Lease>,
}

/// The scheduler.
#[derive(Debug)]
pub struct Scheduler {
    policy: LeasePolicy,
    live: HashMap<TaskId, Live>,
    /// Pending tasks by requirement (Cpu, Cuda, Any), keyed by submission sequence.
    queues: [BTreeMap<u64, TaskId>; 3],
    deadlines: BTreeSet<(Millis, TaskId)>,
    sweeps: BTreeMap<SweepId, (SweepSetup, SweepCounts)>,
    next_seq: u64,
}

fn queue_index(need: Requirement) -> usize {
    match need {
        Requirement::Cpu => 0,
        Requirement::Cuda => 1,
        Requirement::Any => 2,
    }
}

impl Scheduler {
    /// An empty scheduler.
    pub fn new(policy: LeasePolicy) -> Self {
        Self {
            policy,
            live: HashMap::new(),
            queues: Default::default(),
            deadlines: BTreeSet::new(),
            sweeps: BTreeMap::new(),
            next_seq: 0,
        }
    }

    /// Adds a new sweep, all tasks pending. Returns `false` (and changes nothing) if it exists.
    pub fn add_sweep(&mut self, setup: SweepSetup) -> bool {
        self.resume_sweep(setup, std::iter::empty(), Millis(0))
    }

    /// Adds a sweep with the persisted state of some of its tasks (the others start pending).
    /// Resumed leases get at least one TTL from `now`. Returns `false` if the sweep exists.
    pub fn resume_sweep(
        &mut self,
        setup: SweepSetup,
        states: impl IntoIterator<Item = (u32, Resume)>,
        now: Millis,
    ) -> bool {
        if self.sweeps.contains_key(&setup.sweep) {
            return false;
        }
        let mut known: HashMap<u32, Resume> = states
            .into_iter()
            .filter(|(t, _)| *t < setup.tasks)
            .collect();
        let mut counts = SweepCounts::default();
        for task in 0..setup.tasks {
            let id = TaskId {
                sweep: setup.sweep,
                task,
            };
            let seq = self.next_seq;
            self.next_seq += 1;
            let live = |epoch, errors, lease| Live {
                need: setup.need,
                seq,
                epoch,
                errors,
                max_attempts: setup.max_attempts.max(1),
                lease,
            };
            match known.remove(&task).unwrap_or(Resume::Pending {
                errors: 0,
                epoch: 0,
            }) {
                Resume::Pending { errors, epoch } => {
                    self.queues[queue_index(setup.need)].insert(seq, id);
                    self.live.insert(id, live(epoch, errors, None));
                    counts.pending += 1;
                }
                Resume::Leased { mut lease, errors } => {
                    lease.task = id;
                    lease.deadline = lease.deadline.max(now.plus(self.policy.ttl_ms));
                    self.deadlines.insert((lease.deadline, id));
                    self.live.insert(id, live(lease.epoch, errors, Some(lease)));
                    counts.leased += 1;
                }
                Resume::Finished(TaskStatus::Failed(_)) => counts.failed += 1,
                Resume::Finished(TaskStatus::Cancelled) => counts.cancelled += 1,
                Resume::Finished(_) => counts.done += 1,
            }
        }
        self.sweeps.insert(setup.sweep, (setup, counts));
        true
    }

    /// Task counts of a sweep.
    pub fn counts(&self, sweep: SweepId) -> Option<SweepCounts> {
        self.sweeps.get(&sweep).map(|(_, c)| *c)
    }

    /// The state of an unfinished task (`None` once finished or unknown).
    pub fn status(&self, task: TaskId) -> Option<TaskStatus> {
        self.live.get(&task).map(|l| match &l.lease {
            Some(lease) => TaskStatus::Leased(lease.clone()),
            None => TaskStatus::Pending,
        })
    }

    /// Every lease held now.
    pub fn leases(&self) -> impl Iterator<Item = &Lease> {
        self.live.values().filter_map(|l| l.lease.as_ref())
    }

    /// Number of unfinished tasks held in memory.
    pub fn unfinished(&self) -> usize {
        self.live.len()
    }

    /// Leases the oldest pending task that `caps` can run, if any.
    pub fn lease(&mut self, agent: &AgentId, caps: Capabilities, now: Millis) -> Option<Lease> {
        let pick = [Requirement::Cpu, Requirement::Cuda, Requirement::Any]
            .into_iter()
            .filter(|need| caps.satisfies(*need))
            .filter_map(|need| {
                self.queues[queue_index(need)]
                    .first_key_value()
                    .map(|(seq, _)| (*seq, need))
            })
            .min_by_key(|(seq, _)| *seq)?;
        let (_, id) = self.queues[queue_index(pick.1)].pop_first()?;
        let live = self.live.get_mut(&id)?;
        live.epoch += 1;
        let lease = Lease {
            task: id,
            agent: agent.clone(),
            attempt: live.errors + 1,
            epoch: live.epoch,
            deadline: now.plus(self.policy.ttl_ms),
        };
        live.lease = Some(lease.clone());
        self.deadlines.insert((lease.deadline, id));
        self.count(id.sweep, |c| {
            c.pending -= 1;
            c.leased += 1;
        });
        Some(lease)
    }

    /// Checks that `epoch` is `task`'s current lease.
    fn current(&self, task: TaskId, epoch: u64) -> Result<&Lease, Rejection> {
        let Some((setup, _)) = self.sweeps.get(&task.sweep) else {
            return Err(Rejection::UnknownTask(task));
        };
        if task.task >= setup.tasks {
            return Err(Rejection::UnknownTask(task));
        }
        let live = self.live.get(&task);
        match live.and_then(|l| l.lease.as_ref()) {
            Some(lease) if lease.epoch == epoch => Ok(lease),
            _ => Err(Rejection::Superseded {
                task,
                current: live.map(|l| l.epoch),
                reported: epoch,
            }),
        }
    }

    /// The lease a report from `agent` about `task` at `epoch` refers to, if it is current and
    /// held by `agent`. Changes nothing: callers check first, store, then commit the change.
    pub fn check(&self, agent: &AgentId, task: TaskId, epoch: u64) -> Result<&Lease, Rejection> {
        let lease = self.current(task, epoch)?;
        if &lease.agent != agent {
            return Err(Rejection::NotHolder { task });
        }
        Ok(lease)
    }

    /// Renews a lease held by `agent`; returns the new deadline.
    pub fn heartbeat(
        &mut self,
        agent: &AgentId,
        task: TaskId,
        epoch: u64,
        now: Millis,
    ) -> Result<Millis, Rejection> {
        if &self.current(task, epoch)?.agent != agent {
            return Err(Rejection::NotHolder { task });
        }
        let deadline = now.plus(self.policy.ttl_ms);
        let Some(lease) = self.live.get_mut(&task).and_then(|l| l.lease.as_mut()) else {
            return Err(Rejection::UnknownTask(task));
        };
        self.deadlines.remove(&(lease.deadline, task));
        lease.deadline = deadline;
        self.deadlines.insert((deadline, task));
        Ok(deadline)
    }

    /// Records a task's results under lease `epoch`: the task is done. A stale epoch is
    /// [`Rejection::Superseded`] and the caller must not store the results.
    pub fn complete(&mut self, task: TaskId, epoch: u64) -> Result<(), Rejection> {
        let deadline = self.current(task, epoch)?.deadline;
        self.deadlines.remove(&(deadline, task));
        self.live.remove(&task);
        self.count(task.sweep, |c| {
            c.leased -= 1;
            c.done += 1;
        });
        Ok(())
    }

    /// Records that the run under lease `epoch` ended without results. Returns the task's new
    /// status: pending again, or failed once `max_attempts` errors are counted.
    pub fn fail(
        &mut self,
        task: TaskId,
        epoch: u64,
        failure: Failure,
    ) -> Result<TaskStatus, Rejection> {
        let deadline = self.current(task, epoch)?.deadline;
        self.deadlines.remove(&(deadline, task));
        Ok(self.requeue(task, Some(failure)))
    }

    /// Takes back every lease past its deadline at `now`; they go back to the queue (lost, not
    /// counted). Returns the expired leases.
    pub fn expire(&mut self, now: Millis) -> Vec<Lease> {
        let mut out = Vec::new();
        while let Some(&(deadline, task)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_first();
            if let Some(lease) = self.live.get(&task).and_then(|l| l.lease.clone()) {
                self.requeue(task, None);
                out.push(lease);
            }
        }
        out
    }

    /// Takes back every lease `agent` holds (it is shutting down or gone): lost, not counted.
    pub fn release_agent(&mut self, agent: &AgentId) -> Vec<TaskId> {
        let held: Vec<(TaskId, Millis)> = self
            .live
            .iter()
            .filter_map(|(id, l)| {
                l.lease
                    .as_ref()
                    .filter(|x| &x.agent == agent)
                    .map(|x| (*id, x.deadline))
            })
            .collect();
        for (task, deadline) in &held {
            self.deadlines.remove(&(*deadline, *task));
            self.requeue(*task, None);
        }
        held.into_iter().map(|(t, _)| t).collect()
    }

    /// Cancels every unfinished task of a sweep; later reports for them are superseded.
    pub fn cancel(&mut self, sweep: SweepId) -> Option<SweepCounts> {
        let tasks: Vec<TaskId> = self
            .live
            .keys()
            .filter(|t| t.sweep == sweep)
            .copied()
            .collect();
        for task in tasks {
            if let Some(live) = self.live.remove(&task) {
                self.queues[queue_index(live.need)].remove(&live.seq);
                if let Some(lease) = live.lease {
                    self.deadlines.remove(&(lease.deadline, task));
                }
            }
        }
        let (_, counts) = self.sweeps.get_mut(&sweep)?;
        counts.cancelled += counts.pending + counts.leased;
        counts.pending = 0;
        counts.leased = 0;
        Some(*counts)
    }

    /// Ends a leased task's lease: back to pending, or failed when an error exhausts attempts.
    fn requeue(&mut self, task: TaskId, failure: Option<Failure>) -> TaskStatus {
        let Some(live) = self.live.get_mut(&task) else {
            return TaskStatus::Cancelled;
        };
        live.lease = None;
        if let Some(Failure::Error(message)) = failure {
            live.errors += 1;
            if live.errors >= live.max_attempts {
                self.live.remove(&task);
                self.count(task.sweep, |c| {
                    c.leased -= 1;
                    c.failed += 1;
                });
                return TaskStatus::Failed(message);
            }
        }
        self.queues[queue_index(live.need)].insert(live.seq, task);
        self.count(task.sweep, |c| {
            c.leased -= 1;
            c.pending += 1;
        });
        TaskStatus::Pending
    }

    fn count(&mut self, sweep: SweepId, f: impl FnOnce(&mut SweepCounts)) {
        if let Some((_, c)) = self.sweeps.get_mut(&sweep) {
            f(c);
        }
    }
}
