//! The network workloads of DESIGN §3 (`kind = "convnet" | "resnet18"`, SPEC §7): which model,
//! which data, and the measurement settings, validated with named errors. `dim` is known before
//! any data is read (input channels follow the data set), so the `dim` column and the analysis
//! never wait for a network to be built; `sweep-nn` checks these counts against its layer list.

use crate::error::Problems;
use crate::model::{Entropy, Schedule};
use crate::raw::RawWorkload;

/// Which network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkKind {
    /// ConvNet(c) of SPEC §7.1 (Kodryan et al. 2022); `width` is c.
    ConvNet,
    /// Pre-activation ResNet-18(k) of SPEC §7.1; `width` is k.
    ResNet18,
}

impl NetworkKind {
    /// The `workload` column.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::ConvNet => "convnet",
            Self::ResNet18 => "resnet18",
        }
    }

    /// `dim`, the size of the scale-invariant group (every convolution weight) for width `w` and
    /// `c_in` input channels: ConvNet 9·c_in·w + 378w² (3×3 convs c_in→w→2w→4w→8w: 9(2+8+32)w²);
    /// ResNet-18 9·c_in·k + 2724k² (the stem, sixteen 3×3 convs in four stages and three 1×1
    /// shortcuts; SPEC §7.1: 43 692 at k = 4 with 3 channels).
    pub fn dim(&self, width: usize, c_in: usize) -> usize {
        let per_w2 = match self {
            Self::ConvNet => 378,
            Self::ResNet18 => 2724,
        };
        9 * c_in * width + per_w2 * width * width
    }
}

/// Which data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasetKind {
    /// MNIST (IDX, raw or gzipped), 1×28×28 padded to 32×32, 10 classes.
    Mnist,
    /// Fashion-MNIST (same format).
    FashionMnist,
    /// CIFAR-10 binary batches, 3×32×32, 10 classes.
    Cifar10,
    /// CIFAR-100 binary batches, 3×32×32, 100 (fine) classes.
    Cifar100,
    /// Generated 1×32×32 images in 10 classes (no files; for tests and demonstrations).
    Synthetic,
}

impl DatasetKind {
    /// The spec spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Mnist => "mnist",
            Self::FashionMnist => "fashion-mnist",
            Self::Cifar10 => "cifar10",
            Self::Cifar100 => "cifar100",
            Self::Synthetic => "synthetic",
        }
    }

    /// Input channels.
    pub fn channels(&self) -> usize {
        match self {
            Self::Cifar10 | Self::Cifar100 => 3,
            Self::Mnist | Self::FashionMnist | Self::Synthetic => 1,
        }
    }

    /// Classes.
    pub fn classes(&self) -> usize {
        match self {
            Self::Cifar100 => 100,
            _ => 10,
        }
    }
}

/// `[workload]` for a network.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkWorkload {
    /// Model.
    pub kind: NetworkKind,
    /// c (ConvNet) or k (ResNet-18).
    pub width: usize,
    /// Data set.
    pub dataset: DatasetKind,
    /// Directory of the data files, as written (relative paths resolve against the agent's working
    /// directory); `None` only for `synthetic`.
    pub data_dir: Option<String>,
    /// Mini-batch size (SPEC §7.2: 128).
    pub batch_size: usize,
    /// Frobenius norm of the frozen head (SPEC §7.1: 10).
    pub head_norm: f64,
    /// Seed of the initial weights, shared by every point (SPEC §7.1 `init_point_seed`).
    pub init_seed: u64,
    /// Train on the first this-many images of each class (the paper's `samples_per_label`);
    /// `None`: the whole training set (for `synthetic`: 100 per class).
    pub samples_per_label: Option<usize>,
    /// M: fresh mini-batch gradients per measurement of tr Σ (SPEC §7.3: the queue size).
    pub grad_samples: usize,
    /// Gradient measurements (full-batch loss and gradient, tr Σ) every this-many iterations
    /// inside the stationary window, besides those at each entropy estimate (default
    /// `entropy.log_every`).
    pub measure_every: u64,
    /// Test images evaluated (in order) at each entropy estimate, in evaluation mode, for
    /// `test_loss` and `test_accuracy`; `None`: the whole test split; 0: no test evaluation.
    pub test_samples: Option<usize>,
    /// `log_schedule = "paper"`: series rows, each with a gradient measurement, at SPEC §7.3's
    /// log-spaced iterations instead of every `schedule.log_every` (`"linear"`, the default).
    pub paper_logs: bool,
}

impl NetworkWorkload {
    /// `dim` of this network on this data.
    pub fn dim(&self) -> usize {
        self.kind.dim(self.width, self.dataset.channels())
    }
}

/// Keys that only the isotropic model has.
const ISOTROPIC_KEYS: [&str; 3] = ["dim", "sigma2", "target_seed"];

/// Synthetic images per class at most (10 classes of 1 KiB images: about 1 GiB).
pub const MAX_SYNTHETIC_PER_LABEL: usize = 100_000;

/// Validates a network `[workload]`; `entropy` gives the defaults of M (the queue length) and
/// `measure_every` (the estimate interval), and with `schedule` the measurements in the
/// stationary window are counted. Without a valid `[entropy]` (already reported) the keys that
/// default from it are not reported again.
pub(crate) fn network(
    p: &mut Problems,
    kind: NetworkKind,
    w: &RawWorkload,
    schedule: Option<Schedule>,
    entropy: Option<Entropy>,
) -> Option<NetworkWorkload> {
    for (key, given) in
        ISOTROPIC_KEYS
            .iter()
            .zip([w.dim.is_some(), w.sigma2.is_some(), w.target_seed.is_some()])
    {
        if given {
            p.add(
                format!("workload.{key}"),
                format!(
                    "applies to kind = \"isotropic\" only; a {}'s dim follows from width and dataset",
                    kind.as_str()
                ),
            );
        }
    }
    let width = bounded(p, "workload.width", w.width, None, 1, 4096);
    let dataset = match w.dataset.as_deref() {
        Some("mnist") => Some(DatasetKind::Mnist),
        Some("fashion-mnist") => Some(DatasetKind::FashionMnist),
        Some("cifar10") => Some(DatasetKind::Cifar10),
        Some("cifar100") => Some(DatasetKind::Cifar100),
        Some("synthetic") => Some(DatasetKind::Synthetic),
        Some(other) => {
            p.add(
                "workload.dataset",
                format!(
                    "must be \"mnist\", \"fashion-mnist\", \"cifar10\", \"cifar100\" or \"synthetic\", got \"{other}\""
                ),
            );
            None
        }
        None => {
            p.add("workload.dataset", "is required for a network workload");
            None
        }
    };
    let data_dir = match (&dataset, &w.data_dir) {
        (Some(DatasetKind::Synthetic), Some(_)) => {
            p.add(
                "workload.data_dir",
                "does not apply to dataset = \"synthetic\" (its images are generated)",
            );
            None
        }
        (Some(DatasetKind::Synthetic), None) | (None, _) => None,
        (Some(d), None) => {
            p.add(
                "workload.data_dir",
                format!(
                    "is required for dataset = \"{}\" (see scripts/fetch-data.sh)",
                    d.as_str()
                ),
            );
            None
        }
        (Some(_), Some(dir)) if dir.trim().is_empty() => {
            p.add("workload.data_dir", "must not be empty");
            None
        }
        (Some(_), Some(dir)) => Some(dir.clone()),
    };
    let batch_size = bounded(p, "workload.batch_size", w.batch_size, Some(128), 1, 65_536);
    let head_norm = w.head_norm.unwrap_or(10.0);
    if !(head_norm.is_finite() && head_norm > 0.0) {
        p.add(
            "workload.head_norm",
            format!("must be a positive finite number, got {head_norm}"),
        );
    }
    let init_seed = bounded(p, "workload.init_seed", w.init_seed, Some(1), 0, i64::MAX);
    let samples_per_label = match w.samples_per_label {
        None => None,
        Some(_) => bounded(
            p,
            "workload.samples_per_label",
            w.samples_per_label,
            None,
            1,
            i64::from(u32::MAX),
        ),
    };
    if entropy.is_none() && (w.grad_samples.is_none() || w.measure_every.is_none()) {
        return None;
    }
    let grad_samples = bounded(
        p,
        "workload.grad_samples",
        w.grad_samples,
        entropy.map(|e| e.queue as i64),
        1,
        1_000_000,
    );
    let measure_every = bounded(
        p,
        "workload.measure_every",
        w.measure_every,
        entropy.map(|e| e.log_every as i64),
        1,
        i64::MAX / 4,
    );
    if let (Some(s), Some(e), Some(every)) = (schedule, entropy, measure_every) {
        let window = s.iterations - s.average_last;
        let count = |n: u64| s.iterations / n - window / n;
        let every = every as u64;
        // Multiples of either interval, each counted once.
        let lcm = every / gcd(every, e.log_every) * e.log_every;
        let measured = count(every) + count(e.log_every) - count(lcm);
        if measured < 2 {
            p.add(
                "workload.measure_every",
                format!(
                    "the stationary window (the last {} iterations) holds {measured} gradient \
                     measurement(s) every {every} or {} iterations; at least 2 are needed for \
                     tr Σ and its error: lower measure_every or lengthen schedule.average_last",
                    s.average_last, e.log_every
                ),
            );
        }
    }
    let test_samples = match w.test_samples {
        None => None,
        Some(_) => bounded(
            p,
            "workload.test_samples",
            w.test_samples,
            None,
            0,
            i64::from(u32::MAX),
        ),
    };
    let paper_logs = match w.log_schedule.as_deref() {
        None | Some("linear") => false,
        Some("paper") => true,
        Some(other) => {
            p.add(
                "workload.log_schedule",
                format!("must be \"linear\" or \"paper\", got \"{other}\""),
            );
            false
        }
    };
    if let (Some(DatasetKind::Synthetic), Some(n)) = (dataset, samples_per_label)
        && n > MAX_SYNTHETIC_PER_LABEL
    {
        p.add(
            "workload.samples_per_label",
            format!(
                "the synthetic set is generated in memory: at most {MAX_SYNTHETIC_PER_LABEL} per class, got {n}"
            ),
        );
    }
    Some(NetworkWorkload {
        kind,
        width: width?,
        dataset: dataset?,
        data_dir: match dataset? {
            DatasetKind::Synthetic => None,
            _ => Some(data_dir?),
        },
        batch_size: batch_size?,
        head_norm,
        init_seed: init_seed? as u64,
        samples_per_label,
        grad_samples: grad_samples?,
        measure_every: measure_every? as u64,
        test_samples,
        paper_logs,
    })
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a.max(1) } else { gcd(b, a % b) }
}

/// [`crate::validate`]'s integer rule, as a size.
fn bounded(
    p: &mut Problems,
    key: &str,
    value: Option<i64>,
    default: Option<i64>,
    min: i64,
    max: i64,
) -> Option<usize> {
    crate::validate::int(p, key, value, default, min, max).map(|v| v as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dims_are_spec_7_1s_counts() {
        assert_eq!(NetworkKind::ConvNet.dim(8, 3), 24_408);
        assert_eq!(NetworkKind::ConvNet.dim(16, 3), 97_200);
        assert_eq!(NetworkKind::ResNet18.dim(4, 3), 43_692);
        assert_eq!(NetworkKind::ResNet18.dim(32, 3), 2_790_240);
        assert_eq!(NetworkKind::ConvNet.dim(8, 1), 24_264);
        assert_eq!(NetworkKind::ResNet18.dim(4, 1), 43_620);
    }
}
