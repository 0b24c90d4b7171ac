//! `sweepctl run SPEC`: the laptop path. It starts a coordinator on 127.0.0.1:0 with its data in
//! `OUT/.coordinator/`, starts local agents over loopback gRPC (the same code as the daemons:
//! DESIGN §1, "no second, in-memory code path"), submits the spec, shows progress, and fetches
//! the result files into `OUT/`.

use std::path::PathBuf;
use std::time::Duration;

use sweep_agent::{AgentConfig, BackendChoice};
use sweep_coordinator::CoordinatorConfig;
use sweep_proto::v1;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::client::connect;
use super::fetch::fetch;
use super::read_spec;
use super::remote::{ended_ok, follow};
use crate::exit::CliError;

/// Arguments of `sweepctl run`.
#[derive(Debug)]
pub struct RunArgs {
    /// Spec file.
    pub spec: PathBuf,
    /// Output directory.
    pub out: Option<PathBuf>,
    /// Local agents.
    pub agents: usize,
    /// Backend.
    pub backend: String,
    /// Compute threads in all (0: all cores).
    pub threads: usize,
    /// Replace existing results.
    pub force: bool,
    /// Exit 3 when a check fails.
    pub strict: bool,
    /// Chatty logs.
    pub verbose: bool,
}

fn fail(what: &str) -> impl FnOnce(std::io::Error) -> CliError + '_ {
    move |e| CliError::Failure(format!("{what}: {e}"))
}

/// Reads a network workload's training data once before anything starts, so that missing or
/// corrupt files are a usage error naming the file rather than a task failing three times. The
/// data stay in `cache`, which the local agents then use instead of reading them again.
async fn check_data(
    w: sweep_spec::NetworkWorkload,
    cache: &sweep_agent::network::DataCache,
) -> Result<(), CliError> {
    let cache = cache.clone();
    let read = tokio::task::spawn_blocking(move || cache.get(&w)).await;
    match read {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e @ sweep_agent::network::DataError::TooFewPerLabel { .. })) => {
            Err(CliError::Usage(format!("workload.samples_per_label: {e}")))
        }
        Ok(Err(e)) => Err(CliError::Usage(format!(
            "workload.data_dir: {e} (relative paths are taken from the working directory)"
        ))),
        Err(e) => Err(CliError::Failure(format!("reading the training data: {e}"))),
    }
}

/// Runs the sweep end to end.
pub async fn run(args: RunArgs) -> Result<(), CliError> {
    let (text, spec) = read_spec(&args.spec)?;
    if args.agents == 0 {
        return Err(CliError::Usage("--agents: must be at least 1".into()));
    }
    let backend: BackendChoice = args.backend.parse().map_err(CliError::Usage)?;
    let data = sweep_agent::network::DataCache::default();
    if let sweep_spec::Workload::Network(w) = &spec.workload {
        check_data(w.clone(), &data).await?;
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(&spec.name));
    if out.join("results.parquet").exists() && !args.force {
        return Err(CliError::Usage(format!(
            "{} already holds results; pass --force to replace them or --out for another directory",
            out.display()
        )));
    }
    let data_dir = out.join(".coordinator");
    if data_dir.exists() {
        std::fs::remove_dir_all(&data_dir).map_err(fail("clearing the previous run's state"))?;
    }
    std::fs::create_dir_all(&data_dir).map_err(fail("creating the output directory"))?;

    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(fail("binding the embedded coordinator"))?;
    let addr = listener
        .local_addr()
        .map_err(fail("embedded coordinator"))?;
    let url = format!("http://{addr}");
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let coordinator = tokio::spawn(sweep_coordinator::serve(
        listener,
        CoordinatorConfig::new(&data_dir),
        stopped(stop_rx.clone()),
    ));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let total_threads = if args.threads == 0 {
        cores
    } else {
        args.threads
    };
    let per_agent = (total_threads / args.agents).max(1);
    let mut agents = Vec::new();
    for i in 0..args.agents {
        let mut config = AgentConfig::new(url.clone());
        config.name = format!("local-{i}");
        config.threads = per_agent;
        config.spool_dir = data_dir.join(format!("spool-{i}"));
        config.backend = backend;
        config.retry_max = Duration::from_millis(500);
        config.data = data.clone();
        agents.push(tokio::spawn(sweep_agent::run(
            config,
            stopped(stop_rx.clone()),
        )));
    }

    let outcome = drive(&url, text, &out, &spec.name, args.verbose).await;

    let _ = stop_tx.send(true);
    for agent in agents {
        match agent.await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "local agent ended with an error"),
            Err(e) => tracing::warn!(error = %e, "local agent task failed"),
        }
    }
    match coordinator.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "embedded coordinator ended with an error"),
        Err(e) => tracing::warn!(error = %e, "embedded coordinator task failed"),
    }
    let ended = outcome?;
    if ended.is_ok() {
        // Everything is in OUT now; the embedded coordinator's state is only kept (for a look
        // at what went wrong) when the sweep did not complete.
        if let Err(e) = std::fs::remove_dir_all(&data_dir) {
            tracing::warn!(error = %e, dir = %data_dir.display(), "could not remove the run's state");
        }
    }
    super::report::report(out.clone(), args.strict).await?;
    eprintln!(
        "results, verdict.json, report.html and plots/ are in {}",
        out.display()
    );
    ended
}

async fn drive(
    url: &str,
    text: String,
    out: &std::path::Path,
    name: &str,
    verbose: bool,
) -> Result<Result<(), CliError>, CliError> {
    let mut client = connect(url).await?;
    let reply = client
        .submit(v1::SubmitRequest { spec_toml: text })
        .await
        .map_err(|s| CliError::from_status("spec rejected", &s))?
        .into_inner();
    eprintln!(
        "running sweep {name}: {} points in {} tasks{}",
        reply.points,
        reply.tasks,
        if verbose {
            format!(" (coordinator {url})")
        } else {
            String::new()
        }
    );
    let last = follow(&mut client, reply.sweep).await?;
    // Fetch whatever finished, also when the sweep failed: nothing computed is lost.
    let files = fetch(&mut client, reply.sweep, out, false).await?;
    for f in &files {
        tracing::info!(file = %f.display(), "fetched");
    }
    Ok(ended_ok(&last))
}
