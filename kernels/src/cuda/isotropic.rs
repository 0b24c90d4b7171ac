//! Isotropic chains on the GPU with the CPU's semantics ([`crate::isotropic::run_isotropic`]):
//! the same summaries, series rows, progress and cancellation. One launch advances every chain
//! over a segment of iterations; the stationary sums stay on the device, and the segment's
//! series samples and queue snapshots come back in one copy each. The host then replays the
//! segment's events in iteration order (rows, queue pushes, entropy estimates with the CPU
//! estimator), exactly as the CPU event loop orders them.

use std::collections::VecDeque;
use std::sync::OnceLock;
use std::time::Instant;

use cudarc::driver::{CudaSlice, DeviceRepr, LaunchConfig, PushKernelArg, ValidAsZeroBits};
use rayon::prelude::*;

use super::device::CudaBackend;
use super::error::CudaError;
use super::layout::{
    DEFAULT_SHARED_LIMIT, N_SERIES, N_STATE, N_SUMS, chain_keys, iso_geometry, lane_sums,
    multiples_in, protocol_code, segment_end, series_index, snapshot_index, window_bounds,
    work_steps,
};
use super::sources::KernelSource;
use crate::entropy;
use crate::error::KernelError;
use crate::isotropic::config::{ChainPoint, IsotropicBatch};
use crate::isotropic::queue::EntropyQueue;
use crate::isotropic::stationary::summarise;
use crate::observer::{BatchObserver, Progress, SeriesRow};
use crate::rng::{Stream, unit_vector};
use crate::summary::{PointStatus, PointSummary};

/// Bytes of device (and host) buffer for one segment's series samples, and as much again for its
/// queue snapshots.
const SEGMENT_BUDGET: usize = 256 << 20;

/// The scalar arguments of `iso_advance`, laid out as `struct IsoArgs` in isotropic.cu.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
struct IsoArgs {
    protocol: i32,
    dim: i32,
    n_chains: i32,
    use_shared: i32,
    n_batches: i32,
    sigma: f64,
    t0: u64,
    steps: u64,
    log_every: u64,
    series_base: u64,
    push_every: u64,
    push_base: u64,
}

// SAFETY: a plain `#[repr(C)]` struct of integers and floats, the layout the kernel declares.
unsafe impl DeviceRepr for IsoArgs {}

/// The process-wide backend on device 0, probed once.
pub fn shared_backend() -> Result<&'static CudaBackend, CudaError> {
    static BACKEND: OnceLock<Result<CudaBackend, CudaError>> = OnceLock::new();
    BACKEND
        .get_or_init(CudaBackend::probe)
        .as_ref()
        .map_err(Clone::clone)
}

/// [`crate::isotropic::run_isotropic`] on the GPU (device 0).
pub fn run_isotropic_cuda(
    batch: &IsotropicBatch,
    observer: &dyn BatchObserver,
) -> Result<Vec<PointSummary>, KernelError> {
    batch.validate()?;
    let backend = shared_backend()?;
    run_isotropic_on(backend, batch, observer)
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

fn alloc<T: DeviceRepr + ValidAsZeroBits>(
    backend: &CudaBackend,
    len: usize,
    what: &str,
) -> Result<CudaSlice<T>, CudaError> {
    backend
        .stream()
        .alloc_zeros::<T>(len.max(1))
        .map_err(|e| CudaError::driver(what, e))
}

fn upload<T: DeviceRepr>(
    backend: &CudaBackend,
    host: &[T],
    what: &str,
) -> Result<CudaSlice<T>, CudaError> {
    backend
        .stream()
        .clone_htod(host)
        .map_err(|e| CudaError::driver(what, e))
}

/// [`run_isotropic_cuda`] on an explicit backend.
pub fn run_isotropic_on(
    backend: &CudaBackend,
    batch: &IsotropicBatch,
    observer: &dyn BatchObserver,
) -> Result<Vec<PointSummary>, KernelError> {
    batch.validate()?;
    let clock = Instant::now();
    let n = batch.points.len();
    if n == 0 {
        return Ok(Vec::new());
    }
    let dim = batch.model.dim;
    let too_big = || KernelError::invalid("grid", "too many chains or dimensions for the GPU");
    let n_i32 = i32::try_from(n).map_err(|_| too_big())?;
    let dim_i32 = i32::try_from(dim).map_err(|_| too_big())?;
    let target = unit_vector(batch.model.target_seed, dim, Stream::Target)
        .ok_or_else(|| KernelError::invalid("workload.dim", "must be at least 2"))?;
    let start = unit_vector(batch.sweep_seed, dim, Stream::InitialDirection)
        .ok_or_else(|| KernelError::invalid("workload.dim", "must be at least 2"))?;
    let sched = batch.schedule;
    let end = sched.iterations;
    let ent = batch.entropy;
    let push_every = ent.map(|e| e.every);
    let bounds = window_bounds(end, sched.average_last);
    let n_batches = bounds.len() - 1;
    let geom = iso_geometry(n, dim, DEFAULT_SHARED_LIMIT);
    let work = work_steps(n, dim);

    let firsts: Vec<f64> = batch.points.iter().map(|p| p.first).collect();
    let seconds: Vec<f64> = batch.points.iter().map(|p| p.second).collect();
    let target_d = upload(backend, &target, "target")?;
    let start_d = upload(backend, &start, "start")?;
    let first_d = upload(backend, &firsts, "hyperparameters")?;
    let second_d = upload(backend, &seconds, "hyperparameters")?;
    let keys_d = upload(backend, &chain_keys(&batch.points), "keys")?;
    let bounds_d = upload(backend, &bounds, "window")?;
    let mut w_d = alloc::<f64>(backend, dim * n, "weights")?;
    let mut eps_d = alloc::<f32>(backend, if geom.use_shared { 1 } else { dim * n }, "noise")?;
    let mut state_d = alloc::<f64>(backend, N_STATE * n, "state")?;
    let mut div_d = alloc::<u64>(backend, n, "divergence flags")?;
    let mut sums_d = alloc::<f64>(backend, n_batches * N_SUMS * n, "sums")?;
    let series_cap = ((SEGMENT_BUDGET / (N_SERIES * 8 * n)).max(1) as u64)
        .min(multiples_in(0, end, sched.log_every).max(1)) as usize;
    let mut series_d = alloc::<f64>(backend, series_cap * N_SERIES * n, "series")?;
    let snap_cap = push_every.map_or(1, |e| {
        ((SEGMENT_BUDGET / ((dim + 1) * 8 * n)).max(1) as u64).min(multiples_in(0, end, e).max(1))
            as usize
    });
    let mut snaps_d = alloc::<f64>(
        backend,
        if push_every.is_some() {
            snap_cap * dim * n
        } else {
            1
        },
        "queue snapshots",
    )?;
    let mut radii_d = alloc::<f64>(backend, snap_cap * n, "queue radii")?;

    let stream = backend.stream();
    let launch_err = |what: &str, e| KernelError::from(CudaError::driver(what, e));
    let init = backend.function(KernelSource::Isotropic, "iso_init")?;
    let advance = backend.function(KernelSource::Isotropic, "iso_advance")?;
    {
        let protocol = protocol_code(batch.protocol);
        let init_radius = batch.init_radius;
        let mut b = stream.launch_builder(&init);
        b.arg(&dim_i32)
            .arg(&n_i32)
            .arg(&protocol)
            .arg(&init_radius)
            .arg(&start_d)
            .arg(&target_d)
            .arg(&second_d)
            .arg(&mut w_d)
            .arg(&mut state_d)
            .arg(&mut div_d);
        // SAFETY: argument types and buffer lengths match iso_init's signature and indexing.
        unsafe { b.launch(LaunchConfig::for_num_elems(n as u32)) }
            .map_err(|e| launch_err("iso_init", e))?;
    }

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
    let mut series_h = vec![0.0f64; series_cap * N_SERIES * n];
    let mut snaps_h = vec![
        0.0f64;
        if push_every.is_some() {
            snap_cap * dim * n
        } else {
            0
        }
    ];
    let mut radii_h = vec![0.0f64; snap_cap * n];
    let mut div_h = vec![0u64; n];
    let total = n as u64 * end;
    let mut done = 0u64;
    let mut t0 = 0u64;
    let budget_series = series_cap * N_SERIES * 8 * n;
    let budget_snaps = snap_cap * (dim + 1) * 8 * n;
    while t0 < end {
        let t1 = segment_end(t0, end, n, dim, work, sched.log_every, None, budget_series).min(
            segment_end(t0, end, n, dim, work, u64::MAX, push_every, budget_snaps),
        );
        let args = IsoArgs {
            protocol: protocol_code(batch.protocol),
            dim: dim_i32,
            n_chains: n_i32,
            use_shared: i32::from(geom.use_shared),
            n_batches: n_batches as i32,
            sigma: batch.model.sigma2.sqrt(),
            t0,
            steps: t1 - t0,
            log_every: sched.log_every,
            series_base: t0 / sched.log_every,
            push_every: push_every.unwrap_or(0),
            push_base: push_every.map_or(0, |e| t0 / e),
        };
        {
            let mut b = stream.launch_builder(&advance);
            b.arg(&args)
                .arg(&target_d)
                .arg(&first_d)
                .arg(&second_d)
                .arg(&keys_d)
                .arg(&mut w_d)
                .arg(&mut eps_d)
                .arg(&mut state_d)
                .arg(&mut div_d)
                .arg(&bounds_d)
                .arg(&mut sums_d)
                .arg(&mut series_d)
                .arg(&mut snaps_d)
                .arg(&mut radii_d);
            let cfg = LaunchConfig {
                grid_dim: (geom.blocks, 1, 1),
                block_dim: (geom.threads, 1, 1),
                shared_mem_bytes: geom.shared_bytes,
            };
            // SAFETY: `args` matches `struct IsoArgs`; every buffer is at least as long as the
            // kernel indexes for this segment (segment_end keeps samples within the caps).
            unsafe { b.launch(cfg) }.map_err(|e| launch_err("iso_advance", e))?;
        }
        let n_series = multiples_in(t0, t1, sched.log_every) as usize;
        let n_snaps = push_every.map_or(0, |e| multiples_in(t0, t1, e) as usize);
        stream
            .memcpy_dtoh(&div_d, &mut div_h)
            .map_err(|e| launch_err("copy divergence", e))?;
        if n_series > 0 {
            let len = n_series * N_SERIES * n;
            stream
                .memcpy_dtoh(&series_d.slice(0..len), &mut series_h[..len])
                .map_err(|e| launch_err("copy series", e))?;
        }
        if n_snaps > 0 {
            stream
                .memcpy_dtoh(
                    &snaps_d.slice(0..n_snaps * dim * n),
                    &mut snaps_h[..n_snaps * dim * n],
                )
                .map_err(|e| launch_err("copy queue", e))?;
            stream
                .memcpy_dtoh(&radii_d.slice(0..n_snaps * n), &mut radii_h[..n_snaps * n])
                .map_err(|e| launch_err("copy queue radii", e))?;
        }
        for (c, ch) in chains.iter_mut().enumerate() {
            ch.diverged_at = div_h[c];
        }
        let live_before = chains.iter().filter(|c| c.live_at(t0 + 1)).count() as u64;
        let segment = Segment {
            t0,
            t1,
            n,
            dim,
            series: &series_h,
            snaps: &snaps_h,
            radii: &radii_h,
        };
        let rows = replay(batch, &segment, &mut chains);
        for ch in chains.iter_mut() {
            if ch.diverged_at != 0 && ch.status == PointStatus::Done {
                ch.status = PointStatus::Diverged {
                    iteration: ch.diverged_at,
                };
            }
        }
        t0 = t1;
        done += (t1 - args.t0) * live_before;
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
    let sums_h = stream
        .clone_dtoh(&sums_d)
        .map_err(|e| launch_err("copy sums", e))?;
    let wall = clock.elapsed().as_secs_f64();
    Ok(chains
        .into_iter()
        .enumerate()
        .map(|(c, ch)| {
            summarise(
                batch,
                0,
                &lane_sums(&sums_h, &bounds, n, c),
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
