//! The sweep spec's `[analysis]` table (parsed by sweep-spec) is the override map of
//! `AnalysisOptions::tolerances`: same check ids, applied by id.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Level, isotropic_grid, paper_axes};
use sweep_analysis::{AnalysisOptions, CHECK_IDS, analyse};
use sweep_theory::Protocol;

#[test]
fn check_ids_match_the_spec_crate() {
    assert_eq!(CHECK_IDS, sweep_spec::validate::CHECK_IDS);
}

#[test]
fn analysis_table_overrides_by_id() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/quickstart.toml"
    ))
    .unwrap();
    let text = format!("{text}\n[analysis]\n\"V3.maxwell\" = 0.25\n\"vmf.entropy\" = 0.5\n");
    let spec = sweep_spec::parse(&text).unwrap();
    let options = AnalysisOptions {
        tolerances: spec.analysis.clone(),
        ..AnalysisOptions::default()
    };
    let (a, b) = paper_axes(Protocol::FixedLr);
    let v = analyse(
        &isotropic_grid(Protocol::FixedLr, 3, &a, &b, Level::Discrete),
        &options,
    )
    .unwrap();
    for (id, tol) in [("V3.maxwell", 0.25), ("vmf.entropy", 0.5)] {
        let c = v.check(id).unwrap();
        assert!(c.tolerance_overridden && c.tolerance == tol, "{c:?}");
    }
    assert!(!v.check("ideal_gas").unwrap().tolerance_overridden);
}
