//! Why this module exists: the report reproduces the paper's figures for the sweep at hand
//! (SPEC §11). This module decides which figures a sweep gets and fills them with data; drawing is
//! [`super::render`]'s job.
//! * every sweep: r̄ (λ_eff on the sphere) against the second hyperparameter, one curve per value
//!   of the first, with SDE and discrete-time predictions (Fig. 1b, 3b, 4b, 13); total S against
//!   each hyperparameter (Fig. 1c–d, 3c–d, 4c–d; networks with the quadratic fit, Fig. 2e–f);
//! * isotropic sweeps: U and S_unit against the hyperparameter with exact VMF theory (Fig. 1a,
//!   3a, 4a) and G − min G / F − min F heat maps (Fig. 1e, 3e, 4e);
//! * networks: σ² and T against the hyperparameters (Fig. 2a–b);
//! * adiabat sweeps: total S along each adiabat (V4);
//! * with series.parquet: loss, radius and entropy against iteration.

use std::collections::BTreeMap;

use plotters::style::RGBColor;
use sweep_results::SeriesRow;
use sweep_theory::{Prediction, Protocol, isotropic_prediction};

use super::render::{Chart, Figure, Kind, Panel, Series, plasma, viridis};
use crate::analyse::Analysis;
use crate::sweep::Point;
use crate::theory::PointTheory;
use crate::verdict::Fit;

const MAX_CURVES: usize = 5;
const GREY: RGBColor = RGBColor(90, 90, 90);
const BLUE: RGBColor = RGBColor(31, 119, 180);
const ORANGE: RGBColor = RGBColor(255, 127, 14);

/// Distinct values, sorted.
fn distinct(v: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = v.collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

/// At most `n` evenly spaced elements (always the first and the last).
fn thin<T: Clone>(v: &[T], n: usize) -> Vec<T> {
    if v.len() <= n {
        return v.to_vec();
    }
    (0..n)
        .map(|i| v[i * (v.len() - 1) / (n - 1)].clone())
        .collect()
}

fn short(x: f64) -> String {
    format!("{x:.2e}")
}

/// Curves: points grouped by adiabat (adiabat sweeps) or by the value of one axis, sorted along
/// the other axis.
fn curves(points: &[Point], by_first: bool) -> Vec<(String, Vec<&Point>)> {
    let adiabats = points.iter().any(|p| p.adiabat.is_some());
    let mut groups: BTreeMap<String, (f64, Vec<&Point>)> = BTreeMap::new();
    for p in points {
        let (key, order) = if adiabats {
            let a = p.adiabat.unwrap_or(u32::MAX);
            (format!("adiabat {a:>4}"), a as f64)
        } else {
            let v = if by_first { p.first } else { p.second };
            (format!("{:020.12e}", v), v)
        };
        groups
            .entry(key)
            .or_insert_with(|| (order, Vec::new()))
            .1
            .push(p);
    }
    let mut out: Vec<(f64, String, Vec<&Point>)> = groups
        .into_values()
        .map(|(order, mut ps)| {
            ps.sort_by(|a, b| {
                let (x, y) = if by_first {
                    (a.second, b.second)
                } else {
                    (a.first, b.first)
                };
                x.total_cmp(&y)
            });
            let label = match ps.first() {
                Some(p) if p.adiabat.is_some() && adiabats => {
                    format!("adiabat {}", p.adiabat.unwrap_or_default())
                }
                Some(_) => short(order),
                None => String::new(),
            };
            (order, label, ps)
        })
        .collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    let all: Vec<(String, Vec<&Point>)> = out.into_iter().map(|(_, l, p)| (l, p)).collect();
    thin(&all, MAX_CURVES)
}

fn colour(i: usize, n: usize, palette: fn(f64) -> RGBColor) -> RGBColor {
    palette(if n > 1 {
        i as f64 / (n - 1) as f64
    } else {
        0.0
    })
}

fn dots(label: String, points: Vec<(f64, f64)>, colour: RGBColor) -> Series {
    Series {
        label,
        points,
        kind: Kind::Dots,
        colour,
        width: 0,
    }
}

fn line(label: String, points: Vec<(f64, f64)>, colour: RGBColor, width: u32) -> Series {
    Series {
        label,
        points,
        kind: Kind::Line,
        colour,
        width,
    }
}

/// (x along a curve, x label) for curves grouped by the first axis (x = second) or the second.
fn along(p: &Point, by_first: bool) -> f64 {
    if by_first { p.second } else { p.first }
}

/// Theory along one curve of an isotropic grid at 40 log-spaced values (smooth lines); None for
/// networks, adiabats or without σ², where callers draw the points' own predictions instead.
fn dense(
    a: &Analysis,
    ps: &[&Point],
    by_first: bool,
    f: &dyn Fn(&Prediction) -> Option<f64>,
) -> Option<Vec<(f64, f64)>> {
    if !a.sweep.isotropic() || ps.iter().any(|p| p.adiabat.is_some()) {
        return None;
    }
    let p0 = ps.first()?;
    let sigma2 = p0.measured.sigma2?;
    let fixed = if by_first { p0.first } else { p0.second };
    let xs = ps.iter().map(|p| along(p, by_first));
    let (lo, hi) = xs.fold((f64::INFINITY, 0.0f64), |(l, h), x| (l.min(x), h.max(x)));
    if !(hi > lo && lo > 0.0) {
        return None;
    }
    const N: usize = 40;
    let out: Vec<(f64, f64)> = (0..N)
        .filter_map(|k| {
            let x = (lo.ln() + (hi.ln() - lo.ln()) * k as f64 / (N - 1) as f64).exp();
            let (f1, f2) = if by_first { (fixed, x) } else { (x, fixed) };
            let pred = isotropic_prediction(a.sweep.protocol, a.sweep.d(), sigma2, f1, f2).ok()?;
            f(&pred).map(|v| (x, v))
        })
        .collect();
    (out.len() >= 2).then_some(out)
}

fn radius_figure(a: &Analysis, names: (&str, &str)) -> Figure {
    let sphere = a.sweep.protocol == Protocol::FixedSphere;
    let q = |p: &Point| {
        if sphere {
            p.measured.wd_eff.unwrap_or(p.measured.pressure)
        } else {
            p.measured.radius
        }
    };
    let v1 = |m: Option<sweep_theory::Mechanics>| m.map(|m| PointTheory::v1(&m, a.sweep.protocol));
    let cs = curves(&a.sweep.points, true);
    let n = cs.len();
    let mut series = Vec::new();
    for (i, (label, ps)) in cs.iter().enumerate() {
        let c = colour(i, n, plasma);
        series.push(dots(
            format!("{} = {label}", names.0),
            ps.iter().map(|p| (along(p, true), q(p))).collect(),
            c,
        ));
        let th = |f: &dyn Fn(&PointTheory) -> Option<f64>| -> Vec<(f64, f64)> {
            ps.iter()
                .filter_map(|p| f(&a.theory[p.index]).map(|v| (along(p, true), v)))
                .collect()
        };
        let protocol = a.sweep.protocol;
        let sde = dense(a, ps, true, &|p| Some(PointTheory::v1(&p.sde, protocol)))
            .unwrap_or_else(|| th(&|t| v1(t.sde)));
        let exact = dense(a, ps, true, &|p| Some(PointTheory::v1(&p.exact, protocol)))
            .unwrap_or_else(|| th(&|t| v1(t.exact)));
        series.push(line(String::new(), sde, c, 2));
        series.push(line(String::new(), exact, c, 1));
    }
    let (what, y) = if sphere {
        ("effective weight decay", "λ_eff")
    } else {
        ("stationary radius", "mean radius")
    };
    Figure::Chart(Chart {
        title: format!(
            "{what} vs {} (dots: measured; thick: SDE; thin: discrete-time)",
            names.1
        ),
        x_label: names.1.to_owned(),
        y_label: y.to_owned(),
        log_x: true,
        log_y: true,
        series,
    })
}

fn entropy_figure(a: &Analysis, by_first: bool, names: (&str, &str), fit: Option<&Fit>) -> Figure {
    let cs = curves(&a.sweep.points, by_first);
    let n = cs.len();
    let (curve_name, x_name) = if by_first {
        (names.0, names.1)
    } else {
        (names.1, names.0)
    };
    let palette = if by_first { plasma } else { viridis };
    let mut series = Vec::new();
    for (i, (label, ps)) in cs.iter().enumerate() {
        let c = colour(i, n, palette);
        series.push(dots(
            format!("{curve_name} = {label}"),
            ps.iter()
                .map(|p| (along(p, by_first), p.measured.entropy))
                .collect(),
            c,
        ));
        let theory: Vec<(f64, f64)> = ps
            .iter()
            .filter_map(|p| {
                let t = &a.theory[p.index];
                let s = match (t.isotropic, fit) {
                    (Some(iso), _) => Some(iso.state_sde.entropy),
                    (None, Some(f)) => Some(f.coefficients.value(p.x(), p.y())),
                    _ => None,
                };
                s.map(|s| (along(p, by_first), s))
            })
            .collect();
        let m = a.sweep.d() as f64 - 1.0;
        let smooth = dense(a, ps, by_first, &|p| {
            Some(p.vmf.entropy + m * p.sde.radius.ln())
        });
        series.push(line(String::new(), smooth.unwrap_or(theory), c, 2));
    }
    let what = if a.sweep.isotropic() {
        "lines: exact theory (SDE)"
    } else {
        "lines: quadratic fit"
    };
    Figure::Chart(Chart {
        title: format!("total entropy vs {x_name} ({what})"),
        x_label: x_name.to_owned(),
        y_label: "S".to_owned(),
        log_x: true,
        log_y: false,
        series,
    })
}

/// Fig. 1a/3a/4a: U or S_unit along one axis at the middle value of the other.
fn vmf_figure(a: &Analysis, names: (&str, &str), entropy: bool) -> Option<Figure> {
    // Fixed LR: vs λ at the middle η (Fig. 1a); else vs elr at the middle λ or r (Fig. 3a, 4a).
    let by_first = a.sweep.protocol == Protocol::FixedLr;
    let fixed_vals = distinct(
        a.sweep
            .points
            .iter()
            .map(|p| if by_first { p.first } else { p.second }),
    );
    let mid = *fixed_vals.get(fixed_vals.len() / 2)?;
    let mut ps: Vec<&Point> = a
        .sweep
        .points
        .iter()
        .filter(|p| (if by_first { p.first } else { p.second }) == mid && p.adiabat.is_none())
        .collect();
    if ps.len() < 2 {
        return None;
    }
    ps.sort_by(|x, y| along(x, by_first).total_cmp(&along(y, by_first)));
    let m = |p: &Point| {
        if entropy {
            p.measured.entropy_unit
        } else {
            p.measured.energy
        }
    };
    let th = |sde: bool| -> Vec<(f64, f64)> {
        ps.iter()
            .filter_map(|p| {
                let iso = a.theory[p.index].isotropic?;
                let v = if sde { iso.vmf_sde } else { iso.vmf_disc? };
                Some((
                    along(p, by_first),
                    if entropy { v.entropy } else { v.energy },
                ))
            })
            .collect()
    };
    let pick = |v: &sweep_theory::VmfStats| if entropy { v.entropy } else { v.energy };
    let smooth_sde = dense(a, &ps, by_first, &|p| Some(pick(&p.vmf)));
    let smooth_disc = dense(a, &ps, by_first, &|p| Some(pick(&p.vmf_disc)));
    let x_name = if by_first { names.1 } else { names.0 };
    let fixed_name = if by_first { names.0 } else { names.1 };
    let (what, y) = if entropy {
        ("unit-sphere entropy", "S_unit")
    } else {
        ("internal energy", "U")
    };
    Some(Figure::Chart(Chart {
        title: format!("{what} vs {x_name} at {fixed_name} = {}", short(mid)),
        x_label: x_name.to_owned(),
        y_label: y.to_owned(),
        log_x: true,
        log_y: false,
        series: vec![
            dots(
                "measured".to_owned(),
                ps.iter().map(|p| (along(p, by_first), m(p))).collect(),
                GREY,
            ),
            line(
                "exact VMF at the SDE T".to_owned(),
                smooth_sde.unwrap_or_else(|| th(true)),
                BLUE,
                2,
            ),
            line(
                "exact VMF at the discrete-time T".to_owned(),
                smooth_disc.unwrap_or_else(|| th(false)),
                ORANGE,
                1,
            ),
        ],
    }))
}

/// Fig. 1e / 4e: G_j − min G_j over the grid, for 3×3 reference points j; Fig. 3e: F − min F
/// matrices on four spheres.
fn potential_figure(a: &Analysis, names: (&str, &str)) -> Option<Figure> {
    let pts: Vec<&Point> = a
        .sweep
        .points
        .iter()
        .filter(|p| p.adiabat.is_none())
        .collect();
    let firsts = distinct(pts.iter().map(|p| p.first));
    let seconds = distinct(pts.iter().map(|p| p.second));
    if firsts.len() < 2 || seconds.len() < 2 {
        return None;
    }
    let find = |f: f64, s: f64| pts.iter().copied().find(|p| p.first == f && p.second == s);
    let pick = |n: usize| -> Vec<usize> {
        let mut v: Vec<usize> = [n / 6, n / 2, (5 * n) / 6]
            .into_iter()
            .map(|i| i.min(n - 1))
            .collect();
        v.dedup();
        v
    };
    let mut panels = Vec::new();
    if a.sweep.protocol == Protocol::FixedSphere {
        for &ri in &thin(&(0..seconds.len()).collect::<Vec<_>>(), 4) {
            let r = seconds[ri];
            let n = firsts.len();
            // values[row = state i][col = reference j] = F_j(i) − min_i F_j(i).
            let mut values = vec![vec![f64::NAN; n]; n];
            for (jc, &fj) in firsts.iter().enumerate() {
                let Some(j) = find(fj, r) else { continue };
                let col: Vec<Option<f64>> = firsts
                    .iter()
                    .map(|&fi| {
                        find(fi, r).map(|i| {
                            i.measured.energy - j.measured.temperature * i.measured.entropy
                        })
                    })
                    .collect();
                let min = col.iter().flatten().copied().fold(f64::INFINITY, f64::min);
                for (ir, v) in col.iter().enumerate() {
                    if let Some(v) = v {
                        values[ir][jc] = v - min;
                    }
                }
            }
            panels.push(Panel {
                title: format!("radius {}", short(r)),
                x_label: format!("T* from {} (j)", names.0),
                y_label: format!("state from {} (i)", names.0),
                cols: n,
                rows: n,
                values,
                mark: None,
            });
        }
    } else {
        for &sj in &pick(seconds.len()) {
            for &fj in &pick(firsts.len()) {
                let Some(j) = find(firsts[fj], seconds[sj]) else {
                    continue;
                };
                let (t, p) = (j.measured.temperature, j.measured.pressure);
                let g =
                    |i: &Point| i.measured.energy - t * i.measured.entropy + p * i.measured.volume;
                let min = pts.iter().map(|i| g(i)).fold(f64::INFINITY, f64::min);
                let values: Vec<Vec<f64>> = seconds
                    .iter()
                    .map(|&s| {
                        firsts
                            .iter()
                            .map(|&f| find(f, s).map_or(f64::NAN, |i| g(i) - min))
                            .collect()
                    })
                    .collect();
                panels.push(Panel {
                    title: format!(
                        "j: {}={}, {}={}",
                        names.0,
                        short(firsts[fj]),
                        names.1,
                        short(seconds[sj])
                    ),
                    x_label: names.0.to_owned(),
                    y_label: names.1.to_owned(),
                    cols: firsts.len(),
                    rows: seconds.len(),
                    values,
                    mark: Some((fj, sj)),
                });
            }
        }
    }
    let what = if a.sweep.protocol == Protocol::FixedSphere {
        "F_j(i) − min_i F_j (white: the minimum, expected on the diagonal; log colours)"
    } else {
        "G_j − min G_j over the grid (white: the minimum; red dot: j; log colours, max·1e-4 → max)"
    };
    Some(Figure::Heat {
        title: what.to_owned(),
        panels,
    })
}

fn network_figures(a: &Analysis, names: (&str, &str)) -> Vec<(String, Figure)> {
    let mut out = Vec::new();
    let cs = curves(&a.sweep.points, false);
    let n = cs.len();
    let lr = a.sweep.protocol == Protocol::FixedLr;
    let sigma: Vec<Series> = cs
        .iter()
        .enumerate()
        .map(|(i, (label, ps))| {
            let pts = ps
                .iter()
                .filter_map(|p| {
                    p.measured
                        .sigma2
                        .map(|s| (if lr { p.first * p.second } else { p.first }, s))
                })
                .collect();
            dots(format!("{} = {label}", names.1), pts, colour(i, n, viridis))
        })
        .collect();
    if sigma.iter().any(|s| !s.points.is_empty()) {
        out.push((
            "sigma2".to_owned(),
            Figure::Chart(Chart {
                title: format!(
                    "gradient-noise variance σ² vs {}",
                    if lr { "ηλ" } else { names.0 }
                ),
                x_label: if lr {
                    "lr·wd".to_owned()
                } else {
                    names.0.to_owned()
                },
                y_label: "σ²".to_owned(),
                log_x: true,
                log_y: true,
                series: sigma,
            }),
        ));
    }
    let temp: Vec<Series> = cs
        .iter()
        .enumerate()
        .map(|(i, (label, ps))| {
            dots(
                format!("{} = {label}", names.1),
                ps.iter()
                    .map(|p| (p.first, p.measured.temperature))
                    .collect(),
                colour(i, n, viridis),
            )
        })
        .collect();
    // The paper's network figures plot the stationary training loss against the learning rate.
    let loss: Vec<Series> = cs
        .iter()
        .enumerate()
        .map(|(i, (label, ps))| {
            dots(
                format!("{} = {label}", names.1),
                ps.iter().map(|p| (p.first, p.measured.energy)).collect(),
                colour(i, n, viridis),
            )
        })
        .collect();
    out.push((
        "loss".to_owned(),
        Figure::Chart(Chart {
            title: format!("stationary training loss vs {}", names.0),
            x_label: names.0.to_owned(),
            y_label: "mean loss".to_owned(),
            log_x: true,
            log_y: true,
            series: loss,
        }),
    ));
    out.push((
        "temperature".to_owned(),
        Figure::Chart(Chart {
            title: format!("temperature vs {}", names.0),
            x_label: names.0.to_owned(),
            y_label: "T".to_owned(),
            log_x: true,
            log_y: true,
            series: temp,
        }),
    ));
    out
}

/// Reads one quantity of a series row.
type Getter = fn(&SeriesRow) -> Option<f64>;

fn series_figures(series: &[SeriesRow], points: &[Point]) -> Vec<(String, Figure)> {
    let mut by_point: BTreeMap<u32, Vec<&SeriesRow>> = BTreeMap::new();
    for r in series.iter().filter(|r| r.replica == 0) {
        by_point.entry(r.point).or_default().push(r);
    }
    let keys: Vec<u32> = by_point.keys().copied().collect();
    let chosen = thin(&keys, 8);
    let label = |k: u32| {
        points
            .iter()
            .find(|p| p.point == k)
            .map_or(format!("point {k}"), |p| {
                format!("{} / {}", short(p.first), short(p.second))
            })
    };
    let mut out = Vec::new();
    let quantities: [(&str, &str, Getter); 3] = [
        ("loss", "loss", |r| r.loss),
        ("radius", "‖w‖", |r| r.radius),
        ("entropy", "total S", |r| r.entropy),
    ];
    for (name, y, get) in quantities {
        let s: Vec<Series> = chosen
            .iter()
            .enumerate()
            .filter_map(|(i, k)| {
                let mut rows = by_point.get(k)?.clone();
                rows.sort_by_key(|r| r.iteration);
                let pts: Vec<(f64, f64)> = rows
                    .iter()
                    .filter_map(|r| get(r).map(|v| (r.iteration.max(1) as f64, v)))
                    .collect();
                (pts.len() >= 2).then(|| line(label(*k), pts, colour(i, chosen.len(), plasma), 1))
            })
            .collect();
        if !s.is_empty() {
            out.push((
                format!("series_{name}"),
                Figure::Chart(Chart {
                    title: format!("{y} vs iteration (replica 0, one line per point)"),
                    x_label: "iteration".to_owned(),
                    y_label: y.to_owned(),
                    log_x: true,
                    log_y: false,
                    series: s,
                }),
            ));
        }
    }
    out
}

/// Every figure of the report, with its file stem.
pub(crate) fn figures(a: &Analysis, series: Option<&[SeriesRow]>) -> Vec<(String, Figure)> {
    let names = a.sweep.protocol.axis_names();
    let fit = a.verdict.fit.as_ref();
    let mut out = vec![
        ("radius".to_owned(), radius_figure(a, names)),
        (
            format!("entropy_vs_{}", names.1),
            entropy_figure(a, true, names, fit),
        ),
        (
            format!("entropy_vs_{}", names.0),
            entropy_figure(a, false, names, fit),
        ),
    ];
    if a.sweep.isotropic() {
        if let Some(f) = vmf_figure(a, names, false) {
            out.push(("energy".to_owned(), f));
        }
        if let Some(f) = vmf_figure(a, names, true) {
            out.push(("entropy_unit".to_owned(), f));
        }
        if let Some(f) = potential_figure(a, names) {
            out.push(("potential".to_owned(), f));
        }
    } else {
        out.extend(network_figures(a, names));
    }
    if let Some(s) = series {
        out.extend(series_figures(s, &a.sweep.points));
    }
    out
}
