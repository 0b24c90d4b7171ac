//! Helpers for the end-to-end tests: the three programs as real processes on loopback, their
//! logs in files, and the result files read back.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const SWEEPCTL: &str = env!("CARGO_BIN_EXE_sweepctl");
pub const COORDINATOR: &str = env!("CARGO_BIN_EXE_sweep-coordinator");
pub const AGENT: &str = env!("CARGO_BIN_EXE_sweep-agent");

/// A child process killed when dropped.
pub struct Proc {
    pub child: Child,
    pub log: PathBuf,
}

impl Proc {
    /// `kill -9`.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a coordinator with `--data-dir DIR/data` and `args` (which must include `--listen`);
/// returns it and the port it bound, read from its first line of output.
pub fn coordinator_with(dir: &Path, tag: &str, args: &[&str]) -> (Proc, String) {
    let log = dir.join(format!("coordinator-{tag}.log"));
    let mut child = Command::new(COORDINATOR)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let port = addr.rsplit(':').next().unwrap().to_owned();
    (Proc { child, log }, port)
}

/// Starts a coordinator on `listen` (use port 0 for any) with JSON logs; returns it and its URL.
pub fn coordinator(dir: &Path, listen: &str, ttl_ms: u64, tag: &str) -> (Proc, String) {
    let ttl = ttl_ms.to_string();
    let args = [
        "--listen",
        listen,
        "--lease-ttl-ms",
        &ttl,
        "--log-format",
        "json",
    ];
    let (proc, port) = coordinator_with(dir, tag, &args);
    (proc, format!("http://127.0.0.1:{port}"))
}

/// Starts an agent process named `name` (CPU backend, its own spool, JSON logs, quick retries)
/// with `extra` arguments and environment.
pub fn agent_with(dir: &Path, url: &str, name: &str, extra: &[&str], env: &[(&str, &str)]) -> Proc {
    let log = dir.join(format!("agent-{name}.log"));
    let child = Command::new(AGENT)
        .args(["--coordinator", url, "--name", name, "--backend", "cpu"])
        .args(["--retry-max-ms", "200", "--log-format", "json"])
        .arg("--spool-dir")
        .arg(dir.join(format!("spool-{name}")))
        .args(extra)
        .envs(env.iter().copied())
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    Proc { child, log }
}

/// Starts an agent process named `name` with `threads` compute threads.
pub fn agent(dir: &Path, url: &str, name: &str, threads: usize) -> Proc {
    agent_with(dir, url, name, &["--threads", &threads.to_string()], &[])
}

/// Runs `sweepctl ARGS` and asserts it succeeded.
pub fn sweepctl_ok(args: &[&str], url: &str) -> Output {
    let out = sweepctl(args, Some(url));
    assert!(
        out.status.success(),
        "sweepctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `sweepctl ARGS` to completion.
pub fn sweepctl(args: &[&str], url: Option<&str>) -> Output {
    let mut cmd = Command::new(SWEEPCTL);
    cmd.args(args);
    if let Some(url) = url {
        cmd.env("SWEEP_COORDINATOR", url);
    }
    cmd.output().unwrap()
}

/// Submits a spec; returns the sweep id (the last word of stdout's last line).
pub fn submit(spec: &Path, url: &str) -> u64 {
    let out = sweepctl(&["submit", spec.to_str().unwrap()], Some(url));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "submit failed: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .last()
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap()
        .parse()
        .unwrap()
}

/// Polls `sweepctl status ID` until `pred` holds on its output, or panics after `timeout`.
pub fn wait_status(id: u64, url: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let out = sweepctl(&["status", &id.to_string()], Some(url));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if pred(&text) {
            return text;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out waiting; last status: {text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Polls `sweepctl agents` until an agent named `name` holds a lease.
pub fn wait_for_lease(url: &str, name: &str, timeout: Duration) {
    let start = Instant::now();
    loop {
        let out = sweepctl(&["agents"], Some(url));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text
            .lines()
            .any(|l| l.starts_with(&format!("{name} ")) && !l.ends_with("leases: none"))
        {
            return;
        }
        assert!(
            start.elapsed() < timeout,
            "{name} never held a lease: {text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Writes a small isotropic spec: `grid` × `grid` fixed-LR points, `per_task` points a task.
pub fn small_spec(dir: &Path, grid: usize, per_task: u32, iterations: u64) -> PathBuf {
    let text = format!(
        r#"version = 1
name = "e2e"
seed = 7
[workload]
kind = "isotropic"
dim = 3
sigma2 = 1.0
target_seed = 44
[protocol]
kind = "fixed_lr"
init_radius = 1.0
[grid]
lr = {{ geomspace = [5e-3, 2e-2, {grid}] }}
wd = {{ geomspace = [5e-3, 2e-2, {grid}] }}
[schedule]
iterations = {iterations}
log_every = 10000
average_last = {avg}
[entropy]
queue = 200
every = 100
log_every = 20000
average_last = 5
[execution]
replicas = 1
points_per_task = {per_task}
backend = "cpu"
max_attempts = 3
"#,
        avg = iterations / 2
    );
    let path = dir.join("e2e.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Fetches results and returns the rows.
pub fn fetch_rows(id: u64, url: &str, out: &Path) -> Vec<sweep_results::ResultRow> {
    let o = sweepctl(
        &["results", &id.to_string(), "--out", out.to_str().unwrap()],
        Some(url),
    );
    assert!(
        o.status.success(),
        "results failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    sweep_results::read_results(out.join("results.parquet")).unwrap()
}

/// Asserts one row per (point, replica) in `0..points`, replica 0.
pub fn assert_one_row_per_point(rows: &[sweep_results::ResultRow], points: u32) {
    let mut keys: Vec<(u32, u32)> = rows.iter().map(|r| (r.point, r.replica)).collect();
    keys.sort_unstable();
    let want: Vec<(u32, u32)> = (0..points).map(|p| (p, 0)).collect();
    assert_eq!(keys, want, "exactly one row per point");
    assert!(rows.iter().all(|r| r.status == sweep_results::Status::Done));
}

/// Every measured column of a stored row next to the same value of the wire row the agent built,
/// by name, for bitwise comparisons of `sweepctl` results with direct kernel calls.
pub fn stored_and_direct(
    row: &sweep_results::ResultRow,
    w: &sweep_proto::v1::PointResult,
) -> Vec<(&'static str, Option<f64>, Option<f64>)> {
    vec![
        ("loss_mean", row.loss_mean, w.loss_mean),
        ("radius_mean", row.radius_mean, w.radius_mean),
        ("entropy_unit", row.entropy_unit, w.entropy_unit),
        ("entropy", row.entropy, w.entropy),
        ("sigma2", row.sigma2, w.sigma2),
        ("trace_sigma", row.trace_sigma, w.trace_sigma),
        ("full_grad_sq", row.full_grad_sq, w.full_grad_sq),
        ("temperature", row.temperature, w.temperature),
        ("pressure", row.pressure, w.pressure),
        ("volume", row.volume, w.volume),
        ("wd_eff", row.wd_eff, w.wd_eff),
        ("loss_sem", row.loss_sem, w.loss_sem),
        ("radius_sem", row.radius_sem, w.radius_sem),
        ("entropy_unit_sem", row.entropy_unit_sem, w.entropy_unit_sem),
        ("trace_sigma_sem", row.trace_sigma_sem, w.trace_sigma_sem),
        ("full_grad_sq_sem", row.full_grad_sq_sem, w.full_grad_sq_sem),
        ("test_loss", row.test_loss, w.test_loss),
        ("test_accuracy", row.test_accuracy, w.test_accuracy),
    ]
}
