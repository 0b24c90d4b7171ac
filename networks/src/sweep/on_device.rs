//! A point training on a CUDA device (feature `cuda`): the [`DeviceTrainer`]'s steps, the
//! device's gradient measurements and test evaluation, with the training and test sets uploaded
//! once per run and shared by its points ([`DeviceSets`]). Only the steps' logs, the
//! measurements' scalars and (for the entropy queue) the weights at a push come back.

use sweep_kernels::KernelError;
use sweep_kernels::cuda::{CudaError, Device};
use sweep_kernels::isotropic::ChainPoint;

use super::NetworkRun;
use super::summary::{Measurement, TestEval};
use super::training::{
    BN_MOMENTUM, PointTraining, Stepped, measure_iteration, net_error, on_unit_sphere, sampler_of,
    test_eval,
};
use crate::device::layers::DeviceBnStats;
use crate::device::measure::{evaluate_on, gradient_statistics_on};
use crate::device::{DeviceSet, DeviceTrainError, DeviceTrainer};
use crate::models::Network;
use crate::train::Update;

fn device_error(e: CudaError) -> KernelError {
    KernelError::invalid("device", e.to_string())
}

/// A run's data sets on its device.
pub(super) struct DeviceSets {
    train: DeviceSet,
    test: Option<DeviceSet>,
}

impl DeviceSets {
    /// The run's training and test sets copied to `device`.
    pub(super) fn upload(device: &dyn Device, run: &NetworkRun<'_>) -> Result<Self, KernelError> {
        Ok(Self {
            train: DeviceSet::upload(device, run.data).map_err(device_error)?,
            test: run
                .test
                .map(|t| DeviceSet::upload(device, t))
                .transpose()
                .map_err(device_error)?,
        })
    }
}

/// A point training on a device.
pub(super) struct DeviceTraining<'a> {
    run: &'a NetworkRun<'a>,
    sets: &'a DeviceSets,
    trainer: DeviceTrainer<'a>,
    pending: Vec<Vec<DeviceBnStats>>,
    weights: Vec<f32>,
}

impl<'a> DeviceTraining<'a> {
    /// Point `p` of `run` on `device` from weights `si`.
    pub(super) fn new(
        device: &'a dyn Device,
        run: &'a NetworkRun<'a>,
        sets: &'a DeviceSets,
        net: &'a Network<f32>,
        p: &ChainPoint,
        si: Vec<f32>,
    ) -> Result<Self, KernelError> {
        let mut trainer = DeviceTrainer::new(device, net, &sets.train, sampler_of(run, p), &si)
            .map_err(device_error)?;
        if sets.test.is_some() {
            trainer = trainer.track_running_stats(BN_MOMENTUM);
        }
        Ok(Self {
            run,
            sets,
            trainer,
            pending: Vec::new(),
            weights: si,
        })
    }
}

impl PointTraining for DeviceTraining<'_> {
    fn step(&mut self, update: Update) -> Result<Stepped, KernelError> {
        match self.trainer.step(update) {
            Ok(log) => Ok(Stepped::Log(log)),
            Err(DeviceTrainError::NonFinite { iteration }) => Ok(Stepped::Diverged { iteration }),
            Err(DeviceTrainError::Device(e)) => Err(device_error(e)),
        }
    }

    fn measure(&mut self, r: f64, k: u64) -> Result<Option<Measurement>, KernelError> {
        let b = self.run.batch;
        // The passes' statistics matter only for the running statistics of a test set.
        let record = self.sets.test.is_some();
        let measured = gradient_statistics_on(
            self.trainer.at_weights(),
            &self.sets.train,
            crate::train::measure::FULL_BATCH_CHUNK,
            self.trainer.sampler(),
            measure_iteration(k, b.grad_samples),
            b.grad_samples,
            record,
        );
        let (stats, bn) = match measured {
            Ok(s) => s,
            Err(DeviceTrainError::NonFinite { .. }) => return Ok(None),
            Err(DeviceTrainError::Device(e)) => return Err(device_error(e)),
        };
        self.trainer
            .absorb_running_stats(&bn.chunks)
            .map_err(device_error)?;
        self.pending = bn.batches;
        Ok(Some(on_unit_sphere(&stats, r)))
    }

    fn evaluate(&mut self) -> Result<Option<TestEval>, KernelError> {
        let (Some(test), Some(stats)) = (&self.sets.test, self.trainer.running_stats()) else {
            return Ok(None);
        };
        let at = self.trainer.at_weights();
        test_eval(test.len(), |range| {
            let batch = test.range(at.device, range).map_err(device_error)?;
            let out = evaluate_on(at, &batch, stats).map_err(net_error)?;
            Ok((
                f64::from(out.loss),
                out.correct(at.device).map_err(device_error)?,
            ))
        })
        .map(Some)
    }

    fn settle(&mut self) -> Result<(), KernelError> {
        let pending = std::mem::take(&mut self.pending);
        self.trainer
            .absorb_running_stats(&pending)
            .map_err(device_error)
    }

    fn refresh_weights(&mut self) -> Result<(), KernelError> {
        self.weights = self.trainer.weights().map_err(device_error)?;
        Ok(())
    }

    fn weights(&self) -> &[f32] {
        &self.weights
    }
}
