//! Bearer tokens (DESIGN §8) over real processes: a coordinator bound beyond loopback refuses
//! to start without a token; with one, calls without it (or with a wrong one) are refused with
//! exit code 2, and clients and agents that send it work.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::*;

#[test]
fn a_coordinator_beyond_loopback_needs_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(COORDINATOR)
        .args(["--listen", "0.0.0.0:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .env_remove("SWEEP_TOKEN")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("needs a bearer token"), "{stderr}");
}

#[test]
fn with_a_token_only_callers_that_send_it_get_in() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "t0ps3cret\n").unwrap();
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "guess\n").unwrap();
    let token_arg = token.to_str().unwrap();
    let (_coordinator, port) = coordinator_with(
        dir.path(),
        "auth",
        &["--listen", "0.0.0.0:0", "--token-file", token_arg],
    );
    let url = format!("http://127.0.0.1:{port}");

    let anonymous = sweepctl(&["status"], Some(&url));
    assert_eq!(anonymous.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&anonymous.stderr).contains("requires a bearer token"));
    let guessed = sweepctl(
        &["--token-file", wrong.to_str().unwrap(), "status"],
        Some(&url),
    );
    assert_eq!(guessed.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&guessed.stderr).contains("wrong bearer token"));

    // An agent without the token is refused for good and says why.
    let refused = Command::new(AGENT)
        .args(["--coordinator", &url, "--name", "anon", "--backend", "cpu"])
        .arg("--spool-dir")
        .arg(dir.path().join("spool-anon"))
        .env_remove("SWEEP_TOKEN")
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("bearer token"));

    // With the token: submit, an agent runs it, the results come back.
    let spec = small_spec(dir.path(), 2, 4, 200_000);
    let tf = token.to_str().unwrap();
    sweepctl_ok(
        &["--token-file", tf, "submit", spec.to_str().unwrap()],
        &url,
    );
    // The agent takes its token from the environment.
    let _agent = agent_with(
        dir.path(),
        &url,
        "member",
        &[],
        &[("SWEEP_TOKEN", "t0ps3cret")],
    );
    sweepctl_ok(&["--token-file", tf, "watch", "1"], &url);
    let out = dir.path().join("out");
    sweepctl_ok(
        &[
            "--token-file",
            tf,
            "results",
            "1",
            "--out",
            out.to_str().unwrap(),
        ],
        &url,
    );
    assert_eq!(
        sweep_results::read_results(out.join("results.parquet"))
            .unwrap()
            .len(),
        4
    );
}
