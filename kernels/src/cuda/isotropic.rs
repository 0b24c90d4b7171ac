//! Isotropic chains on the GPU with the CPU's semantics ([`crate::isotropic::run_isotropic`]):
//! the same summaries, series rows, progress and cancellation. One launch of `iso_advance`
//! advances every chain over a segment of many iterations; stationary sums stay on the device,
//! and each segment's series samples and queue snapshots come back in one copy each. The host
//! loop around it is [`super::iso_host::drive`].

use std::sync::OnceLock;

use cudarc::driver::{
    CudaFunction, CudaSlice, DeviceRepr, LaunchConfig, PushKernelArg, ValidAsZeroBits,
};

use super::device::CudaBackend;
use super::error::CudaError;
use super::iso_host::{ChainDevice, IsoArgs, Plan, SegmentHost, drive};
use super::layout::{
    DEFAULT_SHARED_LIMIT, IsoGeometry, N_SERIES, N_STATE, N_SUMS, chain_keys, iso_geometry,
    protocol_code,
};
use super::sources::KernelSource;
use crate::error::KernelError;
use crate::isotropic::config::IsotropicBatch;
use crate::observer::BatchObserver;
use crate::rng::{Stream, unit_vector};
use crate::summary::PointSummary;

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

/// [`run_isotropic_cuda`] on an explicit backend.
pub fn run_isotropic_on(
    backend: &CudaBackend,
    batch: &IsotropicBatch,
    observer: &dyn BatchObserver,
) -> Result<Vec<PointSummary>, KernelError> {
    batch.validate()?;
    if batch.points.is_empty() {
        return Ok(Vec::new());
    }
    let too_big = || KernelError::invalid("grid", "too many chains or dimensions for the GPU");
    i32::try_from(batch.points.len()).map_err(|_| too_big())?;
    i32::try_from(batch.model.dim).map_err(|_| too_big())?;
    let plan = Plan::new(batch);
    let mut device = CudaChains::new(backend, batch, &plan)?;
    drive(batch, &plan, &mut device, observer)
}

/// The device buffers of one batch.
struct CudaChains<'a> {
    backend: &'a CudaBackend,
    geom: IsoGeometry,
    init_fn: CudaFunction,
    advance_fn: CudaFunction,
    protocol: i32,
    init_radius: f64,
    n: usize,
    dim: usize,
    target: CudaSlice<f64>,
    start: CudaSlice<f64>,
    first: CudaSlice<f64>,
    second: CudaSlice<f64>,
    keys: CudaSlice<u32>,
    bounds: CudaSlice<u64>,
    w: CudaSlice<f64>,
    eps: CudaSlice<f32>,
    state: CudaSlice<f64>,
    diverged: CudaSlice<u64>,
    sums: CudaSlice<f64>,
    series: CudaSlice<f64>,
    snaps: CudaSlice<f64>,
    radii: CudaSlice<f64>,
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

impl<'a> CudaChains<'a> {
    fn new(
        backend: &'a CudaBackend,
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
            backend,
            geom,
            init_fn: backend.function(KernelSource::Isotropic, "iso_init")?,
            advance_fn: backend.function(KernelSource::Isotropic, "iso_advance")?,
            protocol: protocol_code(batch.protocol),
            init_radius: batch.init_radius,
            n,
            dim,
            target: upload(backend, &target, "target")?,
            start: upload(backend, &start, "start")?,
            first: upload(backend, &firsts, "hyperparameters")?,
            second: upload(backend, &seconds, "hyperparameters")?,
            keys: upload(backend, &chain_keys(&batch.points), "keys")?,
            bounds: upload(backend, &plan.bounds, "window")?,
            w: alloc(backend, dim * n, "weights")?,
            eps: alloc(backend, if geom.use_shared { 1 } else { dim * n }, "noise")?,
            state: alloc(backend, N_STATE * n, "state")?,
            diverged: alloc(backend, n, "divergence flags")?,
            sums: alloc(backend, n_batches * N_SUMS * n, "sums")?,
            series: alloc(backend, plan.series_cap * N_SERIES * n, "series")?,
            snaps: alloc(
                backend,
                if queue { plan.snap_cap * dim * n } else { 1 },
                "queue",
            )?,
            radii: alloc(backend, plan.snap_cap * n, "queue radii")?,
        })
    }
}

fn launch_err(what: &str, e: cudarc::driver::DriverError) -> KernelError {
    KernelError::from(CudaError::driver(what, e))
}

impl ChainDevice for CudaChains<'_> {
    fn init(&mut self) -> Result<(), KernelError> {
        let (dim, n) = (self.dim as i32, self.n as i32);
        let stream = self.backend.stream();
        let mut b = stream.launch_builder(&self.init_fn);
        b.arg(&dim)
            .arg(&n)
            .arg(&self.protocol)
            .arg(&self.init_radius)
            .arg(&self.start)
            .arg(&self.target)
            .arg(&self.second)
            .arg(&mut self.w)
            .arg(&mut self.state)
            .arg(&mut self.diverged);
        // SAFETY: argument types and buffer lengths match iso_init's signature and indexing.
        unsafe { b.launch(LaunchConfig::for_num_elems(self.n as u32)) }
            .map_err(|e| launch_err("iso_init", e))?;
        Ok(())
    }

    fn advance(&mut self, args: &IsoArgs) -> Result<(), KernelError> {
        let args = IsoArgs {
            use_shared: i32::from(self.geom.use_shared),
            ..*args
        };
        let stream = self.backend.stream();
        let mut b = stream.launch_builder(&self.advance_fn);
        b.arg(&args)
            .arg(&self.target)
            .arg(&self.first)
            .arg(&self.second)
            .arg(&self.keys)
            .arg(&mut self.w)
            .arg(&mut self.eps)
            .arg(&mut self.state)
            .arg(&mut self.diverged)
            .arg(&self.bounds)
            .arg(&mut self.sums)
            .arg(&mut self.series)
            .arg(&mut self.snaps)
            .arg(&mut self.radii);
        let cfg = LaunchConfig {
            grid_dim: (self.geom.blocks, 1, 1),
            block_dim: (self.geom.threads, 1, 1),
            shared_mem_bytes: self.geom.shared_bytes,
        };
        // SAFETY: `args` matches `struct IsoArgs`; every buffer is as long as the kernel indexes
        // for this segment (the plan keeps a segment's samples within the buffers' capacity).
        unsafe { b.launch(cfg) }.map_err(|e| launch_err("iso_advance", e))?;
        Ok(())
    }

    fn fetch(
        &mut self,
        n_series: usize,
        n_snaps: usize,
        out: &mut SegmentHost,
    ) -> Result<(), KernelError> {
        let (n, dim) = (self.n, self.dim);
        let stream = self.backend.stream();
        out.diverged_at.resize(n, 0);
        stream
            .memcpy_dtoh(&self.diverged, &mut out.diverged_at)
            .map_err(|e| launch_err("copy divergence", e))?;
        let len = n_series * N_SERIES * n;
        out.series.resize(len, 0.0);
        if len > 0 {
            stream
                .memcpy_dtoh(&self.series.slice(0..len), &mut out.series[..])
                .map_err(|e| launch_err("copy series", e))?;
        }
        out.snaps.resize(n_snaps * dim * n, 0.0);
        out.radii.resize(n_snaps * n, 0.0);
        if n_snaps > 0 {
            stream
                .memcpy_dtoh(&self.snaps.slice(0..n_snaps * dim * n), &mut out.snaps[..])
                .map_err(|e| launch_err("copy queue", e))?;
            stream
                .memcpy_dtoh(&self.radii.slice(0..n_snaps * n), &mut out.radii[..])
                .map_err(|e| launch_err("copy queue radii", e))?;
        }
        Ok(())
    }

    fn sums(&mut self) -> Result<Vec<f64>, KernelError> {
        self.backend
            .stream()
            .clone_dtoh(&self.sums)
            .map_err(|e| launch_err("copy sums", e))
    }
}
