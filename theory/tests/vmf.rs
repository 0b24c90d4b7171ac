//! VMF statistics: against the SciPy golden vectors (testdata/golden.json), against the
//! low-temperature series of SPEC Eq. 107–109 and the d = 3 closed forms, and internal
//! consistency (C_V = dU/dT, the first law dS = dU/T, inverse round trips, E(1 − c²)² by
//! quadrature).
#![allow(clippy::unwrap_used)]

mod common;

use common::{load_json, num, rel_err};
use sweep_theory::vmf::{energy_asymptotic, entropy_asymptotic};
use sweep_theory::{TheoryError, VmfStats, kappa_from_mean_cos, temperature_from_energy};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/golden.json");

#[test]
fn golden_scipy_values() {
    let golden = load_json(GOLDEN);
    let rows = golden["vmf"].as_array().unwrap();
    assert_eq!(rows.len(), 12);
    let mut worst = 0.0f64;
    for row in rows {
        let d = row["d"].as_u64().unwrap() as usize;
        let kappa = num(row, "kappa");
        let v = VmfStats::new(d, kappa).unwrap();
        let a = num(row, "A");
        // The golden's own Cv at κ = 1e4 carries ~3e-8 absolute float64 cancellation error
        // (SPEC §16.11): relative 1e-7 there, 1e-9 everywhere else.
        let cv_tol = if kappa >= 1e4 { 1e-7 } else { 1e-9 };
        let checks = [
            ("A", v.mean_cos, a, 1e-9),
            ("U", v.energy, 1.0 + num(row, "U"), 1e-9), // golden loss is −⟨u,w*⟩
            ("logC", v.log_c, num(row, "logC"), 1e-9),
            ("entropy", v.entropy, num(row, "entropy"), 1e-9),
            ("Cv", v.heat_capacity, num(row, "Cv"), cv_tol),
            ("E_grad2", v.grad_sq, num(row, "E_grad2"), 1e-9),
            (
                "kappa_from_A",
                kappa_from_mean_cos(d, a).unwrap(),
                num(row, "kappa_from_A"),
                1e-9,
            ),
            (
                "S_asym",
                entropy_asymptotic(d, 1.0 / kappa),
                num(row, "S_asym"),
                1e-12,
            ),
            (
                "U_asym",
                energy_asymptotic(d, 1.0 / kappa) - 1.0,
                num(row, "U_asym"),
                1e-12,
            ),
        ];
        for (name, got, want, tol) in checks {
            let err = rel_err(got, want);
            if (name != "Cv" || kappa < 1e4) && err > worst {
                worst = err;
                eprintln!("golden: new worst {err:.2e} for {name} at d={d} kappa={kappa}");
            }
            assert!(
                err <= tol,
                "d={d} kappa={kappa} {name}: {got} vs {want} ({err:.2e})"
            );
        }
    }
    eprintln!("worst golden relative error (Cv at kappa=1e4 excluded): {worst:.2e}");
}

/// SPEC Eq. 107–109 with their second-order terms; the remainders are O(d³/κ³), O(d³T³),
/// O(d³T²): asserted with a constant 1 (generous; the true constants are < 1/4).
#[test]
fn low_temperature_series() {
    for &d in &[3usize, 4, 10, 100] {
        let df = d as f64;
        for &t in &[1e-3 / df, 1e-4 / df, 1e-6] {
            let v = VmfStats::at_temperature(d, t).unwrap();
            let u = (df - 1.0) * t / 2.0 - (df - 1.0) * (df - 3.0) * t * t / 8.0;
            let s = entropy_asymptotic(d, t) - (df - 1.0) * (df - 3.0) * t / 4.0;
            let d3 = df.powi(3);
            assert!((v.energy - u).abs() <= d3 * t.powi(3), "d={d} T={t}");
            assert!(
                (v.mean_cos - (1.0 - u)).abs() <= d3 * t.powi(3) + 2.3e-16,
                "d={d} T={t}"
            );
            assert!(
                (v.entropy - s).abs() <= d3 * t * t + 1e-12 * s.abs(),
                "d={d} T={t}"
            );
            assert!(((v.heat_capacity - (df - 1.0) / 2.0) / df).abs() <= 2.0 * df * t);
        }
    }
    // Huge κ: C_V → (d−1)/2 with no cancellation noise.
    let v = VmfStats::new(10, 1e12).unwrap();
    assert!(rel_err(v.heat_capacity, 4.5) < 1e-11, "{}", v.heat_capacity);
}

/// d = 3: A = coth κ − 1/κ, S = log(4π sinh κ/κ) − κ coth κ + 1, C_V = 1 − κ²/sinh²κ.
#[test]
fn d3_closed_forms() {
    for &kappa in &[0.5, 1.0, 2.0, 10.0, 50.0, 300.0] {
        let v = VmfStats::new(3, kappa).unwrap();
        let coth = 1.0 / kappa.tanh();
        let s = (4.0 * std::f64::consts::PI * kappa.sinh() / kappa).ln() - kappa * coth + 1.0;
        assert!(
            rel_err(v.mean_cos, coth - 1.0 / kappa) < 1e-13,
            "kappa={kappa}"
        );
        assert!(
            (v.entropy - s).abs() < 1e-12 * s.abs().max(1.0),
            "kappa={kappa}"
        );
        let cv = 1.0 - (kappa / kappa.sinh()).powi(2);
        assert!(rel_err(v.heat_capacity, cv) < 1e-12, "kappa={kappa}");
    }
}

/// Five-point central differences in ln T (step 1e-3: truncation ~1e-12·f⁽⁵⁾, rounding
/// ~1e-13 relative): C_V = T dU/d ln T / T… i.e. dU/dlnT = T C_V, and the first law
/// dS_unit/dlnT = dU/dT = C_V. Tolerance 1e-8 relative.
#[test]
fn heat_capacity_and_first_law_by_finite_differences() {
    let h = 1e-3;
    for &d in &[2usize, 3, 10, 41, 1000, 100_000] {
        for &kappa in &[1e-2, 0.7, 5.0, 60.0, 2e3, 3e5, 1e8] {
            let t = 1.0 / kappa;
            let at = |k: f64| VmfStats::at_temperature(d, t * (k * h).exp()).unwrap();
            let (m2, m1, p1, p2) = (at(-2.0), at(-1.0), at(1.0), at(2.0));
            let deriv = |f: fn(&VmfStats) -> f64| {
                (f(&m2) - 8.0 * f(&m1) + 8.0 * f(&p1) - f(&p2)) / (12.0 * h)
            };
            let v = VmfStats::at_temperature(d, t).unwrap();
            let du = deriv(|s| s.energy) / t;
            let ds = deriv(|s| s.entropy);
            // Scale: |U| and |S| set the rounding floor of the differences.
            let floor_u = 1e-12 * v.energy / (h * t);
            let floor_s = 1e-14 * v.entropy.abs() / h;
            assert!(
                (du - v.heat_capacity).abs() <= 1e-8 * v.heat_capacity + floor_u,
                "d={d} kappa={kappa}: dU/dT {du} vs C_V {}",
                v.heat_capacity
            );
            assert!(
                (ds - v.heat_capacity).abs() <= 1e-8 * v.heat_capacity + floor_s,
                "d={d} kappa={kappa}: dS/dlnT {ds} vs C_V {}",
                v.heat_capacity
            );
        }
    }
}

/// κ → A → κ and T → U → T over the full range. The condition numbers are O(1), except that
/// A itself, as a double near 1, carries an absolute rounding error of 1.1e-16, i.e. a relative
/// error 1.1e-16/(1 − A) in 1 − A, hence in κ; likewise U near 1 passes 1.1e-16/A on to T.
/// Both input roundings (a few ulps: A and U are themselves computed) are allowed for.
#[test]
fn inverses_round_trip() {
    let mut worst = 0.0f64;
    for &d in &[2usize, 3, 7, 10, 40, 41, 1000, 100_000, 1_000_000] {
        for &kappa in &[1e-3, 0.3, 1.0, 7.0, 100.0, 1e3, 1e5, 1e7, 1e8] {
            let v = VmfStats::new(d, kappa).unwrap();
            let k = kappa_from_mean_cos(d, v.mean_cos).unwrap();
            let t = temperature_from_energy(d, v.energy).unwrap();
            let (e1, e2) = (rel_err(k, kappa), rel_err(t * kappa, 1.0));
            if v.energy.min(v.mean_cos) > 1e-3 {
                worst = worst.max(e1).max(e2);
            }
            assert!(e1 < 1e-10 + 1e-15 / v.energy, "d={d} kappa={kappa}: {k}");
            assert!(e2 < 1e-10 + 1e-15 / v.mean_cos, "d={d} kappa={kappa}: {t}");
        }
    }
    eprintln!("worst inverse round trip (where U, A > 1e-3): {worst:.2e}");
}

/// E(1 − c²)² against Simpson quadrature of the d = 3 marginal (density ∝ e^{κc} on [−1, 1])
/// and against the uniform-sphere limit (d²−1)/(d(d+2)) at tiny κ.
#[test]
fn grad_sq_second_moment_by_quadrature() {
    for &kappa in &[0.2, 1.0, 4.0, 25.0] {
        let n = 20_000;
        let (mut z, mut m) = (0.0, 0.0);
        for i in 0..=n {
            let c = -1.0 + 2.0 * i as f64 / n as f64;
            let w = if i == 0 || i == n {
                1.0
            } else if i % 2 == 1 {
                4.0
            } else {
                2.0
            };
            let f = w * (kappa * (c - 1.0)).exp();
            z += f;
            m += f * (1.0 - c * c).powi(2);
        }
        let v = VmfStats::new(3, kappa).unwrap();
        assert!(
            rel_err(v.grad_sq_second_moment(), m / z) < 1e-10,
            "kappa={kappa}"
        );
    }
    for &d in &[2usize, 5, 1000] {
        let df = d as f64;
        let v = VmfStats::new(d, 1e-7).unwrap();
        let want = (df * df - 1.0) / (df * (df + 2.0));
        assert!(rel_err(v.grad_sq_second_moment(), want) < 1e-9, "d={d}");
    }
}

#[test]
fn bad_input_is_a_typed_error() {
    assert_eq!(VmfStats::new(1, 1.0), Err(TheoryError::Dimension(1)));
    assert!(matches!(
        VmfStats::new(3, 0.0),
        Err(TheoryError::NotPositive { name: "kappa", .. })
    ));
    assert!(VmfStats::new(3, f64::INFINITY).is_err());
    assert!(VmfStats::at_temperature(3, -1.0).is_err());
    assert!(matches!(
        kappa_from_mean_cos(3, 1.0),
        Err(TheoryError::OutOfRange { .. })
    ));
    assert!(temperature_from_energy(3, 0.0).is_err());
    assert!(temperature_from_energy(3, 1.0).is_err());
    assert!(temperature_from_energy(0, 0.5).is_err());
}
