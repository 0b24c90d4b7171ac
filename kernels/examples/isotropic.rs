//! A small isotropic sweep against exact theory, the numerical core's demo until `sweepctl`
//! arrives: d = 3, σ² = 1, a 4×4 grid per protocol, printed as measured vs predicted.
//!
//! `cargo run --release -p sweep-kernels --example isotropic [-- --dim 10 --iterations 2000000]`

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};

use sweep_kernels::entropy::EstimatorMode;
use sweep_kernels::isotropic::{
    ChainPoint, EntropySchedule, IsotropicBatch, IsotropicModel, Schedule, run_isotropic,
};
use sweep_kernels::observer::{BatchObserver, Progress};
use sweep_theory::gas::gas_constant;
use sweep_theory::{Protocol, isotropic_prediction};

/// Prints a progress line, at most every 2 %.
struct ProgressLine {
    shown: AtomicU64,
    label: String,
}

impl BatchObserver for ProgressLine {
    fn progress(&self, p: Progress) {
        let pct = p.steps_done * 50 / p.steps_total.max(1);
        if self.shown.fetch_max(pct, Ordering::Relaxed) < pct {
            let end = if std::io::stderr().is_terminal() {
                "\r"
            } else {
                "\n"
            };
            eprint!("{}: {:3}%{end}", self.label, pct * 2);
            let _ = std::io::stderr().flush();
        }
    }
}

fn arg(name: &str, default: u64) -> Result<u64, String> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.replace('_', "").parse().ok())
            .ok_or_else(|| format!("{name} needs a positive integer")),
    }
}

fn main() -> Result<(), String> {
    let dim = arg("--dim", 3)? as usize;
    let iterations = arg("--iterations", 2_000_000)?;
    let grids = [
        (
            Protocol::FixedLr,
            [0.0025, 0.005, 0.01, 0.02],
            [0.0025, 0.005, 0.01, 0.02],
        ),
        (
            Protocol::FixedElr,
            [0.0025, 0.005, 0.01, 0.02],
            [0.0025, 0.005, 0.01, 0.02],
        ),
        (
            Protocol::FixedSphere,
            [0.0025, 0.005, 0.01, 0.02],
            [0.5, 1.0, 2.0, 4.0],
        ),
    ];
    let r_gas = gas_constant(dim);
    for (protocol, firsts, seconds) in grids {
        let (a, b) = protocol.axis_names();
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
        let observer = ProgressLine {
            shown: AtomicU64::new(0),
            label: protocol.to_string(),
        };
        let results = run_isotropic(&batch, &observer).map_err(|e| e.to_string())?;
        eprintln!();
        println!(
            "\n{protocol}, d = {dim}, {iterations} iterations (prediction: App. H radius, exact VMF at the discrete-time T)"
        );
        println!(
            "{a:>7} {b:>7} | {:>9} {:>9} | {:>9} {:>9} | {:>8} {:>8} | {:>7}",
            if protocol == Protocol::FixedSphere {
                "wd_eff"
            } else {
                "r"
            },
            "predicted",
            "U",
            "exact",
            "S",
            "theory",
            "PV/RT"
        );
        for (s, p) in results.iter().zip(&batch.points) {
            let pred = isotropic_prediction(protocol, dim, 1.0, p.first, p.second)
                .map_err(|e| e.to_string())?;
            let (measured, predicted, radius) = match protocol {
                Protocol::FixedSphere => (s.wd_eff, pred.app_h.pressure, p.second),
                _ => (s.radius_mean, pred.app_h.radius, pred.exact.radius),
            };
            let s_theory = pred.vmf_disc.entropy + (dim as f64 - 1.0) * radius.ln();
            println!(
                "{:>7.4} {:>7.4} | {:>9.5} {:>9.5} | {:>9.6} {:>9.6} | {:>8.3} {:>8.3} | {:>7.4}",
                p.first,
                p.second,
                measured,
                predicted,
                s.loss_mean,
                pred.vmf_disc.energy,
                s.entropy,
                s_theory,
                s.pressure * s.volume / (r_gas * s.temperature)
            );
        }
    }
    Ok(())
}
