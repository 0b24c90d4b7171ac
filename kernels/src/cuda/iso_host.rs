//! The host side of the GPU chains, independent of the device: the plan of buffers and launch
//! segments, and the loop that launches segments, copies their results back in bulk and replays
//! the segment's events (series rows, queue pushes, entropy estimates with the CPU estimator) in
//! iteration order, exactly as the CPU event loop orders them. The device is a [`ChainDevice`]:
//! the buffers of `isotropic.cu` on a GPU, or on the CPU execution of the same kernels
//! (`super::isotropic`), which checks this loop against [`crate::isotropic::run_isotropic`]
//! without a GPU.

use std::collections::VecDeque;
use std::time::Instant;

use rayon::prelude::*;

use super::layout::{
    N_SERIES, lane_sums, multiples_in, protocol_code, segment_end, series_index, snapshot_index,
    window_bounds, work_steps,
};
use crate::entropy;
use crate::error::KernelError;
use crate::isotropic::config::{ChainPoint, IsotropicBatch};
use crate::isotropic::queue::EntropyQueue;
use crate::isotropic::stationary::summarise;
use crate::observer::{BatchObserver, Progress, SeriesRow};
use crate::summary::{PointStatus, PointSummary};

/// Bytes of device (and host) buffer for one segment's series samples, and as much again for its
/// queue snapshots.
pub const SEGMENT_BUDGET: usize = 256 << 20;

/// The scalar arguments of `iso_advance`, laid out as `struct IsoArgs` in isotropic.cu.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct IsoArgs {
    /// Protocol code ([`protocol_code`]).
    pub protocol: i32,
    /// Dimension d.
    pub dim: i32,
    /// Chains.
    pub n_chains: i32,
    /// 1 when weights live in shared memory.
    pub use_shared: i32,
    /// Stationary-window batches.
    pub n_batches: i32,
    /// The four bytes C puts before `sigma` (explicit, so that every byte of the struct is set).
    pub reserved: i32,
    /// σ.
    pub sigma: f64,
    /// Iterations done before this launch.
    pub t0: u64,
    /// Iterations this launch advances.
    pub steps: u64,
    /// Series sample interval.
    pub log_every: u64,
    /// `t0 / log_every`: sample `s` of the launch is at iteration `(series_base + s + 1)·log_every`.
    pub series_base: u64,
    /// Queue push interval (0: no queue).
    pub push_every: u64,
    /// `t0 / push_every` (0 without a queue).
    pub push_base: u64,
}

/// Buffer sizes and launch segments of one batch.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Chains.
    pub n: usize,
    /// Dimension.
    pub dim: usize,
    /// Stationary-window batch boundaries ([`window_bounds`]).
    pub bounds: Vec<u64>,
    /// Series samples a segment may hold.
    pub series_cap: usize,
    /// Queue snapshots a segment may hold (1 without a queue).
    pub snap_cap: usize,
    /// Queue push interval.
    pub push_every: Option<u64>,
    /// Iterations per launch at most.
    pub work: u64,
}

impl Plan {
    /// The plan of `batch` (validated, at least one chain).
    pub fn new(batch: &IsotropicBatch) -> Self {
        let n = batch.points.len().max(1);
        let dim = batch.model.dim;
        let end = batch.schedule.iterations;
        let push_every = batch.entropy.map(|e| e.every);
        let series_cap = ((SEGMENT_BUDGET / (N_SERIES * 8 * n)).max(1) as u64)
            .min(multiples_in(0, end, batch.schedule.log_every).max(1))
            as usize;
        let snap_cap = push_every.map_or(1, |e| {
            ((SEGMENT_BUDGET / ((dim + 1) * 8 * n)).max(1) as u64)
                .min(multiples_in(0, end, e).max(1)) as usize
        });
        Self {
            n,
            dim,
            bounds: window_bounds(end, batch.schedule.average_last),
            series_cap,
            snap_cap,
            push_every,
            work: work_steps(n, dim),
        }
    }

    /// The end of the segment after iteration `t0`.
    pub fn segment_end(&self, t0: u64, end: u64, log_every: u64) -> u64 {
        let (n, dim) = (self.n, self.dim);
        let series = segment_end(
            t0,
            end,
            n,
            dim,
            self.work,
            log_every,
            None,
            self.series_cap * N_SERIES * 8 * n,
        );
        let snaps = segment_end(
            t0,
            end,
            n,
            dim,
            self.work,
            u64::MAX,
            self.push_every,
            self.snap_cap * (dim + 1) * 8 * n,
        );
        series.min(snaps)
    }
}

/// One segment's results, copied back from the device.
#[derive(Clone, Debug, Default)]
pub struct SegmentHost {
    /// Per chain: the iteration at which it diverged, 0 if it has not.
    pub diverged_at: Vec<u64>,
    /// Series samples `[sample][4][n]`.
    pub series: Vec<f64>,
    /// Queue snapshots `[snapshot][dim][n]`.
    pub snaps: Vec<f64>,
    /// Snapshot radii `[snapshot][n]`.
    pub radii: Vec<f64>,
}

/// What the host loop needs from a device.
pub trait ChainDevice {
    /// Initialises every chain (weights, state, divergence flags; sums zero).
    fn init(&mut self) -> Result<(), KernelError>;
    /// Advances every chain by one segment.
    fn advance(&mut self, args: &IsoArgs) -> Result<(), KernelError>;
    /// Copies back the divergence flags, the first `n_series` series samples and the first
    /// `n_snaps` queue snapshots of the last segment.
    fn fetch(
        &mut self,
        n_series: usize,
        n_snaps: usize,
        out: &mut SegmentHost,
    ) -> Result<(), KernelError>;
    /// Copies back the stationary sums `[batch][7][n]`.
    fn sums(&mut self) -> Result<Vec<f64>, KernelError>;
}

struct ChainHost {
    point: ChainPoint,
    queue: EntropyQueue,
    estimates: VecDeque<f64>,
    status: PointStatus,
    diverged_at: u64,
}

impl ChainHost {
    /// Whether the chain still produces output at iteration `t`.
    fn live_at(&self, t: u64) -> bool {
        self.status == PointStatus::Done && (self.diverged_at == 0 || t < self.diverged_at)
    }
}

/// Runs `batch` (validated, non-empty) on `device` with the CPU's semantics.
pub fn drive(
    batch: &IsotropicBatch,
    plan: &Plan,
    device: &mut dyn ChainDevice,
    observer: &dyn BatchObserver,
) -> Result<Vec<PointSummary>, KernelError> {
    let clock = Instant::now();
    let (n, dim) = (plan.n, plan.dim);
    let sched = batch.schedule;
    let end = sched.iterations;
    let ent = batch.entropy;
    device.init()?;
    let (queue_len, keep) = ent.map_or((0, 0), |e| (e.queue, e.average_last));
    let mut chains: Vec<ChainHost> = batch
        .points
        .iter()
        .map(|p| ChainHost {
            point: *p,
            queue: EntropyQueue::new(dim, queue_len),
            estimates: VecDeque::with_capacity(keep + 1),
            status: PointStatus::Done,
            diverged_at: 0,
        })
        .collect();
    let mut host = SegmentHost::default();
    let total = n as u64 * end;
    let mut done = 0u64;
    let mut t0 = 0u64;
    while t0 < end {
        let t1 = plan.segment_end(t0, end, sched.log_every);
        let args = IsoArgs {
            protocol: protocol_code(batch.protocol),
            dim: dim as i32,
            n_chains: n as i32,
            use_shared: 0,
            n_batches: (plan.bounds.len() - 1) as i32,
            reserved: 0,
            sigma: batch.model.sigma2.sqrt(),
            t0,
            steps: t1 - t0,
            log_every: sched.log_every,
            series_base: t0 / sched.log_every,
            push_every: plan.push_every.unwrap_or(0),
            push_base: plan.push_every.map_or(0, |e| t0 / e),
        };
        device.advance(&args)?;
        let n_series = multiples_in(t0, t1, sched.log_every) as usize;
        let n_snaps = plan
            .push_every
            .map_or(0, |e| multiples_in(t0, t1, e) as usize);
        device.fetch(n_series, n_snaps, &mut host)?;
        let live_before = chains.iter().filter(|c| c.live_at(t0 + 1)).count() as u64;
        for (ch, d) in chains.iter_mut().zip(&host.diverged_at) {
            ch.diverged_at = *d;
        }
        let segment = Segment {
            t0,
            t1,
            n,
            dim,
            series: &host.series,
            snaps: &host.snaps,
            radii: &host.radii,
        };
        let rows = replay(batch, &segment, &mut chains);
        for ch in chains.iter_mut() {
            if ch.diverged_at != 0 && ch.status == PointStatus::Done {
                ch.status = PointStatus::Diverged {
                    iteration: ch.diverged_at,
                };
            }
        }
        done += (t1 - t0) * live_before;
        t0 = t1;
        if !rows.is_empty() {
            observer.series(rows);
        }
        observer.progress(Progress {
            steps_done: done.min(total),
            steps_total: total,
        });
        if observer.cancelled() {
            return Err(KernelError::Cancelled);
        }
        if chains.iter().all(|c| c.status != PointStatus::Done) {
            break;
        }
    }
    let sums = device.sums()?;
    let wall = clock.elapsed().as_secs_f64();
    Ok(chains
        .into_iter()
        .enumerate()
        .map(|(c, ch)| {
            summarise(
                batch,
                0,
                &lane_sums(&sums, &plan.bounds, n, c),
                ch.point,
                &ch.estimates,
                ch.status,
                end,
                wall,
            )
        })
        .collect())
}

/// One segment's results as copied back.
struct Segment<'a> {
    t0: u64,
    t1: u64,
    n: usize,
    dim: usize,
    series: &'a [f64],
    snaps: &'a [f64],
    radii: &'a [f64],
}

/// The event times of `(t0, t1]`: multiples of any of `every`, ascending.
fn event_times(t0: u64, t1: u64, every: &[u64]) -> Vec<u64> {
    let mut times: Vec<u64> = every
        .iter()
        .flat_map(|&e| (t0 / e + 1..=t1 / e).map(move |k| k * e))
        .collect();
    times.sort_unstable();
    times.dedup();
    times
}

/// Replays a segment's events in iteration order: series rows, queue pushes and entropy
/// estimates, as the CPU event loop does them. Returns the rows.
fn replay(batch: &IsotropicBatch, seg: &Segment<'_>, chains: &mut [ChainHost]) -> Vec<SeriesRow> {
    let sched = batch.schedule;
    let ent = batch.entropy;
    let mut every = vec![sched.log_every];
    if let Some(e) = ent {
        every.extend([e.every, e.log_every]);
    }
    let (n, dim) = (seg.n, seg.dim);
    let mut rows = Vec::new();
    for t in event_times(seg.t0, seg.t1, &every) {
        let first_row = rows.len();
        if t.is_multiple_of(sched.log_every) {
            let s = (t / sched.log_every - seg.t0 / sched.log_every - 1) as usize;
            for (c, ch) in chains.iter().enumerate().filter(|(_, ch)| ch.live_at(t)) {
                let v = |f: usize| seg.series[series_index(s, f, c, n)];
                rows.push(SeriesRow {
                    point: ch.point.point,
                    replica: ch.point.replica,
                    iteration: t,
                    loss: Some(v(0)),
                    radius: Some(v(1)),
                    entropy_unit: None,
                    entropy: None,
                    trace_sigma: Some(v(3)),
                    full_grad_sq: Some(v(2)),
                });
            }
        }
        let Some(e) = ent else { continue };
        if t.is_multiple_of(e.every) {
            let s = (t / e.every - seg.t0 / e.every - 1) as usize;
            for (c, ch) in chains
                .iter_mut()
                .enumerate()
                .filter(|(_, ch)| ch.live_at(t))
            {
                let slot = ch.queue.slot();
                for (k, x) in slot.iter_mut().enumerate() {
                    *x = seg.snaps[snapshot_index(s, k, c, dim, n)];
                }
                ch.queue.commit(seg.radii[s * n + c]);
            }
        }
        if !t.is_multiple_of(e.log_every) {
            continue;
        }
        let estimates: Vec<Option<(u32, u32, f64, f64)>> = chains
            .par_iter_mut()
            .map(|ch| {
                if !(ch.live_at(t) && ch.queue.is_full()) {
                    return None;
                }
                let (units, radii) = ch.queue.samples();
                match entropy::estimate(units, radii, dim, e.mode) {
                    Ok(est) => {
                        if ch.estimates.len() == e.average_last {
                            ch.estimates.pop_front();
                        }
                        ch.estimates.push_back(est.entropy_unit);
                        Some((
                            ch.point.point,
                            ch.point.replica,
                            est.entropy_unit,
                            est.entropy,
                        ))
                    }
                    Err(err) => {
                        ch.status = PointStatus::Failed(format!(
                            "entropy estimate at iteration {t}: {err}"
                        ));
                        None
                    }
                }
            })
            .collect();
        for (point, replica, unit, total) in estimates.into_iter().flatten() {
            if let Some(row) = rows[first_row..]
                .iter_mut()
                .find(|r| r.point == point && r.replica == replica)
            {
                row.entropy_unit = Some(unit);
                row.entropy = Some(total);
            } else {
                rows.push(SeriesRow {
                    point,
                    replica,
                    iteration: t,
                    loss: None,
                    radius: None,
                    entropy_unit: Some(unit),
                    entropy: Some(total),
                    trace_sigma: None,
                    full_grad_sq: None,
                });
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::event_times;

    #[test]
    fn events_are_the_merged_multiples() {
        assert_eq!(event_times(0, 12, &[4, 6]), vec![4, 6, 8, 12]);
        assert_eq!(event_times(5, 9, &[10]), Vec::<u64>::new());
        assert_eq!(event_times(9, 10, &[10, 5, 1]), vec![10]);
    }
}
