//! The reader's contract checks on files that `ParquetSink` did not write: wrong types and
//! missing columns are errors that name the column and the file; extra columns, other column
//! orders, other integer widths and missing extension columns are accepted.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns

use std::path::Path;
use std::sync::Arc;

use arrow_array::types::Int8Type;
use arrow_array::{
    Array, ArrayRef, DictionaryArray, Float32Array, Int64Array, LargeStringArray, NullArray,
    RecordBatch, StringArray,
};
use arrow_schema::{Field, Schema};
use parquet::arrow::ArrowWriter;
use sweep_results::{
    ParquetRow, ResultRow, ResultsError, SeriesRow, Status, read_results, read_series,
};

fn row(i: u32) -> ResultRow {
    ResultRow {
        sweep: "sw".into(),
        point: i,
        replica: 0,
        seed: 7 + u64::from(i),
        workload: "isotropic".into(),
        protocol: "fixed_lr".into(),
        dim: 3,
        lr: Some(0.01),
        elr: None,
        wd: Some(0.001),
        radius: None,
        iterations: 1000,
        loss_mean: Some(0.5),
        radius_mean: Some(1.5),
        entropy_unit: Some(1.0),
        entropy: Some(1.2),
        sigma2: Some(1.0),
        trace_sigma: Some(2.0),
        full_grad_sq: None,
        temperature: Some(0.1),
        pressure: Some(0.001),
        volume: Some(1.125),
        wd_eff: None,
        status: Status::Done,
        error: None,
        backend: "cpu".into(),
        agent: "a".into(),
        attempt: 1,
        wall_seconds: 2.5,
        loss_sem: Some(0.01),
        radius_sem: Some(0.02),
        entropy_unit_sem: Some(0.03),
        wd_eff_sem: None,
        wd_eff_linear: None,
        trace_sigma_sem: None,
        full_grad_sq_sem: None,
        test_loss: None,
        test_accuracy: None,
        adiabat: Some(3),
    }
}

fn rows() -> Vec<ResultRow> {
    (0..4).map(row).collect()
}

/// Our batch, with columns replaced (`Some`) or dropped (`None`) by name.
fn edited(batch: &RecordBatch, edits: &[(&str, Option<ArrayRef>)]) -> RecordBatch {
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        match edits.iter().find(|(name, _)| name == field.name()) {
            Some((_, None)) => {}
            Some((_, Some(new))) => {
                fields.push(Field::new(field.name(), new.data_type().clone(), true));
                columns.push(new.clone());
            }
            None => {
                fields.push(field.as_ref().clone());
                columns.push(column.clone());
            }
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}

fn write(path: &Path, batch: &RecordBatch) {
    let file = std::fs::File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
}

fn results_batch() -> RecordBatch {
    ResultRow::to_batch(&rows()).unwrap()
}

fn assert_names(err: &ResultsError, column: &str, path: &Path) {
    let text = err.to_string();
    assert!(text.contains(&format!("`{column}`")), "{text}");
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert_eq!(err.file(), path);
}

#[test]
fn wrong_type_is_an_error_naming_column_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.parquet");
    let text: ArrayRef = Arc::new(StringArray::from(vec!["3"; 4]));
    for column in ["dim", "temperature", "point"] {
        write(
            &path,
            &edited(&results_batch(), &[(column, Some(text.clone()))]),
        );
        let err = read_results(&path).unwrap_err();
        assert!(matches!(&err, ResultsError::WrongType { column: c, .. } if c == column));
        assert_names(&err, column, &path);
    }
    let floats: ArrayRef = Arc::new(Float32Array::from(vec![1.0; 4]));
    write(
        &path,
        &edited(&results_batch(), &[("status", Some(floats))]),
    );
    assert_names(&read_results(&path).unwrap_err(), "status", &path);
}

#[test]
fn missing_column_is_an_error_naming_column_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.parquet");
    for column in ["temperature", "sweep", "wall_seconds", "error"] {
        write(&path, &edited(&results_batch(), &[(column, None)]));
        let err = read_results(&path).unwrap_err();
        assert!(matches!(&err, ResultsError::MissingColumn { column: c, .. } if c == column));
        assert_names(&err, column, &path);
    }
    // Checked on a file with no rows too.
    let empty = ResultRow::to_batch(&[]).unwrap();
    write(&path, &edited(&empty, &[("dim", None)]));
    assert_names(&read_results(&path).unwrap_err(), "dim", &path);
    // And for series.
    let series = SeriesRow::to_batch(&[]).unwrap();
    write(&path, &edited(&series, &[("iteration", None)]));
    assert_names(&read_series(&path).unwrap_err(), "iteration", &path);
}

#[test]
fn extra_columns_and_missing_extension_columns_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.parquet");
    let extensions = [
        "loss_sem",
        "radius_sem",
        "entropy_unit_sem",
        "wd_eff_sem",
        "wd_eff_linear",
        "trace_sigma_sem",
        "full_grad_sq_sem",
        "test_loss",
        "test_accuracy",
        "adiabat",
    ];
    let edits: Vec<(&str, Option<ArrayRef>)> = extensions.iter().map(|c| (*c, None)).collect();
    let batch = edited(&results_batch(), &edits);
    // An extra column, and the columns in reverse order.
    let mut fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    let mut columns = batch.columns().to_vec();
    fields.push(Field::new("note", arrow_schema::DataType::Utf8, false));
    columns.push(Arc::new(StringArray::from(vec!["note"; 4])));
    fields.reverse();
    columns.reverse();
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    write(&path, &batch);
    let read = read_results(&path).unwrap();
    let expected: Vec<ResultRow> = rows()
        .into_iter()
        .map(|r| ResultRow {
            loss_sem: None,
            radius_sem: None,
            entropy_unit_sem: None,
            adiabat: None,
            ..r
        })
        .collect();
    assert_eq!(read, expected);
}

#[test]
fn other_encodings_are_accepted_when_values_fit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.parquet");
    let int64: ArrayRef = Arc::new(Int64Array::from(vec![0, 1, 2, 3]));
    let nulls: ArrayRef = Arc::new(NullArray::new(4));
    let status: DictionaryArray<Int8Type> = vec!["done"; 4].into_iter().collect();
    let agent: ArrayRef = Arc::new(LargeStringArray::from(vec!["a"; 4]));
    let batch = edited(
        &results_batch(),
        &[
            ("point", Some(int64)),
            ("error", Some(nulls.clone())),
            ("elr", Some(nulls)),
            ("status", Some(Arc::new(status))),
            ("agent", Some(agent)),
        ],
    );
    write(&path, &batch);
    assert_eq!(read_results(&path).unwrap(), rows());
    // The same schema with no rows (an empty dictionary).
    write(&path, &batch.slice(0, 0));
    assert!(read_results(&path).unwrap().is_empty());

    let negative: ArrayRef = Arc::new(Int64Array::from(vec![0, 1, -2, 3]));
    write(
        &path,
        &edited(&results_batch(), &[("point", Some(negative))]),
    );
    let err = read_results(&path).unwrap_err();
    assert!(
        matches!(err, ResultsError::BadValue { row: 2, .. }),
        "{err:?}"
    );
    assert_names(&err, "point", &path);
}

#[test]
fn nulls_in_non_null_columns_and_unknown_status_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.parquet");
    let agents: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None, Some("c"), None]));
    write(&path, &edited(&results_batch(), &[("agent", Some(agents))]));
    let err = read_results(&path).unwrap_err();
    assert!(
        matches!(err, ResultsError::BadValue { row: 1, .. }),
        "{err:?}"
    );
    assert_names(&err, "agent", &path);

    let status: ArrayRef = Arc::new(StringArray::from(vec!["done", "done", "done", "running"]));
    write(
        &path,
        &edited(&results_batch(), &[("status", Some(status))]),
    );
    let err = read_results(&path).unwrap_err();
    assert!(err.to_string().contains("running"), "{err}");
    assert_names(&err, "status", &path);
}

#[test]
fn unreadable_files_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.parquet");
    let err = read_results(&path).unwrap_err();
    assert!(matches!(err, ResultsError::Io { .. }), "{err:?}");
    assert_eq!(err.file(), path);
    std::fs::write(&path, b"not parquet at all").unwrap();
    let err = read_results(&path).unwrap_err();
    assert!(matches!(err, ResultsError::Parquet { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}
