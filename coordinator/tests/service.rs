//! The coordinator's gRPC service in process, over loopback: epoch fencing (a report with a stale
//! epoch is answered "superseded" and not stored, a repeated report is not stored twice) and
//! bad requests answered with `InvalidArgument` (or the documented code), never a panic.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use sweep_coordinator::{CoordinatorConfig, serve};
use sweep_proto::v1;
use sweep_proto::v1::agents_client::AgentsClient;
use sweep_proto::v1::sweeps_client::SweepsClient;
use tonic::Code;
use tonic::transport::Channel;

const SPEC: &str = r#"
version = 1
name = "fence"
seed = 3
[workload]
kind = "isotropic"
dim = 3
[protocol]
kind = "fixed_lr"
[grid]
lr = [0.01]
wd = [0.01, 0.02]
[schedule]
iterations = 1000
log_every = 100
average_last = 500
[entropy]
queue = 10
every = 10
log_every = 100
average_last = 1
[execution]
points_per_task = 2
backend = "cpu"
"#;

struct Harness {
    url: String,
    agents: AgentsClient<Channel>,
    sweeps: SweepsClient<Channel>,
    dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start(ttl_ms: u64) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let mut config = CoordinatorConfig::new(dir.path());
    config.lease_ttl = Duration::from_millis(ttl_ms);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, config, async {
        let _ = stopped.await;
    }));
    let channel = tonic::transport::Endpoint::from_shared(url.clone())
        .unwrap()
        .connect_lazy();
    Harness {
        url,
        agents: AgentsClient::new(channel.clone()),
        sweeps: SweepsClient::new(channel),
        dir,
        _stop: stop,
    }
}

async fn register(h: &mut Harness, name: &str) {
    h.agents
        .register(v1::RegisterRequest {
            agent: name.into(),
            protocol_version: sweep_proto::PROTOCOL_VERSION,
            capabilities: Some(v1::Capabilities {
                cpu: true,
                ..Default::default()
            }),
        })
        .await
        .unwrap();
}

async fn lease(h: &mut Harness, name: &str) -> v1::TaskAssignment {
    h.agents
        .lease(v1::LeaseRequest {
            agent: name.into(),
            wait_ms: 2000,
        })
        .await
        .unwrap()
        .into_inner()
        .task
        .expect("a task")
}

fn rows(task: &v1::TaskAssignment, loss: f64) -> Vec<v1::PointResult> {
    task.points
        .iter()
        .map(|p| v1::PointResult {
            point: p.point,
            replica: p.replica,
            seed: 1,
            iterations: 1000,
            loss_mean: Some(loss),
            status: "done".into(),
            backend: "cpu".into(),
            ..Default::default()
        })
        .collect()
}

fn complete(agent: &str, task: &v1::TaskAssignment, loss: f64) -> v1::CompleteRequest {
    v1::CompleteRequest {
        agent: agent.into(),
        task: task.task,
        series_chunks: 0,
        results: rows(task, loss),
    }
}

async fn submit(h: &mut Harness) -> u64 {
    h.sweeps
        .submit(v1::SubmitRequest {
            spec_toml: SPEC.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .sweep
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_epoch_is_superseded_and_never_stored() {
    let mut h = start(300).await;
    let sweep = submit(&mut h).await;
    register(&mut h, "old").await;
    let first = lease(&mut h, "old").await;
    // No heartbeat: the lease expires and the task goes to another agent with a new epoch.
    tokio::time::sleep(Duration::from_millis(800)).await;
    register(&mut h, "new").await;
    let second = lease(&mut h, "new").await;
    let (e1, e2) = (first.task.unwrap().epoch, second.task.unwrap().epoch);
    assert!(e2 > e1, "a re-lease has a new epoch");

    let stale_series = h
        .agents
        .report_series(v1::SeriesChunk {
            agent: "old".into(),
            task: first.task,
            seq: 0,
            samples: vec![v1::SeriesSample::default()],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stale_series.outcome, v1::ReportOutcome::Superseded as i32);
    let stale = h
        .agents
        .complete(complete("old", &first, 1.0))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        stale.outcome,
        v1::ReportOutcome::Superseded as i32,
        "{}",
        stale.detail
    );
    assert!(stale.detail.contains("superseded"));
    // The current holder with someone else's name is not the holder either.
    let impostor = h
        .agents
        .complete(complete("old", &second, 3.0))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(impostor.outcome, v1::ReportOutcome::Superseded as i32);

    let fresh = h
        .agents
        .complete(complete("new", &second, 2.0))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fresh.outcome, v1::ReportOutcome::Accepted as i32);
    let again = h
        .agents
        .complete(complete("new", &second, 2.0))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        again.outcome,
        v1::ReportOutcome::Accepted as i32,
        "a repeat is idempotent"
    );
    let late = h
        .agents
        .complete(complete("old", &first, 1.0))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(late.outcome, v1::ReportOutcome::Superseded as i32);

    let status = h
        .sweeps
        .status(v1::StatusRequest { sweep })
        .await
        .unwrap()
        .into_inner()
        .sweeps
        .remove(0);
    assert_eq!(status.state, v1::SweepState::Completed as i32);
    assert_eq!(status.points_done, 2, "stored once");

    // Only the accepted report is in the results.
    let mut stream = h
        .sweeps
        .fetch_results(v1::FetchResultsRequest {
            sweep,
            skip_series: true,
        })
        .await
        .unwrap()
        .into_inner();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.message().await.unwrap() {
        if chunk.name == "results.parquet" {
            bytes.extend(chunk.data);
        }
    }
    let path = h.dir.path().join("fetched.parquet");
    std::fs::write(&path, bytes).unwrap();
    let rows = sweep_results::read_results(&path).unwrap();
    assert_eq!(rows.len(), 2);
    for r in &rows {
        assert_eq!(r.agent, "new");
        assert_eq!(r.loss_mean, Some(2.0));
        assert_eq!(r.lr, Some(0.01));
        assert_eq!(r.workload, "isotropic");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_invalid_argument_not_a_panic() {
    let mut h = start(5000).await;
    let sweep = submit(&mut h).await;
    let code = |r: Result<tonic::Response<v1::ReportReply>, tonic::Status>| match r {
        Ok(r) => panic!("accepted: {:?}", r.into_inner()),
        Err(s) => (s.code(), s.message().to_owned()),
    };

    let bad_spec = h
        .sweeps
        .submit(v1::SubmitRequest {
            spec_toml: "version = 1\nname = 3".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_spec.code(), Code::InvalidArgument);
    let empty_name = h
        .agents
        .register(v1::RegisterRequest {
            agent: String::new(),
            protocol_version: 1,
            capabilities: None,
        })
        .await
        .unwrap_err();
    assert_eq!(empty_name.code(), Code::InvalidArgument);
    let old_protocol = h
        .agents
        .register(v1::RegisterRequest {
            agent: "x".into(),
            protocol_version: 99,
            capabilities: Some(v1::Capabilities {
                cpu: true,
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(old_protocol.code(), Code::FailedPrecondition);
    assert!(old_protocol.message().contains("protocol_version"));
    let unregistered = h
        .agents
        .lease(v1::LeaseRequest {
            agent: "ghost".into(),
            wait_ms: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(unregistered.code(), Code::FailedPrecondition);
    let no_agent = h
        .agents
        .lease(v1::LeaseRequest::default())
        .await
        .unwrap_err();
    assert_eq!(no_agent.code(), Code::InvalidArgument);

    register(&mut h, "a").await;
    let task = lease(&mut h, "a").await;
    let mut no_task = complete("a", &task, 1.0);
    no_task.task = None;
    assert_eq!(
        code(h.agents.complete(no_task).await).0,
        Code::InvalidArgument
    );
    let mut stranger = complete("a", &task, 1.0);
    stranger.results[0].point = 77;
    let (c, m) = code(h.agents.complete(stranger).await);
    assert_eq!(c, Code::InvalidArgument);
    assert!(m.contains("point 77"), "{m}");
    let mut twice = complete("a", &task, 1.0);
    twice.results[1] = twice.results[0].clone();
    assert_eq!(
        code(h.agents.complete(twice).await).0,
        Code::InvalidArgument
    );
    let mut missing = complete("a", &task, 1.0);
    missing.results.pop();
    let (c, m) = code(h.agents.complete(missing).await);
    assert_eq!(c, Code::InvalidArgument);
    assert!(m.contains("missing"), "{m}");
    let mut bad_status = complete("a", &task, 1.0);
    bad_status.results[0].status = "great".into();
    assert_eq!(
        code(h.agents.complete(bad_status).await).0,
        Code::InvalidArgument
    );
    let mut no_series = complete("a", &task, 1.0);
    no_series.series_chunks = 2;
    let (c, m) = code(h.agents.complete(no_series).await);
    assert_eq!(c, Code::FailedPrecondition);
    assert!(m.contains("chunk 0"), "{m}");
    let unknown_kind = h
        .agents
        .fail(v1::FailRequest {
            agent: "a".into(),
            task: task.task,
            kind: 0,
            message: String::new(),
        })
        .await;
    assert_eq!(code(unknown_kind).0, Code::InvalidArgument);
    let mut unknown_task = complete("a", &task, 1.0);
    unknown_task.task = Some(v1::TaskRef::new(sweep, 99, 1));
    assert_eq!(
        code(h.agents.complete(unknown_task).await).0,
        Code::NotFound
    );
    let watch_zero = h
        .sweeps
        .watch(v1::WatchRequest { sweep: 0 })
        .await
        .err()
        .unwrap();
    assert_eq!(watch_zero.code(), Code::InvalidArgument);
    let fetch_unknown = h
        .sweeps
        .fetch_results(v1::FetchResultsRequest {
            sweep: 42,
            skip_series: false,
        })
        .await
        .err()
        .unwrap();
    assert_eq!(fetch_unknown.code(), Code::NotFound);

    // After all that the task is still leased to `a`, and its honest report is accepted.
    let ok = h
        .agents
        .complete(complete("a", &task, 1.0))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.outcome, v1::ReportOutcome::Accepted as i32);
}

async fn status(h: &mut Harness, sweep: u64) -> v1::SweepStatus {
    h.sweeps
        .status(v1::StatusRequest { sweep })
        .await
        .unwrap()
        .into_inner()
        .sweeps
        .remove(0)
}

async fn fail(h: &mut Harness, agent: &str, task: &v1::TaskAssignment, kind: v1::FailureKind) {
    let r = h
        .agents
        .fail(v1::FailRequest {
            agent: agent.into(),
            task: task.task,
            kind: kind as i32,
            message: "boom".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.outcome, v1::ReportOutcome::Accepted as i32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_count_toward_max_attempts_lost_leases_do_not_and_cancel_supersedes() {
    let mut h = start(5000).await;
    let sweep = submit(&mut h).await; // max_attempts defaults to 3
    register(&mut h, "a").await;
    let t1 = lease(&mut h, "a").await;
    assert_eq!(t1.attempt, 1);
    fail(&mut h, "a", &t1, v1::FailureKind::Lost).await;
    let t2 = lease(&mut h, "a").await;
    assert_eq!(t2.attempt, 1, "a lost lease is not counted");
    assert!(t2.task.unwrap().epoch > t1.task.unwrap().epoch);
    fail(&mut h, "a", &t2, v1::FailureKind::Error).await;
    let t3 = lease(&mut h, "a").await;
    assert_eq!(t3.attempt, 2);
    fail(&mut h, "a", &t3, v1::FailureKind::Error).await;
    let t4 = lease(&mut h, "a").await;
    assert_eq!(t4.attempt, 3);
    fail(&mut h, "a", &t4, v1::FailureKind::Error).await;
    let s = status(&mut h, sweep).await;
    assert_eq!(s.state, v1::SweepState::Failed as i32);
    assert_eq!(s.last_error, "boom");
    assert_eq!(s.tasks.unwrap().failed, 1);
    let none = h
        .agents
        .lease(v1::LeaseRequest {
            agent: "a".into(),
            wait_ms: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(none.task.is_none(), "a failed task is not leased again");

    // Cancel: the running lease is superseded, its report not stored.
    let second = submit(&mut h).await;
    let t = lease(&mut h, "a").await;
    assert_eq!(t.task.unwrap().sweep, second);
    let c = h
        .sweeps
        .cancel(v1::CancelRequest { sweep: second })
        .await
        .unwrap()
        .into_inner()
        .status
        .unwrap();
    assert_eq!(c.state, v1::SweepState::Cancelled as i32);
    let late = h
        .agents
        .complete(complete("a", &t, 1.0))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(late.outcome, v1::ReportOutcome::Superseded as i32);
    assert_eq!(status(&mut h, second).await.points_done, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_health_reports_both_services_serving() {
    let h = start(5000).await;
    let endpoint = tonic::transport::Endpoint::from_shared(h.url.clone()).unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(endpoint.connect_lazy());
    for service in ["sweep.v1.Sweeps", "sweep.v1.Agents"] {
        let r = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            r.status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
            "{service}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_metrics_count_tasks_leases_and_results() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let metrics_addr = free.local_addr().unwrap();
    drop(free);
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let mut config = CoordinatorConfig::new(dir.path());
    config.metrics = Some(metrics_addr);
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, config, async {
        let _ = stopped.await;
    }));
    let channel = tonic::transport::Endpoint::from_shared(url.clone())
        .unwrap()
        .connect_lazy();
    let mut h = Harness {
        url,
        agents: AgentsClient::new(channel.clone()),
        sweeps: SweepsClient::new(channel),
        dir,
        _stop: tokio::sync::oneshot::channel().0,
    };
    submit(&mut h).await;
    register(&mut h, "m").await;
    let task = lease(&mut h, "m").await;
    let ok = h
        .agents
        .complete(complete("m", &task, 1.0))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.outcome, v1::ReportOutcome::Accepted as i32);
    let stale = h
        .agents
        .complete(complete("x", &task, 1.0))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stale.outcome, v1::ReportOutcome::Superseded as i32);

    let scrape = |path: &'static str| async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(metrics_addr).await.unwrap();
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).await.unwrap();
        text
    };
    let text = scrape("/metrics").await;
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    let body = text.split("\r\n\r\n").nth(1).unwrap();
    // Every sample line is `name{labels} value` under a HELP and TYPE line of its family.
    let mut families = std::collections::BTreeSet::new();
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            families.insert(rest.split_whitespace().next().unwrap().to_owned());
        } else if !line.starts_with("# HELP ") {
            let (name, value) = line.rsplit_once(' ').unwrap();
            value.parse::<f64>().unwrap();
            let family = name.split('{').next().unwrap();
            assert!(families.contains(family), "{line} before its TYPE");
        }
    }
    for sample in [
        "thermosweep_tasks{state=\"done\"} 1",
        "thermosweep_sweeps{state=\"completed\"} 1",
        "thermosweep_leases_total 1",
        "thermosweep_results_total 2",
        "thermosweep_superseded_reports_total 1",
        "thermosweep_agents{connected=\"true\"} 1",
    ] {
        assert!(body.lines().any(|l| l == sample), "{sample} in\n{body}");
    }
    assert!(scrape("/other").await.starts_with("HTTP/1.1 404"));
}
