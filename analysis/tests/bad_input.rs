//! Bad input gives a typed error naming the problem, never a panic.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Level, isotropic_grid, paper_axes};
use sweep_analysis::{AnalysisError, AnalysisOptions, analyse};
use sweep_results::Status;
use sweep_theory::Protocol;

fn grid() -> Vec<sweep_results::ResultRow> {
    let (a, b) = paper_axes(Protocol::FixedElr);
    isotropic_grid(Protocol::FixedElr, 3, &a, &b, Level::Discrete)
}

#[test]
fn empty_rows_are_an_error() {
    assert!(matches!(
        analyse(&[], &AnalysisOptions::default()),
        Err(AnalysisError::Empty)
    ));
}

#[test]
fn mixed_protocols_are_an_error() {
    let mut rows = grid();
    let (a, b) = paper_axes(Protocol::FixedLr);
    rows.extend(isotropic_grid(
        Protocol::FixedLr,
        3,
        &a,
        &b,
        Level::Discrete,
    ));
    let err = analyse(&rows, &AnalysisOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            AnalysisError::Mixed {
                column: "protocol",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("fixed_elr") && err.to_string().contains("fixed_lr"));
}

#[test]
fn nan_values_name_the_column_and_point() {
    let mut rows = grid();
    rows[7].entropy_unit = Some(f64::NAN);
    let err = analyse(&rows, &AnalysisOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            AnalysisError::BadValue {
                column: "entropy_unit",
                point: 7,
                ..
            }
        ),
        "{err}"
    );
    let mut rows = grid();
    rows[3].radius_mean = None;
    let err = analyse(&rows, &AnalysisOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            AnalysisError::Missing {
                column: "radius_mean",
                point: 3,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn failed_rows_are_excluded_and_counted() {
    let mut rows = grid();
    rows[0].status = Status::Diverged;
    rows[0].loss_mean = Some(f64::NAN);
    rows[1].status = Status::Failed;
    let v = analyse(&rows, &AnalysisOptions::default()).unwrap();
    assert_eq!(v.rows_total, 25);
    assert_eq!(v.rows_excluded.get("diverged"), Some(&1));
    assert_eq!(v.rows_excluded.get("failed"), Some(&1));
    assert_eq!(v.points.len(), 23);
    for r in &mut rows {
        r.status = Status::Failed;
    }
    assert!(matches!(
        analyse(&rows, &AnalysisOptions::default()),
        Err(AnalysisError::NoDoneRows { total: 25, .. })
    ));
}

#[test]
fn too_few_points_for_the_fit_is_a_named_skip() {
    let (a, b) = paper_axes(Protocol::FixedElr);
    let rows = isotropic_grid(Protocol::FixedElr, 3, &a[..2], &b[..2], Level::Discrete);
    let v = analyse(&rows, &AnalysisOptions::default()).unwrap();
    let s = v.skipped.iter().find(|s| s.id == "V3.maxwell").unwrap();
    assert!(s.applicable && s.reason.contains("4 points"), "{s:?}");
    assert!(v.fit.is_none());
    assert!(!v.all_passed());
}

#[test]
fn overrides_replace_tolerances_and_bad_overrides_are_rejected() {
    let rows = grid();
    let mut o = AnalysisOptions::default();
    o.tolerances.insert("vmf.energy".to_owned(), 0.0);
    o.tolerances.insert("ideal_gas".to_owned(), 1.0);
    let v = analyse(&rows, &o).unwrap();
    let c = v.check("ideal_gas").unwrap();
    assert!(c.tolerance_overridden && c.tolerance == 1.0 && c.default_tolerance < 1.0);
    o.tolerances.insert("V9.nonsense".to_owned(), 1.0);
    assert!(matches!(analyse(&rows, &o), Err(AnalysisError::Option(_))));
    let mut o = AnalysisOptions::default();
    o.tolerances.insert("V1.radius".to_owned(), f64::NAN);
    assert!(matches!(analyse(&rows, &o), Err(AnalysisError::Option(_))));
}
