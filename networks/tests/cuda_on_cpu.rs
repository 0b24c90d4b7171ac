//! The networks' layers on the cuda-on-cpu device (the CUDA kernels executed from their sources on
//! the CPU) against the CPU layers, same inputs. A convolution's output is an f32 sum of
//! fan_in = c_in·k² products per element on both sides, each within γ_{fan_in}·Σ|w||x| of the exact
//! value, so they may differ by twice that; the bound's Σ|w||x| is the CPU convolution of |w| and
//! |x| in f64. The weight gradient sums n·ho·wo products (bound from |dy| and |x|), the input
//! gradient c_out products per column entry and up to k² entries per element (bound from |w| and
//! |dy|). Shapes from 1×1 up, odd sizes, one image, channel counts that are no multiple of a tile.
//! Run as `cargo test -p sweep-nn --features cuda --test cuda_on_cpu`.
#![cfg(feature = "cuda")]
#![allow(clippy::unwrap_used)]

use sweep_kernels::cuda::tensor::gemm_error_bound;
use sweep_kernels::cuda::{CudaOnCpu, Device, Schedule};
use sweep_nn::device::{DeviceAct, conv_backward_on, conv_forward_on};
use sweep_nn::layers::{Conv, conv_backward, conv_forward};
use sweep_nn::tensor::Act;

fn values(state: &mut u64, len: usize) -> Vec<f32> {
    (0..len)
        .map(|_| {
            *state = sweep_kernels::rng::seed::splitmix64(*state);
            ((*state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) as f32
        })
        .collect()
}

fn act(data: Vec<f32>, (c, n, h, w): (usize, usize, usize, usize)) -> Act<f32> {
    Act { data, c, n, h, w }
}

fn abs64(a: &Act<f32>) -> Act<f64> {
    Act {
        data: a.data.iter().map(|v| f64::from(v.abs())).collect(),
        c: a.c,
        n: a.n,
        h: a.h,
        w: a.w,
    }
}

/// Largest `|got − want| / bound` over the elements (≤ 1 passes).
fn worst(got: &[f32], want: &[f32], bound: &[f64]) -> f64 {
    got.iter()
        .zip(want)
        .zip(bound)
        .map(|((g, w), b)| {
            (f64::from(*g) - f64::from(*w)).abs() / (b + f64::from(f32::MIN_POSITIVE))
        })
        .fold(0.0, f64::max)
}

#[test]
fn device_convolutions_agree_with_the_cpu_layer_within_f32_bounds() {
    let mut s = 3u64;
    let mut worst_seen = 0.0f64;
    for schedule in [Schedule::Forward, Schedule::Shuffled(9)] {
        let dev = CudaOnCpu::new(schedule);
        let d: &dyn Device = &dev;
        for (cv, dims) in [
            (Conv::k3(3, 5, 1), (3, 2, 7, 6)),
            (Conv::k3(4, 6, 2), (4, 1, 9, 9)),
            (Conv::k1(5, 3, 2), (5, 3, 4, 5)),
            (Conv::k3(1, 2, 1), (1, 1, 1, 1)),
            (Conv::k3(2, 65, 1), (2, 2, 5, 3)),
        ] {
            let x = act(values(&mut s, dims.0 * dims.1 * dims.2 * dims.3), dims);
            let w = values(&mut s, cv.size());
            let y = conv_forward(&cv, &x, &w);
            let dy = act(values(&mut s, y.data.len()), (y.c, y.n, y.h, y.w));
            let mut dw = vec![0.0f32; cv.size()];
            let dx = conv_backward(&cv, &x, &w, &dy, &mut dw);

            let (xd, wd) = (DeviceAct::upload(d, &x).unwrap(), d.upload(&w).unwrap());
            let yd = conv_forward_on(d, &cv, &xd, &wd)
                .unwrap()
                .download(d)
                .unwrap();
            assert_eq!((yd.c, yd.n, yd.h, yd.w), (y.c, y.n, y.h, y.w));
            let dyd = DeviceAct::upload(d, &dy).unwrap();
            let mut dwd = d.upload(&vec![f32::NAN; cv.size()]).unwrap();
            let dxd = conv_backward_on(d, &cv, &xd, &wd, &dyd, &mut dwd).unwrap();
            let (dxd, dwd) = (dxd.download(d).unwrap(), d.download_all(&dwd).unwrap());

            // Bounds from the absolute values, through the CPU layer in f64.
            let (ax, ady) = (abs64(&x), abs64(&dy));
            let aw: Vec<f64> = w.iter().map(|v| f64::from(v.abs())).collect();
            let fwd = conv_forward(&cv, &ax, &aw);
            let mut adw = vec![0.0f64; cv.size()];
            let adx = conv_backward(&cv, &ax, &aw, &ady, &mut adw);
            let scale = |v: &[f64], k: usize| -> Vec<f64> {
                v.iter().map(|b| 2.0 * gemm_error_bound(k) * b).collect()
            };
            let cols_n = y.n * y.h * y.w;
            for (what, got, want, bound) in [
                ("y", &yd.data, &y.data, scale(&fwd.data, cv.fan_in())),
                ("dW", &dwd, &dw, scale(&adw, cols_n)),
                (
                    "dx",
                    &dxd.data,
                    &dx.data,
                    scale(&adx.data, cv.c_out + cv.k * cv.k),
                ),
            ] {
                let r = worst(got, want, &bound);
                assert!(r <= 1.0, "{what} of {cv:?} on {dims:?}: {r} of its bound");
                worst_seen = worst_seen.max(r);
            }
        }
    }
    println!("cuda on cpu: convolution max diff {worst_seen:.3} of the f32 bound (tolerance 1)");
}
