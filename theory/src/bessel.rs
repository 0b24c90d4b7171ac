//! Why this module exists: the von Mises–Fisher law on S^{d−1} (SPEC §5.2) is written in terms of
//! I_ν(κ) with ν = d/2 − 1, for d up to ~10⁶ and κ up to ~10⁸, where I_ν itself overflows or
//! underflows. This module returns log I_ν(x), the ratio r_ν(x) = I_{ν+1}(x)/I_ν(x), 1 − r_ν(x)
//! and x²·r_ν'(x) (the VMF heat capacity), each without cancellation.
//!
//! Regimes:
//! * ν ≥ 20: the Debye uniform expansion (see `debye`), for every x.
//! * smaller ν: the Debye expansion at order N = ν + m ≥ 20, then the stable
//!   backward recurrence in ratio form, r_{μ−1} = 1/(2μ/x + r_μ), with matching recurrences for
//!   1 − r and x² r' (derived from I_{μ−1} − I_{μ+1} = (2μ/x) I_μ); log I_ν follows as
//!   log I_N − Σ log r_μ, except for x ≤ 10 where the positive power series is used.
//!
//! Out-of-domain input (ν < 0, x < 0, NaN) yields NaN; x = 0 gives the limits.

use crate::debye::debye;

/// Order from which the Debye expansion is used directly (truncation error ≈ 48/ν¹³ < 1e-15).
const DEBYE_MIN_ORDER: f64 = 20.0;
/// Below this argument (and below [`DEBYE_MIN_ORDER`]) log I_ν comes from the power series.
const SERIES_MAX_X: f64 = 10.0;

/// log I_ν(x) − x, r_ν(x), 1 − r_ν(x) and x² r_ν'(x) at one point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BesselEval {
    /// log I_ν(x) − x (the log of the exponentially scaled function).
    pub log_scaled: f64,
    /// r_ν(x) = I_{ν+1}(x)/I_ν(x).
    pub ratio: f64,
    /// 1 − r_ν(x), computed without cancellation.
    pub one_minus_ratio: f64,
    /// x² dr_ν/dx = x²(1 − r² − (2ν+1) r/x), computed without cancellation.
    pub slope_x2: f64,
}

impl BesselEval {
    const NAN: BesselEval = BesselEval {
        log_scaled: f64::NAN,
        ratio: f64::NAN,
        one_minus_ratio: f64::NAN,
        slope_x2: f64::NAN,
    };
}

/// Natural log of the modified Bessel function of the first kind, log I_ν(x), for ν ≥ 0, x > 0.
///
/// Finite for every finite x > 0 and ν ≥ 0 (no overflow or underflow of I_ν itself). At x = 0
/// returns 0 for ν = 0 and −∞ otherwise; NaN outside the domain.
pub fn log_bessel_i(nu: f64, x: f64) -> f64 {
    if nu < DEBYE_MIN_ORDER && x > 0.0 && x <= SERIES_MAX_X && nu >= 0.0 {
        // Unscaled directly: adding x back to log I − x would cancel when log I_0(x) ≈ x²/4.
        return log_series(nu, x);
    }
    log_bessel_i_scaled(nu, x) + x
}

/// log I_ν(x) − x, the log of the exponentially scaled Bessel function (SciPy's `log(ive)`).
/// Prefer it to [`log_bessel_i`] when x is large and the x will cancel (e.g. VMF entropy).
pub fn log_bessel_i_scaled(nu: f64, x: f64) -> f64 {
    if x == 0.0 && nu >= 0.0 {
        return if nu == 0.0 { 0.0 } else { f64::NEG_INFINITY };
    }
    evaluate(nu, x).log_scaled
}

/// The ratio r_ν(x) = I_{ν+1}(x)/I_ν(x) ∈ [0, 1), computed directly (never from separately
/// scaled values). This is the VMF mean cosine A_d(κ) for ν = d/2 − 1.
pub fn bessel_ratio(nu: f64, x: f64) -> f64 {
    if x == 0.0 && nu >= 0.0 {
        return 0.0;
    }
    evaluate(nu, x).ratio
}

/// 1 − I_{ν+1}(x)/I_ν(x), accurate to full relative precision also when it is tiny (x ≫ ν):
/// the VMF energy U = 1 − A_d(κ).
pub fn one_minus_bessel_ratio(nu: f64, x: f64) -> f64 {
    if x == 0.0 && nu >= 0.0 {
        return 1.0;
    }
    evaluate(nu, x).one_minus_ratio
}

/// All four quantities at once (shared by the public functions and the VMF statistics).
pub(crate) fn evaluate(nu: f64, x: f64) -> BesselEval {
    if !(nu >= 0.0 && x > 0.0 && nu.is_finite() && x.is_finite()) {
        return BesselEval::NAN;
    }
    if nu >= DEBYE_MIN_ORDER {
        return debye(nu, x);
    }
    let steps = (DEBYE_MIN_ORDER - nu).ceil() as usize;
    let top = nu + steps as f64;
    let mut e = debye(top, x);
    let mut log_ratio_sum = 0.0;
    for i in 0..steps {
        let mu = top - i as f64; // recur from order mu to mu − 1
        let two_mu_over_x = 2.0 * mu / x;
        let mut ratio = 1.0 / (two_mu_over_x + e.ratio);
        let one_minus_ratio = (two_mu_over_x - e.one_minus_ratio) * ratio;
        let slope_x2 = ratio * ratio * (2.0 * mu - e.slope_x2);
        // Near 1 the ratio is best known through 1 − r (relative accuracy kept by its recurrence).
        if one_minus_ratio < 0.5 {
            ratio = 1.0 - one_minus_ratio;
            log_ratio_sum += (-one_minus_ratio).ln_1p();
        } else {
            log_ratio_sum += ratio.ln();
        }
        e = BesselEval {
            log_scaled: e.log_scaled,
            ratio,
            one_minus_ratio,
            slope_x2,
        };
    }
    e.log_scaled = if x <= SERIES_MAX_X {
        log_scaled_series(nu, x)
    } else {
        e.log_scaled - log_ratio_sum
    };
    e
}

/// log I_ν(x) − x from the power series (see [`log_series`]).
fn log_scaled_series(nu: f64, x: f64) -> f64 {
    log_series(nu, x) - x
}

/// log I_ν(x) from the power series I_ν(x) = (x/2)^ν/Γ(ν+1) · Σ_k (x²/4)^k/(k! (ν+1)_k).
/// All terms are positive, so it is accurate for every x; used for small x and ν.
fn log_series(nu: f64, x: f64) -> f64 {
    let y = 0.25 * x * x;
    let mut term = 1.0;
    let mut tail = 0.0; // Σ_{k≥1}
    let mut k = 1.0;
    loop {
        term *= y / (k * (nu + k));
        tail += term;
        if term <= f64::EPSILON * 1e-2 * (1.0 + tail) || k > 1000.0 {
            break;
        }
        k += 1.0;
    }
    let power = if nu == 0.0 { 0.0 } else { nu * (0.5 * x).ln() };
    power - ln_gamma(nu + 1.0) + tail.ln_1p()
}

/// log Γ(z) for z > 0: Stirling's series after shifting the argument to ≥ 15.
pub(crate) fn ln_gamma(z: f64) -> f64 {
    if z == 1.0 || z == 2.0 {
        return 0.0; // exact, so that log I_0(x) ≈ x²/4 keeps its relative accuracy
    }
    let mut shifted = z;
    let mut product = 1.0;
    while shifted < 15.0 {
        product *= shifted;
        shifted += 1.0;
    }
    let w = shifted;
    let w2 = (w * w).recip();
    // Bernoulli terms B_{2k}/(2k(2k−1) w^{2k−1}), k = 1..7: error < 1e-17 for w ≥ 15.
    let series = (1.0 / 12.0
        + w2 * (-1.0 / 360.0
            + w2 * (1.0 / 1260.0
                + w2 * (-1.0 / 1680.0
                    + w2 * (1.0 / 1188.0 + w2 * (-691.0 / 360360.0 + w2 * (1.0 / 156.0)))))))
        / w;
    (w - 0.5) * w.ln() - w + 0.5 * (std::f64::consts::TAU).ln() + series - product.ln()
}
