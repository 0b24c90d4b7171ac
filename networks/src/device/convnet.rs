//! ConvNet(c)'s loss and gradient on a device, stage for stage the CPU pass of
//! `models::convnet::run` (training-mode BatchNorm): conv–BN–ReLU, then three conv–BN–ReLU–
//! MaxPool(2) stages, MaxPool(4), the frozen head and the cross-entropy; backward in reverse.

use sweep_kernels::cuda::{Buffer, CudaError, Device};

use super::DeviceAct;
use super::conv::{conv_backward_on, conv_forward_on};
use super::layers::{
    DeviceBn, DeviceHead, bn_backward_dev, bn_forward_dev, maxpool_backward_dev,
    maxpool_forward_dev, relu_backward_dev, relu_forward_dev,
};
use crate::models::{Architecture, Network};
use crate::tensor::Act;

struct Stage {
    input: DeviceAct,
    bn: DeviceBn,
    relu: DeviceAct,
    pool: Option<Buffer<u32>>,
}

/// The mean cross-entropy of ConvNet `net` at scale-invariant weights `si` on the batch
/// `(x, labels)`, and its gradient (length `dim`), computed on `device`.
pub fn convnet_loss_grad_on(
    device: &dyn Device,
    net: &Network<f32>,
    si: &[f32],
    x: &Act<f32>,
    labels: &[u8],
) -> Result<(f32, Vec<f32>), CudaError> {
    if !matches!(net.arch(), Architecture::ConvNet { .. }) || si.len() != net.dim() {
        return Err(CudaError::Launch("a ConvNet and its dim weights".into()));
    }
    let head = net.head();
    let head = DeviceHead::new(device, &head.weight, &head.bias, head.classes)?;
    let eps = net.eps();
    let weights: Vec<Buffer<f32>> = (0..net.convs().len())
        .map(|i| device.upload(net.weight(si, i)))
        .collect::<Result<_, _>>()?;
    let mut stages: Vec<Stage> = Vec::with_capacity(4);
    let mut h = DeviceAct::upload(device, x)?;
    for (i, cv) in net.convs().iter().enumerate() {
        let a = conv_forward_on(device, cv, &h, &weights[i])?;
        let bn = bn_forward_dev(device, &a, eps)?;
        let relu = relu_forward_dev(device, &bn.y)?;
        let (out, pool) = if i == 0 {
            // The unpooled stage passes its ReLU output on and keeps it for the backward pass:
            // a second (identical) evaluation stands in for a device-side copy.
            (relu_forward_dev(device, &bn.y)?, None)
        } else {
            let (p, arg) = maxpool_forward_dev(device, &relu, 2)?;
            (p, Some(arg))
        };
        stages.push(Stage {
            input: h,
            bn,
            relu,
            pool,
        });
        h = out;
    }
    let (feat, arg4) = maxpool_forward_dev(device, &h, 4)?;
    let pass = head.forward(device, &feat, labels)?;
    let dfeat = head.backward(device, &feat, &pass)?;
    let mut dh = maxpool_backward_dev(device, &h, 4, &arg4, &dfeat)?;
    let mut grad = vec![0.0f32; net.dim()];
    for (i, st) in stages.iter().enumerate().rev() {
        let drelu = match &st.pool {
            Some(arg) => maxpool_backward_dev(device, &st.relu, 2, arg, &dh)?,
            None => dh,
        };
        let da = bn_backward_dev(
            device,
            &st.bn,
            &relu_backward_dev(device, &st.relu, &drelu)?,
        )?;
        let cv = &net.convs()[i];
        let mut dw = device.zeros::<f32>(cv.size())?;
        dh = conv_backward_on(device, cv, &st.input, &weights[i], &da, &mut dw)?;
        device.copy_out(&dw, 0..cv.size(), &mut grad[net.range(i)])?;
    }
    Ok((pass.loss, grad))
}
