//! BatchNorm, ReLU, max pooling and the frozen head on a device, over [`DeviceAct`]s, as the CPU
//! layers of `crate::layers` compute them: BatchNorm in training mode (recording its batch
//! statistics when asked) or in evaluation mode ([`DeviceBnMode`], the CPU's `BnMode`), PyTorch's
//! running statistics ([`DeviceRunningBn`]), and the head's cross-entropy with its hits.

use sweep_kernels::cuda::batchnorm::{bn_apply_on, bn_backward_on, bn_forward_on, bn_running_on};
use sweep_kernels::cuda::pointwise::{
    CrossEntropyOut, PoolShape, add_on, avgpool_backward_on, avgpool_forward_on, cross_entropy_on,
    maxpool_backward_on, maxpool_forward_on, relu_backward_on, relu_forward_on,
};
use sweep_kernels::cuda::tensor::gemm_on;
use sweep_kernels::cuda::{Buffer, CudaError, Device};

use super::DeviceAct;

/// What a BatchNorm forward pass keeps for its backward pass.
#[derive(Debug)]
pub struct DeviceBn {
    /// The normalised output.
    pub y: DeviceAct,
    /// `1/√(σ² + ε)` per channel.
    pub inv_std: Buffer<f32>,
}

fn like(device: &dyn Device, a: &DeviceAct) -> Result<DeviceAct, CudaError> {
    DeviceAct::zeros(device, (a.c, a.n, a.h, a.w))
}

/// One BatchNorm layer's statistics on the device: a pass's batch statistics (mean, biased
/// variance, over `count` values per channel) or running ones.
#[derive(Debug)]
pub struct DeviceBnStats {
    /// Mean per channel.
    pub mean: Buffer<f64>,
    /// Variance per channel.
    pub var: Buffer<f64>,
    /// Values per channel the statistics were taken over (0 for running statistics).
    pub count: usize,
}

impl DeviceBnStats {
    /// The statistics, back on the host (for tests and checkpoints).
    pub fn download(&self, device: &dyn Device) -> Result<crate::layers::BnStats, CudaError> {
        Ok(crate::layers::BnStats {
            mean: device.download_all(&self.mean)?,
            var: device.download_all(&self.var)?,
            count: self.count,
        })
    }
}

/// How the BatchNorm layers of one device pass normalise (the CPU's `BnMode`).
#[derive(Debug)]
pub enum DeviceBnMode<'a> {
    /// Training mode: each layer uses its batch's statistics.
    Batch,
    /// Training mode, and each layer's batch statistics are appended here, in layer order.
    Record(&'a mut Vec<DeviceBnStats>),
    /// Evaluation mode: the `next`-th layer of the pass uses `stats[next]`.
    Fixed {
        /// One entry per BatchNorm layer, in forward order.
        stats: &'a [DeviceBnStats],
        /// The next layer's index.
        next: usize,
    },
}

/// The next BatchNorm layer of a pass in `mode`, applied to `x`.
pub fn bn_forward_dev(
    device: &dyn Device,
    x: &DeviceAct,
    eps: f32,
    mode: &mut DeviceBnMode<'_>,
) -> Result<DeviceBn, CudaError> {
    let mut y = like(device, x)?;
    let m = x.n * x.h * x.w;
    let inv_std = match mode {
        DeviceBnMode::Batch => bn_forward_on(device, &x.data, x.c, m, eps, &mut y.data)?.inv_std,
        DeviceBnMode::Record(out) => {
            let f = bn_forward_on(device, &x.data, x.c, m, eps, &mut y.data)?;
            out.push(DeviceBnStats {
                mean: f.mean,
                var: f.var,
                count: m,
            });
            f.inv_std
        }
        DeviceBnMode::Fixed { stats, next } => {
            let Some(st) = stats.get(*next).filter(|st| st.mean.len() == x.c) else {
                return Err(CudaError::Launch(format!(
                    "evaluation BatchNorm layer {next} of {} channels has no statistics for them",
                    x.c
                )));
            };
            *next += 1;
            bn_apply_on(device, &x.data, x.c, m, eps, &st.mean, &st.var, &mut y.data)?
        }
    };
    Ok(DeviceBn { y, inv_std })
}

/// PyTorch's running BatchNorm statistics on the device, as the CPU trainer keeps them: from
/// mean 0 and variance 1, `r ← (1 − m)·r + m·b` per training-mode pass.
#[derive(Debug)]
pub struct DeviceRunningBn {
    momentum: f64,
    stats: Vec<DeviceBnStats>,
}

impl DeviceRunningBn {
    /// None yet, with `momentum` (PyTorch's default is 0.1).
    pub fn new(momentum: f64) -> Self {
        Self {
            momentum,
            stats: Vec::new(),
        }
    }

    /// The running statistics, once a pass has been folded in.
    pub fn stats(&self) -> Option<&[DeviceBnStats]> {
        (!self.stats.is_empty()).then_some(self.stats.as_slice())
    }

    /// Folds one training-mode pass's batch statistics (one entry per layer) in.
    pub fn fold(&mut self, device: &dyn Device, pass: &[DeviceBnStats]) -> Result<(), CudaError> {
        let shapes_differ = self.stats.len() != pass.len()
            || self
                .stats
                .iter()
                .zip(pass)
                .any(|(r, b)| r.mean.len() != b.mean.len());
        if shapes_differ {
            self.stats = pass
                .iter()
                .map(|b| {
                    Ok(DeviceBnStats {
                        mean: device.zeros(b.mean.len())?,
                        var: device.upload(&vec![1.0f64; b.var.len()])?,
                        count: 0,
                    })
                })
                .collect::<Result<_, CudaError>>()?;
        }
        for (r, b) in self.stats.iter_mut().zip(pass) {
            bn_running_on(
                device,
                self.momentum,
                (&b.mean, &b.var, b.count),
                &mut r.mean,
                &mut r.var,
            )?;
        }
        Ok(())
    }
}

/// BatchNorm's input gradient.
pub fn bn_backward_dev(
    device: &dyn Device,
    bn: &DeviceBn,
    dy: &DeviceAct,
) -> Result<DeviceAct, CudaError> {
    let mut dx = like(device, dy)?;
    let m = dy.n * dy.h * dy.w;
    bn_backward_on(
        device,
        &bn.y.data,
        &bn.inv_std,
        &dy.data,
        dy.c,
        m,
        &mut dx.data,
    )?;
    Ok(dx)
}

/// ReLU.
pub fn relu_forward_dev(device: &dyn Device, x: &DeviceAct) -> Result<DeviceAct, CudaError> {
    let mut y = like(device, x)?;
    relu_forward_on(device, x.data.len(), &x.data, &mut y.data)?;
    Ok(y)
}

/// ReLU's gradient, from its output `y`.
pub fn relu_backward_dev(
    device: &dyn Device,
    y: &DeviceAct,
    dy: &DeviceAct,
) -> Result<DeviceAct, CudaError> {
    let mut dx = like(device, dy)?;
    relu_backward_on(device, dy.data.len(), &y.data, &dy.data, &mut dx.data)?;
    Ok(dx)
}

fn pool_shape(x: &DeviceAct, k: usize) -> Result<PoolShape, CudaError> {
    let i = |v: usize| i32::try_from(v).map_err(|_| CudaError::Launch("pooling too large".into()));
    Ok(PoolShape {
        planes: (x.c * x.n) as i64,
        h: i(x.h)?,
        w: i(x.w)?,
        k: i(k)?,
        reserved: 0,
    })
}

/// Max pooling with window and stride `k`, and its argmax.
pub fn maxpool_forward_dev(
    device: &dyn Device,
    x: &DeviceAct,
    k: usize,
) -> Result<(DeviceAct, Buffer<u32>), CudaError> {
    let s = pool_shape(x, k)?;
    let mut y = DeviceAct::zeros(device, (x.c, x.n, x.h / k, x.w / k))?;
    let mut arg = device.zeros::<u32>(s.output_len())?;
    maxpool_forward_on(device, &s, &x.data, &mut y.data, &mut arg)?;
    Ok((y, arg))
}

/// Max pooling's gradient into an input-shaped tensor like `x`.
pub fn maxpool_backward_dev(
    device: &dyn Device,
    x: &DeviceAct,
    k: usize,
    arg: &Buffer<u32>,
    dy: &DeviceAct,
) -> Result<DeviceAct, CudaError> {
    let s = pool_shape(x, k)?;
    let mut dx = like(device, x)?;
    maxpool_backward_on(device, &s, arg, &dy.data, &mut dx.data)?;
    Ok(dx)
}

/// `a += b` (same shape).
pub fn add_dev(device: &dyn Device, a: &mut DeviceAct, b: &DeviceAct) -> Result<(), CudaError> {
    if (a.c, a.n, a.h, a.w) != (b.c, b.n, b.h, b.w) {
        return Err(CudaError::Launch(
            "residual addition of differently shaped tensors".into(),
        ));
    }
    let n = a.data.len();
    add_on(device, n, &mut a.data, &b.data)
}

/// Average pooling with window and stride `k`.
pub fn avgpool_forward_dev(
    device: &dyn Device,
    x: &DeviceAct,
    k: usize,
) -> Result<DeviceAct, CudaError> {
    let s = pool_shape(x, k)?;
    let mut y = DeviceAct::zeros(device, (x.c, x.n, x.h / k, x.w / k))?;
    avgpool_forward_on(device, &s, &x.data, &mut y.data)?;
    Ok(y)
}

/// Average pooling's gradient into an input-shaped tensor like `x`.
pub fn avgpool_backward_dev(
    device: &dyn Device,
    x: &DeviceAct,
    k: usize,
    dy: &DeviceAct,
) -> Result<DeviceAct, CudaError> {
    let s = pool_shape(x, k)?;
    let mut dx = like(device, x)?;
    avgpool_backward_on(device, &s, &dy.data, &mut dx.data)?;
    Ok(dx)
}

/// A batch's labels on the device, each below `classes` (checked where they are made).
#[derive(Debug)]
pub struct DeviceLabels {
    data: Buffer<u32>,
    classes: usize,
}

impl DeviceLabels {
    /// `labels` on `device`, refusing one not below `classes`.
    pub fn upload(device: &dyn Device, labels: &[u8], classes: usize) -> Result<Self, CudaError> {
        if let Some(l) = labels.iter().find(|l| usize::from(**l) >= classes) {
            return Err(CudaError::Launch(format!(
                "label {l} is not below {classes} classes"
            )));
        }
        let data: Vec<u32> = labels.iter().map(|l| u32::from(*l)).collect();
        Ok(Self {
            data: device.upload(&data)?,
            classes,
        })
    }

    /// Labels written on the device by [`sweep_kernels::cuda::batch::gather_batch_on`] from a
    /// set whose labels are below `classes` (the set checked them when it was uploaded).
    pub(super) fn gathered(data: Buffer<u32>, classes: usize) -> Self {
        Self { data, classes }
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// The frozen head on a device: weight `[classes, features]` and the bias broadcast over a batch.
#[derive(Debug)]
pub struct DeviceHead {
    weight: Buffer<f32>,
    bias: Vec<f32>,
    classes: usize,
    features: usize,
}

/// The head's outputs for one batch: logits, dL/dlogits of the mean loss, the mean loss and which
/// samples are classified correctly.
#[derive(Debug)]
pub struct HeadPass {
    /// Logits `[classes, n]`.
    pub logits: Buffer<f32>,
    /// dL/dlogits.
    pub dlogits: Buffer<f32>,
    /// Mean cross-entropy, summed in sample order in f32 as the CPU does.
    pub loss: f32,
    /// Per sample, 1 when its largest logit is its label's (ties to the lowest class): left on
    /// the device, since only an evaluation counts them.
    pub hits: Buffer<u32>,
}

impl DeviceHead {
    /// The head `weight` (`classes × features`) with `bias` (`classes` values, or none).
    pub fn new(
        device: &dyn Device,
        weight: &[f32],
        bias: &[f32],
        classes: usize,
    ) -> Result<Self, CudaError> {
        Ok(Self {
            weight: device.upload(weight)?,
            bias: bias.to_vec(),
            classes,
            features: weight.len() / classes.max(1),
        })
    }

    /// Logits of `feat` (`[features, n]`), the cross-entropy against `labels` and its gradient.
    pub fn forward(
        &self,
        device: &dyn Device,
        feat: &DeviceAct,
        labels: &DeviceLabels,
    ) -> Result<HeadPass, CudaError> {
        let (k, n) = (self.classes, feat.n);
        if feat.c * feat.h * feat.w != self.features || labels.data.len() != n {
            return Err(CudaError::Launch(
                "the head does not fit these features".into(),
            ));
        }
        if labels.classes > k {
            return Err(CudaError::Launch(format!(
                "labels of {} classes for a head of {k}",
                labels.classes
            )));
        }
        let labels = &labels.data;
        let mut start = vec![0.0f32; k * n];
        for (c, row) in start.chunks_exact_mut(n.max(1)).enumerate() {
            row.fill(self.bias.get(c).copied().unwrap_or(0.0));
        }
        let mut logits = device.upload(&start)?;
        gemm_on(
            device,
            (k, n, self.features),
            &self.weight,
            false,
            &feat.data,
            false,
            1.0,
            &mut logits,
        )?;
        let mut dlogits = device.zeros::<f32>(k * n)?;
        let mut term = device.zeros::<f32>(n)?;
        let mut hit = device.zeros::<u32>(n)?;
        cross_entropy_on(
            device,
            (k, n),
            &logits,
            labels,
            CrossEntropyOut {
                dlogits: &mut dlogits,
                term: &mut term,
                hit: &mut hit,
            },
        )?;
        let total = device
            .download_all(&term)?
            .iter()
            .fold(0.0f32, |s, t| s + t);
        Ok(HeadPass {
            logits,
            dlogits,
            loss: total * (1.0 / n as f32),
            hits: hit,
        })
    }

    /// dL/dfeat (`[features, n]`, shaped like `feat`) from the pass's dL/dlogits.
    pub fn backward(
        &self,
        device: &dyn Device,
        feat: &DeviceAct,
        pass: &HeadPass,
    ) -> Result<DeviceAct, CudaError> {
        let mut dfeat = DeviceAct::zeros(device, (feat.c, feat.n, feat.h, feat.w))?;
        gemm_on(
            device,
            (self.features, feat.n, self.classes),
            &self.weight,
            true,
            &pass.dlogits,
            false,
            0.0,
            &mut dfeat.data,
        )?;
        Ok(dfeat)
    }
}
