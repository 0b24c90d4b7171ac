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
    units_mut(a, 4096, 4096, |first, chunk| {
        let src = &b[first * 4096..][..chunk.len()];
        chunk.iter_mut().zip(src).for_each(|(x, y)| *x += *y);
    });
}

/// `out[i] = f(a[i])` into a new vector.
pub(crate) fn map_elements<T: Copy + Send + Sync + Default>(
    a: &[T],
    f: impl Fn(T) -> T + Sync,
) -> Vec<T> {
    let mut out = vec![T::default(); a.len()];
    units_mut(&mut out, 4096, 4096, |first, chunk| {
        let src = &a[first * 4096..][..chunk.len()];
        chunk.iter_mut().zip(src).for_each(|(o, x)| *o = f(*x));
    });
    out
}

/// `out[i] = f(a[i], b[i])` into a new vector (`b` at least as long as `a`).
pub(crate) fn zip_elements<T: Copy + Send + Sync + Default>(
    a: &[T],
    b: &[T],
    f: impl Fn(T, T) -> T + Sync,
) -> Vec<T> {
    let mut out = vec![T::default(); a.len()];
    units_mut(&mut out, 4096, 4096, |first, chunk| {
        let (sa, sb) = (
            &a[first * 4096..][..chunk.len()],
            &b[first * 4096..][..chunk.len()],
        );
        chunk
            .iter_mut()
            .zip(sa.iter().zip(sb))
            .for_each(|(o, (x, y))| *o = f(*x, *y));
    });
    out
}
