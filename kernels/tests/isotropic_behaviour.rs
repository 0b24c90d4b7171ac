//! Behaviour of a batch beyond its numbers: bitwise determinism whatever the threads, grouping and
//! instruction set; divergence isolated to its chain; progress, series and cancellation; bad
//! requests rejected with the field named.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use sweep_kernels::entropy::EstimatorMode;
use sweep_kernels::isotropic::group::{LaneSums, Variant, advance_variant};
use sweep_kernels::isotropic::{
    ChainGroup, ChainPoint, EntropySchedule, IsotropicBatch, IsotropicModel, LANES, LaneHyper,
    PhiloxNoise, Schedule, run_isotropic,
};
use sweep_kernels::observer::{BatchObserver, NoObserver, Progress, SeriesRow};
use sweep_kernels::rng::{Stream, point_seed, unit_vector};
use sweep_kernels::{KernelError, PointStatus, PointSummary};
use sweep_theory::Protocol;

fn batch(protocol: Protocol, dim: usize, points: &[(f64, f64)]) -> IsotropicBatch {
    IsotropicBatch {
        model: IsotropicModel {
            dim,
            sigma2: 1.0,
            target_seed: 44,
        },
        protocol,
        init_radius: 1.0,
        sweep_seed: 42,
        schedule: Schedule {
            iterations: 20_000,
            log_every: 1_000,
            average_last: 10_000,
        },
        entropy: Some(EntropySchedule {
            queue: 100,
            every: 50,
            log_every: 2_000,
            average_last: 5,
            mode: EstimatorMode::Reflected,
        }),
        points: ChainPoint::for_sweep(42, points, 1),
    }
}

fn grid() -> Vec<(f64, f64)> {
    (0..11)
        .map(|i| (0.002 * (1.0 + i as f64), 0.01 / (1.0 + i as f64)))
        .collect()
}

fn bits(s: &PointSummary) -> Vec<u64> {
    [
        s.loss_mean,
        s.radius_mean,
        s.entropy_unit,
        s.entropy,
        s.trace_sigma,
        s.full_grad_sq,
        s.radius_sq_mean,
    ]
    .iter()
    .map(|x| x.to_bits())
    .collect()
}

#[test]
fn results_are_bitwise_identical_across_threads_and_groupings() {
    let b = batch(Protocol::FixedLr, 7, &grid());
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("pool");
    let a = one
        .install(|| run_isotropic(&b, &NoObserver))
        .expect("runs");
    let c = two
        .install(|| run_isotropic(&b, &NoObserver))
        .expect("runs");
    // The same points in reverse order land in other groups and lanes.
    let mut reversed = b.clone();
    reversed.points.reverse();
    let r = two
        .install(|| run_isotropic(&reversed, &NoObserver))
        .expect("runs");
    // A retried single point.
    let mut single = b.clone();
    single.points = vec![b.points[5]];
    let s = run_isotropic(&single, &NoObserver).expect("runs");
    for x in &a {
        let y = c.iter().find(|y| y.point == x.point).expect("point");
        let z = r.iter().find(|z| z.point == x.point).expect("point");
        assert_eq!(
            bits(x),
            bits(y),
            "point {} differs between 1 and 2 threads",
            x.point
        );
        assert_eq!(bits(x), bits(z), "point {} differs when regrouped", x.point);
        assert!(x.loss_mean.is_finite() && x.entropy.is_finite());
    }
    assert_eq!(
        bits(&s[0]),
        bits(a.iter().find(|x| x.point == 5).expect("point 5"))
    );
}

/// Every compiled variant of the chain loop this CPU runs (AVX-512, AVX2+FMA, portable) gives the
/// same bits: weights and the stationary-window sums, for each protocol, in dimensions that take
/// the one-block, two-block and mixed noise paths and a ragged last block.
#[test]
fn vector_and_portable_paths_agree_bitwise() {
    fn sums_bits(s: &LaneSums) -> Vec<u64> {
        [
            s.loss,
            s.radius,
            s.radius_sq,
            s.grad_sq,
            s.noise_trace,
            s.pre_norm,
            s.pre_norm_sq,
        ]
        .iter()
        .flatten()
        .map(|x| x.to_bits())
        .chain([s.count])
        .collect()
    }
    let variants = [Variant::Avx512, Variant::Avx2, Variant::Portable];
    eprintln!(
        "variants run here: {:?}",
        variants
            .iter()
            .filter(|v| v.available())
            .collect::<Vec<_>>()
    );
    for protocol in [Protocol::FixedSphere, Protocol::FixedElr, Protocol::FixedLr] {
        for dim in [2, 3, 8, 13, 100] {
            let target = unit_vector(44, dim, Stream::Target).expect("target");
            let start: Vec<f64> = unit_vector(42, dim, Stream::InitialDirection).expect("start");
            let hyper: [LaneHyper; LANES] = std::array::from_fn(|i| LaneHyper {
                first: 0.01 * (1.0 + i as f64),
                second: 0.5 + 0.1 * i as f64,
            });
            let starts: [&[f64]; LANES] = std::array::from_fn(|_| start.as_slice());
            let seeds: [u64; LANES] = std::array::from_fn(|i| point_seed(1, i as u32, 0));
            let group = ChainGroup::new(protocol, 1.3, &target, starts, hyper);
            let mut results = Vec::new();
            for variant in variants {
                let mut g = group.clone();
                let mut sums = LaneSums::default();
                let mut noise = PhiloxNoise::new(seeds);
                if !advance_variant(variant, &mut g, 1, 300, &mut noise, None) {
                    continue;
                }
                assert!(advance_variant(
                    variant,
                    &mut g,
                    301,
                    200,
                    &mut noise,
                    Some(&mut sums)
                ));
                let weights: Vec<u64> = (0..LANES)
                    .flat_map(|lane| g.weights(lane))
                    .map(f64::to_bits)
                    .collect();
                results.push((variant, weights, sums_bits(&sums)));
            }
            let (v0, w0, s0) = &results[results.len() - 1];
            assert_eq!(*v0, Variant::Portable, "the portable path always runs");
            for (v, w, s) in &results {
                assert!(
                    w == w0,
                    "{protocol} d={dim}: weights of {v:?} differ from {v0:?}"
                );
                assert!(
                    s == s0,
                    "{protocol} d={dim}: sums of {v:?} differ from {v0:?}"
                );
            }
        }
    }
}

#[test]
fn a_diverging_chain_stops_alone() {
    // η = 50 with λ = 0.1: 1 − ηλ = −4, the radius explodes geometrically.
    let mut points = grid();
    points[3] = (50.0, 0.1);
    let mut b = batch(Protocol::FixedLr, 5, &points);
    b.schedule.iterations = 200_000;
    b.schedule.average_last = 100_000;
    let out = run_isotropic(&b, &NoObserver).expect("runs");
    for s in &out {
        if s.point == 3 {
            assert!(
                matches!(s.status, PointStatus::Diverged { .. }),
                "{:?}",
                s.status
            );
            assert_eq!(s.status.as_str(), "diverged");
            assert!(s.loss_mean.is_nan());
        } else {
            assert_eq!(s.status, PointStatus::Done);
            assert!(s.loss_mean.is_finite());
        }
    }
}

#[derive(Default)]
struct Recorder {
    rows: Mutex<Vec<SeriesRow>>,
    last: AtomicU64,
    total: AtomicU64,
    cancel_after: Option<u64>,
    cancelled: AtomicBool,
}

impl BatchObserver for Recorder {
    fn series(&self, rows: Vec<SeriesRow>) {
        self.rows.lock().expect("lock").extend(rows);
    }
    fn progress(&self, p: Progress) {
        self.last.fetch_max(p.steps_done, Ordering::Relaxed);
        self.total.store(p.steps_total, Ordering::Relaxed);
    }
    fn cancelled(&self) -> bool {
        let stop = self
            .cancel_after
            .is_some_and(|n| self.last.load(Ordering::Relaxed) >= n);
        self.cancelled.fetch_or(stop, Ordering::Relaxed);
        stop
    }
}

#[test]
fn series_and_progress_are_reported() {
    let b = batch(Protocol::FixedElr, 4, &grid()[..3]);
    let rec = Recorder::default();
    run_isotropic(&b, &rec).expect("runs");
    let rows = rec.rows.lock().expect("lock");
    assert_eq!(rec.last.load(Ordering::Relaxed), 3 * 20_000);
    assert_eq!(rec.total.load(Ordering::Relaxed), 3 * 20_000);
    for p in 0..3u32 {
        let mine: Vec<&SeriesRow> = rows.iter().filter(|r| r.point == p).collect();
        let logged: Vec<u64> = mine
            .iter()
            .filter(|r| r.loss.is_some())
            .map(|r| r.iteration)
            .collect();
        assert_eq!(logged, (1..=20).map(|k| k * 1_000).collect::<Vec<_>>());
        // Queue of 100 every 50 is full at 5 000; estimates every 2 000 from 6 000 on.
        let est: Vec<u64> = mine
            .iter()
            .filter(|r| r.entropy.is_some())
            .map(|r| r.iteration)
            .collect();
        assert_eq!(est, (3..=10).map(|k| k * 2_000).collect::<Vec<_>>());
        assert!(mine.iter().all(|r| r.radius.is_none_or(|x| x > 0.0)));
    }
}

#[test]
fn cancellation_stops_the_batch() {
    let mut b = batch(Protocol::FixedLr, 3, &grid());
    b.schedule.iterations = 50_000_000;
    b.schedule.average_last = 1_000;
    b.entropy = None;
    let rec = Recorder {
        cancel_after: Some(1_000_000),
        ..Recorder::default()
    };
    let err = run_isotropic(&b, &rec).expect_err("cancelled");
    assert!(matches!(err, KernelError::Cancelled));
    assert!(rec.last.load(Ordering::Relaxed) < 11 * 50_000_000 / 10);
}

#[test]
fn bad_requests_name_the_field() {
    let good = batch(Protocol::FixedLr, 3, &grid());
    type Mutation = Box<dyn Fn(&mut IsotropicBatch)>;
    let cases: Vec<(&str, Mutation)> = vec![
        ("workload.dim", Box::new(|b| b.model.dim = 1)),
        ("workload.sigma2", Box::new(|b| b.model.sigma2 = -1.0)),
        ("protocol.init_radius", Box::new(|b| b.init_radius = 0.0)),
        (
            "schedule.iterations",
            Box::new(|b| b.schedule.iterations = 0),
        ),
        ("schedule.log_every", Box::new(|b| b.schedule.log_every = 0)),
        (
            "schedule.average_last",
            Box::new(|b| b.schedule.average_last = 30_000),
        ),
        (
            "entropy.queue",
            Box::new(|b| b.entropy.as_mut().expect("entropy").queue = 1),
        ),
        (
            "entropy.average_last",
            Box::new(|b| b.entropy.as_mut().expect("entropy").average_last = 100),
        ),
        ("grid.lr", Box::new(|b| b.points[2].first = f64::NAN)),
        ("grid.wd", Box::new(|b| b.points[0].second = 0.0)),
    ];
    for (field, mutate) in cases {
        let mut b = good.clone();
        mutate(&mut b);
        match run_isotropic(&b, &NoObserver) {
            Err(KernelError::Invalid { field: f, rule }) => assert_eq!(f, field, "{rule}"),
            other => panic!("{field}: expected an Invalid error, got {other:?}"),
        }
    }
}
