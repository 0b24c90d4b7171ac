//! A training run's state: the network, the data, the batch sampler and the current
//! scale-invariant weights. Each [`Trainer::step`] draws iteration `t`'s i.i.d. batch, computes
//! the mini-batch gradient and applies the protocol's update. It can also keep PyTorch's running
//! BatchNorm statistics for evaluation mode ([`Trainer::track_running_stats`]).

use thiserror::Error;

use super::norm;
use super::protocol::{Update, apply_update};
use crate::data::{BatchSampler, Dataset};
use crate::layers::BnStats;
use crate::models::{NetError, Network};
use crate::real::Real;

/// A step that could not run.
#[derive(Debug, Error)]
pub enum TrainError {
    /// The network rejected the batch or the weights.
    #[error(transparent)]
    Net(#[from] NetError),
    /// The loss or the gradient became NaN or infinite.
    #[error("non-finite loss or gradient at iteration {iteration}")]
    NonFinite {
        /// The iteration.
        iteration: u64,
    },
}

/// What one step logs (SPEC §7.3's running metrics).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepLog {
    /// Iteration index (0 for the first step).
    pub iteration: u64,
    /// Mini-batch loss before the update.
    pub loss: f64,
    /// ‖g‖ of the mini-batch gradient.
    pub grad_norm: f64,
    /// The learning rate applied.
    pub lr: f64,
    /// ‖w̃‖ before projection.
    pub pre_norm: f64,
    /// ‖w‖ after the update.
    pub norm: f64,
}

/// A training run in progress.
pub struct Trainer<'a, T> {
    net: &'a Network<T>,
    data: &'a Dataset,
    sampler: BatchSampler,
    weights: Vec<T>,
    grad: Vec<T>,
    indices: Vec<usize>,
    iteration: u64,
    running: Option<RunningBn>,
}

/// PyTorch's running BatchNorm statistics: `r ← (1 − m)·r + m·b` per training-mode forward
/// pass, from mean 0 and variance 1, with the batch's unbiased variance. Training steps update
/// them; so do a measurement's passes, through [`Trainer::absorb_running_stats`], as in the
/// paper's code (which measures in training mode).
#[derive(Clone, Debug)]
struct RunningBn {
    momentum: f64,
    stats: Vec<BnStats>,
    batch: Vec<BnStats>,
}

impl RunningBn {
    /// Folds the last step's batch statistics in.
    fn update(&mut self) {
        let batch = std::mem::take(&mut self.batch);
        self.fold(&batch);
        self.batch = batch;
    }

    /// Folds one pass's batch statistics (one entry per layer) in.
    fn fold(&mut self, batch: &[BnStats]) {
        if self.stats.len() != batch.len() {
            self.stats = batch
                .iter()
                .map(|b| BnStats {
                    mean: vec![0.0; b.mean.len()],
                    var: vec![1.0; b.var.len()],
                    count: 0,
                })
                .collect();
        }
        let m = self.momentum;
        for (r, b) in self.stats.iter_mut().zip(batch) {
            let unbias = if b.count > 1 {
                b.count as f64 / (b.count - 1) as f64
            } else {
                1.0
            };
            r.mean
                .iter_mut()
                .zip(&b.mean)
                .for_each(|(r, x)| *r = (1.0 - m) * *r + m * x);
            r.var
                .iter_mut()
                .zip(&b.var)
                .for_each(|(r, v)| *r = (1.0 - m) * *r + m * v * unbias);
        }
    }
}

impl<'a, T: Real> Trainer<'a, T> {
    /// A run from `weights` (length `dim`), drawing batches from `sampler` over `data`.
    pub fn new(
        net: &'a Network<T>,
        data: &'a Dataset,
        sampler: BatchSampler,
        weights: Vec<T>,
    ) -> Self {
        let dim = net.dim();
        Self {
            net,
            data,
            sampler,
            weights,
            grad: vec![T::ZERO; dim],
            indices: Vec::new(),
            iteration: 0,
            running: None,
        }
    }

    /// Keeps running BatchNorm statistics with momentum `momentum` (PyTorch's default is 0.1)
    /// from the next step on, for [`crate::Network::evaluate`].
    pub fn track_running_stats(mut self, momentum: f64) -> Self {
        self.running = Some(RunningBn {
            momentum,
            stats: Vec::new(),
            batch: Vec::new(),
        });
        self
    }

    /// The running BatchNorm statistics, once a step has been taken with tracking on.
    pub fn running_stats(&self) -> Option<&[BnStats]> {
        self.running
            .as_ref()
            .filter(|r| !r.stats.is_empty())
            .map(|r| r.stats.as_slice())
    }

    /// Folds training-mode passes made outside the steps (a measurement's, see
    /// [`crate::train::BnRecord`]) into the running statistics, in order, as PyTorch does for
    /// every forward pass in training mode. Nothing happens unless tracking is on.
    pub fn absorb_running_stats(&mut self, passes: &[Vec<BnStats>]) {
        if let Some(r) = &mut self.running {
            for pass in passes {
                r.fold(pass);
            }
        }
    }

    /// The current scale-invariant weights.
    pub fn weights(&self) -> &[T] {
        &self.weights
    }

    /// The next iteration index.
    pub fn iteration(&self) -> u64 {
        self.iteration
    }

    /// One SGD step under `update`.
    pub fn step(&mut self, update: Update) -> Result<StepLog, TrainError> {
        let t = self.iteration;
        self.sampler.fill(t, &mut self.indices);
        let (x, labels) = self.data.batch::<T>(&self.indices);
        let loss = match &mut self.running {
            None => self
                .net
                .loss_grad(&self.weights, &x, &labels, &mut self.grad)?,
            Some(r) => {
                r.batch.clear();
                self.net.loss_grad_recording(
                    &self.weights,
                    &x,
                    &labels,
                    &mut self.grad,
                    &mut r.batch,
                )?
            }
        }
        .to_f64();
        let grad_norm = norm(&self.grad);
        if !loss.is_finite() || !grad_norm.is_finite() {
            return Err(TrainError::NonFinite { iteration: t });
        }
        let info = apply_update(update, &mut self.weights, &self.grad);
        if let Some(r) = &mut self.running {
            r.update();
        }
        self.iteration += 1;
        Ok(StepLog {
            iteration: t,
            loss,
            grad_norm,
            lr: info.lr,
            pre_norm: info.pre_norm,
            norm: info.norm,
        })
    }
}
