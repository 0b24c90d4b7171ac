//! Why this module exists: a report is often run offline on files another tool wrote, so every
//! way the input can be unusable (no rows, mixed sweeps, NaN measurements, missing columns,
//! unreadable files) must come back as a typed error that names the column and the point, never
//! as a panic or a silent NaN in the verdict.

use std::path::PathBuf;

/// Why an analysis or a report could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// The results file has no rows at all.
    #[error("no result rows: nothing to analyse")]
    Empty,
    /// Rows exist but none has status `done`.
    #[error("none of the {total} result rows has status `done` ({excluded} diverged or failed)")]
    NoDoneRows {
        /// Rows in the file.
        total: usize,
        /// Rows that are not `done`.
        excluded: usize,
    },
    /// A column that must be the same on every row (sweep, workload, protocol, dim) is not.
    #[error(
        "column `{column}` differs between rows ({values}): one results file must hold one sweep"
    )]
    Mixed {
        /// The column.
        column: &'static str,
        /// The distinct values seen (first few).
        values: String,
    },
    /// The protocol column holds an unknown name.
    #[error("unknown protocol `{0}` (expected fixed_sphere, fixed_elr or fixed_lr)")]
    Protocol(String),
    /// A value needed for the analysis is null on a `done` row.
    #[error("column `{column}` is null at point {point} replica {replica}: {why}")]
    Missing {
        /// The column.
        column: &'static str,
        /// Point index.
        point: u32,
        /// Replica index.
        replica: u32,
        /// What needs it.
        why: &'static str,
    },
    /// A value is NaN, infinite or out of its domain on a `done` row.
    #[error("column `{column}` = {value} at point {point} replica {replica} is not {domain}")]
    BadValue {
        /// The column.
        column: &'static str,
        /// The value.
        value: f64,
        /// Point index.
        point: u32,
        /// Replica index.
        replica: u32,
        /// The admissible domain, in words ("finite", "finite and > 0").
        domain: &'static str,
    },
    /// The dimension is below 2.
    #[error("dim = {0}: the analysis needs d >= 2")]
    Dimension(u64),
    /// An option is out of range (a negative or NaN tolerance override, an unknown check id).
    #[error("bad analysis option: {0}")]
    Option(String),
    /// Reading the result files failed.
    #[error(transparent)]
    Results(#[from] sweep_results::ResultsError),
    /// Writing a report file failed.
    #[error("cannot {action} {}: {cause}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        cause: std::io::Error,
    },
    /// Drawing a plot failed.
    #[error("plot {name}: {cause}")]
    Plot {
        /// The plot's file stem.
        name: String,
        /// The cause, in words.
        cause: String,
    },
    /// Serialising the verdict failed.
    #[error("cannot serialise the verdict: {0}")]
    Json(#[from] serde_json::Error),
}
