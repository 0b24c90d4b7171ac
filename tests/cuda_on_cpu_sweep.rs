//! Whole sweeps through `sweepctl run --backend cuda` on the cuda-on-cpu device (the CUDA kernels
//! executed from their sources on the CPU, selected by `THERMOSWEEP_CUDA_DEVICE=cpu`) give the
//! same results as `--backend cpu`, bit for bit, for each protocol of the isotropic model (the
//! quickstart for fixed LR, about 30 s on the emulated device; shorter 3×3 grids otherwise): every
//! measured column of `results.parquet` and every row of `series.parquet`; the `backend` column
//! says `cuda-on-cpu`. Needs the `cuda` feature (`cargo test --features cuda --test
//! cuda_on_cpu_sweep`); `.ci/run` runs it.
#![cfg(feature = "cuda")]
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

/// The quickstart's model and schedule, shortened, with `protocol` and `grid` swapped in.
fn spec(protocol: &str, grid: &str) -> String {
    // The fixed sphere starts each chain on its grid radius.
    let init = if protocol == "fixed_sphere" {
        ""
    } else {
        "init_radius = 1.0"
    };
    format!(
        r#"version = 1
name = "cuda-on-cpu-{protocol}"
seed = 42

[workload]
kind = "isotropic"
dim = 3
sigma2 = 1.0
target_seed = 44

[protocol]
kind = "{protocol}"
{init}

[grid]
{grid}

[schedule]
iterations = 300_000
log_every = 1_000
average_last = 150_000

[entropy]
queue = 500
every = 200
log_every = 50_000
average_last = 3

[execution]
replicas = 2
points_per_task = 9
backend = "auto"
"#
    )
}

fn run(spec: &Path, out: &Path, backend: &str) {
    let o = Command::new(common::SWEEPCTL)
        .args([
            "run",
            spec.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .args(["--backend", backend])
        .env("THERMOSWEEP_CUDA_DEVICE", "cpu")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "sweepctl run --backend {backend}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn sweeps_on_cuda_on_cpu_equal_the_cpu_backend_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let quickstart = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart.toml");
    let mut cases = vec![("fixed_lr", quickstart, 50)];
    for (protocol, grid) in [
        (
            "fixed_elr",
            "elr = { geomspace = [2.5e-3, 2e-2, 3] }\nwd = { geomspace = [2.5e-3, 2e-2, 3] }",
        ),
        (
            "fixed_sphere",
            "elr = { geomspace = [2.5e-3, 2e-2, 3] }\nradius = [0.5, 1.0, 2.0]",
        ),
    ] {
        let path = dir.path().join(format!("{protocol}.toml"));
        std::fs::write(&path, spec(protocol, grid)).unwrap();
        cases.push((protocol, path, 18));
    }
    for (protocol, path, points) in cases {
        let (cpu, cuda) = (
            dir.path().join(format!("{protocol}-cpu")),
            dir.path().join(format!("{protocol}-cuda")),
        );
        run(&path, &cpu, "cpu");
        run(&path, &cuda, "cuda");
        let a = sweep_results::read_results(cpu.join("results.parquet")).unwrap();
        let b = sweep_results::read_results(cuda.join("results.parquet")).unwrap();
        assert_eq!(a.len(), points, "{protocol}: one row per point and replica");
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.backend, "cpu");
            assert_eq!(
                y.backend, "cuda-on-cpu",
                "{protocol}: the backend column says so"
            );
            assert_eq!(x.status, sweep_results::Status::Done);
            assert!(x.entropy.is_some() && x.loss_mean.is_some());
            // Every column but who computed it and how long it took, floats compared by their
            // shortest round-trip text (equal text, equal bits).
            let same = |r: &sweep_results::ResultRow| {
                let r = sweep_results::ResultRow {
                    backend: String::new(),
                    agent: String::new(),
                    wall_seconds: 0.0,
                    ..r.clone()
                };
                format!("{r:?}")
            };
            assert_eq!(same(x), same(y), "{protocol}");
        }
        let sa = sweep_results::read_series(cpu.join("series.parquet")).unwrap();
        let sb = sweep_results::read_series(cuda.join("series.parquet")).unwrap();
        assert!(
            sa.len() >= points * 300,
            "{protocol}: {} series rows",
            sa.len()
        );
        assert_eq!(sa, sb, "{protocol}: series rows");
    }
}

/// A network sweep through `sweepctl run --backend cuda` on the cuda-on-cpu device: ConvNet(1)
/// on generated images at a rate of 1e-6 (where the device and CPU trajectories do not part:
/// sweep-nn's tests say why), every point done, the `backend` column saying `cuda-on-cpu`, and
/// the stationary loss, radius and entropy within 1e-4 relative of `--backend cpu`'s.
#[test]
fn a_network_sweep_runs_on_cuda_on_cpu_through_sweepctl() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("convnet.toml");
    std::fs::write(
        &path,
        r#"version = 1
name = "convnet-cuda-on-cpu"
seed = 11

[workload]
kind = "convnet"
width = 1
dataset = "synthetic"
batch_size = 4
samples_per_label = 2
grad_samples = 2
measure_every = 10

[protocol]
kind = "fixed_elr"

[grid]
elr = [1e-6]
wd = [0.1, 0.2]

[schedule]
iterations = 60
log_every = 10
average_last = 30

[entropy]
queue = 4
every = 5
log_every = 30
average_last = 1

[execution]
points_per_task = 2
"#,
    )
    .unwrap();
    let (cpu, cuda) = (dir.path().join("cpu"), dir.path().join("cuda"));
    run(&path, &cpu, "cpu");
    run(&path, &cuda, "cuda");
    let a = sweep_results::read_results(cpu.join("results.parquet")).unwrap();
    let b = sweep_results::read_results(cuda.join("results.parquet")).unwrap();
    assert_eq!((a.len(), b.len()), (2, 2));
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            (x.backend.as_str(), y.backend.as_str()),
            ("cpu", "cuda-on-cpu")
        );
        assert_eq!(y.status, sweep_results::Status::Done, "{:?}", y.error);
        for (what, p, q) in [
            ("loss_mean", x.loss_mean, y.loss_mean),
            ("radius_mean", x.radius_mean, y.radius_mean),
            ("entropy", x.entropy, y.entropy),
        ] {
            let (p, q) = (p.unwrap(), q.unwrap());
            assert!(
                (p - q).abs() <= 1e-4 * p.abs(),
                "{what}: cpu {p}, cuda-on-cpu {q}"
            );
        }
    }
}
