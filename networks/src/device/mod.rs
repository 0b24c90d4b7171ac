//! The networks' layers on a CUDA device (feature `cuda`): activations as device buffers in the CPU
//! layers' CNHW layout ([`DeviceAct`]), and each layer built from the tensor kernels of
//! `sweep_kernels::cuda::tensor` the way the CPU layer is built from its host routines, so that the
//! two compute the same thing in the same layouts and the CPU layer is the device layer's oracle.
//! It runs on a GPU or on the CPU execution of the kernels (`CudaOnCpu`), which is how it is tested.

mod conv;
mod convnet;
pub mod layers;
mod resnet18;
mod trainer;

pub use conv::{conv_backward_on, conv_forward_on};
pub use convnet::convnet_pass_on;
pub use resnet18::resnet18_pass_on;
pub use trainer::DeviceTrainer;

use layers::DeviceHead;

use crate::models::{Architecture, Network};

/// One pass of `net` (either model) on `device`: the mean loss, and with `grads` its gradient
/// per convolution.
pub fn pass_on(
    device: &dyn Device,
    net: &Network<f32>,
    head: &DeviceHead,
    weights: &[Buffer<f32>],
    x: &DeviceAct,
    labels: &[u8],
    grads: Option<&mut [Buffer<f32>]>,
) -> Result<f32, CudaError> {
    match net.arch() {
        Architecture::ConvNet { .. } => {
            convnet_pass_on(device, net, head, weights, x, labels, grads)
        }
        Architecture::ResNet18 { .. } => {
            resnet18_pass_on(device, net, head, weights, x, labels, grads)
        }
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
/// (copies in and out: for tests).
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
    let x = DeviceAct::upload(device, x)?;
    let loss = pass_on(device, net, &head, &weights, &x, labels, Some(&mut grads))?;
    Ok((loss, download_weights(device, net, &grads)?))
}

use sweep_kernels::cuda::{Buffer, CudaError, Device};

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
