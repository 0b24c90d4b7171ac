//! The one error type of the result files. Every variant names the file, because a sweep writes
//! several and `sweepctl report` reads files written by other tools. Causes are held in `Arc`s
//! so the error is `Clone`: a sink whose writer failed returns the same error on every later call.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use arrow_schema::ArrowError;
use parquet::errors::ParquetError;

/// Writing or reading a result file failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ResultsError {
    /// An operation of the file system failed.
    #[error("cannot {action} {}: {cause}", file.display())]
    Io {
        /// What was being done (`create`, `open`, `sync`, `rename to its final name`, ...).
        action: &'static str,
        /// The file.
        file: PathBuf,
        /// The failure.
        cause: Arc<io::Error>,
    },
    /// The Parquet encoder or decoder failed.
    #[error("cannot {action} Parquet file {}: {cause}", file.display())]
    Parquet {
        /// What was being done (`write`, `read`, ...).
        action: &'static str,
        /// The file.
        file: PathBuf,
        /// The failure.
        cause: Arc<ParquetError>,
    },
    /// Rows could not be turned into an Arrow batch.
    #[error("cannot convert rows to Arrow for {}: {cause}", file.display())]
    Arrow {
        /// The file.
        file: PathBuf,
        /// The failure.
        cause: Arc<ArrowError>,
    },
    /// A required column is absent.
    #[error("{}: missing column `{column}`", file.display())]
    MissingColumn {
        /// The file.
        file: PathBuf,
        /// The column.
        column: String,
    },
    /// A column has a type that cannot hold its values.
    #[error("{}: column `{column}` has type {found}, expected {expected}", file.display())]
    WrongType {
        /// The file.
        file: PathBuf,
        /// The column.
        column: String,
        /// The type the contract gives it.
        expected: String,
        /// The type in the file.
        found: String,
    },
    /// A value breaks the contract: a null where none may be, an integer out of range, an
    /// unknown status.
    #[error("{}: column `{column}`, row {row}: {problem}", file.display())]
    BadValue {
        /// The file.
        file: PathBuf,
        /// The column.
        column: String,
        /// Row index in the file (from 0).
        row: u64,
        /// What is wrong.
        problem: String,
    },
    /// The writer was given options it cannot use.
    #[error("invalid writer options for {}: {problem}", file.display())]
    Options {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The writer thread ended without saying why (it panicked).
    #[error("the writer thread of {} stopped unexpectedly", file.display())]
    WriterGone {
        /// The file.
        file: PathBuf,
    },
}

impl ResultsError {
    /// The file the error is about.
    pub fn file(&self) -> &std::path::Path {
        match self {
            Self::Io { file, .. }
            | Self::Parquet { file, .. }
            | Self::Arrow { file, .. }
            | Self::MissingColumn { file, .. }
            | Self::WrongType { file, .. }
            | Self::BadValue { file, .. }
            | Self::Options { file, .. }
            | Self::WriterGone { file } => file,
        }
    }

    pub(crate) fn io(action: &'static str, file: impl Into<PathBuf>, cause: io::Error) -> Self {
        Self::Io {
            action,
            file: file.into(),
            cause: Arc::new(cause),
        }
    }

    pub(crate) fn parquet(
        action: &'static str,
        file: impl Into<PathBuf>,
        cause: ParquetError,
    ) -> Self {
        Self::Parquet {
            action,
            file: file.into(),
            cause: Arc::new(cause),
        }
    }
}
