//! A reusable per-thread buffer for the im2col matrices, the largest temporaries of a step
//! (`c_in·k² × N·H·W` values: 38 MB for ConvNet c=8's second convolution at batch 128). Freshly
//! allocated, each one costs a zeroing pass and, above glibc's mmap threshold, a page fault per
//! 4 KiB on first touch, serial work that took a fifth of a two-thread step. Reused, it costs
//! neither: every user overwrites the whole buffer, so its old contents never matter.
//!
//! A thread keeps one buffer, the largest it has used (up to [`MAX_KEPT_BYTES`]), so every
//! convolution of a pass, and of the next pass, reuses it. [`trim`] frees it if it is larger than
//! [`KEEP_BYTES`]: a gradient measurement's full-batch chunks (8× a training batch) call it after
//! each chunk, so idle pool threads do not hold hundreds of MB.

use std::ops::{Deref, DerefMut};

use crate::real::Real;

/// The largest buffer a thread keeps after [`trim`]: 64 MiB, enough for every training batch of
/// 128 of the paper's models.
pub const KEEP_BYTES: usize = 64 << 20;

/// The largest buffer kept at all: 1 GiB.
pub const MAX_KEPT_BYTES: usize = 1 << 30;

/// A buffer of `len` values of unspecified content, returned to this thread when dropped.
pub(crate) struct Scratch<T: Real>(Vec<T>);

impl<T: Real> Scratch<T> {
    /// This thread's buffer resized to `len` (the caller overwrites every value).
    pub(crate) fn take(len: usize) -> Self {
        let mut v = T::scratch().take();
        if v.capacity() < len {
            // Growing would copy the old contents first, which no one needs.
            v = Vec::new();
        }
        v.resize(len, T::ZERO);
        Self(v)
    }
}

impl<T: Real> Deref for Scratch<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T: Real> DerefMut for Scratch<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.0
    }
}

impl<T: Real> Drop for Scratch<T> {
    fn drop(&mut self) {
        let v = std::mem::take(&mut self.0);
        if v.capacity() * std::mem::size_of::<T>() > MAX_KEPT_BYTES {
            return;
        }
        let key = T::scratch();
        let kept = key.take();
        // Keep the larger of the two (a nested use on this thread may return one too).
        key.set(if kept.capacity() >= v.capacity() {
            kept
        } else {
            v
        });
    }
}

/// Frees this thread's buffer of type `T` if it is larger than [`KEEP_BYTES`].
pub fn trim<T: Real>() {
    let key = T::scratch();
    let v = key.take();
    if v.capacity() * std::mem::size_of::<T>() <= KEEP_BYTES {
        key.set(v);
    }
}
