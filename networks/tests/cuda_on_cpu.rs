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
    measurements_follow_the_cpu(&gpu);
}

fn steps_follow_the_cpu_trainer(dev: &dyn Device) {
    use sweep_nn::data::{BatchSampler, Dataset};
    use sweep_nn::device::{DeviceSet, DeviceTrainer};
    use sweep_nn::models::{Architecture, Network};
    use sweep_nn::train::{Trainer, Update};
    let data = Dataset::synthetic(7, 3);
    let on_device = DeviceSet::upload(dev, &data).unwrap();
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
                Trainer::new(&net, &data, BatchSampler::new(9, data.len(), 4), si.clone())
                    .track_running_stats(0.1);
            let mut gpu = DeviceTrainer::new(
                dev,
                &net,
                &on_device,
                BatchSampler::new(9, data.len(), 4),
                &si,
            )
            .unwrap()
            .track_running_stats(0.1);
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
            // PyTorch's running statistics, kept on the device through the same five passes.
            let (rc, rg) = (cpu.running_stats().unwrap(), gpu.running_stats().unwrap());
            assert_eq!(rc.len(), rg.len(), "BatchNorm layers");
            for (c, g) in rc.iter().zip(rg) {
                let g = g.download(dev).unwrap();
                for (x, y) in c.mean.iter().zip(&g.mean).chain(c.var.iter().zip(&g.var)) {
                    assert!(
                        (x - y).abs() <= tolerance * (x.abs() + 1e-3),
                        "{arch:?} {update:?}: running statistic {x} vs {y}"
                    );
                }
            }
            println!(
                "cuda on cpu: {arch:?} {update:?}: {steps} steps, weights within {worst:.1e} (tolerance {tolerance:.0e})"
            );
        }
    }
}

/// The device's batches are the CPU sampler's and the CPU's normalisation, bit for bit.
#[test]
fn device_batches_are_the_cpu_samplers() {
    use sweep_kernels::cuda::batch::batch_indices_on;
    use sweep_nn::data::{BatchSampler, Dataset};
    use sweep_nn::device::{DeviceBatch, DeviceSet};
    let cpu_dev = CudaOnCpu::default();
    let dev: &dyn Device = &cpu_dev;
    let data = Dataset::synthetic(21, 5);
    let set = DeviceSet::upload(dev, &data).unwrap();
    for (seed, batch) in [(1u64, 1usize), (9, 7), (u64::MAX - 3, 33)] {
        let sampler = BatchSampler::new(seed, data.len(), batch);
        for t in [0u64, 1, 1_000_003, (1 << 63) + 11] {
            let mut idx = dev.zeros::<u32>(batch).unwrap();
            batch_indices_on(dev, seed, t, data.len(), &mut idx).unwrap();
            let want = sampler.indices(t);
            let got: Vec<usize> = dev
                .download_all(&idx)
                .unwrap()
                .iter()
                .map(|i| *i as usize)
                .collect();
            assert_eq!(got, want, "seed {seed} iteration {t}");
            let b = DeviceBatch::gather(dev, &set, &idx).unwrap();
            let (x, labels) = data.batch::<f32>(&want);
            let xd = b.x.download(dev).unwrap();
            assert_eq!((xd.c, xd.n, xd.h, xd.w), (x.c, x.n, x.h, x.w));
            assert!(
                xd.data
                    .iter()
                    .zip(&x.data)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "gathered pixels"
            );
            assert_eq!(b.labels.len(), labels.len());
        }
    }
}

/// A gradient measurement on the device against the CPU's (same weights, chunks and fresh
/// batches): the full-batch loss, ‖∇L‖ and the mini-batch spread within the passes' depth bound
/// (the f64 sums differ only in order), and the recorded BatchNorm statistics likewise; then the
/// test evaluation in evaluation mode with the same statistics: loss within the bound and the
/// same correct count.
#[test]
fn device_measurements_follow_the_cpu() {
    measurements_follow_the_cpu(&CudaOnCpu::default());
}

fn measurements_follow_the_cpu(dev: &dyn Device) {
    use sweep_nn::data::{BatchSampler, Dataset};
    use sweep_nn::device::measure::{evaluate_on, gradient_statistics_on};
    use sweep_nn::device::{DeviceSet, DeviceTrainer};
    use sweep_nn::models::{Architecture, Network};
    use sweep_nn::train::{Trainer, Update, gradient_statistics_recording};
    let data = Dataset::synthetic(23, 7);
    let test = Dataset::synthetic(9, 8);
    let (train_set, test_set) = (
        DeviceSet::upload(dev, &data).unwrap(),
        DeviceSet::upload(dev, &test).unwrap(),
    );
    for arch in [
        Architecture::ConvNet { c: 2 },
        Architecture::ResNet18 { k: 1 },
    ] {
        let (net, si) =
            Network::<f32>::initial(arch, data.c, data.classes, 1, 4, 1.0, 10.0).unwrap();
        let sampler = BatchSampler::new(5, data.len(), 4);
        let update = Update::FixedElr { elr: 1e-3, wd: 0.1 };
        // Two steps so the running statistics exist, on both.
        let mut cpu = Trainer::new(&net, &data, sampler, si.clone()).track_running_stats(0.1);
        let mut gpu = DeviceTrainer::new(dev, &net, &train_set, sampler, &si)
            .unwrap()
            .track_running_stats(0.1);
        for _ in 0..2 {
            cpu.step(update).unwrap();
            gpu.step(update).unwrap();
        }
        let tolerance = 4e-3;
        let close = |what: &str, x: f64, y: f64| {
            assert!(
                (x - y).abs() <= tolerance * x.abs().max(1e-6),
                "{arch:?} {what}: cpu {x} vs device {y}"
            );
        };
        let (want, bn) =
            gradient_statistics_recording(&net, &data, cpu.weights(), 10, &sampler, 1 << 63, 3)
                .unwrap();
        let (got, rec) =
            gradient_statistics_on(gpu.at_weights(), &train_set, 10, &sampler, 1 << 63, 3, true)
                .unwrap();
        close("full loss", want.full_loss, got.full_loss);
        close(
            "full gradient norm",
            want.full_grad_norm,
            got.full_grad_norm,
        );
        close("mini-batch spread", want.stoch_grad_rms, got.stoch_grad_rms);
        assert_eq!(got.samples, 3);
        assert_eq!(
            (rec.chunks.len(), rec.batches.len()),
            (bn.chunks.len(), bn.batches.len())
        );
        for (c, g) in bn
            .chunks
            .iter()
            .chain(&bn.batches)
            .zip(rec.chunks.iter().chain(&rec.batches))
        {
            for (c, g) in c.iter().zip(g) {
                let g = g.download(dev).unwrap();
                assert_eq!(c.count, g.count);
                for (x, y) in c.mean.iter().zip(&g.mean).chain(c.var.iter().zip(&g.var)) {
                    assert!(
                        (x - y).abs() <= tolerance * (x.abs() + 1e-3),
                        "{arch:?} recorded statistic"
                    );
                }
            }
        }
        println!(
            "cuda on cpu: {arch:?} measurement: loss {:.3e}, |grad| {:.3e}, spread {:.3e} relative (tolerance {tolerance:.0e})",
            (want.full_loss - got.full_loss).abs() / want.full_loss,
            (want.full_grad_norm - got.full_grad_norm).abs() / want.full_grad_norm,
            (want.stoch_grad_rms - got.stoch_grad_rms).abs() / want.stoch_grad_rms,
        );
        // Evaluation mode with each side's running statistics.
        let (x, labels) = test.batch::<f32>(&(0..test.len()).collect::<Vec<_>>());
        let e = net
            .evaluate(cpu.weights(), &x, &labels, cpu.running_stats().unwrap())
            .unwrap();
        let batch = test_set.range(dev, 0..test.len()).unwrap();
        let out = evaluate_on(gpu.at_weights(), &batch, gpu.running_stats().unwrap()).unwrap();
        close("test loss", e.loss, f64::from(out.loss));
        assert_eq!(e.correct, out.correct(dev).unwrap(), "{arch:?} test hits");
        // Statistics for the wrong number of layers are refused, naming the counts.
        let err =
            evaluate_on(gpu.at_weights(), &batch, &gpu.running_stats().unwrap()[1..]).unwrap_err();
        assert!(err.to_string().contains("BatchNorm layers"), "{err}");
    }
}

/// A short network sweep point (ConvNet(1), 120 steps, with a test set) on the cuda-on-cpu device
/// against the CPU backend. The batch stream is the same bit for bit, so the two differ only by
/// the f32 rounding of the passes (relative ~1e-6 a pass); max pooling and ReLU turn that into
/// chaos at useful rates (two trajectories part after ~30 steps at η‖g‖/‖w‖ ≈ 1 %), where the
/// summaries can only agree statistically: within 3σ of their combined standard errors. At a
/// rate of 1e-6 nothing is amplified, and every summary (entropy, tr Σ, ‖∇L‖², test loss)
/// agrees within 1e-4 relative, which is what catches a device path that measures or samples the
/// wrong weights. (`wd_eff` on the sphere is a difference of nearly equal norms at that rate: it is
/// checked within its standard error.)
#[test]
fn a_network_sweep_point_on_the_device_matches_the_cpu_backend() {
    use sweep_kernels::Backend;
    use sweep_kernels::PointSummary;
    use sweep_kernels::entropy::EstimatorMode;
    use sweep_kernels::isotropic::{ChainPoint, EntropySchedule, Schedule};
    use sweep_kernels::observer::NoObserver;
    use sweep_nn::data::{Dataset, Split};
    use sweep_nn::models::Architecture;
    use sweep_nn::sweep::{NetworkBatch, run_network_on};
    use sweep_theory::Protocol;
    let device: &'static CudaOnCpu = Box::leak(Box::new(CudaOnCpu::default()));
    let data = Dataset::synthetic(5, 6);
    let test = Dataset::synthetic_split(
        5,
        3,
        Split::Test,
        Some((data.mean.clone(), data.std.clone())),
    );
    let run = |protocol, (first, second), backend| -> PointSummary {
        let batch = NetworkBatch {
            arch: Architecture::ConvNet { c: 1 },
            batch_size: 4,
            head_norm: 10.0,
            init_seed: 1,
            grad_samples: 3,
            measure_every: 20,
            paper_logs: false,
            protocol,
            init_radius: 1.0,
            schedule: Schedule {
                iterations: 120,
                log_every: 10,
                average_last: 60,
            },
            entropy: EntropySchedule {
                queue: 8,
                every: 5,
                log_every: 30,
                average_last: 2,
                mode: EstimatorMode::Reflected,
            },
            points: vec![ChainPoint {
                point: 0,
                replica: 0,
                seed: 1000,
                first,
                second,
            }],
        };
        run_network_on(backend, &batch, &data, Some(&test), &NoObserver)
            .unwrap()
            .pop()
            .unwrap()
    };
    // (name, cpu, device, cpu SE, device SE) of the window's summaries.
    let fields = |c: &PointSummary, d: &PointSummary| {
        [
            ("loss", c.loss_mean, d.loss_mean, c.loss_sem, d.loss_sem),
            (
                "radius",
                c.radius_mean,
                d.radius_mean,
                c.radius_sem,
                d.radius_sem,
            ),
            (
                "trace_sigma",
                c.trace_sigma,
                d.trace_sigma,
                c.trace_sigma_sem,
                d.trace_sigma_sem,
            ),
            (
                "full_grad_sq",
                c.full_grad_sq,
                d.full_grad_sq,
                c.full_grad_sq_sem,
                d.full_grad_sq_sem,
            ),
            (
                "entropy_unit",
                c.entropy_unit,
                d.entropy_unit,
                c.entropy_unit_sem,
                d.entropy_unit_sem,
            ),
            ("test_loss", c.test_loss, d.test_loss, 0.0, 0.0),
        ]
    };
    let within_se = |protocol: Protocol, what: &str, a: f64, b: f64, sa: f64, sb: f64| {
        let se = (sa * sa + sb * sb).sqrt();
        assert!(
            a.is_finite() && b.is_finite() && (a - b).abs() <= 3.0 * se,
            "{protocol:?} {what}: cpu {a} ± {sa}, device {b} ± {sb}"
        );
    };
    for (protocol, hyper) in [
        (Protocol::FixedLr, (1e-6, 0.05)),
        (Protocol::FixedElr, (1e-6, 0.1)),
        (Protocol::FixedSphere, (1e-6, 2.0)),
    ] {
        let clock = std::time::Instant::now();
        let cpu = run(protocol, hyper, Backend::Cpu);
        let dev = run(protocol, hyper, Backend::Cuda(device));
        assert_eq!(cpu.status, dev.status, "{protocol:?}");
        assert_eq!(
            (cpu.iterations, cpu.entropy_estimates),
            (dev.iterations, dev.entropy_estimates)
        );
        let mut worst: f64 = 0.0;
        for (what, a, b, _, _) in fields(&cpu, &dev) {
            let rel = (a - b).abs() / a.abs();
            assert!(rel <= 1e-4, "{protocol:?} {what}: cpu {a}, device {b}");
            worst = worst.max(rel);
        }
        if protocol == Protocol::FixedSphere {
            within_se(
                protocol,
                "wd_eff",
                cpu.wd_eff,
                dev.wd_eff,
                cpu.wd_eff_sem,
                dev.wd_eff_sem,
            );
        } else {
            assert!(
                cpu.wd_eff.is_nan() && dev.wd_eff.is_nan(),
                "wd_eff off the sphere"
            );
        }
        assert_eq!(
            cpu.test_accuracy, dev.test_accuracy,
            "{protocol:?} test accuracy"
        );
        println!(
            "cuda on cpu: {protocol:?} sweep point at rate 1e-6: summaries within {worst:.1e} relative of the cpu's (tolerance 1e-4), {:.0} s",
            clock.elapsed().as_secs_f64()
        );
    }
    // A useful rate, past the onset of chaos: agreement within the standard errors of the window
    // batch means (the entropy's two estimates give no usable standard error; it is checked
    // above).
    let protocol = Protocol::FixedElr;
    let (cpu, dev) = (
        run(protocol, (2e-4, 0.1), Backend::Cpu),
        run(protocol, (2e-4, 0.1), Backend::Cuda(device)),
    );
    assert_eq!(cpu.status, dev.status);
    for (what, a, b, sa, sb) in fields(&cpu, &dev).into_iter().take(4) {
        within_se(protocol, what, a, b, sa, sb);
        println!(
            "cuda on cpu: {protocol:?} at rate 2e-4: {what} cpu {a:.6} ± {sa:.2e}, device {b:.6} ± {sb:.2e}"
        );
    }
}
