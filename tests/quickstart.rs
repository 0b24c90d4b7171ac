//! The quickstart through the `sweepctl` binary (issue 3): one row per point, and every value
//! bitwise equal to a direct call of the kernels with the same seeds.
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
    let direct = run_isotropic(&isotropic_batch(&spec, &assignments), &NoObserver).unwrap();
    for ((row, s), a) in rows.iter().zip(&direct).zip(&assignments) {
        let w = point_result(s, "cpu");
        assert_eq!(
            (row.point, row.replica, row.seed),
            (w.point, w.replica, w.seed)
        );
        let bits = |v: Option<f64>| v.map(f64::to_bits);
        let pairs = [
            (row.loss_mean, w.loss_mean),
            (row.radius_mean, w.radius_mean),
            (row.entropy_unit, w.entropy_unit),
            (row.entropy, w.entropy),
            (row.sigma2, w.sigma2),
            (row.trace_sigma, w.trace_sigma),
            (row.full_grad_sq, w.full_grad_sq),
            (row.temperature, w.temperature),
            (row.pressure, w.pressure),
            (row.volume, w.volume),
            (row.wd_eff, w.wd_eff),
            (row.loss_sem, w.loss_sem),
            (row.radius_sem, w.radius_sem),
            (row.entropy_unit_sem, w.entropy_unit_sem),
        ];
        for (i, (a, b)) in pairs.into_iter().enumerate() {
            assert_eq!(
                bits(a),
                bits(b),
                "point {} replica {} value {i}",
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
