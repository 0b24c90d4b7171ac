//! A running task's time series, as the agent streams it: one file per chunk under
//! `DATA/sweeps/ID/series/TASK-EPOCH/SEQ.pb`, written to a temporary name and renamed, so a
//! chunk is either whole or absent and a chunk sent twice is stored once. Only the accepted
//! epoch's chunks are ever read into `series.parquet`; the others are deleted.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The chunk files under a data directory.
#[derive(Debug, Clone)]
pub struct SeriesFiles {
    root: PathBuf,
}

impl SeriesFiles {
    /// Chunks live under `sweeps_dir/ID/series/`.
    pub fn new(sweeps_dir: impl Into<PathBuf>) -> Self {
        Self {
            root: sweeps_dir.into(),
        }
    }

    fn task_dir(&self, sweep: u64, task: u32) -> PathBuf {
        self.root
            .join(sweep.to_string())
            .join("series")
            .join(task.to_string())
    }

    fn epoch_dir(&self, sweep: u64, task: u32, epoch: u64) -> PathBuf {
        self.task_dir(sweep, task).join(epoch.to_string())
    }

    /// Stores chunk `seq` of `(sweep, task, epoch)`; storing it again replaces it.
    pub fn put(&self, sweep: u64, task: u32, epoch: u64, seq: u32, bytes: &[u8]) -> io::Result<()> {
        let dir = self.epoch_dir(sweep, task, epoch);
        fs::create_dir_all(&dir)?;
        let tmp = dir.join(format!(".{seq}.tmp"));
        fs::write(&tmp, bytes)?;
        fs::rename(&tmp, dir.join(format!("{seq}.pb")))
    }

    /// Which chunks of `(sweep, task, epoch)` are stored.
    pub fn stored(&self, sweep: u64, task: u32, epoch: u64) -> io::Result<Vec<u32>> {
        let dir = self.epoch_dir(sweep, task, epoch);
        let mut seqs = Vec::new();
        match fs::read_dir(&dir) {
            Ok(entries) => {
                for entry in entries {
                    let name = entry?.file_name();
                    if let Some(seq) = chunk_seq(Path::new(&name)) {
                        seqs.push(seq);
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        seqs.sort_unstable();
        Ok(seqs)
    }

    /// The chunks `0..count` of `(sweep, task, epoch)`, in order.
    pub fn read(
        &self,
        sweep: u64,
        task: u32,
        epoch: u64,
        count: u32,
    ) -> io::Result<BTreeMap<u32, Vec<u8>>> {
        let dir = self.epoch_dir(sweep, task, epoch);
        (0..count)
            .map(|seq| Ok((seq, fs::read(dir.join(format!("{seq}.pb")))?)))
            .collect()
    }

    /// Deletes every epoch of a task but `keep`.
    pub fn discard_other_epochs(&self, sweep: u64, task: u32, keep: u64) -> io::Result<()> {
        let dir = self.task_dir(sweep, task);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            if entry.file_name().to_str() != Some(keep.to_string().as_str()) {
                fs::remove_dir_all(entry.path())?;
            }
        }
        Ok(())
    }
}

fn chunk_seq(name: &Path) -> Option<u32> {
    let name = name.to_str()?;
    name.strip_suffix(".pb")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_stored_once_per_seq_and_other_epochs_are_discarded() {
        let dir = tempfile::tempdir().unwrap();
        let files = SeriesFiles::new(dir.path());
        files.put(3, 1, 7, 0, b"a").unwrap();
        files.put(3, 1, 7, 1, b"b").unwrap();
        files.put(3, 1, 7, 1, b"b2").unwrap();
        files.put(3, 1, 6, 0, b"old").unwrap();
        assert_eq!(files.stored(3, 1, 7).unwrap(), vec![0, 1]);
        assert_eq!(files.stored(3, 2, 7).unwrap(), Vec::<u32>::new());
        let read = files.read(3, 1, 7, 2).unwrap();
        assert_eq!(read[&1], b"b2");
        assert!(
            files.read(3, 1, 7, 3).is_err(),
            "a missing chunk is an error"
        );
        files.discard_other_epochs(3, 1, 7).unwrap();
        assert_eq!(files.stored(3, 1, 6).unwrap(), Vec::<u32>::new());
        assert_eq!(files.stored(3, 1, 7).unwrap(), vec![0, 1]);
    }
}
