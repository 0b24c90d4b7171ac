//! Downloading a sweep's result files from the coordinator's `FetchResults` stream. Each file is
//! written to a temporary name and renamed when its last chunk arrives, so an interrupted
//! download never leaves a truncated `results.parquet`.

use std::io::Write;
use std::path::{Path, PathBuf};

use sweep_proto::auth::SweepsConn;
use sweep_proto::v1;

use crate::exit::CliError;

const KNOWN: &[&str] = &["spec.toml", "results.parquet", "series.parquet"];

/// Fetches the files of `sweep` into `out`; returns the paths written.
pub async fn fetch(
    client: &mut SweepsConn,
    sweep: u64,
    out: &Path,
    skip_series: bool,
) -> Result<Vec<PathBuf>, CliError> {
    std::fs::create_dir_all(out)
        .map_err(|e| CliError::Failure(format!("cannot create {}: {e}", out.display())))?;
    let mut stream = client
        .fetch_results(v1::FetchResultsRequest { sweep, skip_series })
        .await
        .map_err(|s| CliError::from_status("fetching results", &s))?
        .into_inner();
    let mut written = Vec::new();
    let mut current: Option<(String, PathBuf, std::fs::File, u64)> = None;
    while let Some(chunk) = stream
        .message()
        .await
        .map_err(|s| CliError::from_status("fetching results", &s))?
    {
        if !KNOWN.contains(&chunk.name.as_str()) {
            return Err(CliError::Failure(format!(
                "the coordinator sent an unexpected file {:?}",
                chunk.name
            )));
        }
        let io = |e: std::io::Error| CliError::Failure(format!("writing {}: {e}", out.display()));
        if current
            .as_ref()
            .is_none_or(|(name, ..)| *name != chunk.name)
        {
            let tmp = out.join(format!(".{}.part", chunk.name));
            let file = std::fs::File::create(&tmp).map_err(io)?;
            current = Some((chunk.name.clone(), tmp, file, 0));
        }
        let Some((name, tmp, file, offset)) = current.as_mut() else {
            continue;
        };
        if chunk.offset != *offset {
            return Err(CliError::Failure(format!(
                "{name}: chunk at offset {} where {} was expected",
                chunk.offset, offset
            )));
        }
        file.write_all(&chunk.data).map_err(io)?;
        *offset += chunk.data.len() as u64;
        if chunk.last {
            file.sync_all().map_err(io)?;
            let target = out.join(&*name);
            std::fs::rename(&*tmp, &target).map_err(io)?;
            written.push(target);
            current = None;
        }
    }
    if let Some((name, tmp, ..)) = current {
        let _ = std::fs::remove_file(tmp);
        return Err(CliError::Failure(format!(
            "{name}: the download ended early"
        )));
    }
    Ok(written)
}
