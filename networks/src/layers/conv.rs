//! 2-D convolution without bias, as im2col + one GEMM over the whole batch. In CNHW layout the
//! GEMM `W [C_out, C_in·k·k] × cols [C_in·k·k, N·H_out·W_out]` writes the output directly in the
//! layout the next layer reads. im2col, the GEMMs and col2im split over the rayon pool
//! ([`crate::par`]).

use crate::gemm::{Op, gemm, gemm_new};
use crate::par;
use crate::real::Real;
use crate::scratch::Scratch;
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

/// The im2col matrix `[c_in·k·k, n·ho·wo]` of `x`, in this thread's reused buffer
/// ([`Scratch`]), its rows filled in parallel. Each row is written a contiguous run at a time
/// (a slice copy for stride 1): im2col and its adjoint were a third of a step's time with
/// per-element bounds tests.
fn im2col<T: Real>(cv: &Conv, x: &Act<T>, ho: usize, wo: usize) -> Scratch<T> {
    let cols_n = x.n * ho * wo;
    let mut cols = Scratch::take(cv.fan_in() * cols_n);
    if cols_n == 0 {
        return cols;
    }
    par::units_mut(&mut cols, cols_n, cols_n, |first, rows| {
        for (i, dst) in rows.chunks_exact_mut(cols_n).enumerate() {
            im2col_row(cv, x, first + i, dst, ho, wo);
        }
    });
    cols
}

/// Row `row` (input channel `c`, kernel offset `(ki, kj)`) of the im2col matrix: every value of
/// `dst` is written, zero where the kernel reads padding.
fn im2col_row<T: Real>(cv: &Conv, x: &Act<T>, row: usize, dst: &mut [T], ho: usize, wo: usize) {
    let (c, ki, kj) = (row / (cv.k * cv.k), row / cv.k % cv.k, row % cv.k);
    let (oh_lo, oh_hi) = valid(ki, cv.pad, cv.stride, x.h, ho);
    let (ow_lo, ow_hi) = valid(kj, cv.pad, cv.stride, x.w, wo);
    if cv.stride == 1 && (ho, wo) == (x.h, x.w) {
        // "Same" convolution: the row is each image shifted by a constant offset, so one copy
        // per image and a strided zeroing of the border columns replace a copy per image row
        // (rows are 4–32 values, and the call overhead dominated).
        let hw = ho * wo;
        let shift = (ki * wo + kj) as isize - (cv.pad * wo + cv.pad) as isize;
        let (lo, hi) = (oh_lo * wo, oh_hi * wo);
        let start = lo.max((-shift).max(0) as usize).min(hi);
        let end = hi.min((hw as isize - shift).max(0) as usize).max(start);
        for (n, image) in dst.chunks_exact_mut(hw).enumerate() {
            let src = &x.data[(c * x.n + n) * hw..][..hw];
            image[..start].fill(T::ZERO);
            image[end..].fill(T::ZERO);
            // Empty when the kernel offset reads only padding (an input no taller than `pad`).
            if start < end {
                let from = (start as isize + shift) as usize;
                image[start..end].copy_from_slice(&src[from..from + end - start]);
            }
            if lo < hi {
                for col in (0..ow_lo).chain(ow_hi..wo) {
                    image[lo + col..hi]
                        .iter_mut()
                        .step_by(wo)
                        .for_each(|v| *v = T::ZERO);
                }
            }
        }
        return;
    }
    let iw0 = ow_lo * cv.stride + kj;
    for (n, image) in dst.chunks_exact_mut(ho * wo).enumerate() {
        let src = &x.data[(c * x.n + n) * x.h * x.w..][..x.h * x.w];
        for (oh, drow) in image.chunks_exact_mut(wo).enumerate() {
            // An empty column range may sit left of the padding (`ow_lo·stride + kj < pad`).
            if !(oh_lo..oh_hi).contains(&oh) || ow_lo == ow_hi {
                drow.fill(T::ZERO);
                continue;
            }
            let ih = oh * cv.stride + ki - cv.pad;
            let srow = &src[ih * x.w..][..x.w];
            drow[..ow_lo].fill(T::ZERO);
            drow[ow_hi..].fill(T::ZERO);
            let iw0 = iw0 - cv.pad;
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

/// Adds the im2col-shaped `cols` back into an input-shaped gradient (the adjoint of im2col), in
/// parallel over input channels (channel `c` of `dx` gathers rows `c·k²..(c+1)·k²` only).
fn col2im<T: Real>(cv: &Conv, cols: &[T], dx: &mut Act<T>, ho: usize, wo: usize) {
    let cols_n = dx.n * ho * wo;
    let (n_img, h, w) = (dx.n, dx.h, dx.w);
    let kk = cv.k * cv.k;
    if n_img * h * w == 0 {
        return;
    }
    par::units_mut(
        &mut dx.data,
        n_img * h * w,
        kk * cols_n,
        |first, channels| {
            for (i, chan) in channels.chunks_exact_mut(n_img * h * w).enumerate() {
                let c = first + i;
                for ki in 0..cv.k {
                    let (oh_lo, oh_hi) = valid(ki, cv.pad, cv.stride, h, ho);
                    for kj in 0..cv.k {
                        let (ow_lo, ow_hi) = valid(kj, cv.pad, cv.stride, w, wo);
                        if ow_lo == ow_hi {
                            continue;
                        }
                        let row = (c * cv.k + ki) * cv.k + kj;
                        let src = &cols[row * cols_n..(row + 1) * cols_n];
                        for n in 0..n_img {
                            let plane = &mut chan[n * h * w..][..h * w];
                            for oh in oh_lo..oh_hi {
                                let ih = oh * cv.stride + ki - cv.pad;
                                let drow = &mut plane[ih * w..][..w];
                                let srow = &src[(n * ho + oh) * wo..][..wo];
                                let iw0 = ow_lo * cv.stride + kj - cv.pad;
                                if cv.stride == 1 {
                                    let len = ow_hi - ow_lo;
                                    for (d, s) in
                                        drow[iw0..iw0 + len].iter_mut().zip(&srow[ow_lo..ow_hi])
                                    {
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
        },
    );
}

/// `y = conv(x; weight)`, `weight` of length [`Conv::size`].
pub fn conv_forward<T: Real>(cv: &Conv, x: &Act<T>, weight: &[T]) -> Act<T> {
    debug_assert_eq!(x.c, cv.c_in);
    let (ho, wo) = (cv.out_size(x.h), cv.out_size(x.w));
    let cols = im2col(cv, x, ho, wo);
    let data = gemm_new(
        cv.c_out,
        cv.fan_in(),
        x.n * ho * wo,
        weight,
        Op::N,
        &cols,
        Op::N,
    );
    Act {
        data,
        c: cv.c_out,
        n: x.n,
        h: ho,
        w: wo,
    }
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
