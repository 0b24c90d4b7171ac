//! Network tasks (SPEC §7): the spec's `[workload]` becomes a data set read from disk (or
//! generated) and a [`NetworkBatch`]. Reading 60 000 images takes longer than many steps, so the
//! last data set read is kept for the next task of the same sweep.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sweep_kernels::isotropic::{ChainPoint, EntropySchedule, Schedule};
use sweep_kernels::rng::point_seed;
use sweep_nn::Architecture;
use sweep_nn::data::cifar::Cifar;
use sweep_nn::data::{DataError, Dataset, Split};
use sweep_nn::sweep::NetworkBatch;
use sweep_proto::v1;
use sweep_spec::{DatasetKind, NetworkKind, NetworkWorkload, SweepSpec};

use crate::workload::estimator_mode;

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

/// Reads (or generates) the training set of `w`, cut to `samples_per_label` if given. The
/// synthetic set is generated from the init seed.
pub fn load_dataset(w: &NetworkWorkload) -> Result<Dataset, DataError> {
    let dir = data_dir(w).unwrap_or_default();
    let full = match w.dataset {
        DatasetKind::Synthetic => {
            return Ok(Dataset::synthetic(
                w.init_seed,
                w.samples_per_label.unwrap_or(SYNTHETIC_PER_LABEL),
            ));
        }
        DatasetKind::Mnist | DatasetKind::FashionMnist => {
            Dataset::mnist_family(&dir, Split::Train, None)?
        }
        DatasetKind::Cifar10 => Dataset::cifar(&dir, Cifar::Ten, Split::Train)?,
        DatasetKind::Cifar100 => Dataset::cifar(&dir, Cifar::Hundred, Split::Train)?,
    };
    match w.samples_per_label {
        Some(n) => full.first_per_label(n, &dir),
        None => Ok(full),
    }
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
        protocol: spec.protocol,
        init_radius: spec.init_radius,
        schedule: Schedule {
            iterations: spec.schedule.iterations,
            log_every: spec.schedule.log_every,
            average_last: spec.schedule.average_last,
        },
        entropy: EntropySchedule {
            queue: spec.entropy.queue,
            every: spec.entropy.every,
            log_every: spec.entropy.log_every,
            average_last: spec.entropy.average_last,
            mode: estimator_mode(spec.entropy.estimator),
        },
        points: points
            .iter()
            .map(|p| ChainPoint {
                point: p.point,
                replica: p.replica,
                seed: point_seed(spec.seed, p.point, p.replica),
                first: p.first,
                second: p.second,
            })
            .collect(),
    }
}

/// The last data set read, by the workload fields that decide its content.
#[derive(Debug, Default, Clone)]
pub struct DataCache {
    last: Arc<Mutex<Option<Cached>>>,
}

/// A data set with the key it was read under.
type Cached = (DataKey, Arc<Dataset>);

#[derive(Debug, Clone, PartialEq)]
struct DataKey {
    dataset: DatasetKind,
    dir: Option<PathBuf>,
    samples_per_label: Option<usize>,
    seed: u64,
}

impl DataCache {
    /// The training set of `w`, read unless the last one read is the same.
    pub fn get(&self, w: &NetworkWorkload) -> Result<Arc<Dataset>, DataError> {
        let key = DataKey {
            dataset: w.dataset,
            dir: data_dir(w).map(|d| absolute(&d)),
            samples_per_label: w.samples_per_label,
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
        let data = Arc::new(load_dataset(w)?);
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
}
