//! 2-D convolution without bias, as im2col + one GEMM over the whole batch. In CNHW layout the
//! GEMM `W [C_out, C_in·k·k] × cols [C_in·k·k, N·H_out·W_out]` writes the output directly in the
//! layout the next layer reads.

use crate::real::{Op, Real, gemm};
use crate::tensor::Act;

/// A convolution's shape: square kernel, zero padding, stride. Its weight is `[c_out, c_in, k, k]`
/// (PyTorch's order), flattened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv {
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// Kernel size.
    pub k: usize,
    /// Stride.
    pub stride: usize,
    /// Zero padding on each side.
    pub pad: usize,
}

impl Conv {
    /// A 3×3 convolution with padding 1.
    pub fn k3(c_in: usize, c_out: usize, stride: usize) -> Self {
        Self {
            c_in,
            c_out,
            k: 3,
            stride,
            pad: 1,
        }
    }

    /// A 1×1 convolution without padding.
    pub fn k1(c_in: usize, c_out: usize, stride: usize) -> Self {
        Self {
            c_in,
            c_out,
            k: 1,
            stride,
            pad: 0,
        }
    }

    /// Number of weights.
    pub fn size(&self) -> usize {
        self.c_out * self.c_in * self.k * self.k
    }

    /// Fan-in (`c_in · k²`), which sets PyTorch's default init bound.
    pub fn fan_in(&self) -> usize {
        self.c_in * self.k * self.k
    }

    /// Output height or width for an input of size `x`.
    pub fn out_size(&self, x: usize) -> usize {
        (x + 2 * self.pad).saturating_sub(self.k) / self.stride + 1
    }
}

/// The im2col matrix `[c_in·k·k, n·ho·wo]` of `x`.
fn im2col<T: Real>(cv: &Conv, x: &Act<T>, ho: usize, wo: usize) -> Vec<T> {
    let cols_n = x.n * ho * wo;
    let mut cols = vec![T::ZERO; cv.fan_in() * cols_n];
    for c in 0..x.c {
        for ki in 0..cv.k {
            for kj in 0..cv.k {
                let row = (c * cv.k + ki) * cv.k + kj;
                let dst = &mut cols[row * cols_n..(row + 1) * cols_n];
                for n in 0..x.n {
                    let src = &x.data[(c * x.n + n) * x.h * x.w..][..x.h * x.w];
                    for oh in 0..ho {
                        let ih = (oh * cv.stride + ki) as isize - cv.pad as isize;
                        if ih < 0 || ih >= x.h as isize {
                            continue;
                        }
                        let srow = &src[ih as usize * x.w..][..x.w];
                        let drow = &mut dst[(n * ho + oh) * wo..][..wo];
                        for (ow, d) in drow.iter_mut().enumerate() {
                            let iw = (ow * cv.stride + kj) as isize - cv.pad as isize;
                            if iw >= 0 && iw < x.w as isize {
                                *d = srow[iw as usize];
                            }
                        }
                    }
                }
            }
        }
    }
    cols
}

/// Adds the im2col-shaped `cols` back into an input-shaped gradient (the adjoint of im2col).
fn col2im<T: Real>(cv: &Conv, cols: &[T], dx: &mut Act<T>, ho: usize, wo: usize) {
    let cols_n = dx.n * ho * wo;
    for c in 0..dx.c {
        for ki in 0..cv.k {
            for kj in 0..cv.k {
                let row = (c * cv.k + ki) * cv.k + kj;
                let src = &cols[row * cols_n..(row + 1) * cols_n];
                for n in 0..dx.n {
                    let plane = &mut dx.data[(c * dx.n + n) * dx.h * dx.w..][..dx.h * dx.w];
                    for oh in 0..ho {
                        let ih = (oh * cv.stride + ki) as isize - cv.pad as isize;
                        if ih < 0 || ih >= dx.h as isize {
                            continue;
                        }
                        let drow = &mut plane[ih as usize * dx.w..][..dx.w];
                        let srow = &src[(n * ho + oh) * wo..][..wo];
                        for (ow, s) in srow.iter().enumerate() {
                            let iw = (ow * cv.stride + kj) as isize - cv.pad as isize;
                            if iw >= 0 && iw < dx.w as isize {
                                drow[iw as usize] += *s;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `y = conv(x; weight)`, `weight` of length [`Conv::size`].
pub fn conv_forward<T: Real>(cv: &Conv, x: &Act<T>, weight: &[T]) -> Act<T> {
    debug_assert_eq!(x.c, cv.c_in);
    let (ho, wo) = (cv.out_size(x.h), cv.out_size(x.w));
    let cols = im2col(cv, x, ho, wo);
    let mut y = Act::zeros(cv.c_out, x.n, ho, wo);
    gemm(
        cv.c_out,
        cv.fan_in(),
        x.n * ho * wo,
        weight,
        Op::N,
        &cols,
        Op::N,
        T::ZERO,
        &mut y.data,
    );
    y
}

/// Gradients of a convolution: returns `dL/dx` and writes `dL/dweight` into `dweight`
/// (overwritten). `x` is the forward input, `dy` the output gradient.
pub fn conv_backward<T: Real>(
    cv: &Conv,
    x: &Act<T>,
    weight: &[T],
    dy: &Act<T>,
    dweight: &mut [T],
) -> Act<T> {
    let (ho, wo) = (dy.h, dy.w);
    let cols = im2col(cv, x, ho, wo);
    let cols_n = x.n * ho * wo;
    // dW [c_out, fan_in] = dy [c_out, cols_n] × colsᵀ.
    gemm(
        cv.c_out,
        cols_n,
        cv.fan_in(),
        &dy.data,
        Op::N,
        &cols,
        Op::T,
        T::ZERO,
        dweight,
    );
    // dcols [fan_in, cols_n] = Wᵀ × dy.
    let mut dcols = cols;
    gemm(
        cv.fan_in(),
        cv.c_out,
        cols_n,
        weight,
        Op::T,
        &dy.data,
        Op::N,
        T::ZERO,
        &mut dcols,
    );
    let mut dx = x.zeros_like();
    col2im(cv, &dcols, &mut dx, ho, wo);
    dx
}
