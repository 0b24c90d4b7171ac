//! ConvNet(c)'s loss and gradient on a device, stage for stage the CPU pass of
//! `models::convnet::run` (training-mode BatchNorm): conv–BN–ReLU, then three conv–BN–ReLU–
//! MaxPool(2) stages, MaxPool(4), the frozen head and the cross-entropy; backward in reverse.

use sweep_kernels::cuda::{Buffer, CudaError, Device};

use super::conv::{conv_backward_on, conv_forward_on};
use super::layers::{
    DeviceBn, DeviceBnMode, DeviceHead, bn_backward_dev, bn_forward_dev, maxpool_backward_dev,
    maxpool_forward_dev, relu_backward_dev, relu_forward_dev,
};
use super::{DeviceAct, DeviceBatch, PassOut};
use crate::models::{Architecture, Network};

/// What a stage keeps for the backward pass (its input is `x` or the previous stage's output).
struct Stage {
    bn: DeviceBn,
    relu: DeviceAct,
    pool: Option<Buffer<u32>>,
    /// The stage's output (the next stage's input).
    out: Option<DeviceAct>,
}

/// The mean cross-entropy of ConvNet `net` with per-convolution weights `weights` on `batch`
/// (BatchNorm in `mode`), and with `grads` its gradient, convolution for convolution, on `device`.
pub fn convnet_pass_on(
    device: &dyn Device,
    net: &Network<f32>,
    head: &DeviceHead,
    weights: &[Buffer<f32>],
    batch: &DeviceBatch,
    mode: &mut DeviceBnMode<'_>,
    grads: Option<&mut [Buffer<f32>]>,
) -> Result<PassOut, CudaError> {
    let x = &batch.x;
    if !matches!(net.arch(), Architecture::ConvNet { .. }) || weights.len() != net.convs().len() {
        return Err(CudaError::Launch(
            "a ConvNet and its convolutions' weights".into(),
        ));
    }
    let eps = net.eps();
    let mut stages: Vec<Stage> = Vec::with_capacity(4);
    for (i, cv) in net.convs().iter().enumerate() {
        let input = stages.last().and_then(|s| s.out.as_ref()).unwrap_or(x);
        let a = conv_forward_on(device, cv, input, &weights[i])?;
        let bn = bn_forward_dev(device, &a, eps, mode)?;
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
            bn,
            relu,
            pool,
            out: Some(out),
        });
    }
    let h = stages
        .last_mut()
        .and_then(|s| s.out.take())
        .ok_or_else(|| CudaError::Launch("a ConvNet without convolutions".into()))?;
    let (feat, arg4) = maxpool_forward_dev(device, &h, 4)?;
    let pass = head.forward(device, &feat, &batch.labels)?;
    let Some(grads) = grads else {
        return Ok(pass.into());
    };
    let dfeat = head.backward(device, &feat, &pass)?;
    let out = PassOut::from(pass);
    let mut dh = maxpool_backward_dev(device, &h, 4, &arg4, &dfeat)?;
    for i in (0..stages.len()).rev() {
        let st = &stages[i];
        let drelu = match &st.pool {
            Some(arg) => maxpool_backward_dev(device, &st.relu, 2, arg, &dh)?,
            None => dh,
        };
        let da = bn_backward_dev(
            device,
            &st.bn,
            &relu_backward_dev(device, &st.relu, &drelu)?,
        )?;
        let input = if i == 0 {
            x
        } else {
            stages[i - 1]
                .out
                .as_ref()
                .ok_or_else(|| CudaError::Launch("stage output".into()))?
        };
        dh = conv_backward_on(
            device,
            &net.convs()[i],
            input,
            &weights[i],
            &da,
            &mut grads[i],
        )?;
    }
    Ok(out)
}
