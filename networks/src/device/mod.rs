//! The networks' layers on a CUDA device (feature `cuda`): activations as device buffers in the CPU
//! layers' CNHW layout ([`DeviceAct`]), and each layer built from the tensor kernels of
//! `sweep_kernels::cuda::tensor` the way the CPU layer is built from its host routines, so that the
//! two compute the same thing in the same layouts and the CPU layer is the device layer's oracle.
//! It runs on a GPU or on the CPU execution of the kernels (`CudaOnCpu`), which is how it is tested.
//! The training set lives on the device ([`DeviceSet`]) and batches are gathered there
//! ([`DeviceBatch`]), so a step or a measurement moves only scalars across the bus.

mod conv;
mod convnet;
pub mod layers;
pub mod measure;
mod resnet18;
mod trainer;

pub use conv::{conv_backward_on, conv_forward_on};
pub use convnet::convnet_pass_on;
pub use resnet18::resnet18_pass_on;
pub use trainer::{AtWeights, DeviceTrainError, DeviceTrainer};

use layers::{DeviceBnMode, DeviceHead, DeviceLabels};

use crate::models::{Architecture, Network};

/// What a pass returns: the mean loss, and on the device which samples it classified correctly.
#[derive(Debug)]
pub struct PassOut {
    /// Mean cross-entropy (f32, summed in sample order as the CPU does).
    pub loss: f32,
    /// Per sample, 1 when its largest logit is its label's.
    pub hits: Buffer<u32>,
}

impl PassOut {
    /// Samples classified correctly (a copy from the device: for evaluations, not steps).
    pub fn correct(&self, device: &dyn Device) -> Result<usize, CudaError> {
        Ok(device
            .download_all(&self.hits)?
            .iter()
            .filter(|h| **h != 0)
            .count())
    }
}

impl From<layers::HeadPass> for PassOut {
    fn from(pass: layers::HeadPass) -> Self {
        Self {
            loss: pass.loss,
            hits: pass.hits,
        }
    }
}

/// One pass of `net` (either model) on `device` over `batch`, BatchNorm in `mode`: the mean loss,
/// and with `grads` its gradient per convolution.
#[allow(clippy::too_many_arguments)]
pub fn pass_on(
    device: &dyn Device,
    net: &Network<f32>,
    head: &DeviceHead,
    weights: &[Buffer<f32>],
    batch: &DeviceBatch,
    mode: &mut DeviceBnMode<'_>,
    grads: Option<&mut [Buffer<f32>]>,
) -> Result<PassOut, CudaError> {
    match net.arch() {
        Architecture::ConvNet { .. } => {
            convnet_pass_on(device, net, head, weights, batch, mode, grads)
        }
        Architecture::ResNet18 { .. } => {
            resnet18_pass_on(device, net, head, weights, batch, mode, grads)
        }
    }
}

/// A batch on the device: its images (CNHW) and labels.
#[derive(Debug)]
pub struct DeviceBatch {
    /// The images.
    pub x: DeviceAct,
    /// Their labels.
    pub labels: DeviceLabels,
}

impl DeviceBatch {
    /// `(x, labels)` copied to `device`, refusing a label not below `classes`.
    pub fn upload(
        device: &dyn Device,
        x: &Act<f32>,
        labels: &[u8],
        classes: usize,
    ) -> Result<Self, CudaError> {
        if labels.len() != x.n {
            return Err(CudaError::Launch(format!(
                "{} labels for {} images",
                labels.len(),
                x.n
            )));
        }
        Ok(Self {
            x: DeviceAct::upload(device, x)?,
            labels: DeviceLabels::upload(device, labels, classes)?,
        })
    }

    /// Images `idx` of `set` (the CPU's `Dataset::batch`, bit for bit), gathered on the device.
    pub fn gather(
        device: &dyn Device,
        set: &DeviceSet,
        idx: &Buffer<u32>,
    ) -> Result<Self, CudaError> {
        let n = idx.len();
        let mut x = DeviceAct::zeros(device, (set.images.channels(), n, set.h, set.w))?;
        let mut labels = device.zeros::<u32>(n)?;
        gather_batch_on(device, &set.images, idx, &mut x.data, &mut labels)?;
        Ok(Self {
            x,
            labels: DeviceLabels::gathered(labels, set.images.classes()),
        })
    }
}

/// A data set kept on the device (raw pixels, labels, the normalisation), where the batches of a
/// training run and the chunks of its measurements are gathered.
#[derive(Debug)]
pub struct DeviceSet {
    /// The images.
    pub images: DeviceImages,
    /// Image height.
    pub h: usize,
    /// Image width.
    pub w: usize,
}

impl DeviceSet {
    /// `data` copied to `device`.
    pub fn upload(device: &dyn Device, data: &Dataset) -> Result<Self, CudaError> {
        let (scale, shift) = data.affine();
        Ok(Self {
            images: DeviceImages::upload(
                device,
                &data.pixels,
                &data.labels,
                (data.c, data.h * data.w),
                data.classes,
                (&scale, &shift),
            )?,
            h: data.h,
            w: data.w,
        })
    }

    /// Images held.
    pub fn len(&self) -> usize {
        self.images.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// Images `range` (below `len()`), gathered as one batch.
    pub fn range(
        &self,
        device: &dyn Device,
        range: std::ops::Range<usize>,
    ) -> Result<DeviceBatch, CudaError> {
        let idx: Vec<u32> = range
            .map(|i| u32::try_from(i).map_err(|_| CudaError::Launch(format!("image {i}"))))
            .collect::<Result<_, _>>()?;
        DeviceBatch::gather(device, self, &device.upload(&idx)?)
    }
}

/// The scale-invariant weights `si` of `net` on `device`, one buffer per convolution.
pub fn upload_weights(
    device: &dyn Device,
    net: &Network<f32>,
    si: &[f32],
) -> Result<Vec<Buffer<f32>>, CudaError> {
    if si.len() != net.dim() {
        return Err(CudaError::Launch(format!(
            "{} weights for a network of dim {}",
            si.len(),
            net.dim()
        )));
    }
    (0..net.convs().len())
        .map(|i| device.upload(net.weight(si, i)))
        .collect()
}

/// Per-convolution device buffers, concatenated back into one host vector.
pub fn download_weights(
    device: &dyn Device,
    net: &Network<f32>,
    parts: &[Buffer<f32>],
) -> Result<Vec<f32>, CudaError> {
    let mut out = vec![0.0f32; net.dim()];
    for (i, b) in parts.iter().enumerate() {
        device.copy_out(b, 0..b.len(), &mut out[net.range(i)])?;
    }
    Ok(out)
}

/// The mean cross-entropy of `net` at weights `si` on `(x, labels)` and its gradient, on `device`
/// (training-mode BatchNorm; copies in and out: for tests).
pub fn loss_grad_on(
    device: &dyn Device,
    net: &Network<f32>,
    si: &[f32],
    x: &Act<f32>,
    labels: &[u8],
) -> Result<(f32, Vec<f32>), CudaError> {
    let head = net.head();
    let head = DeviceHead::new(device, &head.weight, &head.bias, head.classes)?;
    let weights = upload_weights(device, net, si)?;
    let mut grads: Vec<Buffer<f32>> = weights
        .iter()
        .map(|w| device.zeros(w.len()))
        .collect::<Result<_, _>>()?;
    let batch = DeviceBatch::upload(device, x, labels, net.head().classes)?;
    let out = pass_on(
        device,
        net,
        &head,
        &weights,
        &batch,
        &mut DeviceBnMode::Batch,
        Some(&mut grads),
    )?;
    Ok((out.loss, download_weights(device, net, &grads)?))
}

use sweep_kernels::cuda::batch::{DeviceImages, gather_batch_on};
use sweep_kernels::cuda::{Buffer, CudaError, Device};

use crate::data::Dataset;
use crate::tensor::Act;

/// A batch of feature maps on a device, `[C, N, H, W]` as [`Act`].
#[derive(Debug)]
pub struct DeviceAct {
    /// The values, `c·n·h·w` of them.
    pub data: Buffer<f32>,
    /// Channels.
    pub c: usize,
    /// Batch size.
    pub n: usize,
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
}

impl DeviceAct {
    /// A copy of `a` on `device`.
    pub fn upload(device: &dyn Device, a: &Act<f32>) -> Result<Self, CudaError> {
        Ok(Self {
            data: device.upload(&a.data)?,
            c: a.c,
            n: a.n,
            h: a.h,
            w: a.w,
        })
    }

    /// A zero tensor of this shape on `device`.
    pub fn zeros(
        device: &dyn Device,
        (c, n, h, w): (usize, usize, usize, usize),
    ) -> Result<Self, CudaError> {
        Ok(Self {
            data: device.zeros(c * n * h * w)?,
            c,
            n,
            h,
            w,
        })
    }

    /// The values, back on the host.
    pub fn download(&self, device: &dyn Device) -> Result<Act<f32>, CudaError> {
        Ok(Act {
            data: device.download_all(&self.data)?,
            c: self.c,
            n: self.n,
            h: self.h,
            w: self.w,
        })
    }
}
