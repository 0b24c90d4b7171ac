//! From a leased task to kernel work and back: the spec and the task's points become an
//! [`IsotropicBatch`] or a network batch ([`crate::network`]; seeds from DESIGN §4's derivation),
//! and each [`PointSummary`] becomes the wire row the coordinator stores. `sweepctl`'s tests call the same functions to check that a
//! sweep's results are bitwise those of a direct kernel call.

use sweep_kernels::PointSummary;
use sweep_kernels::entropy::EstimatorMode;
use sweep_kernels::isotropic::{
    ChainPoint, EntropySchedule, IsotropicBatch, IsotropicModel, Schedule,
};
use sweep_kernels::rng::point_seed;
use sweep_proto::v1;
use sweep_spec::{Estimator, SweepSpec, Workload};

/// The entropy module's name for the spec's estimator.
pub fn estimator_mode(e: Estimator) -> EstimatorMode {
    match e {
        Estimator::Reflected => EstimatorMode::Reflected,
        Estimator::Raw => EstimatorMode::Raw,
    }
}

/// The batch of chains that runs a task's points under `spec`; `None` when the spec's workload
/// is not the isotropic model.
pub fn isotropic_batch(spec: &SweepSpec, points: &[v1::PointAssignment]) -> Option<IsotropicBatch> {
    let Workload::Isotropic {
        dim,
        sigma2,
        target_seed,
    } = spec.workload
    else {
        return None;
    };
    Some(IsotropicBatch {
        model: IsotropicModel {
            dim,
            sigma2,
            target_seed,
        },
        protocol: spec.protocol,
        init_radius: spec.init_radius,
        sweep_seed: spec.seed,
        schedule: schedule(spec),
        entropy: Some(entropy_schedule(spec)),
        points: chain_points(spec, points),
    })
}

/// The kernels' schedule of `spec`.
pub fn schedule(spec: &SweepSpec) -> Schedule {
    Schedule {
        iterations: spec.schedule.iterations,
        log_every: spec.schedule.log_every,
        average_last: spec.schedule.average_last,
    }
}

/// The kernels' entropy schedule of `spec`.
pub fn entropy_schedule(spec: &SweepSpec) -> EntropySchedule {
    EntropySchedule {
        queue: spec.entropy.queue,
        every: spec.entropy.every,
        log_every: spec.entropy.log_every,
        average_last: spec.entropy.average_last,
        mode: estimator_mode(spec.entropy.estimator),
    }
}

/// A task's points as chains, with their seeds derived from the sweep seed (DESIGN §4).
pub fn chain_points(spec: &SweepSpec, points: &[v1::PointAssignment]) -> Vec<ChainPoint> {
    points
        .iter()
        .map(|p| ChainPoint {
            point: p.point,
            replica: p.replica,
            seed: point_seed(spec.seed, p.point, p.replica),
            first: p.first,
            second: p.second,
        })
        .collect()
}

fn measured(x: f64) -> Option<f64> {
    (!x.is_nan()).then_some(x)
}

/// A kernel summary as the wire row (NaN, "not measured", becomes absent: a Parquet null).
pub fn point_result(s: &PointSummary, backend: &str) -> v1::PointResult {
    v1::PointResult {
        point: s.point,
        replica: s.replica,
        seed: s.seed,
        iterations: s.iterations,
        loss_mean: measured(s.loss_mean),
        radius_mean: measured(s.radius_mean),
        entropy_unit: measured(s.entropy_unit),
        entropy: measured(s.entropy),
        sigma2: measured(s.sigma2),
        trace_sigma: measured(s.trace_sigma),
        full_grad_sq: measured(s.full_grad_sq),
        temperature: measured(s.temperature),
        pressure: measured(s.pressure),
        volume: measured(s.volume),
        wd_eff: measured(s.wd_eff),
        status: s.status.as_str().to_owned(),
        error: s.status.error(),
        backend: backend.to_owned(),
        wall_seconds: s.wall_seconds,
        loss_sem: measured(s.loss_sem),
        radius_sem: measured(s.radius_sem),
        entropy_unit_sem: measured(s.entropy_unit_sem),
        wd_eff_sem: measured(s.wd_eff_sem),
        wd_eff_linear: measured(s.wd_eff_linear),
        trace_sigma_sem: measured(s.trace_sigma_sem),
        full_grad_sq_sem: measured(s.full_grad_sq_sem),
        test_loss: measured(s.test_loss),
        test_accuracy: measured(s.test_accuracy),
    }
}

/// A kernel series row on the wire.
pub fn series_sample(r: &sweep_kernels::observer::SeriesRow) -> v1::SeriesSample {
    v1::SeriesSample {
        point: r.point,
        replica: r.replica,
        iteration: r.iteration,
        loss: r.loss,
        radius: r.radius,
        entropy_unit: r.entropy_unit,
        entropy: r.entropy,
        trace_sigma: r.trace_sigma,
        full_grad_sq: r.full_grad_sq,
    }
}
