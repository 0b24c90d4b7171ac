//! Identity checks of the Bessel layer that need no reference data: the three-term recurrence in
//! ratio form, the d = 3 closed forms, and the large-argument (Hankel) series of the ratio.
#![allow(clippy::unwrap_used)]

use sweep_theory::bessel::{
    bessel_ratio, log_bessel_i, log_bessel_i_scaled, one_minus_bessel_ratio,
};

const ORDERS: [f64; 14] = [
    1.0, 1.5, 2.0, 5.5, 18.5, 19.0, 19.5, 20.0, 20.5, 21.0, 49.0, 1e3, 5e4, 5e5,
];
const ARGS: [f64; 12] = [
    1e-3, 0.1, 1.0, 9.9, 10.1, 30.0, 100.0, 1e3, 1e4, 1e5, 1e6, 1e8,
];

/// I_{ν−1} − I_{ν+1} = (2ν/x) I_ν, divided by I_ν and inverted: r_{ν−1} (2ν/x + r_ν) = 1.
/// Both ratios come from independent evaluations (different Debye orders, or the recurrence
/// below order 20 vs the direct expansion above), so this checks the regime switch too.
/// Tolerance 1e-13: a few ulps on each side.
#[test]
fn three_term_recurrence_in_ratio_form() {
    let mut worst = 0.0f64;
    for &nu in &ORDERS {
        for &x in &ARGS {
            let lhs = bessel_ratio(nu - 1.0, x) * (2.0 * nu / x + bessel_ratio(nu, x));
            worst = worst.max((lhs - 1.0).abs());
            assert!((lhs - 1.0).abs() < 1e-13, "nu={nu} x={x}: {lhs}");
        }
    }
    eprintln!("worst recurrence residual {worst:.2e}");
}

/// The same recurrence for 1 − r: 1 − r_{ν−1} = (2ν/x − (1 − r_ν)) r_{ν−1}. Checked where
/// the subtraction loses at most a factor ~3 (x ≥ ν), to 1e-12 relative.
#[test]
fn recurrence_for_one_minus_ratio() {
    for &nu in &ORDERS {
        for &x in ARGS.iter().filter(|&&x| x >= nu) {
            let lhs = one_minus_bessel_ratio(nu - 1.0, x);
            let rhs = (2.0 * nu / x - one_minus_bessel_ratio(nu, x)) * bessel_ratio(nu - 1.0, x);
            assert!(
                ((lhs - rhs) / lhs).abs() < 1e-12,
                "nu={nu} x={x}: {lhs} vs {rhs}"
            );
        }
    }
}

/// log I_{ν+1} − log I_ν = log r_ν, where it is not swamped by the size of log I
/// (absolute 1e-12 · max(1, |log I_ν|), i.e. a few ulps of log I).
#[test]
fn log_values_consistent_with_ratio() {
    for &nu in &ORDERS {
        for &x in &ARGS {
            let a = log_bessel_i(nu, x);
            let diff = log_bessel_i(nu + 1.0, x) - a;
            let want = bessel_ratio(nu, x).ln();
            assert!(
                (diff - want).abs() <= 1e-12 * a.abs().max(1.0),
                "nu={nu} x={x}: {diff} vs {want}"
            );
        }
    }
}

/// d = 3 (ν = ½): I_{1/2}(x) = √(2/(πx)) sinh x, r = coth x − 1/x, so
/// log I − x = ½ log(2/(πx)) + log((1 − e^{−2x})/2) and 1 − r = 1/x − 2e^{−2x}/(1 − e^{−2x}).
/// Evaluated where these forms are themselves accurate (x ≥ 0.5: at most one digit lost).
/// Tolerance 1e-13: below order 20 the values come from a 20-step backward recurrence, which
/// amplifies the rounding of 1 − r by up to (N + ½)/(ν + ½) ≈ 20 at large x.
#[test]
fn half_order_closed_forms() {
    for &x in &[0.5f64, 1.0, 3.0, 9.99, 10.01, 20.0, 100.0, 700.0, 1e4, 1e8] {
        let e2 = (-2.0f64 * x).exp();
        let log_scaled = 0.5 * (2.0 / (std::f64::consts::PI * x)).ln() + (-e2).ln_1p() - 2f64.ln();
        let eps = 1.0 / x - 2.0 * e2 / (1.0 - e2);
        let got_ls = log_bessel_i_scaled(0.5, x);
        assert!(
            (got_ls - log_scaled).abs() < 1e-13 * log_scaled.abs().max(1.0),
            "x={x}"
        );
        let got_eps = one_minus_bessel_ratio(0.5, x);
        assert!(
            ((got_eps - eps) / eps).abs() < 1e-13,
            "x={x}: {got_eps} vs {eps}"
        );
        let r = 1.0 / x.tanh() - 1.0 / x;
        assert!(((bessel_ratio(0.5, x) - r) / r).abs() < 1e-13, "x={x}");
    }
}

/// Hankel: 1 − r_ν(x) = (2ν+1)/(2x) − (4ν²−1)/(8x²) + O(ν³/x³) (SPEC Eq. 107 with d = 2ν + 2).
/// Where the omitted term is below 1e-15 relative (ν²/x² < 1e-15) the series is a precise
/// oracle for the tiny 1 − r: relative 1e-13.
#[test]
fn large_argument_series() {
    for &nu in &[0.0, 0.5, 1.0, 4.0, 19.5, 20.0, 100.0] {
        for &x in &[1e8, 1e10, 1e12] {
            if nu * nu / (x * x) > 1e-15 || (nu + 1.0) / x > 1e-7 {
                continue;
            }
            let series = (2.0 * nu + 1.0) / (2.0 * x) - (4.0 * nu * nu - 1.0) / (8.0 * x * x);
            let got = one_minus_bessel_ratio(nu, x);
            assert!(
                ((got - series) / series).abs() < 1e-13,
                "nu={nu} x={x}: {got} vs {series}"
            );
        }
    }
}

/// Small argument: r_ν(x) = x/(2ν+2) (1 − x²/(4(ν+1)(ν+2)) + …), log I_ν(x) ≈ ν log(x/2) − lnΓ(ν+1).
#[test]
fn small_argument_limits() {
    let x = 1e-6;
    for &nu in &[0.0, 0.5, 3.0, 30.0, 5e5] {
        let r = x / (2.0 * nu + 2.0) * (1.0 - x * x / (4.0 * (nu + 1.0) * (nu + 2.0)));
        assert!(((bessel_ratio(nu, x) - r) / r).abs() < 1e-14, "nu={nu}");
    }
    // ν = 0: log I_0(x) = x²/4 − x⁴/64 + …, tiny but relatively accurate.
    let want = x * x / 4.0;
    assert!(((log_bessel_i(0.0, x) - want) / want).abs() < 1e-12);
    assert_eq!(log_bessel_i(0.0, 0.0), 0.0);
    assert_eq!(log_bessel_i(2.0, 0.0), f64::NEG_INFINITY);
    assert!(log_bessel_i(-1.0, 1.0).is_nan() && bessel_ratio(1.0, f64::NAN).is_nan());
}

/// Nothing overflows, underflows or goes non-monotone over the whole working range.
#[test]
fn finite_everywhere() {
    for &nu in &[0.0, 0.5, 7.3, 19.99, 20.0, 1e3, 5e5, 5e6] {
        let mut last = 0.0;
        for k in -30..=90 {
            let x = 10f64.powf(k as f64 / 10.0);
            let (li, r, e) = (
                log_bessel_i(nu, x),
                bessel_ratio(nu, x),
                one_minus_bessel_ratio(nu, x),
            );
            assert!(
                li.is_finite() && r > 0.0 && r < 1.0 && e > 0.0 && e <= 1.0,
                "nu={nu} x={x}"
            );
            assert!((r + e - 1.0).abs() < 1e-15, "nu={nu} x={x}");
            assert!(r > last, "ratio not increasing at nu={nu} x={x}");
            last = r;
        }
    }
}
