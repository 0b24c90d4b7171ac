//! `results.parquet` and `series.parquet` written by `ParquetSink` and read back: the column
//! contract of DESIGN §5, bit-exact floats (NaN payloads, ±inf, −0), nulls, row groups, empty
//! files.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns

use std::path::Path;

use arrow_schema::DataType;
use parquet::file::reader::{FileReader, SerializedFileReader};
use sweep_results::{
    ParquetSink, ResultRow, SeriesRow, SinkOptions, Status, read_results, read_series,
    results_schema, series_schema,
};

/// DESIGN §5, in order, then the extension columns.
const RESULT_COLUMNS: &[(&str, DataType)] = &[
    ("sweep", DataType::Utf8),
    ("point", DataType::UInt32),
    ("replica", DataType::UInt32),
    ("seed", DataType::UInt64),
    ("workload", DataType::Utf8),
    ("protocol", DataType::Utf8),
    ("dim", DataType::UInt64),
    ("lr", DataType::Float64),
    ("elr", DataType::Float64),
    ("wd", DataType::Float64),
    ("radius", DataType::Float64),
    ("iterations", DataType::UInt64),
    ("loss_mean", DataType::Float64),
    ("radius_mean", DataType::Float64),
    ("entropy_unit", DataType::Float64),
    ("entropy", DataType::Float64),
    ("sigma2", DataType::Float64),
    ("trace_sigma", DataType::Float64),
    ("full_grad_sq", DataType::Float64),
    ("temperature", DataType::Float64),
    ("pressure", DataType::Float64),
    ("volume", DataType::Float64),
    ("wd_eff", DataType::Float64),
    ("status", DataType::Utf8),
    ("error", DataType::Utf8),
    ("backend", DataType::Utf8),
    ("agent", DataType::Utf8),
    ("attempt", DataType::UInt32),
    ("wall_seconds", DataType::Float64),
    ("loss_sem", DataType::Float64),
    ("radius_sem", DataType::Float64),
    ("entropy_unit_sem", DataType::Float64),
    ("wd_eff_sem", DataType::Float64),
    ("wd_eff_linear", DataType::Float64),
    ("trace_sigma_sem", DataType::Float64),
    ("full_grad_sq_sem", DataType::Float64),
    ("test_loss", DataType::Float64),
    ("test_accuracy", DataType::Float64),
    ("adiabat", DataType::UInt32),
];

const SERIES_COLUMNS: &[(&str, DataType)] = &[
    ("sweep", DataType::Utf8),
    ("point", DataType::UInt32),
    ("replica", DataType::UInt32),
    ("iteration", DataType::UInt64),
    ("loss", DataType::Float64),
    ("radius", DataType::Float64),
    ("entropy_unit", DataType::Float64),
    ("entropy", DataType::Float64),
    ("trace_sigma", DataType::Float64),
    ("full_grad_sq", DataType::Float64),
];

/// Floats that a careless encoder would change.
const SPECIAL: &[f64] = &[
    f64::NAN,
    -f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    0.0,
    -0.0,
    f64::MIN_POSITIVE,
    f64::MAX,
    f64::MIN,
    1e-320, // subnormal
    std::f64::consts::PI,
];

fn nan_with_payload(payload: u64) -> f64 {
    f64::from_bits(0x7ff8_0000_0000_0000 | (payload & 0x0007_ffff_ffff_ffff))
}

fn special(i: usize) -> Option<f64> {
    match i % (SPECIAL.len() + 2) {
        k if k < SPECIAL.len() => Some(SPECIAL[k]),
        k if k == SPECIAL.len() => Some(nan_with_payload(0xdead_beef ^ i as u64)),
        _ => None,
    }
}

/// Row `i`: every float column takes special values or null, offset per column so that rows
/// differ column by column.
fn result_row(i: usize) -> ResultRow {
    let f = |c: usize| special(i + c);
    ResultRow {
        sweep: format!("sweep-{}", i % 3),
        point: i as u32,
        replica: (i % 4) as u32,
        seed: u64::MAX - i as u64,
        workload: "isotropic".into(),
        protocol: ["fixed_lr", "fixed_elr", "fixed_sphere"][i % 3].into(),
        dim: 3 + i as u64,
        lr: f(1),
        elr: f(2),
        wd: f(3),
        radius: f(4),
        iterations: 2_000_000 + i as u64,
        loss_mean: f(5),
        radius_mean: f(6),
        entropy_unit: f(7),
        entropy: f(8),
        sigma2: f(9),
        trace_sigma: f(10),
        full_grad_sq: f(11),
        temperature: f(12),
        pressure: f(0),
        volume: f(1),
        wd_eff: f(2),
        status: [Status::Done, Status::Diverged, Status::Failed][i % 3],
        error: (!i.is_multiple_of(3)).then(|| format!("point {i}: état ≠ fini ✗")),
        backend: if i.is_multiple_of(2) { "cpu" } else { "cuda" }.into(),
        agent: format!("agent-{}", i % 5),
        attempt: (i % 3) as u32 + 1,
        wall_seconds: SPECIAL[i % SPECIAL.len()],
        loss_sem: f(3),
        radius_sem: f(4),
        entropy_unit_sem: f(5),
        wd_eff_sem: f(6),
        wd_eff_linear: f(7),
        trace_sigma_sem: f(7),
        full_grad_sq_sem: f(7),
        test_loss: f(7),
        test_accuracy: f(7),
        adiabat: (!i.is_multiple_of(4)).then_some(i as u32 % 7),
    }
}

fn series_row(i: usize) -> SeriesRow {
    let f = |c: usize| special(i + c);
    SeriesRow {
        sweep: "s".into(),
        point: (i / 100) as u32,
        replica: 0,
        iteration: 50 * i as u64,
        loss: f(0),
        radius: f(1),
        entropy_unit: f(2),
        entropy: f(3),
        trace_sigma: f(4),
        full_grad_sq: f(5),
    }
}

fn result_floats(r: &ResultRow) -> Vec<Option<u64>> {
    [
        r.lr,
        r.elr,
        r.wd,
        r.radius,
        r.loss_mean,
        r.radius_mean,
        r.entropy_unit,
        r.entropy,
        r.sigma2,
        r.trace_sigma,
        r.full_grad_sq,
        r.temperature,
        r.pressure,
        r.volume,
        r.wd_eff,
        Some(r.wall_seconds),
        r.loss_sem,
        r.radius_sem,
        r.entropy_unit_sem,
        r.wd_eff_sem,
        r.wd_eff_linear,
        r.trace_sigma_sem,
        r.full_grad_sq_sem,
        r.test_loss,
        r.test_accuracy,
    ]
    .map(|v| v.map(f64::to_bits))
    .to_vec()
}

/// The non-float fields (floats compared by bits separately).
fn result_rest(r: &ResultRow) -> String {
    let (s, e) = (&r.status, &r.error);
    format!(
        "{} {} {} {} {} {} {} {} {s} {e:?} {} {} {} {:?}",
        r.sweep,
        r.point,
        r.replica,
        r.seed,
        r.workload,
        r.protocol,
        r.dim,
        r.iterations,
        r.backend,
        r.agent,
        r.attempt,
        r.adiabat
    )
}

fn assert_results_bitwise(written: &[ResultRow], read: &[ResultRow]) {
    assert_eq!(written.len(), read.len());
    for (i, (w, r)) in written.iter().zip(read).enumerate() {
        assert_eq!(result_rest(w), result_rest(r), "row {i}");
        assert_eq!(result_floats(w), result_floats(r), "row {i} floats (bits)");
    }
}

fn series_bits(r: &SeriesRow) -> (String, u32, u32, u64, Vec<Option<u64>>) {
    let floats = [
        r.loss,
        r.radius,
        r.entropy_unit,
        r.entropy,
        r.trace_sigma,
        r.full_grad_sq,
    ];
    let bits = floats.map(|v| v.map(f64::to_bits)).to_vec();
    (r.sweep.clone(), r.point, r.replica, r.iteration, bits)
}

fn options(row_group_rows: usize) -> SinkOptions {
    SinkOptions {
        row_group_rows,
        ..SinkOptions::default()
    }
}

fn row_group_sizes(path: &Path) -> Vec<i64> {
    let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    reader
        .metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows())
        .collect()
}

#[test]
fn schemas_are_the_design_columns_in_order() {
    for (schema, expected) in [
        (results_schema(), RESULT_COLUMNS),
        (series_schema(), SERIES_COLUMNS),
    ] {
        let got: Vec<(&str, DataType)> = schema
            .fields()
            .iter()
            .map(|f| (f.name().as_str(), f.data_type().clone()))
            .collect();
        assert_eq!(got, expected.to_vec());
    }
    let schema = results_schema();
    let nullable = |name: &str| schema.field_with_name(name).unwrap().is_nullable();
    for name in [
        "lr",
        "elr",
        "wd",
        "radius",
        "error",
        "loss_mean",
        "wd_eff",
        "wd_eff_linear",
        "trace_sigma_sem",
        "full_grad_sq_sem",
        "test_loss",
        "test_accuracy",
    ] {
        assert!(nullable(name), "{name} must be nullable");
    }
    for name in [
        "sweep",
        "point",
        "replica",
        "seed",
        "status",
        "attempt",
        "wall_seconds",
    ] {
        assert!(!nullable(name), "{name} must not be nullable");
    }
}

#[test]
fn results_round_trip_nulls_nan_and_infinities_bitwise() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.parquet");
    let rows: Vec<ResultRow> = (0..300).map(result_row).collect();
    let mut sink = ParquetSink::create(&path, options(64)).unwrap();
    for chunk in rows.chunks(37) {
        sink.send(chunk.to_vec()).unwrap();
    }
    let written = sink.finish().unwrap();
    assert_eq!((written.rows, written.row_groups), (300, 5));
    assert_eq!(written.path, path);
    assert_results_bitwise(&rows, &read_results(&path).unwrap());
}

#[test]
fn series_round_trip_bitwise() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("series.parquet");
    let rows: Vec<SeriesRow> = (0..1000).map(series_row).collect();
    let mut sink = ParquetSink::create(&path, SinkOptions::default()).unwrap();
    sink.send(rows.clone()).unwrap();
    sink.finish().unwrap();
    let read = read_series(&path).unwrap();
    let bits = |rows: &[SeriesRow]| rows.iter().map(series_bits).collect::<Vec<_>>();
    assert_eq!(bits(&rows), bits(&read));
}

#[test]
fn many_row_groups_of_exactly_n_rows_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("series.parquet");
    let rows: Vec<SeriesRow> = (0..10_500).map(series_row).collect();
    let mut sink = ParquetSink::create(&path, options(1000)).unwrap();
    // Uneven chunks, one larger than several row groups.
    for chunk in [&rows[..1], &rows[1..999], &rows[999..4321], &rows[4321..]] {
        sink.send(chunk.to_vec()).unwrap();
    }
    let written = sink.finish().unwrap();
    assert_eq!((written.rows, written.row_groups), (10_500, 11));
    let mut expected = vec![1000; 10];
    expected.push(500);
    assert_eq!(row_group_sizes(&path), expected);
    let read = read_series(&path).unwrap();
    let iterations: Vec<u64> = read.iter().map(|r| r.iteration).collect();
    assert_eq!(
        iterations,
        (0..10_500).map(|i| 50 * i).collect::<Vec<u64>>()
    );
}

#[test]
fn empty_file_is_valid_with_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.parquet");
    let sink = ParquetSink::<ResultRow>::create(&path, SinkOptions::default()).unwrap();
    let written = sink.finish().unwrap();
    assert_eq!((written.rows, written.row_groups), (0, 0));
    assert!(read_results(&path).unwrap().is_empty());
    let file = std::fs::File::open(&path).unwrap();
    let builder =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    assert_eq!(builder.schema().fields(), results_schema().fields());
    assert!(row_group_sizes(&path).is_empty());
}

#[test]
fn columns_are_zstd_compressed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.parquet");
    let mut sink = ParquetSink::create(&path, SinkOptions::default()).unwrap();
    sink.send((0..10).map(result_row).collect()).unwrap();
    sink.finish().unwrap();
    let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
    for column in reader.metadata().row_group(0).columns() {
        assert!(
            matches!(column.compression(), parquet::basic::Compression::ZSTD(_)),
            "{:?}",
            column.column_path()
        );
    }
}
