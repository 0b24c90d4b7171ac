//! Shared helpers for the sweep-theory integration tests: JSON fixtures and error measures.
#![allow(dead_code, clippy::unwrap_used)]

use serde_json::Value;

/// Loads a JSON fixture from a path given relative to this crate's manifest directory.
pub fn load_json(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// |a − b| / |b|.
pub fn rel_err(a: f64, b: f64) -> f64 {
    ((a - b) / b).abs()
}

/// |a − b| / max(|b|, 1): relative for large values, absolute near zero (where the relative
/// error of a logarithm is meaningless: log I_ν crosses zero).
pub fn log_err(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1.0)
}

/// A field that is a number, or a decimal string (the 40-digit mpmath values).
pub fn num(v: &Value, key: &str) -> f64 {
    match &v[key] {
        Value::Number(n) => n.as_f64().unwrap(),
        Value::String(s) => s.parse().unwrap(),
        other => panic!("{key}: not a number: {other}"),
    }
}

/// Keeps the worst error seen and where it occurred.
#[derive(Default)]
pub struct Worst {
    pub err: f64,
    pub at: String,
}

impl Worst {
    pub fn update(&mut self, err: f64, at: impl FnOnce() -> String) {
        if err > self.err || err.is_nan() {
            self.err = err;
            self.at = at();
        }
    }
}
