//! Every layer's backward pass against central finite differences in f64, through the scalar
//! `L = Σ r ⊙ layer(x)` with a fixed random `r` (so dL/dy = r).

mod common;

use common::{Rand, check_gradient};
use sweep_nn::Act;
use sweep_nn::layers::*;

fn act(data: Vec<f64>, c: usize, n: usize, h: usize, w: usize) -> Act<f64> {
    Act { data, c, n, h, w }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn check_conv(cv: Conv, n: usize, hw: usize) {
    let mut rng = Rand::new(cv.size() as u64 + hw as u64);
    let x = act(rng.vec(cv.c_in * n * hw * hw), cv.c_in, n, hw, hw);
    let w = rng.vec(cv.size());
    let y = conv_forward(&cv, &x, &w);
    assert_eq!((y.h, y.w), (cv.out_size(hw), cv.out_size(hw)));
    let r = rng.vec(y.data.len());
    let dy = y.with_data(r.clone());
    let mut dw = vec![0.0; w.len()];
    let dx = conv_backward(&cv, &x, &w, &dy, &mut dw);
    let mut fx = |xs: &[f64]| dot(&conv_forward(&cv, &x.with_data(xs.to_vec()), &w).data, &r);
    check_gradient(
        &format!("{cv:?} input"),
        &mut fx,
        &x.data,
        &dx.data,
        400,
        1e-5,
        1e-7,
    );
    let mut fw = |ws: &[f64]| dot(&conv_forward(&cv, &x, ws).data, &r);
    check_gradient(&format!("{cv:?} weight"), &mut fw, &w, &dw, 400, 1e-5, 1e-7);
}

#[test]
fn conv_3x3_stride_1_pad_1() {
    check_conv(Conv::k3(3, 4, 1), 2, 6);
}

#[test]
fn conv_3x3_stride_2_odd_input() {
    check_conv(Conv::k3(2, 3, 2), 3, 7);
}

#[test]
fn conv_1x1_stride_2() {
    check_conv(Conv::k1(3, 5, 2), 2, 8);
}

#[test]
fn conv_matches_a_direct_sum() {
    // Independent oracle: the convolution's definition as a 6-fold loop.
    let cv = Conv::k3(2, 3, 2);
    let (n, hw) = (2, 5);
    let mut rng = Rand::new(9);
    let x = act(rng.vec(2 * n * hw * hw), 2, n, hw, hw);
    let w = rng.vec(cv.size());
    let y = conv_forward(&cv, &x, &w);
    let ho = cv.out_size(hw);
    for co in 0..3 {
        for b in 0..n {
            for oh in 0..ho {
                for ow in 0..ho {
                    let mut s = 0.0;
                    for ci in 0..2 {
                        for ki in 0..3 {
                            for kj in 0..3 {
                                let ih = (oh * 2 + ki) as isize - 1;
                                let iw = (ow * 2 + kj) as isize - 1;
                                if ih < 0 || iw < 0 || ih >= hw as isize || iw >= hw as isize {
                                    continue;
                                }
                                let xv =
                                    x.data[((ci * n + b) * hw + ih as usize) * hw + iw as usize];
                                s += w[((co * 2 + ci) * 3 + ki) * 3 + kj] * xv;
                            }
                        }
                    }
                    let got = y.data[((co * n + b) * ho + oh) * ho + ow];
                    assert!((got - s).abs() < 1e-12, "{got} vs {s}");
                }
            }
        }
    }
}

fn check_bn(eps: f64) {
    let mut rng = Rand::new(3);
    let x = act(
        rng.vec(3 * 4 * 3 * 3)
            .iter()
            .map(|v| 2.0 * v + 0.5)
            .collect(),
        3,
        4,
        3,
        3,
    );
    let cache = bn_forward(&x, eps);
    // Closed form: each channel of the output has mean 0 and variance σ²/(σ² + ε).
    for ch in cache.y.data.chunks_exact(x.plane()) {
        let m = ch.iter().sum::<f64>() / ch.len() as f64;
        assert!(m.abs() < 1e-12);
    }
    let r = rng.vec(x.data.len());
    let dx = bn_backward(&cache, &x.with_data(r.clone()));
    let mut f = |xs: &[f64]| dot(&bn_forward(&x.with_data(xs.to_vec()), eps).y.data, &r);
    check_gradient(
        &format!("batchnorm eps {eps}"),
        &mut f,
        &x.data,
        &dx.data,
        1000,
        1e-5,
        1e-7,
    );
}

#[test]
fn batchnorm_without_eps() {
    check_bn(0.0);
}

#[test]
fn batchnorm_with_pytorch_eps() {
    check_bn(1e-5);
}

#[test]
fn relu() {
    let mut rng = Rand::new(4);
    // Keep inputs away from the kink so that the finite difference is exact.
    let data: Vec<f64> = rng
        .vec(60)
        .iter()
        .map(|v| if v.abs() < 0.1 { v + 0.3 } else { *v })
        .collect();
    let x = act(data, 3, 2, 2, 5);
    let y = relu_forward(&x);
    let r = rng.vec(60);
    let dx = relu_backward(&y, &x.with_data(r.clone()));
    let mut f = |xs: &[f64]| dot(&relu_forward(&x.with_data(xs.to_vec())).data, &r);
    check_gradient("relu", &mut f, &x.data, &dx.data, 1000, 1e-6, 1e-8);
}

#[test]
fn maxpool_2_and_4() {
    for (k, hw) in [(2, 4), (2, 5), (4, 8)] {
        // Distinct values (a shuffled ramp) so the maximum is unique and FD does not cross a tie.
        let len = 2 * 3 * hw * hw;
        let data: Vec<f64> = (0..len).map(|i| ((i * 7919) % len) as f64 * 0.01).collect();
        let x = act(data, 2, 3, hw, hw);
        let (y, arg) = maxpool_forward(&x, k);
        assert_eq!((y.h, y.w), (hw / k, hw / k));
        let mut rng = Rand::new(k as u64);
        let r = rng.vec(y.data.len());
        let dx = maxpool_backward(&x, &arg, &y.with_data(r.clone()));
        let mut f = |xs: &[f64]| dot(&maxpool_forward(&x.with_data(xs.to_vec()), k).0.data, &r);
        check_gradient(
            &format!("maxpool {k} on {hw}"),
            &mut f,
            &x.data,
            &dx.data,
            1000,
            1e-4,
            1e-8,
        );
    }
}

#[test]
fn avgpool_4() {
    let mut rng = Rand::new(5);
    let x = act(rng.vec(2 * 2 * 8 * 8), 2, 2, 8, 8);
    let y = avgpool_forward(&x, 4);
    let r = rng.vec(y.data.len());
    let dx = avgpool_backward(&x, 4, &y.with_data(r.clone()));
    let mut f = |xs: &[f64]| dot(&avgpool_forward(&x.with_data(xs.to_vec()), 4).data, &r);
    check_gradient("avgpool 4", &mut f, &x.data, &dx.data, 1000, 1e-5, 1e-8);
}

#[test]
fn linear_head_and_cross_entropy() {
    let mut rng = Rand::new(6);
    let (f, n, k) = (5, 4, 3);
    let w = rng.vec(k * f);
    let feat = rng.vec(f * n);
    let labels = [0u8, 2, 1, 2];
    for bias in [Vec::new(), rng.vec(k)] {
        let out = linear_forward(&w, &bias, &feat, f, n);
        let (loss, dlogits) = cross_entropy(&out, &labels);
        // Closed form of the loss: mean over samples of log Σ exp(z) − z_label.
        let mut want = 0.0;
        for (j, &l) in labels.iter().enumerate() {
            let z: Vec<f64> = (0..k)
                .map(|c| {
                    bias.get(c).copied().unwrap_or(0.0)
                        + (0..f).map(|i| w[c * f + i] * feat[i * n + j]).sum::<f64>()
                })
                .collect();
            want += z.iter().map(|v| v.exp()).sum::<f64>().ln() - z[l as usize];
        }
        assert!((loss - want / n as f64).abs() < 1e-12);
        let dfeat = linear_backward(&w, f, &dlogits);
        let mut fl = |xs: &[f64]| cross_entropy(&linear_forward(&w, &bias, xs, f, n), &labels).0;
        check_gradient(
            "linear + cross-entropy",
            &mut fl,
            &feat,
            &dfeat,
            1000,
            1e-5,
            1e-7,
        );
    }
}
