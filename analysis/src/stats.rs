//! Why this module exists: the checks need a few small numerical tools that no dependency of
//! this crate provides and that are not worth a dependency — a seeded random stream for the
//! bootstrap (SplitMix64 with Box–Muller normals: reproducible from `AnalysisOptions::seed`),
//! the normal distribution function for the expected chance-violation rate of V2, and
//! percentiles for confidence intervals.

/// A small, seeded pseudo-random stream (SplitMix64). Quality is ample for resampling.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
    spare: Option<f64>,
}

impl Rng {
    /// A stream from `seed`.
    pub(crate) fn new(seed: u64) -> Rng {
        Rng {
            state: seed ^ 0x5DEE_CE66_D1CE_5EED,
            spare: None,
        }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform on (0, 1).
    pub(crate) fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Uniform index in 0..n (n > 0).
    pub(crate) fn index(&mut self, n: usize) -> usize {
        ((self.uniform() * n as f64) as usize).min(n.saturating_sub(1))
    }

    /// Standard normal (Box–Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let (u, v) = (self.uniform(), self.uniform());
        let radius = (-2.0 * u.ln()).sqrt();
        let angle = std::f64::consts::TAU * v;
        self.spare = Some(radius * angle.sin());
        radius * angle.cos()
    }
}

/// The standard normal distribution function Φ(x), through erfc (W. J. Cody's rational
/// Chebyshev form as in Numerical Recipes' `erfcc`, relative error < 1.2e-7: ample for rates).
pub(crate) fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// The `q`-quantile (0 ≤ q ≤ 1) of finite values, linear interpolation between order
/// statistics; `None` without finite values.
pub(crate) fn quantile(values: &[f64], q: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    Some(v[lo] + (pos - lo as f64) * (v[hi] - v[lo]))
}

/// Mean and standard error of the mean (sample sd/√n; 0 for n = 1).
pub(crate) fn mean_sem(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_cdf_known_values() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.0) - 0.841_344_746).abs() < 1e-6);
        assert!((normal_cdf(-2.0) - 0.022_750_132).abs() < 1e-6);
    }

    #[test]
    fn normals_have_unit_variance() {
        let mut rng = Rng::new(7);
        let xs: Vec<f64> = (0..20_000).map(|_| rng.normal()).collect();
        let (m, _) = mean_sem(&xs);
        let var = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / xs.len() as f64;
        assert!(m.abs() < 0.03 && (var - 1.0).abs() < 0.05, "{m} {var}");
    }

    #[test]
    fn quantiles_interpolate() {
        let v = [3.0, 1.0, 2.0, f64::NAN];
        assert_eq!(quantile(&v, 0.5), Some(2.0));
        assert_eq!(quantile(&v, 0.25), Some(1.5));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
