//! The lease state machine (DESIGN §4) with injected time: leasing, heartbeats, expiry and
//! re-leasing with a new epoch, stale reports superseded, counted and uncounted failures,
//! capabilities, cancellation, agent departure, restart, and a randomised exactly-once property.

use std::collections::HashSet;

use proptest::prelude::*;
use sweep_coordinator::scheduler::{
    AgentId, Capabilities, Failure, LeasePolicy, Millis, Rejection, Requirement, Resume, Scheduler,
    SweepCounts, SweepId, SweepSetup, TaskId, TaskStatus,
};

const TTL: u64 = 10_000;
const CPU: Capabilities = Capabilities {
    cpu: true,
    cuda: false,
};
const GPU: Capabilities = Capabilities {
    cpu: true,
    cuda: true,
};

fn agent(name: &str) -> AgentId {
    AgentId(name.to_string())
}

fn scheduler(tasks: u32, need: Requirement, max_attempts: u32) -> Scheduler {
    let mut s = Scheduler::new(LeasePolicy { ttl_ms: TTL });
    assert!(s.add_sweep(SweepSetup {
        sweep: SweepId(1),
        tasks,
        need,
        max_attempts
    }));
    assert!(
        !s.add_sweep(SweepSetup {
            sweep: SweepId(1),
            tasks,
            need,
            max_attempts
        }),
        "duplicate sweep"
    );
    s
}

fn task(t: u32) -> TaskId {
    TaskId {
        sweep: SweepId(1),
        task: t,
    }
}

#[test]
fn leases_go_out_in_order_with_fresh_epochs() {
    let mut s = scheduler(3, Requirement::Any, 3);
    let a = agent("a");
    for t in 0..3 {
        let l = s.lease(&a, CPU, Millis(5)).expect("a task");
        assert_eq!(
            (l.task, l.epoch, l.attempt, l.deadline),
            (task(t), 1, 1, Millis(5 + TTL))
        );
    }
    assert!(s.lease(&a, CPU, Millis(5)).is_none());
    assert_eq!(
        s.counts(SweepId(1)),
        Some(SweepCounts {
            leased: 3,
            ..Default::default()
        })
    );
}

#[test]
fn an_expired_lease_is_re_leased_and_the_stale_report_superseded() {
    let mut s = scheduler(1, Requirement::Any, 3);
    let (a, b) = (agent("a"), agent("b"));
    let first = s.lease(&a, CPU, Millis(0)).expect("lease");
    // Heartbeats keep it alive past the original deadline.
    assert_eq!(
        s.heartbeat(&a, task(0), 1, Millis(9_000)),
        Ok(Millis(19_000))
    );
    assert!(s.expire(Millis(15_000)).is_empty());
    assert_eq!(
        s.heartbeat(&b, task(0), 1, Millis(9_500)),
        Err(Rejection::NotHolder { task: task(0) })
    );
    // Silence past the renewed deadline: expired, back in the queue, not counted as an attempt.
    let expired = s.expire(Millis(19_000));
    assert_eq!(expired, vec![first.clone().with_deadline(Millis(19_000))]);
    let second = s.lease(&b, CPU, Millis(19_001)).expect("re-lease");
    assert_eq!((second.epoch, second.attempt), (2, 1));
    // The first agent's late report carries epoch 1: superseded, nothing stored.
    assert_eq!(
        s.complete(task(0), 1),
        Err(Rejection::Superseded {
            task: task(0),
            current: Some(2),
            reported: 1
        })
    );
    assert_eq!(
        s.heartbeat(&a, task(0), 1, Millis(19_002)).map(|_| ()),
        Err(Rejection::Superseded {
            task: task(0),
            current: Some(2),
            reported: 1
        })
    );
    assert_eq!(s.complete(task(0), 2), Ok(()));
    assert_eq!(
        s.counts(SweepId(1)).map(|c| (c.done, c.finished())),
        Some((1, true))
    );
    // A duplicate report after completion is superseded too.
    assert!(matches!(
        s.complete(task(0), 2),
        Err(Rejection::Superseded { current: None, .. })
    ));
    assert_eq!(s.complete(task(7), 1), Err(Rejection::UnknownTask(task(7))));
}

trait WithDeadline {
    fn with_deadline(self, d: Millis) -> Self;
}

impl WithDeadline for sweep_coordinator::scheduler::Lease {
    fn with_deadline(mut self, d: Millis) -> Self {
        self.deadline = d;
        self
    }
}

#[test]
fn errors_count_toward_max_attempts_and_lost_leases_do_not() {
    let mut s = scheduler(1, Requirement::Any, 2);
    let a = agent("a");
    let l = s.lease(&a, CPU, Millis(0)).expect("lease");
    assert_eq!(
        s.fail(task(0), l.epoch, Failure::Lost),
        Ok(TaskStatus::Pending)
    );
    let l = s.lease(&a, CPU, Millis(1)).expect("lease");
    assert_eq!(l.attempt, 1, "a lost lease is not an attempt");
    assert_eq!(
        s.fail(task(0), l.epoch, Failure::Error("boom".into())),
        Ok(TaskStatus::Pending)
    );
    let l = s.lease(&a, CPU, Millis(2)).expect("lease");
    assert_eq!(l.attempt, 2);
    assert_eq!(
        s.fail(task(0), l.epoch, Failure::Error("boom again".into())),
        Ok(TaskStatus::Failed("boom again".into()))
    );
    assert!(s.lease(&a, CPU, Millis(3)).is_none());
    assert_eq!(
        s.counts(SweepId(1)).map(|c| (c.failed, c.finished())),
        Some((1, true))
    );
}

#[test]
fn capabilities_decide_who_gets_what_in_submission_order() {
    let mut s = Scheduler::new(LeasePolicy { ttl_ms: TTL });
    s.add_sweep(SweepSetup {
        sweep: SweepId(1),
        tasks: 2,
        need: Requirement::Cuda,
        max_attempts: 1,
    });
    s.add_sweep(SweepSetup {
        sweep: SweepId(2),
        tasks: 2,
        need: Requirement::Any,
        max_attempts: 1,
    });
    s.add_sweep(SweepSetup {
        sweep: SweepId(3),
        tasks: 1,
        need: Requirement::Cpu,
        max_attempts: 1,
    });
    let cpu_only = agent("cpu");
    // A CPU agent skips the CUDA sweep and takes the oldest task it can run.
    let l = s.lease(&cpu_only, CPU, Millis(0)).expect("lease");
    assert_eq!(
        l.task,
        TaskId {
            sweep: SweepId(2),
            task: 0
        }
    );
    let gpu = agent("gpu");
    let l = s.lease(&gpu, GPU, Millis(0)).expect("lease");
    assert_eq!(
        l.task,
        TaskId {
            sweep: SweepId(1),
            task: 0
        }
    );
    let none = Capabilities::default();
    assert!(s.lease(&agent("nothing"), none, Millis(0)).is_none());
    let only_gpu = Capabilities {
        cpu: false,
        cuda: true,
    };
    let l = s.lease(&gpu, only_gpu, Millis(0)).expect("lease");
    assert_eq!(
        l.task,
        TaskId {
            sweep: SweepId(1),
            task: 1
        }
    );
    let l = s.lease(&gpu, only_gpu, Millis(0)).expect("lease");
    assert_eq!(
        l.task,
        TaskId {
            sweep: SweepId(2),
            task: 1
        }
    );
    assert!(
        s.lease(&gpu, only_gpu, Millis(0)).is_none(),
        "the CPU-only task is not for a CPU-less agent"
    );
    assert_eq!(
        s.lease(&cpu_only, CPU, Millis(0)).map(|l| l.task),
        Some(TaskId {
            sweep: SweepId(3),
            task: 0
        })
    );
}

#[test]
fn cancelling_a_sweep_stops_its_tasks_and_supersedes_reports() {
    let mut s = scheduler(4, Requirement::Any, 3);
    let a = agent("a");
    let l = s.lease(&a, CPU, Millis(0)).expect("lease");
    s.complete(l.task, l.epoch).expect("done");
    let l = s.lease(&a, CPU, Millis(0)).expect("lease");
    let counts = s.cancel(SweepId(1)).expect("sweep");
    assert_eq!(
        counts,
        SweepCounts {
            done: 1,
            cancelled: 3,
            ..Default::default()
        }
    );
    assert!(matches!(
        s.complete(l.task, l.epoch),
        Err(Rejection::Superseded { .. })
    ));
    assert!(s.lease(&a, CPU, Millis(0)).is_none());
    assert!(s.expire(Millis(u64::MAX)).is_empty());
    assert_eq!(s.unfinished(), 0);
}

#[test]
fn a_departing_agent_returns_its_leases() {
    let mut s = scheduler(3, Requirement::Any, 3);
    let (a, b) = (agent("a"), agent("b"));
    s.lease(&a, CPU, Millis(0)).expect("lease");
    s.lease(&b, CPU, Millis(0)).expect("lease");
    s.lease(&a, CPU, Millis(0)).expect("lease");
    let mut back = s.release_agent(&a);
    back.sort();
    assert_eq!(back, vec![task(0), task(2)]);
    let l = s.lease(&b, CPU, Millis(1)).expect("lease");
    assert_eq!((l.task, l.epoch, l.attempt), (task(0), 2, 1));
}

#[test]
fn memory_holds_only_unfinished_tasks() {
    let mut s = scheduler(10_000, Requirement::Any, 3);
    let a = agent("a");
    while let Some(l) = s.lease(&a, CPU, Millis(0)) {
        s.complete(l.task, l.epoch).expect("done");
    }
    assert_eq!(s.unfinished(), 0);
    assert_eq!(s.counts(SweepId(1)).map(|c| c.done), Some(10_000));
}

#[test]
fn resuming_keeps_epochs_and_gives_leases_time_to_reconnect() {
    let mut s = Scheduler::new(LeasePolicy { ttl_ms: TTL });
    let held = sweep_coordinator::scheduler::Lease {
        task: task(1),
        agent: agent("a"),
        attempt: 2,
        epoch: 4,
        deadline: Millis(100),
    };
    let states = vec![
        (0, Resume::Finished(TaskStatus::Done)),
        (
            1,
            Resume::Leased {
                lease: held,
                errors: 1,
            },
        ),
        (
            2,
            Resume::Pending {
                errors: 1,
                epoch: 3,
            },
        ),
        (3, Resume::Finished(TaskStatus::Failed("x".into()))),
    ];
    let setup = SweepSetup {
        sweep: SweepId(1),
        tasks: 5,
        need: Requirement::Any,
        max_attempts: 3,
    };
    assert!(s.resume_sweep(setup, states, Millis(50_000)));
    assert_eq!(
        s.counts(SweepId(1)),
        Some(SweepCounts {
            pending: 2,
            leased: 1,
            done: 1,
            failed: 1,
            cancelled: 0
        })
    );
    // The reconnecting agent's heartbeat on epoch 4 is accepted; the lease did not expire at 100.
    assert!(s.expire(Millis(50_000)).is_empty());
    assert_eq!(
        s.heartbeat(&agent("a"), task(1), 4, Millis(50_001)),
        Ok(Millis(60_001))
    );
    let l = s.lease(&agent("b"), CPU, Millis(50_002)).expect("lease");
    assert_eq!((l.task, l.epoch, l.attempt), (task(2), 4, 2));
}

#[derive(Debug, Clone)]
enum Op {
    Lease(u8),
    Heartbeat(u8),
    Complete(u8),
    Fail(u8, bool),
    Advance(u16),
    Leave(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..4).prop_map(Op::Lease),
        (0u8..4).prop_map(Op::Heartbeat),
        (0u8..4).prop_map(Op::Complete),
        ((0u8..4), any::<bool>()).prop_map(|(a, e)| Op::Fail(a, e)),
        (0u16..15_000).prop_map(Op::Advance),
        (0u8..4).prop_map(Op::Leave),
    ]
}

proptest! {
    /// Whatever agents do (lease, renew, report late, fail, vanish), every task is accepted as
    /// done at most once, counts always add up, and a final honest agent finishes the rest.
    #[test]
    fn every_task_completes_exactly_once(ops in proptest::collection::vec(op(), 1..300), tasks in 1u32..20) {
        let mut s = scheduler(tasks, Requirement::Any, 1000);
        let mut now = Millis(0);
        let mut held: Vec<Vec<sweep_coordinator::scheduler::Lease>> = vec![Vec::new(); 4];
        let mut done = HashSet::new();
        for op in ops {
            match op {
                Op::Lease(a) => {
                    if let Some(l) = s.lease(&agent(&a.to_string()), CPU, now) { held[a as usize].push(l); }
                }
                Op::Heartbeat(a) => {
                    for l in &held[a as usize] { let _ = s.heartbeat(&l.agent, l.task, l.epoch, now); }
                }
                Op::Complete(a) => {
                    if let Some(l) = held[a as usize].pop()
                        && s.complete(l.task, l.epoch).is_ok()
                    {
                        prop_assert!(done.insert(l.task), "{} accepted twice", l.task);
                    }
                }
                Op::Fail(a, error) => {
                    if let Some(l) = held[a as usize].pop() {
                        let f = if error { Failure::Error("e".into()) } else { Failure::Lost };
                        let _ = s.fail(l.task, l.epoch, f);
                    }
                }
                Op::Advance(ms) => { now = now.plus(u64::from(ms)); s.expire(now); }
                Op::Leave(a) => { s.release_agent(&agent(&a.to_string())); }
            }
            let c = s.counts(SweepId(1)).expect("sweep");
            prop_assert_eq!(c.total(), tasks);
            prop_assert_eq!(c.done as usize, done.len());
        }
        // Everyone else goes silent; after the TTL an honest agent drains the queue.
        now = now.plus(TTL + 1);
        s.expire(now);
        while let Some(l) = s.lease(&agent("honest"), CPU, now) {
            prop_assert!(s.complete(l.task, l.epoch).is_ok());
            prop_assert!(done.insert(l.task));
        }
        prop_assert_eq!(done.len() as u32, tasks);
        prop_assert!(s.counts(SweepId(1)).expect("sweep").finished());
    }
}
