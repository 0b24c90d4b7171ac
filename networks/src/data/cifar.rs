//! CIFAR-10/100 binary batches: fixed-size records of label byte(s) then 3072 pixel bytes (1024 red,
//! 1024 green, 1024 blue, each row-major 32×32). CIFAR-10 records carry one label; CIFAR-100
//! records carry the coarse then the fine label, and we train on the fine one (100 classes).

use std::path::Path;

use super::error::DataError;
use super::idx::read_maybe_gz;

/// Pixel bytes per record.
pub const PIXELS: usize = 3 * 32 * 32;

/// Which CIFAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cifar {
    /// CIFAR-10: 1 label byte, 10 classes.
    Ten,
    /// CIFAR-100: coarse and fine label bytes, 100 (fine) classes.
    Hundred,
}

impl Cifar {
    /// Label bytes per record.
    pub fn label_bytes(self) -> usize {
        match self {
            Cifar::Ten => 1,
            Cifar::Hundred => 2,
        }
    }

    /// Classes.
    pub fn classes(self) -> usize {
        match self {
            Cifar::Ten => 10,
            Cifar::Hundred => 100,
        }
    }
}

/// Reads one batch file, appending pixels (NCHW, 3×32×32) and labels.
pub fn read_batch(
    path: &Path,
    kind: Cifar,
    pixels: &mut Vec<u8>,
    labels: &mut Vec<u8>,
) -> Result<(), DataError> {
    let bytes = read_maybe_gz(path)?;
    let record = kind.label_bytes() + PIXELS;
    if bytes.is_empty() || bytes.len() % record != 0 {
        return Err(DataError::RecordSize {
            path: path.to_path_buf(),
            len: bytes.len() as u64,
            record,
        });
    }
    for (i, rec) in bytes.chunks_exact(record).enumerate() {
        let label = rec[kind.label_bytes() - 1];
        if usize::from(label) >= kind.classes() {
            return Err(DataError::LabelOutOfRange {
                path: path.to_path_buf(),
                index: i,
                label,
                classes: kind.classes(),
            });
        }
        labels.push(label);
        pixels.extend_from_slice(&rec[kind.label_bytes()..]);
    }
    Ok(())
}

/// Encodes one batch file (for tests and tools): `labels` per record (for CIFAR-100 the coarse
/// label is written as `fine / 5`), `pixels` `PIXELS` bytes per record.
pub fn encode(kind: Cifar, labels: &[u8], pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(labels.len() * (PIXELS + 2));
    for (l, px) in labels.iter().zip(pixels.chunks_exact(PIXELS)) {
        if kind == Cifar::Hundred {
            out.push(l / 5);
        }
        out.push(*l);
        out.extend_from_slice(px);
    }
    out
}
