//! Bad specs are rejected with the key named (DESIGN §3): one test per rule, and all problems of
//! a spec are reported together.

use sweep_spec::{SpecError, parse};

/// A valid spec; every case breaks one line of it.
const GOOD: &str = include_str!("../../testdata/minimal-spec.toml");

/// The spec with the whole line `from` replaced by `to` (or `to` appended when `from` is empty).
fn with(from: &str, to: &str) -> String {
    if from.is_empty() {
        return format!("{GOOD}\n{to}\n");
    }
    let line = format!("\n{from}\n");
    assert_eq!(
        GOOD.matches(&line).count(),
        1,
        "{from} is not one whole line of the base spec"
    );
    GOOD.replacen(&line, &format!("\n{to}\n"), 1)
}

fn keys(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e
            .problems()
            .into_iter()
            .map(|p| format!("{} :: {}", p.key, p.rule))
            .collect(),
    }
}

fn rejects(text: &str, key: &str) {
    let got = keys(text);
    assert!(
        got.iter().any(|k| k.starts_with(key) || k.contains(key)),
        "expected a problem naming {key}, got {got:?}"
    );
}

#[test]
fn the_base_spec_is_good() {
    parse(GOOD).expect("base spec");
}

#[test]
fn each_rule_names_its_key() {
    let cases: &[(&str, &str, &str)] = &[
        ("seed = 1", "seed = 1\ncolour = \"red\"", "colour"),
        ("dim = 3", "dim = 3\ndepth = 2", "depth"),
        ("version = 1", "version = 2", "version"),
        ("version = 1", "", "version"),
        ("kind = \"isotropic\"", "kind = \"mlp\"", "workload.kind"),
        ("dim = 3", "dim = 1", "workload.dim"),
        ("dim = 3", "dim = 3\nwidth = 8", "workload.width"),
        (
            "kind = \"fixed_lr\"",
            "kind = \"fixed_momentum\"",
            "protocol.kind",
        ),
        ("wd = [1e-3, 1e-2]", "radius = [1e-3, 1e-2]", "grid.radius"),
        ("wd = [1e-3, 1e-2]", "wd = [1e-3, -1e-2]", "grid.wd"),
        ("wd = [1e-3, 1e-2]", "wd = []", "grid.wd"),
        (
            "lr = { geomspace = [1e-3, 1e-1, 3] }",
            "lr = { geomspace = [1e-3, 1e-1] }",
            "grid.lr",
        ),
        (
            "lr = { geomspace = [1e-3, 1e-1, 3] }",
            "lr = { geomspace = [0.0, 1e-1, 3] }",
            "grid.lr",
        ),
        (
            "lr = { geomspace = [1e-3, 1e-1, 3] }",
            "lr = { geomspace = [1e-3, 1e-1, 2.5] }",
            "grid.lr",
        ),
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
        ("log_every = 100", "log_every = 0", "schedule.log_every"),
        ("queue = 100", "queue = 100000", "entropy.queue"),
        (
            "average_last = 5",
            "average_last = 500",
            "entropy.average_last",
        ),
        (
            "every = 10",
            "every = 10\nestimator = \"scaled\"",
            "entropy.estimator",
        ),
        ("", "[execution]\nbackend = \"tpu\"", "execution.backend"),
        ("", "[execution]\nreplicas = 0", "execution.replicas"),
        ("", "[analysis]\n\"V9.magic\" = 0.1", "analysis.V9.magic"),
        ("", "[analysis]\nideal_gas = -1.0", "analysis.ideal_gas"),
        (
            "",
            "[adiabat]\nthrough = [{ lr = 0.01, wd = 0.01 }]\nwd = [0.01, 0.02]",
            "grid",
        ),
        (
            "kind = \"fixed_lr\"",
            "kind = \"fixed_lr\"\ninit_radius = 0.0",
            "protocol.init_radius",
        ),
        ("kind = \"fixed_lr\"", "kind = \"fixed_sphere\"", "grid.elr"),
    ];
    for (from, to, key) in cases {
        rejects(&with(from, to), key);
    }
}

#[test]
fn init_radius_is_refused_on_the_sphere() {
    let text = with(
        "kind = \"fixed_lr\"",
        "kind = \"fixed_sphere\"\ninit_radius = 1.0",
    )
    .replace("lr = {", "elr = {")
    .replace("wd = [1e-3, 1e-2]", "radius = [0.5, 1.0]");
    rejects(&text, "protocol.init_radius");
}

#[test]
fn adiabat_rules() {
    let base = GOOD.replace(
        "[grid]\nlr = { geomspace = [1e-3, 1e-1, 3] }\nwd = [1e-3, 1e-2]\n",
        "[adiabat]\nthrough = [{ lr = 0.01, wd = 0.01 }]\nwd = [0.005, 0.01]\n",
    );
    parse(&base).expect("fixed-LR isentrope with wd free");
    // At d = 3 the fixed-LR entropy depends on η alone (SPEC §3.7): no partner λ for another η.
    rejects(
        &base.replace("wd = [0.005, 0.01]", "lr = [0.005, 0.02]"),
        "adiabat.through[0]",
    );
    rejects(&base.replace("wd = [0.005, 0.01]\n", ""), "adiabat");
    rejects(
        &base.replace("wd = [0.005, 0.01]", "wd = [0.005]\nlr = [0.01]"),
        "adiabat",
    );
    rejects(
        &base.replace(
            "through = [{ lr = 0.01, wd = 0.01 }]",
            "through = [{ lr = 0.01 }]",
        ),
        "adiabat.through[0]",
    );
    rejects(
        &base.replace("wd = [0.005, 0.01]", "wd = [0.005, 0.01]\ngamma = -2.0"),
        "adiabat.gamma",
    );
    rejects(
        &base.replace("wd = [0.005, 0.01]", "elr = [0.005, 0.01]"),
        "adiabat.elr",
    );
}

#[test]
fn all_problems_come_together_and_parse_errors_name_the_key() {
    let text = with("dim = 3", "dim = 1").replace("iterations = 100000", "iterations = 0");
    let got = keys(&text);
    assert!(
        got.iter().any(|k| k.starts_with("workload.dim"))
            && got.iter().any(|k| k.starts_with("schedule.iterations")),
        "{got:?}"
    );
    match parse("version = 1\n[grid\n") {
        Err(SpecError::Parse(m)) => assert!(!m.is_empty()),
        other => panic!("expected a parse error, got {other:?}"),
    }
    match parse(&with("dim = 3", "dim = \"three\"")) {
        Err(SpecError::Parse(m)) => assert!(m.contains("dim"), "{m}"),
        other => panic!("expected a type error naming dim, got {other:?}"),
    }
    match parse(&with("seed = 1", "seed = 1\ncolour = 1")) {
        Err(SpecError::Parse(m)) => assert!(m.contains("colour"), "{m}"),
        other => panic!("expected an unknown-key error naming colour, got {other:?}"),
    }
}
