//! Data errors. Each names the file and what is wrong with it, since the fix is always "fetch or
//! re-fetch that file" (`scripts/fetch-data.sh`).

use std::path::PathBuf;
use thiserror::Error;

/// Why a data set could not be read.
#[derive(Debug, Error)]
pub enum DataError {
    /// `samples_per_label` asks for more images of a class than the data hold.
    #[error(
        "{path}: class {class} has {available} training images, fewer than samples_per_label = {requested}"
    )]
    TooFewPerLabel {
        /// The data directory.
        path: PathBuf,
        /// The class.
        class: usize,
        /// Images of it.
        available: usize,
        /// Images asked for.
        requested: usize,
    },
    /// The file is not there.
    #[error("{path}: missing (for MNIST-family data run scripts/fetch-data.sh)")]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// Reading failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The gzip stream is corrupt or truncated.
    #[error("{path}: bad gzip stream: {source}")]
    Gzip {
        /// The file.
        path: PathBuf,
        /// The decoder's error.
        source: std::io::Error,
    },
    /// The IDX magic number is not the expected one (e.g. a labels file given as images).
    #[error("{path}: IDX magic {found:#010x}, expected {expected:#010x} ({what})")]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// Magic expected.
        expected: u32,
        /// Magic found.
        found: u32,
        /// What the file should hold.
        what: &'static str,
    },
    /// The file is shorter or longer than its header says.
    #[error("{path}: {found} bytes, the header implies {expected} (truncated or corrupt)")]
    Length {
        /// The file.
        path: PathBuf,
        /// Bytes the header implies.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// The file's size is not a whole number of CIFAR records.
    #[error("{path}: {len} bytes is not a whole number of {record}-byte CIFAR records")]
    RecordSize {
        /// The file.
        path: PathBuf,
        /// Bytes present.
        len: u64,
        /// Record size.
        record: usize,
    },
    /// Images and labels disagree in count.
    #[error("{images} holds {n_images} images but {labels} holds {n_labels} labels")]
    CountMismatch {
        /// Images file.
        images: PathBuf,
        /// Labels file.
        labels: PathBuf,
        /// Images.
        n_images: usize,
        /// Labels.
        n_labels: usize,
    },
    /// A label is out of range: the file is mislabelled or not the data set it claims to be.
    #[error("{path}: label {label} of item {index} is not below {classes} classes")]
    LabelOutOfRange {
        /// The file.
        path: PathBuf,
        /// Item index.
        index: usize,
        /// The label.
        label: u8,
        /// Classes.
        classes: usize,
    },
    /// The images have a shape this crate does not train on.
    #[error("{path}: images are {h}×{w}, expected {expected}")]
    Shape {
        /// The file.
        path: PathBuf,
        /// Height.
        h: usize,
        /// Width.
        w: usize,
        /// What was expected.
        expected: &'static str,
    },
    /// A data set without items.
    #[error("{path}: no items")]
    Empty {
        /// The file.
        path: PathBuf,
    },
}
