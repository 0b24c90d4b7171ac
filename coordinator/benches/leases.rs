//! Coordinator throughput (issue 3): 10 000 tiny tasks through 16 agents over loopback gRPC,
//! each lease and each result committed to SQLite before it is answered. Prints completed tasks
//! per second, lease latency percentiles, and the coordinator process's resident memory as the
//! finished tasks pile up, with the targets (≥ 2000 tasks/s, p99 lease < 5 ms, memory flat) and,
//! as a same-process baseline, the pure scheduler's lease+complete rate.
//!
//! `cargo bench -p sweep-coordinator --bench leases [-- --tasks N --agents M]`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sweep_coordinator::scheduler::{
    AgentId, Capabilities, LeasePolicy, Millis, Requirement, Scheduler, SweepId, SweepSetup,
};
use sweep_coordinator::{CoordinatorConfig, serve};
use sweep_proto::v1;
use sweep_proto::v1::agents_client::AgentsClient;
use sweep_proto::v1::sweeps_client::SweepsClient;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn spec(tasks: usize) -> String {
    let side = (tasks as f64).sqrt().ceil() as usize;
    format!(
        r#"version = 1
name = "bench"
seed = 1
[workload]
kind = "isotropic"
dim = 3
[protocol]
kind = "fixed_lr"
[grid]
lr = {{ geomspace = [1e-3, 1e-1, {side}] }}
wd = {{ geomspace = [1e-3, 1e-1, {side}] }}
[schedule]
iterations = 100
log_every = 10
average_last = 50
[entropy]
queue = 10
every = 1
log_every = 10
average_last = 1
[execution]
points_per_task = 1
backend = "cpu"
"#
    )
}

fn baseline(tasks: u32) -> f64 {
    let mut s = Scheduler::new(LeasePolicy { ttl_ms: 30_000 });
    s.add_sweep(SweepSetup {
        sweep: SweepId(1),
        tasks,
        need: Requirement::Any,
        max_attempts: 3,
    });
    let agent = AgentId("a".into());
    let caps = Capabilities {
        cpu: true,
        cuda: false,
    };
    let start = Instant::now();
    while let Some(l) = s.lease(&agent, caps, Millis(1)) {
        let _ = s.complete(l.task, l.epoch);
    }
    f64::from(tasks) / start.elapsed().as_secs_f64()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let tasks = arg("--tasks", 10_000);
    let agents = arg("--agents", 16);
    let dir = tempfile::tempdir().expect("temp dir");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    // The coordinator runs on a runtime of its own, as it would in its own process; the
    // agents' clients share the main runtime.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let listener = listener.into_std().expect("std listener");
    let data = dir.path().to_path_buf();
    let server = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            serve(listener, CoordinatorConfig::new(data), async {
                let _ = stopped.await;
            })
            .await
        })
    });
    let channel = tonic::transport::Endpoint::from_shared(url.clone())
        .expect("url")
        .connect_lazy();
    let mut sweeps = SweepsClient::new(channel);
    let submitted = Instant::now();
    let reply = sweeps
        .submit(v1::SubmitRequest {
            spec_toml: spec(tasks),
        })
        .await
        .expect("submit")
        .into_inner();
    let total = reply.tasks as u64;
    println!(
        "submitted {} tasks in {:.0} ms; {} agents over loopback",
        total,
        submitted.elapsed().as_secs_f64() * 1e3,
        agents
    );
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut workers = Vec::new();
    for a in 0..agents {
        let url = url.clone();
        let done = Arc::clone(&done);
        workers.push(tokio::spawn(async move {
            let channel = tonic::transport::Endpoint::from_shared(url)
                .expect("url")
                .tcp_nodelay(true)
                .connect()
                .await
                .expect("connect");
            let mut client = AgentsClient::new(channel);
            let name = format!("bench-{a}");
            client
                .register(v1::RegisterRequest {
                    agent: name.clone(),
                    protocol_version: sweep_proto::PROTOCOL_VERSION,
                    capabilities: Some(v1::Capabilities {
                        cpu: true,
                        ..Default::default()
                    }),
                })
                .await
                .expect("register");
            let mut latencies = Vec::new();
            loop {
                let t = Instant::now();
                let task = client
                    .lease(v1::LeaseRequest {
                        agent: name.clone(),
                        wait_ms: 0,
                    })
                    .await
                    .expect("lease")
                    .into_inner()
                    .task;
                latencies.push(t.elapsed());
                let Some(task) = task else { break };
                let results = task
                    .points
                    .iter()
                    .map(|p| v1::PointResult {
                        point: p.point,
                        replica: p.replica,
                        iterations: 100,
                        loss_mean: Some(0.5),
                        status: "done".into(),
                        backend: "cpu".into(),
                        ..Default::default()
                    })
                    .collect();
                client
                    .complete(v1::CompleteRequest {
                        agent: name.clone(),
                        task: task.task,
                        series_chunks: 0,
                        results,
                    })
                    .await
                    .expect("complete");
                done.fetch_add(1, Ordering::Relaxed);
            }
            latencies
        }));
    }
    let mut marks = Vec::new();
    let mut next = 1;
    while done.load(Ordering::Relaxed) < total {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let d = done.load(Ordering::Relaxed);
        while next <= 4 && d * 4 >= total * next {
            marks.push((d, rss_mib()));
            next += 1;
        }
    }
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await.expect("agent"));
    }
    let elapsed = start.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3;
    let rate = total as f64 / elapsed;
    println!(
        "completed {total} tasks in {elapsed:.2} s: {rate:.0} tasks/s (target ≥ 2000: {:.2}×)",
        rate / 2000.0
    );
    println!(
        "lease latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (target p99 < 5 ms: {:.2}× the budget)",
        pct(0.5),
        pct(0.99),
        pct(1.0),
        pct(0.99) / 5.0
    );
    for (d, rss) in &marks {
        println!("resident memory after {d:>6} finished tasks: {rss:.1} MiB");
    }
    if let (Some(first), Some(last)) = (marks.first(), marks.last()) {
        let per_k = (last.1 - first.1) / ((last.0 - first.0).max(1) as f64 / 1000.0);
        println!("memory growth: {per_k:.3} MiB per 1000 finished tasks (flat: ≈ 0)");
    }
    let base = baseline(total as u32);
    println!(
        "baseline, same process: the pure scheduler leases and completes {base:.0} tasks/s; the service runs at {:.4}× of it",
        rate / base
    );
    let _ = stop.send(());
    let _ = server.join();
}
