//! BatchNorm, ReLU, max pooling and the frozen head on a device, over [`DeviceAct`]s, as the CPU
//! layers of `crate::layers` compute them (training-mode BatchNorm; the head's cross-entropy).

use sweep_kernels::cuda::batchnorm::{bn_backward_on, bn_forward_on};
use sweep_kernels::cuda::pointwise::{
    PoolShape, add_on, avgpool_backward_on, avgpool_forward_on, cross_entropy_on,
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

/// Training-mode BatchNorm of `x`.
pub fn bn_forward_dev(device: &dyn Device, x: &DeviceAct, eps: f32) -> Result<DeviceBn, CudaError> {
    let mut y = like(device, x)?;
    let f = bn_forward_on(device, &x.data, x.c, x.n * x.h * x.w, eps, &mut y.data)?;
    Ok(DeviceBn {
        y,
        inv_std: f.inv_std,
    })
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

/// The frozen head on a device: weight `[classes, features]` and the bias broadcast over a batch.
#[derive(Debug)]
pub struct DeviceHead {
    weight: Buffer<f32>,
    bias: Vec<f32>,
    classes: usize,
    features: usize,
}

/// The head's outputs for one batch: logits, dL/dlogits of the mean loss, and the mean loss.
#[derive(Debug)]
pub struct HeadPass {
    /// Logits `[classes, n]`.
    pub logits: Buffer<f32>,
    /// dL/dlogits.
    pub dlogits: Buffer<f32>,
    /// Mean cross-entropy, summed in sample order in f32 as the CPU does.
    pub loss: f32,
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
        labels: &[u8],
    ) -> Result<HeadPass, CudaError> {
        let (k, n) = (self.classes, feat.n);
        if feat.c * feat.h * feat.w != self.features || labels.len() != n {
            return Err(CudaError::Launch(
                "the head does not fit these features".into(),
            ));
        }
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
        let labels: Vec<u32> = labels.iter().map(|l| u32::from(*l)).collect();
        if labels.iter().any(|l| *l as usize >= k) {
            return Err(CudaError::Launch(format!("a label ≥ {k} classes")));
        }
        let mut dlogits = device.zeros::<f32>(k * n)?;
        let mut term = device.zeros::<f32>(n)?;
        cross_entropy_on(
            device,
            (k, n),
            &logits,
            &device.upload(&labels)?,
            &mut dlogits,
            &mut term,
        )?;
        let total = device
            .download_all(&term)?
            .iter()
            .fold(0.0f32, |s, t| s + t);
        Ok(HeadPass {
            logits,
            dlogits,
            loss: total * (1.0 / n as f32),
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
