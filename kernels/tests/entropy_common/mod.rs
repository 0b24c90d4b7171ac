//! Shared helpers of the entropy tests: a seeded Philox stream with uniforms and normals.

#![allow(dead_code)]

use rand_philox::Philox;

/// Seeded uniforms in (0, 1) (53-bit) and standard normals (Box–Muller).
pub struct Rng {
    inner: Philox,
    spare: Option<f64>,
}

impl Rng {
    /// A stream for `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            inner: Philox::from_u64_seed(seed),
            spare: None,
        }
    }

    /// Uniform on the open interval (0, 1).
    pub fn uniform(&mut self) -> f64 {
        ((self.inner.next_u64() >> 11) as f64 + 0.5) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Standard normal.
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let r = (-2.0 * self.uniform().ln()).sqrt();
        let t = std::f64::consts::TAU * self.uniform();
        self.spare = Some(r * t.sin());
        r * t.cos()
    }

    /// A uniformly random unit vector in R^d.
    pub fn unit_vector(&mut self, d: usize) -> Vec<f64> {
        let mut v: Vec<f64> = (0..d).map(|_| self.normal()).collect();
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
        v
    }
}
