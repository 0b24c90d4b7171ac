//! Why this module exists: the report's figures must render on a bare machine (no system fonts,
//! no network) as SVG (inlined into report.html) and PNG. This module draws two kinds of figure
//! with plotters — line/dot charts with optional log axes, and panels of heat maps — using the
//! DejaVu Sans font compiled into the binary (registered once as "sans-serif").
//!
//! SVG structure the tests rely on: each line series is one `<polyline>` in its own colour (axes
//! and ticks are black polylines; no series is pure black), each dot one `<circle>`, each
//! heat-map cell one `<rect>`; legends use small rectangles, never polylines.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::AnalysisError;

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Measured values: dots.
    Dots,
    /// Theory or fits: a line.
    Line,
}

/// One series of a chart.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub kind: Kind,
    pub colour: RGBColor,
    /// Line width in pixels (lines only).
    pub width: u32,
}

/// A line/dot chart.
#[derive(Debug, Clone)]
pub(crate) struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_x: bool,
    pub log_y: bool,
    pub series: Vec<Series>,
}

/// One heat-map panel: `values[row][col]` on a (cols × rows) grid of cells; NaN cells are blank.
#[derive(Debug, Clone)]
pub(crate) struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub cols: usize,
    pub rows: usize,
    pub values: Vec<Vec<f64>>,
    /// A marked cell (col, row): the reference point j.
    pub mark: Option<(usize, usize)>,
}

/// A figure with its file stem.
#[derive(Debug, Clone)]
pub(crate) enum Figure {
    Chart(Chart),
    Heat { title: String, panels: Vec<Panel> },
}

impl Figure {
    /// Line series + dot series (charts) or panels (heat maps): what the tests count.
    pub(crate) fn title(&self) -> &str {
        match self {
            Figure::Chart(c) => &c.title,
            Figure::Heat { title, .. } => title,
        }
    }

    /// What the drawn figure contains: line series (≥ 2 drawable points), dots, dot series,
    /// heat-map cells.
    pub(crate) fn summary(&self, name: &str) -> super::FigureSummary {
        let mut s = super::FigureSummary {
            name: name.to_owned(),
            lines: 0,
            dots: 0,
            dot_series: 0,
            cells: 0,
        };
        match self {
            Figure::Chart(c) => {
                for series in &c.series {
                    let n = transformed(c, series).len();
                    match series.kind {
                        Kind::Line if n >= 2 => s.lines += 1,
                        Kind::Line => {}
                        Kind::Dots => {
                            s.dots += n;
                            s.dot_series += 1;
                        }
                    }
                }
            }
            Figure::Heat { panels, .. } => {
                s.cells = panels
                    .iter()
                    .map(|p| p.values.iter().map(Vec::len).sum::<usize>())
                    .sum();
                s.dots = panels.iter().filter(|p| p.mark.is_some()).count();
            }
        }
        s
    }
}

const SIZE: (u32, u32) = (820, 560);

fn fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
            .is_err()
        {
            tracing::warn!(
                "the embedded DejaVu font could not be registered; plots will have no text"
            );
        }
    });
}

/// Viridis, by linear interpolation between eight anchors (t in [0, 1]).
pub(crate) fn viridis(t: f64) -> RGBColor {
    const A: [(u8, u8, u8); 8] = [
        (68, 1, 84),
        (70, 50, 126),
        (54, 92, 141),
        (39, 127, 142),
        (31, 161, 135),
        (74, 193, 109),
        (160, 218, 57),
        (253, 231, 37),
    ];
    interpolate(&A, t)
}

/// Plasma, by linear interpolation between eight anchors, stopping short of the pale end.
pub(crate) fn plasma(t: f64) -> RGBColor {
    const A: [(u8, u8, u8); 8] = [
        (13, 8, 135),
        (84, 2, 163),
        (139, 10, 165),
        (185, 50, 137),
        (219, 92, 104),
        (244, 136, 73),
        (254, 188, 43),
        (240, 249, 33),
    ];
    interpolate(&A, 0.9 * t)
}

fn interpolate(a: &[(u8, u8, u8)], t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let pos = t * (a.len() - 1) as f64;
    let i = (pos.floor() as usize).min(a.len() - 2);
    let f = pos - i as f64;
    let mix = |x: u8, y: u8| (x as f64 + f * (y as f64 - x as f64)).round() as u8;
    RGBColor(
        mix(a[i].0, a[i + 1].0),
        mix(a[i].1, a[i + 1].1),
        mix(a[i].2, a[i + 1].2),
    )
}

fn plot_err(name: &str, e: impl std::fmt::Display) -> AnalysisError {
    AnalysisError::Plot {
        name: name.to_owned(),
        cause: e.to_string(),
    }
}

/// Transformed coordinates (log10 where asked), dropping points that cannot be drawn.
fn transformed(c: &Chart, s: &Series) -> Vec<(f64, f64)> {
    s.points
        .iter()
        .filter(|(x, y)| {
            x.is_finite() && y.is_finite() && (!c.log_x || *x > 0.0) && (!c.log_y || *y > 0.0)
        })
        .map(|&(x, y)| {
            (
                if c.log_x { x.log10() } else { x },
                if c.log_y { y.log10() } else { y },
            )
        })
        .collect()
}

fn range(v: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = v.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo {
        0.05 * (hi - lo)
    } else {
        0.5 * lo.abs().max(1e-3)
    };
    (lo - pad, hi + pad)
}

/// Three significant digits, plain between 1e-3 and 1e4, scientific outside.
fn sig3(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    if x.abs() < 1e-3 || x.abs() >= 1e4 {
        return format!("{x:.2e}");
    }
    let digits = (2 - x.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{x:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

fn tick(v: f64, log: bool) -> String {
    sig3(if log { 10f64.powf(v) } else { v })
}

fn draw_chart<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &Chart) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let data: Vec<Vec<(f64, f64)>> = c.series.iter().map(|s| transformed(c, s)).collect();
    let (x0, x1) = range(data.iter().flatten().map(|p| p.0));
    let (y0, y1) = range(data.iter().flatten().map(|p| p.1));
    let mut chart = ChartBuilder::on(root)
        .caption(&c.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| e.to_string())?;
    let (lx, ly) = (c.log_x, c.log_y);
    let fx = move |v: &f64| tick(*v, lx);
    let fy = move |v: &f64| tick(*v, ly);
    chart
        .configure_mesh()
        .x_desc(c.x_label.as_str())
        .y_desc(c.y_label.as_str())
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .label_style(("sans-serif", 13))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(|e| e.to_string())?;
    let mut labelled = false;
    for (s, pts) in c.series.iter().zip(&data) {
        let colour = s.colour;
        let legend = move |(x, y): (i32, i32)| {
            Rectangle::new([(x, y - 4), (x + 12, y + 4)], colour.filled())
        };
        match s.kind {
            Kind::Line => {
                if pts.len() < 2 {
                    continue;
                }
                let a = chart
                    .draw_series(std::iter::once(PathElement::new(
                        pts.clone(),
                        colour.stroke_width(s.width.max(1)),
                    )))
                    .map_err(|e| e.to_string())?;
                if !s.label.is_empty() {
                    a.label(s.label.as_str()).legend(legend);
                    labelled = true;
                }
            }
            Kind::Dots => {
                let a = chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 4, colour.filled())))
                    .map_err(|e| e.to_string())?;
                if !s.label.is_empty() {
                    a.label(s.label.as_str()).legend(legend);
                    labelled = true;
                }
            }
        }
    }
    if labelled {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .label_font(("sans-serif", 12))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn draw_heat<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    panels: &[Panel],
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let root = root
        .titled(title, ("sans-serif", 20))
        .map_err(|e| e.to_string())?;
    let n = panels.len().max(1);
    let cols = (n as f64).sqrt().ceil() as usize;
    let rows = n.div_ceil(cols);
    // Log colour scale over all panels: [max·1e-4, max]; exact zeros (the argmin) are white.
    let vmax = panels
        .iter()
        .flat_map(|p| p.values.iter().flatten())
        .copied()
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold(0.0, f64::max);
    let vmin = vmax * 1e-4;
    for (area, p) in root.split_evenly((rows, cols)).iter().zip(panels) {
        let mut chart = ChartBuilder::on(area)
            .caption(&p.title, ("sans-serif", 13))
            .margin(6)
            .x_label_area_size(26)
            .y_label_area_size(30)
            .build_cartesian_2d(0.0..p.cols as f64, 0.0..p.rows as f64)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(p.x_label.as_str())
            .y_desc(p.y_label.as_str())
            .x_labels(0)
            .y_labels(0)
            .label_style(("sans-serif", 11))
            .draw()
            .map_err(|e| e.to_string())?;
        let cells = p.values.iter().enumerate().flat_map(|(r, row)| {
            row.iter().enumerate().map(move |(c, &v)| {
                let colour = if !v.is_finite() {
                    RGBColor(200, 200, 200)
                } else if v <= 0.0 || vmax <= 0.0 {
                    WHITE
                } else {
                    viridis(((v.max(vmin)).log10() - vmin.log10()) / (vmax.log10() - vmin.log10()))
                };
                Rectangle::new(
                    [(c as f64, r as f64), (c as f64 + 1.0, r as f64 + 1.0)],
                    colour.filled(),
                )
            })
        });
        chart.draw_series(cells).map_err(|e| e.to_string())?;
        if let Some((c, r)) = p.mark {
            chart
                .draw_series(std::iter::once(Circle::new(
                    (c as f64 + 0.5, r as f64 + 0.5),
                    4,
                    RED.filled(),
                )))
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, f: &Figure) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    match f {
        Figure::Chart(c) => draw_chart(root, c),
        Figure::Heat { title, panels } => draw_heat(root, title, panels),
    }
}

/// Renders a figure to an SVG string and writes `dir/name.svg` and `dir/name.png`.
pub(crate) fn render(dir: &Path, name: &str, figure: &Figure) -> Result<String, AnalysisError> {
    fonts();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        draw(&root, figure).map_err(|e| plot_err(name, e))?;
        root.present().map_err(|e| plot_err(name, e))?;
    }
    let svg_path = dir.join(format!("{name}.svg"));
    std::fs::write(&svg_path, &svg).map_err(|cause| AnalysisError::Io {
        action: "write",
        path: svg_path,
        cause,
    })?;
    let png_path = dir.join(format!("{name}.png"));
    {
        let root = BitMapBackend::new(&png_path, SIZE).into_drawing_area();
        draw(&root, figure).map_err(|e| plot_err(name, e))?;
        root.present().map_err(|e| plot_err(name, e))?;
    }
    Ok(svg)
}
