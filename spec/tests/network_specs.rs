//! Network workloads in the spec (DESIGN §3, SPEC §7): a valid `convnet` / `resnet18` spec reads
//! as written with the documented defaults and the `dim` of SPEC §7.1, and each broken rule is
//! reported with its key.

use sweep_spec::{Backend, DatasetKind, NetworkKind, NetworkWorkload, Workload, parse};

const BASE: &str = r#"
version = 1
name = "net"
seed = 3
[workload]
kind = "convnet"
width = 8
dataset = "cifar10"
data_dir = "data/cifar-10-batches-bin"
[protocol]
kind = "fixed_elr"
[grid]
elr = [1e-3, 1e-2]
wd = [1e-3, 1e-2]
[schedule]
iterations = 10000
log_every = 50
average_last = 5000
[entropy]
queue = 100
every = 25
log_every = 500
average_last = 5
"#;

fn with(from: &str, to: &str) -> String {
    assert_eq!(
        BASE.matches(from).count(),
        1,
        "{from} is not in the base spec"
    );
    BASE.replacen(from, to, 1)
}

fn problems(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e
            .problems()
            .into_iter()
            .map(|p| format!("{} :: {}", p.key, p.rule))
            .collect(),
    }
}

#[test]
fn a_convnet_spec_reads_with_its_defaults_and_dim() {
    let s = parse(BASE).expect("base");
    let Workload::Network(w) = &s.workload else {
        panic!("not a network: {:?}", s.workload)
    };
    assert_eq!(
        *w,
        NetworkWorkload {
            kind: NetworkKind::ConvNet,
            width: 8,
            dataset: DatasetKind::Cifar10,
            data_dir: Some("data/cifar-10-batches-bin".into()),
            batch_size: 128,
            head_norm: 10.0,
            init_seed: 1,
            samples_per_label: None,
            grad_samples: 100,
            measure_every: 500,
            test_samples: None,
            paper_logs: false,
        }
    );
    assert_eq!((s.workload.kind(), s.workload.dim()), ("convnet", 24_408));
    let r = parse(&with(
        "kind = \"convnet\"\nwidth = 8",
        "kind = \"resnet18\"\nwidth = 4",
    ))
    .expect("resnet");
    assert_eq!((r.workload.kind(), r.workload.dim()), ("resnet18", 43_692));
    let m = parse(&with(
        "dataset = \"cifar10\"\ndata_dir = \"data/cifar-10-batches-bin\"",
        "dataset = \"mnist\"\ndata_dir = \"data/mnist\"\nbatch_size = 8\nsamples_per_label = 50\n\
         grad_samples = 16\nmeasure_every = 25\nhead_norm = 1.5\ninit_seed = 9\n\
         log_schedule = \"paper\"\ntest_samples = 0",
    ))
    .expect("mnist");
    let Workload::Network(w) = &m.workload else {
        panic!("not a network")
    };
    assert_eq!(
        (
            w.batch_size,
            w.samples_per_label,
            w.grad_samples,
            w.measure_every
        ),
        (8, Some(50), 16, 25)
    );
    assert_eq!(
        (w.head_norm, w.init_seed, m.workload.dim()),
        (1.5, 9, 24_264)
    );
    assert_eq!((w.paper_logs, w.test_samples), (true, Some(0)));
    let syn = parse(&with(
        "dataset = \"cifar10\"\ndata_dir = \"data/cifar-10-batches-bin\"",
        "dataset = \"synthetic\"",
    ))
    .expect("synthetic");
    assert_eq!(syn.execution.backend, Backend::Auto);
}

#[test]
fn network_rules_name_their_keys() {
    let cases: &[(&str, &str, &str)] = &[
        ("width = 8", "width = 0", "workload.width"),
        ("width = 8\n", "", "workload.width :: is required"),
        (
            "dataset = \"cifar10\"",
            "dataset = \"imagenet\"",
            "workload.dataset",
        ),
        (
            "dataset = \"cifar10\"\n",
            "",
            "workload.dataset :: is required",
        ),
        (
            "data_dir = \"data/cifar-10-batches-bin\"\n",
            "",
            "workload.data_dir :: is required",
        ),
        (
            "dataset = \"cifar10\"",
            "dataset = \"synthetic\"",
            "workload.data_dir :: does not apply",
        ),
        (
            "width = 8",
            "width = 8\nbatch_size = 0",
            "workload.batch_size",
        ),
        (
            "width = 8",
            "width = 8\nhead_norm = -1.0",
            "workload.head_norm",
        ),
        (
            "width = 8",
            "width = 8\ngrad_samples = 0",
            "workload.grad_samples",
        ),
        (
            "width = 8",
            "width = 8\nmeasure_every = 0",
            "workload.measure_every",
        ),
        (
            "width = 8",
            "width = 8\nsamples_per_label = 0",
            "workload.samples_per_label",
        ),
        (
            "width = 8",
            "width = 8\ntest_samples = -1",
            "workload.test_samples",
        ),
        (
            "average_last = 5000",
            "average_last = 400",
            "workload.measure_every :: the stationary window (the last 400 iterations) holds 1 gradient",
        ),
        (
            "dataset = \"cifar10\"\ndata_dir = \"data/cifar-10-batches-bin\"",
            "dataset = \"synthetic\"\nsamples_per_label = 200000",
            "workload.samples_per_label :: the synthetic set is generated in memory",
        ),
        (
            "width = 8",
            "width = 8\nlog_schedule = \"log\"",
            "workload.log_schedule :: must be \"linear\" or \"paper\"",
        ),
        (
            "width = 8",
            "width = 8\ndim = 3",
            "workload.dim :: applies to kind = \"isotropic\"",
        ),
        ("width = 8", "width = 8\nsigma2 = 1.0", "workload.sigma2"),
        // ResNet-18 k = 64 (d ≈ 11.2 M): even the base spec's 100 samples need 16.6 GiB per point.
        (
            "kind = \"convnet\"\nwidth = 8",
            "kind = \"resnet18\"\nwidth = 64",
            "entropy.queue :: 100 samples of dim 11159232 need 16.6 GiB per point",
        ),
        (
            "average_last = 5\n",
            "average_last = 5\n[execution]\nbackend = \"gpu\"\n",
            "execution.backend :: must be \"cpu\", \"cuda\" or \"auto\"",
        ),
    ];
    for (from, to, key) in cases {
        let got = problems(&with(from, to));
        assert!(
            got.iter().any(|p| p.starts_with(key)),
            "{from} → {to}: expected {key}, got {got:?}"
        );
    }
}

#[test]
fn isotropic_specs_reject_network_keys() {
    let text = include_str!("../../testdata/minimal-spec.toml").replacen(
        "dim = 3",
        "dim = 3\nmeasure_every = 10\ngrad_samples = 4",
        1,
    );
    let got = problems(&text);
    for key in ["workload.measure_every", "workload.grad_samples"] {
        assert!(
            got.iter().any(|p| p.starts_with(key)),
            "{key} missing from {got:?}"
        );
    }
}

#[test]
fn network_adiabats_default_to_gamma_two() {
    let text = with(
        "[grid]\nelr = [1e-3, 1e-2]\nwd = [1e-3, 1e-2]",
        "[adiabat]\nthrough = [{ elr = 1e-2, wd = 1e-2 }]\nwd = [1e-3, 1e-2, 1e-1]",
    );
    let s = parse(&text).expect("network adiabat");
    let sweep_spec::Design::Adiabats { law, paths, .. } = &s.design else {
        panic!("not an adiabat design")
    };
    assert_eq!(*law, sweep_theory::AdiabatLaw::PowerLaw { gamma: 2.0 });
    // SDE fixed ELR: V = r*²/2 ∝ η_eff/λ, so P·V² ∝ η_eff²/λ: γ = 2 keeps η_eff²/λ constant,
    // whatever σ² and d are.
    assert_eq!(paths[0].len(), 3);
    for &(elr, wd) in &paths[0] {
        let expected = 1e-2 * (wd / 1e-2f64).sqrt();
        assert!((elr / expected - 1.0).abs() < 1e-6, "elr {elr} at wd {wd}");
    }
}

#[test]
fn a_bad_entropy_table_is_not_blamed_on_the_workload() {
    let got = problems(&with("queue = 100", "queue = 1000"));
    assert!(
        got.iter().any(|p| p.starts_with("entropy.queue")),
        "{got:?}"
    );
    assert!(!got.iter().any(|p| p.starts_with("workload.")), "{got:?}");
}

/// Network specs run on a CUDA device when asked (`cuda`) or when one is usable (`auto`).
#[test]
fn network_specs_accept_every_backend() {
    for (name, want) in [
        ("cpu", Backend::Cpu),
        ("cuda", Backend::Cuda),
        ("auto", Backend::Auto),
    ] {
        let text = with(
            "average_last = 5\n",
            &format!("average_last = 5\n[execution]\nbackend = \"{name}\"\n"),
        );
        let spec = parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(spec.execution.backend, want, "{name}");
    }
}
