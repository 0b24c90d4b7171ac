//! The one chain driver: every backend (the CPU's SIMD chain groups, a CUDA device or its CPU
//! execution, a network's training loop) runs its chains through [`drive`], which owns what they
//! have in common: the event schedule (series rows, entropy-queue pushes, entropy estimates), the
//! queues and estimates, the merging of entropy into the series rows, divergence and failure,
//! progress and cancellation. A backend only advances its chains over segments and reports what
//! they were at the segment's events ([`Chains`]); it keeps its own stationary sums and turns the
//! driver's per-chain records into summaries ([`Chains::finish`]).
//!
//! A segment `(t0, t1]` is as long as the backend likes: the CPU stops at every event, a GPU runs
//! many events per launch and keeps their samples in buffers, and the driver then visits the
//! segment's events in iteration order, so every backend yields the same rows in the same order.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use crate::entropy::{self, EstimatorMode};
use crate::error::KernelError;
use crate::isotropic::queue::EntropyQueue;
use crate::isotropic::{ChainPoint, EntropySchedule};
use crate::observer::{BatchObserver, Progress, SeriesRow};
use crate::summary::{PointStatus, PointSummary};

/// Series rows a driver holds before it hands them to the observer.
const ROWS_BUFFER: usize = 4096;

/// When a run's driver-level events happen.
#[derive(Clone, Debug, PartialEq)]
pub struct Events {
    /// Iterations of the run.
    pub iterations: u64,
    /// Iterations at which the backend may log a series row ([`Chains::row`] decides).
    pub rows: RowTimes,
    /// The entropy queue and its estimates, if the run has them.
    pub entropy: Option<EntropySchedule>,
}

/// Iterations at which series rows are logged.
#[derive(Clone, Debug, PartialEq)]
pub enum RowTimes {
    /// Every multiple of this.
    Every(u64),
    /// These iterations, ascending.
    At(Vec<u64>),
}

impl Events {
    /// Whether a series row is due at `t`.
    pub fn logs_at(&self, t: u64) -> bool {
        match &self.rows {
            RowTimes::Every(e) => t.is_multiple_of(*e),
            RowTimes::At(list) => list.binary_search(&t).is_ok(),
        }
    }

    /// Whether every live chain pushes a queue sample at `t`.
    pub fn pushes_at(&self, t: u64) -> bool {
        self.entropy.is_some_and(|e| t.is_multiple_of(e.every))
    }

    /// Whether the entropy of every live chain is estimated at `t`: an estimate iteration once
    /// the queue is full (every live chain has pushed at each multiple of `every` so far).
    pub fn estimates_at(&self, t: u64) -> bool {
        self.entropy
            .is_some_and(|e| t.is_multiple_of(e.log_every) && t / e.every >= e.queue as u64)
    }

    /// The first event strictly after `t` (the run's end when none comes before it).
    pub fn next_after(&self, t: u64) -> u64 {
        let next_multiple = |e: u64| (t / e + 1).saturating_mul(e);
        let mut next = self.iterations;
        next = next.min(match &self.rows {
            RowTimes::Every(e) => next_multiple(*e),
            RowTimes::At(list) => {
                let i = list.partition_point(|&x| x <= t);
                list.get(i).copied().unwrap_or(u64::MAX)
            }
        });
        if let Some(e) = self.entropy {
            next = next
                .min(next_multiple(e.every))
                .min(next_multiple(e.log_every));
        }
        next.max(t + 1)
    }
}

/// The values of one series row that a backend measured (the driver adds the entropies).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RowValues {
    /// Loss.
    pub loss: Option<f64>,
    /// ‖w‖.
    pub radius: Option<f64>,
    /// tr Σ on the unit sphere.
    pub trace_sigma: Option<f64>,
    /// ‖∇L‖² on the unit sphere.
    pub full_grad_sq: Option<f64>,
}

/// What the driver keeps of each chain, handed to [`Chains::finish`].
#[derive(Clone, Debug)]
pub struct ChainRecord {
    /// The chain.
    pub point: ChainPoint,
    /// The last `entropy.average_last` unit-sphere entropy estimates.
    pub estimates: VecDeque<f64>,
    /// How it ended.
    pub status: PointStatus,
    queue: EntropyQueue,
    diverged_at: Option<u64>,
}

impl ChainRecord {
    /// Whether the chain still produces output at iteration `t`.
    fn live_at(&self, t: u64) -> bool {
        self.status == PointStatus::Done && self.diverged_at.is_none_or(|d| t < d)
    }
}

/// A set of chains that a backend advances together.
pub trait Chains {
    /// The chains, in order.
    fn points(&self) -> &[ChainPoint];
    /// Dimension of a chain's weights (the queue's sample length).
    fn dim(&self) -> usize;
    /// The end of the segment that starts after `t0`: at most `end`, and at least `t0 + 1`.
    /// `next_event` is the driver's next event; a backend may stop there or run past it.
    fn segment_end(&self, t0: u64, next_event: u64, end: u64) -> u64;
    /// Advances every live chain through iterations `(t0, t1]`.
    fn advance(&mut self, t0: u64, t1: u64, events: &Events) -> Result<(), KernelError>;
    /// The iteration at which chain `c` stopped producing output (diverged), if it has.
    fn diverged_at(&self, c: usize) -> Option<u64>;
    /// Chain `c`'s series values at `t`, an event of the last segment or its end, if it logs
    /// a row there.
    fn row(&self, t: u64, c: usize) -> Option<RowValues>;
    /// Writes chain `c`'s unit direction at push time `t` of the last segment into `out` and
    /// returns its radius.
    fn direction(&self, t: u64, c: usize, out: &mut [f64]) -> f64;
    /// Minimum iterations between progress reports and cancellation polls.
    fn poll_every(&self) -> u64;
    /// The summaries, one per chain in order, from the driver's records; `reached` is the
    /// last iteration the driver advanced to, `wall_seconds` the run's time.
    fn finish(
        self,
        records: Vec<ChainRecord>,
        reached: u64,
        wall_seconds: f64,
    ) -> Result<Vec<PointSummary>, KernelError>;
}

/// Chain-steps done by every driver of one batch, for its progress reports.
#[derive(Debug)]
pub struct BatchProgress {
    done: AtomicU64,
    total: u64,
}

impl BatchProgress {
    /// A batch of `total` chain-steps.
    pub fn new(total: u64) -> Self {
        Self {
            done: AtomicU64::new(0),
            total,
        }
    }

    fn add(&self, steps: u64) -> Progress {
        let now = self.done.fetch_add(steps, Ordering::Relaxed) + steps;
        Progress {
            steps_done: now.min(self.total),
            steps_total: self.total,
        }
    }
}

/// Runs `chains` through `events`: segments, event replay in iteration order, entropy estimates
/// with the CPU estimator, progress into `progress` and `observer`, cancellation.
pub fn drive<C: Chains>(
    mut chains: C,
    events: &Events,
    progress: &BatchProgress,
    observer: &dyn BatchObserver,
) -> Result<Vec<PointSummary>, KernelError> {
    let clock = std::time::Instant::now();
    let dim = chains.dim();
    let (queue_len, keep) = events.entropy.map_or((0, 0), |e| (e.queue, e.average_last));
    let mut records: Vec<ChainRecord> = chains
        .points()
        .iter()
        .map(|p| ChainRecord {
            point: *p,
            estimates: VecDeque::with_capacity(keep + 1),
            status: PointStatus::Done,
            queue: EntropyQueue::new(dim, queue_len),
            diverged_at: None,
        })
        .collect();
    let end = events.iterations;
    let mut rows: Vec<SeriesRow> = Vec::new();
    let (mut t0, mut unreported) = (0u64, 0u64);
    while t0 < end {
        let t1 = chains
            .segment_end(t0, events.next_after(t0), end)
            .clamp(t0 + 1, end);
        let live_before = records.iter().filter(|r| r.live_at(t0 + 1)).count() as u64;
        chains.advance(t0, t1, events)?;
        for (c, r) in records.iter_mut().enumerate() {
            r.diverged_at = chains.diverged_at(c);
        }
        let mut t = t0;
        while t < t1 {
            t = events.next_after(t).min(t1);
            at_event(&chains, events, t, dim, &mut records, &mut rows);
        }
        for r in records.iter_mut() {
            if let (Some(d), PointStatus::Done) = (r.diverged_at, &r.status) {
                r.status = PointStatus::Diverged { iteration: d };
            }
        }
        unreported += (t1 - t0) * live_before;
        t0 = t1;
        let over = records.iter().all(|r| r.status != PointStatus::Done);
        if unreported >= chains.poll_every() * live_before.max(1) || t0 == end || over {
            if !rows.is_empty() {
                observer.series(std::mem::take(&mut rows));
            }
            observer.progress(progress.add(std::mem::take(&mut unreported)));
            if observer.cancelled() {
                return Err(KernelError::Cancelled);
            }
        } else if rows.len() >= ROWS_BUFFER {
            observer.series(std::mem::take(&mut rows));
        }
        if over {
            break;
        }
    }
    if !rows.is_empty() {
        observer.series(rows);
    }
    chains.finish(records, t0, clock.elapsed().as_secs_f64())
}

/// Everything due at `t`: rows, queue pushes, entropy estimates (merged into the rows).
fn at_event<C: Chains>(
    chains: &C,
    events: &Events,
    t: u64,
    dim: usize,
    records: &mut [ChainRecord],
    rows: &mut Vec<SeriesRow>,
) {
    let first_row = rows.len();
    for (c, r) in records.iter().enumerate().filter(|(_, r)| r.live_at(t)) {
        if let Some(v) = chains.row(t, c) {
            rows.push(SeriesRow {
                point: r.point.point,
                replica: r.point.replica,
                iteration: t,
                loss: v.loss,
                radius: v.radius,
                entropy_unit: None,
                entropy: None,
                trace_sigma: v.trace_sigma,
                full_grad_sq: v.full_grad_sq,
            });
        }
    }
    let Some(ent) = events.entropy else { return };
    if events.pushes_at(t) {
        for (c, r) in records.iter_mut().enumerate().filter(|(_, r)| r.live_at(t)) {
            let radius = chains.direction(t, c, r.queue.slot());
            r.queue.commit(radius);
        }
    }
    if !events.estimates_at(t) {
        return;
    }
    let estimates: Vec<Option<(ChainPoint, f64, f64)>> = records
        .par_iter_mut()
        .map(|r| estimate(r, t, dim, ent.mode, ent.average_last))
        .collect();
    for (p, unit, total) in estimates.into_iter().flatten() {
        match rows[first_row..]
            .iter_mut()
            .find(|row| row.point == p.point && row.replica == p.replica)
        {
            Some(row) => {
                row.entropy_unit = Some(unit);
                row.entropy = Some(total);
            }
            None => rows.push(SeriesRow {
                point: p.point,
                replica: p.replica,
                iteration: t,
                loss: None,
                radius: None,
                entropy_unit: Some(unit),
                entropy: Some(total),
                trace_sigma: None,
                full_grad_sq: None,
            }),
        }
    }
}

/// The entropy estimate of a live chain with a full queue at `t`, kept among its last `keep`;
/// a failed estimate fails the chain (the others go on).
fn estimate(
    r: &mut ChainRecord,
    t: u64,
    dim: usize,
    mode: EstimatorMode,
    keep: usize,
) -> Option<(ChainPoint, f64, f64)> {
    if !(r.live_at(t) && r.queue.is_full()) {
        return None;
    }
    let (units, radii) = r.queue.samples();
    match entropy::estimate(units, radii, dim, mode) {
        Ok(est) => {
            if r.estimates.len() == keep {
                r.estimates.pop_front();
            }
            r.estimates.push_back(est.entropy_unit);
            Some((r.point, est.entropy_unit, est.entropy))
        }
        Err(err) => {
            r.status = PointStatus::Failed(format!("entropy estimate at iteration {t}: {err}"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(rows: RowTimes) -> Events {
        Events {
            iterations: 100,
            rows,
            entropy: Some(EntropySchedule {
                queue: 3,
                every: 7,
                log_every: 10,
                average_last: 2,
                mode: EstimatorMode::Reflected,
            }),
        }
    }

    #[test]
    fn events_merge_rows_pushes_and_estimates() {
        let e = events(RowTimes::Every(4));
        let mut t = 0;
        let mut seen = Vec::new();
        while t < 30 {
            t = e.next_after(t);
            seen.push(t);
        }
        assert_eq!(seen, vec![4, 7, 8, 10, 12, 14, 16, 20, 21, 24, 28, 30]);
        // The queue of 3 is full from iteration 21: estimates at 30, 40, …
        assert!(!e.estimates_at(20) && e.estimates_at(30));
        assert!(e.pushes_at(14) && !e.pushes_at(15));
        let listed = events(RowTimes::At(vec![3, 50]));
        assert!(listed.logs_at(50) && !listed.logs_at(4));
        assert_eq!(listed.next_after(0), 3);
        assert_eq!(listed.next_after(99), 100);
    }
}
