//! The networks' layers on a CUDA device (feature `cuda`): activations as device buffers in the CPU
//! layers' CNHW layout ([`DeviceAct`]), and each layer built from the tensor kernels of
//! `sweep_kernels::cuda::tensor` the way the CPU layer is built from its host routines, so that the
//! two compute the same thing in the same layouts and the CPU layer is the device layer's oracle.
//! It runs on a GPU or on the CPU execution of the kernels (`CudaOnCpu`), which is how it is tested.

mod conv;
mod convnet;
pub mod layers;
mod resnet18;

pub use conv::{conv_backward_on, conv_forward_on};
pub use convnet::convnet_loss_grad_on;
pub use resnet18::resnet18_loss_grad_on;

use crate::models::{Architecture, Network};
use crate::tensor::Act as HostAct;

/// The mean cross-entropy of `net` at weights `si` on `(x, labels)` and its gradient, on `device`.
pub fn loss_grad_on(
    device: &dyn Device,
    net: &Network<f32>,
    si: &[f32],
    x: &HostAct<f32>,
    labels: &[u8],
) -> Result<(f32, Vec<f32>), CudaError> {
    match net.arch() {
        Architecture::ConvNet { .. } => convnet_loss_grad_on(device, net, si, x, labels),
        Architecture::ResNet18 { .. } => resnet18_loss_grad_on(device, net, si, x, labels),
    }
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
