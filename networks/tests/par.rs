//! Intra-step parallelism (`sweep_nn::par`) must change speed only. Oracles: a naive f64 triple
//! loop for the GEMM's two splits (by columns, and by fixed `k` blocks for long reductions), and
//! the one-thread result, bit for bit, for whole passes and gradient measurements on pools of
//! several sizes and in serial mode.

mod common;

use common::Rand;
use sweep_nn::data::BatchSampler;
use sweep_nn::gemm::{Op, gemm};
use sweep_nn::layers::{Conv, conv_backward, conv_forward};
use sweep_nn::train::gradient_statistics;
use sweep_nn::{Act, Architecture, Network, par};

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool")
}

/// `A' B'` for row-major operands read as stored or transposed, in f64, with the sum of
/// |terms| per element (the scale of its rounding error).
fn naive(m: usize, k: usize, n: usize, a: &[f64], oa: Op, b: &[f64], ob: Op) -> Vec<(f64, f64)> {
    let at = |i: usize, l: usize| match oa {
        Op::N => a[i * k + l],
        Op::T => a[l * m + i],
    };
    let bt = |l: usize, j: usize| match ob {
        Op::N => b[l * n + j],
        Op::T => b[j * k + l],
    };
    let mut c = Vec::with_capacity(m * n);
    for i in 0..m {
        for j in 0..n {
            let (mut s, mut abs) = (0.0, 0.0);
            for l in 0..k {
                let t = at(i, l) * bt(l, j);
                s += t;
                abs += t.abs();
            }
            c.push((s, abs));
        }
    }
    c
}

#[test]
fn gemm_splits_match_a_naive_product() {
    let mut rng = Rand::new(5);
    // (m, k, n): column blocks; k blocks (k ≥ 2¹⁴, n < 256) with a ragged last block; both small.
    for (m, k, n) in [(8, 72, 5000), (4, 40_000, 36), (3, 16_385, 7), (5, 9, 3)] {
        let a = rng.vec(m * k);
        let b = rng.vec(k * n);
        for oa in [Op::N, Op::T] {
            for ob in [Op::N, Op::T] {
                let want = naive(m, k, n, &a, oa, &b, ob);
                for threads in [1, 3] {
                    let mut c = vec![f64::NAN; m * n];
                    pool(threads).install(|| gemm(m, k, n, &a, oa, &b, ob, 0.0, &mut c));
                    for (i, (&got, &(s, abs))) in c.iter().zip(&want).enumerate() {
                        assert!(
                            (got - s).abs() <= 1e-13 * abs,
                            "{m}×{k}×{n} {oa:?}{ob:?} on {threads} threads, element {i}: {got} vs {s}"
                        );
                    }
                    // β ≠ 0 keeps (scaled) old values.
                    let mut c2 = vec![1.0; m * n];
                    pool(threads).install(|| gemm(m, k, n, &a, oa, &b, ob, 0.5, &mut c2));
                    for ((&got, &(s, abs)), i) in c2.iter().zip(&want).zip(0..) {
                        assert!(
                            (got - s - 0.5).abs() <= 1e-13 * (abs + 1.0),
                            "β = 0.5, element {i}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn gemm_is_bitwise_the_same_on_any_number_of_threads() {
    let mut rng = Rand::new(9);
    for (m, k, n) in [(16, 144, 20_000), (8, 65_536, 72), (64, 576, 256)] {
        let a: Vec<f32> = rng.vec(m * k).iter().map(|&v| v as f32).collect();
        let b: Vec<f32> = rng.vec(k * n).iter().map(|&v| v as f32).collect();
        let run = |threads: usize, serial: bool| {
            let mut c = vec![0.0f32; m * n];
            pool(threads).install(|| {
                let mut f = || gemm(m, k, n, &a, Op::N, &b, Op::T, 0.0, &mut c);
                if serial { par::serial(f) } else { f() }
            });
            c
        };
        let one = run(1, false);
        for (threads, serial) in [(2, false), (3, false), (4, true)] {
            assert!(
                run(threads, serial) == one,
                "{m}×{k}×{n}: {threads} threads (serial {serial}) differ from one"
            );
        }
    }
}

/// A 32×32 batch of `n` random 3-channel images with labels.
fn batch(n: usize, seed: u64) -> (Act<f32>, Vec<u8>) {
    let mut rng = Rand::new(seed);
    let x = Act {
        data: rng.vec(3 * n * 1024).iter().map(|&v| v as f32).collect(),
        c: 3,
        n,
        h: 32,
        w: 32,
    };
    (x, (0..n).map(|i| (i * 7 % 10) as u8).collect())
}

#[test]
fn passes_are_bitwise_the_same_on_any_number_of_threads() {
    // Batch 64 at 32×32: the weight gradients' reductions (N·H·W = 65 536) take the k-block path.
    let (x, labels) = batch(64, 3);
    for arch in [
        Architecture::ConvNet { c: 2 },
        Architecture::ResNet18 { k: 2 },
    ] {
        let (net, si) = Network::<f32>::initial(arch, 3, 10, 1, 4, 1.0, 10.0).expect("net");
        let run = |threads: usize, serial: bool| {
            let mut g = vec![0.0f32; net.dim()];
            let loss = pool(threads).install(|| {
                let mut f = || net.loss_grad(&si, &x, &labels, &mut g).expect("pass");
                if serial { par::serial(f) } else { f() }
            });
            (loss, g)
        };
        let one = run(1, false);
        for (threads, serial) in [(2, false), (3, false), (2, true)] {
            assert!(
                run(threads, serial) == one,
                "{arch:?}: {threads} threads (serial {serial}) differ from one"
            );
        }
        // From outside any pool (the pass moves onto the global pool).
        let mut g = vec![0.0f32; net.dim()];
        let loss = net.loss_grad(&si, &x, &labels, &mut g).expect("pass");
        assert!((loss, g) == one, "{arch:?}: global pool differs");
    }
}

#[test]
fn gradient_measurements_are_bitwise_the_same_on_any_number_of_threads() {
    let n = 300;
    let data = common::random_cifar_like(n, 17);
    let arch = Architecture::ConvNet { c: 2 };
    let (net, si) = Network::<f32>::initial(arch, 3, 10, 1, 4, 1.0, 10.0).expect("net");
    let sampler = BatchSampler::new(7, n, 32);
    // Chunks of 128: three full-batch passes (the last ragged), then 5 mini-batches.
    let run = |threads: usize| {
        pool(threads).install(|| {
            gradient_statistics(&net, &data, &si, 128, &sampler, 1 << 63, 5).expect("stats")
        })
    };
    let one = run(1);
    for threads in [2, 3, 8] {
        assert_eq!(run(threads), one, "{threads} threads");
    }
}

#[test]
fn reused_im2col_buffers_do_not_leak_values_between_shapes() {
    // One thread, so every call reuses the same buffer: a large padded convolution, a small
    // one, then the large one again (stale values where padding should be zero would show).
    let mut rng = Rand::new(23);
    let big = Act {
        data: rng.vec(4 * 8 * 16 * 16),
        c: 4,
        n: 8,
        h: 16,
        w: 16,
    };
    let small = Act {
        data: rng.vec(2 * 3 * 5 * 5),
        c: 2,
        n: 3,
        h: 5,
        w: 5,
    };
    let (cv_big, cv_small) = (Conv::k3(4, 6, 2), Conv::k3(2, 3, 1));
    let (w_big, w_small) = (rng.vec(cv_big.size()), rng.vec(cv_small.size()));
    pool(1).install(|| {
        let first = conv_forward(&cv_big, &big, &w_big);
        let s = conv_forward(&cv_small, &small, &w_small);
        // The small convolution by hand: y[o, n, i, j] = Σ w[o, c, a, b] x[c, n, i+a−1, j+b−1].
        for o in 0..3 {
            for img in 0..3 {
                for i in 0..5 {
                    for j in 0..5 {
                        let mut want = 0.0;
                        for c in 0..2 {
                            for a in 0..3 {
                                for b in 0..3 {
                                    let (ii, jj) = (i + a, j + b);
                                    if (1..=5).contains(&ii) && (1..=5).contains(&jj) {
                                        want += w_small[((o * 2 + c) * 3 + a) * 3 + b]
                                            * small.data[((c * 3 + img) * 5 + ii - 1) * 5 + jj - 1];
                                    }
                                }
                            }
                        }
                        let got = s.data[((o * 3 + img) * 5 + i) * 5 + j];
                        assert!((got - want).abs() < 1e-12, "y[{o},{img},{i},{j}]");
                    }
                }
            }
        }
        assert_eq!(conv_forward(&cv_big, &big, &w_big), first);
    });
}

/// y = conv(x; w) by the definition, in f64.
fn naive_conv(cv: &Conv, x: &Act<f64>, w: &[f64]) -> Act<f64> {
    let (ho, wo) = (cv.out_size(x.h), cv.out_size(x.w));
    let mut y = Act::zeros(cv.c_out, x.n, ho, wo);
    for o in 0..cv.c_out {
        for img in 0..x.n {
            for i in 0..ho {
                for j in 0..wo {
                    let mut s = 0.0;
                    for c in 0..cv.c_in {
                        for a in 0..cv.k {
                            for b in 0..cv.k {
                                let (ii, jj) = (i * cv.stride + a, j * cv.stride + b);
                                if ii >= cv.pad
                                    && jj >= cv.pad
                                    && ii - cv.pad < x.h
                                    && jj - cv.pad < x.w
                                {
                                    s += w[((o * cv.c_in + c) * cv.k + a) * cv.k + b]
                                        * x.data[((c * x.n + img) * x.h + ii - cv.pad) * x.w + jj
                                            - cv.pad];
                                }
                            }
                        }
                    }
                    y.data[((o * x.n + img) * ho + i) * wo + j] = s;
                }
            }
        }
    }
    y
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn convolutions_of_every_small_shape_match_the_definition_and_their_adjoints() {
    // Inputs as small as 1×1 (a 3×3 kernel then reads padding only at some offsets), empty
    // batches, strides 1 and 2, pads 0 to 2: forward against the definition, backward by the
    // adjoint identities ⟨conv(x; W), dy⟩ = ⟨x, dx⟩ = ⟨W, dW⟩ (a convolution is linear in each).
    let mut rng = Rand::new(41);
    let mut cases = 0;
    for k in [1, 3, 5] {
        for pad in 0..=k / 2 {
            for stride in [1, 2] {
                for (h, w) in [(1, 1), (1, 4), (2, 3), (4, 1), (5, 6)] {
                    if h + 2 * pad < k || w + 2 * pad < k {
                        continue;
                    }
                    for n in [0, 2] {
                        let cv = Conv {
                            c_in: 2,
                            c_out: 3,
                            k,
                            stride,
                            pad,
                        };
                        let x = Act {
                            data: rng.vec(2 * n * h * w),
                            c: 2,
                            n,
                            h,
                            w,
                        };
                        let wt = rng.vec(cv.size());
                        let y = conv_forward(&cv, &x, &wt);
                        let want = naive_conv(&cv, &x, &wt);
                        assert_eq!((y.c, y.n, y.h, y.w), (want.c, want.n, want.h, want.w));
                        for (a, b) in y.data.iter().zip(&want.data) {
                            assert!(
                                (a - b).abs() < 1e-12,
                                "k{k} pad{pad} s{stride} {h}×{w} n{n}"
                            );
                        }
                        let dy = y.with_data(rng.vec(y.data.len()));
                        let mut dw = vec![f64::NAN; cv.size()];
                        let dx = conv_backward(&cv, &x, &wt, &dy, &mut dw);
                        let (lhs, scale) = (dot(&y.data, &dy.data), 1.0 + dot(&dy.data, &dy.data));
                        assert!(
                            (lhs - dot(&x.data, &dx.data)).abs() < 1e-10 * scale,
                            "dx, k{k} pad{pad} s{stride} {h}×{w} n{n}"
                        );
                        assert!(
                            (lhs - dot(&wt, &dw)).abs() < 1e-10 * scale,
                            "dW, k{k} pad{pad} s{stride} {h}×{w} n{n}"
                        );
                        cases += 1;
                    }
                }
            }
        }
    }
    assert!(cases > 50, "{cases} cases");
}

#[test]
fn gemm_with_empty_reductions_follows_beta() {
    let mut c = vec![f64::NAN, 2.0];
    gemm(1, 0, 2, &[], Op::N, &[], Op::N, 0.0, &mut c);
    assert_eq!(c, vec![0.0, 0.0], "β = 0 ignores old values, NaN included");
    let mut c = vec![1.0, 2.0];
    gemm(1, 0, 2, &[], Op::N, &[], Op::N, 0.5, &mut c);
    assert_eq!(c, vec![0.5, 1.0]);
}
