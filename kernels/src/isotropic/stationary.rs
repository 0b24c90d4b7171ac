//! The reduction of a lane's stationary-window sums into a [`PointSummary`].

use std::collections::VecDeque;

use super::config::{ChainPoint, IsotropicBatch};
use super::group::LaneSums;
use crate::stationary::{Sigma2, StationaryMeans, estimates_mean_sem, mean_sem};
use crate::summary::{PointStatus, PointSummary};

/// Reduces lane `lane` of the per-batch `sums` into its summary.
#[allow(clippy::too_many_arguments)]
pub fn summarise(
    batch: &IsotropicBatch,
    lane: usize,
    sums: &[LaneSums],
    point: ChainPoint,
    estimates: &VecDeque<f64>,
    status: PointStatus,
    iterations: u64,
    wall_seconds: f64,
) -> PointSummary {
    let of =
        |f: fn(&LaneSums) -> &[f64; 8]| mean_sem(sums.iter().map(move |s| (f(s)[lane], s.count)));
    let (window, spacing) = batch
        .entropy
        .as_ref()
        .map_or((1, 1), |e| (e.queue as u64 * e.every, e.log_every));
    StationaryMeans {
        loss: of(|s| &s.loss),
        radius: of(|s| &s.radius),
        radius_sq: of(|s| &s.radius_sq).0,
        entropy_unit: estimates_mean_sem(estimates, window, spacing),
        entropy_estimates: estimates.len() as u32,
        sigma2: Sigma2::Configured(batch.model.sigma2),
        // Measured along the run; no batch-means error (σ² is configured).
        trace_sigma: (of(|s| &s.noise_trace).0, f64::NAN),
        full_grad_sq: (of(|s| &s.grad_sq).0, f64::NAN),
        test_loss: f64::NAN,
        test_accuracy: f64::NAN,
        pre_norm: of(|s| &s.pre_norm).0,
        pre_norm_sq: of(|s| &s.pre_norm_sq),
    }
    .into_summary(
        batch.protocol,
        batch.model.dim,
        &point,
        status,
        iterations,
        wall_seconds,
    )
}

#[cfg(test)]
mod tests {
    use crate::stationary::Window;

    #[test]
    fn window_batches_tile_the_window() {
        for (iters, avg) in [
            (100, 100),
            (1000, 37),
            (50, 3),
            (7, 1),
            (2_000_000, 250_000),
        ] {
            let w = Window::new(iters, avg);
            let mut counts = vec![0u64; w.batches()];
            let mut t = 0;
            while t < iters {
                let next = w.next_boundary(t).unwrap_or(iters).min(iters);
                let b = w.batch_of(t + 1);
                for s in t + 1..=next {
                    assert_eq!(w.batch_of(s), b, "iters {iters} avg {avg} step {s}");
                    if let Some(b) = b {
                        counts[b] += 1;
                    }
                }
                t = next;
            }
            assert_eq!(counts.iter().sum::<u64>(), avg);
            let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
            assert!(hi - lo <= 1, "{counts:?}");
        }
    }
}
