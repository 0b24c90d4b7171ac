//! Isotropic chains on a CUDA device with the CPU's semantics ([`crate::isotropic::run_isotropic`]):
//! the same summaries, series rows, progress and cancellation. One launch of `iso_advance`
//! advances every chain over a segment of many iterations; stationary sums stay on the device,
//! and each segment's series samples and queue snapshots come back in one copy each, from which
//! the chain driver ([`crate::driver::drive`]) replays the segment's events. The device is a GPU
//! or the CPU execution of the same kernels ([`super::Device`]).

use super::device::{Args, Buffer, Device, Pod, Shape};
use super::iso_plan::{IsoArgs, Plan, SegmentHost};
use super::layout::{
    DEFAULT_SHARED_LIMIT, IsoGeometry, N_SERIES, N_STATE, N_SUMS, chain_keys, iso_geometry,
    lane_sums, multiples_in, protocol_code, series_index, snapshot_index,
};
use super::select::default_device;
use super::sources::KernelSource;
use crate::driver::{BatchProgress, ChainRecord, Chains, Events, RowValues, drive};
use crate::error::KernelError;
use crate::isotropic::config::{ChainPoint, IsotropicBatch};
use crate::isotropic::run::isotropic_events;
use crate::isotropic::stationary::summarise;
use crate::observer::BatchObserver;
use crate::rng::{Stream, unit_vector};
use crate::summary::PointSummary;

// SAFETY: `#[repr(C)]` integers and floats with the padding made an explicit field, the layout
// `struct IsoArgs` has in isotropic.cu; every bit pattern is a value.
unsafe impl Pod for IsoArgs {}

/// [`crate::isotropic::run_isotropic`] on the process-wide CUDA device ([`default_device`]).
pub fn run_isotropic_cuda(
    batch: &IsotropicBatch,
    observer: &dyn BatchObserver,
) -> Result<Vec<PointSummary>, KernelError> {
    batch.validate()?;
    run_isotropic_on(default_device()?, batch, observer)
}

/// [`run_isotropic_cuda`] on an explicit device.
pub fn run_isotropic_on(
    device: &dyn Device,
    batch: &IsotropicBatch,
    observer: &dyn BatchObserver,
) -> Result<Vec<PointSummary>, KernelError> {
    batch.validate()?;
    run_isotropic_planned(device, batch, &Plan::new(batch), observer)
}

/// [`run_isotropic_on`] with an explicit plan (tests force small segments with it, so that every
/// buffer wraps many times).
pub fn run_isotropic_planned(
    device: &dyn Device,
    batch: &IsotropicBatch,
    plan: &Plan,
    observer: &dyn BatchObserver,
) -> Result<Vec<PointSummary>, KernelError> {
    batch.validate()?;
    if batch.points.is_empty() {
        return Ok(Vec::new());
    }
    let too_big = || KernelError::invalid("grid", "too many chains or dimensions for the GPU");
    i32::try_from(batch.points.len()).map_err(|_| too_big())?;
    i32::try_from(batch.model.dim).map_err(|_| too_big())?;
    let mut chains = DeviceChains::new(device, batch, plan)?;
    chains.init()?;
    let progress = BatchProgress::new(batch.points.len() as u64 * batch.schedule.iterations);
    drive(chains, &isotropic_events(batch), &progress, observer)
}

/// The device buffers of one batch, and the last segment's copies.
struct DeviceChains<'a> {
    device: &'a dyn Device,
    batch: &'a IsotropicBatch,
    plan: &'a Plan,
    host: SegmentHost,
    /// The last segment started after this iteration.
    t0: u64,
    geom: IsoGeometry,
    protocol: i32,
    init_radius: f64,
    n: usize,
    dim: usize,
    target: Buffer<f64>,
    start: Buffer<f64>,
    first: Buffer<f64>,
    second: Buffer<f64>,
    keys: Buffer<u32>,
    bounds: Buffer<u64>,
    w: Buffer<f64>,
    eps: Buffer<f32>,
    state: Buffer<f64>,
    diverged: Buffer<u64>,
    sums: Buffer<f64>,
    series: Buffer<f64>,
    snaps: Buffer<f64>,
    radii: Buffer<f64>,
}

impl<'a> DeviceChains<'a> {
    fn new(
        device: &'a dyn Device,
        batch: &'a IsotropicBatch,
        plan: &'a Plan,
    ) -> Result<Self, KernelError> {
        let (n, dim) = (plan.n, plan.dim);
        let target = unit_vector(batch.model.target_seed, dim, Stream::Target)
            .ok_or_else(|| KernelError::invalid("workload.dim", "must be at least 2"))?;
        let start = unit_vector(batch.sweep_seed, dim, Stream::InitialDirection)
            .ok_or_else(|| KernelError::invalid("workload.dim", "must be at least 2"))?;
        let firsts: Vec<f64> = batch.points.iter().map(|p| p.first).collect();
        let seconds: Vec<f64> = batch.points.iter().map(|p| p.second).collect();
        let geom = iso_geometry(n, dim, DEFAULT_SHARED_LIMIT);
        let n_batches = plan.bounds.len() - 1;
        let queue = plan.push_every.is_some();
        Ok(Self {
            device,
            batch,
            plan,
            host: SegmentHost::default(),
            t0: 0,
            geom,
            protocol: protocol_code(batch.protocol),
            init_radius: batch.init_radius,
            n,
            dim,
            target: device.upload(&target)?,
            start: device.upload(&start)?,
            first: device.upload(&firsts)?,
            second: device.upload(&seconds)?,
            keys: device.upload(&chain_keys(&batch.points))?,
            bounds: device.upload(&plan.bounds)?,
            w: device.zeros(dim * n)?,
            eps: device.zeros(if geom.use_shared { 1 } else { dim * n })?,
            state: device.zeros(N_STATE * n)?,
            diverged: device.zeros(n)?,
            sums: device.zeros(n_batches * N_SUMS * n)?,
            series: device.zeros(plan.series_cap * N_SERIES * n)?,
            snaps: device.zeros(if queue { plan.snap_cap * dim * n } else { 1 })?,
            radii: device.zeros(plan.snap_cap * n)?,
        })
    }
}

impl DeviceChains<'_> {
    /// Initialises every chain (weights, state, divergence flags; sums stay zero).
    fn init(&mut self) -> Result<(), KernelError> {
        let (dim, n) = (self.dim as i32, self.n as i32);
        let args = Args::new()
            .val(&dim)
            .val(&n)
            .val(&self.protocol)
            .val(&self.init_radius)
            .buf(&self.start)
            .buf(&self.target)
            .buf(&self.second)
            .buf(&self.w)
            .buf(&self.state)
            .buf(&self.diverged);
        let shape = Shape::linear(self.n.div_ceil(1024) as u32, self.n.min(1024) as u32, 0);
        // SAFETY: argument types and buffer lengths match iso_init's signature and indexing
        // (one thread per chain, `dim × n` weights, `5 × n` state, `n` flags).
        unsafe {
            self.device
                .launch(KernelSource::Isotropic, "iso_init", shape, args)
        }?;
        Ok(())
    }

    /// Advances every chain by one segment.
    fn launch_segment(&mut self, args: &IsoArgs) -> Result<(), KernelError> {
        let args = IsoArgs {
            use_shared: i32::from(self.geom.use_shared),
            ..*args
        };
        let launch = Args::new()
            .val(&args)
            .buf(&self.target)
            .buf(&self.first)
            .buf(&self.second)
            .buf(&self.keys)
            .buf(&self.w)
            .buf(&self.eps)
            .buf(&self.state)
            .buf(&self.diverged)
            .buf(&self.bounds)
            .buf(&self.sums)
            .buf(&self.series)
            .buf(&self.snaps)
            .buf(&self.radii);
        let shape = Shape::linear(self.geom.blocks, self.geom.threads, self.geom.shared_bytes);
        // SAFETY: `args` matches `struct IsoArgs`; every buffer is as long as the kernel indexes
        // for this segment (the plan keeps a segment's samples within the buffers' capacity).
        unsafe {
            self.device
                .launch(KernelSource::Isotropic, "iso_advance", shape, launch)
        }?;
        Ok(())
    }

    /// Copies back the divergence flags, the first `n_series` series samples and the first
    /// `n_snaps` queue snapshots of the last segment.
    fn fetch(&mut self, n_series: usize, n_snaps: usize) -> Result<(), KernelError> {
        let (n, dim) = (self.n, self.dim);
        let dev = self.device;
        let out = &mut self.host;
        out.diverged_at.resize(n, 0);
        dev.copy_out(&self.diverged, 0..n, &mut out.diverged_at)?;
        let len = n_series * N_SERIES * n;
        out.series.resize(len, 0.0);
        dev.copy_out(&self.series, 0..len, &mut out.series)?;
        out.snaps.resize(n_snaps * dim * n, 0.0);
        out.radii.resize(n_snaps * n, 0.0);
        if n_snaps > 0 {
            dev.copy_out(&self.snaps, 0..n_snaps * dim * n, &mut out.snaps)?;
            dev.copy_out(&self.radii, 0..n_snaps * n, &mut out.radii)?;
        }
        Ok(())
    }
}

impl Chains for DeviceChains<'_> {
    fn points(&self) -> &[ChainPoint] {
        &self.batch.points
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn segment_end(&self, t0: u64, _next_event: u64, end: u64) -> u64 {
        self.plan
            .segment_end(t0, end, self.batch.schedule.log_every)
    }

    fn advance(&mut self, t0: u64, t1: u64, _events: &Events) -> Result<(), KernelError> {
        let (plan, sched) = (self.plan, self.batch.schedule);
        let args = IsoArgs {
            protocol: self.protocol,
            dim: self.dim as i32,
            n_chains: self.n as i32,
            use_shared: i32::from(self.geom.use_shared),
            n_batches: (plan.bounds.len() - 1) as i32,
            reserved: 0,
            sigma: self.batch.model.sigma2.sqrt(),
            t0,
            steps: t1 - t0,
            log_every: sched.log_every,
            series_base: t0 / sched.log_every,
            push_every: plan.push_every.unwrap_or(0),
            push_base: plan.push_every.map_or(0, |e| t0 / e),
        };
        self.launch_segment(&args)?;
        let n_series = multiples_in(t0, t1, sched.log_every) as usize;
        let n_snaps = plan
            .push_every
            .map_or(0, |e| multiples_in(t0, t1, e) as usize);
        self.fetch(n_series, n_snaps)?;
        self.t0 = t0;
        Ok(())
    }

    fn diverged_at(&self, c: usize) -> Option<u64> {
        let d = self.host.diverged_at[c];
        (d != 0).then_some(d)
    }

    fn row(&self, t: u64, c: usize) -> Option<RowValues> {
        let every = self.batch.schedule.log_every;
        if !t.is_multiple_of(every) {
            return None;
        }
        let s = (t / every - self.t0 / every - 1) as usize;
        let v = |f: usize| Some(self.host.series[series_index(s, f, c, self.n)]);
        Some(RowValues {
            loss: v(0),
            radius: v(1),
            trace_sigma: v(3),
            full_grad_sq: v(2),
        })
    }

    fn direction(&self, t: u64, c: usize, out: &mut [f64]) -> f64 {
        let every = self.plan.push_every.unwrap_or(1);
        let s = (t / every - self.t0 / every - 1) as usize;
        for (k, x) in out.iter_mut().enumerate() {
            *x = self.host.snaps[snapshot_index(s, k, c, self.dim, self.n)];
        }
        self.host.radii[s * self.n + c]
    }

    fn poll_every(&self) -> u64 {
        1
    }

    fn finish(
        self,
        records: Vec<ChainRecord>,
        _reached: u64,
        wall_seconds: f64,
    ) -> Result<Vec<PointSummary>, KernelError> {
        let sums = self.device.download_all(&self.sums)?;
        let end = self.batch.schedule.iterations;
        Ok(records
            .into_iter()
            .enumerate()
            .map(|(c, r)| {
                let lanes = lane_sums(&sums, &self.plan.bounds, self.n, c);
                summarise(
                    self.batch,
                    0,
                    &lanes,
                    r.point,
                    &r.estimates,
                    r.status,
                    end,
                    wall_seconds,
                )
            })
            .collect())
    }
}
