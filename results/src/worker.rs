//! The writer thread's side of [`super::ParquetSink`]: buffer rows, write a row group every N
//! rows into the temporary file, and on `Finish` write the footer, sync, and rename the file into
//! place. On any failure, or when the sink goes away without finishing, the temporary file is
//! removed, so only complete files ever carry the final name.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::Receiver;

use parquet::arrow::ArrowWriter;

use super::convert::ParquetRow;
use super::error::ResultsError;

/// What the sink sends to the writer thread.
pub(crate) enum Message<R> {
    /// Rows to append.
    Rows(Vec<R>),
    /// Write the rest, the footer, and move the file into place.
    Finish,
}

/// A file written and renamed into place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenFile {
    /// Its final path.
    pub path: PathBuf,
    /// Rows written.
    pub rows: u64,
    /// Row groups written.
    pub row_groups: usize,
}

/// The state owned by the writer thread.
pub(crate) struct Worker<R> {
    pub(crate) writer: ArrowWriter<File>,
    pub(crate) buffer: Vec<R>,
    pub(crate) row_group_rows: usize,
    pub(crate) temp: PathBuf,
    pub(crate) path: PathBuf,
    pub(crate) rows: u64,
}

impl<R: ParquetRow> Worker<R> {
    /// Serves messages until `Finish` (`Ok(Some(file))`) or until the sink is dropped
    /// (`Ok(None)`, temporary file removed). Any error removes the temporary file.
    pub(crate) fn run(
        mut self,
        rx: Receiver<Message<R>>,
    ) -> Result<Option<WrittenFile>, ResultsError> {
        let outcome = loop {
            match rx.recv() {
                Ok(Message::Rows(rows)) => {
                    if let Err(e) = self.push(rows) {
                        break Err(e);
                    }
                }
                Ok(Message::Finish) => return self.commit().map(Some),
                Err(_) => break Ok(None),
            }
        };
        discard(self.writer, &self.temp);
        outcome
    }

    fn push(&mut self, rows: Vec<R>) -> Result<(), ResultsError> {
        self.buffer.extend(rows);
        let full = self.buffer.len() / self.row_group_rows * self.row_group_rows;
        if full == 0 {
            return Ok(());
        }
        let groups: Vec<R> = self.buffer.drain(..full).collect();
        for group in groups.chunks(self.row_group_rows) {
            write_group(&mut self.writer, group, &self.path)?;
        }
        self.rows += groups.len() as u64;
        Ok(())
    }

    fn commit(mut self) -> Result<WrittenFile, ResultsError> {
        let rest = std::mem::take(&mut self.buffer);
        if !rest.is_empty()
            && let Err(e) = write_group(&mut self.writer, &rest, &self.path)
        {
            discard(self.writer, &self.temp);
            return Err(e);
        }
        self.rows += rest.len() as u64;
        let row_groups = self.writer.flushed_row_groups().len();
        let (temp, path) = (self.temp, self.path);
        let result = finish_file(self.writer, &temp, &path);
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result.map(|()| WrittenFile {
            path,
            rows: self.rows,
            row_groups,
        })
    }
}

/// Writes `rows` as one row group.
fn write_group<R: ParquetRow>(
    writer: &mut ArrowWriter<File>,
    rows: &[R],
    path: &Path,
) -> Result<(), ResultsError> {
    let batch = R::to_batch(rows).map_err(|cause| ResultsError::Arrow {
        file: path.to_path_buf(),
        cause: Arc::new(cause),
    })?;
    writer
        .write(&batch)
        .and_then(|()| writer.flush())
        .map_err(|e| ResultsError::parquet("write", path, e))
}

/// Footer, sync, rename, then (best effort) sync the directory so the rename survives a crash.
fn finish_file(writer: ArrowWriter<File>, temp: &Path, path: &Path) -> Result<(), ResultsError> {
    let file = writer
        .into_inner()
        .map_err(|e| ResultsError::parquet("finish", path, e))?;
    file.sync_all()
        .map_err(|e| ResultsError::io("sync", path, e))?;
    drop(file);
    fs::rename(temp, path).map_err(|e| ResultsError::io("rename into place", path, e))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(dir) = File::open(dir)
    {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Abandons the temporary file: closes it unfinished and removes it.
fn discard(writer: ArrowWriter<File>, temp: &Path) {
    drop(writer);
    let _ = fs::remove_file(temp);
}
