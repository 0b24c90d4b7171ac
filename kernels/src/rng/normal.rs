//! Standard normal variates from Philox output by the Box–Muller transform, with our own
//! logarithm and sine/cosine built from `+ − × ÷ √` and fused multiply-adds only, in f32.
//!
//! Why not `f64::ln`/`sin_cos`: those are libm calls that neither vectorise nor promise the same
//! bits everywhere. These polynomials (accurate to about 1e-7, the precision of the 24-bit
//! uniforms they consume) vectorise sixteen to a 512-bit register and are the formula the CUDA
//! kernels repeat. Every Horner step is an explicit `mul_add`, correctly rounded by IEEE 754
//! whether done in hardware or in software, so every code path and both backends turn the same
//! Philox words into the same normals, bit for bit. f32 is ample here: the normals drive SGD
//! noise, and their tails are cut only past 5.9σ (probability 4e-9).
//!
//! Mapping (the contract the CUDA kernel follows): a Philox block `[x0, x1, x2, x3]` gives, from
//! the top 24 bits of each word, `u = ((x >> 8) + ½)·2⁻²⁴` for `x0, x2` (never 0 or 1) and
//! `v = (x >> 8)·2⁻²⁴` for `x1, x3`, and the four normals
//! `√(−2 ln u0)·(cos 2πv1, sin 2πv1)`, `√(−2 ln u2)·(cos 2πv3, sin 2πv3)` in that order, all in
//! f32 arithmetic as written below, then widened to f64.

/// 2⁻²⁴.
const INV_2_24: f32 = 1.0 / 16_777_216.0;
/// ln 2, split so that `e·LN2_HI` is exact for |e| < 2⁸.
const LN2_HI: f32 = f32::from_bits(0x3f31_7200);
/// ln 2 − LN2_HI.
const LN2_LO: f32 = f32::from_bits(0x35bf_be8e);

/// The uniform in (0, 1) of a radius word.
#[inline(always)]
fn radius_uniform(x: u32) -> f32 {
    ((x >> 8) as f32 + 0.5) * INV_2_24
}

/// The uniform in [0, 1) of an angle word.
#[inline(always)]
fn angle_uniform(x: u32) -> f32 {
    (x >> 8) as f32 * INV_2_24
}

/// Natural logarithm of a positive, finite, normal f32 (the only inputs Box–Muller produces).
///
/// `x = 2^e·m` with `m ∈ [√½, √2)`, then `ln m = 2 atanh s`, `s = (m−1)/(m+1)`, |s| ≤ 0.1716, by its
/// odd series through s¹¹ (truncation below 3e-9 relative).
#[inline(always)]
pub fn ln_positive(x: f32) -> f32 {
    let bits = x.to_bits();
    let mut e = ((bits >> 23) & 0xff) as i32 - 127;
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let big = m > std::f32::consts::SQRT_2;
    m = if big { m * 0.5 } else { m };
    e += i32::from(big);
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut p: f32 = 1.0 / 11.0;
    p = p.mul_add(s2, 1.0 / 9.0);
    p = p.mul_add(s2, 1.0 / 7.0);
    p = p.mul_add(s2, 1.0 / 5.0);
    p = p.mul_add(s2, 1.0 / 3.0);
    let two_s = 2.0 * s;
    let ln_m = (two_s * s2).mul_add(p, two_s);
    let ef = e as f32;
    ef.mul_add(LN2_HI, ef.mul_add(LN2_LO, ln_m))
}

/// `(sin 2πv, cos 2πv)` for `v ∈ [0, 1)` with at most 24 significant bits (so the quarter-turn
/// reduction below is exact).
#[inline(always)]
pub fn sin_cos_turns(v: f32) -> (f32, f32) {
    let q = (v * 4.0 + 0.5).floor();
    let t = q.mul_add(-0.25, v); // exact, |t| ≤ 1/8
    let a = t * std::f32::consts::TAU;
    let a2 = a * a;
    // Taylor series on |a| ≤ π/4: sin through a¹¹, cos through a¹⁰ (errors < 2e-9).
    let mut sp: f32 = -1.0 / 39_916_800.0;
    sp = sp.mul_add(a2, 1.0 / 362_880.0);
    sp = sp.mul_add(a2, -1.0 / 5_040.0);
    sp = sp.mul_add(a2, 1.0 / 120.0);
    sp = sp.mul_add(a2, -1.0 / 6.0);
    let s = (a * a2).mul_add(sp, a);
    let mut cp: f32 = -1.0 / 3_628_800.0;
    cp = cp.mul_add(a2, 1.0 / 40_320.0);
    cp = cp.mul_add(a2, -1.0 / 720.0);
    cp = cp.mul_add(a2, 1.0 / 24.0);
    cp = cp.mul_add(a2, -0.5);
    let c = a2.mul_add(cp, 1.0);
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
    let r = (-2.0 * ln_positive(radius_uniform(x_radius))).sqrt();
    let (s, c) = sin_cos_turns(angle_uniform(x_angle));
    (f64::from(r * c), f64::from(r * s))
}

/// Four standard normals from one Philox block, in the documented order.
#[inline(always)]
pub fn normals_from_block(x: [u32; 4]) -> [f64; 4] {
    let (a, b) = box_muller(x[0], x[1]);
    let (c, d) = box_muller(x[2], x[3]);
    [a, b, c, d]
}

/// [`box_muller`] over `L` lanes: `(cos parts, sin parts)`. The f32 passes (radii, then angles)
/// are simple loops, so sixteen lanes make each one a 512-bit vector operation.
#[inline(always)]
pub fn box_muller_lanes<const L: usize>(
    radius_word: &[u32; L],
    angle_word: &[u32; L],
) -> ([f64; L], [f64; L]) {
    let mut r = [0.0f32; L];
    for k in 0..L {
        r[k] = (-2.0 * ln_positive(radius_uniform(radius_word[k]))).sqrt();
    }
    let mut sin = [0.0f32; L];
    let mut cos = [0.0f32; L];
    for k in 0..L {
        let (s, c) = sin_cos_turns(angle_uniform(angle_word[k]));
        sin[k] = s;
        cos[k] = c;
    }
    let mut out_cos = [0.0; L];
    let mut out_sin = [0.0; L];
    for k in 0..L {
        out_cos[k] = f64::from(r[k] * cos[k]);
        out_sin[k] = f64::from(r[k] * sin[k]);
    }
    (out_cos, out_sin)
}

/// Lane-wise [`normals_from_block`]: `out[j][i]` is normal `j` of lane `i`.
#[inline(always)]
pub fn normals_lanes<const L: usize>(x: [[u32; L]; 4]) -> [[f64; L]; 4] {
    let (c0, s0) = box_muller_lanes(&x[0], &x[1]);
    let (c1, s1) = box_muller_lanes(&x[2], &x[3]);
    [c0, s0, c1, s1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_is_accurate_to_a_few_f32_ulp() {
        // Against f64 libm on radius uniforms the transform can see (sampled, and the ends).
        let mut worst: f64 = 0.0;
        let words = (0..200_000u32)
            .map(|i| i.wrapping_mul(2_654_435_761))
            .chain([0, u32::MAX, 1 << 31]);
        for x in words {
            let u = radius_uniform(x);
            let want = f64::from(u).ln();
            let got = f64::from(ln_positive(u));
            // Relative to max(|ln u|, 1): near u = 1 the absolute error is what Box–Muller feels.
            worst = worst.max((got - want).abs() / want.abs().max(1.0));
        }
        assert!(
            worst < 2.5e-7,
            "worst error {worst:e} (an f32 ulp is 6e-8 … 1.2e-7)"
        );
    }

    #[test]
    fn sin_cos_are_accurate_to_a_few_f32_ulp() {
        let mut worst: f64 = 0.0;
        for i in 0..200_000u32 {
            let v = angle_uniform(i.wrapping_mul(2_654_435_761));
            let (s, c) = sin_cos_turns(v);
            let (ws, wc) = (std::f64::consts::TAU * f64::from(v)).sin_cos();
            worst = worst
                .max((f64::from(s) - ws).abs())
                .max((f64::from(c) - wc).abs());
        }
        assert!(worst < 3e-7, "worst absolute error {worst:e}");
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
