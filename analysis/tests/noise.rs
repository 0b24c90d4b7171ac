//! Calibration of the default tolerances: perfect data plus Gaussian noise at exactly the
//! standard errors the rows declare must pass every check (the tolerances are 3-sigma bounds plus
//! known model allowances), and a law broken by more than the noise must still fail.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Level, geomspace, isotropic_grid};
use sweep_analysis::{AnalysisOptions, analyse};
use sweep_results::ResultRow;
use sweep_theory::Protocol;

/// SplitMix64 + Box–Muller, deterministic.
struct Noise(u64);

impl Noise {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (((z ^ (z >> 31)) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// Adds noise at the declared standard errors (entropy SEM raised to 0.02 nats, a realistic
/// chain value), keeping the rows self-consistent (S = S_unit + (d−1) ln r̄, V = r̄²/2).
fn noisy(rows: &mut [ResultRow], seed: u64) {
    let mut n = Noise(seed);
    for r in rows {
        let d = r.dim as f64;
        r.entropy_unit_sem = Some(0.02);
        let du = r.loss_sem.unwrap() * n.normal();
        let ds = 0.02 * n.normal();
        r.loss_mean = r.loss_mean.map(|u| u + du);
        r.entropy_unit = r.entropy_unit.map(|s| s + ds);
        if r.protocol == "fixed_sphere" {
            let dw = r.wd_eff_sem.unwrap() * n.normal();
            r.wd_eff = r.wd_eff.map(|w| w + dw);
            r.pressure = r.wd_eff;
            r.entropy = r.entropy.map(|s| s + ds);
        } else {
            let old = r.radius_mean.unwrap();
            let new = old + r.radius_sem.unwrap() * n.normal();
            r.radius_mean = Some(new);
            r.volume = Some(0.5 * new * new);
            r.entropy = r.entropy.map(|s| s + ds + (d - 1.0) * (new / old).ln());
        }
    }
}

#[test]
fn noise_at_the_declared_errors_passes() {
    for protocol in Protocol::ALL {
        for seed in 1..=3 {
            let (a, b) = match protocol {
                Protocol::FixedSphere => (geomspace(1e-3, 1e-1, 9), geomspace(0.1, 10.0, 5)),
                _ => (geomspace(1e-3, 1e-1, 9), geomspace(1e-3, 1e-1, 9)),
            };
            let mut rows = isotropic_grid(protocol, 3, &a, &b, Level::Discrete);
            noisy(&mut rows, seed);
            let v = analyse(
                &rows,
                &AnalysisOptions {
                    bootstrap: 0,
                    ..AnalysisOptions::default()
                },
            )
            .unwrap();
            let fails: Vec<String> = v
                .checks
                .iter()
                .filter(|c| !c.pass)
                .map(|c| {
                    format!(
                        "{} {:.3e} > {:.3e}: {}",
                        c.id, c.value, c.tolerance, c.detail
                    )
                })
                .collect();
            assert!(fails.is_empty(), "{protocol} seed {seed}: {fails:#?}");
        }
    }
}

#[test]
fn a_broken_maxwell_relation_is_still_seen_through_the_noise() {
    // Fixed ELR, d = 3 (R = 1): ∂S/∂ln λ made −1.2 R on noisy data.
    let a = geomspace(1e-3, 1e-1, 9);
    let mut rows = isotropic_grid(Protocol::FixedElr, 3, &a, &a, Level::Discrete);
    noisy(&mut rows, 7);
    for r in &mut rows {
        let shift = -0.2 * r.wd.unwrap().ln();
        r.entropy_unit = r.entropy_unit.map(|s| s + shift);
        r.entropy = r.entropy.map(|s| s + shift);
    }
    let v = analyse(&rows, &AnalysisOptions::default()).unwrap();
    let c = v.check("V3.maxwell").unwrap();
    assert!(!c.pass && !c.fails_inside_interval, "{c:?}");
}
