//! Interoperability with pyarrow (DESIGN §5: "plain Parquet that ... pyarrow read[s] without
//! help"): pyarrow reads our files bit for bit, and our reader reads a file pyarrow wrote with
//! the types a pandas user would get. Skipped, with a note, when `python3 -c "import pyarrow"`
//! fails; nothing is installed by the tests.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns

use std::path::Path;
use std::process::Command;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt32Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use sweep_results::{
    ParquetRow, ParquetSink, ResultRow, ResultsError, SeriesRow, SinkOptions, Status, read_results,
};

fn pyarrow_available() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import pyarrow"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("note: skipping the pyarrow interoperability test: `import pyarrow` failed");
    }
    found
}

fn python(script: &str, path: &Path) -> String {
    let output = Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "python failed:\n{stderr}");
    String::from_utf8(output.stdout).unwrap()
}

/// Prints, per column, `name type nullable` and then its values: floats as their bits in hex,
/// other values as JSON, nulls as `null`.
const DUMP: &str = r#"
import sys, json, struct
import pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
def show(v):
    if v is None:
        return "null"
    if isinstance(v, float):
        return "%016x" % struct.unpack("<Q", struct.pack("<d", v))[0]
    return json.dumps(v, ensure_ascii=False)
for f in t.schema:
    print(f.name, f.type, f.nullable)
    print(" ".join(show(v) for v in t.column(f.name).to_pylist()))
"#;

/// What `DUMP` should print for a batch.
fn expected_dump(batch: &RecordBatch) -> String {
    let mut out = String::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let ty = match field.data_type() {
            DataType::Utf8 => "string",
            DataType::UInt32 => "uint32",
            DataType::UInt64 => "uint64",
            DataType::Float64 => "double",
            other => panic!("unexpected type {other}"),
        };
        let nullable = if field.is_nullable() { "True" } else { "False" };
        out += &format!("{} {ty} {nullable}\n", field.name());
        let values: Vec<String> = (0..column.len())
            .map(|i| match column.data_type() {
                _ if column.is_null(i) => "null".to_owned(),
                DataType::Utf8 => format!("\"{}\"", column.as_string::<i32>().value(i)),
                DataType::UInt32 => column.as_primitive::<UInt32Type>().value(i).to_string(),
                DataType::UInt64 => column.as_primitive::<UInt64Type>().value(i).to_string(),
                _ => format!(
                    "{:016x}",
                    column.as_primitive::<Float64Type>().value(i).to_bits()
                ),
            })
            .collect();
        out += &values.join(" ");
        out += "\n";
    }
    out
}

fn result_row(i: usize) -> ResultRow {
    let specials = [
        Some(f64::NAN),
        Some(f64::from_bits(0x7ff8_0000_dead_beef)),
        Some(f64::INFINITY),
        Some(f64::NEG_INFINITY),
        Some(-0.0),
        None,
        Some(1e-320),
        Some(0.1 * i as f64),
    ];
    let f = |c: usize| specials[(i + c) % specials.len()];
    ResultRow {
        sweep: "sweep-1".into(),
        point: i as u32,
        replica: (i % 2) as u32,
        seed: u64::MAX - i as u64,
        workload: "isotropic".into(),
        protocol: "fixed_sphere".into(),
        dim: 1 << 40,
        lr: None,
        elr: f(0),
        wd: None,
        radius: f(1),
        iterations: 2_000_000,
        loss_mean: f(2),
        radius_mean: f(3),
        entropy_unit: f(4),
        entropy: f(5),
        sigma2: f(6),
        trace_sigma: f(7),
        full_grad_sq: f(0),
        temperature: f(1),
        pressure: f(2),
        volume: f(3),
        wd_eff: f(4),
        status: [Status::Done, Status::Diverged, Status::Failed][i % 3],
        error: (!i.is_multiple_of(3)).then(|| format!("point {i} ✗")),
        backend: "cpu".into(),
        agent: "agent-0".into(),
        attempt: 1 + (i % 3) as u32,
        wall_seconds: 12.5,
        loss_sem: f(5),
        radius_sem: f(6),
        entropy_unit_sem: f(7),
        wd_eff_sem: f(0),
        wd_eff_linear: f(1),
        trace_sigma_sem: f(1),
        full_grad_sq_sem: f(1),
        test_loss: f(1),
        test_accuracy: f(1),
        adiabat: None,
    }
}

#[test]
fn pyarrow_reads_our_files_bit_for_bit() {
    if !pyarrow_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let options = SinkOptions {
        row_group_rows: 7,
        ..SinkOptions::default()
    };
    let rows: Vec<ResultRow> = (0..40).map(result_row).collect();
    let path = dir.path().join("results.parquet");
    let mut sink = ParquetSink::create(&path, options).unwrap();
    sink.send(rows.clone()).unwrap();
    sink.finish().unwrap();
    let expected = expected_dump(&ResultRow::to_batch(&rows).unwrap());
    assert_eq!(python(DUMP, &path), expected);

    let series: Vec<SeriesRow> = rows
        .iter()
        .map(|r| SeriesRow {
            sweep: r.sweep.clone(),
            point: r.point,
            replica: r.replica,
            iteration: r.seed,
            loss: r.loss_mean,
            radius: r.radius,
            entropy_unit: r.entropy_unit,
            entropy: None,
            trace_sigma: r.trace_sigma,
            full_grad_sq: r.elr,
        })
        .collect();
    let path = dir.path().join("series.parquet");
    let mut sink = ParquetSink::create(&path, options).unwrap();
    sink.send(series.clone()).unwrap();
    sink.finish().unwrap();
    let expected = expected_dump(&SeriesRow::to_batch(&series).unwrap());
    assert_eq!(python(DUMP, &path), expected);

    let path = dir.path().join("empty.parquet");
    ParquetSink::<ResultRow>::create(&path, options)
        .unwrap()
        .finish()
        .unwrap();
    let expected = expected_dump(&ResultRow::to_batch(&[]).unwrap());
    assert_eq!(python(DUMP, &path), expected);
}

/// A results file as pandas/pyarrow users write it: int64 integers, a large string, a
/// dictionary-encoded string, all-null columns of the null type, float32, an extra column,
/// no extension columns but one, another column order, snappy compression.
const WRITE: &str = r#"
import sys
import pyarrow as pa, pyarrow.parquet as pq
nan, inf = float("nan"), float("inf")
m = [1.5, -inf, None]
t = pa.table({
    "notes": ["a", "b", "c"],
    "sweep": pa.array(["s1"] * 3, pa.large_string()),
    "point": pa.array([0, 1, 2], pa.int64()),
    "replica": pa.array([0, 0, 1], pa.int32()),
    "seed": pa.array([1, 2, 2**64 - 1], pa.uint64()),
    "workload": ["isotropic"] * 3,
    "protocol": pa.array(["fixed_lr"] * 3).dictionary_encode(),
    "dim": pa.array([3, 3, 3], pa.int64()),
    "lr": [0.01, 0.02, None],
    "elr": pa.nulls(3),
    "wd": [0.001, nan, inf],
    "radius": pa.nulls(3, pa.float64()),
    "iterations": pa.array([1000] * 3, pa.int64()),
    **{c: m for c in ["loss_mean", "radius_mean", "entropy_unit", "entropy", "sigma2",
                      "trace_sigma", "full_grad_sq", "temperature", "pressure", "volume",
                      "wd_eff"]},
    "status": ["done", "diverged", "failed"],
    "error": [None, "diverged at 10", "boom"],
    "backend": ["cpu"] * 3,
    "agent": ["a"] * 3,
    "attempt": pa.array([1, 1, 3], pa.int64()),
    "wall_seconds": pa.array([1.0, 2.0, 3.0], pa.float32()),
    "loss_sem": [0.1, None, 0.3],
})
if len(sys.argv) > 2:
    t = t.set_column(t.schema.get_field_index("dim"), "dim", pa.array(["3"] * 3))
pq.write_table(t, sys.argv[1], compression="snappy")
"#;

#[test]
fn our_reader_reads_files_pyarrow_wrote() {
    if !pyarrow_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.parquet");
    python(WRITE, &path);
    let rows = read_results(&path).unwrap();
    assert_eq!(rows.len(), 3);
    let seeds: Vec<u64> = rows.iter().map(|r| r.seed).collect();
    assert_eq!(seeds, [1, 2, u64::MAX]);
    assert_eq!(rows.iter().map(|r| r.point).collect::<Vec<_>>(), [0, 1, 2]);
    assert!(
        rows.iter()
            .all(|r| r.sweep == "s1" && r.protocol == "fixed_lr" && r.dim == 3)
    );
    assert_eq!(rows[0].lr, Some(0.01));
    assert_eq!(rows[2].lr, None);
    assert!(rows.iter().all(|r| r.elr.is_none() && r.radius.is_none()));
    assert!(rows[1].wd.unwrap().is_nan());
    assert_eq!(rows[2].wd, Some(f64::INFINITY));
    assert_eq!(rows[1].temperature, Some(f64::NEG_INFINITY));
    assert_eq!(rows[2].volume, None);
    let status: Vec<Status> = rows.iter().map(|r| r.status).collect();
    assert_eq!(status, [Status::Done, Status::Diverged, Status::Failed]);
    assert_eq!(rows[0].error, None);
    assert_eq!(rows[2].error.as_deref(), Some("boom"));
    assert_eq!(rows[2].attempt, 3);
    assert_eq!(rows[1].wall_seconds, 2.0);
    assert_eq!(rows[1].loss_sem, None);
    assert_eq!(rows[2].loss_sem, Some(0.3));
    assert!(
        rows.iter()
            .all(|r| r.wd_eff_linear.is_none() && r.radius_sem.is_none())
    );

    // The same with `dim` as strings: an error naming the column and the file.
    let output = Command::new("python3")
        .args(["-c", WRITE])
        .arg(&path)
        .arg("dim-as-string")
        .status()
        .unwrap();
    assert!(output.success());
    let err = read_results(&path).unwrap_err();
    assert!(matches!(&err, ResultsError::WrongType { column, .. } if column == "dim"));
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}
