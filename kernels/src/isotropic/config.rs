//! What a batch of isotropic chains needs to run, and the checks that reject a request the
//! chains cannot honour (before any compute starts, naming the field and the rule).

use sweep_theory::Protocol;

use crate::entropy::EstimatorMode;
use crate::error::KernelError;
use crate::rng::point_seed;

/// The isotropic-noise model of SPEC §5.1.
#[derive(Clone, Debug, PartialEq)]
pub struct IsotropicModel {
    /// Dimension d (≥ 2).
    pub dim: usize,
    /// Gradient-noise variance σ².
    pub sigma2: f64,
    /// Seed of the fixed target direction w*.
    pub target_seed: u64,
}

/// Iteration counts and the stationary window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// Iterations per chain.
    pub iterations: u64,
    /// Series sample interval.
    pub log_every: u64,
    /// Stationary values average the last this-many iterations.
    pub average_last: u64,
}

/// The entropy queue and estimate schedule (DESIGN §3 `[entropy]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntropySchedule {
    /// Samples kept.
    pub queue: usize,
    /// One sample pushed every this-many iterations.
    pub every: u64,
    /// Entropy estimated this often once the queue is full.
    pub log_every: u64,
    /// Stationary entropy = mean of the last this-many estimates.
    pub average_last: usize,
    /// Angle-space estimator variant.
    pub mode: EstimatorMode,
}

/// One chain to run: a grid point (or adiabat point) and replica.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChainPoint {
    /// Point index within the sweep.
    pub point: u32,
    /// Replica index.
    pub replica: u32,
    /// The point seed (see [`crate::rng::point_seed`]).
    pub seed: u64,
    /// η (fixed LR) or η_eff (fixed ELR, fixed sphere).
    pub first: f64,
    /// λ (fixed LR, fixed ELR) or r (fixed sphere).
    pub second: f64,
}

impl ChainPoint {
    /// The chains of a sweep: point `i` has hyperparameters `hyper[i]`, each point runs `replicas`
    /// times (replica index innermost), seeds from [`point_seed`].
    pub fn for_sweep(sweep_seed: u64, hyper: &[(f64, f64)], replicas: u32) -> Vec<ChainPoint> {
        (0u32..)
            .zip(hyper)
            .flat_map(|(point, &(first, second))| {
                (0..replicas).map(move |replica| ChainPoint {
                    point,
                    replica,
                    seed: point_seed(sweep_seed, point, replica),
                    first,
                    second,
                })
            })
            .collect()
    }
}

/// A batch of chains sharing model, protocol and schedules.
#[derive(Clone, Debug, PartialEq)]
pub struct IsotropicBatch {
    /// The model.
    pub model: IsotropicModel,
    /// The training protocol.
    pub protocol: Protocol,
    /// Initial ‖w‖ for fixed ELR and fixed LR (the sphere starts on its radius).
    pub init_radius: f64,
    /// The sweep seed: the initial direction derives from it (identical for all points).
    pub sweep_seed: u64,
    /// Iterations and stationary window.
    pub schedule: Schedule,
    /// Entropy queue and estimates; `None` measures no entropy.
    pub entropy: Option<EntropySchedule>,
    /// The chains.
    pub points: Vec<ChainPoint>,
}

fn positive_finite(name: &str, x: f64) -> Result<(), KernelError> {
    if x.is_finite() && x > 0.0 {
        Ok(())
    } else {
        Err(KernelError::invalid(
            name,
            format!("must be a positive finite number, got {x}"),
        ))
    }
}

impl IsotropicBatch {
    /// Checks every rule the chains rely on.
    pub fn validate(&self) -> Result<(), KernelError> {
        if self.model.dim < 2 {
            return Err(KernelError::invalid(
                "workload.dim",
                format!("must be at least 2, got {}", self.model.dim),
            ));
        }
        if u32::try_from(self.model.dim.div_ceil(4)).is_err() {
            return Err(KernelError::invalid(
                "workload.dim",
                "is too large for the noise counter",
            ));
        }
        positive_finite("workload.sigma2", self.model.sigma2)?;
        positive_finite("protocol.init_radius", self.init_radius)?;
        let s = self.schedule;
        if s.iterations == 0 {
            return Err(KernelError::invalid(
                "schedule.iterations",
                "must be at least 1",
            ));
        }
        if s.log_every == 0 {
            return Err(KernelError::invalid(
                "schedule.log_every",
                "must be at least 1",
            ));
        }
        if s.average_last == 0 || s.average_last > s.iterations {
            return Err(KernelError::invalid(
                "schedule.average_last",
                format!(
                    "must be between 1 and iterations ({}), got {}",
                    s.iterations, s.average_last
                ),
            ));
        }
        if let Some(e) = &self.entropy {
            validate_entropy(s, e)?;
        }
        for p in &self.points {
            let (a, b) = match self.protocol {
                Protocol::FixedLr => ("grid.lr", "grid.wd"),
                Protocol::FixedElr => ("grid.elr", "grid.wd"),
                Protocol::FixedSphere => ("grid.elr", "grid.radius"),
            };
            positive_finite(a, p.first)?;
            positive_finite(b, p.second)?;
        }
        Ok(())
    }
}

fn validate_entropy(s: Schedule, e: &EntropySchedule) -> Result<(), KernelError> {
    {
        if e.queue < 2 {
            return Err(KernelError::invalid(
                "entropy.queue",
                format!("must be at least 2, got {}", e.queue),
            ));
        }
        if e.every == 0 || e.log_every == 0 || e.average_last == 0 {
            return Err(KernelError::invalid(
                "entropy",
                "every, log_every and average_last must all be at least 1",
            ));
        }
        let estimates = estimates_in_run(s.iterations, e);
        if estimates < e.average_last as u64 {
            return Err(KernelError::invalid(
                "entropy.average_last",
                format!(
                    "the queue of {} samples every {} iterations fills at iteration {} and a run of {} \
                     iterations makes {} estimates (every {}), fewer than average_last = {}",
                    e.queue,
                    e.every,
                    (e.queue as u64).saturating_mul(e.every),
                    s.iterations,
                    estimates,
                    e.log_every,
                    e.average_last
                ),
            ));
        }
        Ok(())
    }
}

/// The number of entropy estimates a run makes: at multiples of `log_every` once the queue is full.
pub fn estimates_in_run(iterations: u64, e: &EntropySchedule) -> u64 {
    let full_at = (e.queue as u64).saturating_mul(e.every);
    if full_at > iterations {
        return 0;
    }
    let first = full_at.div_ceil(e.log_every).max(1) * e.log_every;
    if first > iterations {
        0
    } else {
        (iterations - first) / e.log_every + 1
    }
}

#[cfg(test)]
mod tests {
    use super::ChainPoint;
    use crate::rng::point_seed;

    #[test]
    fn sweep_points_are_point_major_with_derived_seeds() {
        let pts = ChainPoint::for_sweep(9, &[(0.1, 1.0), (0.2, 2.0)], 3);
        assert_eq!(pts.len(), 6);
        for (k, p) in pts.iter().enumerate() {
            assert_eq!((p.point, p.replica), ((k / 3) as u32, (k % 3) as u32));
            assert_eq!(p.seed, point_seed(9, p.point, p.replica));
            assert_eq!(p.first, if p.point == 0 { 0.1 } else { 0.2 });
        }
    }
}
