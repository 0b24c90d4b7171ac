//! One point of a network sweep from its initial weights to its summary: the training loop, the
//! stationary-window sums, the entropy queue and the measurements.

use std::collections::VecDeque;
use std::time::Instant;

use sweep_kernels::entropy;
use sweep_kernels::isotropic::ChainPoint;
use sweep_kernels::isotropic::queue::EntropyQueue;
use sweep_kernels::observer::SeriesRow;
use sweep_kernels::stationary::Window;
use sweep_kernels::{KernelError, PointStatus, PointSummary};
use sweep_theory::Protocol;

use super::summary::{Measurement, TestEval, WindowSums, summarise};
use super::{HEAD_SEED, NetworkRun};
use crate::data::BatchSampler;
use crate::layers::BnStats;
use crate::models::Network;
use crate::train::{BnRecord, TrainError, Trainer, Update, gradient_statistics_recording};

/// PyTorch's BatchNorm momentum for the running statistics evaluation mode uses.
const BN_MOMENTUM: f64 = 0.1;
/// Test images evaluated per forward pass (evaluation mode makes the chunking irrelevant).
const TEST_CHUNK: usize = 1024;
/// Steps between cancellation polls and progress reports.
const POLL_EVERY: u64 = 8;
/// Series rows buffered before they go to the observer.
const SERIES_BUFFER: usize = 256;
/// Measurement mini-batches are drawn at sampler iterations from here on, which training
/// (iterations below 2⁶³) never reaches; measurement `k` uses `[MEASURE_BASE + k·M, … + M)`.
const MEASURE_BASE: u64 = 1 << 63;

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

fn net_error(e: impl std::fmt::Display) -> KernelError {
    KernelError::invalid("workload", e.to_string())
}

/// Trains point `p` and summarises it.
pub(super) fn run_point(
    shared: &NetworkRun<'_>,
    p: &ChainPoint,
) -> Result<PointSummary, KernelError> {
    let started = Instant::now();
    let b = shared.batch;
    let data = shared.data;
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
    let dim = net.dim();
    let sampler = BatchSampler::new(p.seed, data.len(), b.batch_size);
    let mut trainer = Trainer::new(&net, data, sampler, si);
    if shared.test.is_some() {
        trainer = trainer.track_running_stats(BN_MOMENTUM);
    }
    let mut tests: VecDeque<TestEval> = VecDeque::new();
    let update = update_of(b.protocol, p);
    let window = Window::new(b.schedule.iterations, b.schedule.average_last);
    let mut sums = vec![WindowSums::default(); window.batches()];
    let mut queue = EntropyQueue::new(dim, b.entropy.queue);
    // In-window measurements with the window batch they fall in (standard errors by batch means).
    let mut measurements: Vec<(usize, Measurement)> = Vec::new();
    let mut estimates: VecDeque<f64> = VecDeque::new();
    let mut measured = 0u64;
    let mut rows: Vec<SeriesRow> = Vec::new();
    let mut status = PointStatus::Done;
    let mut last_report = 0u64;
    let mut iterations = 0u64;
    let paper_logs = if b.paper_logs {
        super::paper_log_iterations(b.schedule.iterations)
    } else {
        Vec::new()
    };
    let mut next_log = paper_logs.iter().copied().peekable();
    for t in 0..b.schedule.iterations {
        if t % POLL_EVERY == 0 {
            if shared.observer.cancelled() {
                return Err(KernelError::Cancelled);
            }
            shared.advance(t - last_report);
            last_report = t;
        }
        let log = match trainer.step(update) {
            Ok(log) => log,
            Err(TrainError::NonFinite { iteration }) => {
                // `iteration` is the step's 0-based index: it ends iteration + 1.
                status = PointStatus::Diverged {
                    iteration: iteration + 1,
                };
                break;
            }
            Err(TrainError::Net(e)) => return Err(net_error(e)),
        };
        let done = t + 1;
        iterations = done;
        if !(log.norm.is_finite() && log.norm > 0.0 && log.pre_norm.is_finite()) {
            status = PointStatus::Diverged { iteration: done };
            break;
        }
        if let Some(k) = window.batch_of(done) {
            sums[k].add(&log);
        }
        if done % b.entropy.every == 0 {
            // The step's ‖w‖ after the update is the norm of these weights.
            let r = log.norm;
            queue
                .slot()
                .iter_mut()
                .zip(trainer.weights())
                .for_each(|(u, &x)| *u = f64::from(x) / r);
            queue.commit(r);
        }
        let logged = if b.paper_logs {
            next_log.next_if_eq(&done).is_some()
        } else {
            done % b.schedule.log_every == 0
        };
        let estimate = queue.is_full() && done % b.entropy.log_every == 0;
        let in_window = window.batch_of(done).is_some();
        let measure = done % b.entropy.log_every == 0
            || (in_window && done % b.measure_every == 0)
            || (b.paper_logs && logged);
        if !(logged || estimate || measure) {
            continue;
        }
        let mut row = SeriesRow {
            point: p.point,
            replica: p.replica,
            iteration: done,
            loss: Some(log.loss),
            radius: Some(log.norm),
            entropy_unit: None,
            entropy: None,
            trace_sigma: None,
            full_grad_sq: None,
        };
        // SPEC §7.3's order, as in the paper's code: the measurement's full-batch chunks
        // (training mode: they update the running BatchNorm statistics), the test set in
        // evaluation mode, then the fresh mini-batches (which update them too). The passes do
        // not depend on the running statistics, so they are computed first and folded in order.
        let mut later_passes = Vec::new();
        let measurement = if measure {
            let Some((m, bn)) = measure_at(shared, &net, trainer.weights(), log.norm, p, measured)?
            else {
                status = PointStatus::Diverged { iteration: done };
                break;
            };
            measured += 1;
            trainer.absorb_running_stats(&bn.chunks);
            later_passes = bn.batches;
            Some(m)
        } else {
            None
        };
        if estimate {
            let (units, radii) = queue.samples();
            let est = entropy::estimate(units, radii, dim, b.entropy.mode)?;
            row.entropy_unit = Some(est.entropy_unit);
            row.entropy = Some(est.entropy);
            estimates.push_back(est.entropy_unit);
            if estimates.len() > b.entropy.average_last {
                estimates.pop_front();
            }
            if let (Some(test), Some(stats)) = (shared.test, trainer.running_stats()) {
                tests.push_back(evaluate(&net, trainer.weights(), test, stats)?);
                if tests.len() > b.entropy.average_last {
                    tests.pop_front();
                }
            }
        }
        trainer.absorb_running_stats(&later_passes);
        if let Some(m) = measurement {
            row.loss = Some(m.full_loss);
            row.trace_sigma = Some(m.trace_sigma);
            row.full_grad_sq = Some(m.full_grad_sq);
            if let Some(k) = window.batch_of(done) {
                measurements.push((k, m));
            }
        }
        rows.push(row);
        if rows.len() >= SERIES_BUFFER {
            shared.observer.series(std::mem::take(&mut rows));
        }
    }
    if !rows.is_empty() {
        shared.observer.series(rows);
    }
    shared.advance(b.schedule.iterations - last_report);
    Ok(summarise(
        b,
        dim,
        p,
        &sums,
        window.batches(),
        &measurements,
        &estimates,
        &tests,
        status,
        iterations,
        started.elapsed().as_secs_f64(),
    ))
}

/// Loss and accuracy on `test` in evaluation mode with the running statistics `stats`.
fn evaluate(
    net: &Network<f32>,
    w: &[f32],
    test: &crate::data::Dataset,
    stats: &[BnStats],
) -> Result<TestEval, KernelError> {
    let all: Vec<usize> = (0..test.len()).collect();
    let (mut loss, mut correct) = (0.0, 0usize);
    for idx in all.chunks(TEST_CHUNK) {
        let (x, labels) = test.batch::<f32>(idx);
        let e = net.evaluate(w, &x, &labels, stats).map_err(net_error)?;
        loss += e.loss * idx.len() as f64;
        correct += e.correct;
    }
    let n = test.len() as f64;
    Ok(TestEval {
        loss: loss / n,
        accuracy: correct as f64 / n,
    })
}

/// Gradient measurement number `k` at weights `w`, with its passes' BatchNorm statistics; `None`
/// when the network's loss or gradient is no longer finite there. SPEC §7.3 rescales to the unit
/// sphere by the queue's mean radius r̄; this uses ‖w‖ of the measured point itself, which by scale invariance gives tr Σ and ‖∇L‖²
/// at w/‖w‖ exactly (the two differ by the radius fluctuation, well under 1 %), and needs no full
/// queue. On the fixed sphere ‖w‖ is the nominal r up to rounding. `r` is ‖w‖ (the step's).
fn measure_at(
    shared: &NetworkRun<'_>,
    net: &Network<f32>,
    w: &[f32],
    r: f64,
    p: &ChainPoint,
    k: u64,
) -> Result<Option<(Measurement, BnRecord)>, KernelError> {
    let b = shared.batch;
    let sampler = BatchSampler::new(p.seed, shared.data.len(), b.batch_size);
    let m = b.grad_samples as u64;
    // The passes' BatchNorm statistics come with the measurement; they only matter (and are
    // only folded in) when the trainer keeps running statistics for a test set.
    let measured = gradient_statistics_recording(
        net,
        shared.data,
        w,
        crate::train::measure::FULL_BATCH_CHUNK,
        &sampler,
        MEASURE_BASE + k * m,
        b.grad_samples,
    );
    let (stats, bn) = match measured {
        Ok(s) => s,
        Err(TrainError::NonFinite { .. }) => return Ok(None),
        Err(TrainError::Net(e)) => return Err(net_error(e)),
    };
    let measurement = Measurement {
        full_loss: stats.full_loss,
        trace_sigma: stats.trace_sigma(r),
        full_grad_sq: stats.full_grad_norm * stats.full_grad_norm * r * r,
    };
    Ok(Some((measurement, bn)))
}
