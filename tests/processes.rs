//! Fault tolerance over real processes on loopback (issue 3): three agent processes share a
//! sweep and every point is stored exactly once; an agent killed with SIGKILL mid-task loses its
//! lease after the TTL and the task runs elsewhere; a coordinator killed with SIGKILL mid-sweep
//! and restarted on the same data directory finishes the sweep with nothing lost or duplicated,
//! its agents reconnecting by themselves and delivering the result they spooled meanwhile.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;

const TIMEOUT: Duration = Duration::from_secs(120);

fn completed(s: &str) -> bool {
    s.contains("completed")
}

#[test]
fn three_agents_store_every_point_once_and_a_killed_agents_task_is_released_after_the_ttl() {
    let dir = tempfile::tempdir().unwrap();
    let (coord, url) = coordinator(dir.path(), "127.0.0.1:0", 1500, "a");
    let spec = small_spec(dir.path(), 4, 2, 2_000_000);
    let mut victim = agent(dir.path(), &url, "victim", 1);
    let others = [
        agent(dir.path(), &url, "b", 1),
        agent(dir.path(), &url, "c", 1),
    ];
    let id = submit(&spec, &url);
    wait_for_lease(&url, "victim", TIMEOUT);
    victim.kill9();
    wait_status(id, &url, TIMEOUT, completed);
    let rows = fetch_rows(id, &url, &dir.path().join("out"));
    assert_one_row_per_point(&rows, 16);
    assert!(
        rows.iter().all(|r| r.agent != "victim"),
        "the killed agent never completed a task"
    );
    assert!(
        coord.log_text().contains("lease expired"),
        "the victim's lease expired and its task went back to the queue"
    );
    // The JSON logs carry the span fields at the top level of each line (DESIGN §8).
    let started: Vec<serde_json::Value> = others
        .iter()
        .flat_map(|a| a.log_text().lines().map(str::to_owned).collect::<Vec<_>>())
        .map(|l| serde_json::from_str(&l).expect("every log line is one JSON object"))
        .filter(|v: &serde_json::Value| v["message"] == "task started")
        .collect();
    assert!(!started.is_empty());
    for line in &started {
        for key in [
            "sweep",
            "task",
            "attempt",
            "agent",
            "epoch",
            "timestamp",
            "level",
        ] {
            assert!(line.get(key).is_some(), "{key} missing from {line}");
        }
    }
    drop(others);
}

#[test]
fn a_coordinator_killed_mid_sweep_resumes_and_spooled_results_are_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let (mut coord, url) = coordinator(dir.path(), "127.0.0.1:0", 5000, "first");
    let listen = url.trim_start_matches("http://").to_owned();
    let spec = small_spec(dir.path(), 4, 2, 2_000_000);
    let agents = [
        agent(dir.path(), &url, "a", 1),
        agent(dir.path(), &url, "b", 1),
    ];
    let id = submit(&spec, &url);
    // Some results stored, and a task running.
    wait_status(id, &url, TIMEOUT, |s| {
        s.contains("tasks: 1 done") || s.contains("tasks: 2 done")
    });
    wait_for_lease(&url, "a", TIMEOUT);
    coord.kill9();
    // The agents finish their tasks while the coordinator is away and spool them.
    let start = Instant::now();
    while !agents
        .iter()
        .any(|a| a.log_text().contains("results kept in the spool"))
    {
        assert!(start.elapsed() < TIMEOUT, "no agent spooled a result");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_coord, url2) = coordinator(dir.path(), &listen, 5000, "second");
    assert_eq!(url, url2, "restarted on the same address");
    wait_status(id, &url, TIMEOUT, completed);
    let rows = fetch_rows(id, &url, &dir.path().join("out"));
    assert_one_row_per_point(&rows, 16);
    for a in &agents {
        let log = a.log_text();
        if let Some(at) = log.find("results kept in the spool") {
            assert!(
                log[at..].contains("results accepted"),
                "the spooled result was delivered"
            );
        }
    }
    for name in ["a", "b"] {
        let left = std::fs::read_dir(dir.path().join(format!("spool-{name}")))
            .unwrap()
            .count();
        assert_eq!(left, 0, "agent {name}'s spool is empty");
    }
}

#[test]
fn an_agent_stopped_with_sigterm_gives_its_task_back_at_once() {
    let dir = tempfile::tempdir().unwrap();
    // A TTL far longer than the test: only an explicit release can free the task in time.
    let (coord, url) = coordinator(dir.path(), "127.0.0.1:0", 600_000, "a");
    let spec = small_spec(dir.path(), 2, 4, 2_000_000);
    let mut leaving = agent(dir.path(), &url, "leaving", 1);
    let id = submit(&spec, &url);
    wait_for_lease(&url, "leaving", TIMEOUT);
    let pid = leaving.child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let exit = leaving.child.wait().unwrap();
    assert!(
        exit.success(),
        "a clean exit on SIGTERM: {exit:?}\n{}",
        leaving.log_text()
    );
    assert!(leaving.log_text().contains("giving the task back"));
    let start = Instant::now();
    let _stayer = agent(dir.path(), &url, "stayer", 1);
    wait_status(id, &url, TIMEOUT, completed);
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "released, not expired"
    );
    let rows = fetch_rows(id, &url, &dir.path().join("out"));
    assert_one_row_per_point(&rows, 4);
    assert!(rows.iter().all(|r| r.agent == "stayer"));
    drop(coord);
}
