//! Host-side layout of the device buffers and launch geometry, as pure functions so that they
//! are tested without a GPU. The index formulas here are the ones the kernels in
//! `kernels/cuda/isotropic.cu` use; change both together.
//!
//! Buffers are `[field][chain]` (field-major, so a warp's 32 chains write 32 consecutive values):
//! state `[5][n]`, stationary sums `[batch][7][n]`, series `[sample][4][n]`, queue snapshots
//! `[snapshot][dim][n]` with radii `[snapshot][n]`.

use sweep_theory::Protocol;

use crate::isotropic::group::LaneSums;
use crate::isotropic::{ChainPoint, LANES};
use crate::stationary::Window;

/// Stationary sums per chain, in [`LaneSums`] field order.
pub const N_SUMS: usize = 7;
/// Series values per chain and sample: loss, ‖w‖, ‖P_w̄ w*‖², noise trace.
pub const N_SERIES: usize = 4;
/// Per-chain state values: scale, ‖w‖², ⟨w*, w⟩, ‖w̃‖², noise trace.
pub const N_STATE: usize = 5;
/// Shared memory a block may use without opting in (bytes).
pub const DEFAULT_SHARED_LIMIT: usize = 48 * 1024;

/// The protocol code the kernels switch on.
pub fn protocol_code(p: Protocol) -> i32 {
    match p {
        Protocol::FixedLr => 0,
        Protocol::FixedElr => 1,
        Protocol::FixedSphere => 2,
    }
}

/// The stationary window's batch boundaries `b_0 < … < b_B` (`b_B` = iterations): the state after
/// iteration t belongs to batch j when `b_j < t ≤ b_{j+1}`, exactly [`Window::batch_of`].
pub fn window_bounds(iterations: u64, average_last: u64) -> Vec<u64> {
    let w = Window::new(iterations, average_last);
    let len = average_last.min(iterations).max(1);
    let mut out = vec![iterations - len];
    while out.len() <= w.batches() {
        match w.next_boundary(out[out.len() - 1]) {
            Some(b) => out.push(b),
            None => break,
        }
    }
    out
}

/// How the chains kernel is launched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IsoGeometry {
    /// Threads (= chains) per block.
    pub threads: u32,
    /// Blocks.
    pub blocks: u32,
    /// Dynamic shared memory per block in bytes (0 when the weights stay in global memory).
    pub shared_bytes: u32,
    /// Whether weights and noise live in shared memory.
    pub use_shared: bool,
}

/// Launch geometry for `n` chains of dimension `dim`: weights (f64) and noise (f32) of a block's
/// chains in shared memory when at least 32 chains fit in `shared_limit` bytes, else global.
pub fn iso_geometry(n: usize, dim: usize, shared_limit: usize) -> IsoGeometry {
    let per_chain = 12 * dim;
    let mut threads = 128usize;
    while threads > 32 && threads * per_chain > shared_limit {
        threads /= 2;
    }
    let use_shared = threads * per_chain <= shared_limit;
    let threads = if use_shared { threads } else { 128 };
    let threads = threads.min(n.next_power_of_two().max(32));
    IsoGeometry {
        threads: threads as u32,
        blocks: n.div_ceil(threads) as u32,
        shared_bytes: if use_shared {
            (threads * per_chain) as u32
        } else {
            0
        },
        use_shared,
    }
}

/// Multiples of `every` in `(t0, t1]`.
pub fn multiples_in(t0: u64, t1: u64, every: u64) -> u64 {
    t1 / every - t0 / every
}

/// The largest `t1 ≤ limit` with at most `cap ≥ 1` multiples of `every` in `(t0, t1]`.
fn last_with_at_most(t0: u64, limit: u64, every: u64, cap: u64) -> u64 {
    let bound = (t0 / every)
        .saturating_add(cap)
        .saturating_add(1)
        .saturating_mul(every)
        .saturating_sub(1);
    limit.min(bound)
}

/// The end of the launch segment that starts after iteration `t0`: at most `work_steps`
/// iterations, and few enough series samples and queue snapshots that their buffers stay within
/// `budget` bytes. Always advances by at least one iteration.
#[allow(clippy::too_many_arguments)]
pub fn segment_end(
    t0: u64,
    end: u64,
    n: usize,
    dim: usize,
    work_steps: u64,
    log_every: u64,
    push_every: Option<u64>,
    budget: usize,
) -> u64 {
    let mut t1 = end.min(t0.saturating_add(work_steps.max(1)));
    let series_cap = (budget / (N_SERIES * 8 * n.max(1))).max(1) as u64;
    t1 = last_with_at_most(t0, t1, log_every, series_cap);
    if let Some(e) = push_every {
        let snap_cap = (budget / ((dim + 1) * 8 * n.max(1))).max(1) as u64;
        t1 = last_with_at_most(t0, t1, e, snap_cap);
    }
    t1.max(t0 + 1)
}

/// Iterations per launch: about 2³¹ coordinate updates, so a launch lasts tens of milliseconds
/// and progress and cancellation are seen often.
pub fn work_steps(n: usize, dim: usize) -> u64 {
    ((1u64 << 31) / (n.max(1) as u64 * dim.max(1) as u64)).clamp(1, 1 << 20)
}

/// Index of sum `field` of `chain` in batch `batch`.
pub fn sums_index(batch: usize, field: usize, chain: usize, n: usize) -> usize {
    (batch * N_SUMS + field) * n + chain
}

/// Index of series value `field` of `chain` in sample `sample` of a segment.
pub fn series_index(sample: usize, field: usize, chain: usize, n: usize) -> usize {
    (sample * N_SERIES + field) * n + chain
}

/// Index of coordinate `k` of `chain` in queue snapshot `snap` of a segment.
pub fn snapshot_index(snap: usize, k: usize, chain: usize, dim: usize, n: usize) -> usize {
    (snap * dim + k) * n + chain
}

/// The Philox keys of the chains, `[lo, hi]` per chain.
pub fn chain_keys(points: &[ChainPoint]) -> Vec<u32> {
    points
        .iter()
        .flat_map(|p| [p.seed as u32, (p.seed >> 32) as u32])
        .collect()
}

/// Chain `chain`'s stationary sums as the CPU's per-batch [`LaneSums`] (in lane 0), so that the
/// CPU's `summarise` reduces device results exactly as it reduces its own.
pub fn lane_sums(sums: &[f64], bounds: &[u64], n: usize, chain: usize) -> Vec<LaneSums> {
    let batches = bounds.len().saturating_sub(1);
    (0..batches)
        .map(|b| {
            let v = |f: usize| -> [f64; LANES] {
                let mut a = [0.0; LANES];
                a[0] = sums[sums_index(b, f, chain, n)];
                a
            };
            LaneSums {
                count: bounds[b + 1] - bounds[b],
                loss: v(0),
                radius: v(1),
                radius_sq: v(2),
                grad_sq: v(3),
                noise_trace: v(4),
                pre_norm: v(5),
                pre_norm_sq: v(6),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_reproduce_the_cpu_window() {
        for (iters, avg) in [
            (100, 100),
            (1000, 37),
            (50, 3),
            (7, 1),
            (2_000_000, 250_000),
        ] {
            let b = window_bounds(iters, avg);
            let w = Window::new(iters, avg);
            assert_eq!(b.len(), w.batches() + 1);
            assert_eq!(*b.last().unwrap(), iters);
            for t in 1..=iters.min(5000) {
                let want = w.batch_of(t);
                let got = (t > b[0]).then(|| b.windows(2).position(|p| p[0] < t && t <= p[1]));
                assert_eq!(got.flatten(), want, "iters {iters} avg {avg} t {t}");
            }
        }
    }

    #[test]
    fn geometry_uses_shared_memory_when_32_chains_fit() {
        let g = iso_geometry(289, 3, DEFAULT_SHARED_LIMIT);
        assert_eq!((g.threads, g.blocks, g.use_shared), (128, 3, true));
        assert_eq!(g.shared_bytes, 128 * 36);
        let g = iso_geometry(10_000, 100, DEFAULT_SHARED_LIMIT);
        assert_eq!((g.threads, g.use_shared), (32, true));
        assert!(g.shared_bytes as usize <= DEFAULT_SHARED_LIMIT);
        assert_eq!(g.blocks, 313);
        let g = iso_geometry(64, 1000, DEFAULT_SHARED_LIMIT);
        assert!(!g.use_shared);
        assert_eq!((g.threads, g.shared_bytes), (64, 0));
        // Few chains: one block just big enough.
        assert_eq!(iso_geometry(5, 3, DEFAULT_SHARED_LIMIT).threads, 32);
    }

    #[test]
    fn segments_respect_buffer_budgets() {
        // 10 chains, samples every 7: budget for 3 samples.
        let budget = 3 * N_SERIES * 8 * 10;
        let t1 = segment_end(0, 1000, 10, 4, 1000, 7, None, budget);
        assert_eq!(multiples_in(0, t1, 7), 3);
        assert_eq!(t1, 27);
        let t2 = segment_end(t1, 1000, 10, 4, 1000, 7, None, budget);
        assert_eq!(multiples_in(t1, t2, 7), 3);
        // Snapshots are bigger: (dim + 1)·8·n bytes each.
        let t = segment_end(0, 1000, 10, 4, 1000, 1000, Some(5), 2 * 5 * 8 * 10);
        assert_eq!(multiples_in(0, t, 5), 2);
        // Always progresses, never past the end.
        assert_eq!(segment_end(5, 6, 10, 4, 1000, 1, Some(1), 0), 6);
        assert_eq!(segment_end(0, 10, 1, 1, 1 << 20, 100, None, 1 << 30), 10);
    }

    #[test]
    fn buffer_indices_are_field_major() {
        let n = 3;
        assert_eq!(sums_index(0, 0, 2, n), 2);
        assert_eq!(sums_index(1, 6, 0, n), (7 + 6) * 3);
        assert_eq!(series_index(2, 1, 1, n), (2 * 4 + 1) * 3 + 1);
        assert_eq!(snapshot_index(1, 2, 0, 5, n), (5 + 2) * 3);
    }

    #[test]
    fn device_sums_become_cpu_lane_sums() {
        let n = 2;
        let bounds = vec![10, 15, 20];
        let mut sums = vec![0.0; 2 * N_SUMS * n];
        for b in 0..2 {
            for f in 0..N_SUMS {
                sums[sums_index(b, f, 1, n)] = (100 * b + f) as f64;
            }
        }
        let ls = lane_sums(&sums, &bounds, n, 1);
        assert_eq!(ls.len(), 2);
        assert_eq!(ls[1].count, 5);
        assert_eq!(ls[1].loss[0], 100.0);
        assert_eq!(ls[0].pre_norm_sq[0], 6.0);
        assert_eq!(ls[1].radius[1], 0.0);
        let keys = chain_keys(&[ChainPoint {
            point: 0,
            replica: 0,
            seed: 0x1234_5678_9abc_def0,
            first: 1.0,
            second: 1.0,
        }]);
        assert_eq!(keys, vec![0x9abc_def0, 0x1234_5678]);
    }
}
