//! The spherical KL estimator against the independent NumPy reference vectors of
//! `testdata/golden.json` ("kl" section). Tolerance 1e-12: every quantity is a short chain of
//! well-conditioned float64 operations (atan2, logs of partial sums, one KL sum), so the two
//! implementations can differ by a few hundred ulps at most.

use serde_json::Value;
use sweep_kernels::entropy::{
    EstimatorMode, angles_and_log_jacobians, estimate, nearest_neighbor_distances,
    reflect_to_reference,
};

const TOL: f64 = 1e-12;

fn golden() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/golden.json");
    let text = std::fs::read_to_string(path).expect("read golden.json");
    serde_json::from_str(&text).expect("parse golden.json")
}

fn matrix(v: &Value) -> (Vec<f64>, usize) {
    let rows = v.as_array().expect("array");
    let cols = rows[0].as_array().expect("row").len();
    let flat = rows
        .iter()
        .flat_map(|r| {
            r.as_array()
                .expect("row")
                .iter()
                .map(|x| x.as_f64().expect("num"))
        })
        .collect();
    (flat, cols)
}

fn vector(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("num"))
        .collect()
}

fn num(v: &Value) -> f64 {
    v.as_f64().expect("number")
}

fn assert_close(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= TOL, "{what}[{i}]: {g} vs {w}");
    }
}

#[test]
fn small_sample_matches_reference_step_by_step() {
    let g = golden();
    let s = &g["kl"]["small"];
    let (u, d) = matrix(&s["U"]);
    let n = u.len() / d;
    assert_eq!((n, d), (20, 5));
    let (theta, log_j) = angles_and_log_jacobians(&u, d, EstimatorMode::Raw).expect("angles");
    assert_close(&theta, &matrix(&s["theta"]).0, "theta");
    assert_close(&log_j, &vector(&s["logJ"]), "logJ");
    let nn = nearest_neighbor_distances(&theta, n, d - 1).expect("nn");
    assert_close(&nn, &vector(&s["nn"]), "nn");

    let radii = vec![1.0; n];
    let raw = estimate(&u, &radii, d, EstimatorMode::Raw).expect("estimate");
    assert_close(&[raw.angle_entropy], &[num(&s["H_theta"])], "H_theta");
    assert_close(
        &[raw.mean_log_jacobian],
        &[num(&s["mean_logJ"])],
        "mean_logJ",
    );
    assert_close(&[raw.entropy_unit, raw.entropy], &[num(&s["H"]); 2], "H");

    let rotated = reflect_to_reference(&u, d).expect("reflect");
    assert_close(&rotated, &matrix(&s["U_rot"]).0, "U_rot");
    let refl = estimate(&u, &radii, d, EstimatorMode::Reflected).expect("estimate");
    assert_close(&[refl.entropy_unit], &[num(&s["H_rot"])], "H_rot");
}

#[test]
fn medium_sample_matches_reference() {
    let g = golden();
    let s = &g["kl"]["medium"];
    let (u, d) = matrix(&s["U"]);
    let n = u.len() / d;
    assert_eq!((n, d), (500, 10));
    let radii = vec![1.0; n];
    let raw = estimate(&u, &radii, d, EstimatorMode::Raw).expect("estimate");
    assert_close(&[raw.entropy_unit], &[num(&s["H"])], "H");
    let refl = estimate(&u, &radii, d, EstimatorMode::Reflected).expect("estimate");
    assert_close(&[refl.entropy_unit], &[num(&s["H_rot"])], "H_rot");
    assert_eq!((refl.samples, refl.dim), (n, d));
}
