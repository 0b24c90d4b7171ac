//! Prometheus metrics (DESIGN §8): tasks by state, sweeps by state, agents, and counters of
//! leases, lease expiries, stored results (rate it for results per second), superseded reports
//! and failures, in the text exposition format on `GET /metrics` of a separate plain-HTTP
//! listener. The responder is a few lines of HTTP/1.1: one request per connection, read-only.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::service::ServiceState;
use crate::state::State;

/// The exposition text for the state now.
pub fn render(state: &State) -> String {
    let (tasks, sweeps) = state.totals();
    let counters = state.counters();
    let (connected, disconnected) = state.agent_counts();
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, samples: &[(&str, u64)]| {
        let _ = writeln!(out, "# HELP thermosweep_{name} {help}");
        let _ = writeln!(out, "# TYPE thermosweep_{name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "thermosweep_{name}{labels} {value}");
        }
    };
    family(
        "tasks",
        "gauge",
        "Tasks by state, over all sweeps.",
        &[
            ("{state=\"pending\"}", tasks.pending.into()),
            ("{state=\"leased\"}", tasks.leased.into()),
            ("{state=\"done\"}", tasks.done.into()),
            ("{state=\"failed\"}", tasks.failed.into()),
            ("{state=\"cancelled\"}", tasks.cancelled.into()),
        ],
    );
    let sweep_labels: Vec<(String, u64)> = ["running", "completed", "failed", "cancelled"]
        .iter()
        .map(|w| {
            (
                format!("{{state=\"{w}\"}}"),
                u64::from(*sweeps.get(w).unwrap_or(&0)),
            )
        })
        .collect();
    let sweep_samples: Vec<(&str, u64)> =
        sweep_labels.iter().map(|(l, v)| (l.as_str(), *v)).collect();
    family("sweeps", "gauge", "Sweeps by state.", &sweep_samples);
    family(
        "agents",
        "gauge",
        "Registered agents by heartbeat stream state.",
        &[
            ("{connected=\"true\"}", connected.into()),
            ("{connected=\"false\"}", disconnected.into()),
        ],
    );
    family(
        "leases_total",
        "counter",
        "Leases granted.",
        &[("", counters.leases)],
    );
    family(
        "lease_expiries_total",
        "counter",
        "Leases that expired without a heartbeat.",
        &[("", counters.expiries)],
    );
    family(
        "results_total",
        "counter",
        "Result rows stored (rate() gives results per second).",
        &[("", counters.results)],
    );
    family(
        "superseded_reports_total",
        "counter",
        "Reports refused for a stale epoch or holder.",
        &[("", counters.superseded)],
    );
    family(
        "failures_total",
        "counter",
        "Task failures reported by agents (lost or error).",
        &[("", counters.failures)],
    );
    out
}

/// Serves `GET /metrics` on `listener` until the task is dropped.
pub async fn serve_metrics(listener: TcpListener, shared: Arc<ServiceState>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let mut head = Vec::with_capacity(512);
            let mut buf = [0u8; 512];
            let read = tokio::time::timeout(Duration::from_secs(5), async {
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
            })
            .await;
            if read.is_err() {
                return;
            }
            let wanted = head.starts_with(b"GET /metrics ") || head.starts_with(b"GET /metrics?");
            let (status, body) = if wanted {
                match shared.with_state(|s| render(s)).await {
                    Ok(text) => ("200 OK", text),
                    Err(e) => ("500 Internal Server Error", format!("{e}\n")),
                }
            } else {
                (
                    "404 Not Found",
                    "only GET /metrics is served here\n".to_owned(),
                )
            };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}
