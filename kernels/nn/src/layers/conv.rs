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

/// Output positions `o` in `[lo, hi)` whose input `o·stride + off − pad` lies in `[0, size)`.
fn valid(off: usize, pad: usize, stride: usize, size: usize, out: usize) -> (usize, usize) {
    let lo = if off >= pad {
        0
    } else {
        (pad - off).div_ceil(stride)
    };
    let hi = if size + pad > off {
        ((size - 1 + pad - off) / stride + 1).min(out)
    } else {
        0
    };
    (lo.min(hi), hi)
}

/// The im2col matrix `[c_in·k·k, n·ho·wo]` of `x`. Rows are filled a contiguous run at a time
/// (a slice copy for stride 1): im2col and its adjoint were a third of a step's time with
/// per-element bounds tests.
fn im2col<T: Real>(cv: &Conv, x: &Act<T>, ho: usize, wo: usize) -> Vec<T> {
    let cols_n = x.n * ho * wo;
    let mut cols = vec![T::ZERO; cv.fan_in() * cols_n];
    for c in 0..x.c {
        for ki in 0..cv.k {
            let (oh_lo, oh_hi) = valid(ki, cv.pad, cv.stride, x.h, ho);
            for kj in 0..cv.k {
                let (ow_lo, ow_hi) = valid(kj, cv.pad, cv.stride, x.w, wo);
                let row = (c * cv.k + ki) * cv.k + kj;
                let dst = &mut cols[row * cols_n..(row + 1) * cols_n];
                for n in 0..x.n {
                    let src = &x.data[(c * x.n + n) * x.h * x.w..][..x.h * x.w];
                    for oh in oh_lo..oh_hi {
                        let ih = oh * cv.stride + ki - cv.pad;
                        let srow = &src[ih * x.w..][..x.w];
                        let drow = &mut dst[(n * ho + oh) * wo..][..wo];
                        let iw0 = ow_lo * cv.stride + kj - cv.pad;
                        if cv.stride == 1 {
                            drow[ow_lo..ow_hi].copy_from_slice(&srow[iw0..iw0 + ow_hi - ow_lo]);
                        } else {
                            for (d, s) in drow[ow_lo..ow_hi]
                                .iter_mut()
                                .zip(srow[iw0..].iter().step_by(cv.stride))
                            {
                                *d = *s;
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
            let (oh_lo, oh_hi) = valid(ki, cv.pad, cv.stride, dx.h, ho);
            for kj in 0..cv.k {
                let (ow_lo, ow_hi) = valid(kj, cv.pad, cv.stride, dx.w, wo);
                let row = (c * cv.k + ki) * cv.k + kj;
                let src = &cols[row * cols_n..(row + 1) * cols_n];
                for n in 0..dx.n {
                    let plane = &mut dx.data[(c * dx.n + n) * dx.h * dx.w..][..dx.h * dx.w];
                    for oh in oh_lo..oh_hi {
                        let ih = oh * cv.stride + ki - cv.pad;
                        let drow = &mut plane[ih * dx.w..][..dx.w];
                        let srow = &src[(n * ho + oh) * wo..][..wo];
                        let iw0 = ow_lo * cv.stride + kj - cv.pad;
                        if cv.stride == 1 {
                            let len = ow_hi - ow_lo;
                            for (d, s) in drow[iw0..iw0 + len].iter_mut().zip(&srow[ow_lo..ow_hi]) {
                                *d += *s;
                            }
                        } else {
                            for (d, s) in drow[iw0..]
                                .iter_mut()
                                .step_by(cv.stride)
                                .zip(&srow[ow_lo..ow_hi])
                            {
                                *d += *s;
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
