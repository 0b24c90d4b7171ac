//! Standard normal variates from Philox output by the Box–Muller transform, with our own
//! logarithm and sine/cosine built from `+ − × ÷ √` only.
//!
//! Why not `f64::ln`/`sin_cos`: those are libm calls that neither vectorise nor promise the same
//! bits everywhere. These polynomials (accurate to a few ulp) vectorise across lanes and are the
//! formula the CUDA kernels repeat. Their Horner steps are explicit fused multiply-adds
//! (`mul_add`, correctly rounded by IEEE 754 whether done in hardware or in software), so every
//! code path and both backends turn the same Philox words into the same normals, bit for bit.
//!
//! Mapping (the contract the CUDA kernel follows): a Philox block `[x0, x1, x2, x3]` gives
//! `u = (x + 0.5)·2⁻³²` for `x0, x2` (never 0), `v = x·2⁻³²` for `x1, x3`, and the four normals
//! `√(−2 ln u0)·(cos 2πv1, sin 2πv1)`, `√(−2 ln u2)·(cos 2πv3, sin 2πv3)` in that order.

/// 2⁻³².
const INV_2_32: f64 = 1.0 / 4_294_967_296.0;
/// ln 2, split so that `e·LN2_HI` is exact for |e| < 2¹¹.
const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
/// ln 2 − LN2_HI.
const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);
/// 2π split into a head and a tail.
const TWO_PI_HI: f64 = std::f64::consts::TAU;
/// 2π − TWO_PI_HI.
const TWO_PI_LO: f64 = 2.449_293_598_294_706_4e-16;

/// Natural logarithm of a positive, finite, normal `x` (the only inputs Box–Muller produces).
///
/// `x = 2^e·m` with `m ∈ [√½, √2)`, then `ln m = 2 atanh s`, `s = (m−1)/(m+1)`, |s| ≤ 0.1716, by its
/// odd series through s²¹ (truncation below 3e-17 relative).
#[inline(always)]
pub fn ln_positive(x: f64) -> f64 {
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let big = m > std::f64::consts::SQRT_2;
    m = if big { m * 0.5 } else { m };
    e += i64::from(big);
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    // Horner for 1 + s²/3 + s⁴/5 + … + s²⁰/21.
    let mut p: f64 = 1.0 / 21.0;
    p = p.mul_add(s2, 1.0 / 19.0);
    p = p.mul_add(s2, 1.0 / 17.0);
    p = p.mul_add(s2, 1.0 / 15.0);
    p = p.mul_add(s2, 1.0 / 13.0);
    p = p.mul_add(s2, 1.0 / 11.0);
    p = p.mul_add(s2, 1.0 / 9.0);
    p = p.mul_add(s2, 1.0 / 7.0);
    p = p.mul_add(s2, 1.0 / 5.0);
    p = p.mul_add(s2, 1.0 / 3.0);
    let ln_m = 2.0 * s + 2.0 * s * (s2 * p);
    let ef = e as f64;
    ef * LN2_HI + (ln_m + ef * LN2_LO)
}

/// `(sin 2πv, cos 2πv)` for `v ∈ [0, 1)` with at most 32 significant bits (so the quarter-turn
/// reduction below is exact).
#[inline(always)]
pub fn sin_cos_turns(v: f64) -> (f64, f64) {
    let q = (v * 4.0 + 0.5).floor();
    let t = v - q * 0.25; // exact, |t| ≤ 1/8
    let a = t * TWO_PI_HI + t * TWO_PI_LO;
    let a2 = a * a;
    // Taylor series on |a| ≤ π/4: sin through a¹⁷, cos through a¹⁶ (errors < 5e-17).
    let mut sp: f64 = -1.0 / 355_687_428_096_000.0; // −1/17!
    sp = sp.mul_add(a2, 1.0 / 1_307_674_368_000.0);
    sp = sp.mul_add(a2, -1.0 / 6_227_020_800.0);
    sp = sp.mul_add(a2, 1.0 / 39_916_800.0);
    sp = sp.mul_add(a2, -1.0 / 362_880.0);
    sp = sp.mul_add(a2, 1.0 / 5_040.0);
    sp = sp.mul_add(a2, -1.0 / 120.0);
    sp = sp.mul_add(a2, 1.0 / 6.0);
    let s = a - a * (a2 * sp);
    let mut cp: f64 = 1.0 / 20_922_789_888_000.0; // 1/16!
    cp = cp.mul_add(a2, -1.0 / 87_178_291_200.0);
    cp = cp.mul_add(a2, 1.0 / 479_001_600.0);
    cp = cp.mul_add(a2, -1.0 / 3_628_800.0);
    cp = cp.mul_add(a2, 1.0 / 40_320.0);
    cp = cp.mul_add(a2, -1.0 / 720.0);
    cp = cp.mul_add(a2, 1.0 / 24.0);
    cp = cp.mul_add(a2, -0.5);
    let c = 1.0 + a2 * cp;
    // Rotate by q quarter turns, in floating point only so that it vectorises into blends.
    let quadrant = q - 4.0 * (q * 0.25).floor(); // exactly 0, 1, 2 or 3
    let swap = quadrant == 1.0 || quadrant == 3.0;
    let (s1, c1) = (if swap { c } else { s }, if swap { s } else { c });
    let neg_s = quadrant >= 2.0;
    let neg_c = quadrant == 1.0 || quadrant == 2.0;
    (if neg_s { -s1 } else { s1 }, if neg_c { -c1 } else { c1 })
}

/// The Box–Muller pair for two Philox words: `(√(−2 ln u)·cos 2πv, √(−2 ln u)·sin 2πv)`.
#[inline(always)]
pub fn box_muller(x_radius: u32, x_angle: u32) -> (f64, f64) {
    let u = (f64::from(x_radius) + 0.5) * INV_2_32;
    let v = f64::from(x_angle) * INV_2_32;
    let r = (-2.0 * ln_positive(u)).sqrt();
    let (s, c) = sin_cos_turns(v);
    (r * c, r * s)
}

/// Four standard normals from one Philox block, in the documented order.
#[inline(always)]
pub fn normals_from_block(x: [u32; 4]) -> [f64; 4] {
    let (a, b) = box_muller(x[0], x[1]);
    let (c, d) = box_muller(x[2], x[3]);
    [a, b, c, d]
}

/// Lane-wise [`normals_from_block`]: `out[j][i]` is normal `j` of lane `i`.
///
/// Written as separate passes (uniforms, radii, angles) over lane arrays so that each pass is a
/// simple loop the compiler turns into vector code; the bits equal [`normals_from_block`]'s.
#[inline(always)]
pub fn normals_lanes<const L: usize>(x: [[u32; L]; 4]) -> [[f64; L]; 4] {
    let mut out = [[0.0; L]; 4];
    for pair in 0..2 {
        let (xr, xa) = (&x[2 * pair], &x[2 * pair + 1]);
        let mut r = [0.0; L];
        for i in 0..L {
            let u = (f64::from(xr[i]) + 0.5) * INV_2_32;
            r[i] = (-2.0 * ln_positive(u)).sqrt();
        }
        let mut sin = [0.0; L];
        let mut cos = [0.0; L];
        for i in 0..L {
            let (s, c) = sin_cos_turns(f64::from(xa[i]) * INV_2_32);
            sin[i] = s;
            cos[i] = c;
        }
        for i in 0..L {
            out[2 * pair][i] = r[i] * cos[i];
            out[2 * pair + 1][i] = r[i] * sin[i];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        ((a - b) / b).abs()
    }

    #[test]
    fn log_matches_libm_to_a_few_ulp() {
        let mut worst: f64 = 0.0;
        for i in 0..200_000u32 {
            let x = (f64::from(i.wrapping_mul(2_654_435_761)) + 0.5) * INV_2_32;
            let err = (ln_positive(x) - x.ln()).abs() / x.ln().abs().max(1e-300);
            worst = worst.max(err);
        }
        for x in [
            1.0,
            0.5,
            0.75,
            1e-10,
            1.0 - 1e-9,
            std::f64::consts::FRAC_1_SQRT_2,
        ] {
            let want = x.ln();
            let err = if want == 0.0 {
                ln_positive(x).abs()
            } else {
                rel(ln_positive(x), want)
            };
            worst = worst.max(err);
        }
        assert!(worst < 4e-16, "worst relative error {worst:e}");
    }

    #[test]
    fn sin_cos_match_libm() {
        let mut worst: f64 = 0.0;
        for i in 0..200_000u32 {
            let x = i.wrapping_mul(2_654_435_761);
            let v = f64::from(x) * INV_2_32;
            let (s, c) = sin_cos_turns(v);
            let (ws, wc) = (std::f64::consts::TAU * v).sin_cos();
            worst = worst.max((s - ws).abs()).max((c - wc).abs());
        }
        // libm's own argument 2πv carries ~1 ulp of 2π·v ≈ 7e-16 absolute.
        assert!(worst < 2e-15, "worst absolute error {worst:e}");
    }

    #[test]
    fn normals_have_unit_moments() {
        // 4·10⁵ normals: standard errors of mean, variance and kurtosis are 1.6e-3, 2.2e-3, 7.7e-3.
        let n_blocks = 100_000u32;
        let (mut s1, mut s2, mut s4) = (0.0, 0.0, 0.0);
        for b in 0..n_blocks {
            let z = normals_from_block(super::super::philox::philox4x32_10([b, 0, 0, 7], [11, 13]));
            for x in z {
                s1 += x;
                s2 += x * x;
                s4 += x * x * x * x;
            }
        }
        let n = f64::from(n_blocks) * 4.0;
        let (m1, m2, m4) = (s1 / n, s2 / n, s4 / n);
        assert!(m1.abs() < 5.0 * 1.6e-3, "mean {m1}");
        assert!((m2 - 1.0).abs() < 5.0 * 2.2e-3, "variance {m2}");
        assert!((m4 - 3.0).abs() < 5.0 * 1.6e-2, "fourth moment {m4}");
    }

    #[test]
    fn lanes_equal_scalar() {
        let mut x = [[0u32; 8]; 4];
        for i in 0..8 {
            for (j, row) in x.iter_mut().enumerate() {
                row[i] = (i as u32 * 977 + j as u32 * 131).wrapping_mul(0x9E37_79B9);
            }
        }
        let lanes = normals_lanes(x);
        for i in 0..8 {
            let one = normals_from_block([x[0][i], x[1][i], x[2][i], x[3][i]]);
            for j in 0..4 {
                assert_eq!(one[j].to_bits(), lanes[j][i].to_bits());
            }
        }
    }
}
