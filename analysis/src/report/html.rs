//! Why this module exists: `report.html` must open offline in any browser as one file (DESIGN
//! §5): the verdict table first, then the figures as inline SVG, then the per-point table. No
//! scripts, no external styles or fonts, no network.

use std::fmt::Write;

use super::markdown::{axes, interval, num, point_table, result, summary};
use crate::verdict::Verdict;

pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Strips an XML declaration so the SVG can sit inside HTML.
fn inline_svg(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;max-width:1200px;color:#222}\
table{border-collapse:collapse;margin:1em 0;font-size:0.9em}\
td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f3f3f3}\
td.l{text-align:left}.pass{color:#176d17;font-weight:bold}.fail{color:#b00000;font-weight:bold}\
figure{margin:1.5em 0}figure svg{max-width:100%;height:auto}.detail{font-size:0.9em}";

/// The whole report.html; `figures` are (name, SVG text).
pub(crate) fn html(v: &Verdict, figures: &[(String, String)]) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>thermosweep report: {}</title><style>{STYLE}</style></head><body>\n",
        escape(&v.sweep)
    );
    let _ = writeln!(s, "<h1>thermosweep report: {}</h1><ul>", escape(&v.sweep));
    for line in summary(v) {
        let _ = writeln!(s, "<li>{}</li>", escape(&line));
    }
    let _ = writeln!(
        s,
        "</ul><h2>Verdict</h2><table><tr><th>check</th><th>value</th><th>tolerance</th><th>95 % interval</th><th>result</th><th>detail</th></tr>"
    );
    for c in &v.checks {
        let class = if c.pass { "pass" } else { "fail" };
        let tol = if c.tolerance_overridden {
            format!("{} (override)", num(c.tolerance))
        } else {
            num(c.tolerance)
        };
        let _ = writeln!(
            s,
            "<tr><td class=\"l\"><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{}</td><td class=\"l detail\">{}</td></tr>",
            escape(&c.id),
            num(c.value),
            escape(&tol),
            escape(&interval(c)),
            escape(result(c)),
            escape(&c.detail)
        );
    }
    let _ = writeln!(s, "</table>");
    if !v.skipped.is_empty() {
        let _ = writeln!(s, "<h3>Checks not run</h3><ul>");
        for k in &v.skipped {
            let kind = if k.applicable {
                "could not run"
            } else {
                "not applicable"
            };
            let _ = writeln!(
                s,
                "<li><code>{}</code> ({kind}): {}</li>",
                escape(&k.id),
                escape(&k.reason)
            );
        }
        let _ = writeln!(s, "</ul>");
    }
    if let Some(f) = &v.fit {
        let c = &f.coefficients;
        let _ = writeln!(
            s,
            "<h3>Entropy surface{}</h3><p>{} with x = {}, y = {} over {} points: R² = {}, residual sd {} nats.</p><table><tr><th>a0</th><th>a1</th><th>a2</th><th>a3</th><th>a4</th><th>a5</th></tr><tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></table><ul>",
            if f.plots_only { " (plots only)" } else { "" },
            escape(&f.model),
            escape(&f.x),
            escape(&f.y),
            f.points,
            num(f.r2),
            num(f.residual_sd),
            num(c.a0),
            num(c.a1),
            num(c.a2),
            num(c.a3),
            num(c.a4),
            num(c.a5)
        );
        for (k, x) in &f.conditions {
            let _ = writeln!(s, "<li>{} = {}</li>", escape(k), num(*x));
        }
        if let Some(e) = f.max_relative_error {
            let _ = writeln!(
                s,
                "<li>max relative error of the Maxwell relation = {}</li>",
                num(e)
            );
        }
        let _ = writeln!(s, "</ul>");
    }
    if !figures.is_empty() {
        let _ = writeln!(s, "<h2>Figures</h2>");
        for (name, svg) in figures {
            let _ = writeln!(
                s,
                "<figure id=\"fig-{}\">{}<figcaption>{}</figcaption></figure>",
                escape(name),
                inline_svg(svg),
                escape(name)
            );
        }
    }
    let (header, rows) = point_table(v, axes(&v.protocol));
    let _ = write!(s, "<h2>Points</h2><table><tr>");
    for h in header {
        let _ = write!(s, "<th>{}</th>", escape(&h));
    }
    let _ = writeln!(s, "</tr>");
    for r in rows {
        let _ = write!(s, "<tr>");
        for c in r {
            let _ = write!(s, "<td>{}</td>", escape(&c));
        }
        let _ = writeln!(s, "</tr>");
    }
    let _ = writeln!(s, "</table></body></html>");
    s
}
