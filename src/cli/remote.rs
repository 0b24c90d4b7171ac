//! The commands that talk to a running coordinator: submit, status, watch, cancel, agents,
//! results.

use std::path::Path;

use sweep_proto::auth::SweepsConn;
use sweep_proto::v1;

use super::client::connect;
use super::fetch::fetch;
use super::progress::{ProgressView, status_line};
use super::read_spec;
use crate::exit::CliError;

/// `sweepctl submit SPEC`: prints `submitted sweep NAME (P points in T tasks) as ID`.
pub async fn submit(spec: &Path, url: &str) -> Result<(), CliError> {
    let (text, _) = read_spec(spec)?;
    let mut client = connect(url).await?;
    let reply = client
        .submit(v1::SubmitRequest { spec_toml: text })
        .await
        .map_err(|s| CliError::from_status(&format!("{} rejected", spec.display()), &s))?
        .into_inner();
    println!(
        "submitted sweep {} ({} points in {} tasks) as {}",
        reply.name, reply.points, reply.tasks, reply.sweep
    );
    Ok(())
}

/// `sweepctl status [ID]`.
pub async fn status(id: Option<u64>, url: &str) -> Result<(), CliError> {
    let mut client = connect(url).await?;
    let reply = client
        .status(v1::StatusRequest {
            sweep: id.unwrap_or(0),
        })
        .await
        .map_err(|s| CliError::from_status("status", &s))?
        .into_inner();
    if reply.sweeps.is_empty() {
        println!("no sweeps");
    }
    for s in &reply.sweeps {
        println!("{}", status_line(s));
    }
    Ok(())
}

/// Follows a sweep until it ends; returns its last status.
pub async fn follow(client: &mut SweepsConn, id: u64) -> Result<v1::SweepStatus, CliError> {
    let mut stream = client
        .watch(v1::WatchRequest { sweep: id })
        .await
        .map_err(|s| CliError::from_status("watch", &s))?
        .into_inner();
    let mut view = ProgressView::new();
    let mut last = None;
    while let Some(s) = stream
        .message()
        .await
        .map_err(|s| CliError::from_status("watch", &s))?
    {
        view.update(&s);
        last = Some(s);
    }
    let last = last.ok_or_else(|| CliError::Failure("watch ended without a status".into()))?;
    view.finish(&last);
    Ok(last)
}

/// Exit status of an ended sweep: ok only if it completed.
pub fn ended_ok(s: &v1::SweepStatus) -> Result<(), CliError> {
    match v1::SweepState::try_from(s.state) {
        Ok(v1::SweepState::Completed) => Ok(()),
        Ok(state) => Err(CliError::Failure(format!(
            "sweep {} {}{}",
            s.sweep,
            state.word(),
            if s.last_error.is_empty() {
                String::new()
            } else {
                format!(": {}", s.last_error)
            }
        ))),
        Err(_) => Err(CliError::Failure(format!(
            "sweep {} is in an unknown state {}",
            s.sweep, s.state
        ))),
    }
}

/// `sweepctl watch ID`.
pub async fn watch(id: u64, url: &str) -> Result<(), CliError> {
    let mut client = connect(url).await?;
    let last = follow(&mut client, id).await?;
    ended_ok(&last)
}

/// `sweepctl cancel ID`.
pub async fn cancel(id: u64, url: &str) -> Result<(), CliError> {
    let mut client = connect(url).await?;
    let reply = client
        .cancel(v1::CancelRequest { sweep: id })
        .await
        .map_err(|s| CliError::from_status("cancel", &s))?
        .into_inner();
    if let Some(s) = reply.status {
        println!("{}", status_line(&s));
    }
    Ok(())
}

/// `sweepctl agents`.
pub async fn agents(url: &str) -> Result<(), CliError> {
    let mut client = connect(url).await?;
    let reply = client
        .list_agents(v1::ListAgentsRequest {})
        .await
        .map_err(|s| CliError::from_status("agents", &s))?
        .into_inner();
    if reply.agents.is_empty() {
        println!("no agents");
    }
    for a in &reply.agents {
        let caps = a.capabilities.clone().unwrap_or_default();
        let leases: Vec<String> = a.leases.iter().map(|r| r.to_string()).collect();
        println!(
            "{}  {}  cpu:{} ({} threads) cuda:{}  last seen {:.1} s ago  leases: {}",
            a.agent,
            if a.connected {
                "connected"
            } else {
                "disconnected"
            },
            caps.cpu,
            caps.cpu_threads,
            caps.cuda,
            a.last_seen_ms_ago as f64 / 1000.0,
            if leases.is_empty() {
                "none".into()
            } else {
                leases.join(", ")
            }
        );
    }
    Ok(())
}

/// `sweepctl results ID --out DIR`.
pub async fn results(id: u64, out: &Path, no_series: bool, url: &str) -> Result<(), CliError> {
    let mut client = connect(url).await?;
    let files = fetch(&mut client, id, out, no_series).await?;
    for f in files {
        println!("{}", f.display());
    }
    Ok(())
}
