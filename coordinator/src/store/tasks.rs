//! Tasks and results. A task's row holds its state, the last epoch granted, the errors counted
//! and the last error; results are stored in the same transaction that marks the task done, so a
//! task is done exactly when its rows are stored.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, error_at};

/// A task's persisted state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// Waiting for an agent.
    Pending,
    /// Held by an agent.
    Leased,
    /// Results stored.
    Done,
    /// Gave up after `max_attempts` errors.
    Failed,
    /// Its sweep was cancelled.
    Cancelled,
}

impl TaskState {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Leased => "leased",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "leased" => Self::Leased,
            "done" => Self::Done,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }
}

/// A stored task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTask {
    /// Task index.
    pub task: u32,
    /// State.
    pub state: TaskState,
    /// Last epoch granted (the accepted one once done).
    pub epoch: u64,
    /// Errors counted toward `max_attempts`.
    pub errors: u32,
    /// Holder (leased) or the agent whose results were accepted (done).
    pub agent: Option<String>,
    /// Last error reported.
    pub last_error: Option<String>,
}

/// One accepted result row: the wire message's bytes plus what the coordinator knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResult {
    /// Point index.
    pub point: u32,
    /// Replica.
    pub replica: u32,
    /// Task it ran in.
    pub task: u32,
    /// Agent that ran it.
    pub agent: String,
    /// Attempt that produced it.
    pub attempt: u32,
    /// The encoded `sweep.v1.PointResult`.
    pub row: Vec<u8>,
}

fn read_task(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredTask> {
    let state: String = row.get(1)?;
    let state = TaskState::parse(&state).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            1,
            rusqlite::types::Type::Text,
            format!("unknown task state {state:?}").into(),
        )
    })?;
    Ok(StoredTask {
        task: row.get(0)?,
        state,
        epoch: u64::try_from(row.get::<_, i64>(2)?).unwrap_or(0),
        errors: row.get(3)?,
        agent: row.get(4)?,
        last_error: row.get(5)?,
    })
}

const COLUMNS: &str = "task, state, epoch, errors, agent, last_error";

impl Store {
    /// Every task of a sweep, in index order.
    pub fn tasks(&self, sweep: u64) -> Result<Vec<StoredTask>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM tasks WHERE sweep = ?1 ORDER BY task"
            ))
            .map_err(error_at(&self.path, "list tasks"))?;
        let rows = stmt
            .query_map(params![sweep as i64], read_task)
            .map_err(error_at(&self.path, "list tasks"))?;
        rows.collect::<Result<_, _>>()
            .map_err(error_at(&self.path, "read tasks"))
    }

    /// One task.
    pub fn task(&self, sweep: u64, task: u32) -> Result<Option<StoredTask>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM tasks WHERE sweep = ?1 AND task = ?2"
            ))
            .map_err(error_at(&self.path, "read task"))?;
        stmt.query_row(params![sweep as i64, task], read_task)
            .optional()
            .map_err(error_at(&self.path, "read task"))
    }

    /// Records a grant: the task is leased to `agent` at `epoch`.
    pub fn set_leased(
        &mut self,
        sweep: u64,
        task: u32,
        epoch: u64,
        agent: &str,
    ) -> Result<(), StoreError> {
        self.update(
            "UPDATE tasks SET state = 'leased', epoch = ?3, agent = ?4 WHERE sweep = ?1 AND task = ?2",
            params![sweep as i64, task, epoch as i64, agent],
            "record lease",
        )
    }

    /// Records that a task is waiting again (lease lost, or an error with attempts left).
    pub fn set_pending(
        &mut self,
        sweep: u64,
        task: u32,
        errors: u32,
        last_error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.update(
            "UPDATE tasks SET state = 'pending', agent = NULL, errors = ?3,
                 last_error = COALESCE(?4, last_error) WHERE sweep = ?1 AND task = ?2",
            params![sweep as i64, task, errors, last_error],
            "record pending task",
        )
    }

    /// Records that a task failed for good.
    pub fn set_failed(
        &mut self,
        sweep: u64,
        task: u32,
        errors: u32,
        error: &str,
    ) -> Result<(), StoreError> {
        self.update(
            "UPDATE tasks SET state = 'failed', agent = NULL, errors = ?3, last_error = ?4
                 WHERE sweep = ?1 AND task = ?2",
            params![sweep as i64, task, errors, error],
            "record failed task",
        )
    }

    fn update(
        &mut self,
        sql: &str,
        params: impl rusqlite::Params,
        action: &'static str,
    ) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(error_at(&self.path, action))?;
        stmt.execute(params)
            .map(drop)
            .map_err(error_at(&self.path, action))
    }

    /// Stores a task's results and marks it done under `epoch`, in one transaction.
    pub fn complete_task(
        &mut self,
        sweep: u64,
        task: u32,
        epoch: u64,
        agent: &str,
        results: &[StoredResult],
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction()
            .map_err(error_at(&self.path, "begin complete"))?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO results (sweep, point, replica, task, agent, attempt, row)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(error_at(&self.path, "prepare results"))?;
            for r in results {
                insert
                    .execute(params![
                        sweep as i64,
                        r.point,
                        r.replica,
                        r.task,
                        r.agent,
                        r.attempt,
                        r.row
                    ])
                    .map_err(error_at(&self.path, "insert result"))?;
            }
            tx.execute(
                "UPDATE tasks SET state = 'done', epoch = ?3, agent = ?4 WHERE sweep = ?1 AND task = ?2",
                params![sweep as i64, task, epoch as i64, agent],
            )
            .map_err(error_at(&self.path, "mark task done"))?;
        }
        tx.commit().map_err(error_at(&self.path, "commit complete"))
    }

    /// Every stored result of a sweep, by point and replica.
    pub fn results(&self, sweep: u64) -> Result<Vec<StoredResult>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT point, replica, task, agent, attempt, row FROM results
                 WHERE sweep = ?1 ORDER BY point, replica",
            )
            .map_err(error_at(&self.path, "list results"))?;
        let rows = stmt
            .query_map(params![sweep as i64], |row| {
                Ok(StoredResult {
                    point: row.get(0)?,
                    replica: row.get(1)?,
                    task: row.get(2)?,
                    agent: row.get(3)?,
                    attempt: row.get(4)?,
                    row: row.get(5)?,
                })
            })
            .map_err(error_at(&self.path, "list results"))?;
        rows.collect::<Result<_, _>>()
            .map_err(error_at(&self.path, "read results"))
    }

    /// Number of stored results of a sweep.
    pub fn result_count(&self, sweep: u64) -> Result<u32, StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM results WHERE sweep = ?1",
                params![sweep as i64],
                |r| r.get(0),
            )
            .map_err(error_at(&self.path, "count results"))
    }
}
