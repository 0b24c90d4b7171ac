//! Exit codes and messages of `sweepctl` (DESIGN §7): bad specs exit 2 with a message naming
//! the key, both when checked locally (`run`) and when the coordinator rejects them (`submit`:
//! gRPC `InvalidArgument`); unknown sweeps exit 2; an unreachable coordinator exits 1.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;

/// A valid spec (shared with the spec crate's bad-spec tests).
const GOOD: &str = include_str!("../testdata/minimal-spec.toml");

/// Twelve kinds of bad spec and the key each message must name.
const BAD: &[(&str, &str, &str)] = &[
    ("seed = 1", "seed = 1\ncolour = \"red\"", "colour"),
    ("version = 1", "version = 2", "version"),
    ("kind = \"isotropic\"", "kind = \"mlp\"", "workload.kind"),
    ("dim = 3", "dim = 1", "workload.dim"),
    (
        "kind = \"fixed_lr\"",
        "kind = \"fixed_momentum\"",
        "protocol.kind",
    ),
    ("wd = [1e-3, 1e-2]", "radius = [1e-3, 1e-2]", "grid.radius"),
    ("wd = [1e-3, 1e-2]", "wd = [1e-3, -1e-2]", "grid.wd"),
    ("wd = [1e-3, 1e-2]", "wd = []", "grid.wd"),
    (
        "iterations = 100000",
        "iterations = 0",
        "schedule.iterations",
    ),
    (
        "average_last = 50000",
        "average_last = 200000",
        "schedule.average_last",
    ),
    ("queue = 100", "queue = 100000", "entropy.queue"),
    (
        "average_last = 5",
        "average_last = 500",
        "entropy.average_last",
    ),
    (
        "average_last = 5",
        "average_last = 5\n[execution]\nbackend = \"tpu\"",
        "execution.backend",
    ),
];

fn bad_specs(dir: &std::path::Path) -> Vec<(std::path::PathBuf, &'static str)> {
    BAD.iter()
        .enumerate()
        .map(|(i, (from, to, key))| {
            let line = format!("\n{from}\n");
            assert_eq!(GOOD.matches(&line).count(), 1, "{from}");
            let path = dir.join(format!("bad-{i}.toml"));
            std::fs::write(&path, GOOD.replacen(&line, &format!("\n{to}\n"), 1)).unwrap();
            (path, *key)
        })
        .collect()
}

#[test]
fn bad_specs_exit_2_naming_the_key_locally_and_at_the_coordinator() {
    let dir = tempfile::tempdir().unwrap();
    let specs = bad_specs(dir.path());
    assert!(specs.len() >= 10);
    let (_coord, url) = coordinator(dir.path(), "127.0.0.1:0", 5000, "x");
    for (path, key) in &specs {
        let p = path.to_str().unwrap();
        for (args, url) in [
            (vec!["run", p, "--out", "/nonexistent/never"], None),
            (vec!["submit", p], Some(url.as_str())),
        ] {
            let o = sweepctl(&args, url);
            let stderr = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(
                stderr.contains(key),
                "{args:?}: message names {key}: {stderr}"
            );
        }
    }
    // The coordinator stays up and sane after all that.
    let good = dir.path().join("good.toml");
    std::fs::write(&good, GOOD).unwrap();
    assert!(submit(&good, &url) >= 1);
}

#[test]
fn unknown_sweeps_are_usage_errors_and_an_absent_coordinator_is_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let (_coord, url) = coordinator(dir.path(), "127.0.0.1:0", 5000, "x");
    for args in [["status", "99"], ["watch", "99"], ["cancel", "99"]] {
        let o = sweepctl(&args, Some(&url));
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(String::from_utf8_lossy(&o.stderr).contains("unknown sweep 99"));
    }
    let o = sweepctl(&["status"], Some("http://127.0.0.1:1"));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot reach the coordinator"));
    let o = sweepctl(&["run", "/nonexistent/spec.toml"], None);
    assert_eq!(o.status.code(), Some(2));
    let o = sweepctl(&["frobnicate"], None);
    assert_eq!(o.status.code(), Some(2), "clap usage errors exit 2");
}
