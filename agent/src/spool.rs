//! Finished tasks waiting for delivery, on the agent's disk: one file per task and epoch, written
//! to a temporary name and renamed, removed once the coordinator has accepted (or superseded)
//! the report. An agent that loses its coordinator, or is restarted, delivers them later:
//! nothing computed is lost.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use prost::Message;
use sweep_proto::v1;

/// The spool directory.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
}

/// A spool error, naming the file.
#[derive(Debug, thiserror::Error)]
#[error("spool {path}: {action}: {source}")]
pub struct SpoolError {
    path: PathBuf,
    action: &'static str,
    #[source]
    source: io::Error,
}

impl Spool {
    /// Opens (creating) the directory.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, SpoolError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|source| SpoolError {
            path: dir.clone(),
            action: "create",
            source,
        })?;
        Ok(Self { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_of(&self, task: &v1::TaskRef) -> PathBuf {
        self.dir
            .join(format!("{}-{}-{}.task", task.sweep, task.task, task.epoch))
    }

    /// Stores a finished task; returns its file.
    pub fn put(&self, spooled: &v1::SpooledTask) -> Result<PathBuf, SpoolError> {
        let task = spooled
            .complete
            .as_ref()
            .and_then(|c| c.task)
            .unwrap_or_default();
        let path = self.path_of(&task);
        let tmp = path.with_extension("tmp");
        fs::write(&tmp, spooled.encode_to_vec())
            .and_then(|()| fs::rename(&tmp, &path))
            .map_err(|source| SpoolError {
                path: path.clone(),
                action: "write",
                source,
            })?;
        Ok(path)
    }

    /// The spooled files, oldest name first.
    pub fn list(&self) -> Result<Vec<PathBuf>, SpoolError> {
        let err = |source| SpoolError {
            path: self.dir.clone(),
            action: "list",
            source,
        };
        let mut files = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(err)? {
            let path = entry.map_err(err)?.path();
            if path.extension().is_some_and(|e| e == "task") {
                files.push(path);
            }
        }
        files.sort();
        Ok(files)
    }

    /// Reads a spooled task. A file that does not decode is renamed `*.corrupt` and reported.
    pub fn read(&self, path: &Path) -> Result<Option<v1::SpooledTask>, SpoolError> {
        let bytes = fs::read(path).map_err(|source| SpoolError {
            path: path.to_path_buf(),
            action: "read",
            source,
        })?;
        match v1::SpooledTask::decode(bytes.as_slice()) {
            Ok(t) => Ok(Some(t)),
            Err(e) => {
                tracing::error!(file = %path.display(), error = %e, "spooled task does not decode; set aside as .corrupt");
                let _ = fs::rename(path, path.with_extension("corrupt"));
                Ok(None)
            }
        }
    }

    /// Removes a delivered task.
    pub fn remove(&self, path: &Path) -> Result<(), SpoolError> {
        match fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(SpoolError {
                path: path.to_path_buf(),
                action: "remove",
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spooled_tasks_round_trip_and_corrupt_files_are_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path().join("spool")).unwrap();
        let task = v1::SpooledTask {
            series: vec![v1::SeriesChunk {
                agent: "a".into(),
                task: Some(v1::TaskRef::new(1, 2, 3)),
                seq: 0,
                samples: vec![v1::SeriesSample {
                    point: 4,
                    iteration: 10,
                    loss: Some(0.5),
                    ..Default::default()
                }],
            }],
            complete: Some(v1::CompleteRequest {
                agent: "a".into(),
                task: Some(v1::TaskRef::new(1, 2, 3)),
                series_chunks: 1,
                results: vec![],
            }),
        };
        let path = spool.put(&task).unwrap();
        assert_eq!(spool.list().unwrap(), vec![path.clone()]);
        assert_eq!(spool.read(&path).unwrap(), Some(task));
        fs::write(&path, b"\xff\xff\xff").unwrap();
        assert_eq!(spool.read(&path).unwrap(), None);
        assert!(spool.list().unwrap().is_empty());
        assert!(path.with_extension("corrupt").exists());
        spool.remove(&path).unwrap();
    }
}
