//! Why this module exists: `report.md` is the verdict for terminals and diffs (DESIGN §5): the
//! check table first, then what did not run, the entropy fit, the figures (as PNG links), and the
//! per-point table of derived variables. [`super::html`] shares the tables' content.

use std::fmt::Write;

use crate::verdict::{Check, Verdict};

pub(crate) fn num(x: f64) -> String {
    if !x.is_finite() {
        return "—".to_owned();
    }
    if x == 0.0 {
        return "0".to_owned();
    }
    if x.abs() < 1e-3 || x.abs() >= 1e4 {
        format!("{x:.3e}")
    } else {
        format!("{x:.4}")
    }
}

pub(crate) fn interval(c: &Check) -> String {
    c.interval.map_or("—".to_owned(), |[a, b]| {
        format!("[{}, {}]", num(a), num(b))
    })
}

pub(crate) fn result(c: &Check) -> &'static str {
    match (c.pass, c.fails_inside_interval) {
        (true, _) => "pass",
        (false, true) => "FAIL (tolerance inside the 95 % interval: not significant)",
        (false, false) => "FAIL",
    }
}

/// Header lines shared by both reports.
pub(crate) fn summary(v: &Verdict) -> Vec<String> {
    let excluded: usize = v.rows_excluded.values().sum();
    let by: Vec<String> = v
        .rows_excluded
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    vec![
        format!(
            "workload `{}`, protocol `{}`, d = {}",
            v.workload, v.protocol, v.dim
        ),
        format!(
            "{} rows, {} points analysed; {excluded} rows excluded from the checks{}",
            v.rows_total,
            v.points.len(),
            if by.is_empty() {
                String::new()
            } else {
                format!(" ({})", by.join(", "))
            }
        ),
        format!("intervals: {}", v.bootstrap),
        format!("overall: {}", if v.all_passed() { "PASS" } else { "FAIL" }),
    ]
}

/// Per-point table columns: header and cell values.
pub(crate) fn point_table(v: &Verdict, axes: (&str, &str)) -> (Vec<String>, Vec<Vec<String>>) {
    let header = [
        "point", axes.0, axes.1, "adiabat", "replicas", "U", "S_unit", "S", "r̄", "T", "P", "V",
        "R", "σ²", "F", "G",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let rows = v
        .points
        .iter()
        .map(|p| {
            let m = &p.measured;
            vec![
                p.point.to_string(),
                num(p.first),
                num(p.second),
                p.adiabat.map_or("—".to_owned(), |a| a.to_string()),
                p.replicas.to_string(),
                num(m.energy),
                num(m.entropy_unit),
                num(m.entropy),
                num(m.radius),
                num(m.temperature),
                num(m.pressure),
                num(m.volume),
                num(p.gas_constant),
                m.sigma2.map_or("—".to_owned(), num),
                num(p.helmholtz),
                num(p.gibbs),
            ]
        })
        .collect();
    (header, rows)
}

pub(crate) fn axes(protocol: &str) -> (&'static str, &'static str) {
    match protocol {
        "fixed_lr" => ("lr", "wd"),
        "fixed_elr" => ("elr", "wd"),
        _ => ("elr", "radius"),
    }
}

/// The whole report.md.
pub(crate) fn markdown(v: &Verdict, figures: &[String]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# thermosweep report: `{}`\n", v.sweep);
    for line in summary(v) {
        let _ = writeln!(s, "* {line}");
    }
    let _ = writeln!(s, "\n## Verdict\n");
    let _ = writeln!(s, "| check | value | tolerance | 95 % interval | result |");
    let _ = writeln!(s, "|---|---|---|---|---|");
    for c in &v.checks {
        let tol = if c.tolerance_overridden {
            format!("{} (override)", num(c.tolerance))
        } else {
            num(c.tolerance)
        };
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} |",
            c.id,
            num(c.value),
            tol,
            interval(c),
            result(c)
        );
    }
    let _ = writeln!(s);
    for c in &v.checks {
        let _ = writeln!(s, "* **`{}`**: {}", c.id, c.detail);
    }
    if !v.skipped.is_empty() {
        let _ = writeln!(s, "\n### Checks not run\n");
        for k in &v.skipped {
            let kind = if k.applicable {
                "could not run"
            } else {
                "not applicable"
            };
            let _ = writeln!(s, "* `{}` ({kind}): {}", k.id, k.reason);
        }
    }
    if let Some(f) = &v.fit {
        let c = &f.coefficients;
        let _ = writeln!(
            s,
            "\n### Entropy surface{}\n\n{} with x = {}, y = {} over {} points: R² = {}, residual sd {} nats.\n",
            if f.plots_only { " (plots only)" } else { "" },
            f.model,
            f.x,
            f.y,
            f.points,
            num(f.r2),
            num(f.residual_sd)
        );
        let _ = writeln!(
            s,
            "a0 = {}, a1 = {}, a2 = {}, a3 = {}, a4 = {}, a5 = {}\n",
            num(c.a0),
            num(c.a1),
            num(c.a2),
            num(c.a3),
            num(c.a4),
            num(c.a5)
        );
        for (k, x) in &f.conditions {
            let _ = writeln!(s, "* {k} = {}", num(*x));
        }
        if let Some(e) = f.max_relative_error {
            let _ = writeln!(
                s,
                "* max relative error of the Maxwell relation = {}",
                num(e)
            );
        }
    }
    if !figures.is_empty() {
        let _ = writeln!(s, "\n## Figures\n");
        for f in figures {
            let _ = writeln!(s, "![{f}](plots/{f}.png)");
        }
    }
    let (header, rows) = point_table(v, axes(&v.protocol));
    let _ = writeln!(s, "\n## Points\n\n| {} |", header.join(" | "));
    let _ = writeln!(s, "|{}", "---|".repeat(header.len()));
    for r in rows {
        let _ = writeln!(s, "| {} |", r.join(" | "));
    }
    s
}
