//! Von Mises–Fisher sampling (Wood 1994), exact, generic over the source of randomness.
//!
//! The density on S^{d−1} is ∝ exp(κ⟨u, μ⟩). Wood's rejection sampler draws the cosine
//! w = ⟨u, μ⟩ from its marginal (∝ e^{κw}(1 − w²)^{(d−3)/2}) by an envelope built from a
//! Beta((d−1)/2, (d−1)/2) variate, then adds an isotropic tangent direction. Every quantity that
//! cancels for large κ or large d is computed in closed form instead: b = (d−1)/(2κ + √(4κ² +
//! (d−1)²)), 1 − w, 1 − x₀w and 1 − x₀², so neither κ = 10⁸ nor d = 10⁶ overflows or loses the
//! small gaps 1 − w ≈ (d−1)/(2κ).

use thiserror::Error;

/// Errors of [`sample_vmf`].
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SamplerError {
    /// The mean direction has fewer than 2 components.
    #[error("dimension must be at least 2, got {0}")]
    DimensionTooSmall(usize),
    /// The mean direction contains a NaN or infinity, or is the zero vector.
    #[error("mean direction must be finite and non-zero")]
    InvalidMean,
    /// κ is negative or not finite.
    #[error("concentration must be finite and >= 0, got {0}")]
    InvalidConcentration(f64),
    /// A uniform draw was outside (0, 1) or a normal draw was not finite.
    #[error("the randomness source returned an invalid {0} draw")]
    InvalidDraw(&'static str),
    /// n·d overflows.
    #[error("sample size overflows")]
    SizeOverflow,
}

/// Wood's constants for given (d, κ), all free of cancellation.
#[derive(Debug, Clone, Copy)]
struct Wood {
    /// (d − 1)/2, the Beta shape.
    shape: f64,
    kappa: f64,
    dm1: f64,
    b: f64,
    /// 1 − x₀ = 2b/(1 + b).
    one_minus_x0: f64,
    /// ln(1 − x₀²) = ln(4b) − 2 ln(1 + b).
    ln_one_minus_x0_sq: f64,
}

impl Wood {
    fn new(d: usize, kappa: f64) -> Self {
        let dm1 = (d - 1) as f64;
        // b = (−2κ + √(4κ² + (d−1)²))/(d−1), rationalised: no cancellation for κ ≫ d.
        let b = dm1 / (2.0 * kappa + (4.0 * kappa * kappa + dm1 * dm1).sqrt());
        Self {
            shape: dm1 / 2.0,
            kappa,
            dm1,
            b,
            one_minus_x0: 2.0 * b / (1.0 + b),
            ln_one_minus_x0_sq: (4.0 * b).ln() - 2.0 * b.ln_1p(),
        }
    }

    /// From a Beta draw z, returns (w, 1 − w) and the log acceptance ratio ≤ 0.
    fn propose(&self, z: f64) -> (f64, f64, f64) {
        let b = self.b;
        let den = 1.0 - (1.0 - b) * z;
        let one_minus_w = 2.0 * b * z / den;
        let w = (1.0 - (1.0 + b) * z) / den;
        // 1 − x₀w = 2b / ((1 + b)(1 − (1 − b)z)).
        let ln_one_minus_x0w = (2.0 * b).ln() - b.ln_1p() - den.ln();
        // κw + (d−1)ln(1 − x₀w) − c with c = κx₀ + (d−1)ln(1 − x₀²); w − x₀ = (1−x₀) − (1−w).
        let log_ratio = self.kappa * (self.one_minus_x0 - one_minus_w)
            + self.dm1 * (ln_one_minus_x0w - self.ln_one_minus_x0_sq);
        (w, one_minus_w, log_ratio)
    }
}

/// Draws `n` samples from the von Mises–Fisher distribution on S^{d−1} with mean direction
/// `mean` (length d ≥ 2, normalised here) and concentration `kappa` ≥ 0; returns them as an
/// n×d row-major matrix of unit vectors.
///
/// `normal` must return standard normal draws and `uniform` draws in the open interval (0, 1);
/// the sampler is exact given exact draws, and independent of any particular RNG.
pub fn sample_vmf(
    mean: &[f64],
    kappa: f64,
    n: usize,
    normal: &mut impl FnMut() -> f64,
    uniform: &mut impl FnMut() -> f64,
) -> Result<Vec<f64>, SamplerError> {
    let d = mean.len();
    if d < 2 {
        return Err(SamplerError::DimensionTooSmall(d));
    }
    if !(kappa.is_finite() && kappa >= 0.0) {
        return Err(SamplerError::InvalidConcentration(kappa));
    }
    let norm = mean.iter().map(|x| x * x).sum::<f64>().sqrt();
    if !(norm.is_finite() && norm > 0.0) {
        return Err(SamplerError::InvalidMean);
    }
    let mu: Vec<f64> = mean.iter().map(|x| x / norm).collect();
    let total = n.checked_mul(d).ok_or(SamplerError::SizeOverflow)?;
    let wood = Wood::new(d, kappa);
    let mut out = Vec::with_capacity(total);
    let mut tangent = vec![0.0; d];
    for _ in 0..n {
        let (w, one_minus_w) = loop {
            let z = beta_symmetric(wood.shape, normal, uniform)?;
            let (w, one_minus_w, log_ratio) = wood.propose(z);
            if log_ratio >= checked_uniform(uniform)?.ln() {
                break (w, one_minus_w);
            }
        };
        // Isotropic unit tangent vector: a Gaussian projected orthogonally to μ.
        let tnorm = loop {
            for t in tangent.iter_mut() {
                *t = checked_normal(normal)?;
            }
            // Project twice ("twice is enough"): one pass leaves a component along μ of relative
            // size ε·‖g‖/‖t‖, large when the Gaussian g is nearly parallel to μ.
            for _ in 0..2 {
                let along: f64 = tangent.iter().zip(&mu).map(|(t, m)| t * m).sum();
                tangent
                    .iter_mut()
                    .zip(&mu)
                    .for_each(|(t, m)| *t -= along * m);
            }
            let tn = tangent.iter().map(|t| t * t).sum::<f64>().sqrt();
            if tn > 0.0 {
                break tn;
            }
        };
        let s = (one_minus_w * (1.0 + w)).max(0.0).sqrt() / tnorm;
        out.extend(mu.iter().zip(&tangent).map(|(m, t)| w * m + s * t));
    }
    Ok(out)
}

fn checked_uniform(uniform: &mut impl FnMut() -> f64) -> Result<f64, SamplerError> {
    let u = uniform();
    if u > 0.0 && u < 1.0 {
        Ok(u)
    } else {
        Err(SamplerError::InvalidDraw("uniform"))
    }
}

fn checked_normal(normal: &mut impl FnMut() -> f64) -> Result<f64, SamplerError> {
    let z = normal();
    if z.is_finite() {
        Ok(z)
    } else {
        Err(SamplerError::InvalidDraw("normal"))
    }
}

/// Beta(a, a) as G₁/(G₁ + G₂) with independent Gamma(a) draws.
fn beta_symmetric(
    a: f64,
    normal: &mut impl FnMut() -> f64,
    uniform: &mut impl FnMut() -> f64,
) -> Result<f64, SamplerError> {
    loop {
        let g1 = gamma(a, normal, uniform)?;
        let g2 = gamma(a, normal, uniform)?;
        let s = g1 + g2;
        if s > 0.0 {
            return Ok(g1 / s);
        }
    }
}

/// Gamma(a, 1) by Marsaglia–Tsang (2000); for a < 1, Gamma(a + 1)·U^{1/a}.
fn gamma(
    a: f64,
    normal: &mut impl FnMut() -> f64,
    uniform: &mut impl FnMut() -> f64,
) -> Result<f64, SamplerError> {
    if a < 1.0 {
        let g = gamma(a + 1.0, normal, uniform)?;
        return Ok(g * checked_uniform(uniform)?.powf(1.0 / a));
    }
    let d = a - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = checked_normal(normal)?;
        let v = 1.0 + c * x;
        if v <= 0.0 {
            continue;
        }
        let v = v * v * v;
        let u = checked_uniform(uniform)?;
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return Ok(d * v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wood_constants_are_stable_at_extremes() {
        for (d, kappa) in [(3, 1e8), (1_000_000, 1e-3), (1_000_000, 1e8), (2, 0.0)] {
            let w = Wood::new(d, kappa);
            assert!(w.b > 0.0 && w.b <= 1.0 && w.ln_one_minus_x0_sq.is_finite());
            // The log acceptance ratio peaks at 0 for w = x₀, i.e. z = 1/2, and is ≤ 0 elsewhere.
            let (_, one_minus_w, peak) = w.propose(0.5);
            assert!(
                one_minus_w >= 0.0 && peak.abs() < 1e-6,
                "d={d} κ={kappa}: {peak}"
            );
            for k in 1..100 {
                let (_, _, lr) = w.propose(f64::from(k) / 100.0);
                assert!(lr.is_finite() && lr <= 1e-6, "d={d} κ={kappa} z={k}%: {lr}");
            }
        }
    }
}
