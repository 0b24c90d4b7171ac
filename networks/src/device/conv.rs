//! A convolution on a device as the CPU layer does it (`layers::conv`): im2col, then one GEMM
//! `W [c_out, c_in·k·k] × cols [c_in·k·k, n·ho·wo]` writing the output in CNHW; backward
//! `dW = dy × colsᵀ` and `dx = col2im(Wᵀ × dy)`.

use sweep_kernels::cuda::tensor::{ConvShape, col2im_on, gemm_on, im2col_on};
use sweep_kernels::cuda::{Buffer, CudaError, Device};

use super::DeviceAct;
use crate::layers::Conv;

fn shape(cv: &Conv, x: &DeviceAct) -> Result<ConvShape, CudaError> {
    if x.c != cv.c_in {
        return Err(CudaError::Launch(format!(
            "convolution of {} input channels given {}",
            cv.c_in, x.c
        )));
    }
    ConvShape::new((x.c, x.n, x.h, x.w), cv.k, cv.stride, cv.pad)
        .ok_or_else(|| CudaError::Launch("convolution too large for the kernels".into()))
}

fn columns(device: &dyn Device, s: &ConvShape, x: &DeviceAct) -> Result<Buffer<f32>, CudaError> {
    let mut cols = device.zeros::<f32>(s.cols_len())?;
    im2col_on(device, s, &x.data, &mut cols)?;
    Ok(cols)
}

/// `y = conv(x; weight)`, `weight` of length [`Conv::size`] on the device.
pub fn conv_forward_on(
    device: &dyn Device,
    cv: &Conv,
    x: &DeviceAct,
    weight: &Buffer<f32>,
) -> Result<DeviceAct, CudaError> {
    let s = shape(cv, x)?;
    let (ho, wo) = (s.ho as usize, s.wo as usize);
    let cols = columns(device, &s, x)?;
    let mut y = DeviceAct::zeros(device, (cv.c_out, x.n, ho, wo))?;
    let cols_n = x.n * ho * wo;
    gemm_on(
        device,
        (cv.c_out, cols_n, cv.fan_in()),
        weight,
        false,
        &cols,
        false,
        0.0,
        &mut y.data,
    )?;
    Ok(y)
}

/// Gradients of a convolution: returns `dL/dx` and writes `dL/dweight` into `dweight`
/// (overwritten). `x` is the forward input, `dy` the output gradient.
pub fn conv_backward_on(
    device: &dyn Device,
    cv: &Conv,
    x: &DeviceAct,
    weight: &Buffer<f32>,
    dy: &DeviceAct,
    dweight: &mut Buffer<f32>,
) -> Result<DeviceAct, CudaError> {
    let s = shape(cv, x)?;
    if (dy.c, dy.n, dy.h, dy.w) != (cv.c_out, x.n, s.ho as usize, s.wo as usize) {
        return Err(CudaError::Launch(format!(
            "output gradient of shape {:?} for a convolution output {:?}",
            (dy.c, dy.n, dy.h, dy.w),
            (cv.c_out, x.n, s.ho, s.wo)
        )));
    }
    let cols = columns(device, &s, x)?;
    let cols_n = x.n * dy.h * dy.w;
    // dW [c_out, fan_in] = dy [c_out, cols_n] × colsᵀ.
    gemm_on(
        device,
        (cv.c_out, cv.fan_in(), cols_n),
        &dy.data,
        false,
        &cols,
        true,
        0.0,
        dweight,
    )?;
    // dcols [fan_in, cols_n] = Wᵀ × dy.
    let mut dcols = cols;
    gemm_on(
        device,
        (cv.fan_in(), cols_n, cv.c_out),
        weight,
        true,
        &dy.data,
        false,
        0.0,
        &mut dcols,
    )?;
    let mut dx = DeviceAct::zeros(device, (x.c, x.n, x.h, x.w))?;
    col2im_on(device, &s, &dcols, &mut dx.data)?;
    Ok(dx)
}
