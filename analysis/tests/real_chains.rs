//! End to end on real chains: the isotropic kernel (SGD with Philox noise and the spherical
//! Kozachenko–Leonenko estimator) runs a small grid per protocol, its summaries become result
//! rows the way an agent would write them, and every applicable check must pass with the
//! default tolerances — the tolerances are calibrated on the estimators' real errors, not only
//! on noise-free closed forms.
#![allow(clippy::unwrap_used)]

use sweep_analysis::{AnalysisOptions, analyse};
use sweep_kernels::entropy::EstimatorMode;
use sweep_kernels::isotropic::{
    ChainPoint, EntropySchedule, IsotropicBatch, IsotropicModel, Schedule, run_isotropic,
};
use sweep_kernels::observer::BatchObserver;
use sweep_kernels::summary::PointSummary;
use sweep_results::{ResultRow, Status};
use sweep_theory::Protocol;

struct Quiet;

impl BatchObserver for Quiet {}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn row(protocol: Protocol, dim: usize, p: &ChainPoint, s: &PointSummary) -> ResultRow {
    let (lr, elr, wd, radius) = match protocol {
        Protocol::FixedLr => (Some(p.first), None, Some(p.second), None),
        Protocol::FixedElr => (None, Some(p.first), Some(p.second), None),
        Protocol::FixedSphere => (None, Some(p.first), None, Some(p.second)),
    };
    ResultRow {
        sweep: "real".to_owned(),
        point: s.point,
        replica: s.replica,
        seed: s.seed,
        workload: "isotropic".to_owned(),
        protocol: protocol.as_str().to_owned(),
        dim: dim as u64,
        lr,
        elr,
        wd,
        radius,
        iterations: s.iterations,
        loss_mean: finite(s.loss_mean),
        radius_mean: finite(s.radius_mean),
        entropy_unit: finite(s.entropy_unit),
        entropy: finite(s.entropy),
        sigma2: finite(s.sigma2),
        trace_sigma: finite(s.trace_sigma),
        full_grad_sq: finite(s.full_grad_sq),
        temperature: finite(s.temperature),
        pressure: finite(s.pressure),
        volume: finite(s.volume),
        wd_eff: finite(s.wd_eff),
        status: s.status.as_str().parse::<Status>().unwrap(),
        error: s.status.error(),
        backend: "cpu".to_owned(),
        agent: "test".to_owned(),
        attempt: 1,
        wall_seconds: s.wall_seconds,
        loss_sem: finite(s.loss_sem),
        radius_sem: finite(s.radius_sem),
        entropy_unit_sem: finite(s.entropy_unit_sem),
        wd_eff_sem: finite(s.wd_eff_sem),
        wd_eff_linear: finite(s.wd_eff_linear),
        trace_sigma_sem: None,
        full_grad_sq_sem: None,
        test_loss: None,
        test_accuracy: None,
        adiabat: None,
    }
}

#[test]
fn real_isotropic_chains_pass_every_check() {
    let iterations = 600_000;
    // d = 3 only. At d = 10 (tried with this schedule) the lowest-temperature fixed-LR point
    // (κ ≈ 850) misses exact S_unit by 0.25 nats, beyond the 0.1-nat allowance measured for
    // independent samples at κ ≤ 250 (SPEC §16.1); its queue takes a sample every 200 steps,
    // about half its angular relaxation time, so correlated samples are the likely cause. That
    // is a limit of the schedule, not something a tolerance should hide.
    let dim = 3;
    for protocol in Protocol::ALL {
        let firsts = [0.005, 0.01, 0.02];
        let seconds: [f64; 3] = match protocol {
            Protocol::FixedSphere => [0.5, 1.0, 2.0],
            _ => [0.005, 0.01, 0.02],
        };
        let hyper: Vec<(f64, f64)> = firsts
            .iter()
            .flat_map(|&f| seconds.iter().map(move |&s| (f, s)))
            .collect();
        let points = ChainPoint::for_sweep(42, &hyper, 1);
        let batch = IsotropicBatch {
            model: IsotropicModel {
                dim,
                sigma2: 1.0,
                target_seed: 44,
            },
            protocol,
            init_radius: 1.0,
            sweep_seed: 42,
            schedule: Schedule {
                iterations,
                log_every: 1_000,
                average_last: iterations / 2,
            },
            entropy: Some(EntropySchedule {
                queue: 1000,
                every: 200,
                log_every: iterations / 40,
                average_last: 10,
                mode: EstimatorMode::Reflected,
            }),
            points,
        };
        let summaries = run_isotropic(&batch, &Quiet).unwrap();
        let rows: Vec<ResultRow> = batch
            .points
            .iter()
            .zip(&summaries)
            .map(|(p, s)| row(protocol, dim, p, s))
            .collect();
        let v = analyse(&rows, &AnalysisOptions::default()).unwrap();
        let report: Vec<String> = v
            .checks
            .iter()
            .map(|c| {
                format!(
                    "{} {:.3e} / {:.3e} {:?} {}",
                    c.id, c.value, c.tolerance, c.interval, c.detail
                )
            })
            .collect();
        assert!(
            v.all_passed(),
            "{protocol}:\n{}\n{:?}",
            report.join("\n"),
            v.skipped
        );
        eprintln!("{protocol} d={dim}:\n{}", report.join("\n"));
    }
}
