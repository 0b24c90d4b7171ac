//! The networks' element-wise layers on a CUDA device (`pointwise.cu`), in the CPU layers' layouts
//! and arithmetic (`sweep-nn`'s `layers::{relu, pool, head}`): ReLU, non-overlapping max pooling
//! with the CPU's argmax, average pooling, the residual additions, and the head's softmax
//! cross-entropy. ReLU, pooling and additions equal the CPU bit for bit; the cross-entropy uses the device's `expf`/`logf` (glibc's on the CPU execution, so
//! equal there too; within a few ulps on a GPU).

use super::device::{Args, Buffer, Device, Pod, Shape};
use super::error::CudaError;
use super::sources::KernelSource;

const THREADS: u32 = 256;

/// A grid-stride launch over `total` elements (at most 8192 blocks of 256 threads).
pub(super) fn grid(total: usize) -> Shape {
    Shape::linear(
        total.div_ceil(THREADS as usize).clamp(1, 8192) as u32,
        THREADS,
        0,
    )
}

fn need(what: &str, got: usize, len: usize) -> Result<(), CudaError> {
    if got < len {
        return Err(CudaError::Launch(format!(
            "{what} holds {got} values, needs {len}"
        )));
    }
    Ok(())
}

/// `y = max(x, 0)` over the first `n` values.
pub fn relu_forward_on(
    device: &dyn Device,
    n: usize,
    x: &Buffer<f32>,
    y: &mut Buffer<f32>,
) -> Result<(), CudaError> {
    need("x", x.len(), n)?;
    need("y", y.len(), n)?;
    let args = Args::new().val(&(n as i64)).buf(x).buf(y);
    // SAFETY: matches relu_forward_f32(long long, const float*, float*); lengths checked.
    unsafe { device.launch(KernelSource::Pointwise, "relu_forward_f32", grid(n), args) }
}

/// `dx = dy` where the forward output `y` is positive, else 0.
pub fn relu_backward_on(
    device: &dyn Device,
    n: usize,
    y: &Buffer<f32>,
    dy: &Buffer<f32>,
    dx: &mut Buffer<f32>,
) -> Result<(), CudaError> {
    need("y", y.len(), n)?;
    need("dy", dy.len(), n)?;
    need("dx", dx.len(), n)?;
    let args = Args::new().val(&(n as i64)).buf(y).buf(dy).buf(dx);
    // SAFETY: matches relu_backward_f32's signature; lengths checked.
    unsafe { device.launch(KernelSource::Pointwise, "relu_backward_f32", grid(n), args) }
}

/// Max pooling's geometry (`struct PoolShape` of pointwise.cu): `planes` (c·n) input planes of
/// `h × w`, window and stride `k`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolShape {
    /// Input planes, c·n.
    pub planes: i64,
    /// Input height.
    pub h: i32,
    /// Input width.
    pub w: i32,
    /// Window and stride.
    pub k: i32,
    /// The four bytes C puts after `k` (explicit, so that every byte is set).
    pub reserved: i32,
}

// SAFETY: `#[repr(C)]`, an i64 and four i32 with no implicit padding: `struct PoolShape`.
unsafe impl Pod for PoolShape {}

impl PoolShape {
    /// Input values.
    pub fn input_len(&self) -> usize {
        self.planes as usize * self.h as usize * self.w as usize
    }

    /// Output values (floor mode).
    pub fn output_len(&self) -> usize {
        let k = self.k.max(1);
        self.planes as usize * (self.h / k) as usize * (self.w / k) as usize
    }
}

/// Max pooling of `x` into `y`, with each output's argmax (a flat index into `x`) in `arg`.
pub fn maxpool_forward_on(
    device: &dyn Device,
    s: &PoolShape,
    x: &Buffer<f32>,
    y: &mut Buffer<f32>,
    arg: &mut Buffer<u32>,
) -> Result<(), CudaError> {
    if s.k < 1 || u32::try_from(s.input_len()).is_err() {
        return Err(CudaError::Launch(format!("pooling {s:?}")));
    }
    need("x", x.len(), s.input_len())?;
    need("y", y.len(), s.output_len())?;
    need("arg", arg.len(), s.output_len())?;
    let args = Args::new().val(s).buf(x).buf(y).buf(arg);
    // SAFETY: matches maxpool_forward_f32's signature; lengths checked.
    unsafe {
        device.launch(
            KernelSource::Pointwise,
            "maxpool_forward_f32",
            grid(s.output_len()),
            args,
        )
    }
}

/// The gradient of max pooling: each input takes its window's `dy` if it was the maximum.
pub fn maxpool_backward_on(
    device: &dyn Device,
    s: &PoolShape,
    arg: &Buffer<u32>,
    dy: &Buffer<f32>,
    dx: &mut Buffer<f32>,
) -> Result<(), CudaError> {
    if s.k < 1 {
        return Err(CudaError::Launch(format!("pooling {s:?}")));
    }
    need("arg", arg.len(), s.output_len())?;
    need("dy", dy.len(), s.output_len())?;
    need("dx", dx.len(), s.input_len())?;
    let args = Args::new().val(s).buf(arg).buf(dy).buf(dx);
    // SAFETY: matches maxpool_backward_f32's signature; lengths checked.
    unsafe {
        device.launch(
            KernelSource::Pointwise,
            "maxpool_backward_f32",
            grid(s.input_len()),
            args,
        )
    }
}

/// What [`cross_entropy_on`] writes per sample.
#[derive(Debug)]
pub struct CrossEntropyOut<'a> {
    /// `dL/dlogits` of the mean loss, `[classes, n]`.
    pub dlogits: &'a mut Buffer<f32>,
    /// The sample's loss term.
    pub term: &'a mut Buffer<f32>,
    /// 1 when the sample's largest logit (ties to the lowest class) is its label's, else 0.
    pub hit: &'a mut Buffer<u32>,
}

/// The cross-entropy of `logits` (`[classes, n]`) against `labels` (each < classes), with its
/// gradient and the classification hits, into `out`.
pub fn cross_entropy_on(
    device: &dyn Device,
    (classes, n): (usize, usize),
    logits: &Buffer<f32>,
    labels: &Buffer<u32>,
    out: CrossEntropyOut<'_>,
) -> Result<(), CudaError> {
    let CrossEntropyOut { dlogits, term, hit } = out;
    need("logits", logits.len(), classes * n)?;
    need("dlogits", dlogits.len(), classes * n)?;
    need("labels", labels.len(), n)?;
    need("term", term.len(), n)?;
    need("hit", hit.len(), n)?;
    let (k, n_i) = (
        i32::try_from(classes).map_err(|_| CudaError::Launch("classes".into()))?,
        i32::try_from(n).map_err(|_| CudaError::Launch("batch".into()))?,
    );
    if classes == 0 || n == 0 {
        return Ok(());
    }
    let args = Args::new()
        .val(&k)
        .val(&n_i)
        .buf(logits)
        .buf(labels)
        .buf(dlogits)
        .buf(term)
        .buf(hit);
    // SAFETY: matches cross_entropy_f32's signature; lengths checked; the caller's labels are
    // below `classes` (the kernel indexes logits by them).
    unsafe { device.launch(KernelSource::Pointwise, "cross_entropy_f32", grid(n), args) }
}

/// `a += b` over the first `n` values.
pub fn add_on(
    device: &dyn Device,
    n: usize,
    a: &mut Buffer<f32>,
    b: &Buffer<f32>,
) -> Result<(), CudaError> {
    need("a", a.len(), n)?;
    need("b", b.len(), n)?;
    let args = Args::new().val(&(n as i64)).buf(a).buf(b);
    // SAFETY: matches add_f32(long long, float*, const float*); lengths checked.
    unsafe { device.launch(KernelSource::Pointwise, "add_f32", grid(n), args) }
}

/// Average pooling of `x` into `y` (window = stride = `k`).
pub fn avgpool_forward_on(
    device: &dyn Device,
    s: &PoolShape,
    x: &Buffer<f32>,
    y: &mut Buffer<f32>,
) -> Result<(), CudaError> {
    if s.k < 1 {
        return Err(CudaError::Launch(format!("pooling {s:?}")));
    }
    need("x", x.len(), s.input_len())?;
    need("y", y.len(), s.output_len())?;
    let args = Args::new().val(s).buf(x).buf(y);
    // SAFETY: matches avgpool_forward_f32's signature; lengths checked.
    unsafe {
        device.launch(
            KernelSource::Pointwise,
            "avgpool_forward_f32",
            grid(s.output_len()),
            args,
        )
    }
}

/// The gradient of average pooling into `dx` (input-shaped, overwritten).
pub fn avgpool_backward_on(
    device: &dyn Device,
    s: &PoolShape,
    dy: &Buffer<f32>,
    dx: &mut Buffer<f32>,
) -> Result<(), CudaError> {
    if s.k < 1 {
        return Err(CudaError::Launch(format!("pooling {s:?}")));
    }
    need("dy", dy.len(), s.output_len())?;
    need("dx", dx.len(), s.input_len())?;
    let args = Args::new().val(s).buf(dy).buf(dx);
    // SAFETY: matches avgpool_backward_f32's signature; lengths checked.
    unsafe {
        device.launch(
            KernelSource::Pointwise,
            "avgpool_backward_f32",
            grid(s.input_len()),
            args,
        )
    }
}
