//! The result files of a sweep (DESIGN §5 "Results (contract)"): `results.parquet`, one row per
//! point, and `series.parquet`, the time series of every chain. They are plain Parquet that
//! pandas, polars, DuckDB and pyarrow read without help, and `sweepctl report DIR` reads them back
//! (also when another tool wrote them), so this crate owns both directions:
//!
//! * [`schema`]: the column tables and Arrow schemas;
//! * [`ResultRow`], [`SeriesRow`]: the rows as Rust values, and their conversion to and from
//!   Arrow record batches ([`ParquetRow`]);
//! * [`ParquetSink`]: a writer on its own thread behind a bounded channel that renames a finished
//!   file into place, so a crash never leaves a truncated file under the final name;
//! * [`read_results`], [`read_series`]: readers that check the file against the contract.

mod columns;
mod convert;
mod error;
mod read;
mod rows;
pub mod schema;
mod sink;
mod worker;

pub use convert::ParquetRow;
pub use error::ResultsError;
pub use read::{read_results, read_rows, read_series};
pub use rows::{ResultRow, SeriesRow, Status, UnknownStatus};
pub use schema::{results_schema, series_schema};
pub use sink::{ParquetSink, SinkOptions};
pub use worker::WrittenFile;
