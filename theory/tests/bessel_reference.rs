//! Bessel and VMF values against 40-digit mpmath references (tests/data/reference.json, written by
//! tests/data/gen_reference.py from the integral representation, independent of the Debye
//! expansion and recurrence used in the crate), d = 2 … 10⁶, κ = 1e-3 … 1e8.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Worst, load_json, log_err, num, rel_err};
use sweep_theory::VmfStats;
use sweep_theory::bessel::{bessel_ratio, log_bessel_i, one_minus_bessel_ratio};

const REFERENCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/reference.json");

/// Required: 1e-9 relative. The measured worst cases are far below (printed with --nocapture);
/// the bound leaves room for platform libm differences.
const TOL: f64 = 1e-9;

#[test]
fn bessel_and_vmf_match_mpmath() {
    let data = load_json(REFERENCE);
    let points = data["points"].as_array().unwrap();
    assert!(
        points.len() >= 150,
        "reference grid too small: {}",
        points.len()
    );
    let names = [
        "log_i",
        "ratio",
        "one_minus_ratio",
        "log_c",
        "entropy",
        "heat_capacity",
        "grad_sq_m2",
    ];
    let mut worst: Vec<Worst> = names.iter().map(|_| Worst::default()).collect();
    for p in points {
        let d = p["d"].as_u64().unwrap() as usize;
        let kappa: f64 = p["kappa"].as_str().unwrap().parse().unwrap();
        let nu = 0.5 * d as f64 - 1.0;
        let vmf = VmfStats::new(d, kappa).unwrap();
        let got = [
            log_bessel_i(nu, kappa),
            bessel_ratio(nu, kappa),
            one_minus_bessel_ratio(nu, kappa),
            vmf.log_c,
            vmf.entropy,
            vmf.heat_capacity,
            vmf.grad_sq_second_moment(),
        ];
        for (i, name) in names.iter().enumerate() {
            let want = num(p, name);
            // Logarithmic quantities cross zero: judge them relative to max(|value|, 1).
            let err = if matches!(*name, "log_i" | "log_c" | "entropy") {
                log_err(got[i], want)
            } else {
                rel_err(got[i], want)
            };
            worst[i].update(err, || {
                format!("d={d} kappa={kappa}: got {} want {want}", got[i])
            });
        }
    }
    for (name, w) in names.iter().zip(&worst) {
        eprintln!("worst {name}: {:.2e} at {}", w.err, w.at);
    }
    for (name, w) in names.iter().zip(&worst) {
        assert!(w.err <= TOL, "{name}: error {:.3e} at {}", w.err, w.at);
    }
}

#[test]
fn reference_covers_the_required_extremes() {
    let data = load_json(REFERENCE);
    let points = data["points"].as_array().unwrap();
    for kappa in ["1e-3", "1", "1e3", "1e5", "1e8"] {
        for d in [100_000u64, 1_000_000] {
            assert!(
                points
                    .iter()
                    .any(|p| p["d"].as_u64() == Some(d) && p["kappa"].as_str() == Some(kappa)),
                "missing d={d} kappa={kappa}"
            );
        }
    }
}
