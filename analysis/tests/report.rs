//! Plots and reports: every file written is a valid SVG / PNG with the expected content, and
//! report_dir writes the full set from Parquet files alone.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{Level, geomspace, isotropic_adiabats, isotropic_grid, network_grid, paper_axes};
use sweep_analysis::{AnalysisOptions, FigureSummary, Verdict, render_figures, report_dir};
use sweep_results::{ParquetSink, ResultRow, SeriesRow, SinkOptions};
use sweep_theory::Protocol;

fn opts() -> AnalysisOptions {
    AnalysisOptions {
        bootstrap: 20,
        ..AnalysisOptions::default()
    }
}

/// Parse-level SVG check: one root `<svg …>…</svg>`, balanced tags, and the element counts.
fn check_svg(path: &Path, f: &FigureSummary) {
    let text = std::fs::read_to_string(path).unwrap();
    let body = text.trim_start();
    let body = if body.starts_with("<?xml") {
        &body[body.find("?>").unwrap() + 2..]
    } else {
        body
    }
    .trim();
    assert!(
        body.starts_with("<svg"),
        "{}: root is not <svg",
        path.display()
    );
    assert!(body.ends_with("</svg>"), "{}: not closed", path.display());
    assert_eq!(body.matches("<svg").count(), 1, "{}", path.display());
    // Balanced elements: every opening tag is self-closed or closed.
    let mut depth: i64 = 0;
    let mut rest = body;
    while let Some(i) = rest.find('<') {
        let j = rest[i..].find('>').unwrap() + i;
        let tag = &rest[i + 1..j];
        if tag.starts_with('/') {
            depth -= 1;
        } else if !tag.ends_with('/') && !tag.starts_with('!') && !tag.starts_with('?') {
            depth += 1;
        }
        assert!(depth >= 0, "{}: unbalanced at {tag}", path.display());
        rest = &rest[j + 1..];
    }
    assert_eq!(depth, 0, "{}: unbalanced", path.display());
    // Axes and ticks are black polylines; series colours are never pure black.
    let series_lines = body.match_indices("<polyline").filter(|(i, _)| {
        let end = body[*i..].find('>').unwrap() + i;
        !body[*i..end].contains("stroke=\"#000000\"")
    });
    assert_eq!(
        series_lines.count(),
        f.lines,
        "{}: line series",
        path.display()
    );
    assert_eq!(
        body.matches("<circle").count(),
        f.dots,
        "{}: dots",
        path.display()
    );
    assert!(
        body.matches("<rect").count() >= f.cells,
        "{}: cells",
        path.display()
    );
    assert!(body.contains("<text"), "{}: no text", path.display());
}

/// PNG signature, IHDR first with the expected size, IEND last.
fn check_png(path: &Path) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
    assert_eq!(&b[12..16], b"IHDR");
    let w = u32::from_be_bytes(b[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(b[20..24].try_into().unwrap());
    assert_eq!((w, h), (820, 560));
    assert_eq!(&b[b.len() - 8..b.len() - 4], b"IEND");
}

fn check_all(rows: &[ResultRow], series: Option<&[SeriesRow]>) -> Vec<FigureSummary> {
    let dir = tempfile::tempdir().unwrap();
    let figs = render_figures(rows, series, &opts(), dir.path()).unwrap();
    if let Ok(keep) = std::env::var("KEEP_PLOTS") {
        for f in &figs {
            let _ = std::fs::copy(
                dir.path().join(format!("{}.svg", f.name)),
                format!("{keep}/{}.svg", f.name),
            );
            let _ = std::fs::copy(
                dir.path().join(format!("{}.png", f.name)),
                format!("{keep}/{}.png", f.name),
            );
        }
    }
    for f in &figs {
        check_svg(&dir.path().join(format!("{}.svg", f.name)), f);
        check_png(&dir.path().join(format!("{}.png", f.name)));
    }
    figs
}

fn find<'a>(figs: &'a [FigureSummary], name: &str) -> &'a FigureSummary {
    figs.iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no figure {name}: {figs:?}"))
}

#[test]
fn isotropic_figures_have_the_expected_series() {
    for protocol in Protocol::ALL {
        let (a, b) = paper_axes(protocol);
        let rows = isotropic_grid(protocol, 3, &a, &b, Level::Discrete);
        let figs = check_all(&rows, None);
        let (first, second) = protocol.axis_names();
        let names: Vec<&str> = figs.iter().map(|f| f.name.as_str()).collect();
        let want = [
            "radius",
            &format!("entropy_vs_{second}"),
            &format!("entropy_vs_{first}"),
            "energy",
            "entropy_unit",
            "potential",
        ];
        assert_eq!(names, want, "{protocol}");
        // 5 curves: dots + SDE + discrete per curve; all 25 points drawn.
        let r = find(&figs, "radius");
        assert_eq!((r.dot_series, r.lines, r.dots), (5, 10, 25), "{protocol}");
        let s = find(&figs, &format!("entropy_vs_{second}"));
        assert_eq!((s.dot_series, s.lines, s.dots), (5, 5, 25));
        // Fig. 1a-style: measured dots (5) + two theory lines.
        let u = find(&figs, "energy");
        assert_eq!((u.dot_series, u.lines, u.dots), (1, 2, 5));
        let g = find(&figs, "potential");
        if protocol == Protocol::FixedSphere {
            assert_eq!(g.cells, 4 * 25, "4 spheres × 5×5 (state × T*)");
        } else {
            assert_eq!(
                (g.cells, g.dots),
                (9 * 25, 9),
                "3×3 reference points, 5×5 grid, one red dot each"
            );
        }
    }
}

#[test]
fn network_and_adiabat_figures() {
    let (a, b) = paper_axes(Protocol::FixedLr);
    let figs = check_all(&network_grid(Protocol::FixedLr, 1001, &a, &b), None);
    let names: Vec<&str> = figs.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "radius",
            "entropy_vs_wd",
            "entropy_vs_lr",
            "sigma2",
            "loss",
            "temperature"
        ]
    );
    // One dot series per wd curve, one dot per point.
    let loss = find(&figs, "loss");
    assert_eq!((loss.dot_series, loss.dots), (b.len(), a.len() * b.len()));
    // Networks: the entropy lines are the quadratic fit.
    assert_eq!(find(&figs, "entropy_vs_lr").lines, 5);
    let rows = isotropic_adiabats(
        Protocol::FixedElr,
        3,
        &[(1e-2, 1e-2), (3e-2, 1e-2)],
        &geomspace(3e-3, 3e-2, 4),
        Level::Sde,
    );
    let figs = check_all(&rows, None);
    // Curves are the two adiabats.
    let s = find(&figs, "entropy_vs_wd");
    assert_eq!((s.dot_series, s.lines, s.dots), (2, 2, 8));
}

fn series_rows(rows: &[ResultRow]) -> Vec<SeriesRow> {
    let mut out = Vec::new();
    for r in rows {
        for k in 1..=20u64 {
            let it = k * 100;
            let decay = (-(it as f64) / 500.0).exp();
            out.push(SeriesRow {
                sweep: r.sweep.clone(),
                point: r.point,
                replica: 0,
                iteration: it,
                loss: r.loss_mean.map(|u| u + 0.5 * decay),
                radius: r.radius_mean.map(|x| x * (1.0 + decay)),
                entropy_unit: r.entropy_unit,
                entropy: r.entropy.map(|s| s - decay),
                trace_sigma: None,
                full_grad_sq: None,
            });
        }
    }
    out
}

#[test]
fn series_figures_have_one_line_per_chosen_point() {
    let (a, b) = paper_axes(Protocol::FixedLr);
    let rows = isotropic_grid(Protocol::FixedLr, 3, &a, &b, Level::Discrete);
    let series = series_rows(&rows);
    let figs = check_all(&rows, Some(&series));
    for name in ["series_loss", "series_radius", "series_entropy"] {
        let f = find(&figs, name);
        assert_eq!((f.lines, f.dots), (8, 0), "{name}: 8 of 25 points");
    }
}

fn write_parquet<R: sweep_results::ParquetRow>(path: &Path, rows: Vec<R>) {
    let mut sink = ParquetSink::<R>::create(path, SinkOptions::default()).unwrap();
    sink.send(rows).unwrap();
    sink.finish().unwrap();
}

#[test]
fn report_dir_writes_every_file_from_parquet_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = paper_axes(Protocol::FixedElr);
    let mut rows = isotropic_grid(Protocol::FixedElr, 3, &a, &b, Level::Discrete);
    rows[4].status = sweep_results::Status::Diverged;
    rows[4].error = Some("NaN at step 12".to_owned());
    let series = series_rows(&rows);
    write_parquet(&dir.path().join("results.parquet"), rows);
    write_parquet(&dir.path().join("series.parquet"), series);
    let verdict = report_dir(dir.path(), &opts()).unwrap();
    assert!(verdict.all_passed(), "{:?}", verdict.checks);
    // verdict.json round-trips and keeps the DESIGN §6 keys.
    let text = std::fs::read_to_string(dir.path().join("verdict.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    for key in ["sweep", "workload", "protocol", "dim", "checks", "fit"] {
        assert!(json.get(key).is_some(), "verdict.json lacks {key}");
    }
    for c in json["checks"].as_array().unwrap() {
        for key in ["id", "value", "tolerance", "pass", "detail"] {
            assert!(c.get(key).is_some(), "check lacks {key}");
        }
    }
    let back: Verdict = serde_json::from_str(&text).unwrap();
    assert_eq!(back.checks.len(), verdict.checks.len());
    for (a, b) in back.checks.iter().zip(&verdict.checks) {
        assert!(
            a.id == b.id
                && a.pass == b.pass
                && (a.value - b.value).abs() <= 1e-12 * b.value.abs().max(1e-300)
        );
    }
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(
        md.contains("| `ideal_gas` |")
            && md.contains("1 rows excluded")
            && md.contains("1 diverged")
    );
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    // Self-contained: inline SVG, no scripts, no external references.
    // (SVG's xmlns="http://www.w3.org/2000/svg" is a name, not a fetch.)
    assert!(
        html.contains("<svg")
            && !html.contains("<script")
            && !html.contains("<img")
            && !html.contains("<link")
    );
    assert!(
        !html.contains("src=")
            && !html.contains("href=")
            && !html.contains("url(")
            && !html.contains("@import")
    );
    let verdict_at = html.find("<h2>Verdict</h2>").unwrap();
    let figures_at = html.find("<h2>Figures</h2>").unwrap();
    let points_at = html.find("<h2>Points</h2>").unwrap();
    assert!(verdict_at < figures_at && figures_at < points_at);
    let plots: Vec<String> = std::fs::read_dir(dir.path().join("plots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    for name in [
        "radius",
        "potential",
        "series_loss",
        "series_radius",
        "series_entropy",
    ] {
        assert!(
            plots.contains(&format!("{name}.svg")) && plots.contains(&format!("{name}.png")),
            "{plots:?}"
        );
    }
}

#[test]
fn report_dir_without_results_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = report_dir(dir.path(), &opts()).unwrap_err();
    assert!(err.to_string().contains("results.parquet"), "{err}");
}
