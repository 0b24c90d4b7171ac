//! Network sweeps through the `sweepctl` binary (issue 6).
//!
//! * `synthetic_network_sweep_is_bitwise_the_kernels`: `examples/convnet-synthetic.toml` (no
//!   files): one row per point, every value bitwise equal to a direct `run_network` call, series
//!   rows for every log and measurement.
//! * `convnet_on_real_mnist_reaches_the_ideal_gas_radius`: `examples/convnet-mnist.toml`, a 3×3
//!   fixed-LR grid of ConvNet(2) on real MNIST run to stationarity (~2 minutes on 2 cores). At every
//!   point the stationary radius r̄ must lie within 10 % of the SDE's ideal-gas radius
//!   r*⁴ = η tr Σ/(2λ) from the measured tr Σ (SPEC §2.3, §7.5; the SDE leaves out ‖∇L‖², here
//!   10–20 % of tr Σ, i.e. 2.5–5 % of r), and within 5 % of the exact discrete balance of E‖w‖²,
//!   r⁴ = η (tr Σ + ‖∇L‖²) / (2λ (1 − ηλ/2)), which leaves out only the measurement noise of
//!   tr Σ + ‖∇L‖² (30 measurements of 16 batches: a few per cent on r⁴, under 2 % on r). The
//!   verdict must report the Maxwell fit with a value. Skipped, saying so, without MNIST
//!   (`scripts/fetch-data.sh mnist data/mnist`; CI fetches it).
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

use sweep_agent::network::{load_data, network_batch};
use sweep_agent::workload::point_result;
use sweep_kernels::observer::NoObserver;
use sweep_proto::v1;
use sweep_spec::Workload;

fn assignments(spec: &sweep_spec::SweepSpec) -> Vec<v1::PointAssignment> {
    spec.points()
        .iter()
        .map(|p| v1::PointAssignment {
            point: p.index,
            replica: p.replica,
            first: p.first,
            second: p.second,
        })
        .collect()
}

fn run(spec_text: &str, out: &std::path::Path) -> Vec<sweep_results::ResultRow> {
    let spec_path = out.with_extension("toml");
    std::fs::write(&spec_path, spec_text).unwrap();
    let o = common::sweepctl(
        &[
            "run",
            spec_path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert!(
        o.status.success(),
        "sweepctl run failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    sweep_results::read_results(out.join("results.parquet")).unwrap()
}

#[test]
fn synthetic_network_sweep_is_bitwise_the_kernels() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/convnet-synthetic.toml"
    ))
    .unwrap();
    let out = dir.path().join("syn");
    let rows = run(&text, &out);
    let spec = sweep_spec::parse(&text).unwrap();
    let Workload::Network(w) = &spec.workload else {
        panic!("not a network spec")
    };
    let a = assignments(&spec);
    assert_eq!(rows.len(), a.len());
    let data = load_data(w).unwrap();
    let direct = sweep_nn::sweep::run_network(
        &network_batch(&spec, w, &a),
        &data.train,
        data.test.as_ref(),
        &NoObserver,
    )
    .unwrap();
    let bits = |v: Option<f64>| v.map(f64::to_bits);
    for ((row, s), p) in rows.iter().zip(&direct).zip(&a) {
        let w = point_result(s, "cpu");
        assert_eq!(
            (row.point, row.replica, row.seed),
            (w.point, w.replica, w.seed)
        );
        assert_eq!((row.workload.as_str(), row.dim), ("convnet", 1530));
        assert_eq!(
            (row.elr, row.wd, row.lr),
            (Some(p.first), Some(p.second), None)
        );
        assert_eq!(row.status, sweep_results::Status::Done);
        for (name, x, y) in common::stored_and_direct(row, &w) {
            // fixed ELR: no wd_eff; everything else is measured for a network.
            if !name.starts_with("wd_eff") {
                assert!(x.is_some(), "point {} {name} missing", row.point);
            }
            assert_eq!(bits(x), bits(y), "point {} {name}", row.point);
        }
    }
    let series = sweep_results::read_series(out.join("series.parquet")).unwrap();
    for p in &a {
        let mine: Vec<_> = series.iter().filter(|s| s.point == p.point).collect();
        // Every 20th iteration of 400 logs ‖w‖ (20 rows); entropy at 200, 300, 400 (queue full
        // from 200); gradient measurements at 100, …, 400 and, in the window, 250 and 350 too.
        assert_eq!(mine.len(), 22, "point {}", p.point);
        let at = |f: fn(&sweep_results::SeriesRow) -> bool| -> Vec<u64> {
            mine.iter().filter(|s| f(s)).map(|s| s.iteration).collect()
        };
        assert_eq!(at(|s| s.entropy_unit.is_some()), [200, 300, 400]);
        assert_eq!(
            at(|s| s.trace_sigma.is_some()),
            [100, 200, 250, 300, 350, 400]
        );
        assert!(mine.iter().all(|s| s.radius.is_some() && s.loss.is_some()));
    }
    let verdict = std::fs::read_to_string(out.join("verdict.json")).unwrap();
    assert!(verdict.contains("\"workload\": \"convnet\""), "{verdict}");
}

fn mnist_dir() -> Option<PathBuf> {
    let root = std::env::var_os("THERMOSWEEP_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data")));
    let dir = root.join("mnist");
    if dir.join("train-images-idx3-ubyte").exists()
        || dir.join("train-images-idx3-ubyte.gz").exists()
    {
        Some(dir)
    } else {
        println!(
            "SKIPPED: no MNIST in {} (run scripts/fetch-data.sh mnist {})",
            dir.display(),
            dir.display()
        );
        None
    }
}

#[test]
fn convnet_on_real_mnist_reaches_the_ideal_gas_radius() {
    let Some(mnist) = mnist_dir() else { return };
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/convnet-mnist.toml"
    ))
    .unwrap()
    .replace(
        "data_dir = \"data/mnist\"",
        &format!("data_dir = {:?}", mnist.to_str().unwrap()),
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mnist");
    let rows = run(&text, &out);
    assert_eq!(rows.len(), 9);
    let mut report = String::new();
    let mut worst = (0.0f64, 0.0f64);
    for r in &rows {
        assert_eq!(
            r.status,
            sweep_results::Status::Done,
            "point {}: {:?}",
            r.point,
            r.error
        );
        let (eta, lambda) = (r.lr.unwrap(), r.wd.unwrap());
        let r_bar = r.radius_mean.unwrap();
        let trace = r.trace_sigma.unwrap();
        let grad_sq = r.full_grad_sq.unwrap();
        let sde = (eta * trace / (2.0 * lambda)).powf(0.25);
        let discrete =
            (eta * (trace + grad_sq) / (2.0 * lambda * (1.0 - eta * lambda / 2.0))).powf(0.25);
        let (e_sde, e_disc) = (r_bar / sde - 1.0, r_bar / discrete - 1.0);
        worst = (worst.0.max(e_sde.abs()), worst.1.max(e_disc.abs()));
        report += &format!(
            "lr {eta} wd {lambda}: r̄ {r_bar:.4}, SDE {sde:.4} ({:+.1} %), discrete {discrete:.4} ({:+.1} %), tr Σ {trace:.1}, ‖∇L‖² {grad_sq:.1}\n",
            100.0 * e_sde,
            100.0 * e_disc
        );
        // T is the fixed-LR closed form with the measured σ² (DESIGN §5).
        let sigma2 = trace / 1529.0;
        assert!((r.sigma2.unwrap() / sigma2 - 1.0).abs() < 1e-12);
        let t = (eta * lambda * sigma2 / (2.0 * 1529.0)).sqrt();
        assert!((r.temperature.unwrap() / t - 1.0).abs() < 1e-12);
    }
    println!("{report}");
    assert!(
        worst.0 < 0.10,
        "SDE radius off by {:.1} %:\n{report}",
        100.0 * worst.0
    );
    assert!(
        worst.1 < 0.05,
        "discrete radius off by {:.1} %:\n{report}",
        100.0 * worst.1
    );
    let verdict: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("verdict.json")).unwrap()).unwrap();
    let maxwell = verdict["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "V3.maxwell")
        .expect("the verdict reports V3.maxwell");
    assert!(
        maxwell["value"].as_f64().is_some_and(f64::is_finite),
        "{maxwell}"
    );
    assert!(
        maxwell["detail"]
            .as_str()
            .unwrap()
            .contains("quadratic entropy surface")
    );
    println!("V3.maxwell: {maxwell}");
}
