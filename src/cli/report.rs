//! Analysis of a results folder (DESIGN §5–6): `sweepctl report DIR`, and the last step of
//! `sweepctl run` and `sweepctl results`. Tolerance overrides come from `DIR/spec.toml`'s
//! `[analysis]` table when the folder has one (the coordinator writes it beside the results).

use std::path::{Path, PathBuf};

use sweep_analysis::{AnalysisError, AnalysisOptions, Verdict};

use crate::exit::CliError;

/// Analyses `dir` on a blocking thread, prints the verdict, and applies `--strict`.
pub async fn report(dir: PathBuf, strict: bool) -> Result<(), CliError> {
    let verdict = tokio::task::spawn_blocking(move || analyse(&dir))
        .await
        .map_err(|e| CliError::Failure(format!("analysis thread failed: {e}")))??;
    print_verdict(&verdict);
    if strict && !verdict.all_passed() {
        let failed: Vec<&str> = verdict
            .checks
            .iter()
            .filter(|c| !c.pass)
            .map(|c| c.id.as_str())
            .chain(
                verdict
                    .skipped
                    .iter()
                    .filter(|s| s.applicable)
                    .map(|s| s.id.as_str()),
            )
            .collect();
        return Err(CliError::ChecksFailed(format!(
            "--strict: checks failed or could not run: {}",
            failed.join(", ")
        )));
    }
    Ok(())
}

fn options(dir: &Path) -> Result<AnalysisOptions, CliError> {
    let mut options = AnalysisOptions::default();
    let spec = dir.join("spec.toml");
    if spec.exists() {
        let (_, spec) = super::read_spec(&spec)?;
        options.tolerances = spec.analysis.clone();
    }
    Ok(options)
}

fn analyse(dir: &Path) -> Result<Verdict, CliError> {
    if !dir.join("results.parquet").exists() {
        return Err(CliError::Usage(format!(
            "{} has no results.parquet to analyse",
            dir.display()
        )));
    }
    let options = options(dir)?;
    sweep_analysis::report_dir(dir, &options).map_err(|e| match e {
        AnalysisError::Results(e) => CliError::Usage(e.to_string()),
        e => CliError::Failure(format!("analysing {}: {e}", dir.display())),
    })
}

fn print_verdict(v: &Verdict) {
    println!(
        "verdict for sweep {} ({}, {}, d = {}):",
        v.sweep, v.workload, v.protocol, v.dim
    );
    for c in &v.checks {
        let mark = if c.pass {
            "pass"
        } else if c.fails_inside_interval {
            "FAIL (inside its interval)"
        } else {
            "FAIL"
        };
        println!(
            "  {:<20} {:>12.4e}  tolerance {:>10.3e}  {mark}",
            c.id, c.value, c.tolerance
        );
    }
    for s in &v.skipped {
        println!(
            "  {:<20} {}: {}",
            s.id,
            if s.applicable { "NOT RUN" } else { "n/a" },
            s.reason
        );
    }
}
