//! A labelled image set in memory as raw bytes (NCHW), with its normalisation, and the loaders for
//! each supported data set. MNIST-family images (28×28) are zero-padded to 32×32, the input size
//! of both models (classic LeNet-5 practice; the models' 3 halvings and final 4× pool need 32).

use std::path::{Path, PathBuf};

use super::cifar::{self, Cifar};
use super::error::DataError;
use super::idx::{self, IMAGES_MAGIC, LABELS_MAGIC};
use super::normalise;
use crate::real::Real;
use crate::tensor::Act;

/// Training or test split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// The training set.
    Train,
    /// The test set.
    Test,
}

/// Images (`n × c × h × w` bytes), labels and per-channel normalisation.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Raw pixels, NCHW.
    pub pixels: Vec<u8>,
    /// Labels, each `< classes`.
    pub labels: Vec<u8>,
    /// Channels.
    pub c: usize,
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
    /// Classes.
    pub classes: usize,
    /// Per-channel mean of pixels/255.
    pub mean: Vec<f64>,
    /// Per-channel std of pixels/255.
    pub std: Vec<f64>,
}

impl Dataset {
    /// Number of items.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The per-channel map from a pixel to the network's input, `x = pixel·scale − shift`
    /// (`(pixel/255 − mean)/std`, evaluated in f64 as written), as `(scales, shifts)`: the one
    /// definition of the normalisation, for the host batches and the device's.
    pub fn affine(&self) -> (Vec<f64>, Vec<f64>) {
        self.std
            .iter()
            .zip(&self.mean)
            .map(|(s, m)| (1.0 / (255.0 * s), m / s))
            .unzip()
    }

    /// Normalised images `idx` as a CNHW batch, with their labels. Indices must be `< len()`
    /// (the sampler guarantees it).
    pub fn batch<T: Real>(&self, idx: &[usize]) -> (Act<T>, Vec<u8>) {
        let plane = self.h * self.w;
        let mut x = Act::zeros(self.c, idx.len(), self.h, self.w);
        let (scales, shifts) = self.affine();
        for c in 0..self.c {
            let (scale, shift) = (scales[c], shifts[c]);
            for (j, &i) in idx.iter().enumerate() {
                let src = &self.pixels[(i * self.c + c) * plane..][..plane];
                let dst = &mut x.data[(c * idx.len() + j) * plane..][..plane];
                for (d, &p) in dst.iter_mut().zip(src) {
                    *d = T::from_f64(f64::from(p) * scale - shift);
                }
            }
        }
        (x, idx.iter().map(|&i| self.labels[i]).collect())
    }

    /// The images `keep` (indices below `len()`), in that order, keeping the normalisation.
    fn select(&self, keep: impl Iterator<Item = usize>) -> Self {
        let item = self.c * self.h * self.w;
        let mut pixels = Vec::new();
        let mut labels = Vec::new();
        for i in keep {
            pixels.extend_from_slice(&self.pixels[i * item..(i + 1) * item]);
            labels.push(self.labels[i]);
        }
        Self {
            pixels,
            labels,
            c: self.c,
            h: self.h,
            w: self.w,
            classes: self.classes,
            mean: self.mean.clone(),
            std: self.std.clone(),
        }
    }

    /// The first `n` images (all when there are fewer), keeping the normalisation.
    pub fn first(&self, n: usize) -> Self {
        self.select(0..n.min(self.len()))
    }

    /// The first `per_label` images of each class, in their original order (the paper's
    /// `samples_per_label`), keeping the normalisation; `dir` names the data in the error when a
    /// class has fewer.
    pub fn first_per_label(&self, per_label: usize, dir: &Path) -> Result<Self, DataError> {
        let mut taken = vec![0usize; self.classes];
        let mut keep = Vec::with_capacity(per_label * self.classes);
        for (i, &l) in self.labels.iter().enumerate() {
            let t = &mut taken[usize::from(l)];
            if *t < per_label {
                *t += 1;
                keep.push(i);
            }
        }
        if let Some((class, &available)) = taken.iter().enumerate().find(|(_, t)| **t < per_label) {
            return Err(DataError::TooFewPerLabel {
                path: dir.to_path_buf(),
                class,
                available,
                requested: per_label,
            });
        }
        Ok(self.select(keep.into_iter()))
    }

    /// MNIST or Fashion-MNIST from `dir` (`{train,t10k}-{images-idx3,labels-idx1}-ubyte`, each
    /// raw or with `.gz`), padded to 32×32, normalised by the given statistics or, if `None`, by
    /// this split's own.
    pub fn mnist_family(
        dir: &Path,
        split: Split,
        stats: Option<(Vec<f64>, Vec<f64>)>,
    ) -> Result<Self, DataError> {
        let prefix = match split {
            Split::Train => "train",
            Split::Test => "t10k",
        };
        let images_path = find(dir, &format!("{prefix}-images-idx3-ubyte"));
        let labels_path = find(dir, &format!("{prefix}-labels-idx1-ubyte"));
        let (dims, raw) = idx::parse(
            &images_path,
            &idx::read_maybe_gz(&images_path)?,
            IMAGES_MAGIC,
            "images",
        )?;
        let (ldims, labels) = idx::parse(
            &labels_path,
            &idx::read_maybe_gz(&labels_path)?,
            LABELS_MAGIC,
            "labels",
        )?;
        let (n, h, w) = (dims[0], dims[1], dims[2]);
        if (h, w) != (28, 28) {
            return Err(DataError::Shape {
                path: images_path,
                h,
                w,
                expected: "28×28",
            });
        }
        if n != ldims[0] {
            return Err(DataError::CountMismatch {
                images: images_path,
                labels: labels_path,
                n_images: n,
                n_labels: ldims[0],
            });
        }
        if n == 0 {
            return Err(DataError::Empty { path: images_path });
        }
        check_labels(&labels_path, &labels, 10)?;
        let mut pixels = vec![0u8; n * 32 * 32];
        for (dst, src) in pixels
            .chunks_exact_mut(32 * 32)
            .zip(raw.chunks_exact(28 * 28))
        {
            for r in 0..28 {
                dst[(r + 2) * 32 + 2..][..28].copy_from_slice(&src[r * 28..][..28]);
            }
        }
        let (mean, std) = stats.unwrap_or_else(|| normalise::channel_stats(&pixels, 1, 32 * 32));
        Ok(Self {
            pixels,
            labels,
            c: 1,
            h: 32,
            w: 32,
            classes: 10,
            mean,
            std,
        })
    }

    /// CIFAR-10 (`data_batch_1..5.bin` or `test_batch.bin`) or CIFAR-100 (`train.bin` or
    /// `test.bin`) from `dir`, normalised by the paper's constants.
    pub fn cifar(dir: &Path, kind: Cifar, split: Split) -> Result<Self, DataError> {
        let files: Vec<PathBuf> = match (kind, split) {
            (Cifar::Ten, Split::Train) => (1..=5)
                .map(|i| dir.join(format!("data_batch_{i}.bin")))
                .collect(),
            (Cifar::Ten, Split::Test) => vec![dir.join("test_batch.bin")],
            (Cifar::Hundred, Split::Train) => vec![dir.join("train.bin")],
            (Cifar::Hundred, Split::Test) => vec![dir.join("test.bin")],
        };
        let mut pixels = Vec::new();
        let mut labels = Vec::new();
        for f in &files {
            cifar::read_batch(f, kind, &mut pixels, &mut labels)?;
        }
        let (mean, std) = match kind {
            Cifar::Ten => normalise::CIFAR10,
            Cifar::Hundred => normalise::CIFAR100,
        };
        Ok(Self {
            pixels,
            labels,
            c: 3,
            h: 32,
            w: 32,
            classes: kind.classes(),
            mean: mean.to_vec(),
            std: std.to_vec(),
        })
    }
}

/// `dir/name` if it exists, else `dir/name.gz` if that exists, else `dir/name` (reported missing).
fn find(dir: &Path, name: &str) -> PathBuf {
    let plain = dir.join(name);
    let gz = dir.join(format!("{name}.gz"));
    if !plain.exists() && gz.exists() {
        gz
    } else {
        plain
    }
}

fn check_labels(path: &Path, labels: &[u8], classes: usize) -> Result<(), DataError> {
    match labels.iter().position(|&l| usize::from(l) >= classes) {
        Some(index) => Err(DataError::LabelOutOfRange {
            path: path.to_path_buf(),
            index,
            label: labels[index],
            classes,
        }),
        None => Ok(()),
    }
}
