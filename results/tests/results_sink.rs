//! `ParquetSink`'s file handling: the final name appears only on `finish`, a dropped sink or a
//! failed writer leaves nothing behind, and every error names the file.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns

use std::fs;
use std::path::{Path, PathBuf};

use sweep_results::{ParquetSink, ResultsError, SeriesRow, SinkOptions, read_series};

fn rows(n: usize) -> Vec<SeriesRow> {
    (0..n)
        .map(|i| SeriesRow {
            sweep: "s".into(),
            point: i as u32,
            replica: 0,
            iteration: i as u64,
            loss: Some(i as f64),
            radius: None,
            entropy_unit: Some(-(i as f64)),
            entropy: None,
            trace_sigma: Some(0.5),
            full_grad_sq: None,
        })
        .collect()
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn small_groups() -> SinkOptions {
    SinkOptions {
        row_group_rows: 10,
        channel_batches: 1,
        ..SinkOptions::default()
    }
}

#[test]
fn sink_and_error_cross_threads() {
    fn send<T: Send>() {}
    fn shared<T: Send + Sync + Clone + std::error::Error + 'static>() {}
    send::<ParquetSink<SeriesRow>>();
    send::<ParquetSink<sweep_results::ResultRow>>();
    shared::<ResultsError>();
}

#[test]
fn final_name_appears_only_on_finish() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("series.parquet");
    let mut sink = ParquetSink::create(&path, small_groups()).unwrap();
    assert_eq!(sink.path(), path);
    for _ in 0..5 {
        sink.send(rows(25)).unwrap();
    }
    assert!(!path.exists(), "final name before finish");
    let names = listing(dir.path());
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].starts_with(".series.parquet.") && names[0].ends_with(".tmp"));
    let written = sink.finish().unwrap();
    assert_eq!(written.rows, 125);
    assert_eq!(listing(dir.path()), ["series.parquet"]);
    assert_eq!(read_series(&path).unwrap().len(), 125);
}

#[test]
fn dropped_sink_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("series.parquet");
    let mut sink = ParquetSink::create(&path, small_groups()).unwrap();
    sink.send(rows(1000)).unwrap();
    drop(sink);
    assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
}

#[test]
fn an_existing_file_is_replaced_only_on_finish() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("series.parquet");
    let mut first = ParquetSink::create(&path, SinkOptions::default()).unwrap();
    first.send(rows(3)).unwrap();
    first.finish().unwrap();
    let mut second = ParquetSink::create(&path, SinkOptions::default()).unwrap();
    second.send(rows(7)).unwrap();
    assert_eq!(read_series(&path).unwrap().len(), 3);
    drop(second);
    assert_eq!(read_series(&path).unwrap().len(), 3);
    let mut third = ParquetSink::create(&path, SinkOptions::default()).unwrap();
    third.send(rows(7)).unwrap();
    third.finish().unwrap();
    assert_eq!(read_series(&path).unwrap().len(), 7);
}

#[test]
fn two_sinks_in_one_directory_do_not_collide() {
    let dir = tempfile::tempdir().unwrap();
    let a = ParquetSink::<SeriesRow>::create(dir.path().join("a.parquet"), small_groups());
    let b = ParquetSink::<SeriesRow>::create(dir.path().join("a.parquet"), small_groups());
    let (mut a, b) = (a.unwrap(), b.unwrap());
    a.send(rows(4)).unwrap();
    drop(b);
    a.finish().unwrap();
    assert_eq!(listing(dir.path()), ["a.parquet"]);
}

#[test]
fn missing_directory_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent").join("results.parquet");
    let err = ParquetSink::<SeriesRow>::create(&path, SinkOptions::default()).unwrap_err();
    assert!(matches!(err, ResultsError::Io { .. }), "{err:?}");
    assert_eq!(err.file(), path);
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn invalid_zstd_level_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("series.parquet");
    let options = SinkOptions {
        zstd_level: 99,
        ..SinkOptions::default()
    };
    let err = ParquetSink::<SeriesRow>::create(&path, options).unwrap_err();
    assert!(matches!(err, ResultsError::Options { .. }), "{err:?}");
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn failed_rename_is_an_error_and_removes_the_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    // The final name is taken by a non-empty directory: the rename must fail.
    let path = dir.path().join("series.parquet");
    fs::create_dir(&path).unwrap();
    fs::write(path.join("keep"), b"x").unwrap();
    let mut sink = ParquetSink::create(&path, small_groups()).unwrap();
    sink.send(rows(50)).unwrap();
    let err = sink.finish().unwrap_err();
    assert!(matches!(err, ResultsError::Io { .. }), "{err:?}");
    assert_eq!(err.file(), path);
    assert_eq!(listing(dir.path()), ["series.parquet"]);
    assert!(path.join("keep").exists());
}

/// Set by `write_failure_is_returned_by_every_later_call` for the child process it runs.
const CHILD: &str = "RESULTS_SINK_FSIZE_CHILD";

/// Runs in a child process whose file-size limit is tiny (and SIGXFSZ ignored), so the writer
/// thread's writes fail with EFBIG part-way through.
#[test]
fn file_size_limit_child() {
    let Some(dir) = std::env::var_os(CHILD) else {
        return;
    };
    let path = PathBuf::from(dir).join("series.parquet");
    let mut sink = ParquetSink::create(&path, small_groups()).unwrap();
    let mut first = None;
    for i in 0..100_000 {
        if let Err(e) = sink.send(rows(100)) {
            first = Some((i, e));
            break;
        }
    }
    let (_, first) = first.expect("the file-size limit never stopped the writer");
    assert_eq!(first.file(), path);
    assert!(first.to_string().contains("series.parquet"), "{first}");
    let again = sink.send(rows(1)).unwrap_err();
    assert_eq!(again.to_string(), first.to_string());
    let last = sink.finish().unwrap_err();
    assert_eq!(last.to_string(), first.to_string());
    println!("CHILD-OK {first}");
}

#[cfg(unix)]
#[test]
fn write_failure_is_returned_by_every_later_call() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"trap '' XFSZ; ulimit -f 64 && exec "$0" --exact file_size_limit_child --nocapture --test-threads=1"#)
        .arg(&exe)
        .env(CHILD, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("CHILD-OK"),
        "child did not run:\n{stdout}\n{stderr}"
    );
    println!(
        "{}",
        stdout
            .lines()
            .find(|l| l.contains("CHILD-OK"))
            .unwrap_or("")
    );
    assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
}
