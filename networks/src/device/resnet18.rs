//! Pre-activation ResNet-18(k)'s loss and gradient on a device, block for block the CPU pass of
//! `models::resnet18::run` (training-mode BatchNorm): the stem conv; per block
//! `o = ReLU(BN(h))`, `out = conv_b(ReLU(BN(conv_a(o)))) + shortcut` with the shortcut `h` or
//! `conv_1×1(BN(o))`; the final BN–ReLU–AvgPool(4) and the frozen head; backward in reverse.

use sweep_kernels::cuda::{Buffer, CudaError, Device};

use super::conv::{conv_backward_on, conv_forward_on};
use super::layers::{
    DeviceBn, DeviceBnMode, DeviceHead, add_dev, avgpool_backward_dev, avgpool_forward_dev,
    bn_backward_dev, bn_forward_dev, relu_backward_dev, relu_forward_dev,
};
use super::{DeviceAct, DeviceBatch, PassOut};
use crate::models::{Architecture, Network};

struct Block {
    bn1: DeviceBn,
    bn_sc: Option<DeviceBn>,
    o1: DeviceAct,
    bn2: DeviceBn,
    u: DeviceAct,
    first: usize,
}

/// The mean cross-entropy of ResNet-18 `net` with per-convolution weights `w` on `batch`
/// (BatchNorm in `mode`), and with `grads` its gradient, convolution for convolution, on `device`.
pub fn resnet18_pass_on(
    device: &dyn Device,
    net: &Network<f32>,
    head: &DeviceHead,
    w: &[Buffer<f32>],
    batch: &DeviceBatch,
    mode: &mut DeviceBnMode<'_>,
    grads: Option<&mut [Buffer<f32>]>,
) -> Result<PassOut, CudaError> {
    let input = &batch.x;
    let Architecture::ResNet18 { k } = net.arch() else {
        return Err(CudaError::Launch("not a ResNet-18".into()));
    };
    let convs = net.convs();
    if w.len() != convs.len() {
        return Err(CudaError::Launch(
            "a ResNet-18 and its convolutions' weights".into(),
        ));
    }
    let eps = net.eps();
    let mut h = conv_forward_on(device, &convs[0], input, &w[0])?;
    let mut cache = Vec::with_capacity(8);
    let mut idx = 1;
    for (c_in, c_out, stride) in crate::models::resnet18::blocks(k) {
        let shortcut = stride != 1 || c_in != c_out;
        let bn1 = bn_forward_dev(device, &h, eps, mode)?;
        let o1 = relu_forward_dev(device, &bn1.y)?;
        let t = conv_forward_on(device, &convs[idx], &o1, &w[idx])?;
        let bn2 = bn_forward_dev(device, &t, eps, mode)?;
        let u = relu_forward_dev(device, &bn2.y)?;
        let mut out = conv_forward_on(device, &convs[idx + 1], &u, &w[idx + 1])?;
        let bn_sc = if shortcut {
            let bs = bn_forward_dev(device, &o1, eps, mode)?;
            let s = conv_forward_on(device, &convs[idx + 2], &bs.y, &w[idx + 2])?;
            add_dev(device, &mut out, &s)?;
            Some(bs)
        } else {
            add_dev(device, &mut out, &h)?;
            None
        };
        cache.push(Block {
            bn1,
            bn_sc,
            o1,
            bn2,
            u,
            first: idx,
        });
        idx += if shortcut { 3 } else { 2 };
        h = out;
    }
    let bnf = bn_forward_dev(device, &h, eps, mode)?;
    let r = relu_forward_dev(device, &bnf.y)?;
    let feat = avgpool_forward_dev(device, &r, 4)?;
    let pass = head.forward(device, &feat, &batch.labels)?;
    let Some(grads) = grads else {
        return Ok(pass.into());
    };
    let dfeat = head.backward(device, &feat, &pass)?;
    let out = PassOut::from(pass);
    let dr = avgpool_backward_dev(device, &r, 4, &dfeat)?;
    let mut dh = bn_backward_dev(device, &bnf, &relu_backward_dev(device, &r, &dr)?)?;
    let mut conv_grad = |i: usize, x: &DeviceAct, dy: &DeviceAct| -> Result<DeviceAct, CudaError> {
        conv_backward_on(device, &convs[i], x, &w[i], dy, &mut grads[i])
    };
    for b in cache.iter().rev() {
        let i = b.first;
        let du = conv_grad(i + 1, &b.u, &dh)?;
        let dt = bn_backward_dev(device, &b.bn2, &relu_backward_dev(device, &b.u, &du)?)?;
        let mut do1 = conv_grad(i, &b.o1, &dt)?;
        match &b.bn_sc {
            Some(bs) => {
                let dbs = conv_grad(i + 2, &bs.y, &dh)?;
                let extra = bn_backward_dev(device, bs, &dbs)?;
                add_dev(device, &mut do1, &extra)?;
                dh = bn_backward_dev(device, &b.bn1, &relu_backward_dev(device, &b.o1, &do1)?)?;
            }
            None => {
                let mut dx =
                    bn_backward_dev(device, &b.bn1, &relu_backward_dev(device, &b.o1, &do1)?)?;
                add_dev(device, &mut dx, &dh)?;
                dh = dx;
            }
        }
    }
    conv_grad(0, input, &dh)?;
    Ok(out)
}
