//! Every `__global__` kernel of `kernels/cuda/`, executed from its source on the CPU (the
//! cuda-on-cpu device) through the same host code as on a GPU, and compared with the CPU backend:
//! bitwise where the kernel promises the CPU's bits (the Philox chains, the nearest-neighbour
//! distances after the host's f64 re-check, the fixed-LR update), within bounds derived from the
//! arithmetic otherwise (the f32 distance screen, block-reduced norms). Each comparison runs under
//! every thread schedule (forward, reverse, shuffled at each barrier), so a kernel that reads
//! shared memory another thread writes without a barrier fails here. The test fails when a kernel
//! in the sources has no execution test. Run as
//! `cargo test --release -p sweep-kernels --features cuda --test cuda_on_cpu -- --nocapture`.
#![cfg(feature = "cuda")]
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Mutex;

use sweep_kernels::PointSummary;
use sweep_kernels::cuda::batch::{DeviceImages, batch_indices_on, gather_batch_on};
use sweep_kernels::cuda::batchnorm::{
    bn_apply_on, bn_backward_on, bn_error_bound, bn_forward_on, bn_running_on,
};
use sweep_kernels::cuda::entropy::estimate_on;
use sweep_kernels::cuda::iso_plan::Plan;
use sweep_kernels::cuda::isotropic::run_isotropic_planned;
use sweep_kernels::cuda::measure::{axpy_on, norm_sq_f64_on, sq_distance_on};
use sweep_kernels::cuda::nearest::{
    candidates_on, centre_to_f32, error_factor, nearest_neighbours_on, upper_bounds_on,
};
use sweep_kernels::cuda::on_cpu::compiled_kernels;
use sweep_kernels::cuda::pointwise::{
    CrossEntropyOut, PoolShape, add_on, avgpool_backward_on, avgpool_forward_on, cross_entropy_on,
    maxpool_backward_on, maxpool_forward_on, relu_backward_on, relu_forward_on,
};
use sweep_kernels::cuda::si_update::{si_update_cpu, si_update_groups_on, si_update_host};
use sweep_kernels::cuda::tensor::{ConvShape, col2im_on, gemm_error_bound, gemm_on, im2col_on};
use sweep_kernels::cuda::{Args, CudaOnCpu, Device, KernelSource, Schedule, Shape, SiStep};
use sweep_kernels::entropy::{EstimatorMode, estimate, nearest_neighbor_distances};
use sweep_kernels::isotropic::{
    ChainPoint, EntropySchedule, IsotropicBatch, IsotropicModel, Schedule as RunSchedule,
    run_isotropic,
};
use sweep_kernels::observer::{BatchObserver, SeriesRow};
use sweep_theory::Protocol;

const PROTOCOLS: [Protocol; 3] = [Protocol::FixedLr, Protocol::FixedElr, Protocol::FixedSphere];

/// Kernels compared with the CPU backend, as `file:function`.
static COMPARED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

fn compared(kernel: KernelSource, function: &str) {
    COMPARED
        .lock()
        .unwrap()
        .insert(format!("{}:{function}", kernel.file_name()));
}

/// One device per schedule; blocks in parallel, and once more in order.
fn devices() -> Vec<CudaOnCpu> {
    let mut d: Vec<CudaOnCpu> = Schedule::ALL.iter().map(|s| CudaOnCpu::new(*s)).collect();
    d.push(CudaOnCpu::new(Schedule::Reverse).serial_blocks());
    d
}

fn uniform(state: &mut u64) -> f64 {
    *state = sweep_kernels::rng::seed::splitmix64(*state);
    (*state >> 11) as f64 / (1u64 << 53) as f64
}

// ---- isotropic.cu ----

#[derive(Default)]
struct Rows(Mutex<Vec<SeriesRow>>);

impl BatchObserver for Rows {
    fn series(&self, rows: Vec<SeriesRow>) {
        self.0.lock().unwrap().extend(rows);
    }
}

impl Rows {
    fn sorted(self) -> Vec<SeriesRow> {
        let mut v = self.0.into_inner().unwrap();
        v.sort_by_key(|r| (r.point, r.replica, r.iteration));
        v
    }
}

fn batch(protocol: Protocol, dim: usize, replicas: u32) -> IsotropicBatch {
    let hyper = match protocol {
        Protocol::FixedLr => vec![(0.01, 0.1), (0.05, 0.5), (0.002, 1.0)],
        Protocol::FixedElr => vec![(0.01, 0.1), (0.02, 0.5), (0.005, 1.0)],
        Protocol::FixedSphere => vec![(0.01, 1.0), (0.02, 2.0), (0.005, 0.5)],
    };
    IsotropicBatch {
        model: IsotropicModel {
            dim,
            sigma2: 1.0,
            target_seed: 44,
        },
        protocol,
        init_radius: 1.0,
        sweep_seed: 42,
        schedule: RunSchedule {
            iterations: 3_000,
            log_every: 7,
            average_last: 1_300,
        },
        entropy: Some(EntropySchedule {
            queue: 60,
            every: 11,
            log_every: 250,
            average_last: 4,
            mode: EstimatorMode::Reflected,
        }),
        points: ChainPoint::for_sweep(5, &hyper, replicas),
    }
}

/// Every field of a summary but the wall time, with floats as bits.
fn summary_bits(s: &PointSummary) -> String {
    let s = PointSummary {
        wall_seconds: 0.0,
        ..s.clone()
    };
    format!("{s:?}")
}

/// The chains on the device equal the CPU backend bit for bit: every series row (loss, radius,
/// trace, gradient, entropy) and every summary field, for each protocol, with weights in shared
/// memory (d = 3, 6) and in global memory (d = 300), and with segments forced small so that every
/// buffer wraps many times.
fn isotropic_chains_equal_the_cpu_backend(devices: &[CudaOnCpu]) {
    for protocol in PROTOCOLS {
        for (dim, replicas) in [(3, 3), (6, 3), (300, 12)] {
            let b = batch(protocol, dim, replicas);
            let cpu_rows = Rows::default();
            let cpu = run_isotropic(&b, &cpu_rows).unwrap();
            let cpu_rows = cpu_rows.sorted();
            assert!(cpu.iter().all(|s| s.entropy_estimates == 4));
            assert_eq!(cpu_rows.len(), b.points.len() * (428 + 9));
            let plans = {
                let plan = Plan::new(&b);
                let mut small = plan.clone();
                small.series_cap = 3;
                small.snap_cap = 2;
                small.work = 97;
                [plan, small]
            };
            // The chain kernel has no barrier: one schedule suffices beyond the smallest case.
            let n_devices = if dim == 3 { devices.len() } else { 1 };
            for dev in &devices[..n_devices] {
                for plan in &plans {
                    let rows = Rows::default();
                    let got = run_isotropic_planned(dev, &b, plan, &rows).unwrap();
                    let what = format!(
                        "{protocol:?} d={dim} {:?} work={}",
                        dev.schedule(),
                        plan.work
                    );
                    assert_eq!(rows.sorted(), cpu_rows, "{what}: series rows");
                    assert_eq!(got.len(), cpu.len());
                    for (g, c) in got.iter().zip(&cpu) {
                        assert_eq!(summary_bits(g), summary_bits(c), "{what}");
                    }
                }
            }
        }
    }
    compared(KernelSource::Isotropic, "iso_init");
    compared(KernelSource::Isotropic, "iso_advance");
}

// ---- nearest.cu ----

/// Rows far from the origin and close to each other (‖a‖² + ‖b‖² − 2a·b cancels badly), with a
/// duplicate, and uniform rows in m = 700 where distances concentrate.
fn nearest_cases() -> Vec<(Vec<f64>, usize, usize)> {
    let mut s = 0x1234_5678_u64;
    let (n, m) = (150, 33);
    let base: Vec<f64> = (0..m).map(|_| 1e3 + uniform(&mut s) - 0.5).collect();
    let mut close = Vec::new();
    for _ in 0..n {
        for b in &base {
            close.push(b + 1e-4 * (uniform(&mut s) - 0.5));
        }
    }
    let row3: Vec<f64> = close[3 * m..4 * m].to_vec();
    close[5 * m..6 * m].copy_from_slice(&row3);
    let (n2, m2) = (130, 700);
    let spread: Vec<f64> = (0..n2 * m2).map(|_| uniform(&mut s)).collect();
    vec![(close, n, m), (spread, n2, m2)]
}

/// Exact squared distances of row i to every other row, in f64.
fn exact_sq(points: &[f64], m: usize, i: usize, j: usize) -> f64 {
    let (a, b) = (&points[i * m..(i + 1) * m], &points[j * m..(j + 1) * m]);
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// The screen's passes against the f64 truth, within the bound `e = rel·(‖a‖² + ‖b‖²)` that
/// nearest.rs derives: each row's upper bound is at least its true nearest squared distance and
/// at most min_j (d_ij + 2e_ij) rounded up to f32; the candidates include the true nearest
/// neighbour; and the distances after the host's f64 re-check equal the CPU engines' bit for bit.
fn nearest_neighbours_equal_the_cpu_backend(devices: &[CudaOnCpu]) {
    for (points, n, m) in nearest_cases() {
        let want = nearest_neighbor_distances(&points, n, m).unwrap();
        let (x, norms) = centre_to_f32(&points, n, m);
        let rel = error_factor(m);
        for dev in devices {
            let dev: &dyn Device = dev;
            let xd = dev.upload(&x).unwrap();
            let nd = dev.upload(&norms).unwrap();
            let upper = dev
                .download_all(&upper_bounds_on(dev, &xd, &nd, n, m).unwrap())
                .unwrap();
            let ud = dev.upload(&upper).unwrap();
            let pairs = candidates_on(dev, &xd, &nd, &ud, n, m).unwrap();
            for i in 0..n {
                let up = f64::from(f32::from_bits(upper[i]));
                let (mut best, mut best_j, mut limit) = (f64::INFINITY, 0, f64::INFINITY);
                for j in (0..n).filter(|&j| j != i) {
                    let d = exact_sq(&points, m, i, j);
                    if d < best {
                        (best, best_j) = (d, j);
                    }
                    limit = limit.min(d + 2.0 * rel * (norms[i] + norms[j]));
                }
                assert!(up >= best, "row {i}: upper {up} below the true {best}");
                let limit = f64::from(limit as f32) * (1.0 + f64::powi(2.0, -23));
                assert!(up <= limit, "row {i}: upper {up} above its bound {limit}");
                let listed = pairs
                    .chunks_exact(2)
                    .any(|p| p[0] as usize == i && exact_sq(&points, m, i, p[1] as usize) == best);
                assert!(
                    listed,
                    "row {i}: nearest neighbour {best_j} not a candidate"
                );
            }
            let got = nearest_neighbours_on(dev, &points, n, m).unwrap();
            let same = got
                .iter()
                .zip(&want)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "n={n} m={m} {dev:?}: distances differ from the CPU's");
        }
    }
    // The entropy estimate with the device's distances is the CPU estimator's.
    let (n, dim) = (200, 12);
    let mut s = 9u64;
    let mut units = Vec::new();
    for _ in 0..n {
        let row: Vec<f64> = (0..dim).map(|_| uniform(&mut s) + 0.2).collect();
        let norm = row.iter().map(|x| x * x).sum::<f64>().sqrt();
        units.extend(row.iter().map(|x| x / norm));
    }
    let radii = vec![1.5; n];
    for mode in [EstimatorMode::Reflected, EstimatorMode::Raw] {
        let want = estimate(&units, &radii, dim, mode).unwrap();
        let got = estimate_on(&devices[0], &units, &radii, dim, mode).unwrap();
        assert_eq!(got, want, "{mode:?}");
    }
    compared(KernelSource::Nearest, "nn_upper");
    compared(KernelSource::Nearest, "nn_candidates");
}

// ---- si_update.cu ----

/// f32 values apart, in units in the last place of the larger.
fn ulps(a: f32, b: f32) -> f32 {
    let ulp = f32::EPSILON * a.abs().max(b.abs()).max(f32::MIN_POSITIVE);
    (a - b).abs() / ulp
}

/// The update against the CPU reference: the per-element arithmetic is the same f32 expression
/// from the same f32 rates, so fixed-LR weights are equal bit for bit; the norms are sums of n
/// positive terms in another order (block reductions, split over several buffers here), each
/// within γ_n = n·u/(1 − n·u) (u = 2⁻⁵³) of the exact sum, so the two differ by at most 2γ_n
/// relative; fixed ELR and fixed sphere take their rate or projection factor from such a norm, a
/// relative change of ~γ_n that moves an f32 factor, and so a weight, by at most 1 ulp.
fn si_update_equals_the_cpu_reference(devices: &[CudaOnCpu]) {
    let n = 5_000;
    let mut s = 3u64;
    let w0: Vec<f32> = (0..n).map(|_| (uniform(&mut s) - 0.5) as f32).collect();
    let g: Vec<f32> = (0..n).map(|_| (uniform(&mut s) - 0.5) as f32).collect();
    let gamma = {
        let u = f64::powi(2.0, -53);
        n as f64 * u / (1.0 - n as f64 * u)
    };
    for protocol in PROTOCOLS {
        let step = SiStep {
            protocol,
            first: 0.01,
            second: if protocol == Protocol::FixedSphere {
                2.0
            } else {
                0.1
            },
        };
        let mut cpu = w0.clone();
        let cpu_info = si_update_cpu(&mut cpu, &g, step);
        for dev in devices {
            let d: &dyn Device = dev;
            // The weights in three buffers, as a network's layers hold them.
            let cuts = [0, 1_234, 4_000, n];
            let mut w: Vec<_> = cuts
                .windows(2)
                .map(|c| d.upload(&w0[c[0]..c[1]]).unwrap())
                .collect();
            let gs: Vec<_> = cuts
                .windows(2)
                .map(|c| d.upload(&g[c[0]..c[1]]).unwrap())
                .collect();
            let info = si_update_groups_on(d, &mut w, &gs, step).unwrap();
            let got: Vec<f32> = w.iter().flat_map(|b| d.download_all(b).unwrap()).collect();
            let close = |a: f64, b: f64| (a - b).abs() <= 2.0 * gamma * b;
            assert!(
                close(info.norm_before, cpu_info.norm_before),
                "{protocol:?} ‖w‖"
            );
            assert!(close(info.pre_norm, cpu_info.pre_norm), "{protocol:?} ‖w̃‖");
            assert!(
                (info.norm - cpu_info.norm).abs() <= 4.0 * f64::from(f32::EPSILON) * cpu_info.norm,
                "{protocol:?} ‖w'‖"
            );
            if protocol == Protocol::FixedLr {
                assert!(
                    got.iter()
                        .zip(&cpu)
                        .all(|(a, b)| a.to_bits() == b.to_bits())
                );
            } else {
                let worst = got
                    .iter()
                    .zip(&cpu)
                    .map(|(a, b)| ulps(*a, *b))
                    .fold(0.0, f32::max);
                assert!(worst <= 1.0, "{protocol:?}: {worst} ulps");
            }
            let mut single = w0.clone();
            si_update_host(dev, &mut single, &g, step).unwrap();
            let worst = single
                .iter()
                .zip(&cpu)
                .map(|(a, b)| ulps(*a, *b))
                .fold(0.0, f32::max);
            assert!(worst <= 1.0, "{protocol:?} in one buffer: {worst} ulps");
        }
    }
    compared(KernelSource::SiUpdate, "si_norm_sq");
    compared(KernelSource::SiUpdate, "si_step");
    compared(KernelSource::SiUpdate, "si_project");
}

// ---- gemm.cu, im2col.cu ----

/// `a'·b' + beta·c` in f64 with the bound of the f32 kernel: the k products and `beta·c` are k + 1
/// terms summed with k + 2 roundings, so |ĉ − c| ≤ γ_{k+2}·(Σ|a||b| + |beta·c|).
#[allow(clippy::too_many_arguments)]
fn gemm_reference(
    (m, n, k): (usize, usize, usize),
    a: &[f32],
    ta: bool,
    b: &[f32],
    tb: bool,
    beta: f32,
    c: &[f32],
) -> Vec<(f64, f64)> {
    let at = |i: usize, l: usize| f64::from(if ta { a[l * m + i] } else { a[i * k + l] });
    let bt = |l: usize, j: usize| f64::from(if tb { b[j * k + l] } else { b[l * n + j] });
    let bound = gemm_error_bound(k + 2);
    let mut out = Vec::with_capacity(m * n);
    for i in 0..m {
        for j in 0..n {
            let (mut sum, mut abs) = (0.0, 0.0);
            for l in 0..k {
                sum += at(i, l) * bt(l, j);
                abs += (at(i, l) * bt(l, j)).abs();
            }
            if beta != 0.0 {
                let bc = f64::from(beta) * f64::from(c[i * n + j]);
                sum += bc;
                abs += bc.abs();
            }
            out.push((sum, bound * abs + f64::from(f32::MIN_POSITIVE)));
        }
    }
    out
}

/// The column matrix by its definition (the CPU layers' layout).
fn im2col_reference(s: &ConvShape, x: &[f32]) -> Vec<f32> {
    let (c, n, h, w, k) = (
        s.c as usize,
        s.n as usize,
        s.h as i64,
        s.w as i64,
        s.k as usize,
    );
    let (ho, wo) = (s.ho as usize, s.wo as usize);
    let mut out = Vec::with_capacity(s.cols_len());
    for ch in 0..c {
        for ki in 0..k {
            for kj in 0..k {
                for img in 0..n {
                    for oh in 0..ho {
                        for ow in 0..wo {
                            let ih = (oh * s.stride as usize + ki) as i64 - s.pad as i64;
                            let iw = (ow * s.stride as usize + kj) as i64 - s.pad as i64;
                            let inside = (0..h).contains(&ih) && (0..w).contains(&iw);
                            out.push(if inside {
                                x[((ch * n + img) * h as usize + ih as usize) * w as usize
                                    + iw as usize]
                            } else {
                                0.0
                            });
                        }
                    }
                }
            }
        }
    }
    out
}

/// The adjoint by its definition: each input element sums, in (ki, kj) order from zero, the
/// column entries that read it (the CPU's col2im order).
fn col2im_reference(s: &ConvShape, cols: &[f32]) -> Vec<f32> {
    let mut dx = vec![0.0f32; s.input_len()];
    let index: Vec<f32> = (0..s.input_len()).map(|i| i as f32).collect();
    // Which input element each column entry reads (or none), from im2col of the indices + 1.
    let shifted: Vec<f32> = index.iter().map(|i| i + 1.0).collect();
    let reads = im2col_reference(s, &shifted);
    let (k, cols_n) = (s.k as usize, (s.n * s.ho * s.wo) as usize);
    for ch in 0..s.c as usize {
        for kk in 0..k * k {
            let row = ch * k * k + kk;
            for col in 0..cols_n {
                let src = reads[row * cols_n + col];
                if src > 0.0 {
                    dx[src as usize - 1] += cols[row * cols_n + col];
                }
            }
        }
    }
    dx
}

fn values(s: &mut u64, len: usize) -> Vec<f32> {
    (0..len).map(|_| (uniform(s) * 2.0 - 1.0) as f32).collect()
}

/// The products within their f32 bound of an f64 reference, for every transposition, beta = 0
/// (C filled with NaN, which must never be read) and beta ≠ 0, on shapes from 1×1×1 to sizes that
/// are not multiples of the 64-tile or the 16-chunk; im2col and col2im equal their definitions
/// bit for bit (3×3 padded, strided, 1×1, 1×1 images, one image).
fn tensor_kernels_equal_their_definitions(devices: &[CudaOnCpu]) {
    let mut s = 17u64;
    for dev in devices {
        let d: &dyn Device = dev;
        for (m, n, k) in [
            (1, 1, 1),
            (5, 7, 3),
            (65, 3, 130),
            (70, 66, 33),
            (2, 129, 17),
        ] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                for beta in [0.0f32, 0.5] {
                    let a = values(&mut s, m * k);
                    let b = values(&mut s, k * n);
                    let c0 = if beta == 0.0 {
                        vec![f32::NAN; m * n]
                    } else {
                        values(&mut s, m * n)
                    };
                    let (ad, bd) = (d.upload(&a).unwrap(), d.upload(&b).unwrap());
                    let mut cd = d.upload(&c0).unwrap();
                    gemm_on(d, (m, n, k), &ad, ta, &bd, tb, beta, &mut cd).unwrap();
                    let got = d.download_all(&cd).unwrap();
                    let want = gemm_reference((m, n, k), &a, ta, &b, tb, beta, &c0);
                    for (g, (w, e)) in got.iter().zip(&want) {
                        let err = (f64::from(*g) - w).abs();
                        assert!(
                            err <= *e,
                            "gemm {m}×{n}×{k} ta={ta} tb={tb} β={beta}: {g} vs {w} (bound {e})"
                        );
                    }
                }
            }
        }
        for (dims, k, stride, pad) in [
            ((3, 2, 5, 7), 3, 1, 1),
            ((2, 3, 8, 6), 3, 2, 1),
            ((4, 1, 5, 5), 1, 2, 0),
            ((1, 2, 1, 1), 3, 1, 1),
            ((5, 1, 9, 4), 3, 1, 0),
        ] {
            let shape = ConvShape::new(dims, k, stride, pad).unwrap();
            let x = values(&mut s, shape.input_len());
            let xd = d.upload(&x).unwrap();
            let mut cols = d.zeros::<f32>(shape.cols_len()).unwrap();
            im2col_on(d, &shape, &xd, &mut cols).unwrap();
            let got = d.download_all(&cols).unwrap();
            assert_eq!(got, im2col_reference(&shape, &x), "im2col {shape:?}");
            let y = values(&mut s, shape.cols_len());
            let yd = d.upload(&y).unwrap();
            let mut dx = d.upload(&vec![f32::NAN; shape.input_len()]).unwrap();
            col2im_on(d, &shape, &yd, &mut dx).unwrap();
            let got = d.download_all(&dx).unwrap();
            let want = col2im_reference(&shape, &y);
            assert!(
                got.iter()
                    .zip(&want)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "col2im {shape:?}"
            );
        }
    }
    compared(KernelSource::Gemm, "gemm_f32");
    compared(KernelSource::Im2col, "im2col_f32");
    compared(KernelSource::Im2col, "col2im_f32");
}

// ---- batchnorm.cu, pointwise.cu ----

/// BatchNorm, ReLU, max pooling and the cross-entropy against their definitions: BatchNorm's
/// statistics within f64 rounding of a two-pass f64 reference and y within [`bn_error_bound`]
/// of (x − μ)·s; dx within the same kind of bound from its f64 definition; ReLU and pooling bit for
/// bit (argmax the first maximum in window order); the cross-entropy terms and gradients within
/// 8 f32 ulps of f64 (a handful of f32 exp/log roundings on values of order 1).
fn layer_kernels_equal_their_definitions(devices: &[CudaOnCpu]) {
    let mut s = 23u64;
    let u = f64::powi(2.0, -24);
    for dev in devices {
        let d: &dyn Device = dev;
        for (channels, m) in [(1, 1), (3, 7), (5, 300), (2, 1000)] {
            let x: Vec<f32> = values(&mut s, channels * m)
                .iter()
                .map(|v| 3.0 * v + 1.0)
                .collect();
            let xd = d.upload(&x).unwrap();
            let mut yd = d.zeros::<f32>(channels * m).unwrap();
            let eps = 1e-5f32;
            let fwd = bn_forward_on(d, &xd, channels, m, eps, &mut yd).unwrap();
            let y = d.download_all(&yd).unwrap();
            let (inv, mean, var) = (
                d.download_all(&fwd.inv_std).unwrap(),
                d.download_all(&fwd.mean).unwrap(),
                d.download_all(&fwd.var).unwrap(),
            );
            let dy = values(&mut s, channels * m);
            let mut dxd = d.zeros::<f32>(channels * m).unwrap();
            bn_backward_on(
                d,
                &yd,
                &fwd.inv_std,
                &d.upload(&dy).unwrap(),
                channels,
                m,
                &mut dxd,
            )
            .unwrap();
            let dx = d.download_all(&dxd).unwrap();
            for c in 0..channels {
                let xs: Vec<f64> = x[c * m..(c + 1) * m]
                    .iter()
                    .map(|v| f64::from(*v))
                    .collect();
                let mu = xs.iter().sum::<f64>() / m as f64;
                let v = xs.iter().map(|x| (x - mu) * (x - mu)).sum::<f64>() / m as f64;
                assert!((mean[c] - mu).abs() <= 1e-12 * (1.0 + mu.abs()), "mean");
                assert!((var[c] - v).abs() <= 1e-12 * (1.0 + v), "var");
                let s_ref = 1.0 / (v + f64::from(eps)).sqrt();
                assert!((f64::from(inv[c]) - s_ref).abs() <= u * s_ref, "inv_std");
                let (ys, gs) = (&y[c * m..(c + 1) * m], &dy[c * m..(c + 1) * m]);
                let mdy = gs.iter().map(|g| f64::from(*g)).sum::<f64>() / m as f64;
                let mdyy = gs
                    .iter()
                    .zip(ys)
                    .map(|(g, y)| f64::from(*g) * f64::from(*y))
                    .sum::<f64>()
                    / m as f64;
                let sc = f64::from(inv[c]);
                for i in 0..m {
                    let want = (xs[i] - mu) * s_ref;
                    let e = bn_error_bound(want, mu, s_ref) + 2.0 * u * want.abs();
                    assert!((f64::from(ys[i]) - want).abs() <= e, "bn y[{c},{i}]");
                    let g = f64::from(gs[i]);
                    let want_dx = sc * (g - mdy - f64::from(ys[i]) * mdyy);
                    let e = 6.0 * u * sc * (g.abs() + mdy.abs() + (f64::from(ys[i]) * mdyy).abs());
                    assert!(
                        (f64::from(dx[c * m + i]) - want_dx).abs() <= e + 1e-30,
                        "bn dx"
                    );
                }
            }
        }
        // ReLU.
        let x = values(&mut s, 1001);
        let xd = d.upload(&x).unwrap();
        let mut yd = d.zeros::<f32>(x.len()).unwrap();
        relu_forward_on(d, x.len(), &xd, &mut yd).unwrap();
        let y = d.download_all(&yd).unwrap();
        assert!(
            x.iter()
                .zip(&y)
                .all(|(a, b)| *b == if *a > 0.0 { *a } else { 0.0 })
        );
        let g = values(&mut s, x.len());
        let mut gd = d.zeros::<f32>(x.len()).unwrap();
        relu_backward_on(d, x.len(), &yd, &d.upload(&g).unwrap(), &mut gd).unwrap();
        let back = d.download_all(&gd).unwrap();
        assert!((0..x.len()).all(|i| back[i] == if y[i] > 0.0 { g[i] } else { 0.0 }));
        // Max pooling, with ties and a window that leaves a remainder (floor mode).
        for (planes, h, w, k) in [(3, 8, 6, 2), (2, 5, 7, 2), (4, 4, 4, 4), (1, 1, 1, 1)] {
            let shape = PoolShape {
                planes,
                h,
                w,
                k,
                reserved: 0,
            };
            let x: Vec<f32> = values(&mut s, shape.input_len())
                .iter()
                .map(|v| (v * 3.0).round())
                .collect();
            let xd = d.upload(&x).unwrap();
            let mut yd = d.zeros::<f32>(shape.output_len()).unwrap();
            let mut ad = d.zeros::<u32>(shape.output_len()).unwrap();
            maxpool_forward_on(d, &shape, &xd, &mut yd, &mut ad).unwrap();
            let (y, arg) = (d.download_all(&yd).unwrap(), d.download_all(&ad).unwrap());
            let (ho, wo) = ((h / k) as usize, (w / k) as usize);
            let (h, w, k) = (h as usize, w as usize, k as usize);
            let mut want_arg = Vec::new();
            for p in 0..planes as usize {
                for oh in 0..ho {
                    for ow in 0..wo {
                        let mut best = p * h * w + oh * k * w + ow * k;
                        for a in 0..k {
                            for b in 0..k {
                                let idx = p * h * w + (oh * k + a) * w + ow * k + b;
                                if x[idx] > x[best] {
                                    best = idx;
                                }
                            }
                        }
                        want_arg.push(best as u32);
                    }
                }
            }
            assert_eq!(arg, want_arg, "argmax {shape:?}");
            assert!(y.iter().zip(&arg).all(|(v, a)| *v == x[*a as usize]));
            let g = values(&mut s, shape.output_len());
            let mut dxd = d.upload(&vec![f32::NAN; shape.input_len()]).unwrap();
            maxpool_backward_on(d, &shape, &ad, &d.upload(&g).unwrap(), &mut dxd).unwrap();
            let dx = d.download_all(&dxd).unwrap();
            let mut want = vec![0.0f32; shape.input_len()];
            for (a, g) in arg.iter().zip(&g) {
                want[*a as usize] += g;
            }
            assert_eq!(dx, want, "pool gradient {shape:?}");
            // Average pooling: the window's f32 sum in row order times 1/k², and its gradient.
            let mut yd = d.zeros::<f32>(shape.output_len()).unwrap();
            avgpool_forward_on(d, &shape, &xd, &mut yd).unwrap();
            let y = d.download_all(&yd).unwrap();
            let scale = 1.0 / (k * k) as f32;
            let mut want_y = Vec::new();
            for p in 0..planes as usize {
                for oh in 0..ho {
                    for ow in 0..wo {
                        let mut sum = 0.0f32;
                        for a in 0..k {
                            for b in 0..k {
                                sum += x[p * h * w + (oh * k + a) * w + ow * k + b];
                            }
                        }
                        want_y.push(sum * scale);
                    }
                }
            }
            assert_eq!(y, want_y, "avgpool {shape:?}");
            let mut dxd = d.upload(&vec![f32::NAN; shape.input_len()]).unwrap();
            avgpool_backward_on(d, &shape, &d.upload(&g).unwrap(), &mut dxd).unwrap();
            let dx = d.download_all(&dxd).unwrap();
            for (e, v) in dx.iter().enumerate() {
                let (p, ih, iw) = (e / (h * w), e / w % h, e % w);
                let want = if ih / k < ho && iw / k < wo {
                    g[(p * ho + ih / k) * wo + iw / k] * scale
                } else {
                    0.0
                };
                assert_eq!(
                    v.to_bits(),
                    (0.0 + want).to_bits(),
                    "avgpool gradient {shape:?}"
                );
            }
        }
        // Residual additions.
        let (a, b) = (values(&mut s, 777), values(&mut s, 777));
        let mut ad = d.upload(&a).unwrap();
        add_on(d, a.len(), &mut ad, &d.upload(&b).unwrap()).unwrap();
        let sum = d.download_all(&ad).unwrap();
        assert!(
            sum.iter()
                .zip(a.iter().zip(&b))
                .all(|(s, (x, y))| *s == x + y)
        );
        // Cross-entropy over [classes, n].
        let (classes, n) = (10, 37);
        let logits: Vec<f32> = values(&mut s, classes * n)
            .iter()
            .map(|v| 4.0 * v)
            .collect();
        let labels: Vec<u32> = (0..n).map(|j| (j * 7 % classes) as u32).collect();
        // Ties: sample 0's logits all equal (the lowest class wins), sample 1's top two equal.
        let mut logits = logits;
        (0..classes).for_each(|c| logits[c * n] = 0.5);
        let top = (0..classes)
            .map(|c| logits[c * n + 1])
            .fold(f32::NEG_INFINITY, f32::max);
        logits[3 * n + 1] = top;
        logits[6 * n + 1] = top;
        let mut dl = d.zeros::<f32>(classes * n).unwrap();
        let mut term = d.zeros::<f32>(n).unwrap();
        let mut hit = d.upload(&vec![7u32; n]).unwrap();
        cross_entropy_on(
            d,
            (classes, n),
            &d.upload(&logits).unwrap(),
            &d.upload(&labels).unwrap(),
            CrossEntropyOut {
                dlogits: &mut dl,
                term: &mut term,
                hit: &mut hit,
            },
        )
        .unwrap();
        let (dl, term) = (d.download_all(&dl).unwrap(), d.download_all(&term).unwrap());
        let hit = d.download_all(&hit).unwrap();
        for j in 0..n {
            let mut best = 0;
            for c in 1..classes {
                if logits[c * n + j] > logits[best * n + j] {
                    best = c;
                }
            }
            assert_eq!(hit[j], u32::from(best == labels[j] as usize), "hit {j}");
        }
        assert_eq!(hit[0], u32::from(labels[0] == 0), "a tie goes to class 0");
        for j in 0..n {
            let col = |c: usize| f64::from(logits[c * n + j]);
            let mx = (0..classes).map(col).fold(f64::NEG_INFINITY, f64::max);
            let log_z = (0..classes).map(|c| (col(c) - mx).exp()).sum::<f64>().ln() + mx;
            let want = log_z - col(labels[j] as usize);
            assert!(
                (f64::from(term[j]) - want).abs() <= 8.0 * u * (log_z.abs() + 1.0),
                "term {j}"
            );
            for c in 0..classes {
                let p = (col(c) - log_z).exp() - if c == labels[j] as usize { 1.0 } else { 0.0 };
                let want = p / n as f64;
                assert!(
                    (f64::from(dl[c * n + j]) - want).abs()
                        <= 8.0 * u * (1.0 + log_z.abs()) / n as f64,
                    "dlogits"
                );
            }
        }
    }
    compared(KernelSource::BatchNorm, "bn_forward_f32");
    compared(KernelSource::BatchNorm, "bn_backward_f32");
    for f in [
        "relu_forward_f32",
        "relu_backward_f32",
        "maxpool_forward_f32",
        "maxpool_backward_f32",
        "cross_entropy_f32",
        "add_f32",
        "avgpool_forward_f32",
        "avgpool_backward_f32",
    ] {
        compared(KernelSource::Pointwise, f);
    }
}

/// Evaluation-mode BatchNorm and the running statistics: bit for bit the CPU layer's and the
/// CPU trainer's f64/f32 expressions, written out here, on given statistics.
fn evaluation_batchnorm_equals_the_cpu_arithmetic(devices: &[CudaOnCpu]) {
    let mut s = 29u64;
    for dev in devices {
        let d: &dyn Device = dev;
        for (channels, m) in [(1, 1), (3, 7), (5, 300)] {
            let x: Vec<f32> = values(&mut s, channels * m)
                .iter()
                .map(|v| 2.0 * v - 0.3)
                .collect();
            let mean: Vec<f64> = values(&mut s, channels)
                .iter()
                .map(|v| f64::from(*v) * 0.7)
                .collect();
            let var: Vec<f64> = values(&mut s, channels)
                .iter()
                .map(|v| 0.1 + f64::from(*v).abs() * 3.0)
                .collect();
            let eps = 1e-5f32;
            let mut yd = d.zeros::<f32>(channels * m).unwrap();
            let (md, vd) = (d.upload(&mean).unwrap(), d.upload(&var).unwrap());
            let inv = bn_apply_on(
                d,
                &d.upload(&x).unwrap(),
                channels,
                m,
                eps,
                &md,
                &vd,
                &mut yd,
            )
            .unwrap();
            let (y, inv) = (d.download_all(&yd).unwrap(), d.download_all(&inv).unwrap());
            for c in 0..channels {
                let s_want = (1.0 / (var[c] + f64::from(eps)).sqrt()) as f32;
                assert_eq!(inv[c].to_bits(), s_want.to_bits(), "bn_apply scale");
                for i in 0..m {
                    let want = (x[c * m + i] - mean[c] as f32) * s_want;
                    assert_eq!(y[c * m + i].to_bits(), want.to_bits(), "bn_apply y");
                }
            }
            // Two folds of batch statistics over `count` values into (0, 1) starts.
            let (mut rm, mut rv) = (
                d.upload(&vec![0.0f64; channels]).unwrap(),
                d.upload(&vec![1.0f64; channels]).unwrap(),
            );
            let (mut want_m, mut want_v) = (vec![0.0f64; channels], vec![1.0f64; channels]);
            for count in [m.max(2), 1] {
                let momentum = 0.1;
                bn_running_on(d, momentum, (&md, &vd, count), &mut rm, &mut rv).unwrap();
                let unbias = if count > 1 {
                    count as f64 / (count - 1) as f64
                } else {
                    1.0
                };
                for c in 0..channels {
                    want_m[c] = (1.0 - momentum) * want_m[c] + momentum * mean[c];
                    want_v[c] = (1.0 - momentum) * want_v[c] + momentum * var[c] * unbias;
                }
            }
            assert_eq!(d.download_all(&rm).unwrap(), want_m, "running mean");
            assert_eq!(d.download_all(&rv).unwrap(), want_v, "running variance");
        }
    }
    compared(KernelSource::BatchNorm, "bn_apply_f32");
    compared(KernelSource::BatchNorm, "bn_running_f64");
}

// ---- batch.cu ----

/// Mini-batch indices against the Philox stream of `sweep_kernels::rng` (the CPU sampler's
/// formula; `sweep-nn`'s own sampler is compared in its tests), and the gathered batch against
/// the CPU's normalisation written out, including an index past the set (NaN, label 0).
fn batch_kernels_equal_the_cpu_sampler_and_gather(devices: &[CudaOnCpu]) {
    use sweep_kernels::rng::{Stream, counter, philox_key, philox4x32_10};
    for dev in devices {
        let d: &dyn Device = dev;
        for (seed, iteration, n_items, batch) in [
            (3u64, 0u64, 50_000usize, 1usize),
            (77, 12_345, 60_000, 130),
            (u64::MAX, (1 << 63) + 5, 7, 33),
        ] {
            let mut out = d.zeros::<u32>(batch).unwrap();
            batch_indices_on(d, seed, iteration, n_items, &mut out).unwrap();
            let got = d.download_all(&out).unwrap();
            let key = philox_key(seed);
            let want: Vec<u32> = (0..batch)
                .map(|j| {
                    let b = philox4x32_10(
                        counter((j / 4) as u32, iteration, Stream::BatchIndices),
                        key,
                    );
                    ((u64::from(b[j % 4]) * n_items as u64) >> 32) as u32
                })
                .collect();
            assert_eq!(got, want, "indices of iteration {iteration}");
        }
        let (len, channels, plane, classes) = (9usize, 3usize, 5usize, 4usize);
        let pixels: Vec<u8> = (0..len * channels * plane)
            .map(|i| (i * 37 % 256) as u8)
            .collect();
        let labels: Vec<u8> = (0..len).map(|i| (i % classes) as u8).collect();
        let mean = [0.49, 0.48, 0.45];
        let std = [0.25, 0.24, 0.26];
        let scale: Vec<f64> = std.iter().map(|s| 1.0 / (255.0 * s)).collect();
        let shift: Vec<f64> = mean.iter().zip(&std).map(|(m, s)| m / s).collect();
        let set = DeviceImages::upload(
            d,
            &pixels,
            &labels,
            (channels, plane),
            classes,
            (&scale, &shift),
        )
        .unwrap();
        let idx = [8u32, 0, 3, 3, 42];
        let mut x = d.zeros::<f32>(channels * idx.len() * plane).unwrap();
        let mut l = d.zeros::<u32>(idx.len()).unwrap();
        gather_batch_on(d, &set, &d.upload(&idx).unwrap(), &mut x, &mut l).unwrap();
        let (x, l) = (d.download_all(&x).unwrap(), d.download_all(&l).unwrap());
        for (j, &i) in idx.iter().enumerate() {
            let i = i as usize;
            assert_eq!(l[j], if i < len { u32::from(labels[i]) } else { 0 });
            for c in 0..channels {
                for p in 0..plane {
                    let got = x[(c * idx.len() + j) * plane + p];
                    if i >= len {
                        assert!(got.is_nan(), "an index past the set reads nothing");
                        continue;
                    }
                    let px = f64::from(pixels[(i * channels + c) * plane + p]);
                    let want = (px * scale[c] - shift[c]) as f32;
                    assert_eq!(got.to_bits(), want.to_bits(), "pixel");
                }
            }
        }
        assert!(
            DeviceImages::upload(d, &pixels, &labels, (channels, plane), 2, (&scale, &shift))
                .unwrap_err()
                .to_string()
                .contains("not below 2 classes")
        );
    }
    compared(KernelSource::Batch, "batch_indices_u32");
    compared(KernelSource::Batch, "gather_batch_f32");
}

// ---- measure.cu ----

/// The measurement reductions: `y += alpha·x` bit for bit the CPU's expression; the squared norm
/// and the squared distance, over several buffers, within γ_n (u = 2⁻⁵³) of sequential f64 sums.
fn measure_kernels_equal_their_definitions(devices: &[CudaOnCpu]) {
    let mut s = 31u64;
    let gamma = |n: usize| {
        let nu = n as f64 * f64::powi(2.0, -53);
        nu / (1.0 - nu)
    };
    for dev in devices {
        let d: &dyn Device = dev;
        let parts = [1usize, 300, 5000];
        let xs: Vec<Vec<f32>> = parts.iter().map(|n| values(&mut s, *n)).collect();
        let ys: Vec<Vec<f64>> = parts
            .iter()
            .map(|n| {
                values(&mut s, *n)
                    .iter()
                    .map(|v| f64::from(*v) * 1.7)
                    .collect()
            })
            .collect();
        let alpha = 0.3;
        let mut yd: Vec<_> = ys.iter().map(|y| d.upload(y).unwrap()).collect();
        let xd: Vec<_> = xs.iter().map(|x| d.upload(x).unwrap()).collect();
        for (x, y) in xd.iter().zip(yd.iter_mut()) {
            axpy_on(d, alpha, x, y).unwrap();
        }
        let mut want: Vec<Vec<f64>> = ys.clone();
        for (w, x) in want.iter_mut().zip(&xs) {
            w.iter_mut()
                .zip(x)
                .for_each(|(a, b)| *a += f64::from(*b) * alpha);
        }
        for (g, w) in yd.iter().zip(&want) {
            assert_eq!(d.download_all(g).unwrap(), *w, "axpy");
        }
        let n: usize = parts.iter().sum();
        let sq: f64 = want.iter().flatten().map(|v| v * v).sum();
        let got = norm_sq_f64_on(d, &yd).unwrap();
        assert!(
            (got - sq).abs() <= 2.0 * gamma(n) * sq,
            "norm {got} vs {sq}"
        );
        let dist: f64 = xs
            .iter()
            .flatten()
            .zip(want.iter().flatten())
            .map(|(x, y)| (f64::from(*x) - y) * (f64::from(*x) - y))
            .sum();
        let got = sq_distance_on(d, &xd, &yd).unwrap();
        assert!(
            (got - dist).abs() <= 2.0 * gamma(n) * dist,
            "distance {got} vs {dist}"
        );
    }
    for f in ["axpy_f64", "norm_sq_f64", "sq_distance_f64"] {
        compared(KernelSource::Measure, f);
    }
}

/// The `__global__` function names of a source, read from its text (comments skipped).
fn global_functions(text: &str) -> Vec<String> {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    code.match_indices("__global__")
        .filter_map(|(at, _)| {
            let rest = code[at + 10..]
                .trim_start()
                .strip_prefix("void")?
                .trim_start();
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            (!name.is_empty()).then_some(name)
        })
        .collect()
}

#[test]
fn every_kernel_runs_on_the_cpu_and_matches_the_cpu_backend() {
    let devices = devices();
    isotropic_chains_equal_the_cpu_backend(&devices);
    nearest_neighbours_equal_the_cpu_backend(&devices);
    si_update_equals_the_cpu_reference(&devices);
    tensor_kernels_equal_their_definitions(&devices);
    layer_kernels_equal_their_definitions(&devices);
    evaluation_batchnorm_equals_the_cpu_arithmetic(&devices);
    measure_kernels_equal_their_definitions(&devices);
    batch_kernels_equal_the_cpu_sampler_and_gather(&devices);

    let compiled: BTreeSet<String> = compiled_kernels()
        .into_iter()
        .map(|k| format!("{}:{}", k.file, k.name))
        .collect();
    let mut in_sources = BTreeSet::new();
    for k in KernelSource::ALL {
        let names = global_functions(k.file_text());
        let listed: Vec<String> = k.functions().iter().map(|f| f.to_string()).collect();
        assert_eq!(names, listed, "{}: KernelSource::functions", k.file_name());
        in_sources.extend(names.iter().map(|f| format!("{}:{f}", k.file_name())));
    }
    let executed: BTreeSet<String> = devices
        .iter()
        .flat_map(|d| d.launches().into_keys())
        .collect();
    let compared = COMPARED.lock().unwrap().clone();
    for k in &in_sources {
        assert!(compiled.contains(k), "{k} is not compiled for the CPU");
        assert!(executed.contains(k), "{k} has no execution test");
        assert!(
            compared.contains(k),
            "{k} is not compared with the CPU backend"
        );
    }
    println!(
        "cuda on cpu: {} kernels executed, {} compared with the CPU backend",
        in_sources.iter().filter(|k| executed.contains(*k)).count(),
        in_sources.iter().filter(|k| compared.contains(*k)).count()
    );
}

// ---- the runtime's own checks (kernels in cuda/on_cpu/selftest.cu) ----

const SELFTEST: &str = "on_cpu/selftest.cu";

/// The block sum of 128 values in the kernel's tree order, in f32.
fn tree_sum(x: &[f32]) -> f32 {
    let mut part = x.to_vec();
    let mut half = part.len() / 2;
    while half > 0 {
        for t in 0..half {
            part[t] += part[t + half];
        }
        half /= 2;
    }
    part[0]
}

fn block_sums(dev: &CudaOnCpu, function: &str, x: &[f32]) -> Vec<f32> {
    let d: &dyn Device = dev;
    let blocks = x.len() / 128;
    let xd = d.upload(x).unwrap();
    let out = d.zeros::<f32>(blocks).unwrap();
    let args = Args::new().buf(&xd).buf(&out);
    // SAFETY: st_block_sum(const float*, float*): `x` holds 128 values per block, `out` one.
    unsafe {
        dev.launch_in(
            SELFTEST,
            function,
            Shape::linear(blocks as u32, 128, 0),
            args,
        )
    }
    .unwrap();
    d.download_all(&out).unwrap()
}

#[test]
fn a_kernel_without_its_barrier_is_caught_by_the_schedules() {
    let mut s = 11u64;
    let x: Vec<f32> = (0..128 * 6).map(|_| uniform(&mut s) as f32).collect();
    let want: Vec<f32> = x.chunks(128).map(tree_sum).collect();
    let mut racy = Vec::new();
    for schedule in Schedule::ALL {
        let dev = CudaOnCpu::new(schedule);
        assert_eq!(block_sums(&dev, "st_block_sum", &x), want, "{schedule:?}");
        racy.push(block_sums(&dev, "st_block_sum_racy", &x));
    }
    // With the barrier after the loads removed, some schedule reads unwritten shared memory.
    assert!(
        racy.iter().any(|r| *r != want) && racy.windows(2).any(|p| p[0] != p[1]),
        "the missing barrier went unnoticed: {racy:?}"
    );
}

#[test]
fn warp_exchanges_and_votes_follow_cuda() {
    let mut s = 5u64;
    let n = 96; // three warps
    let x: Vec<i32> = (0..n)
        .map(|_| (uniform(&mut s) * 1200.0) as i32 + 1)
        .collect();
    for schedule in Schedule::ALL {
        let dev = CudaOnCpu::new(schedule);
        let d: &dyn Device = &dev;
        let xd = d.upload(&x).unwrap();
        let out = d.zeros::<i32>(5 * n).unwrap();
        let args = Args::new().buf(&xd).buf(&out);
        // SAFETY: st_warp_ops(const int*, int*): `x` holds n values, `out` 5n.
        unsafe { dev.launch_in(SELFTEST, "st_warp_ops", Shape::linear(1, n as u32, 0), args) }
            .unwrap();
        let got = d.download_all(&out).unwrap();
        for (w, warp) in x.chunks(32).enumerate() {
            let sum: i32 = warp.iter().sum();
            let max = *warp.iter().max().unwrap();
            let odd = warp
                .iter()
                .enumerate()
                .fold(0u32, |m, (l, v)| m | (((*v & 1) as u32) << l));
            let all_pos = warp.iter().all(|v| *v > 0) as i32;
            let any_big = warp.iter().any(|v| *v > 1000) as i32;
            for (l, v) in warp.iter().enumerate() {
                let o = &got[5 * (32 * w + l)..5 * (32 * w + l + 1)];
                let prev = if l == 0 { *v } else { warp[l - 1] };
                assert_eq!(o[0], if l == 0 { sum } else { 0 }, "sum, lane {l}");
                assert_eq!(o[1], max, "xor max, lane {l}");
                assert_eq!(o[2], warp[0] + prev, "shfl and shfl_up, lane {l}");
                assert_eq!(o[3] as u32, odd, "ballot, lane {l}");
                assert_eq!(o[4], all_pos + 2 * any_big, "votes, lane {l}");
            }
        }
    }
}

#[test]
fn atomics_are_atomic_across_blocks() {
    let n: usize = 64 * 50;
    let x: Vec<i32> = (0..n).map(|i| (i * 7919 % 1000) as i32 - 300).collect();
    let dev = CudaOnCpu::new(Schedule::Shuffled(1));
    let d: &dyn Device = &dev;
    let xd = d.upload(&x).unwrap();
    let sum = d.zeros::<u64>(1).unwrap();
    let lo = d.upload(&[i32::MAX]).unwrap();
    let hi = d.upload(&[i32::MIN]).unwrap();
    let count = d.zeros::<u32>(1).unwrap();
    let fsum = d.zeros::<f64>(1).unwrap();
    let args = Args::new()
        .buf(&xd)
        .buf(&sum)
        .buf(&lo)
        .buf(&hi)
        .buf(&count)
        .buf(&fsum);
    // SAFETY: st_atomics(const int*, u64*, int*, int*, unsigned*, double*), one thread per value.
    unsafe { dev.launch_in(SELFTEST, "st_atomics", Shape::linear(50, 64, 0), args) }.unwrap();
    let want_sum = x.iter().fold(0u64, |s, v| s.wrapping_add(*v as i64 as u64));
    assert_eq!(d.download_all(&sum).unwrap()[0], want_sum);
    assert_eq!(d.download_all(&lo).unwrap()[0], *x.iter().min().unwrap());
    assert_eq!(d.download_all(&hi).unwrap()[0], *x.iter().max().unwrap());
    assert_eq!(d.download_all(&count).unwrap()[0], n as u32);
    // Halves of integers add exactly in f64, in any order.
    let want_f: f64 = x.iter().map(|v| 0.5 * f64::from(*v)).sum();
    assert_eq!(d.download_all(&fsum).unwrap()[0], want_f);
}

#[test]
fn errors_of_a_kernel_or_its_launch_are_reported_not_undefined() {
    let dev = CudaOnCpu::default();
    let d: &dyn Device = &dev;
    let out = d.zeros::<i32>(64).unwrap();
    // Two different barriers.
    let args = Args::new().buf(&out);
    // SAFETY: st_divergent_barrier(int*): `out` holds one value per thread.
    let e = unsafe {
        dev.launch_in(
            SELFTEST,
            "st_divergent_barrier",
            Shape::linear(1, 64, 0),
            args,
        )
    }
    .unwrap_err()
    .to_string();
    assert!(e.contains("divergent __syncthreads"), "{e}");
    // A write one past the end of a buffer.
    let n = 100i32;
    let small = d.zeros::<i32>(n as usize).unwrap();
    let args = Args::new().buf(&small).val(&n);
    // SAFETY: deliberately wrong: the kernel writes element n of an n-element buffer, which the
    // guard zone after it absorbs.
    let e = unsafe { dev.launch_in(SELFTEST, "st_out_of_bounds", Shape::linear(1, 128, 0), args) }
        .unwrap_err()
        .to_string();
    assert!(e.contains("wrote outside buffer argument 0"), "{e}");
    // Arguments that do not match the kernel's parameters: refused before running.
    let args = Args::new().buf(&small).val(&1u64);
    // SAFETY: refused before the kernel runs (the second parameter is an int).
    let e = unsafe { dev.launch_in(SELFTEST, "st_out_of_bounds", Shape::linear(1, 1, 0), args) }
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("arguments of sizes [8, 8]") && e.contains("[8, 4]"),
        "{e}"
    );
    // Shapes no GPU accepts.
    for shape in [
        Shape::linear(1, 2048, 0),
        Shape::linear(0, 32, 0),
        Shape::linear(1, 32, 64 * 1024),
    ] {
        let args = Args::new().buf(&small).val(&n);
        // SAFETY: refused before the kernel runs.
        let e = unsafe { dev.launch_in(SELFTEST, "st_out_of_bounds", shape, args) }.unwrap_err();
        assert!(e.to_string().contains("launch shape"), "{e}");
    }
    // An unknown kernel.
    // SAFETY: refused before anything runs.
    let e = unsafe {
        d.launch(
            KernelSource::Nearest,
            "nn_nothing",
            Shape::linear(1, 1, 0),
            Args::new(),
        )
    }
    .unwrap_err();
    assert!(e.to_string().contains("no kernel nn_nothing"), "{e}");
}
