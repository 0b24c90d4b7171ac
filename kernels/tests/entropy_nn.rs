//! The nearest-neighbour engines against float64 brute force. Every engine finishes with the same
//! float64 distance function on the original rows, so agreement is required bit for bit
//! (`assert_eq!` on the f64 vectors), not within a tolerance.

mod entropy_common;

use entropy_common::Rng;
use sweep_kernels::entropy::{
    EntropyError, KD_TREE_MAX_DIM, NnEngine, Simd, avx512_available, nearest_neighbor_distances,
    nearest_neighbor_distances_with,
};

fn engines() -> Vec<NnEngine> {
    let mut e = vec![
        NnEngine::Auto,
        NnEngine::KdTree,
        NnEngine::Blocked(Simd::Auto),
        NnEngine::Blocked(Simd::Portable),
    ];
    if avx512_available() {
        e.push(NnEngine::Blocked(Simd::Avx512));
    }
    e
}

fn check_all(points: &[f64], n: usize, m: usize, what: &str) -> Vec<f64> {
    let want = nearest_neighbor_distances_with(points, n, m, NnEngine::BruteForce).expect("bf");
    for engine in engines() {
        let got = nearest_neighbor_distances_with(points, n, m, engine).expect("engine");
        assert_eq!(got, want, "{what}: {engine:?}, n={n}, m={m}");
    }
    want
}

fn uniform_points(rng: &mut Rng, n: usize, m: usize, scale: f64) -> Vec<f64> {
    (0..n * m).map(|_| scale * rng.uniform()).collect()
}

#[test]
fn engines_agree_on_random_data_across_the_switch_over() {
    let mut rng = Rng::new(1);
    let dims = [
        1,
        2,
        3,
        5,
        KD_TREE_MAX_DIM,
        KD_TREE_MAX_DIM + 1,
        20,
        47,
        129,
        300,
    ];
    // Sizes that are not multiples of the 48-row groups, 8-column slivers or 384-row blocks.
    for &n in &[2, 3, 47, 49, 97, 401, 1000] {
        for &m in &dims {
            let pts = uniform_points(&mut rng, n, m, std::f64::consts::PI);
            check_all(&pts, n, m, "uniform");
        }
    }
}

#[test]
fn engines_agree_at_large_dimension_across_k_blocks() {
    let mut rng = Rng::new(2);
    // m not a multiple of the 128-deep k-blocks; angles-like ranges, so norms grow like √m.
    for &(n, m) in &[(61, 1000), (130, 4099)] {
        let pts = uniform_points(&mut rng, n, m, std::f64::consts::PI);
        check_all(&pts, n, m, "large m");
    }
}

#[test]
fn duplicates_give_zero_distance() {
    let mut rng = Rng::new(3);
    for &m in &[3, 40] {
        let n = 150;
        let mut pts = uniform_points(&mut rng, n, m, 1.0);
        // Rows 10..20 copy rows 0..10; row 149 copies row 148.
        for i in 0..10 {
            let src = pts[i * m..(i + 1) * m].to_vec();
            pts[(i + 10) * m..(i + 11) * m].copy_from_slice(&src);
        }
        let src = pts[148 * m..149 * m].to_vec();
        pts[149 * m..].copy_from_slice(&src);
        let d = check_all(&pts, n, m, "duplicates");
        assert!(d[..20].iter().chain(&d[148..]).all(|&x| x == 0.0));
        // All rows identical: every engine must still answer 0 (the blocked engine through its
        // overflow fallback).
        let same = vec![0.25; 60 * m];
        assert!(
            check_all(&same, 60, m, "all equal")
                .iter()
                .all(|&x| x == 0.0)
        );
    }
}

/// Float32 ‖a‖² + ‖b‖² − 2a·b without centring, to show what the recheck rescues.
fn naive_f32_nn(points: &[f64], n: usize, m: usize) -> Vec<f64> {
    let p: Vec<f32> = points.iter().map(|&x| x as f32).collect();
    let norm: Vec<f32> = p.chunks(m).map(|r| r.iter().map(|x| x * x).sum()).collect();
    (0..n)
        .map(|i| {
            let a = &p[i * m..(i + 1) * m];
            (0..n)
                .filter(|&j| j != i)
                .map(|j| {
                    let b = &p[j * m..(j + 1) * m];
                    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
                    f64::from((norm[i] + norm[j] - 2.0 * dot).max(0.0)).sqrt()
                })
                .fold(f64::INFINITY, f64::min)
        })
        .collect()
}

#[test]
fn cancellation_is_rescued_by_centring_and_recheck() {
    let mut rng = Rng::new(4);
    let (n, m) = (200, 64);
    // One cluster at 1e3 with 1e-4 noise: centring removes the offset.
    let one: Vec<f64> = (0..n * m).map(|_| 1e3 + 1e-4 * rng.normal()).collect();
    let want = check_all(&one, n, m, "one cluster");
    let naive = naive_f32_nn(&one, n, m);
    let worst = naive
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs() / b)
        .fold(0.0, f64::max);
    assert!(
        worst > 0.5,
        "naive float32 should fail here (rel. error {worst})"
    );
    // Two clusters at ±1e3·v: centring cannot help, the float32 bound keeps every cluster member
    // as a candidate, lists overflow and the rows fall back to the exact search.
    let two: Vec<f64> = (0..n)
        .flat_map(|i| {
            let s = if i % 2 == 0 { 1e3 } else { -1e3 };
            (0..m)
                .map(|k| s * (1.0 + k as f64 / m as f64))
                .collect::<Vec<_>>()
        })
        .zip(std::iter::repeat_with(|| 1e-4 * rng.normal()))
        .map(|(c, e)| c + e)
        .collect();
    check_all(&two, n, m, "two clusters");
    // Tiny nearest distances next to big norms for a few pairs only (no overflow): near-copies.
    let mut mixed = uniform_points(&mut rng, n, m, 1e3);
    for i in 0..20 {
        let src: Vec<f64> = mixed[i * m..(i + 1) * m]
            .iter()
            .map(|x| x + 1e-7 * rng.normal())
            .collect();
        mixed[(i + 100) * m..(i + 101) * m].copy_from_slice(&src);
    }
    let d = check_all(&mixed, n, m, "near copies");
    assert!(d[..20].iter().all(|&x| x < 1e-5));
}

#[test]
fn simd_paths_agree() {
    let mut rng = Rng::new(5);
    let (n, m) = (333, 517);
    let pts = uniform_points(&mut rng, n, m, 3.0);
    let portable =
        nearest_neighbor_distances_with(&pts, n, m, NnEngine::Blocked(Simd::Portable)).expect("p");
    let avx = nearest_neighbor_distances_with(&pts, n, m, NnEngine::Blocked(Simd::Avx512));
    if avx512_available() {
        assert_eq!(avx.expect("avx512"), portable);
    } else {
        assert_eq!(avx, Err(EntropyError::SimdUnavailable("avx512f")));
    }
}

#[test]
fn bad_points_are_rejected() {
    let pts = [0.0, 1.0, 2.0, 3.0];
    assert_eq!(
        nearest_neighbor_distances(&pts, 1, 4),
        Err(EntropyError::TooFewSamples(1))
    );
    assert_eq!(
        nearest_neighbor_distances(&pts, 2, 0),
        Err(EntropyError::DimensionTooSmall { got: 0, min: 1 })
    );
    assert!(matches!(
        nearest_neighbor_distances(&pts, 3, 2),
        Err(EntropyError::LengthMismatch { .. })
    ));
    assert_eq!(
        nearest_neighbor_distances(&[0.0, f64::NAN, 1.0, 2.0], 2, 2),
        Err(EntropyError::NonFinite {
            what: "points",
            index: 1
        })
    );
    assert_eq!(
        nearest_neighbor_distances(&pts, usize::MAX, 2),
        Err(EntropyError::SizeOverflow)
    );
}
