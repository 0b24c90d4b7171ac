//! Reading result files back, checked against the contract. `sweepctl report DIR` analyses files
//! that other tools may have written, so the check is about meaning, not bytes: every DESIGN §5
//! column must be present with a type that holds its values, extra columns are ignored, and our
//! extension columns may be missing (read as null).

use std::fs::File;
use std::path::Path;

use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::convert::ParquetRow;
use super::error::ResultsError;
use super::rows::{ResultRow, SeriesRow};

/// Reads every row of a Parquet file of rows `R`. The schema is checked before any row is read,
/// so a file with no rows is checked too.
pub fn read_rows<R: ParquetRow>(path: impl AsRef<Path>) -> Result<Vec<R>, ResultsError> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| ResultsError::io("open", path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| ResultsError::parquet("read", path, e))?;
    R::from_batch(&RecordBatch::new_empty(builder.schema().clone()), path, 0)?;
    let reader = builder
        .build()
        .map_err(|e| ResultsError::parquet("read", path, e))?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| ResultsError::Parquet {
            action: "read",
            file: path.to_path_buf(),
            cause: std::sync::Arc::new(e.into()),
        })?;
        rows.extend(R::from_batch(&batch, path, rows.len() as u64)?);
    }
    Ok(rows)
}

/// Reads `results.parquet` (DESIGN §5). A missing column, a column of a type that cannot hold
/// its values, a null in a non-null column or an unknown `status` is an error naming the column
/// and the file. Accepted besides the exact types written here: large/view/dictionary strings,
/// any integer type whose values fit, `Float32`, and all-null (`Null`-typed) nullable columns.
pub fn read_results(path: impl AsRef<Path>) -> Result<Vec<ResultRow>, ResultsError> {
    read_rows(path)
}

/// Reads `series.parquet` (DESIGN §5), with the checks of [`read_results`].
pub fn read_series(path: impl AsRef<Path>) -> Result<Vec<SeriesRow>, ResultsError> {
    read_rows(path)
}
