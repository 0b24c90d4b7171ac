//! A network task as a sweep runs it (`sweep_nn::sweep::run_network`), checked against a second
//! implementation: the same point trained step by step with [`Trainer`] and measured with
//! [`gradient_statistics`] directly. Also: results independent of the thread count, every
//! protocol, the series schedule, divergence of one point leaving the others, and cancellation.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use sweep_kernels::entropy::EstimatorMode;
use sweep_kernels::isotropic::{ChainPoint, EntropySchedule, Schedule};
use sweep_kernels::observer::{BatchObserver, NoObserver, SeriesRow};
use sweep_kernels::{KernelError, PointStatus, PointSummary};
use sweep_nn::data::{BatchSampler, Dataset, Split};
use sweep_nn::sweep::{HEAD_SEED, NetworkBatch, run_network};
use sweep_nn::train::{Trainer, Update, gradient_statistics_recording, norm};
use sweep_nn::{Architecture, Network};
use sweep_theory::Protocol;

fn batch(protocol: Protocol, points: &[(f64, f64)]) -> NetworkBatch {
    NetworkBatch {
        arch: Architecture::ConvNet { c: 1 },
        batch_size: 4,
        head_norm: 10.0,
        init_seed: 1,
        grad_samples: 3,
        measure_every: 20,
        paper_logs: false,
        protocol,
        init_radius: 1.0,
        schedule: Schedule {
            iterations: 120,
            log_every: 10,
            average_last: 60,
        },
        entropy: EntropySchedule {
            queue: 8,
            every: 5,
            log_every: 30,
            average_last: 2,
            mode: EstimatorMode::Reflected,
        },
        points: points
            .iter()
            .enumerate()
            .map(|(i, &(first, second))| ChainPoint {
                point: i as u32,
                replica: 0,
                seed: 1000 + i as u64,
                first,
                second,
            })
            .collect(),
    }
}

fn data() -> Dataset {
    Dataset::synthetic(5, 6)
}

#[derive(Default)]
struct Collect(Mutex<Vec<SeriesRow>>);

impl BatchObserver for Collect {
    fn series(&self, rows: Vec<SeriesRow>) {
        self.0.lock().expect("lock").extend(rows);
    }
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool")
}

/// Every field but the wall time, bit for bit (`Debug` prints NaN as NaN, where `==` fails).
fn without_wall(mut s: Vec<PointSummary>) -> String {
    s.iter_mut().for_each(|p| p.wall_seconds = 0.0);
    format!("{s:?}")
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

#[test]
fn a_point_is_the_trainer_loop_with_its_measurements() {
    let data = data();
    for (protocol, hyper) in [
        (Protocol::FixedLr, (0.5, 0.05)),
        (Protocol::FixedElr, (0.005, 0.1)),
        (Protocol::FixedSphere, (0.05, 2.0)),
    ] {
        let b = batch(protocol, &[hyper]);
        let seen = Collect::default();
        let test = Dataset::synthetic_split(
            5,
            3,
            Split::Test,
            Some((data.mean.clone(), data.std.clone())),
        );
        let got = run_network(&b, &data, Some(&test), &seen)
            .expect("run")
            .remove(0);
        assert_eq!(got.status, PointStatus::Done, "{protocol:?}");
        let rows = seen.0.into_inner().expect("rows");

        // The second implementation: the same point, step by step.
        let p = b.points[0];
        let si_norm = if protocol == Protocol::FixedSphere {
            hyper.1
        } else {
            1.0
        };
        let (net, si) =
            Network::<f32>::initial(b.arch, 1, 10, 1, HEAD_SEED, si_norm, 10.0).expect("net");
        let sampler = BatchSampler::new(p.seed, data.len(), 4);
        let mut tr = Trainer::new(&net, &data, sampler, si).track_running_stats(0.1);
        let mut evals = Vec::new();
        let update = match protocol {
            Protocol::FixedLr => Update::FixedLr {
                lr: hyper.0,
                wd: hyper.1,
            },
            Protocol::FixedElr => Update::FixedElr {
                elr: hyper.0,
                wd: hyper.1,
            },
            Protocol::FixedSphere => Update::FixedSphere {
                elr: hyper.0,
                radius: hyper.1,
            },
        };
        let (mut r_sum, mut pre_sq) = (0.0, 0.0);
        let mut measured = 0u64;
        let mut traces = Vec::new();
        for t in 1..=120u64 {
            let log = tr.step(update).expect("step");
            if t > 60 {
                r_sum += log.norm;
                pre_sq += log.pre_norm * log.pre_norm;
            }
            if let Some(row) = rows.iter().find(|r| r.iteration == t) {
                assert_eq!(row.radius, Some(log.norm), "{protocol:?} radius at {t}");
            }
            // SPEC §7.3's order: the measurement's chunks update the running statistics, the
            // test set is evaluated, then the measurement's mini-batches update them.
            let mut later = Vec::new();
            if t % 30 == 0 || (t > 60 && t % 20 == 0) {
                let w = tr.weights().to_vec();
                let (s, bn) = gradient_statistics_recording(
                    &net,
                    &data,
                    &w,
                    1024,
                    &sampler,
                    (1 << 63) + measured * 3,
                    3,
                )
                .expect("stats");
                assert_eq!((bn.chunks.len(), bn.batches.len()), (1, 3));
                tr.absorb_running_stats(&bn.chunks);
                later = bn.batches;
                measured += 1;
                let trace = s.trace_sigma(norm(&w));
                let row = rows.iter().find(|r| r.iteration == t).expect("row");
                assert_eq!(row.trace_sigma, Some(trace), "{protocol:?} tr Σ at {t}");
                assert_eq!(row.loss, Some(s.full_loss), "{protocol:?} full loss at {t}");
                if t > 60 {
                    traces.push(trace);
                }
            }
            if t == 90 || t == 120 {
                let (x, labels) = test.batch::<f32>(&(0..test.len()).collect::<Vec<_>>());
                let stats = tr.running_stats().expect("running statistics");
                evals.push(
                    net.evaluate(tr.weights(), &x, &labels, stats)
                        .expect("eval"),
                );
            }
            tr.absorb_running_stats(&later);
        }
        let r_bar = r_sum / 60.0;
        let test_loss = (evals[0].loss + evals[1].loss) / 2.0;
        let test_accuracy = (evals[0].correct + evals[1].correct) as f64 / 2.0 / 30.0;
        assert!(
            rel(got.test_loss, test_loss) < 1e-12,
            "{protocol:?} test loss"
        );
        assert!(
            rel(got.test_accuracy, test_accuracy) < 1e-12,
            "{protocol:?} test accuracy"
        );
        assert!(rel(got.radius_mean, r_bar) < 1e-12, "{protocol:?} r̄");
        let trace = traces.iter().sum::<f64>() / traces.len() as f64;
        assert!(rel(got.trace_sigma, trace) < 1e-12, "{protocol:?} tr Σ");
        let n = traces.len() as f64;
        let var = traces.iter().map(|x| (x - trace).powi(2)).sum::<f64>() / (n - 1.0);
        assert!(
            rel(got.trace_sigma_sem, (var / n).sqrt()) < 1e-9,
            "{protocol:?} se(tr Σ)"
        );
        assert!(rel(got.sigma2, trace / (net.dim() - 1) as f64) < 1e-12);
        let d = net.dim() as f64;
        assert!(rel(got.entropy, got.entropy_unit + (d - 1.0) * r_bar.ln()) < 1e-9);
        match protocol {
            Protocol::FixedSphere => {
                let (r, eta) = (hyper.1, hyper.0 * hyper.1 * hyper.1);
                let wd_eff = (pre_sq / 60.0 - r * r) / (2.0 * eta * r * r);
                assert!(rel(got.wd_eff, wd_eff) < 1e-9, "wd_eff");
                assert_eq!(got.pressure, got.wd_eff);
                assert!((got.radius_mean - r).abs() < 1e-5, "stays on the sphere");
                assert!(rel(got.temperature, 0.5 * hyper.0 * got.sigma2) < 1e-12);
            }
            Protocol::FixedElr => {
                assert_eq!(got.pressure, hyper.1);
                assert!(rel(got.volume, r_bar * r_bar / 2.0) < 1e-12);
                assert!(rel(got.temperature, 0.5 * hyper.0 * got.sigma2) < 1e-12);
            }
            Protocol::FixedLr => {
                let t = (hyper.0 * hyper.1 * got.sigma2 / (2.0 * (d - 1.0))).sqrt();
                assert!(rel(got.temperature, t) < 1e-12);
            }
        }
        // Entropy estimates at 60, 90, 120 (queue full from 40); the last two are kept.
        let estimated: Vec<u64> = rows
            .iter()
            .filter(|r| r.entropy_unit.is_some())
            .map(|r| r.iteration)
            .collect();
        assert_eq!(estimated, [60, 90, 120], "{protocol:?}");
        assert_eq!(got.entropy_estimates, 2);
        let mean_last = (rows[rows.len() - 1].entropy_unit.unwrap_or(f64::NAN)
            + rows
                .iter()
                .rev()
                .find(|r| r.iteration == 90)
                .and_then(|r| r.entropy_unit)
                .unwrap_or(f64::NAN))
            / 2.0;
        assert!(rel(got.entropy_unit, mean_last) < 1e-12);
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let data = data();
    let b = batch(Protocol::FixedLr, &[(0.5, 0.05), (0.2, 0.1), (1.0, 0.01)]);
    let one = pool(1)
        .install(|| run_network(&b, &data, None, &NoObserver))
        .expect("1 thread");
    let two = pool(2)
        .install(|| run_network(&b, &data, None, &NoObserver))
        .expect("2 threads");
    assert_eq!(without_wall(one), without_wall(two));
}

#[test]
fn a_diverging_point_is_marked_and_the_others_finish() {
    let data = data();
    // 1 − ηλ = −999: the norm grows a thousandfold per step and overflows f32 within a few steps.
    let b = batch(Protocol::FixedLr, &[(0.5, 0.05), (1e3, 1.0)]);
    let out = run_network(&b, &data, None, &NoObserver).expect("run");
    assert_eq!(out[0].status, PointStatus::Done);
    assert!(matches!(out[1].status, PointStatus::Diverged { iteration } if iteration < 20));
    assert!(out[1].radius_mean.is_nan() && out[1].trace_sigma.is_nan());
    assert!(out[0].radius_mean.is_finite() && out[0].trace_sigma > 0.0);
}

#[test]
fn cancellation_stops_the_run() {
    struct Cancel(AtomicBool);
    impl BatchObserver for Cancel {
        fn cancelled(&self) -> bool {
            self.0.load(Ordering::Relaxed)
        }
    }
    let b = batch(Protocol::FixedLr, &[(0.5, 0.05)]);
    let err =
        run_network(&b, &data(), None, &Cancel(AtomicBool::new(true))).expect_err("cancelled");
    assert!(matches!(err, KernelError::Cancelled));
}

#[test]
fn a_batch_the_runner_cannot_honour_is_refused_by_field() {
    let mut b = batch(Protocol::FixedLr, &[(0.5, 0.05)]);
    b.measure_every = 0;
    let err = run_network(&b, &data(), None, &NoObserver).expect_err("invalid");
    assert!(err.to_string().contains("measure_every"), "{err}");
}

#[test]
fn the_paper_log_schedule_is_spec_7_3s() {
    use sweep_nn::sweep::paper_log_iterations;
    let logs = paper_log_iterations(1_000_000);
    assert_eq!(logs.len(), 200);
    assert_eq!(logs.iter().filter(|&&t| t <= 10_000).count(), 50);
    assert_eq!(
        (logs[0], logs[48], logs[49], logs[199]),
        (200, 9_800, 10_000, 1_000_000)
    );
    assert!(logs.windows(2).all(|w| w[0] < w[1]));
    // Shorter runs keep what they reach: every 200 steps below 10⁴.
    assert_eq!(paper_log_iterations(1_000), [200, 400, 600, 800, 1_000]);

    // A run on it logs (and measures) exactly there, besides its estimates and window measurements.
    let data = data();
    let mut b = batch(Protocol::FixedLr, &[(0.5, 0.05)]);
    b.schedule.iterations = 1_000;
    b.schedule.average_last = 100;
    b.entropy.log_every = 500;
    b.measure_every = 50;
    b.paper_logs = true;
    let seen = Collect::default();
    run_network(&b, &data, None, &seen).expect("run");
    let rows = seen.0.into_inner().expect("rows");
    let at: Vec<u64> = rows.iter().map(|r| r.iteration).collect();
    assert_eq!(at, [200, 400, 500, 600, 800, 950, 1_000]);
    assert!(
        rows.iter().all(|r| r.trace_sigma.is_some()),
        "every log is measured"
    );
}
