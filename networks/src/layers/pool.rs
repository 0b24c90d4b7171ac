//! Non-overlapping pooling (kernel = stride = `k`, floor mode, PyTorch's defaults): MaxPool for
//! the ConvNet, AvgPool(4) for the ResNet's head.

use crate::par;
use crate::real::Real;
use crate::tensor::Act;

/// Max over `k×k` windows; also returns, per output, the flat index of the chosen input (first
/// maximum on ties, as PyTorch).
pub fn maxpool_forward<T: Real>(x: &Act<T>, k: usize) -> (Act<T>, Vec<u32>) {
    let (ho, wo) = (x.h / k, x.w / k);
    let out_plane = ho * wo;
    let len = x.c * x.n * out_plane;
    if len == 0 {
        return (Act::zeros(x.c, x.n, ho, wo), Vec::new());
    }
    // Planes in parallel: (output, argmax) pairs first, then split into the two buffers.
    // SAFETY: the chunks hold whole output planes, and every (oh, ow) of each is written.
    let pairs: Vec<(T, u32)> = unsafe {
        par::new_filled(len, out_plane, x.h * x.w, |first, out| {
            for (i, plane) in out.chunks_exact_mut(out_plane).enumerate() {
                let base = (first + i) * x.h * x.w;
                for oh in 0..ho {
                    for ow in 0..wo {
                        let mut best = base + oh * k * x.w + ow * k;
                        for a in 0..k {
                            for b in 0..k {
                                let idx = base + (oh * k + a) * x.w + ow * k + b;
                                if x.data[idx] > x.data[best] {
                                    best = idx;
                                }
                            }
                        }
                        plane[oh * wo + ow].write((x.data[best], best as u32));
                    }
                }
            }
        })
    };
    let y = Act {
        data: pairs.iter().map(|p| p.0).collect(),
        c: x.c,
        n: x.n,
        h: ho,
        w: wo,
    };
    let arg = pairs.iter().map(|p| p.1).collect();
    (y, arg)
}

/// Routes each output gradient to the input that was the maximum (in parallel over planes:
/// each output's chosen input lies in its own plane).
pub fn maxpool_backward<T: Real>(x_shape: &Act<T>, arg: &[u32], dy: &Act<T>) -> Act<T> {
    let mut dx = x_shape.zeros_like();
    let (in_plane, out_plane) = (x_shape.h * x_shape.w, dy.h * dy.w);
    par::units_mut(&mut dx.data, in_plane.max(1), out_plane, |first, planes| {
        let base = first * in_plane;
        let range =
            first * out_plane..(first * out_plane + planes.len() / in_plane.max(1) * out_plane);
        for (&a, &g) in arg[range.clone()].iter().zip(&dy.data[range]) {
            planes[a as usize - base] += g;
        }
    });
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
