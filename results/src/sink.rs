//! [`ParquetSink`]: a Parquet file written on its own named thread, fed rows through a bounded
//! channel (STYLE: "Parquet written by a blocking writer fed through a bounded channel"), so that
//! encoding and compression never run on the caller's thread (an async runtime's worker, say)
//! and a slow disk pushes back on the producer instead of growing memory.
//!
//! The file is written under a temporary name in the target directory and renamed into place
//! by [`ParquetSink::finish`]; a crash, an error or a dropped sink never leaves a partial file
//! under the final name.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::thread::{self, JoinHandle};

use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::convert::ParquetRow;
use super::error::ResultsError;
use super::worker::{Message, Worker, WrittenFile};

/// How a [`ParquetSink`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SinkOptions {
    /// Rows per row group; the last group holds the rest. 0 counts as 1.
    pub row_group_rows: usize,
    /// Batches of rows the channel holds before [`ParquetSink::send`] blocks (0: each send waits
    /// for the writer thread to take its batch).
    pub channel_batches: usize,
    /// zstd compression level (1..=22).
    pub zstd_level: i32,
}

impl Default for SinkOptions {
    /// 64 Ki rows per row group, 8 batches in flight, zstd level 3.
    fn default() -> Self {
        Self {
            row_group_rows: 64 * 1024,
            channel_batches: 8,
            zstd_level: 3,
        }
    }
}

type WorkerResult = Result<Option<WrittenFile>, ResultsError>;

/// Writes rows of type `R` ([`crate::ResultRow`] or [`crate::SeriesRow`]) to
/// one Parquet file from a dedicated thread. Dropping it without [`ParquetSink::finish`] stops the
/// thread and removes the temporary file (waiting for the row group being written, if any).
#[derive(Debug)]
pub struct ParquetSink<R: ParquetRow> {
    path: PathBuf,
    temp: PathBuf,
    tx: Option<SyncSender<Message<R>>>,
    worker: Option<JoinHandle<WorkerResult>>,
    failed: Option<ResultsError>,
}

static TEMP_SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// `DIR/.NAME.PID-SEQ.tmp`: hidden, in the same directory (so the rename is atomic), unique in
/// the process and across processes.
fn temp_path(path: &Path) -> Result<PathBuf, ResultsError> {
    let name = path.file_name().ok_or_else(|| ResultsError::Options {
        file: path.to_path_buf(),
        problem: "the path does not name a file".to_owned(),
    })?;
    let sequence = TEMP_SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let temp = format!(
        ".{}.{}-{sequence}.tmp",
        name.to_string_lossy(),
        std::process::id()
    );
    Ok(path.with_file_name(temp))
}

fn properties(path: &Path, options: &SinkOptions) -> Result<WriterProperties, ResultsError> {
    let level = ZstdLevel::try_new(options.zstd_level).map_err(|e| ResultsError::Options {
        file: path.to_path_buf(),
        problem: e.to_string(),
    })?;
    Ok(WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(options.row_group_rows.max(1)))
        .set_created_by(format!("thermosweep {}", env!("CARGO_PKG_VERSION")))
        .build())
}

impl<R: ParquetRow> ParquetSink<R> {
    /// Creates the temporary file next to `path` and starts the writer thread. Fails, naming
    /// `path`, when the directory cannot take the file or the options are invalid.
    pub fn create(path: impl Into<PathBuf>, options: SinkOptions) -> Result<Self, ResultsError> {
        let path = path.into();
        let props = properties(&path, &options)?;
        let temp = temp_path(&path)?;
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|e| ResultsError::io("create a temporary file for", &path, e))?;
        let writer = match ArrowWriter::try_new(file, R::schema(), Some(props)) {
            Ok(writer) => writer,
            Err(e) => {
                let _ = std::fs::remove_file(&temp);
                return Err(ResultsError::parquet("start", &path, e));
            }
        };
        let worker = Worker {
            writer,
            buffer: Vec::new(),
            row_group_rows: options.row_group_rows.max(1),
            temp: temp.clone(),
            path: path.clone(),
            rows: 0,
        };
        let (tx, rx) = mpsc::sync_channel(options.channel_batches);
        let name = format!(
            "parquet {}",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        let spawned = thread::Builder::new()
            .name(name)
            .spawn(move || worker.run(rx));
        let handle = spawned.map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            ResultsError::io("start the writer thread for", &path, e)
        })?;
        Ok(Self {
            path,
            temp,
            tx: Some(tx),
            worker: Some(handle),
            failed: None,
        })
    }

    /// The final path of the file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queues rows for writing; blocks while the channel is full. Once the writer has failed,
    /// this and every later call return the writer's error.
    pub fn send(&mut self, rows: Vec<R>) -> Result<(), ResultsError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if rows.is_empty() {
            return Ok(());
        }
        let sent = match &self.tx {
            Some(tx) => tx.send(Message::Rows(rows)).is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        let e = self.stop().err().unwrap_or_else(|| self.gone());
        self.failed = Some(e.clone());
        Err(e)
    }

    /// Writes what is buffered and the footer, syncs the file and renames it to its final name.
    pub fn finish(mut self) -> Result<WrittenFile, ResultsError> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        if let Some(tx) = &self.tx {
            // A send error means the writer has already stopped; `stop` reports why.
            let _ = tx.send(Message::Finish);
        }
        match self.stop() {
            Ok(Some(written)) => Ok(written),
            Ok(None) => Err(self.gone()),
            Err(e) => Err(e),
        }
    }

    /// Closes the channel and waits for the writer thread.
    fn stop(&mut self) -> WorkerResult {
        self.tx = None;
        let Some(handle) = self.worker.take() else {
            return Err(self.gone());
        };
        handle.join().unwrap_or_else(|_panic| {
            let _ = std::fs::remove_file(&self.temp);
            Err(self.gone())
        })
    }

    fn gone(&self) -> ResultsError {
        ResultsError::WriterGone {
            file: self.path.clone(),
        }
    }
}

impl<R: ParquetRow> Drop for ParquetSink<R> {
    fn drop(&mut self) {
        if self.worker.is_some() {
            let _ = self.stop();
        }
    }
}
