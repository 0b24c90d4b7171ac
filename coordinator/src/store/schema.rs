//! The tables. Adding a column is fine; changing one needs a migration keyed on `user_version`.

/// Created on open if absent.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sweeps (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL,
    spec          TEXT    NOT NULL,
    submitted_ms  INTEGER NOT NULL,
    points        INTEGER NOT NULL,
    tasks         INTEGER NOT NULL,
    cancelled     INTEGER NOT NULL DEFAULT 0,
    ended_ms      INTEGER,
    exported      INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS tasks (
    sweep       INTEGER NOT NULL,
    task        INTEGER NOT NULL,
    state       TEXT    NOT NULL,
    epoch       INTEGER NOT NULL DEFAULT 0,
    errors      INTEGER NOT NULL DEFAULT 0,
    agent       TEXT,
    last_error  TEXT,
    PRIMARY KEY (sweep, task)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS results (
    sweep    INTEGER NOT NULL,
    point    INTEGER NOT NULL,
    replica  INTEGER NOT NULL,
    task     INTEGER NOT NULL,
    agent    TEXT    NOT NULL,
    attempt  INTEGER NOT NULL,
    row      BLOB    NOT NULL,
    PRIMARY KEY (sweep, point, replica)
) WITHOUT ROWID;
";
