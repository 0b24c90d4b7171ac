//! The coordinator's durable state in SQLite (DESIGN §4): sweeps with their specs, every task's
//! state and epoch, and every accepted result row. Each change is committed before the RPC that
//! caused it is answered, so a coordinator killed at any instant resumes with nothing lost and
//! nothing stored twice.
//!
//! The database runs in WAL mode with `synchronous = NORMAL`: a committed transaction survives
//! the process being killed (the WAL is in the kernel's page cache); only a power loss can drop
//! the last few commits, which agents then deliver again from their spool.

mod schema;
mod sweeps;
mod tasks;

use std::path::{Path, PathBuf};

use rusqlite::Connection;

pub use sweeps::{StoredSweep, SweepRecord};
pub use tasks::{StoredResult, StoredTask, TaskState};

/// A database error, with what was being done.
#[derive(Debug, thiserror::Error)]
#[error("state database {path}: {action}: {source}")]
pub struct StoreError {
    path: PathBuf,
    action: &'static str,
    #[source]
    source: rusqlite::Error,
}

/// The open database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let err = |action| {
            let path = path.clone();
            move |source| StoreError {
                path,
                action,
                source,
            }
        };
        let conn = Connection::open(&path).map_err(err("open"))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err("enable WAL"))?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err("set synchronous"))?;
        // Checkpoints (copying the WAL into the database, with an fsync) would otherwise run
        // inside whichever commit crosses the threshold and stall that RPC for milliseconds;
        // [`Checkpointer`] runs them on its own connection and thread instead.
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(err("disable automatic checkpoints"))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(err("set busy timeout"))?;
        conn.execute_batch(schema::SCHEMA)
            .map_err(err("create schema"))?;
        Ok(Self { conn, path })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Checkpoints the WAL of a store from a connection of its own, off the request path.
#[derive(Debug)]
pub struct Checkpointer {
    conn: Connection,
    path: PathBuf,
}

impl Checkpointer {
    /// A second connection to the database at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let conn = Connection::open(&path).map_err(error_at(&path, "open for checkpoints"))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(error_at(&path, "set busy timeout"))?;
        Ok(Self { conn, path })
    }

    /// Copies what it can of the WAL into the database without blocking writers, and lets the
    /// WAL restart from the beginning when readers allow.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .map_err(error_at(&self.path, "checkpoint"))
    }
}

/// Maps a database error to a [`StoreError`] naming `path` and `action`.
pub(crate) fn error_at(
    path: &Path,
    action: &'static str,
) -> impl FnOnce(rusqlite::Error) -> StoreError + use<> {
    let path = path.to_path_buf();
    move |source| StoreError {
        path,
        action,
        source,
    }
}
