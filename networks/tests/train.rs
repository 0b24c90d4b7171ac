//! Training-step and gradient-statistics oracles (SPEC §2, §7.2, §7.3), on tiny networks in f64
//! with BatchNorm ε = 0 so that scale invariance (and hence g ⟂ w) is exact:
//!
//! * Pythagoras: since ⟨w, g⟩ = 0, each protocol's new norm has a closed form in the old norm,
//!   the learning rate and ‖g‖ (and the sphere's projection lands exactly on radius r);
//! * fixed ELR with λ = 0 moves the direction w̄ identically from any initial norm, and identically
//!   to projected SGD on any sphere (SPEC §2.2: "the same SDE as §2.1"), batch for batch;
//! * `stoch_grad_rms²` is a Monte Carlo estimate of E‖g_B − ∇L‖², which for 3 items and batches of
//!   2 is a 9-term exact average by enumeration.

mod common;

use sweep_nn::data::{BatchSampler, Dataset};
use sweep_nn::train::{Trainer, Update, gradient_statistics, norm};
use sweep_nn::{Architecture, Network};

fn dataset(n: usize, seed: u64) -> Dataset {
    common::random_cifar_like(n, seed)
}

fn net(si_norm: f64) -> (Network<f64>, Vec<f64>) {
    let (net, si) =
        Network::<f64>::initial(Architecture::ConvNet { c: 2 }, 3, 10, 1, 4, si_norm, 10.0)
            .expect("net");
    (net.with_bn_eps(0.0), si)
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

#[test]
fn each_protocol_moves_the_norm_as_pythagoras_says() {
    let data = dataset(64, 1);
    let (net, si) = net(1.0);
    let cases = [
        Update::FixedSphere {
            elr: 1e-3,
            radius: 2.0,
        },
        Update::FixedElr { elr: 1e-3, wd: 0.1 },
        Update::FixedLr { lr: 1e-3, wd: 0.3 },
    ];
    for update in cases {
        let start: Vec<f64> = match update {
            Update::FixedSphere { radius, .. } => si.iter().map(|v| v * radius).collect(),
            _ => si.clone(),
        };
        let mut tr = Trainer::new(&net, &data, BatchSampler::new(9, data.len(), 8), start);
        for _ in 0..10 {
            let before = norm(tr.weights());
            let log = tr.step(update).expect("step");
            let g2 = log.grad_norm * log.grad_norm;
            match update {
                Update::FixedSphere { elr, radius } => {
                    assert!(rel(log.lr, elr * radius * radius) < 1e-15);
                    let want = (radius * radius + log.lr * log.lr * g2).sqrt();
                    assert!(
                        rel(log.pre_norm, want) < 1e-10,
                        "{update:?}: ‖w̃‖ {} vs {want}",
                        log.pre_norm
                    );
                    assert!(rel(log.norm, radius) < 1e-13);
                }
                Update::FixedElr { elr, wd } => {
                    assert!(rel(log.lr, elr * before * before) < 1e-13);
                    let s = 1.0 - log.lr * wd;
                    let want = (s * s * before * before + log.lr * log.lr * g2).sqrt();
                    assert!(
                        rel(log.norm, want) < 1e-10,
                        "{update:?}: ‖w‖ {} vs {want}",
                        log.norm
                    );
                }
                Update::FixedLr { lr, wd } => {
                    assert_eq!(log.lr, lr);
                    let s = 1.0 - lr * wd;
                    let want = (s * s * before * before + lr * lr * g2).sqrt();
                    assert!(
                        rel(log.norm, want) < 1e-10,
                        "{update:?}: ‖w‖ {} vs {want}",
                        log.norm
                    );
                }
            }
            assert!(rel(norm(tr.weights()), log.norm) < 1e-14);
        }
    }
}

#[test]
fn fixed_elr_without_wd_and_fixed_sphere_move_the_direction_identically() {
    let data = dataset(64, 2);
    let (net, si) = net(1.0);
    let elr = 1e-3;
    let sampler = BatchSampler::new(5, data.len(), 8);
    let mut runs = [
        (
            Trainer::new(&net, &data, sampler, si.clone()),
            Update::FixedElr { elr, wd: 0.0 },
        ),
        (
            Trainer::new(&net, &data, sampler, si.iter().map(|v| v * 5.0).collect()),
            Update::FixedElr { elr, wd: 0.0 },
        ),
        (
            Trainer::new(&net, &data, sampler, si.iter().map(|v| v * 0.5).collect()),
            Update::FixedSphere { elr, radius: 0.5 },
        ),
    ];
    for _ in 0..15 {
        for (tr, u) in runs.iter_mut() {
            tr.step(*u).expect("step");
        }
    }
    let dir = |w: &[f64]| {
        let n = norm(w);
        w.iter().map(|v| v / n).collect::<Vec<f64>>()
    };
    let d0 = dir(runs[0].0.weights());
    let moved = d0
        .iter()
        .zip(&si)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt();
    assert!(moved > 1e-3, "the direction moved ({moved})");
    for (tr, u) in &runs[1..] {
        let d = dir(tr.weights());
        let err = d
            .iter()
            .zip(&d0)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(err < 1e-10, "{u:?}: direction differs by {err:e}");
    }
}

#[test]
fn stoch_grad_rms_matches_exact_enumeration_over_all_batches() {
    // 3 items, batches of 2 drawn i.i.d.: 9 equally likely ordered batches.
    let data = dataset(3, 3);
    let (net, si) = net(1.0);
    let dim = net.dim();
    let full_x = data.batch::<f64>(&[0, 1, 2]);
    let mut full = vec![0.0; dim];
    let full_loss = net
        .loss_grad(&si, &full_x.0, &full_x.1, &mut full)
        .expect("full");
    let mut d2 = Vec::new();
    let mut g = vec![0.0; dim];
    for i in 0..3 {
        for j in 0..3 {
            let (x, l) = data.batch::<f64>(&[i, j]);
            net.loss_grad(&si, &x, &l, &mut g).expect("batch");
            d2.push(
                g.iter()
                    .zip(&full)
                    .map(|(a, b)| (a - b).powi(2))
                    .sum::<f64>(),
            );
        }
    }
    let exact = d2.iter().sum::<f64>() / 9.0;
    let var = d2.iter().map(|v| (v - exact).powi(2)).sum::<f64>() / 9.0;
    let samples = 4000;
    let stats = gradient_statistics(
        &net,
        &data,
        &si,
        1024,
        &BatchSampler::new(11, 3, 2),
        1 << 63,
        samples,
    )
    .expect("stats");
    assert!(rel(stats.full_loss, full_loss) < 1e-12);
    assert!(rel(stats.full_grad_norm, norm(&full)) < 1e-12);
    let est = stats.stoch_grad_rms.powi(2);
    let se = (var / samples as f64).sqrt();
    assert!(
        (est - exact).abs() < 5.0 * se,
        "E‖g−∇L‖²: sampled {est}, exact {exact} ± {se}"
    );
    assert!(rel(stats.trace_sigma(2.0), 4.0 * est) < 1e-12);
}

#[test]
fn full_batch_gradient_weights_chunks_by_size() {
    // 5 items in chunks of 2: ∇L = (2 g₀₁ + 2 g₂₃ + g₄)/5 with each chunk's own BN statistics.
    let data = dataset(5, 4);
    let (net, si) = net(1.0);
    let mut want = vec![0.0; net.dim()];
    let mut g = vec![0.0; net.dim()];
    for (idx, wgt) in [(&[0usize, 1][..], 0.4), (&[2, 3][..], 0.4), (&[4][..], 0.2)] {
        let (x, l) = data.batch::<f64>(idx);
        net.loss_grad(&si, &x, &l, &mut g).expect("g");
        want.iter_mut().zip(&g).for_each(|(a, b)| *a += wgt * b);
    }
    let stats =
        gradient_statistics(&net, &data, &si, 2, &BatchSampler::new(1, 5, 2), 0, 1).expect("stats");
    assert!(rel(stats.full_grad_norm, norm(&want)) < 1e-12);
}
