//! Running a batch on the CPU: groups of [`LANES`] chains in parallel on the caller's rayon pool,
//! each a [`CpuGroup`] that the chain driver ([`crate::driver::drive`]) advances in tight runs
//! between events (series sample, queue push, entropy estimate, stationary-window batch
//! boundary, progress/cancel check).
//!
//! Determinism: a chain's arithmetic depends only on its own lane, so results are bitwise the same
//! whatever the grouping, thread count or instruction set.

use rayon::prelude::*;
use sweep_theory::Protocol;

use super::config::{ChainPoint, IsotropicBatch};
use super::group::{ChainGroup, LANES, LaneHyper, LaneSums, PhiloxNoise};
use super::stationary::summarise;
use crate::driver::{BatchProgress, ChainRecord, Chains, Events, RowTimes, RowValues, drive};
use crate::error::KernelError;
use crate::observer::BatchObserver;
use crate::rng::{Stream, unit_vector};
use crate::stationary::Window;
use crate::summary::PointSummary;

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
    let progress = BatchProgress::new(batch.points.len() as u64 * batch.schedule.iterations);
    let events = isotropic_events(batch);
    let groups: Vec<Result<Vec<PointSummary>, KernelError>> = batch
        .points
        .par_chunks(LANES)
        .map(|chunk| {
            let group = CpuGroup::new(batch, &target, &start, chunk);
            drive(group, &events, &progress, observer)
        })
        .collect();
    let mut out = Vec::with_capacity(batch.points.len());
    for g in groups {
        out.extend(g?);
    }
    Ok(out)
}

/// The driver's events of an isotropic batch: a series row every `log_every`, the entropy queue.
pub fn isotropic_events(batch: &IsotropicBatch) -> Events {
    Events {
        iterations: batch.schedule.iterations,
        rows: RowTimes::Every(batch.schedule.log_every),
        entropy: batch.entropy,
    }
}

/// Steps between progress reports and cancellation checks, about a millisecond of work.
fn chunk_steps(dim: usize) -> u64 {
    ((1u64 << 20) / dim as u64).clamp(64, 1 << 14)
}

/// Up to [`LANES`] chains advanced together by the SIMD chain group, with their stationary sums.
pub struct CpuGroup<'a> {
    batch: &'a IsotropicBatch,
    points: &'a [ChainPoint],
    group: ChainGroup,
    noise: PhiloxNoise,
    window: Window,
    sums: Vec<LaneSums>,
    diverged_at: [Option<u64>; LANES],
    /// Where the group stands (its state is the chains' at this iteration).
    t: u64,
    chunk: u64,
    /// Loss, ‖w‖², ‖P w*‖² and noise trace of every lane at `t`, when `t` logs a row.
    row_values: Option<[[f64; LANES]; 4]>,
}

impl<'a> CpuGroup<'a> {
    /// The group of `chunk` (1 to [`LANES`] chains) at its start.
    pub fn new(
        batch: &'a IsotropicBatch,
        target: &[f64],
        start: &[f64],
        chunk: &'a [ChainPoint],
    ) -> Self {
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
                start.iter().map(|x| x * r).collect()
            })
            .collect();
        let start_refs: [&[f64]; LANES] = std::array::from_fn(|i| starts[i].as_slice());
        let sigma = batch.model.sigma2.sqrt();
        let sched = batch.schedule;
        let window = Window::new(sched.iterations, sched.average_last);
        Self {
            batch,
            points: chunk,
            group: ChainGroup::new(batch.protocol, sigma, target, start_refs, hyper),
            noise: PhiloxNoise::new(std::array::from_fn(|i| lane_point(i).seed)),
            window,
            sums: vec![LaneSums::default(); window.batches()],
            diverged_at: [None; LANES],
            t: 0,
            chunk: chunk_steps(batch.model.dim),
            row_values: None,
        }
    }
}

impl Chains for CpuGroup<'_> {
    fn points(&self) -> &[ChainPoint] {
        self.points
    }

    fn dim(&self) -> usize {
        self.group.dim()
    }

    fn segment_end(&self, t0: u64, next_event: u64, end: u64) -> u64 {
        let mut t1 = next_event.min(end).min(t0 + self.chunk);
        if let Some(b) = self.window.next_boundary(t0) {
            t1 = t1.min(b);
        }
        t1
    }

    fn advance(&mut self, t0: u64, t1: u64, _events: &Events) -> Result<(), KernelError> {
        let steps = t1 - t0;
        match self.window.batch_of(t0 + 1) {
            Some(b) => {
                self.group
                    .advance_accumulating(t0 + 1, steps, &mut self.noise, &mut self.sums[b])
            }
            None => self.group.advance(t0 + 1, steps, &mut self.noise),
        }
        self.t = t1;
        let g = &self.group;
        self.row_values = t1
            .is_multiple_of(self.batch.schedule.log_every)
            .then(|| [g.loss(), g.radius_sq(), g.grad_sq(), g.noise_trace()]);
        for (d, flagged) in self.diverged_at.iter_mut().zip(self.group.diverged()) {
            if flagged && d.is_none() {
                *d = Some(t1);
            }
        }
        Ok(())
    }

    fn diverged_at(&self, c: usize) -> Option<u64> {
        self.diverged_at[c]
    }

    fn row(&self, t: u64, c: usize) -> Option<RowValues> {
        let [loss, rho2, g2, trace] = self.row_values.filter(|_| t == self.t)?;
        Some(RowValues {
            loss: Some(loss[c]),
            radius: Some(rho2[c].sqrt()),
            trace_sigma: Some(trace[c]),
            full_grad_sq: Some(g2[c]),
        })
    }

    fn direction(&self, t: u64, c: usize, out: &mut [f64]) -> f64 {
        debug_assert_eq!(t, self.t, "the CPU group stops at every event");
        self.group.direction(c, out)
    }

    fn poll_every(&self) -> u64 {
        self.chunk
    }

    fn finish(
        self,
        records: Vec<ChainRecord>,
        reached: u64,
        wall_seconds: f64,
    ) -> Result<Vec<PointSummary>, KernelError> {
        Ok(records
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                summarise(
                    self.batch,
                    i,
                    &self.sums,
                    r.point,
                    &r.estimates,
                    r.status,
                    reached,
                    wall_seconds,
                )
            })
            .collect())
    }
}
