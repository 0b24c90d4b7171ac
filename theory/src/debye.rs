//! Why this module exists: for large order ν the modified Bessel function I_ν(x) overflows or
//! underflows long before ν ~ 10⁵ and x ~ 10⁸, and no crate computes it (DEPENDENCIES.md). The
//! Debye uniform asymptotic expansion (DLMF 10.41.3) is accurate uniformly in x/ν, and written in
//! logarithmic, derivative form it gives log I_ν, the ratio I_{ν+1}/I_ν, 1 − ratio and
//! x²·d(ratio)/dx without any cancellation between large terms.
//!
//! With s = √(ν² + x²), t = ν/s:
//!   log I_ν(x) = −½ log(2π s) + ν η + log Σ(t),   ν η = s + ν log(x/(ν + s)),
//!   Σ(t) = Σ_k u_k(t)/ν^k (u_k: DLMF 10.41.10, here k ≤ 12),
//! and the ratio follows from r = d log I_ν/dx − ν/x, its slope from one more derivative.

use crate::bessel::BesselEval;

/// Coefficients of the Debye polynomials: u_k(t) = Σ_j U[k−1][j] · t^{k+2j}, j = 0..k.
/// Generated exactly (rational arithmetic) from the recurrence DLMF 10.41.10,
/// u_{k+1} = ½t²(1−t²)u_k' + ⅛∫₀ᵗ(1−5s²)u_k(s)ds, then rounded to f64.
/// The first omitted term is below 48.2/ν¹³ (the max over t of |u₁₃|): < 1e-15 for ν ≥ 20.
const U: [&[f64]; 12] = [
    &[0.125, -0.20833333333333334],
    &[0.0703125, -0.4010416666666667, 0.3342013888888889],
    &[
        0.0732421875,
        -0.8912109375,
        1.8464626736111112,
        -1.0258125964506173,
    ],
    &[
        0.112152099609375,
        -2.3640869140625,
        8.78912353515625,
        -11.207002616222994,
        4.669584423426247,
    ],
    &[
        0.22710800170898438,
        -7.368794359479632,
        42.53499874538846,
        -91.81824154324002,
        84.63621767460073,
        -28.212072558200244,
    ],
    &[
        0.5725014209747314,
        -26.491430486951554,
        218.1905117442116,
        -699.5796273761325,
        1059.9904525279999,
        -765.2524681411817,
        212.57013003921713,
    ],
    &[
        1.7277275025844574,
        -108.09091978839466,
        1200.9029132163525,
        -5305.646978613403,
        11655.393336864534,
        -13586.550006434138,
        8061.722181737309,
        -1919.457662318407,
    ],
    &[
        6.074042001273483,
        -493.915304773088,
        7109.514302489364,
        -41192.65496889755,
        122200.46498301746,
        -203400.17728041555,
        192547.00123253153,
        -96980.59838863752,
        20204.29133096615,
    ],
    &[
        24.380529699556064,
        -2499.8304818112097,
        45218.76898136273,
        -331645.1724845636,
        1268365.2733216248,
        -2813563.226586534,
        3763271.297656404,
        -2998015.9185381066,
        1311763.6146629772,
        -242919.18790055133,
    ],
    &[
        110.01714026924674,
        -13886.08975371704,
        308186.4046126624,
        -2785618.1280864547,
        13288767.166421818,
        -37567176.66076335,
        66344512.27472903,
        -74105148.21153265,
        50952602.49266464,
        -19706819.118432228,
        3284469.853072038,
    ],
    &[
        551.3358961220206,
        -84005.43360302408,
        2243768.1779224495,
        -24474062.72573873,
        142062907.7975331,
        -495889784.2750303,
        1106842816.8230145,
        -1621080552.1083372,
        1553596899.57058,
        -939462359.6815784,
        325573074.18576574,
        -49329253.66450996,
    ],
    &[
        3038.090510922384,
        -549842.3275722887,
        17395107.553978164,
        -225105661.88941526,
        1559279864.8792574,
        -6563293792.619285,
        17954213731.1556,
        -33026599749.800724,
        41280185579.753975,
        -34632043388.158775,
        18688207509.295826,
        -5866481492.051847,
        814789096.1183121,
    ],
];

/// Debye expansion of I_ν(x): log-scaled value, ratio, 1 − ratio and x²·r'(x). Needs ν ≥ ~20
/// for full double precision (truncation error ≈ 48/ν¹³); x > 0 finite.
pub(crate) fn debye(nu: f64, x: f64) -> BesselEval {
    let s = nu.hypot(x);
    let t = nu / s;
    let q = x / s;
    let (sigma_m1, sigma_t, sigma_tt) = series(t, nu.recip());
    let sigma = 1.0 + sigma_m1;
    let lt = sigma_t / sigma; // d log Σ / dt
    let ltt = sigma_tt / sigma - lt * lt; // d² log Σ / dt²

    // log I_ν(x) − x = (s − x) + ν log(x/(ν+s)) − ½ log(2π s) + log Σ,
    // with s − x = ν²/(s + x) and (ν + s)/x = 1 + (ν + ν²/(s+x))/x (no cancellation).
    let s_minus_x = nu * nu / (s + x);
    let log_scaled =
        s_minus_x - nu * ((nu + s_minus_x) / x).ln_1p() - 0.5 * (std::f64::consts::TAU * s).ln()
            + sigma_m1.ln_1p();

    // dt/dx = −t q / s ;  x² (dt/dx)² = t² q⁴ ;  x² d²t/dx² = t q² (2q² − t²).
    let dt_term = lt * t * q / s;
    // r = x/(s+ν) − q/(2s) + (log Σ)_t dt/dx.
    let ratio = x / (s + nu) - 0.5 * q / s - dt_term;
    // 1 − x/(s+ν) = ν (s + x + ν) / ((s + x)(s + ν)).
    let one_minus_ratio = nu * (s + x + nu) / ((s + x) * (s + nu)) + 0.5 * q / s + dt_term;
    // x² r' = x² (log I)'' + ν = ν q² s/(s+ν) + ½ q² (q² − t²) + corrections.
    let q2 = q * q;
    let slope_x2 = nu * q2 * s / (s + nu)
        + 0.5 * q2 * (q2 - t * t)
        + ltt * t * t * q2 * q2
        + lt * t * q2 * (2.0 * q2 - t * t);
    BesselEval {
        log_scaled,
        // Near 1 the ratio is best known through 1 − r.
        ratio: if one_minus_ratio < 0.5 {
            1.0 - one_minus_ratio
        } else {
            ratio
        },
        one_minus_ratio,
        slope_x2,
    }
}

/// Σ − 1, dΣ/dt and d²Σ/dt² for Σ(t) = Σ_k u_k(t) p^k, p = 1/ν.
fn series(t: f64, p: f64) -> (f64, f64, f64) {
    let t2 = t * t;
    let (mut value, mut first, mut second) = (0.0, 0.0, 0.0);
    let mut pk = 1.0;
    for (k0, coeffs) in U.iter().enumerate() {
        let k = k0 + 1;
        pk *= p;
        // Powers t^{n−2}, starting at n = k.
        let mut pow_nm2 = t.powi(k as i32 - 2);
        let (mut v, mut d1, mut d2) = (0.0, 0.0, 0.0);
        for (j, &c) in coeffs.iter().enumerate() {
            let n = (k + 2 * j) as f64;
            let pow_nm1 = pow_nm2 * t;
            v += c * pow_nm1 * t;
            d1 += c * n * pow_nm1;
            d2 += c * n * (n - 1.0) * pow_nm2;
            pow_nm2 *= t2;
        }
        value += v * pk;
        first += d1 * pk;
        second += d2 * pk;
    }
    (value, first, second)
}
