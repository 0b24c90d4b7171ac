//! Isotropic chains on a CUDA device with the CPU's semantics ([`crate::isotropic::run_isotropic`]):
//! the same summaries, series rows, progress and cancellation. One launch of `iso_advance`
//! advances every chain over a segment of many iterations; stationary sums stay on the device,
//! and each segment's series samples and queue snapshots come back in one copy each. The host
//! loop around it is [`super::iso_host::drive`]; the device is a GPU or the CPU execution of the
//! same kernels ([`super::Device`]).

use super::device::{Args, Buffer, Device, Pod, Shape};
use super::iso_host::{ChainDevice, IsoArgs, Plan, SegmentHost, drive};
use super::layout::{
    DEFAULT_SHARED_LIMIT, IsoGeometry, N_SERIES, N_STATE, N_SUMS, chain_keys, iso_geometry,
    protocol_code,
};
use super::select::default_device;
use super::sources::KernelSource;
use crate::error::KernelError;
use crate::isotropic::config::IsotropicBatch;
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
    drive(batch, plan, &mut chains, observer)
}

/// The device buffers of one batch.
struct DeviceChains<'a> {
    device: &'a dyn Device,
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
        batch: &IsotropicBatch,
        plan: &Plan,
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

impl ChainDevice for DeviceChains<'_> {
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

    fn advance(&mut self, args: &IsoArgs) -> Result<(), KernelError> {
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

    fn fetch(
        &mut self,
        n_series: usize,
        n_snaps: usize,
        out: &mut SegmentHost,
    ) -> Result<(), KernelError> {
        let (n, dim) = (self.n, self.dim);
        let dev = self.device;
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

    fn sums(&mut self) -> Result<Vec<f64>, KernelError> {
        Ok(self.device.download_all(&self.sums)?)
    }
}
