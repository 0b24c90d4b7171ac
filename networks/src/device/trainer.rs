//! A network's SGD steps on a device, the CPU [`crate::train::Trainer`]'s steps: the
//! scale-invariant weights stay on the device (one buffer per convolution), each step draws the
//! CPU sampler's indices there (`batch.cu`, bit for bit the sampler's), gathers that batch from
//! the device-resident training set, runs the pass with its gradient and applies the protocol's
//! update (`si_update.cu`, the trainer's arithmetic). Only the step's log comes back. With a test
//! set it keeps PyTorch's running BatchNorm statistics on the device, as the CPU trainer does.

use sweep_kernels::cuda::batch::batch_indices_on;
use sweep_kernels::cuda::si_update::{SiStep, norm_sq_groups_on, si_update_groups_on};
use sweep_kernels::cuda::{Buffer, CudaError, Device};
use sweep_theory::Protocol;

use super::layers::{DeviceBnMode, DeviceBnStats, DeviceHead, DeviceRunningBn};
use super::{DeviceBatch, DeviceSet, download_weights, pass_on, upload_weights};
use crate::data::BatchSampler;
use crate::models::Network;
use crate::train::{StepLog, Update};

/// Why a device step failed.
#[derive(Debug, thiserror::Error)]
pub enum DeviceTrainError {
    /// The device failed.
    #[error(transparent)]
    Device(#[from] CudaError),
    /// The loss or the gradient became NaN or infinite.
    #[error("non-finite loss or gradient at iteration {iteration}")]
    NonFinite {
        /// The iteration (0-based).
        iteration: u64,
    },
}

/// A point in training on a device.
pub struct DeviceTrainer<'a> {
    device: &'a dyn Device,
    net: &'a Network<f32>,
    data: &'a DeviceSet,
    sampler: BatchSampler,
    head: DeviceHead,
    weights: Vec<Buffer<f32>>,
    grads: Vec<Buffer<f32>>,
    indices: Buffer<u32>,
    iteration: u64,
    running: Option<DeviceRunningBn>,
}

impl std::fmt::Debug for DeviceTrainer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceTrainer")
            .field("device", &self.device.name())
            .field("iteration", &self.iteration)
            .finish_non_exhaustive()
    }
}

/// The protocol's update as the device step takes it.
fn si_step(update: Update) -> SiStep {
    let (protocol, first, second) = match update {
        Update::FixedLr { lr, wd } => (Protocol::FixedLr, lr, wd),
        Update::FixedElr { elr, wd } => (Protocol::FixedElr, elr, wd),
        Update::FixedSphere { elr, radius } => (Protocol::FixedSphere, elr, radius),
    };
    SiStep {
        protocol,
        first,
        second,
    }
}

impl<'a> DeviceTrainer<'a> {
    /// Training `net` on the device-resident `data` from weights `si`, batches from `sampler`
    /// (which must draw from `data.len()` items).
    pub fn new(
        device: &'a dyn Device,
        net: &'a Network<f32>,
        data: &'a DeviceSet,
        sampler: BatchSampler,
        si: &[f32],
    ) -> Result<Self, CudaError> {
        if sampler.items() != data.len() {
            return Err(CudaError::Launch(format!(
                "a sampler over {} items for a set of {}",
                sampler.items(),
                data.len()
            )));
        }
        let h = net.head();
        let weights = upload_weights(device, net, si)?;
        let grads = weights
            .iter()
            .map(|w| device.zeros(w.len()))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            device,
            net,
            data,
            sampler,
            head: DeviceHead::new(device, &h.weight, &h.bias, h.classes)?,
            weights,
            grads,
            indices: device.zeros(sampler.batch())?,
            iteration: 0,
            running: None,
        })
    }

    /// Keeps running BatchNorm statistics with `momentum` from the next step on
    /// ([`crate::train::Trainer::track_running_stats`]).
    pub fn track_running_stats(mut self, momentum: f64) -> Self {
        self.running = Some(DeviceRunningBn::new(momentum));
        self
    }

    /// The running statistics, once a step has been taken with tracking on.
    pub fn running_stats(&self) -> Option<&[DeviceBnStats]> {
        self.running.as_ref().and_then(DeviceRunningBn::stats)
    }

    /// Folds training-mode passes made outside the steps (a measurement's) into the running
    /// statistics, in order. Nothing happens unless tracking is on.
    pub fn absorb_running_stats(&mut self, passes: &[Vec<DeviceBnStats>]) -> Result<(), CudaError> {
        if let Some(r) = &mut self.running {
            for pass in passes {
                r.fold(self.device, pass)?;
            }
        }
        Ok(())
    }

    /// One SGD step under `update`, as [`crate::train::Trainer::step`].
    pub fn step(&mut self, update: Update) -> Result<StepLog, DeviceTrainError> {
        let t = self.iteration;
        let d = self.device;
        batch_indices_on(
            d,
            self.sampler.seed(),
            t,
            self.data.len(),
            &mut self.indices,
        )?;
        let batch = DeviceBatch::gather(d, self.data, &self.indices)?;
        let mut recorded = Vec::new();
        let mut mode = if self.running.is_some() {
            DeviceBnMode::Record(&mut recorded)
        } else {
            DeviceBnMode::Batch
        };
        let out = pass_on(
            d,
            self.net,
            &self.head,
            &self.weights,
            &batch,
            &mut mode,
            Some(&mut self.grads),
        )?;
        let grad_norm = norm_sq_groups_on(d, &self.grads)?.sqrt();
        let loss = f64::from(out.loss);
        if !loss.is_finite() || !grad_norm.is_finite() {
            return Err(DeviceTrainError::NonFinite { iteration: t });
        }
        let info = si_update_groups_on(d, &mut self.weights, &self.grads, si_step(update))?;
        if let Some(r) = &mut self.running {
            r.fold(d, &recorded)?;
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

    /// The device, the network and its frozen head, the set and the current weights: what a
    /// measurement or an evaluation at these weights needs.
    pub fn at_weights(&self) -> AtWeights<'_> {
        AtWeights {
            device: self.device,
            net: self.net,
            head: &self.head,
            weights: &self.weights,
        }
    }

    /// The sampler of the training batches.
    pub fn sampler(&self) -> &BatchSampler {
        &self.sampler
    }

    /// The weights, copied back.
    pub fn weights(&self) -> Result<Vec<f32>, CudaError> {
        download_weights(self.device, self.net, &self.weights)
    }
}

/// A network at given weights on a device, for measurements and evaluations.
#[derive(Clone, Copy, Debug)]
pub struct AtWeights<'a> {
    /// The device.
    pub device: &'a dyn Device,
    /// The network.
    pub net: &'a Network<f32>,
    /// Its frozen head on the device.
    pub head: &'a DeviceHead,
    /// The scale-invariant weights, one buffer per convolution.
    pub weights: &'a [Buffer<f32>],
}
