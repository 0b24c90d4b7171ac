//! The quickstart through the `sweepctl` binary (issues 3 and 4): one row per point, every value
//! bitwise equal to a direct call of the kernels with the same seeds, a verdict on which every
//! applicable check passes, and `sweepctl report --strict` exiting 3 once a law is broken.
#![allow(clippy::unwrap_used)]

mod common;

use sweep_agent::workload::{isotropic_batch, point_result};
use sweep_kernels::isotropic::run_isotropic;
use sweep_kernels::observer::NoObserver;
use sweep_proto::v1;

#[test]
fn quickstart_results_are_one_row_per_point_and_bitwise_the_kernels() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("qs");
    let spec_path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart.toml");
    let o = common::sweepctl(&["run", spec_path, "--out", out.to_str().unwrap()], None);
    assert!(
        o.status.success(),
        "sweepctl run failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let rows = sweep_results::read_results(out.join("results.parquet")).unwrap();
    let spec = sweep_spec::parse(&std::fs::read_to_string(spec_path).unwrap()).unwrap();
    let points = spec.points();
    assert_eq!(rows.len(), points.len());

    let assignments: Vec<v1::PointAssignment> = points
        .iter()
        .map(|p| v1::PointAssignment {
            point: p.index,
            replica: p.replica,
            first: p.first,
            second: p.second,
        })
        .collect();
    let direct = run_isotropic(
        &isotropic_batch(&spec, &assignments).expect("isotropic"),
        &NoObserver,
    )
    .unwrap();
    for ((row, s), a) in rows.iter().zip(&direct).zip(&assignments) {
        let w = point_result(s, "cpu");
        assert_eq!(
            (row.point, row.replica, row.seed),
            (w.point, w.replica, w.seed)
        );
        let bits = |v: Option<f64>| v.map(f64::to_bits);
        for (name, a, b) in common::stored_and_direct(row, &w) {
            assert_eq!(
                bits(a),
                bits(b),
                "point {} replica {} {name}",
                row.point,
                row.replica
            );
        }
        assert!(row.loss_mean.is_some() && row.entropy.is_some());
        assert_eq!((row.lr, row.wd), (Some(a.first), Some(a.second)));
        assert_eq!((row.elr, row.radius), (None, None));
    }
    let series = sweep_results::read_series(out.join("series.parquet")).unwrap();
    let per_chain = spec.schedule.iterations / spec.schedule.log_every;
    assert_eq!(series.len() as u64, per_chain * points.len() as u64);
}

fn verdict(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("verdict.json")).unwrap()).unwrap()
}

#[test]
fn the_quickstart_passes_every_check_and_a_broken_law_fails_under_strict() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("qs");
    let spec_path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart.toml");
    let o = common::sweepctl(
        &["run", spec_path, "--out", out.to_str().unwrap(), "--strict"],
        None,
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = verdict(&out);
    let checks = v["checks"].as_array().unwrap();
    let ids: Vec<&str> = checks.iter().map(|c| c["id"].as_str().unwrap()).collect();
    for id in [
        "ideal_gas",
        "V1.radius",
        "V1.radius_discrete",
        "V2.potential",
        "V3.maxwell",
        "vmf.energy",
        "vmf.entropy",
    ] {
        assert!(ids.contains(&id), "{id} ran: {ids:?}");
    }
    assert!(checks.iter().all(|c| c["pass"] == true), "{stdout}");
    for f in [
        "report.html",
        "report.md",
        "plots/radius.svg",
        "plots/radius.png",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    assert!(
        !out.join(".coordinator").exists(),
        "a completed run leaves only its results"
    );

    // The same results with every radius 10 % too large: the radius laws fail.
    let broken = dir.path().join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    let rows: Vec<sweep_results::ResultRow> =
        sweep_results::read_results(out.join("results.parquet"))
            .unwrap()
            .into_iter()
            .map(|mut r| {
                r.radius_mean = r.radius_mean.map(|x| x * 1.1);
                r.volume = r.volume.map(|v| v * 1.21);
                r
            })
            .collect();
    let mut sink = sweep_results::ParquetSink::<sweep_results::ResultRow>::create(
        broken.join("results.parquet"),
        sweep_results::SinkOptions::default(),
    )
    .unwrap();
    sink.send(rows).unwrap();
    sink.finish().unwrap();
    let lenient = common::sweepctl(&["report", broken.to_str().unwrap()], None);
    assert_eq!(
        lenient.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&lenient.stderr)
    );
    let strict = common::sweepctl(&["report", broken.to_str().unwrap(), "--strict"], None);
    let stderr = String::from_utf8_lossy(&strict.stderr);
    assert_eq!(strict.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("ideal_gas") && stderr.contains("V1.radius"),
        "{stderr}"
    );
    let v = verdict(&broken);
    let failed: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["pass"] == false)
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(
        failed.contains(&"ideal_gas") && failed.contains(&"V1.radius"),
        "{failed:?}"
    );
    assert!(
        !failed.contains(&"vmf.energy") && !failed.contains(&"vmf.entropy"),
        "{failed:?}"
    );
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let none = common::sweepctl(&["report", empty.to_str().unwrap()], None);
    assert_eq!(none.status.code(), Some(2));
}
