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

/// One pass with its gradient on the device against the CPU's `Network::loss_grad`, same weights
/// and batch, for ConvNet(c) and ResNet-18(k). Every layer's f32 reductions differ in order between
/// the two (GEMMs, f64-summed BatchNorm statistics rounded to f32), each within its γ_K bound, and
/// the errors propagate through the depth: the tolerance is the sum over the convolutions of the
/// forward and backward bounds of both sides, 2·Σ_l (γ_{fan_in} + γ_{n·32²} + γ_{c_out+9} + 8u)
/// (γ_{n·32²} bounds every layer's n·h·w), times the layers' gain (BatchNorm divides by each
/// channel's standard deviation; 10 covers the initial weights' spread).
fn pass_matches_the_cpu(dev: &dyn Device, arch: sweep_nn::models::Architecture, name: &str) {
    use sweep_nn::device::loss_grad_on;
    use sweep_nn::models::Network;
    let (net, si) = Network::<f32>::initial(arch, 1, 10, 1, 4, 1.0, 10.0).unwrap();
    let n = 4;
    let mut s = 11u64;
    let x = act(values(&mut s, n * 32 * 32), (1, n, 32, 32));
    let labels: Vec<u8> = (0..n).map(|j| (j * 3 % 10) as u8).collect();
    let mut grad = vec![0.0f32; net.dim()];
    let loss = net.loss_grad(&si, &x, &labels, &mut grad).unwrap();
    let (dloss, dgrad) = loss_grad_on(dev, &net, &si, &x, &labels).unwrap();
    let scale = grad.iter().fold(0.0f32, |m, g| m.max(g.abs()));
    let diff = grad
        .iter()
        .zip(&dgrad)
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    let rel = f64::from(diff / scale);
    let u = f64::powi(2.0, -24);
    let budget: f64 = net
        .convs()
        .iter()
        .map(|cv| {
            gemm_error_bound(cv.fan_in())
                + gemm_error_bound(n * 32 * 32)
                + gemm_error_bound(cv.c_out + 9)
                + 8.0 * u
        })
        .sum();
    let tolerance = 2.0 * budget * 10.0;
    let on = if dev.backend() == "cuda" {
        "gpu"
    } else {
        "cuda on cpu"
    };
    println!(
        "{on}: {name} step max rel diff {rel:.2e} (tolerance {tolerance:.2e}); loss {loss} vs {dloss}"
    );
    assert!(rel <= tolerance, "{name} gradient: {rel} > {tolerance}");
    assert!(
        f64::from((loss - dloss).abs()) <= tolerance * f64::from(loss.abs()),
        "{name} loss"
    );
}

#[test]
fn a_convnet_pass_on_the_device_matches_the_cpu_within_its_depth_bound() {
    pass_matches_the_cpu(
        &CudaOnCpu::default(),
        sweep_nn::models::Architecture::ConvNet { c: 3 },
        "convnet",
    );
}

#[test]
fn a_resnet18_pass_on_the_device_matches_the_cpu_within_its_depth_bound() {
    pass_matches_the_cpu(
        &CudaOnCpu::default(),
        sweep_nn::models::Architecture::ResNet18 { k: 2 },
        "resnet18",
    );
}

/// Scale invariance on the device path: with BatchNorm's ε = 0, scaling the scale-invariant group
/// by 4 (a power of two, so every scaled value is exact in f32) leaves the loss unchanged bit for
/// bit and divides the gradient by 4 exactly; by 3 within the f32 rounding of the depth bound.
#[test]
fn the_device_path_is_scale_invariant() {
    use sweep_nn::device::loss_grad_on;
    use sweep_nn::models::{Architecture, Network};
    let (net, si) =
        Network::<f32>::initial(Architecture::ConvNet { c: 2 }, 1, 10, 3, 4, 1.0, 10.0).unwrap();
    let net = net.with_bn_eps(0.0);
    let n = 3;
    let mut s = 5u64;
    let x = act(values(&mut s, n * 32 * 32), (1, n, 32, 32));
    let labels: Vec<u8> = vec![1, 7, 4];
    let dev = CudaOnCpu::default();
    let (loss, grad) = loss_grad_on(&dev, &net, &si, &x, &labels).unwrap();
    let scaled: Vec<f32> = si.iter().map(|w| 4.0 * w).collect();
    let (loss4, grad4) = loss_grad_on(&dev, &net, &scaled, &x, &labels).unwrap();
    assert_eq!(loss.to_bits(), loss4.to_bits());
    assert!(
        grad.iter()
            .zip(&grad4)
            .all(|(g, h)| (g / 4.0).to_bits() == h.to_bits())
    );
    let scaled: Vec<f32> = si.iter().map(|w| 3.0 * w).collect();
    let (loss3, grad3) = loss_grad_on(&dev, &net, &scaled, &x, &labels).unwrap();
    let scale = grad.iter().fold(0.0f32, |m, g| m.max(g.abs()));
    let worst = grad
        .iter()
        .zip(&grad3)
        .fold(0.0f32, |m, (g, h)| m.max((g / 3.0 - h).abs()));
    assert!(((loss - loss3) / loss).abs() < 1e-5, "{loss} vs {loss3}");
    assert!(worst / scale < 1e-3, "gradient ×1/3: {}", worst / scale);
}

/// The device update is the CPU trainer's: `apply_update` in f32 equals the kernels' reference
/// `si_update_cpu` bit for bit, for every protocol (the device update is checked against that
/// reference in sweep-kernels' cuda_on_cpu test).
#[test]
fn the_trainer_update_is_the_device_update_reference() {
    use sweep_kernels::cuda::si_update::{SiStep, si_update_cpu};
    use sweep_nn::train::{Update, apply_update};
    use sweep_theory::Protocol;
    let mut s = 8u64;
    let w0 = values(&mut s, 999);
    let g = values(&mut s, 999);
    for (update, step) in [
        (
            Update::FixedLr { lr: 0.05, wd: 0.3 },
            SiStep {
                protocol: Protocol::FixedLr,
                first: 0.05,
                second: 0.3,
            },
        ),
        (
            Update::FixedElr { elr: 0.01, wd: 0.2 },
            SiStep {
                protocol: Protocol::FixedElr,
                first: 0.01,
                second: 0.2,
            },
        ),
        (
            Update::FixedSphere {
                elr: 0.02,
                radius: 3.0,
            },
            SiStep {
                protocol: Protocol::FixedSphere,
                first: 0.02,
                second: 3.0,
            },
        ),
    ] {
        let (mut a, mut b) = (w0.clone(), w0.clone());
        let info = apply_update(update, &mut a, &g);
        let r = si_update_cpu(&mut b, &g, step);
        assert!(
            a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
            "{update:?}"
        );
        assert_eq!(
            (info.lr, info.pre_norm, info.norm),
            (r.lr, r.pre_norm, r.norm),
            "{update:?}"
        );
    }
}

/// Training steps on the device against the CPU trainer, same initial weights and batch stream,
/// for each protocol and both models: the step logs (loss, ‖g‖, η, ‖w̃‖, ‖w‖) and the weights after
/// five steps agree within the passes' depth bound, accumulated over the steps. The rates keep
/// each step small against ‖w‖ (at the initial ‖g‖ ≈ 140, η = 1e-3 moves w by ~0.14 of its norm),
/// so rounding differences are not amplified from step to step; at large steps the map is chaotic
/// and any two implementations part after a few steps.
#[test]
fn device_training_steps_follow_the_cpu_trainer() {
    steps_follow_the_cpu_trainer(&CudaOnCpu::default());
}

/// The GPU, or `None` after printing why the GPU tests are skipped.
fn gpu() -> Option<sweep_kernels::cuda::CudaBackend> {
    match sweep_kernels::cuda::CudaBackend::probe() {
        Ok(b) => Some(b),
        Err(e) => {
            println!("SKIPPED: no CUDA device ({e})");
            None
        }
    }
}

/// The passes and training steps above, on a GPU when one is present.
#[test]
fn gpu_passes_and_steps_follow_the_cpu() {
    let Some(gpu) = gpu() else { return };
    println!("GPU: {} ({})", gpu.name(), gpu.arch());
    pass_matches_the_cpu(
        &gpu,
        sweep_nn::models::Architecture::ConvNet { c: 8 },
        "convnet",
    );
    pass_matches_the_cpu(
        &gpu,
        sweep_nn::models::Architecture::ResNet18 { k: 4 },
        "resnet18",
    );
    steps_follow_the_cpu_trainer(&gpu);
}

fn steps_follow_the_cpu_trainer(dev: &dyn Device) {
    use sweep_nn::data::{BatchSampler, Dataset};
    use sweep_nn::device::DeviceTrainer;
    use sweep_nn::models::{Architecture, Network};
    use sweep_nn::train::{Trainer, Update};
    let data = Dataset::synthetic(7, 3);
    for arch in [
        Architecture::ConvNet { c: 2 },
        Architecture::ResNet18 { k: 1 },
    ] {
        for update in [
            Update::FixedLr { lr: 1e-3, wd: 0.1 },
            Update::FixedElr { elr: 1e-3, wd: 0.1 },
            Update::FixedSphere {
                elr: 1e-3,
                radius: 1.0,
            },
        ] {
            let (net, si) =
                Network::<f32>::initial(arch, data.c, data.classes, 1, 4, 1.0, 10.0).unwrap();
            let mut cpu =
                Trainer::new(&net, &data, BatchSampler::new(9, data.len(), 4), si.clone());
            let mut gpu =
                DeviceTrainer::new(dev, &net, &data, BatchSampler::new(9, data.len(), 4), &si)
                    .unwrap();
            let steps = 5;
            let tolerance = 1e-3 * steps as f64;
            for _ in 0..steps {
                let (a, b) = (cpu.step(update).unwrap(), gpu.step(update).unwrap());
                assert_eq!(a.iteration, b.iteration);
                for (what, x, y) in [
                    ("loss", a.loss, b.loss),
                    ("grad_norm", a.grad_norm, b.grad_norm),
                    ("lr", a.lr, b.lr),
                    ("pre_norm", a.pre_norm, b.pre_norm),
                    ("norm", a.norm, b.norm),
                ] {
                    assert!(
                        (x - y).abs() <= tolerance * x.abs(),
                        "{arch:?} {update:?} {what}: {x} vs {y}"
                    );
                }
            }
            let (wc, wg) = (cpu.weights().to_vec(), gpu.weights().unwrap());
            let scale = wc.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let worst = wc
                .iter()
                .zip(&wg)
                .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()))
                / scale;
            assert!(
                f64::from(worst) <= tolerance,
                "{arch:?} {update:?}: weights {worst}"
            );
            println!(
                "cuda on cpu: {arch:?} {update:?}: {steps} steps, weights within {worst:.1e} (tolerance {tolerance:.0e})"
            );
        }
    }
}
