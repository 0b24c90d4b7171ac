//! One point of a network sweep from its initial weights to its summary, as a backend of the
//! chain driver ([`sweep_kernels::driver`], which keeps the entropy queue, the estimates and the
//! series rows): the training loop, the stationary-window sums and the measurements, over a
//! [`PointTraining`] (the CPU's or a device's).

use std::collections::VecDeque;

use sweep_kernels::driver::{
    BatchProgress, ChainRecord, Chains, Events, RowTimes, RowValues, drive,
};
use sweep_kernels::isotropic::ChainPoint;
use sweep_kernels::observer::BatchObserver;
use sweep_kernels::stationary::Window;
use sweep_kernels::{KernelError, PointSummary};
use sweep_theory::Protocol;

use super::summary::{Measurement, TestEval, WindowSums, summarise};
use super::training::{CpuTraining, PointTraining, Stepped, net_error};
use super::{HEAD_SEED, NetworkRun};
use crate::models::Network;
use crate::train::{StepLog, Update};

/// Steps between cancellation polls and progress reports.
const POLL_EVERY: u64 = 8;

/// The protocol's update at this point.
pub(super) fn update_of(protocol: Protocol, p: &ChainPoint) -> Update {
    match protocol {
        Protocol::FixedSphere => Update::FixedSphere {
            elr: p.first,
            radius: p.second,
        },
        Protocol::FixedElr => Update::FixedElr {
            elr: p.first,
            wd: p.second,
        },
        Protocol::FixedLr => Update::FixedLr {
            lr: p.first,
            wd: p.second,
        },
    }
}

/// Where a point trains.
#[derive(Clone, Copy)]
pub(super) enum Place<'a> {
    /// On the CPU.
    Cpu,
    /// On a device, with the run's data sets there.
    #[cfg(feature = "cuda")]
    Device(
        &'a dyn sweep_kernels::cuda::Device,
        &'a super::on_device::DeviceSets,
    ),
    #[cfg(not(feature = "cuda"))]
    #[allow(dead_code)]
    Never(std::marker::PhantomData<&'a ()>),
}

/// Trains point `p` through the chain driver and summarises it.
pub(super) fn run_point(
    run: &NetworkRun<'_>,
    place: Place<'_>,
    p: &ChainPoint,
    progress: &BatchProgress,
    observer: &dyn BatchObserver,
) -> Result<PointSummary, KernelError> {
    let b = run.batch;
    let data = run.data;
    let sphere = b.protocol == Protocol::FixedSphere;
    let si_norm = if sphere { p.second } else { b.init_radius };
    let (net, si) = Network::<f32>::initial(
        b.arch,
        data.c,
        data.classes,
        b.init_seed,
        HEAD_SEED,
        si_norm,
        b.head_norm,
    )
    .map_err(net_error)?;
    match place {
        Place::Cpu => train(
            run,
            &net,
            CpuTraining::new(run, &net, p, si),
            p,
            progress,
            observer,
        ),
        #[cfg(feature = "cuda")]
        Place::Device(device, sets) => {
            let training = super::on_device::DeviceTraining::new(device, run, sets, &net, p, si)?;
            train(run, &net, training, p, progress, observer)
        }
        #[cfg(not(feature = "cuda"))]
        Place::Never(_) => Err(KernelError::invalid("backend", "no device in this build")),
    }
}

fn train<T: PointTraining>(
    run: &NetworkRun<'_>,
    net: &Network<f32>,
    training: T,
    p: &ChainPoint,
    progress: &BatchProgress,
    observer: &dyn BatchObserver,
) -> Result<PointSummary, KernelError> {
    let b = run.batch;
    let window = Window::new(b.schedule.iterations, b.schedule.average_last);
    let chain = NetworkChain {
        run,
        point: std::slice::from_ref(p),
        dim: net.dim(),
        training,
        update: update_of(b.protocol, p),
        window,
        sums: vec![WindowSums::default(); window.batches()],
        measurements: Vec::new(),
        tests: VecDeque::new(),
        measured: 0,
        t: 0,
        last: None,
        measured_now: None,
        row_due: false,
        diverged_at: None,
    };
    let events = Events {
        iterations: b.schedule.iterations,
        rows: if b.paper_logs {
            RowTimes::At(super::paper_log_iterations(b.schedule.iterations))
        } else {
            RowTimes::Every(b.schedule.log_every)
        },
        entropy: Some(b.entropy),
    };
    let mut out = drive(chain, &events, progress, observer)?;
    out.pop()
        .ok_or_else(|| KernelError::invalid("points", "a network chain is one point"))
}

/// One point in training: the driver's backend for networks. Each segment ends at the driver's
/// next event, at the next in-window gradient measurement, or after [`POLL_EVERY`] steps, so every
/// event is a segment's last step, where the measurements and the test evaluation happen.
struct NetworkChain<'a, T> {
    run: &'a NetworkRun<'a>,
    point: &'a [ChainPoint],
    dim: usize,
    training: T,
    update: Update,
    window: Window,
    sums: Vec<WindowSums>,
    /// In-window measurements with the window batch they fall in (standard errors by batch means).
    measurements: Vec<(usize, Measurement)>,
    tests: VecDeque<TestEval>,
    measured: u64,
    /// Steps done.
    t: u64,
    /// The last step's log.
    last: Option<StepLog>,
    /// The gradient measurement at `t`, if one was made there.
    measured_now: Option<Measurement>,
    /// Whether `t` logs a series row: a row of the schedule, or a measurement.
    row_due: bool,
    diverged_at: Option<u64>,
}

impl<T: PointTraining> NetworkChain<'_, T> {
    /// Whether a gradient measurement is due after step `done`: at every entropy estimate
    /// iteration, every `measure_every` inside the window, and at every series row of the
    /// paper's schedule.
    fn measures_at(&self, done: u64, events: &Events) -> bool {
        let b = self.run.batch;
        done.is_multiple_of(b.entropy.log_every)
            || (self.window.batch_of(done).is_some() && done.is_multiple_of(b.measure_every))
            || (b.paper_logs && events.logs_at(done))
    }

    /// The events after step `done` (the segment's last): SPEC §7.3's order, as in the paper's
    /// code: the measurement's full-batch chunks (training mode: they update the running
    /// BatchNorm statistics), the test set in evaluation mode at an entropy estimate, then the
    /// measurement's fresh mini-batches (which update them too). The passes do not depend on the
    /// running statistics, so they are computed first and folded in order.
    fn at_event(&mut self, done: u64, r: f64, events: &Events) -> Result<(), KernelError> {
        let b = self.run.batch;
        if self.measures_at(done, events) {
            let Some(m) = self.training.measure(r, self.measured)? else {
                self.diverged_at = Some(done);
                return Ok(());
            };
            self.measured += 1;
            self.measured_now = Some(m);
            if let Some(k) = self.window.batch_of(done) {
                self.measurements.push((k, m));
            }
        }
        if events.estimates_at(done)
            && let Some(test) = self.training.evaluate()?
        {
            self.tests.push_back(test);
            if self.tests.len() > b.entropy.average_last {
                self.tests.pop_front();
            }
        }
        if events.pushes_at(done) {
            self.training.refresh_weights()?;
        }
        self.training.settle()
    }
}

impl<T: PointTraining> Chains for NetworkChain<'_, T> {
    fn points(&self) -> &[ChainPoint] {
        self.point
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn segment_end(&self, t0: u64, next_event: u64, end: u64) -> u64 {
        let b = self.run.batch;
        let mut t1 = next_event.min(end).min(t0 + POLL_EVERY);
        // The next in-window measurement.
        let m = (t0 / b.measure_every + 1) * b.measure_every;
        if m < t1 && self.window.batch_of(m).is_some() {
            t1 = m;
        }
        t1
    }

    fn advance(&mut self, t0: u64, t1: u64, events: &Events) -> Result<(), KernelError> {
        self.measured_now = None;
        self.row_due = false;
        for t in t0..t1 {
            if self.diverged_at.is_some() {
                break;
            }
            let log = match self.training.step(self.update)? {
                Stepped::Log(log) => log,
                Stepped::Diverged { iteration } => {
                    // `iteration` is the step's 0-based index: it ends iteration + 1.
                    self.diverged_at = Some(iteration + 1);
                    break;
                }
            };
            let done = t + 1;
            self.t = done;
            if !(log.norm.is_finite() && log.norm > 0.0 && log.pre_norm.is_finite()) {
                self.diverged_at = Some(done);
                break;
            }
            if let Some(k) = self.window.batch_of(done) {
                self.sums[k].add(&log);
            }
            self.last = Some(log);
        }
        if self.diverged_at.is_none()
            && let Some(log) = self.last.filter(|_| self.t == t1)
        {
            // The step's ‖w‖ after the update is the norm of these weights.
            self.row_due = events.logs_at(t1) || self.measures_at(t1, events);
            self.at_event(t1, log.norm, events)?;
        }
        Ok(())
    }

    fn diverged_at(&self, _c: usize) -> Option<u64> {
        self.diverged_at
    }

    fn row(&self, t: u64, _c: usize) -> Option<RowValues> {
        let log = self.last.filter(|_| t == self.t && self.row_due)?;
        let m = self.measured_now;
        Some(RowValues {
            loss: Some(m.map_or(log.loss, |m| m.full_loss)),
            radius: Some(log.norm),
            trace_sigma: m.map(|m| m.trace_sigma),
            full_grad_sq: m.map(|m| m.full_grad_sq),
        })
    }

    fn direction(&self, _t: u64, _c: usize, out: &mut [f64]) -> f64 {
        let r = self.last.map_or(f64::NAN, |l| l.norm);
        out.iter_mut()
            .zip(self.training.weights())
            .for_each(|(u, &x)| *u = f64::from(x) / r);
        r
    }

    fn poll_every(&self) -> u64 {
        POLL_EVERY
    }

    fn finish(
        self,
        mut records: Vec<ChainRecord>,
        _reached: u64,
        wall_seconds: f64,
    ) -> Result<Vec<PointSummary>, KernelError> {
        let r = records
            .pop()
            .ok_or_else(|| KernelError::invalid("points", "a network chain is one point"))?;
        Ok(vec![summarise(
            self.run.batch,
            self.dim,
            &r.point,
            &self.sums,
            self.window.batches(),
            &self.measurements,
            &r.estimates,
            &self.tests,
            r.status,
            self.t,
            wall_seconds,
        )])
    }
}
