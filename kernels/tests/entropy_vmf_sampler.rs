//! Wood's VMF sampler against exact moments. Every check compares a sample mean with its exact
//! expectation within 4.5 standard errors (estimated from the sample): a correct sampler fails one
//! such check with probability ~7e-6, so over the ~60 checks here a false alarm has odds ~4e-4,
//! while a wrong constant in Wood's algorithm shifts ⟨u, μ⟩ by many standard errors.

mod entropy_common;

use entropy_common::Rng;
use sweep_kernels::vmf_sampler::{SamplerError, sample_vmf};
use sweep_theory::VmfStats;

const Z: f64 = 4.5;

fn mean_and_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

fn assert_mean(xs: &[f64], want: f64, what: &str) {
    let (mean, se) = mean_and_se(xs);
    assert!(
        (mean - want).abs() <= Z * se + 1e-15,
        "{what}: mean {mean} vs {want} (se {se})"
    );
}

fn draw(_d: usize, kappa: f64, n: usize, mu: &[f64], seed: u64) -> Vec<f64> {
    let rng = std::cell::RefCell::new(Rng::new(seed));
    sample_vmf(mu, kappa, n, &mut || rng.borrow_mut().normal(), &mut || {
        rng.borrow_mut().uniform()
    })
    .expect("sample")
}

/// An orthonormal pair (q1, q2) orthogonal to the unit vector `mu` (Gram–Schmidt on e_1, e_2, e_3).
fn tangent_pair(mu: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let d = mu.len();
    let mut basis: Vec<Vec<f64>> = vec![mu.to_vec()];
    for k in 0..d {
        let mut v = vec![0.0; d];
        v[k] = 1.0;
        for b in &basis {
            let p: f64 = v.iter().zip(b).map(|(x, y)| x * y).sum();
            v.iter_mut().zip(b).for_each(|(x, y)| *x -= p * y);
        }
        let nv = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if nv > 1e-6 {
            v.iter_mut().for_each(|x| *x /= nv);
            basis.push(v);
        }
        if basis.len() == 3 {
            break;
        }
    }
    (basis[1].clone(), basis[2].clone())
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn mean_cosine_matches_closed_form_in_three_dimensions() {
    let mu = [0.0, 0.0, 1.0];
    for (seed, &kappa) in [0.5, 2.0, 10.0, 100.0, 1e4].iter().enumerate() {
        let n = 20_000;
        let u = draw(3, kappa, n, &mu, 100 + seed as u64);
        let cos: Vec<f64> = u.chunks_exact(3).map(|r| dot(r, &mu)).collect();
        // A_3(κ) = coth κ − 1/κ.
        let a3 = 1.0 / kappa.tanh() - 1.0 / kappa;
        assert_mean(&cos, a3, &format!("d=3 κ={kappa}"));
    }
}

#[test]
fn mean_cosine_and_tangent_isotropy_match_theory() {
    let mut rng = Rng::new(7);
    for &(d, kappa) in &[
        (2, 3.0),
        (5, 1.0),
        (10, 25.0),
        (50, 300.0),
        (1000, 1e5),
        (200, 1e8),
    ] {
        let mu = rng.unit_vector(d);
        let n = 8000;
        let u = draw(d, kappa, n, &mu, 1000 + d as u64);
        let stats = VmfStats::new(d, kappa).expect("theory");
        let cos: Vec<f64> = u.chunks_exact(d).map(|r| dot(r, &mu)).collect();
        assert_mean(&cos, stats.mean_cos, &format!("d={d} κ={kappa} cos"));
        for row in u.chunks_exact(d) {
            assert!(
                (dot(row, row) - 1.0).abs() < 1e-12,
                "unit rows d={d}: {}",
                dot(row, row) - 1.0
            );
        }
        if d < 3 {
            continue;
        }
        // Tangent isotropy: ⟨u,q1⟩ and ⟨u,q2⟩ have mean 0, equal second moments
        // (1 − E w²)/(d − 1), and are uncorrelated.
        let (q1, q2) = tangent_pair(&mu);
        let t1: Vec<f64> = u.chunks_exact(d).map(|r| dot(r, &q1)).collect();
        let t2: Vec<f64> = u.chunks_exact(d).map(|r| dot(r, &q2)).collect();
        let ew2 = cos.iter().map(|c| c * c).sum::<f64>() / n as f64;
        let want2 = (1.0 - ew2) / (d - 1) as f64;
        let what = format!("d={d} κ={kappa}");
        assert_mean(&t1, 0.0, &format!("{what} t1"));
        assert_mean(&t2, 0.0, &format!("{what} t2"));
        let sq1: Vec<f64> = t1.iter().map(|x| x * x).collect();
        let sq2: Vec<f64> = t2.iter().map(|x| x * x).collect();
        // want2 itself is estimated; its error is ≪ the SE of a single squared component.
        assert_mean(&sq1, want2, &format!("{what} t1²"));
        assert_mean(&sq2, want2, &format!("{what} t2²"));
        let cross: Vec<f64> = t1.iter().zip(&t2).map(|(a, b)| a * b).collect();
        assert_mean(&cross, 0.0, &format!("{what} t1·t2"));
    }
}

#[test]
fn bad_arguments_are_rejected() {
    let mut normal = || 0.3;
    let mut uniform = || 0.5;
    assert_eq!(
        sample_vmf(&[1.0], 1.0, 3, &mut normal, &mut uniform),
        Err(SamplerError::DimensionTooSmall(1))
    );
    assert_eq!(
        sample_vmf(&[0.0, 0.0], 1.0, 3, &mut normal, &mut uniform),
        Err(SamplerError::InvalidMean)
    );
    assert_eq!(
        sample_vmf(&[1.0, f64::NAN], 1.0, 3, &mut normal, &mut uniform),
        Err(SamplerError::InvalidMean)
    );
    assert_eq!(
        sample_vmf(&[1.0, 0.0], -1.0, 3, &mut normal, &mut uniform),
        Err(SamplerError::InvalidConcentration(-1.0))
    );
    let mut bad_uniform = || 1.0;
    assert_eq!(
        sample_vmf(&[1.0, 0.0], 1.0, 3, &mut normal, &mut bad_uniform),
        Err(SamplerError::InvalidDraw("uniform"))
    );
    assert_eq!(
        sample_vmf(&[1.0, 0.0, 0.0], 1.0, usize::MAX, &mut normal, &mut uniform),
        Err(SamplerError::SizeOverflow)
    );
    assert_eq!(
        sample_vmf(&[1.0, 0.0], 1.0, 0, &mut normal, &mut uniform),
        Ok(vec![])
    );
}
