//! The IDX format of MNIST and Fashion-MNIST (big-endian magic `0x0000_08_DD`: unsigned bytes, DD
//! dimensions, then DD big-endian u32 sizes, then the data), raw or gzipped (detected by the gzip
//! magic, not the file name).

use std::io::Read;
use std::path::{Path, PathBuf};

use super::error::DataError;

/// Magic of a 3-dimensional ubyte IDX file (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic of a 1-dimensional ubyte IDX file (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// The bytes of `path`, gunzipped if they start with the gzip magic.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>, DataError> {
    let raw = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => DataError::Missing {
            path: path.to_path_buf(),
        },
        _ => DataError::Io {
            path: path.to_path_buf(),
            source: e,
        },
    })?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| DataError::Gzip {
                path: path.to_path_buf(),
                source: e,
            })?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Parses an IDX file with `magic` (which fixes the number of dimensions); returns the sizes and
/// the payload. `what` names the content in errors.
pub fn parse(
    path: &Path,
    bytes: &[u8],
    magic: u32,
    what: &'static str,
) -> Result<(Vec<usize>, Vec<u8>), DataError> {
    let p = || -> PathBuf { path.to_path_buf() };
    let found = be_u32(bytes, 0).ok_or_else(|| DataError::Length {
        path: p(),
        expected: 4,
        found: bytes.len() as u64,
    })?;
    if found != magic {
        return Err(DataError::BadMagic {
            path: p(),
            expected: magic,
            found,
            what,
        });
    }
    let ndim = (magic & 0xff) as usize;
    let header = 4 + 4 * ndim;
    let dims: Vec<usize> = (0..ndim)
        .map(|i| be_u32(bytes, 4 + 4 * i).map(|d| d as usize))
        .collect::<Option<_>>()
        .ok_or_else(|| DataError::Length {
            path: p(),
            expected: header as u64,
            found: bytes.len() as u64,
        })?;
    let payload = dims
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d as u64))
        .unwrap_or(u64::MAX);
    let expected = payload.saturating_add(header as u64);
    if bytes.len() as u64 != expected {
        return Err(DataError::Length {
            path: p(),
            expected,
            found: bytes.len() as u64,
        });
    }
    Ok((dims, bytes[header..].to_vec()))
}

/// Encodes an IDX file (for tests and tools): `magic` from the dimension count.
pub fn encode(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = (0x0800u32 | dims.len() as u32).to_be_bytes().to_vec();
    for d in dims {
        out.extend(d.to_be_bytes());
    }
    out.extend(data);
    out
}
