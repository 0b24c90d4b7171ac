//! Network tasks (SPEC §7): the spec's `[workload]` becomes the training and test sets read from
//! disk (or generated) and a [`NetworkBatch`]. Reading 60 000 images takes longer than many steps,
//! so the last data read are kept for the next task of the same sweep.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sweep_nn::Architecture;
pub use sweep_nn::data::DataError;
use sweep_nn::data::cifar::Cifar;
use sweep_nn::data::{Dataset, Split};
use sweep_nn::sweep::NetworkBatch;
use sweep_proto::v1;
use sweep_spec::{DatasetKind, NetworkKind, NetworkWorkload, SweepSpec};

use crate::workload::{chain_points, entropy_schedule, schedule};

/// Images per class of the `synthetic` set when `samples_per_label` is not given.
pub const SYNTHETIC_PER_LABEL: usize = 100;

/// The model of a network workload.
pub fn architecture(w: &NetworkWorkload) -> Architecture {
    match w.kind {
        NetworkKind::ConvNet => Architecture::ConvNet { c: w.width },
        NetworkKind::ResNet18 => Architecture::ResNet18 { k: w.width },
    }
}

/// The data directory of `w`, relative paths taken from the working directory.
pub fn data_dir(w: &NetworkWorkload) -> Option<PathBuf> {
    w.data_dir.as_deref().map(PathBuf::from)
}

/// A network task's data.
#[derive(Debug, Clone)]
pub struct NetworkData {
    /// The training set, cut to `samples_per_label` if given.
    pub train: Dataset,
    /// The first `test_samples` of the test split (normalised like the training set), unless
    /// `test_samples = 0`.
    pub test: Option<Dataset>,
}

/// Reads (or generates) the data of `w`. The synthetic sets are generated from the init seed
/// (a test set of the same size as the training set unless `test_samples` says otherwise).
pub fn load_data(w: &NetworkWorkload) -> Result<NetworkData, DataError> {
    let dir = data_dir(w).unwrap_or_default();
    let want_test = w.test_samples != Some(0);
    let (full, test) = match w.dataset {
        DatasetKind::Synthetic => {
            let per_label = w.samples_per_label.unwrap_or(SYNTHETIC_PER_LABEL);
            let train = Dataset::synthetic(w.init_seed, per_label);
            let stats = Some((train.mean.clone(), train.std.clone()));
            let test = want_test
                .then(|| Dataset::synthetic_split(w.init_seed, per_label, Split::Test, stats));
            (train, test)
        }
        DatasetKind::Mnist | DatasetKind::FashionMnist => {
            let train = Dataset::mnist_family(&dir, Split::Train, None)?;
            let stats = Some((train.mean.clone(), train.std.clone()));
            let test = match want_test {
                true => Some(Dataset::mnist_family(&dir, Split::Test, stats)?),
                false => None,
            };
            (train, test)
        }
        DatasetKind::Cifar10 | DatasetKind::Cifar100 => {
            let kind = match w.dataset {
                DatasetKind::Cifar10 => Cifar::Ten,
                _ => Cifar::Hundred,
            };
            let test = match want_test {
                true => Some(Dataset::cifar(&dir, kind, Split::Test)?),
                false => None,
            };
            (Dataset::cifar(&dir, kind, Split::Train)?, test)
        }
    };
    let train = match (w.samples_per_label, w.dataset) {
        (Some(n), d) if d != DatasetKind::Synthetic => full.first_per_label(n, &dir)?,
        _ => full,
    };
    let test = test.map(|t| match w.test_samples {
        Some(n) => t.first(n),
        None => t,
    });
    Ok(NetworkData { train, test })
}

/// The batch that trains a task's points under `spec` (whose workload is `w`).
pub fn network_batch(
    spec: &SweepSpec,
    w: &NetworkWorkload,
    points: &[v1::PointAssignment],
) -> NetworkBatch {
    NetworkBatch {
        arch: architecture(w),
        batch_size: w.batch_size,
        head_norm: w.head_norm,
        init_seed: w.init_seed,
        grad_samples: w.grad_samples,
        measure_every: w.measure_every,
        paper_logs: w.paper_logs,
        protocol: spec.protocol,
        init_radius: spec.init_radius,
        schedule: schedule(spec),
        entropy: entropy_schedule(spec),
        points: chain_points(spec, points),
    }
}

/// The last data set read, by the workload fields that decide its content.
#[derive(Debug, Default, Clone)]
pub struct DataCache {
    last: Arc<Mutex<Option<Cached>>>,
}

/// Data with the key they were read under.
type Cached = (DataKey, Arc<NetworkData>);

#[derive(Debug, Clone, PartialEq)]
struct DataKey {
    dataset: DatasetKind,
    dir: Option<PathBuf>,
    samples_per_label: Option<usize>,
    test_samples: Option<usize>,
    seed: u64,
}

impl DataCache {
    /// The data of `w`, read unless the last ones read are the same.
    pub fn get(&self, w: &NetworkWorkload) -> Result<Arc<NetworkData>, DataError> {
        let key = DataKey {
            dataset: w.dataset,
            dir: data_dir(w).map(|d| absolute(&d)),
            samples_per_label: w.samples_per_label,
            test_samples: w.test_samples,
            seed: if w.dataset == DatasetKind::Synthetic {
                w.init_seed
            } else {
                0
            },
        };
        if let Ok(last) = self.last.lock()
            && let Some((k, data)) = last.as_ref()
            && *k == key
        {
            return Ok(Arc::clone(data));
        }
        let data = Arc::new(load_data(w)?);
        if let Ok(mut last) = self.last.lock() {
            *last = Some((key, Arc::clone(&data)));
        }
        Ok(data)
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specs_dim_is_the_networks() {
        for kind in [NetworkKind::ConvNet, NetworkKind::ResNet18] {
            for width in [1, 2, 3, 4, 8, 16] {
                for c_in in [1, 3] {
                    let w = NetworkWorkload {
                        kind,
                        width,
                        dataset: DatasetKind::Synthetic,
                        data_dir: None,
                        batch_size: 8,
                        head_norm: 10.0,
                        init_seed: 1,
                        samples_per_label: None,
                        grad_samples: 4,
                        measure_every: 10,
                        test_samples: None,
                        paper_logs: false,
                    };
                    assert_eq!(
                        kind.dim(width, c_in),
                        architecture(&w).dim(c_in),
                        "{kind:?} width {width}, {c_in} channels"
                    );
                }
            }
        }
    }

    #[test]
    fn a_shared_cache_reads_each_data_set_once() {
        let w = NetworkWorkload {
            kind: NetworkKind::ConvNet,
            width: 1,
            dataset: DatasetKind::Synthetic,
            data_dir: None,
            batch_size: 8,
            head_norm: 10.0,
            init_seed: 1,
            samples_per_label: Some(3),
            grad_samples: 4,
            measure_every: 10,
            test_samples: None,
            paper_logs: false,
        };
        let cache = DataCache::default();
        let first = cache.get(&w).expect("synthetic data");
        // A clone (what sweepctl run hands its local agents) sees what the original read.
        let shared = cache.clone();
        assert!(Arc::ptr_eq(&first, &shared.get(&w).expect("cached")));
        let other = NetworkWorkload {
            samples_per_label: Some(4),
            ..w.clone()
        };
        let second = shared.get(&other).expect("synthetic data");
        assert!(!Arc::ptr_eq(&first, &second), "other content, another read");
        assert_eq!(second.train.len(), 4 * first.train.len() / 3);
        assert!(Arc::ptr_eq(&second, &cache.get(&other).expect("cached")));
    }
}
