//! The reduction of a lane's stationary-window sums into a [`PointSummary`].

use std::collections::VecDeque;

use sweep_theory::Protocol;

use super::config::{ChainPoint, IsotropicBatch};
use super::group::LaneSums;
use crate::stationary::{
    StateVariables, WindowMeans, estimates_mean_sem, mean_sem, state_variables,
};
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
    let d = batch.model.dim as f64;
    let sigma2 = batch.model.sigma2;
    let of =
        |f: fn(&LaneSums) -> &[f64; 8]| mean_sem(sums.iter().map(move |s| (f(s)[lane], s.count)));
    let (loss_mean, loss_sem) = of(|s| &s.loss);
    let (radius_mean, radius_sem) = of(|s| &s.radius);
    let (radius_sq_mean, _) = of(|s| &s.radius_sq);
    let (full_grad_sq, _) = of(|s| &s.grad_sq);
    let (trace_sigma, _) = of(|s| &s.noise_trace);
    let (pre_norm, _) = of(|s| &s.pre_norm);
    let (pre_norm_sq, pre_norm_sq_sem) = of(|s| &s.pre_norm_sq);
    let (window, spacing) = batch
        .entropy
        .as_ref()
        .map_or((1, 1), |e| (e.queue as u64 * e.every, e.log_every));
    let (entropy_unit, entropy_unit_sem) = estimates_mean_sem(estimates, window, spacing);
    // T as DESIGN §5 defines the column: the SDE closed form of sweep-theory (validated inputs).
    let StateVariables {
        temperature,
        pressure,
        volume,
        wd_eff,
        wd_eff_sem,
        wd_eff_linear,
    } = state_variables(
        batch.protocol,
        point.first,
        point.second,
        batch.model.dim,
        sigma2,
        WindowMeans {
            radius: radius_mean,
            pre_norm,
            pre_norm_sq,
            pre_norm_sq_sem,
        },
    );
    let ok = status == PointStatus::Done;
    let keep = |x: f64| if ok { x } else { f64::NAN };
    PointSummary {
        point: point.point,
        replica: point.replica,
        seed: point.seed,
        iterations,
        loss_mean: keep(loss_mean),
        loss_sem: keep(loss_sem),
        radius_mean: keep(radius_mean),
        radius_sem: keep(radius_sem),
        radius_sq_mean: keep(radius_sq_mean),
        entropy_unit: keep(entropy_unit),
        entropy_unit_sem: keep(entropy_unit_sem),
        entropy_estimates: estimates.len() as u32,
        entropy: keep(entropy_unit + (d - 1.0) * radius_mean.ln()),
        sigma2,
        trace_sigma: keep(trace_sigma),
        full_grad_sq: keep(full_grad_sq),
        temperature,
        pressure: if batch.protocol == Protocol::FixedSphere {
            keep(pressure)
        } else {
            pressure
        },
        volume: if batch.protocol == Protocol::FixedSphere {
            volume
        } else {
            keep(volume)
        },
        wd_eff: keep(wd_eff),
        wd_eff_sem: keep(wd_eff_sem),
        wd_eff_linear: keep(wd_eff_linear),
        trace_sigma_sem: f64::NAN,
        full_grad_sq_sem: f64::NAN,
        test_loss: f64::NAN,
        test_accuracy: f64::NAN,
        status,
        wall_seconds,
    }
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
