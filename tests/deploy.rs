//! The deployment recipes under `deploy/` stay true to the programs: every flag they pass exists
//! in that program's `--help`; the systemd units pass `systemd-analyze verify` (with ExecStart
//! pointed at the built binaries); the Kubernetes manifests pass `kubernetes-validate --strict`;
//! the Slurm script parses. The external checkers are skipped, saying so, when not installed.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::{AGENT, COORDINATOR};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(rel)).unwrap()
}

/// Long flags (`--name`, `--name=value`) in `text`.
fn flags(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("--") {
        let rest = &text[i + 2..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '-')
            .collect();
        let before = text[..i].chars().last();
        if name.len() > 1 && !matches!(before, Some(c) if c.is_alphanumeric() || c == '-') {
            out.insert(format!("--{name}"));
        }
    }
    out
}

fn help_flags(program: &str) -> BTreeSet<String> {
    let out = Command::new(program).arg("--help").output().unwrap();
    flags(&String::from_utf8_lossy(&out.stdout))
}

/// The part of the Slurm script that is the agent's command line.
fn agent_command(sbatch: &str) -> &str {
    let start = sbatch.find("exec \"$0\"").unwrap();
    let end = start + sbatch[start..].find("\n'").unwrap();
    &sbatch[start..end]
}

#[test]
fn every_flag_in_the_recipes_exists() {
    let coordinator = help_flags(COORDINATOR);
    let agent = help_flags(AGENT);
    assert!(coordinator.contains("--data-dir") && agent.contains("--spool-dir"));
    let sbatch = read("deploy/slurm/agents.sbatch");
    let cases: [(&str, String, &BTreeSet<String>); 5] = [
        (
            "systemd coordinator",
            read("deploy/systemd/sweep-coordinator.service"),
            &coordinator,
        ),
        (
            "systemd agent",
            read("deploy/systemd/sweep-agent@.service"),
            &agent,
        ),
        (
            "k8s coordinator",
            read("deploy/kubernetes/coordinator.yaml"),
            &coordinator,
        ),
        ("k8s agents", read("deploy/kubernetes/agents.yaml"), &agent),
        ("slurm agents", agent_command(&sbatch).to_owned(), &agent),
    ];
    for (name, text, known) in cases {
        let exec: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        let used = flags(&exec);
        assert!(!used.is_empty(), "{name} passes flags");
        for f in &used {
            assert!(
                known.contains(f),
                "{name}: {f} is not a flag of the program ({known:?})"
            );
        }
    }
}

#[test]
fn systemd_units_verify() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: systemd-analyze not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let units = [
        (
            "deploy/systemd/sweep-coordinator.service",
            "sweep-coordinator.service",
            "/usr/local/bin/sweep-coordinator",
            COORDINATOR,
        ),
        (
            "deploy/systemd/sweep-agent@.service",
            "sweep-agent@0.service",
            "/usr/local/bin/sweep-agent",
            AGENT,
        ),
    ];
    for (src, name, installed, built) in units {
        std::fs::write(dir.path().join(name), read(src).replace(installed, built)).unwrap();
    }
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(units.map(|u| u.1))
        .current_dir(dir.path())
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Unknown keys only warn: any output at all is a failure.
    assert!(
        out.status.success() && said.trim().is_empty(),
        "systemd-analyze verify:\n{said}"
    );
}

#[test]
fn kubernetes_manifests_validate() {
    let Ok(out) = Command::new("kubernetes-validate")
        .args(["--strict", "-k", "1.30.0"])
        .arg(Path::new(ROOT).join("deploy/kubernetes/coordinator.yaml"))
        .arg(Path::new(ROOT).join("deploy/kubernetes/agents.yaml"))
        .output()
    else {
        eprintln!("SKIPPED: kubernetes-validate not installed (pip install kubernetes-validate)");
        return;
    };
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    assert_eq!(said.matches(" passed for resource ").count(), 3, "{said}");
}

#[test]
fn the_slurm_script_parses() {
    let out = Command::new("bash")
        .arg("-n")
        .arg(Path::new(ROOT).join("deploy/slurm/agents.sbatch"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
