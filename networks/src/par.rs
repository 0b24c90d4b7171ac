//! Parallelism inside one training step. A sweep keeps every core busy with one point per
//! thread, but a single step (the speed benchmark, a sweep with fewer points than cores, the tail
//! of a sweep) would otherwise leave all cores but one idle. So the heavy operations split their
//! work over the current rayon pool: GEMMs by output columns, im2col by rows, col2im, BatchNorm,
//! ReLU and pooling by channels or planes.
//!
//! Every split is chosen so that each output element is computed by the same arithmetic, in the
//! same order, as on one thread: a GEMM's column block sums over `k` exactly as the whole GEMM
//! does (matrixmultiply's accumulation order per element depends only on `k`), and the other
//! operations work per channel or per plane. Results are therefore bitwise independent of the
//! thread count and of the split (tested in `tests/par.rs`).
//!
//! [`serial`] turns the splitting off for the closure it runs, on the calling thread: the sweep
//! runner uses it when its points already fill the pool, where splitting would only add join
//! overhead. (It does not stop rayon's work stealing: a thread blocked in other parallel code,
//! such as the entropy estimator's, may still start another point of the same sweep.)

use std::cell::Cell;
use std::mem::MaybeUninit;
use std::ops::Range;

use rayon::prelude::*;

thread_local! {
    static SERIAL: Cell<bool> = const { Cell::new(false) };
}

/// Elementary operations (multiply-adds, element copies) below which a part is not worth a
/// thread: ~20–50 µs of work against a few µs of rayon handoff.
pub const MIN_WORK_PER_PART: usize = 1 << 16;

/// Runs `f` with intra-step splitting off on this thread (restored afterwards, also on panic).
pub fn serial<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            SERIAL.set(self.0);
        }
    }
    let _restore = Restore(SERIAL.replace(true));
    f()
}

/// Whether splitting is off on this thread.
pub fn is_serial() -> bool {
    SERIAL.get()
}

/// How many parts `units` independent units of `work` operations in all should be split into:
/// 1 when serial, on a one-thread pool or for little work, else at most one per thread and never
/// less than [`MIN_WORK_PER_PART`] operations each.
pub(crate) fn parts(units: usize, work: usize) -> usize {
    if is_serial() {
        return 1;
    }
    let threads = rayon::current_num_threads();
    threads.min(units).min(work / MIN_WORK_PER_PART).max(1)
}

/// Calls `f` on `parts` contiguous sub-ranges of `0..len` (each a multiple of `align` long, bar
/// the last), in parallel when `parts > 1`.
pub(crate) fn ranges(len: usize, parts: usize, align: usize, f: impl Fn(Range<usize>) + Sync) {
    if parts <= 1 || len == 0 {
        f(0..len);
        return;
    }
    let align = align.max(1);
    let step = len.div_ceil(parts).div_ceil(align) * align;
    (0..len.div_ceil(step)).into_par_iter().for_each(|i| {
        let start = i * step;
        f(start..(start + step).min(len));
    });
}

/// Splits `data` into units of `unit` elements and calls `f(first_unit, chunk)` on contiguous
/// groups of whole units (a trailing partial unit makes, or ends, the last group), in parallel
/// when there is enough `work_per_unit` for several parts.
pub(crate) fn units_mut<T: Send>(
    data: &mut [T],
    unit: usize,
    work_per_unit: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    let unit = unit.max(1);
    let units = data.len() / unit;
    let parts = parts(units, units.saturating_mul(work_per_unit));
    if parts <= 1 {
        f(0, data);
        return;
    }
    let per_part = units.div_ceil(parts);
    data.par_chunks_mut(per_part * unit)
        .enumerate()
        .for_each(|(i, chunk)| f(i * per_part, chunk));
}

/// `f(i)` for each unit `i` in `0..units`, results in order, in parallel when there is enough
/// `work_per_unit` for several parts.
pub(crate) fn map<R: Send>(
    units: usize,
    work_per_unit: usize,
    f: impl Fn(usize) -> R + Sync,
) -> Vec<R> {
    if parts(units, units.saturating_mul(work_per_unit)) <= 1 {
        return (0..units).map(f).collect();
    }
    (0..units).into_par_iter().with_max_len(1).map(&f).collect()
}

/// `f(i)` for each of `units` whole network passes, each result handed to `fold` in order of
/// `i`: in parallel unless serial, a window of at most `max_window` passes (and one per thread)
/// at a time, so that no more passes are in memory at once. When a window has a pass for every
/// thread, each pass runs serially on its thread (no splitting overhead); a smaller window lets
/// its passes split too. The first error `fold` returns ends the loop.
pub(crate) fn passes_in_order<R: Send, E>(
    units: usize,
    max_window: usize,
    f: impl Fn(usize) -> R + Sync,
    mut fold: impl FnMut(R) -> Result<(), E>,
) -> Result<(), E> {
    let threads = rayon::current_num_threads();
    let window = threads.min(max_window);
    if is_serial() || window < 2 || units < 2 {
        for i in 0..units {
            fold(f(i))?;
        }
        return Ok(());
    }
    let mut start = 0;
    while start < units {
        let end = (start + window).min(units);
        let len = end - start;
        let run = || {
            (start..end)
                .into_par_iter()
                .with_max_len(1)
                .map(|i| {
                    if len >= threads {
                        serial(|| f(i))
                    } else {
                        f(i)
                    }
                })
                .collect::<Vec<R>>()
        };
        // From outside the pool, move the window onto it once (see `Network`'s pass).
        let results = if rayon::current_thread_index().is_some() {
            run()
        } else {
            rayon::scope(|_| run())
        };
        for r in results {
            fold(r)?;
        }
        start = end;
    }
    Ok(())
}

/// `a[i] += b[i]`.
pub(crate) fn add_assign<T: Copy + Send + Sync + std::ops::AddAssign>(a: &mut [T], b: &[T]) {
    units_mut(a, ELEMENTS, ELEMENTS, |first, chunk| {
        let src = &b[first * ELEMENTS..][..chunk.len()];
        chunk.iter_mut().zip(src).for_each(|(x, y)| *x += *y);
    });
}

/// A new vector of `len` values whose parts `fill(first_unit, chunk)` writes in parallel (units
/// of `unit` elements, as [`units_mut`] cuts them), without zeroing it first: outputs that are
/// overwritten anyway then cost one pass over memory, not two.
///
/// # Safety
/// `fill` must initialise every element of every chunk it is given (a panic inside it is fine:
/// the vector is then never exposed).
pub(crate) unsafe fn new_filled<T: Copy + Send>(
    len: usize,
    unit: usize,
    work_per_unit: usize,
    fill: impl Fn(usize, &mut [MaybeUninit<T>]) + Sync,
) -> Vec<T> {
    let mut v = Vec::with_capacity(len);
    units_mut(
        &mut v.spare_capacity_mut()[..len],
        unit,
        work_per_unit,
        fill,
    );
    // SAFETY: the chunks tile `0..len`, and the caller's `fill` initialised all of each.
    unsafe { v.set_len(len) };
    v
}

/// Elements per unit of the elementwise maps.
const ELEMENTS: usize = 4096;

/// `out[i] = f(a[i])` into a new vector.
pub(crate) fn map_elements<T: Copy + Send + Sync>(a: &[T], f: impl Fn(T) -> T + Sync) -> Vec<T> {
    // SAFETY: `a[first·ELEMENTS..]` is at least as long as the chunk (both tile `0..a.len()`
    // alike), so the zip writes every element of the chunk.
    unsafe {
        new_filled(a.len(), ELEMENTS, ELEMENTS, |first, chunk| {
            for (o, x) in chunk.iter_mut().zip(&a[first * ELEMENTS..]) {
                o.write(f(*x));
            }
        })
    }
}

/// `out[i] = f(a[i], b[i])` into a new vector (`b` at least as long as `a`).
pub(crate) fn zip_elements<T: Copy + Send + Sync>(
    a: &[T],
    b: &[T],
    f: impl Fn(T, T) -> T + Sync,
) -> Vec<T> {
    assert!(b.len() >= a.len(), "zip_elements: b shorter than a");
    // SAFETY: as in `map_elements`; `b` is at least as long as `a`.
    unsafe {
        new_filled(a.len(), ELEMENTS, ELEMENTS, |first, chunk| {
            let (sa, sb) = (&a[first * ELEMENTS..], &b[first * ELEMENTS..]);
            for (o, (x, y)) in chunk.iter_mut().zip(sa.iter().zip(sb)) {
                o.write(f(*x, *y));
            }
        })
    }
}
