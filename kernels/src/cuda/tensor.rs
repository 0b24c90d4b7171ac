//! The tensor operations a network's training step needs on a CUDA device, each one kernel of
//! `kernels/cuda/`: f32 matrix products ([`gemm_on`], `gemm.cu`) and a convolution's column
//! matrix and its adjoint ([`im2col_on`], [`col2im_on`], `im2col.cu`), in the CPU layers' layouts
//! (`sweep-nn`: row-major matrices, CNHW activations), so that a device convolution is the CPU's
//! im2col + GEMM step for step.
//!
//! Accuracy: im2col copies and col2im sums in the CPU's order, so both equal the CPU bit for bit.
//! A product element is a sequential f32 sum of k fused multiply-adds, within
//! [`gemm_error_bound`]`(k)`·Σ|a||b| of the exact value (Higham's γ_k); the CPU's GEMM sums in
//! another order within the same bound, so the two differ by at most twice it.

use super::device::{Args, Buffer, Device, Pod, Shape};
use super::error::CudaError;
use super::sources::KernelSource;

/// Threads per block of the element-wise kernels.
const THREADS: u32 = 256;
/// Tile edge of `gemm.cu`.
const GEMM_TILE: usize = 64;

/// γ_k = k·u/(1 − k·u) for f32 (u = 2⁻²⁴): the relative bound of a k-term f32 sum of products.
pub fn gemm_error_bound(k: usize) -> f64 {
    let ku = k as f64 * f64::powi(2.0, -24);
    ku / (1.0 - ku)
}

fn int(v: usize, what: &str) -> Result<i32, CudaError> {
    i32::try_from(v)
        .map_err(|_| CudaError::Launch(format!("{what} = {v} does not fit a kernel int")))
}

fn check_len(what: &str, got: usize, need: usize) -> Result<(), CudaError> {
    if got < need {
        return Err(CudaError::Launch(format!(
            "{what} holds {got} values, the operation reads or writes {need}"
        )));
    }
    Ok(())
}

/// `c ← a'·b' + beta·c` for row-major f32 matrices: `a'` (m×k) is `a` (m×k) or, with `trans_a`,
/// the transpose of `a` (k×m); `b'` (k×n) likewise; `c` is m×n. With `beta = 0`, `c` is only
/// written.
#[allow(clippy::too_many_arguments)]
pub fn gemm_on(
    device: &dyn Device,
    (m, n, k): (usize, usize, usize),
    a: &Buffer<f32>,
    trans_a: bool,
    b: &Buffer<f32>,
    trans_b: bool,
    beta: f32,
    c: &mut Buffer<f32>,
) -> Result<(), CudaError> {
    check_len("a", a.len(), m * k)?;
    check_len("b", b.len(), k * n)?;
    check_len("c", c.len(), m * n)?;
    if m == 0 || n == 0 {
        return Ok(());
    }
    let (mi, ni, ki) = (int(m, "m")?, int(n, "n")?, int(k, "k")?);
    let shape = Shape {
        grid: (
            n.div_ceil(GEMM_TILE) as u32,
            u32::try_from(m.div_ceil(GEMM_TILE))
                .map_err(|_| CudaError::Launch(format!("m = {m} too large")))?,
            1,
        ),
        block: (THREADS, 1, 1),
        shared_bytes: 0,
    };
    let args = Args::new()
        .val(&mi)
        .val(&ni)
        .val(&ki)
        .buf(a)
        .val(&i32::from(trans_a))
        .buf(b)
        .val(&i32::from(trans_b))
        .val(&beta)
        .buf(c);
    // SAFETY: matches gemm_f32's signature; the lengths were checked above.
    unsafe { device.launch(KernelSource::Gemm, "gemm_f32", shape, args) }
}

/// A convolution's geometry as `im2col.cu` takes it (`struct ConvShape`): input `[c, n, h, w]`,
/// square kernel `k`, stride, zero padding, output `ho × wo`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConvShape {
    /// Input channels.
    pub c: i32,
    /// Images.
    pub n: i32,
    /// Input height.
    pub h: i32,
    /// Input width.
    pub w: i32,
    /// Kernel size.
    pub k: i32,
    /// Stride.
    pub stride: i32,
    /// Zero padding on each side.
    pub pad: i32,
    /// Output height.
    pub ho: i32,
    /// Output width.
    pub wo: i32,
}

// SAFETY: nine `i32`s, `#[repr(C)]`, no padding: the layout of `struct ConvShape`.
unsafe impl Pod for ConvShape {}

impl ConvShape {
    /// The geometry of a `k×k` convolution with `stride` and `pad` over `[c, n, h, w]`, its output
    /// size as PyTorch's; `None` when a size does not fit an `int`.
    pub fn new(
        (c, n, h, w): (usize, usize, usize, usize),
        k: usize,
        stride: usize,
        pad: usize,
    ) -> Option<Self> {
        let out = |x: usize| (x + 2 * pad).saturating_sub(k) / stride.max(1) + 1;
        let i = |v: usize| i32::try_from(v).ok();
        Some(Self {
            c: i(c)?,
            n: i(n)?,
            h: i(h)?,
            w: i(w)?,
            k: i(k)?,
            stride: i(stride.max(1))?,
            pad: i(pad)?,
            ho: i(out(h))?,
            wo: i(out(w))?,
        })
    }

    /// Values of the input tensor.
    pub fn input_len(&self) -> usize {
        [self.c, self.n, self.h, self.w]
            .iter()
            .map(|v| *v as usize)
            .product()
    }

    /// Values of the column matrix `[c·k·k, n·ho·wo]`.
    pub fn cols_len(&self) -> usize {
        [self.c, self.k, self.k, self.n, self.ho, self.wo]
            .iter()
            .map(|v| *v as usize)
            .product()
    }
}

fn elementwise(total: usize) -> Shape {
    Shape::linear(
        total.div_ceil(THREADS as usize).clamp(1, 8192) as u32,
        THREADS,
        0,
    )
}

/// The column matrix of `x` (CNHW) into `cols`.
pub fn im2col_on(
    device: &dyn Device,
    s: &ConvShape,
    x: &Buffer<f32>,
    cols: &mut Buffer<f32>,
) -> Result<(), CudaError> {
    check_len("x", x.len(), s.input_len())?;
    check_len("cols", cols.len(), s.cols_len())?;
    let args = Args::new().val(s).buf(x).buf(cols);
    // SAFETY: matches im2col_f32(ConvShape, const float*, float*); lengths checked.
    unsafe {
        device.launch(
            KernelSource::Im2col,
            "im2col_f32",
            elementwise(s.cols_len()),
            args,
        )
    }
}

/// The adjoint of [`im2col_on`]: `dx` (CNHW, overwritten) gathers every column entry that reads
/// its element.
pub fn col2im_on(
    device: &dyn Device,
    s: &ConvShape,
    cols: &Buffer<f32>,
    dx: &mut Buffer<f32>,
) -> Result<(), CudaError> {
    check_len("cols", cols.len(), s.cols_len())?;
    check_len("dx", dx.len(), s.input_len())?;
    let args = Args::new().val(s).buf(cols).buf(dx);
    // SAFETY: matches col2im_f32(ConvShape, const float*, float*); lengths checked.
    unsafe {
        device.launch(
            KernelSource::Im2col,
            "col2im_f32",
            elementwise(s.input_len()),
            args,
        )
    }
}
