//! Test helpers: a deterministic pseudo-random source (independent of the crate's Philox code)
//! and central finite differences in f64.
#![allow(dead_code)]

/// xorshift64* values in (−1, 1).
pub struct Rand(u64);

impl Rand {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let u = (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64;
        2.0 * u - 1.0
    }
    pub fn vec(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.next()).collect()
    }
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next() + 1.0) / 2.0) * n as f64) as usize % n
    }
}

/// Central difference of `f` at `x` along coordinate `i` with step `h`.
pub fn fd_coord(f: &mut dyn FnMut(&[f64]) -> f64, x: &[f64], i: usize, h: f64) -> f64 {
    let mut xp = x.to_vec();
    xp[i] += h;
    let fp = f(&xp);
    xp[i] = x[i] - h;
    let fm = f(&xp);
    (fp - fm) / (2.0 * h)
}

/// Central difference of `f` at `x` along direction `v`.
pub fn fd_dir(f: &mut dyn FnMut(&[f64]) -> f64, x: &[f64], v: &[f64], h: f64) -> f64 {
    let xp: Vec<f64> = x.iter().zip(v).map(|(a, b)| a + h * b).collect();
    let xm: Vec<f64> = x.iter().zip(v).map(|(a, b)| a - h * b).collect();
    (f(&xp) - f(&xm)) / (2.0 * h)
}

/// Asserts `analytic ≈ numeric` to `rel` relative to `max(|numeric|, scale)`.
pub fn close(what: &str, analytic: f64, numeric: f64, rel: f64, scale: f64) {
    let err = (analytic - numeric).abs();
    let tol = rel * numeric.abs().max(scale);
    assert!(
        err <= tol,
        "{what}: analytic {analytic:e} vs finite difference {numeric:e} (error {err:e} > {tol:e})"
    );
}

/// Checks a full gradient `g` of `f` at `x`: every coordinate (or `max_coords` random ones) and
/// three random unit directions.
///
/// Networks with ReLU and MaxPool are piecewise smooth: a kink inside the finite-difference step
/// spoils that one difference (not the analytic gradient). So each check passes if the analytic
/// value matches the central difference at step `h` or at `h/8`; a real bug fails both.
pub fn check_gradient(
    what: &str,
    f: &mut dyn FnMut(&[f64]) -> f64,
    x: &[f64],
    g: &[f64],
    max_coords: usize,
    h: f64,
    rel: f64,
) {
    assert_eq!(x.len(), g.len());
    let scale = g.iter().map(|v| v.abs()).fold(0.0, f64::max) * 1e-3 + 1e-12;
    let ok = |a: f64, n: f64| (a - n).abs() <= rel * n.abs().max(scale);
    let mut rng = Rand::new(0xF1D1);
    let coords: Vec<usize> = if x.len() <= max_coords {
        (0..x.len()).collect()
    } else {
        (0..max_coords).map(|_| rng.below(x.len())).collect()
    };
    for i in coords {
        let num = fd_coord(f, x, i, h);
        if !ok(g[i], num) {
            let fine = fd_coord(f, x, i, h / 8.0);
            close(
                &format!("{what} coordinate {i} (steps {h:e} and /8)"),
                g[i],
                fine,
                rel,
                scale,
            );
        }
    }
    for d in 0..3 {
        let mut v = rng.vec(x.len());
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        v.iter_mut().for_each(|a| *a /= norm);
        let ana: f64 = g.iter().zip(&v).map(|(a, b)| a * b).sum();
        let num = fd_dir(f, x, &v, h);
        if !ok(ana, num) {
            let fine = fd_dir(f, x, &v, h / 8.0);
            close(
                &format!("{what} direction {d} (steps {h:e} and /8)"),
                ana,
                fine,
                rel,
                scale,
            );
        }
    }
}

#[test]
#[should_panic(expected = "finite difference")]
fn check_gradient_rejects_a_wrong_gradient() {
    let mut f = |x: &[f64]| x[0] * x[0] + 3.0 * x[1];
    check_gradient(
        "quadratic",
        &mut f,
        &[1.0, 2.0],
        &[2.0, 3.0001],
        10,
        1e-5,
        1e-7,
    );
}

/// `n` random 3×32×32 CIFAR-shaped images (bytes from `seed`), labels cycling through 10
/// classes, normalised by mean 0.5 and std 0.25.
pub fn random_cifar_like(n: usize, seed: u64) -> sweep_nn::data::Dataset {
    let mut rng = Rand::new(seed);
    sweep_nn::data::Dataset {
        pixels: (0..n * 3 * 1024)
            .map(|_| ((rng.next() + 1.0) * 127.5) as u8)
            .collect(),
        labels: (0..n).map(|i| (i % 10) as u8).collect(),
        c: 3,
        h: 32,
        w: 32,
        classes: 10,
        mean: vec![0.5; 3],
        std: vec![0.25; 3],
    }
}
