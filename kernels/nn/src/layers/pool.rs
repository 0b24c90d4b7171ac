//! Non-overlapping pooling (kernel = stride = `k`, floor mode, PyTorch's defaults): MaxPool for
//! the ConvNet, AvgPool(4) for the ResNet's head.

use crate::real::Real;
use crate::tensor::Act;

/// Max over `k×k` windows; also returns, per output, the flat index of the chosen input (first
/// maximum on ties, as PyTorch).
pub fn maxpool_forward<T: Real>(x: &Act<T>, k: usize) -> (Act<T>, Vec<u32>) {
    let (ho, wo) = (x.h / k, x.w / k);
    let mut y = Act::zeros(x.c, x.n, ho, wo);
    let mut arg = vec![0u32; y.data.len()];
    for p in 0..x.c * x.n {
        let base = p * x.h * x.w;
        for oh in 0..ho {
            for ow in 0..wo {
                let mut best = base + oh * k * x.w + ow * k;
                for i in 0..k {
                    for j in 0..k {
                        let idx = base + (oh * k + i) * x.w + ow * k + j;
                        if x.data[idx] > x.data[best] {
                            best = idx;
                        }
                    }
                }
                let o = (p * ho + oh) * wo + ow;
                y.data[o] = x.data[best];
                arg[o] = best as u32;
            }
        }
    }
    (y, arg)
}

/// Routes each output gradient to the input that was the maximum.
pub fn maxpool_backward<T: Real>(x_shape: &Act<T>, arg: &[u32], dy: &Act<T>) -> Act<T> {
    let mut dx = x_shape.zeros_like();
    for (&a, &g) in arg.iter().zip(&dy.data) {
        dx.data[a as usize] += g;
    }
    dx
}

/// Mean over `k×k` windows.
pub fn avgpool_forward<T: Real>(x: &Act<T>, k: usize) -> Act<T> {
    let (ho, wo) = (x.h / k, x.w / k);
    let mut y = Act::zeros(x.c, x.n, ho, wo);
    let scale = T::ONE / T::from_f64((k * k) as f64);
    for p in 0..x.c * x.n {
        for oh in 0..ho {
            for ow in 0..wo {
                let mut s = T::ZERO;
                for i in 0..k {
                    for j in 0..k {
                        s += x.data[p * x.h * x.w + (oh * k + i) * x.w + ow * k + j];
                    }
                }
                y.data[(p * ho + oh) * wo + ow] = s * scale;
            }
        }
    }
    y
}

/// Spreads each output gradient evenly over its window.
pub fn avgpool_backward<T: Real>(x_shape: &Act<T>, k: usize, dy: &Act<T>) -> Act<T> {
    let mut dx = x_shape.zeros_like();
    let scale = T::ONE / T::from_f64((k * k) as f64);
    for p in 0..dy.c * dy.n {
        for oh in 0..dy.h {
            for ow in 0..dy.w {
                let g = dy.data[(p * dy.h + oh) * dy.w + ow] * scale;
                for i in 0..k {
                    for j in 0..k {
                        dx.data[p * dx.h * dx.w + (oh * k + i) * dx.w + ow * k + j] += g;
                    }
                }
            }
        }
    }
    dx
}
