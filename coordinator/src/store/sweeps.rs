//! Sweeps: the spec as submitted, its size, and whether it was cancelled, ended and exported.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, error_at};

/// What is stored when a sweep is submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepRecord {
    /// Label from the spec.
    pub name: String,
    /// The spec as submitted.
    pub spec: String,
    /// Milliseconds since the Unix epoch.
    pub submitted_ms: u64,
    /// Number of points.
    pub points: u32,
    /// Number of tasks.
    pub tasks: u32,
}

/// A stored sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSweep {
    /// Its id.
    pub id: u64,
    /// As submitted.
    pub record: SweepRecord,
    /// Whether it was cancelled.
    pub cancelled: bool,
    /// When it ended (every task finished), ms since the Unix epoch.
    pub ended_ms: Option<u64>,
    /// Whether its result files were written after it ended.
    pub exported: bool,
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn read_sweep(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredSweep> {
    Ok(StoredSweep {
        id: to_u64(row.get(0)?),
        record: SweepRecord {
            name: row.get(1)?,
            spec: row.get(2)?,
            submitted_ms: to_u64(row.get(3)?),
            points: row.get(4)?,
            tasks: row.get(5)?,
        },
        cancelled: row.get::<_, i64>(6)? != 0,
        ended_ms: row.get::<_, Option<i64>>(7)?.map(to_u64),
        exported: row.get::<_, i64>(8)? != 0,
    })
}

const COLUMNS: &str = "id, name, spec, submitted_ms, points, tasks, cancelled, ended_ms, exported";

impl Store {
    /// Stores a new sweep and all its tasks (pending), in one transaction. Returns its id.
    pub fn insert_sweep(&mut self, record: &SweepRecord) -> Result<u64, StoreError> {
        let tx = self
            .conn
            .transaction()
            .map_err(error_at(&self.path, "begin submit"))?;
        tx.execute(
            "INSERT INTO sweeps (name, spec, submitted_ms, points, tasks) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                record.name,
                record.spec,
                record.submitted_ms as i64,
                record.points,
                record.tasks
            ],
        )
        .map_err(error_at(&self.path, "insert sweep"))?;
        let id = tx.last_insert_rowid();
        {
            let mut insert = tx
                .prepare("INSERT INTO tasks (sweep, task, state) VALUES (?1, ?2, 'pending')")
                .map_err(error_at(&self.path, "prepare tasks"))?;
            for task in 0..record.tasks {
                insert
                    .execute(params![id, task])
                    .map_err(error_at(&self.path, "insert task"))?;
            }
        }
        tx.commit().map_err(error_at(&self.path, "commit submit"))?;
        Ok(to_u64(id))
    }

    /// Every sweep, oldest first.
    pub fn sweeps(&self) -> Result<Vec<StoredSweep>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM sweeps ORDER BY id"))
            .map_err(error_at(&self.path, "list sweeps"))?;
        let rows = stmt
            .query_map([], read_sweep)
            .map_err(error_at(&self.path, "list sweeps"))?;
        rows.collect::<Result<_, _>>()
            .map_err(error_at(&self.path, "read sweeps"))
    }

    /// One sweep.
    pub fn sweep(&self, id: u64) -> Result<Option<StoredSweep>, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM sweeps WHERE id = ?1"),
                params![id as i64],
                read_sweep,
            )
            .optional()
            .map_err(error_at(&self.path, "read sweep"))
    }

    /// Marks a sweep cancelled and its unfinished tasks cancelled, in one transaction.
    pub fn cancel_sweep(&mut self, id: u64) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction()
            .map_err(error_at(&self.path, "begin cancel"))?;
        tx.execute(
            "UPDATE sweeps SET cancelled = 1 WHERE id = ?1",
            params![id as i64],
        )
        .map_err(error_at(&self.path, "cancel sweep"))?;
        tx.execute(
            "UPDATE tasks SET state = 'cancelled' WHERE sweep = ?1 AND state IN ('pending', 'leased')",
            params![id as i64],
        )
        .map_err(error_at(&self.path, "cancel tasks"))?;
        tx.commit().map_err(error_at(&self.path, "commit cancel"))
    }

    /// Records that every task of the sweep has finished.
    pub fn mark_ended(&mut self, id: u64, ended_ms: u64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE sweeps SET ended_ms = ?2 WHERE id = ?1 AND ended_ms IS NULL",
                params![id as i64, ended_ms as i64],
            )
            .map(drop)
            .map_err(error_at(&self.path, "mark sweep ended"))
    }

    /// Records that the sweep's result files are written.
    pub fn mark_exported(&mut self, id: u64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE sweeps SET exported = 1 WHERE id = ?1",
                params![id as i64],
            )
            .map(drop)
            .map_err(error_at(&self.path, "mark sweep exported"))
    }
}
