//! Vectorisable polar angles for the angle transform: φ = atan2(y, x) for y ≥ 0, given also
//! r = √(x² + y²), without a libm call, so the loop over a row compiles to SIMD.
//!
//! Half-angle reduction: tan(φ/2) = y/(r + |x|) ∈ [0, 1], then twice
//! atan t = 2·atan(t/(1 + √(1 + t²))), leaving z ≤ tan(π/16) ≈ 0.199 where the alternating
//! Taylor series Σ (−1)^i z^{2i+1}/(2i+1) converges to below 1e-17 in 12 terms. Every step is a
//! correctly rounded IEEE operation (no fused multiply-adds), so the result is the same on every
//! CPU; its error is a few ulps of π (checked against libm in the tests).

/// Taylor terms of atan z.
const TERMS: usize = 12;

/// φ = atan2(y, x) ∈ [0, π] for y ≥ 0 with `r` = √(x² + y²); 0 when x = y = 0.
#[inline(always)]
pub(super) fn polar_angle(y: f64, x: f64, r: f64) -> f64 {
    let den = r + x.abs();
    let t = if den > 0.0 { y / den } else { 0.0 };
    let t1 = t / (1.0 + (1.0 + t * t).sqrt());
    let z = t1 / (1.0 + (1.0 + t1 * t1).sqrt());
    let z2 = z * z;
    let mut series = 0.0;
    for i in (0..TERMS).rev() {
        let coeff = if i % 2 == 0 { 1.0 } else { -1.0 } / (2 * i + 1) as f64;
        series = series * z2 + coeff;
    }
    let half = 4.0 * z * series; // φ/2 for x ≥ 0, (π − φ)/2 for x < 0
    if x < 0.0 {
        std::f64::consts::PI - 2.0 * half
    } else {
        2.0 * half
    }
}

/// The last hyperspherical angle atan2(y, x) taken in [0, 2π), with `r` = √(x² + y²).
#[inline(always)]
pub(super) fn azimuth(y: f64, x: f64, r: f64) -> f64 {
    if y >= 0.0 {
        polar_angle(y, x, r)
    } else {
        std::f64::consts::TAU - polar_angle(-y, x, r)
    }
}

/// For k < `angles.len()`: angles[k] = atan2(√tail[k+1], u[k]), where `tail[k]` = Σ_{j≥k} u_j²
/// (so tail has one more element than angles, and u at least as many as angles).
#[inline(always)]
fn polar_angles_body(u: &[f64], tail: &[f64], angles: &mut [f64]) {
    let n = angles.len();
    let (u, tail) = (&u[..n], &tail[..n + 1]);
    for (k, phi) in angles.iter_mut().enumerate() {
        *phi = polar_angle(tail[k + 1].sqrt(), u[k], tail[k].sqrt());
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn polar_angles_avx512(u: &[f64], tail: &[f64], angles: &mut [f64]) {
    polar_angles_body(u, tail, angles);
}

/// See [`polar_angles_body`]; dispatches to an AVX-512 build of the same code when available
/// (identical results: the same IEEE operations in the same order).
pub fn polar_angles(u: &[f64], tail: &[f64], angles: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if super::neighbours::avx512_available() {
        // SAFETY: AVX-512F was detected at run time.
        unsafe { polar_angles_avx512(u, tail, angles) };
        return;
    }
    polar_angles_body(u, tail, angles);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_libm_atan2() {
        let mut worst: f64 = 0.0;
        let mut s = 12345_u64;
        let mut next = || {
            s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (s >> 11) as f64 / 9_007_199_254_740_992.0 * 2.0 - 1.0
        };
        for i in 0..200_000 {
            let scale = 10f64.powi(i % 40 - 20);
            let (x, y) = (next() * scale, next().abs() * scale * 10f64.powi(i % 7 - 3));
            let r = (x * x + y * y).sqrt();
            let got = polar_angle(y, x, r);
            worst = worst.max((got - y.atan2(x)).abs());
        }
        assert!(worst < 2e-15, "max |Δφ| = {worst}");
        assert_eq!(polar_angle(0.0, 0.0, 0.0), 0.0);
        assert_eq!(polar_angle(0.0, 1.0, 1.0), 0.0);
        assert!((polar_angle(0.0, -1.0, 1.0) - std::f64::consts::PI).abs() < 1e-15);
        assert!((polar_angle(1.0, 0.0, 1.0) - std::f64::consts::FRAC_PI_2).abs() < 1e-15);
    }
}
