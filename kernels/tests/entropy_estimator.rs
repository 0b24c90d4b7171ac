//! The spherical KL estimator against exact entropies (oracles, not snapshots).
//!
//! * VMF samples drawn exactly (Wood's sampler) at d ∈ {3, 10}, κ ∈ {10, 100, 1000}, N = 2048,
//!   mean direction generic and at the coordinate pole: the reflected estimate, averaged over
//!   [`REPLICATES`] independent samples, must be within 0.12 nats of the exact entropy
//!   `sweep_theory::VmfStats::entropy`. An independent SciPy implementation (cKDTree, scipy's
//!   `vonmises_fisher`) measures the single-sample bias at d = 10, κ = 10 as −0.04 … −0.14
//!   (mean ≈ −0.09, sd ≈ 0.04), so a single sample would sit on the 0.12 edge; the average of 3
//!   has sd ≈ 0.02 and stays inside. Elsewhere the bias is −0.06 … +0.04.
//! * At d = 50 (m = 49) the KL estimator itself is far from its asymptotic regime at N = 2048:
//!   the same SciPy reference gives +5 … +8 nats of bias (reflected), +8 … +12 (raw). That is a
//!   property of the estimator (SPEC §6 quotes checks only up to d = 10), so d = 50 is reported and
//!   checked only for finiteness and for the reflection beating raw angles at the pole.
//! * Raw angles at the pole are biased upwards by +0.3 … +2 nats at d = 10 (SPEC §6), which this
//!   test must be able to see.
//! * A Gaussian in R⁵ with a known covariance: the flat KL estimate, averaged over 8 independent
//!   samples of N = 4000, within 0.06 nats of ½ ln((2πe)^m det Σ). SciPy over 40 replicates of
//!   this covariance: bias −0.042, single-sample sd 0.036, so the mean of 8 (sd 0.013) sits
//!   ≥ 1.4 sd inside the band; a single sample would not (|error| up to 0.13 seen).
//! * Scaling all radii by r shifts the total by exactly (d − 1)·ln r (to rounding).

mod entropy_common;

use std::cell::RefCell;

use entropy_common::Rng;
use sweep_kernels::entropy::{EntropyError, EstimatorMode, estimate, kozachenko_leonenko};
use sweep_kernels::vmf_sampler::sample_vmf;
use sweep_theory::VmfStats;

fn vmf(mu: &[f64], kappa: f64, n: usize, seed: u64) -> Vec<f64> {
    let rng = RefCell::new(Rng::new(seed));
    sample_vmf(mu, kappa, n, &mut || rng.borrow_mut().normal(), &mut || {
        rng.borrow_mut().uniform()
    })
    .expect("sample")
}

/// (reflected bias, raw bias) for one configuration.
fn biases(d: usize, kappa: f64, pole: bool, seed: u64) -> (f64, f64) {
    let n = 2048;
    let mu = if pole {
        let mut e1 = vec![0.0; d];
        e1[0] = 1.0;
        e1
    } else {
        Rng::new(seed ^ 0xABCD).unit_vector(d)
    };
    let u = vmf(&mu, kappa, n, seed);
    let radii = vec![1.0; n];
    let truth = VmfStats::new(d, kappa).expect("theory").entropy;
    let refl = estimate(&u, &radii, d, EstimatorMode::Reflected).expect("estimate");
    let raw = estimate(&u, &radii, d, EstimatorMode::Raw).expect("estimate");
    (refl.entropy_unit - truth, raw.entropy_unit - truth)
}

/// Independent samples averaged per configuration.
const REPLICATES: u64 = 3;

/// Mean (reflected, raw) bias over [`REPLICATES`] samples.
fn mean_biases(d: usize, kappa: f64, pole: bool, seed: u64) -> (f64, f64) {
    let (mut a, mut b) = (0.0, 0.0);
    for r in 0..REPLICATES {
        let (x, y) = biases(d, kappa, pole, seed * 100 + r);
        a += x;
        b += y;
    }
    (a / REPLICATES as f64, b / REPLICATES as f64)
}

#[test]
fn reflected_estimate_recovers_vmf_entropy() {
    let mut seed = 10;
    let mut worst: f64 = 0.0;
    println!("   d   kappa  where    reflected      raw   (mean bias over {REPLICATES} samples)");
    for &d in &[3, 10, 50] {
        for &kappa in &[10.0, 100.0, 1000.0] {
            for pole in [false, true] {
                seed += 1;
                let (refl, raw) = mean_biases(d, kappa, pole, seed);
                let place = if pole { "pole" } else { "generic" };
                println!("{d:4} {kappa:7} {place:8} {refl:+9.4} {raw:+9.4}");
                assert!(refl.is_finite() && raw.is_finite());
                if d <= 10 {
                    assert!(refl.abs() <= 0.12, "d={d} κ={kappa} {place}: bias {refl}");
                    worst = worst.max(refl.abs());
                } else if pole {
                    assert!(
                        refl < raw,
                        "d={d} κ={kappa}: reflection should help at the pole"
                    );
                }
            }
        }
    }
    println!("worst |reflected bias| for d <= 10: {worst:.4}");
}

#[test]
fn raw_angles_are_biased_at_the_pole() {
    // At d = 10, κ = 100 the pole puts θ₁ near 0 where raw angles are strongly distorted.
    let (refl, raw) = biases(10, 100.0, true, 77);
    println!("d=10 κ=100 pole: reflected {refl:+.4}, raw {raw:+.4}");
    assert!(raw > 0.25, "raw pole bias should be large, got {raw}");
    assert!(
        raw > refl.abs() + 0.2,
        "raw {raw} should be worse than reflected {refl}"
    );
}

#[test]
fn flat_estimator_recovers_gaussian_entropy() {
    let (n, m) = (4000, 5);
    let mut rng = Rng::new(31);
    // x = L z with a fixed lower-triangular L: det Σ = Π L_kk².
    let l = [
        [1.0, 0.0, 0.0, 0.0, 0.0],
        [0.3, 1.5, 0.0, 0.0, 0.0],
        [-0.2, 0.1, 0.8, 0.0, 0.0],
        [0.0, 0.3, 0.2, 1.2, 0.0],
        [0.1, -0.1, 0.2, 0.3, 0.6],
    ];
    let log_det: f64 = (0..m).map(|k| 2.0 * f64::ln(l[k][k])).sum();
    let truth =
        0.5 * (m as f64 * (2.0 * std::f64::consts::PI * std::f64::consts::E).ln() + log_det);
    let reps = 8;
    let mut sum = 0.0;
    for _ in 0..reps {
        let mut pts = Vec::with_capacity(n * m);
        for _ in 0..n {
            let z: Vec<f64> = (0..m).map(|_| rng.normal()).collect();
            pts.extend(
                l.iter()
                    .map(|row| row.iter().zip(&z).map(|(a, b)| a * b).sum::<f64>()),
            );
        }
        let one = kozachenko_leonenko(&pts, n, m).expect("kl");
        println!("Gaussian m=5 sample: error {:+.4}", one - truth);
        sum += one;
    }
    let got = sum / f64::from(reps);
    println!("Gaussian m=5: estimate {got:.4}, exact {truth:.4}");
    assert!((got - truth).abs() <= 0.06, "{got} vs {truth}");
}

#[test]
fn scaling_radii_shifts_total_by_log_r() {
    let d = 10;
    let n = 300;
    let mut rng = Rng::new(5);
    let mu = rng.unit_vector(d);
    let u = vmf(&mu, 50.0, n, 6);
    let radii: Vec<f64> = (0..n).map(|_| 0.5 + rng.uniform()).collect();
    let base = estimate(&u, &radii, d, EstimatorMode::Reflected).expect("estimate");
    for r in [1e-3, 0.7, 3.0, 1e4] {
        let scaled: Vec<f64> = radii.iter().map(|x| x * r).collect();
        let got = estimate(&u, &scaled, d, EstimatorMode::Reflected).expect("estimate");
        let shift = (d - 1) as f64 * f64::ln(r);
        // Only the mean radius changes (by rounding); the rest is bit-identical.
        assert_eq!(got.entropy_unit, base.entropy_unit);
        assert!(
            (got.entropy - base.entropy - shift).abs() <= 1e-12 * (1.0 + got.entropy.abs()),
            "r={r}"
        );
    }
}

#[test]
fn bad_input_gives_typed_errors() {
    let u = [1.0, 0.0, 0.0, 1.0];
    let r = [1.0, 1.0];
    let m = EstimatorMode::Reflected;
    assert_eq!(
        estimate(&u, &r, 1, m),
        Err(EntropyError::DimensionTooSmall { got: 1, min: 2 })
    );
    assert_eq!(
        estimate(&u[..2], &r[..1], 2, m),
        Err(EntropyError::TooFewSamples(1))
    );
    assert_eq!(
        estimate(&u[..3], &r, 2, m),
        Err(EntropyError::LengthMismatch {
            what: "units",
            got: 3,
            expected: 4
        })
    );
    assert_eq!(
        estimate(&[1.0, 0.0, f64::NAN, 1.0], &r, 2, m),
        Err(EntropyError::NonFinite {
            what: "units",
            index: 2
        })
    );
    assert_eq!(
        estimate(&u, &[1.0, f64::INFINITY], 2, m),
        Err(EntropyError::NonFinite {
            what: "radii",
            index: 1
        })
    );
    assert_eq!(
        estimate(&u, &[1.0, -2.0], 2, m),
        Err(EntropyError::NonPositiveRadius {
            index: 1,
            value: -2.0
        })
    );
    assert_eq!(
        estimate(&[1.0, 0.0, 0.0, 2.0], &r, 2, m),
        Err(EntropyError::NotUnitVector { row: 1, norm: 2.0 })
    );
    // Duplicates are fine: ε is clipped at 1e-8.
    let dup = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0];
    assert!(
        estimate(&dup, &[1.0; 3], 2, m)
            .expect("dup")
            .entropy
            .is_finite()
    );
}
