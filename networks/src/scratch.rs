//! A reusable per-thread buffer for the im2col matrices, the largest temporaries of a step
//! (`c_in·k² × N·H·W` values: 38 MB for ConvNet c=8's second convolution at batch 128). Freshly
//! allocated, each one costs a zeroing pass and, above glibc's mmap threshold, a page fault per
//! 4 KiB on first touch, serial work that took a fifth of a two-thread step. Reused, it costs
//! neither: every user overwrites the whole buffer, so its old contents never matter.
//!
//! During a network pass ([`in_pass`], which every pass of [`crate::Network`] runs in) a thread
//! keeps its buffer up to [`MAX_KEPT_BYTES`], so all the convolutions of the pass share one; when
//! the pass ends, a buffer above [`KEEP_BYTES`] is freed, so that idle threads hold at most that.
//! The buffer lives on the thread that runs the pass: the convolutions run there (only their
//! rows and columns split over the pool).

use std::cell::Cell;
use std::ops::{Deref, DerefMut};

use crate::real::Real;

/// The largest buffer a thread keeps between passes: 64 MiB, enough for a training batch of 128
/// of ConvNet c=8 or ResNet-18 k=4; wider models allocate theirs once per pass.
pub const KEEP_BYTES: usize = 64 << 20;

/// The largest buffer kept within a pass: 1 GiB.
pub const MAX_KEPT_BYTES: usize = 1 << 30;

thread_local! {
    /// Passes running on this thread (a thread waiting inside one may start another).
    static PASSES: Cell<u32> = const { Cell::new(0) };
}

/// Runs `f` (a network pass) with this thread's buffers kept up to [`MAX_KEPT_BYTES`]; when the
/// outermost pass ends, buffers above [`KEEP_BYTES`] are freed (also on panic).
pub fn in_pass<R>(f: impl FnOnce() -> R) -> R {
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            let depth = PASSES.get().saturating_sub(1);
            PASSES.set(depth);
            if depth == 0 {
                trim::<f32>();
                trim::<f64>();
            }
        }
    }
    PASSES.set(PASSES.get() + 1);
    let _leave = Leave;
    f()
}

/// Frees this thread's buffer of type `T` if it is larger than [`KEEP_BYTES`].
fn trim<T: Real>() {
    let key = T::scratch();
    let v = key.take();
    if bytes(&v) <= KEEP_BYTES {
        key.set(v);
    }
}

fn bytes<T>(v: &Vec<T>) -> usize {
    v.capacity() * std::mem::size_of::<T>()
}

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
        let limit = if PASSES.get() > 0 {
            MAX_KEPT_BYTES
        } else {
            KEEP_BYTES
        };
        if bytes(&v) > limit {
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
