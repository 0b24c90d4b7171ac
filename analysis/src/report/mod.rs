//! Why this module exists: `sweepctl report DIR` and the coordinator write the same files from a
//! results folder (DESIGN §5): verdict.json, report.md, report.html and plots/. This module reads
//! the folder and writes them.

mod figures;
mod html;
mod markdown;
mod render;

use std::path::Path;

use crate::analyse::run;
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
    let series_path = dir.join("series.parquet");
    let series = if series_path.exists() {
        Some(sweep_results::read_series(&series_path)?)
    } else {
        None
    };
    let analysis = run(&rows, options)?;
    let verdict = &analysis.verdict;
    write(
        &dir.join("verdict.json"),
        serde_json::to_string_pretty(verdict)?.as_bytes(),
    )?;
    let plots = dir.join("plots");
    std::fs::create_dir_all(&plots).map_err(|cause| AnalysisError::Io {
        action: "create",
        path: plots.clone(),
        cause,
    })?;
    let mut svgs = Vec::new();
    for (name, figure) in figures::figures(&analysis, series.as_deref()) {
        let svg = render::render(&plots, &name, &figure)?;
        tracing::debug!(figure = %name, title = figure.title(), "plot written");
        svgs.push((name, svg));
    }
    let names: Vec<String> = svgs.iter().map(|(n, _)| n.clone()).collect();
    write(
        &dir.join("report.md"),
        markdown::markdown(verdict, &names).as_bytes(),
    )?;
    write(
        &dir.join("report.html"),
        html::html(verdict, &svgs).as_bytes(),
    )?;
    Ok(analysis.verdict)
}

/// The figures a set of rows gets, rendered into `dir` (for tests and callers without Parquet
/// files): returns (file stem, line series, dot series or heat-map panels) per figure.
pub fn render_figures(
    rows: &[sweep_results::ResultRow],
    series: Option<&[sweep_results::SeriesRow]>,
    options: &AnalysisOptions,
    dir: &Path,
) -> Result<Vec<FigureSummary>, AnalysisError> {
    let analysis = run(rows, options)?;
    let mut out = Vec::new();
    for (name, figure) in figures::figures(&analysis, series) {
        render::render(dir, &name, &figure)?;
        out.push(figure.summary(&name));
    }
    Ok(out)
}

/// What a rendered figure contains (what a valid file must show).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FigureSummary {
    /// File stem under plots/.
    pub name: String,
    /// Line series drawn (each one `<polyline>` in the SVG).
    pub lines: usize,
    /// Dots drawn over all dot series (each one `<circle>` in the SVG).
    pub dots: usize,
    /// Dot series.
    pub dot_series: usize,
    /// Heat-map cells (each one `<rect>` in the SVG), 0 for charts.
    pub cells: usize,
}
