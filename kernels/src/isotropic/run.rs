//! Running a batch: groups of [`LANES`] chains in parallel on the caller's rayon pool, each driven
//! by an event loop that advances in tight runs between events (series sample, queue push, entropy
//! estimate, stationary-window batch boundary, progress/cancel check).
//!
//! Determinism: a chain's arithmetic depends only on its own lane, so results are bitwise the same
//! whatever the grouping, thread count or instruction set.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rayon::prelude::*;
use sweep_theory::Protocol;

use super::config::{ChainPoint, EntropySchedule, IsotropicBatch};
use super::group::{ChainGroup, LANES, LaneHyper, LaneSums, PhiloxNoise};
use super::queue::EntropyQueue;
use super::stationary::summarise;
use crate::entropy;
use crate::error::KernelError;
use crate::observer::{BatchObserver, Progress, SeriesRow};
use crate::rng::{Stream, unit_vector};
use crate::stationary::Window;
use crate::summary::{PointStatus, PointSummary};

/// Runs every chain of `batch` and returns one summary per point, in the order given.
///
/// Runs on the current rayon pool (install one to bound the threads). Series rows and progress go
/// to `observer`; `observer.cancelled()` is polled between chunks.
pub fn run_isotropic(
    batch: &IsotropicBatch,
    observer: &dyn BatchObserver,
) -> Result<Vec<PointSummary>, KernelError> {
    batch.validate()?;
    let dim = batch.model.dim;
    let target = unit_vector(batch.model.target_seed, dim, Stream::Target)
        .ok_or_else(|| KernelError::invalid("workload.dim", "must be at least 2"))?;
    let start = unit_vector(batch.sweep_seed, dim, Stream::InitialDirection)
        .ok_or_else(|| KernelError::invalid("workload.dim", "must be at least 2"))?;
    let total = batch.points.len() as u64 * batch.schedule.iterations;
    let done = AtomicU64::new(0);
    let shared = BatchRun {
        batch,
        target: &target,
        start: &start,
        observer,
        done: &done,
        total,
    };
    let groups: Vec<Result<Vec<PointSummary>, KernelError>> = batch
        .points
        .par_chunks(LANES)
        .map(|chunk| run_group(&shared, chunk))
        .collect();
    let mut out = Vec::with_capacity(batch.points.len());
    for g in groups {
        out.extend(g?);
    }
    Ok(out)
}

struct BatchRun<'a> {
    batch: &'a IsotropicBatch,
    target: &'a [f64],
    start: &'a [f64],
    observer: &'a dyn BatchObserver,
    done: &'a AtomicU64,
    total: u64,
}

/// The next multiple of `every` strictly after `t`.
fn next_multiple(t: u64, every: u64) -> u64 {
    (t / every + 1) * every
}

/// Steps between progress reports and cancellation checks, about a millisecond of work.
fn chunk_steps(dim: usize) -> u64 {
    ((1u64 << 20) / dim as u64).clamp(64, 1 << 14)
}

struct LaneState {
    point: ChainPoint,
    queue: EntropyQueue,
    estimates: VecDeque<f64>,
    status: PointStatus,
}

fn run_group(
    shared: &BatchRun<'_>,
    chunk: &[ChainPoint],
) -> Result<Vec<PointSummary>, KernelError> {
    let clock = Instant::now();
    let batch = shared.batch;
    let dim = batch.model.dim;
    let real = chunk.len();
    let lane_point = |i: usize| chunk[i.min(real - 1)];
    let hyper: [LaneHyper; LANES] = std::array::from_fn(|i| {
        let p = lane_point(i);
        LaneHyper {
            first: p.first,
            second: p.second,
        }
    });
    let starts: Vec<Vec<f64>> = (0..LANES)
        .map(|i| {
            let r = if batch.protocol == Protocol::FixedSphere {
                hyper[i].second
            } else {
                batch.init_radius
            };
            shared.start.iter().map(|x| x * r).collect()
        })
        .collect();
    let start_refs: [&[f64]; LANES] = std::array::from_fn(|i| starts[i].as_slice());
    let sigma = batch.model.sigma2.sqrt();
    let mut group = ChainGroup::new(batch.protocol, sigma, shared.target, start_refs, hyper);
    let mut noise = PhiloxNoise::new(std::array::from_fn(|i| lane_point(i).seed));
    let ent = batch.entropy;
    let (queue_len, keep) = ent.map_or((0, 0), |e| (e.queue, e.average_last));
    let mut lanes: Vec<LaneState> = chunk
        .iter()
        .map(|p| LaneState {
            point: *p,
            queue: EntropyQueue::new(dim, queue_len),
            estimates: VecDeque::with_capacity(keep + 1),
            status: PointStatus::Done,
        })
        .collect();

    let sched = batch.schedule;
    let end = sched.iterations;
    let window = Window::new(end, sched.average_last);
    let mut sums: Vec<LaneSums> = vec![LaneSums::default(); window.batches()];
    let chunk_len = chunk_steps(dim);
    let mut rows: Vec<SeriesRow> = Vec::new();
    let mut t = 0u64;
    let mut reported = 0u64;

    while t < end {
        let mut next = end.min(t + chunk_len);
        next = next.min(next_multiple(t, sched.log_every));
        if let Some(e) = ent {
            next = next
                .min(next_multiple(t, e.every))
                .min(next_multiple(t, e.log_every));
        }
        if let Some(b) = window.next_boundary(t) {
            next = next.min(b);
        }
        let steps = next - t;
        match window.batch_of(t + 1) {
            Some(b) => group.advance_accumulating(t + 1, steps, &mut noise, &mut sums[b]),
            None => group.advance(t + 1, steps, &mut noise),
        }
        t = next;

        let diverged = group.diverged();
        for (i, lane) in lanes.iter_mut().enumerate() {
            if diverged[i] && lane.status == PointStatus::Done {
                lane.status = PointStatus::Diverged { iteration: t };
            }
        }
        if lanes.iter().all(|l| l.status != PointStatus::Done) {
            break;
        }
        if t.is_multiple_of(sched.log_every) {
            let (loss, rho2, g2, trace) = (
                group.loss(),
                group.radius_sq(),
                group.grad_sq(),
                group.noise_trace(),
            );
            for (i, lane) in lanes
                .iter()
                .enumerate()
                .filter(|(_, l)| l.status == PointStatus::Done)
            {
                rows.push(SeriesRow {
                    point: lane.point.point,
                    replica: lane.point.replica,
                    iteration: t,
                    loss: Some(loss[i]),
                    radius: Some(rho2[i].sqrt()),
                    entropy_unit: None,
                    entropy: None,
                    trace_sigma: Some(trace[i]),
                    full_grad_sq: Some(g2[i]),
                });
            }
        }
        if let Some(e) = &ent {
            entropy_events(t, e, &group, &mut lanes, &mut rows);
        }
        if t.is_multiple_of(chunk_len) || t == end {
            let live = lanes
                .iter()
                .filter(|l| l.status == PointStatus::Done)
                .count() as u64;
            let advanced = (t - reported) * live;
            reported = t;
            let now = shared.done.fetch_add(advanced, Ordering::Relaxed) + advanced;
            if !rows.is_empty() {
                shared.observer.series(std::mem::take(&mut rows));
            }
            shared.observer.progress(Progress {
                steps_done: now,
                steps_total: shared.total,
            });
            if shared.observer.cancelled() {
                return Err(KernelError::Cancelled);
            }
        }
    }
    if !rows.is_empty() {
        shared.observer.series(rows);
    }
    let wall = clock.elapsed().as_secs_f64();
    Ok(lanes
        .into_iter()
        .enumerate()
        .map(|(i, lane)| {
            summarise(
                batch,
                i,
                &sums,
                lane.point,
                &lane.estimates,
                lane.status,
                t,
                wall,
            )
        })
        .collect())
}

/// Queue pushes and entropy estimates due at iteration `t`.
fn entropy_events(
    t: u64,
    ent: &EntropySchedule,
    group: &ChainGroup,
    lanes: &mut [LaneState],
    rows: &mut Vec<SeriesRow>,
) {
    if t.is_multiple_of(ent.every) {
        for (i, lane) in lanes
            .iter_mut()
            .enumerate()
            .filter(|(_, l)| l.status == PointStatus::Done)
        {
            let r = group.direction(i, lane.queue.slot());
            lane.queue.commit(r);
        }
    }
    if !t.is_multiple_of(ent.log_every) {
        return;
    }
    for lane in lanes
        .iter_mut()
        .filter(|l| l.status == PointStatus::Done && l.queue.is_full())
    {
        let (units, radii) = lane.queue.samples();
        match entropy::estimate(units, radii, group.dim(), ent.mode) {
            Ok(e) => {
                if lane.estimates.len() == ent.average_last {
                    lane.estimates.pop_front();
                }
                lane.estimates.push_back(e.entropy_unit);
                merge_entropy_row(rows, &lane.point, t, e.entropy_unit, e.entropy);
            }
            Err(err) => {
                lane.status =
                    PointStatus::Failed(format!("entropy estimate at iteration {t}: {err}"))
            }
        }
    }
}

/// Adds entropy to the row of (point, replica, t) if one was just written, else appends one.
fn merge_entropy_row(rows: &mut Vec<SeriesRow>, p: &ChainPoint, t: u64, unit: f64, total: f64) {
    if let Some(row) = rows
        .iter_mut()
        .rev()
        .take(LANES)
        .find(|r| r.iteration == t && r.point == p.point && r.replica == p.replica)
    {
        row.entropy_unit = Some(unit);
        row.entropy = Some(total);
        return;
    }
    rows.push(SeriesRow {
        point: p.point,
        replica: p.replica,
        iteration: t,
        loss: None,
        radius: None,
        entropy_unit: Some(unit),
        entropy: Some(total),
        trace_sigma: None,
        full_grad_sq: None,
    });
}
