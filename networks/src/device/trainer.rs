//! A network's SGD steps on a device, the CPU [`crate::train::Trainer`]'s steps with the same
//! batches: the scale-invariant weights stay on the device (one buffer per convolution), each
//! step draws the CPU sampler's indices (so the batch stream is the CPU's, bit for bit), gathers
//! and uploads that batch, runs the pass with its gradient on the device and applies the
//! protocol's update there (`si_update.cu`, the trainer's arithmetic). Only the step's log comes
//! back. (Running BatchNorm statistics and the measurements stay on the CPU path for now.)

use sweep_kernels::cuda::si_update::{SiStep, norm_sq_groups_on, si_update_groups_on};
use sweep_kernels::cuda::{Buffer, CudaError, Device};
use sweep_theory::Protocol;

use super::layers::DeviceHead;
use super::{DeviceAct, download_weights, pass_on, upload_weights};
use crate::data::{BatchSampler, Dataset};
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
    data: &'a Dataset,
    sampler: BatchSampler,
    head: DeviceHead,
    weights: Vec<Buffer<f32>>,
    grads: Vec<Buffer<f32>>,
    indices: Vec<usize>,
    iteration: u64,
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
    /// Training `net` on `data` from weights `si`, batches from `sampler`.
    pub fn new(
        device: &'a dyn Device,
        net: &'a Network<f32>,
        data: &'a Dataset,
        sampler: BatchSampler,
        si: &[f32],
    ) -> Result<Self, CudaError> {
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
            indices: Vec::new(),
            iteration: 0,
        })
    }

    /// One SGD step under `update`, as [`crate::train::Trainer::step`].
    pub fn step(&mut self, update: Update) -> Result<StepLog, DeviceTrainError> {
        let t = self.iteration;
        self.sampler.fill(t, &mut self.indices);
        let (x, labels) = self.data.batch::<f32>(&self.indices);
        let x = DeviceAct::upload(self.device, &x)?;
        let d = self.device;
        let loss = pass_on(
            d,
            self.net,
            &self.head,
            &self.weights,
            &x,
            &labels,
            Some(&mut self.grads),
        )?;
        let grad_norm = norm_sq_groups_on(d, &self.grads)?.sqrt();
        let loss = f64::from(loss);
        if !loss.is_finite() || !grad_norm.is_finite() {
            return Err(DeviceTrainError::NonFinite { iteration: t });
        }
        let info = si_update_groups_on(d, &mut self.weights, &self.grads, si_step(update))?;
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

    /// The weights, copied back.
    pub fn weights(&self) -> Result<Vec<f32>, CudaError> {
        download_weights(self.device, self.net, &self.weights)
    }
}
