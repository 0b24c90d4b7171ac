//! Speed of sweep-nn against the same models in JAX on the CPU: `cargo bench -p sweep-nn --bench
//! step`. The target is "at least as fast as JAX", and speed targets live here, printed as
//! ratios against a baseline run by the same bench, never in timed tests.
//!
//! Cases: ConvNet c=8 and ResNet-18 k=4, each on 1-channel 28×28 MNIST-shaped images (zero-padded
//! to 32×32 on load, as `Dataset::mnist_family` does; the JAX side pads the same way) and on
//! 3-channel 32×32 CIFAR-shaped images. Pixels are synthetic: speed does not depend on them. For
//! each case two things are timed, in f32, as the median of a few calls after warm-up (5 steps and
//! 1 trΣ call by default, about 3 minutes in all on 2 cores; `BENCH_REPS=STEPS,TRSIGMA` asks for
//! more):
//!
//! * `step`: one [`Trainer::step`] at batch 128 under `Update::FixedElr` (draw the batch,
//!   normalise its bytes, loss and gradient, update);
//! * `trΣ`: one [`gradient_statistics`] call on 2048 training images: the full-batch gradient in
//!   chunks of 1024, then M = 16 fresh batches of 128.
//!
//! The baseline is `benches/jax_step.py`, which imports the model code of the JAX oracle
//! (`tests/jax_reference.py`), jits the same step and measurement in float32 and prints one JSON
//! line per case; this bench runs it as a subprocess (`$PYTHON`, default `python3`) right after
//! its own timings of each case, so the two never compete for the cores and see the same load.
//!
//! Reading the table: `JAX/ours` is JAX's time over ours, so above 1 means we are faster; the last
//! line says whether that holds in every case. Fairness: both sides use every core: ours splits
//! each step over rayon's global pool (`sweep_nn::par`; `RAYON_NUM_THREADS=1` shows one thread),
//! XLA its own thread pool. Anything else running on the machine (a build) slows both, unevenly,
//! so compare on a quiet machine: each timing line shows the 1-minute load average when it
//! started. If python3 or
//! jax is missing the bench prints "JAX baseline SKIPPED: <reason>" and still prints our timings;
//! it exits with an error only when our own code fails.

use std::error::Error;
use std::process::Command;
use std::time::Instant;

use sweep_nn::data::{BatchSampler, Dataset};
use sweep_nn::train::measure::FULL_BATCH_CHUNK;
use sweep_nn::train::{Trainer, Update, gradient_statistics};
use sweep_nn::{Architecture, Network};

/// Training batch and trΣ mini-batch.
const BATCH: usize = 128;
/// Training-set size of the trΣ measurement.
const TRAIN: usize = 2048;
/// Fresh mini-batches of the trΣ measurement.
const SAMPLES: usize = 16;
/// Timed calls whose median is reported, unless `BENCH_REPS=STEPS,TRSIGMA` says otherwise; the
/// Python side takes the same counts. One trΣ call is already 34 gradient evaluations (~8 s).
const DEFAULT_REPS: Reps = Reps {
    step: 5,
    trsigma: 1,
};

/// How many timed calls of each kind.
#[derive(Clone, Copy)]
struct Reps {
    step: usize,
    trsigma: usize,
}

impl Reps {
    /// `BENCH_REPS=STEPS,TRSIGMA` (both ≥ 1) or the defaults.
    fn from_env() -> Result<Self, Box<dyn Error>> {
        let Ok(v) = std::env::var("BENCH_REPS") else {
            return Ok(DEFAULT_REPS);
        };
        let bad = || format!("BENCH_REPS={v:?}: expected STEPS,TRSIGMA, both at least 1");
        let (a, b) = v.split_once(',').ok_or_else(bad)?;
        let (step, trsigma) = (a.trim().parse::<usize>()?, b.trim().parse::<usize>()?);
        if step == 0 || trsigma == 0 {
            return Err(bad().into());
        }
        Ok(Self { step, trsigma })
    }
}

/// One benchmarked model and input shape; `key` names it on the JAX side.
struct Case {
    key: &'static str,
    label: &'static str,
    arch: Architecture,
    mnist: bool,
}

const CASES: [Case; 4] = [
    Case {
        key: "convnet-mnist",
        label: "ConvNet c=8, 1×28×28",
        arch: Architecture::ConvNet { c: 8 },
        mnist: true,
    },
    Case {
        key: "convnet-cifar",
        label: "ConvNet c=8, 3×32×32",
        arch: Architecture::ConvNet { c: 8 },
        mnist: false,
    },
    Case {
        key: "resnet18-mnist",
        label: "ResNet-18 k=4, 1×28×28",
        arch: Architecture::ResNet18 { k: 4 },
        mnist: true,
    },
    Case {
        key: "resnet18-cifar",
        label: "ResNet-18 k=4, 3×32×32",
        arch: Architecture::ResNet18 { k: 4 },
        mnist: false,
    },
];

/// Times of one case, in milliseconds.
#[derive(Clone, Copy)]
struct Times {
    step: f64,
    trsigma: f64,
}

/// `TRAIN` synthetic images: 28×28 zero-padded to 32×32 like `Dataset::mnist_family`, or 3×32×32.
fn synthetic(mnist: bool) -> Dataset {
    let byte = |i: usize| (i * 7919 % 256) as u8;
    let (c, pixels) = if mnist {
        let mut pixels = vec![0u8; TRAIN * 32 * 32];
        for (n, img) in pixels.chunks_exact_mut(32 * 32).enumerate() {
            for r in 0..28 {
                for (j, p) in img[(r + 2) * 32 + 2..][..28].iter_mut().enumerate() {
                    *p = byte((n * 28 + r) * 28 + j);
                }
            }
        }
        (1, pixels)
    } else {
        (3, (0..TRAIN * 3 * 32 * 32).map(byte).collect())
    };
    Dataset {
        pixels,
        labels: (0..TRAIN).map(|i| (i % 10) as u8).collect(),
        c,
        h: 32,
        w: 32,
        classes: 10,
        mean: vec![0.5; c],
        std: vec![0.25; c],
    }
}

/// Median wall time of `f` over `reps` (≥ 1) calls, in milliseconds.
fn median_ms<E>(reps: usize, mut f: impl FnMut() -> Result<(), E>) -> Result<f64, E> {
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t0 = Instant::now();
        f()?;
        times.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let mid = times.len() / 2;
    Ok(if times.len() % 2 == 0 {
        0.5 * (times[mid - 1] + times[mid])
    } else {
        times[mid]
    })
}

/// Our step and trΣ times for `case`.
fn ours(case: &Case, reps: Reps) -> Result<Times, Box<dyn Error>> {
    let data = synthetic(case.mnist);
    let (net, si) = Network::<f32>::initial(case.arch, data.c, 10, 1, 4, 1.0, 10.0)?;
    let sampler = BatchSampler::new(1, TRAIN, BATCH);
    let mut tr = Trainer::new(&net, &data, sampler, si);
    let update = Update::FixedElr {
        elr: 1e-3,
        wd: 1e-3,
    };
    for _ in 0..2 {
        tr.step(update)?; // warm-up
    }
    let step = median_ms(reps.step, || tr.step(update).map(drop))?;
    let w = tr.weights().to_vec();
    let measure = || {
        gradient_statistics(
            &net,
            &data,
            &w,
            FULL_BATCH_CHUNK,
            &sampler,
            1 << 63,
            SAMPLES,
        )
        .map(drop)
    };
    // No separate warm-up: the steps above have run the code, and a trΣ call is long.
    let trsigma = median_ms(reps.trsigma, measure)?;
    Ok(Times { step, trsigma })
}

/// The JAX baseline's times for one case, or why there are none (`Skip` ends the baseline).
enum Baseline {
    Times(Times),
    /// This case failed; others may still run.
    Failed(String),
    /// No python3 or no jax: no case can run.
    Skip(String),
}

/// Runs `benches/jax_step.py` for `case`; `about` receives the JAX version line.
fn jax_case(case: &Case, reps: Reps, about: &mut String) -> Baseline {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/jax_step.py");
    let out = match Command::new(&python)
        .arg(script)
        .args(["--cases", case.key])
        .args(["--reps-step", &reps.step.to_string()])
        .args(["--reps-trsigma", &reps.trsigma.to_string()])
        .output()
    {
        Ok(out) => out,
        Err(e) => return Baseline::Skip(format!("cannot run {python}: {e}")),
    };
    let mut times = None;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if let Some(reason) = v["skipped"].as_str() {
            return Baseline::Skip(reason.to_string());
        }
        if let Some(version) = v["jax"].as_str() {
            *about = format!("jax {version}, {} CPUs visible", v["cpus"]);
        }
        if let (Some(step), Some(trsigma)) = (v["step_ms"].as_f64(), v["trsigma_ms"].as_f64()) {
            times = Some(Times { step, trsigma });
        }
    }
    match times {
        Some(t) if out.status.success() => Baseline::Times(t),
        _ => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr.lines().last().unwrap_or("no output");
            Baseline::Failed(format!("{script} failed ({}): {last}", out.status))
        }
    }
}

/// The 1-minute load average, if the system says (Linux): above about 1 on a quiet machine means
/// something else is running and the ratios are not to be trusted.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn main() -> Result<(), Box<dyn Error>> {
    let reps = Reps::from_env()?;
    println!(
        "sweep-nn vs JAX on the CPU: f32, batch {BATCH}; medians of {} steps (after 2 warm-up) and {} trΣ calls",
        reps.step, reps.trsigma
    );
    println!(
        "threads: ours {} (rayon's global pool, RAYON_NUM_THREADS), JAX/XLA all {} cores",
        rayon::current_num_threads(),
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    println!(
        "each case runs ours, then JAX (a subprocess that compiles first); load = 1-min load average"
    );
    let mut rows = Vec::new();
    let mut about = String::new();
    let mut skipped: Option<String> = None;
    for case in &CASES {
        let load_before = load();
        let t = ours(case, reps)?;
        println!(
            "  ours {:<24} step {:>8.1} ms   trΣ {:>9.1} ms   (load {load_before})",
            case.label, t.step, t.trsigma
        );
        let theirs = match &skipped {
            Some(_) => None,
            None => {
                let load_before = load();
                match jax_case(case, reps, &mut about) {
                    Baseline::Times(j) => {
                        println!(
                            "  JAX  {:<24} step {:>8.1} ms   trΣ {:>9.1} ms   (load {load_before}; {about})",
                            case.label, j.step, j.trsigma
                        );
                        Some(j)
                    }
                    Baseline::Failed(reason) => {
                        println!("  JAX  {:<24} FAILED: {reason}", case.label);
                        None
                    }
                    Baseline::Skip(reason) => {
                        println!("JAX baseline SKIPPED: {reason}");
                        skipped = Some(reason);
                        None
                    }
                }
            }
        };
        rows.push((t, theirs));
    }
    println!();
    println!(
        "{:<24} {:<5} {:>10} {:>10} {:>9}",
        "case", "what", "ours ms", "JAX ms", "JAX/ours"
    );
    let mut slower = Vec::new();
    let mut missing = 0;
    for (case, (t, theirs)) in CASES.iter().zip(&rows) {
        for (what, ours_ms, jax_ms) in [
            ("step", t.step, theirs.map(|j| j.step)),
            ("trΣ", t.trsigma, theirs.map(|j| j.trsigma)),
        ] {
            match jax_ms {
                Some(j) => {
                    println!(
                        "{:<24} {what:<5} {ours_ms:>10.1} {j:>10.1} {:>9.2}",
                        case.label,
                        j / ours_ms
                    );
                    if j < ours_ms {
                        slower.push(format!("{} {what}", case.label));
                    }
                }
                None => {
                    missing += 1;
                    println!(
                        "{:<24} {what:<5} {ours_ms:>10.1} {:>10} {:>9}",
                        case.label, "—", "—"
                    );
                }
            }
        }
    }
    println!();
    if let Some(reason) = &skipped {
        println!("JAX baseline SKIPPED: {reason}");
    }
    if missing > 0 {
        println!(
            "at least as fast as JAX in every case: NOT ESTABLISHED ({missing} without a JAX time)"
        );
    } else if slower.is_empty() {
        println!("at least as fast as JAX in every case: YES");
    } else {
        println!(
            "at least as fast as JAX in every case: NO (slower: {})",
            slower.join("; ")
        );
    }
    Ok(())
}
