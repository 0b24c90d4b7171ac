//! The plan of the device chains, independent of the device: buffer capacities and launch
//! segments, so that a segment's series samples and queue snapshots fit the buffers they are
//! copied back from in one piece; and the scalar arguments of `iso_advance`. The chain driver
//! ([`crate::driver`]) replays each segment's events from those copies (`super::isotropic`).

use super::layout::{N_SERIES, multiples_in, segment_end, window_bounds, work_steps};
use crate::isotropic::config::IsotropicBatch;

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
