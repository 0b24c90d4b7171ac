//! From [`RawSpec`] to [`SweepSpec`]: defaults filled in, every rule of DESIGN §3 checked, every
//! problem reported with its key. Documented defaults: `name = "sweep"`, `seed = 0`; isotropic
//! `dim = 3`, `sigma2 = 1`, `target_seed = 44` (SPEC §5.5); `init_radius = 1`; `log_every =
//! min(50, iterations)`, `average_last = iterations / 8`; entropy `queue = 1000`, `every = 50`,
//! `log_every = iterations / 50`, `average_last = 10`, `estimator = "reflected"`; execution
//! `replicas = 1`, `points_per_task = 16`, `backend = "auto"`, `max_attempts = 3`.

use std::collections::BTreeMap;

use sweep_theory::{AdiabatLaw, Axis, Hyper, Protocol, adiabat_partner};

use crate::axis::axis_values;
use crate::error::{Problems, SpecError};
use crate::model::{Backend, Design, Entropy, Estimator, Execution, Schedule, SweepSpec, Workload};
use crate::network::{NetworkKind, network};
use crate::raw::{RawAdiabat, RawAxis, RawEntropy, RawSpec, RawWorkload};

/// Check ids of DESIGN §6 that `[analysis]` may override.
pub const CHECK_IDS: [&str; 8] = [
    "ideal_gas",
    "V1.radius",
    "V1.radius_discrete",
    "V2.potential",
    "V3.maxwell",
    "V4.adiabat",
    "vmf.energy",
    "vmf.entropy",
];

/// Most points (hyperparameter settings × replicas) one sweep may have.
pub const MAX_POINTS: u64 = 10_000_000;

/// Most memory one point's entropy queue may take: `queue × dim` unit-vector entries in f64, and
/// the estimator's angle array of the same size while it runs (16 bytes per entry).
pub const MAX_QUEUE_BYTES: u64 = 16 << 30;

/// Parses and validates a spec from TOML text.
pub fn parse(text: &str) -> Result<SweepSpec, SpecError> {
    let raw: RawSpec =
        toml::from_str(text).map_err(|e| SpecError::Parse(e.to_string().trim_end().to_string()))?;
    validate(raw)
}

/// An integer ≥ `min` (and ≤ `max`), or a recorded problem.
pub(crate) fn int(
    p: &mut Problems,
    key: &str,
    value: Option<i64>,
    default: Option<i64>,
    min: i64,
    max: i64,
) -> Option<i64> {
    match value.or(default) {
        None => {
            p.add(key, "is required");
            None
        }
        Some(v) if v < min || v > max => {
            p.add(key, format!("must be between {min} and {max}, got {v}"));
            None
        }
        Some(v) => Some(v),
    }
}

/// A positive finite number, or a recorded problem.
fn positive(p: &mut Problems, key: &str, value: Option<f64>, default: f64) -> f64 {
    let v = value.unwrap_or(default);
    if !(v.is_finite() && v > 0.0) {
        p.add(key, format!("must be a positive finite number, got {v}"));
    }
    v
}

/// Validates a parsed spec.
pub fn validate(raw: RawSpec) -> Result<SweepSpec, SpecError> {
    let mut p = Problems::default();
    match raw.version {
        Some(1) => {}
        Some(v) => p.add("version", format!("only version 1 exists, got {v}")),
        None => p.add("version", "is required (version = 1)"),
    }
    let name = raw.name.unwrap_or_else(|| "sweep".to_string());
    if name.trim().is_empty() {
        p.add("name", "must not be empty");
    }
    let seed = int(&mut p, "seed", raw.seed, Some(0), 0, i64::MAX).unwrap_or(0) as u64;
    let (protocol, init_radius) = protocol(&mut p, raw.protocol);
    let schedule = schedule(&mut p, raw.schedule);
    let entropy = entropy(&mut p, raw.entropy, schedule);
    let workload = workload(&mut p, raw.workload, schedule, entropy);
    let execution = execution(&mut p, raw.execution);
    let analysis = analysis(&mut p, raw.analysis);
    let design = match (protocol, &workload) {
        (Some(protocol), Some(workload)) => {
            design(&mut p, protocol, workload, raw.grid, raw.adiabat)
        }
        _ => None,
    };
    if let (Some(d), Some(e)) = (&design, &execution) {
        let settings: u64 = match d {
            Design::Grid { first, second } => first.len() as u64 * second.len() as u64,
            Design::Adiabats { paths, .. } => paths.iter().map(|x| x.len() as u64).sum(),
        };
        if settings * u64::from(e.replicas) > MAX_POINTS {
            p.add(
                "grid",
                format!(
                    "{settings} settings × {} replicas exceed {MAX_POINTS} points",
                    e.replicas
                ),
            );
        }
    }
    if let (Some(w), Some(e)) = (&workload, &entropy) {
        let bytes = (e.queue as u64)
            .saturating_mul(w.dim() as u64)
            .saturating_mul(16);
        if bytes > MAX_QUEUE_BYTES {
            p.add(
                "entropy.queue",
                format!(
                    "{} samples of dim {} need {:.1} GiB per point (the queue and the estimator's \
                     angles, 16 bytes per entry), more than the {} GiB allowed: use a shorter queue",
                    e.queue,
                    w.dim(),
                    bytes as f64 / f64::from(1u32 << 30),
                    MAX_QUEUE_BYTES >> 30
                ),
            );
        }
    }
    match (
        p.0.is_empty(),
        workload,
        protocol,
        design,
        schedule,
        entropy,
        execution,
    ) {
        (
            true,
            Some(workload),
            Some(protocol),
            Some(design),
            Some(schedule),
            Some(entropy),
            Some(execution),
        ) => Ok(SweepSpec {
            name,
            seed,
            workload,
            protocol,
            init_radius,
            design,
            schedule,
            entropy,
            execution,
            analysis,
        }),
        _ => Err(SpecError::Invalid(p.0)),
    }
}

fn workload(
    p: &mut Problems,
    raw: Option<RawWorkload>,
    schedule: Option<Schedule>,
    entropy: Option<Entropy>,
) -> Option<Workload> {
    let Some(w) = raw else {
        p.add(
            "workload",
            "is required (a [workload] table with kind = \"isotropic\", \"convnet\" or \"resnet18\")",
        );
        return None;
    };
    match w.kind.as_deref() {
        Some("isotropic") => {
            for (key, given) in [
                ("workload.width", w.width.is_some()),
                ("workload.dataset", w.dataset.is_some()),
                ("workload.data_dir", w.data_dir.is_some()),
                ("workload.batch_size", w.batch_size.is_some()),
                ("workload.head_norm", w.head_norm.is_some()),
                ("workload.init_seed", w.init_seed.is_some()),
                ("workload.samples_per_label", w.samples_per_label.is_some()),
                ("workload.grad_samples", w.grad_samples.is_some()),
                ("workload.measure_every", w.measure_every.is_some()),
                ("workload.test_samples", w.test_samples.is_some()),
                ("workload.log_schedule", w.log_schedule.is_some()),
            ] {
                if given {
                    p.add(
                        key,
                        "applies to network workloads only, not to kind = \"isotropic\"",
                    );
                }
            }
            let dim = int(p, "workload.dim", w.dim, Some(3), 2, 100_000_000)?;
            let sigma2 = positive(p, "workload.sigma2", w.sigma2, 1.0);
            let target_seed = int(
                p,
                "workload.target_seed",
                w.target_seed,
                Some(44),
                0,
                i64::MAX,
            )?;
            Some(Workload::Isotropic {
                dim: dim as usize,
                sigma2,
                target_seed: target_seed as u64,
            })
        }
        Some("convnet") => {
            network(p, NetworkKind::ConvNet, &w, schedule, entropy).map(Workload::Network)
        }
        Some("resnet18") => {
            network(p, NetworkKind::ResNet18, &w, schedule, entropy).map(Workload::Network)
        }
        Some(other) => {
            p.add(
                "workload.kind",
                format!("must be \"isotropic\", \"convnet\" or \"resnet18\", got \"{other}\""),
            );
            None
        }
        None => {
            p.add("workload.kind", "is required");
            None
        }
    }
}

fn protocol(p: &mut Problems, raw: Option<crate::raw::RawProtocol>) -> (Option<Protocol>, f64) {
    let Some(r) = raw else {
        p.add("protocol", "is required (a [protocol] table with kind = \"fixed_lr\" | \"fixed_elr\" | \"fixed_sphere\")");
        return (None, 1.0);
    };
    let protocol = match r.kind.as_deref() {
        Some(k) => match k.parse::<Protocol>() {
            Ok(x) => Some(x),
            Err(_) => {
                p.add(
                    "protocol.kind",
                    format!("must be \"fixed_sphere\", \"fixed_elr\" or \"fixed_lr\", got \"{k}\""),
                );
                None
            }
        },
        None => {
            p.add("protocol.kind", "is required");
            None
        }
    };
    if protocol == Some(Protocol::FixedSphere) && r.init_radius.is_some() {
        p.add(
            "protocol.init_radius",
            "does not apply to fixed_sphere (chains start on the sphere of each grid radius)",
        );
    }
    (
        protocol,
        positive(p, "protocol.init_radius", r.init_radius, 1.0),
    )
}

fn schedule(p: &mut Problems, raw: Option<crate::raw::RawSchedule>) -> Option<Schedule> {
    let Some(s) = raw else {
        p.add(
            "schedule",
            "is required (a [schedule] table with iterations)",
        );
        return None;
    };
    let iterations = int(
        p,
        "schedule.iterations",
        s.iterations,
        None,
        1,
        i64::MAX / 4,
    )?;
    let log_every = int(
        p,
        "schedule.log_every",
        s.log_every,
        Some(iterations.min(50)),
        1,
        iterations,
    );
    let average_last = int(
        p,
        "schedule.average_last",
        s.average_last,
        Some((iterations / 8).max(1)),
        1,
        iterations,
    );
    Some(Schedule {
        iterations: iterations as u64,
        log_every: log_every? as u64,
        average_last: average_last? as u64,
    })
}

fn entropy(
    p: &mut Problems,
    raw: Option<RawEntropy>,
    schedule: Option<Schedule>,
) -> Option<Entropy> {
    let e = raw.unwrap_or(RawEntropy {
        queue: None,
        every: None,
        log_every: None,
        average_last: None,
        estimator: None,
    });
    let iterations = schedule.map_or(1, |s| s.iterations as i64);
    let queue = int(p, "entropy.queue", e.queue, Some(1000), 2, 1_000_000);
    let every = int(p, "entropy.every", e.every, Some(50), 1, i64::MAX / 4);
    let log_every = int(
        p,
        "entropy.log_every",
        e.log_every,
        Some((iterations / 50).max(1)),
        1,
        i64::MAX / 4,
    );
    let average_last = int(
        p,
        "entropy.average_last",
        e.average_last,
        Some(10),
        1,
        1_000_000,
    );
    let estimator = match e.estimator.as_deref().unwrap_or("reflected") {
        "reflected" => Some(Estimator::Reflected),
        "raw" => Some(Estimator::Raw),
        other => {
            p.add(
                "entropy.estimator",
                format!("must be \"reflected\" or \"raw\", got \"{other}\""),
            );
            None
        }
    };
    let entropy = Entropy {
        queue: queue? as usize,
        every: every? as u64,
        log_every: log_every? as u64,
        average_last: average_last? as usize,
        estimator: estimator?,
    };
    let schedule = schedule?;
    let fill = (entropy.queue as u64).saturating_mul(entropy.every);
    if fill > schedule.iterations {
        p.add(
            "entropy.queue",
            format!(
                "{} samples every {} iterations need {fill} iterations to fill, but the run has {}",
                entropy.queue, entropy.every, schedule.iterations
            ),
        );
        return None;
    }
    let estimates = estimates_in_run(schedule.iterations, &entropy);
    if estimates < entropy.average_last as u64 {
        p.add(
            "entropy.average_last",
            format!(
                "the run makes {estimates} estimates (every {} iterations once the queue is full at {fill}), \
                 fewer than average_last = {}",
                entropy.log_every, entropy.average_last
            ),
        );
        return None;
    }
    Some(entropy)
}

/// Entropy estimates in a run: at multiples of `log_every` from the iteration the queue is full.
pub fn estimates_in_run(iterations: u64, e: &Entropy) -> u64 {
    let full_at = (e.queue as u64).saturating_mul(e.every);
    if full_at > iterations {
        return 0;
    }
    let first = full_at.div_ceil(e.log_every).max(1) * e.log_every;
    if first > iterations {
        0
    } else {
        (iterations - first) / e.log_every + 1
    }
}

fn execution(p: &mut Problems, raw: Option<crate::raw::RawExecution>) -> Option<Execution> {
    let e = raw.unwrap_or(crate::raw::RawExecution {
        replicas: None,
        points_per_task: None,
        backend: None,
        max_attempts: None,
    });
    let replicas = int(p, "execution.replicas", e.replicas, Some(1), 1, 1_000_000);
    let per_task = int(
        p,
        "execution.points_per_task",
        e.points_per_task,
        Some(16),
        1,
        1_000_000,
    );
    let attempts = int(
        p,
        "execution.max_attempts",
        e.max_attempts,
        Some(3),
        1,
        1000,
    );
    let backend = match e.backend.as_deref().unwrap_or("auto") {
        "cpu" => Some(Backend::Cpu),
        "cuda" => Some(Backend::Cuda),
        "auto" => Some(Backend::Auto),
        other => {
            p.add(
                "execution.backend",
                format!("must be \"cpu\", \"cuda\" or \"auto\", got \"{other}\""),
            );
            None
        }
    };
    Some(Execution {
        replicas: replicas? as u32,
        points_per_task: per_task? as u32,
        backend: backend?,
        max_attempts: attempts? as u32,
    })
}

fn analysis(p: &mut Problems, raw: Option<BTreeMap<String, f64>>) -> BTreeMap<String, f64> {
    let raw = raw.unwrap_or_default();
    for (key, value) in &raw {
        if !CHECK_IDS.contains(&key.as_str()) {
            p.add(
                format!("analysis.{key}"),
                format!("is not a check id; known: {}", CHECK_IDS.join(", ")),
            );
        } else if !(value.is_finite() && *value > 0.0) {
            p.add(
                format!("analysis.{key}"),
                format!("a tolerance must be positive and finite, got {value}"),
            );
        }
    }
    raw
}

fn design(
    p: &mut Problems,
    protocol: Protocol,
    workload: &Workload,
    grid: Option<BTreeMap<String, RawAxis>>,
    adiabat: Option<RawAdiabat>,
) -> Option<Design> {
    let (a, b) = protocol.axis_names();
    match (grid, adiabat) {
        (Some(_), Some(_)) => {
            p.add("grid", "give either [grid] or [adiabat], not both");
            None
        }
        (None, None) => {
            p.add(
                "grid",
                format!("is required: a [grid] with axes {a} and {b}, or an [adiabat]"),
            );
            None
        }
        (Some(grid), None) => {
            for key in grid.keys().filter(|k| *k != a && *k != b) {
                p.add(
                    format!("grid.{key}"),
                    format!("is not an axis of {protocol}, whose axes are {a} and {b}"),
                );
            }
            let mut axis = |name: &str| match grid.get(name) {
                Some(raw) => axis_values(&format!("grid.{name}"), raw, p),
                None => {
                    p.add(
                        format!("grid.{name}"),
                        format!("is required for {protocol}"),
                    );
                    None
                }
            };
            let (first, second) = (axis(a), axis(b));
            Some(Design::Grid {
                first: first?,
                second: second?,
            })
        }
        (None, Some(adiabat)) => adiabats(p, protocol, workload, adiabat),
    }
}

fn adiabats(
    p: &mut Problems,
    protocol: Protocol,
    workload: &Workload,
    raw: RawAdiabat,
) -> Option<Design> {
    let (a, b) = protocol.axis_names();
    let given: Vec<(&str, &RawAxis)> = [
        ("lr", &raw.lr),
        ("elr", &raw.elr),
        ("wd", &raw.wd),
        ("radius", &raw.radius),
    ]
    .into_iter()
    .filter_map(|(n, x)| x.as_ref().map(|x| (n, x)))
    .collect();
    for (name, _) in given.iter().filter(|(n, _)| *n != a && *n != b) {
        p.add(
            format!("adiabat.{name}"),
            format!("is not an axis of {protocol}, whose axes are {a} and {b}"),
        );
    }
    let free: Vec<&(&str, &RawAxis)> = given.iter().filter(|(n, _)| *n == a || *n == b).collect();
    let [(free_name, free_raw)] = free[..] else {
        p.add(
            "adiabat",
            format!("give exactly one free axis ({a} or {b}) as a list or geomspace"),
        );
        return None;
    };
    let values = axis_values(&format!("adiabat.{free_name}"), free_raw, p)?;
    let law = match raw.gamma {
        Some(g) if g.is_finite() && g > 0.0 => AdiabatLaw::PowerLaw { gamma: g },
        Some(g) => {
            p.add(
                "adiabat.gamma",
                format!("must be positive and finite, got {g}"),
            );
            return None;
        }
        None => AdiabatLaw::Isentrope,
    };
    // Exact isentropes need the isotropic model's heat capacity; for networks, whose C_V is
    // unknown, a missing γ means the low-temperature value 2 (SPEC §3.7). Power laws in P and V
    // need no σ²: a constant σ² along the path cancels from P·V^γ = const, so 1 stands in.
    let (dim, sigma2, law) = match workload {
        Workload::Isotropic { dim, sigma2, .. } => (*dim, *sigma2, law),
        Workload::Network(n) => match law {
            AdiabatLaw::Isentrope => (n.dim(), 1.0, AdiabatLaw::PowerLaw { gamma: 2.0 }),
            power => (n.dim(), 1.0, power),
        },
    };
    let through = raw.through.unwrap_or_default();
    if through.is_empty() {
        p.add(
            "adiabat.through",
            format!("needs at least one point {{ {a} = …, {b} = … }}"),
        );
        return None;
    }
    let free_is_first = *free_name == a;
    let given_axis = if free_is_first {
        Axis::First
    } else {
        Axis::Second
    };
    let mut paths = Vec::new();
    for (i, point) in through.iter().enumerate() {
        let key = format!("adiabat.through[{i}]");
        let extra: Vec<&String> = point.keys().filter(|k| *k != a && *k != b).collect();
        let (Some(&x), Some(&y), true) = (point.get(a), point.get(b), extra.is_empty()) else {
            p.add(&key, format!("must give exactly {a} and {b}"));
            continue;
        };
        let hyper = match Hyper::new(protocol, x, y) {
            Ok(h) => h,
            Err(e) => {
                p.add(&key, e.to_string());
                continue;
            }
        };
        let mut path = Vec::with_capacity(values.len());
        for &v in &values {
            match adiabat_partner(law, &hyper, dim, sigma2, given_axis, v) {
                Ok(partner) => path.push(if free_is_first {
                    (v, partner)
                } else {
                    (partner, v)
                }),
                Err(e) => {
                    p.add(
                        &key,
                        format!("no adiabat partner for {free_name} = {v}: {e}"),
                    );
                    break;
                }
            }
        }
        paths.push(path);
    }
    Some(Design::Adiabats {
        law,
        free_is_first,
        paths,
    })
}
