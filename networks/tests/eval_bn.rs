//! Evaluation-mode BatchNorm (SPEC §7.3's test loss and accuracy in `model.eval()`), checked by
//! properties that pin it down: with a batch's own statistics it is training mode; with fixed
//! statistics each sample is independent of the rest of the batch; the counted-correct label is
//! the one of least loss; the running statistics follow PyTorch's update, replayed by hand.
#![allow(clippy::unwrap_used)]

use sweep_nn::data::{BatchSampler, Dataset};
use sweep_nn::layers::BnStats;
use sweep_nn::models::NetError;
use sweep_nn::train::{Trainer, Update, gradient_statistics, gradient_statistics_recording};
use sweep_nn::{Architecture, Network};

fn nets() -> Vec<(Network<f64>, Vec<f64>)> {
    [
        Architecture::ConvNet { c: 2 },
        Architecture::ResNet18 { k: 1 },
    ]
    .into_iter()
    .map(|a| Network::<f64>::initial(a, 1, 10, 3, 4, 1.0, 10.0).unwrap())
    .collect()
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

#[test]
fn eval_with_a_batchs_own_statistics_is_training_mode() {
    let data = Dataset::synthetic(2, 4);
    let idx: Vec<usize> = (0..12).collect();
    let (x, labels) = data.batch::<f64>(&idx);
    for (net, si) in nets() {
        let mut grad = vec![0.0; net.dim()];
        let mut stats = Vec::new();
        let train = net
            .loss_grad_recording(&si, &x, &labels, &mut grad, &mut stats)
            .unwrap();
        assert_eq!(stats.len(), net.bn_layers(), "{:?}", net.arch());
        let eval = net.evaluate(&si, &x, &labels, &stats).unwrap();
        assert!(
            rel(eval.loss, train) < 1e-12,
            "{:?}: {} vs {train}",
            net.arch(),
            eval.loss
        );
        assert_eq!(train, net.loss(&si, &x, &labels).unwrap());
    }
}

#[test]
fn eval_mode_treats_each_sample_alone_and_counts_the_least_loss_label() {
    let data = Dataset::synthetic(2, 4);
    let (x0, l0) = data.batch::<f64>(&(0..16).collect::<Vec<_>>());
    for (net, si) in nets() {
        let mut grad = vec![0.0; net.dim()];
        let mut stats = Vec::new();
        net.loss_grad_recording(&si, &x0, &l0, &mut grad, &mut stats)
            .unwrap();
        let idx: Vec<usize> = (20..26).collect();
        let (x, labels) = data.batch::<f64>(&idx);
        let whole = net.evaluate(&si, &x, &labels, &stats).unwrap();
        let (mut loss, mut correct) = (0.0, 0);
        for &i in &idx {
            let (xi, li) = data.batch::<f64>(&[i]);
            let one = net.evaluate(&si, &xi, &li, &stats).unwrap();
            loss += one.loss / idx.len() as f64;
            correct += one.correct;
            // The label counted correct is the one with the least loss.
            let losses: Vec<(f64, usize)> = (0..10u8)
                .map(|k| {
                    let e = net.evaluate(&si, &xi, &[k], &stats).unwrap();
                    (e.loss, e.correct)
                })
                .collect();
            let best = (0..10)
                .min_by(|&a, &b| losses[a].0.total_cmp(&losses[b].0))
                .unwrap();
            for (k, &(_, c)) in losses.iter().enumerate() {
                assert_eq!(
                    c,
                    usize::from(k == best),
                    "{:?} sample {i} label {k}",
                    net.arch()
                );
            }
        }
        assert!(rel(whole.loss, loss) < 1e-12, "{:?}", net.arch());
        assert_eq!((whole.correct, whole.n), (correct, 6), "{:?}", net.arch());
        let wrong = net.evaluate(&si, &x, &labels, &stats[1..]);
        assert!(matches!(wrong, Err(NetError::BnStats { found, .. }) if found == stats.len() - 1));
    }
}

#[test]
fn running_statistics_follow_pytorchs_update() {
    let data = Dataset::synthetic(5, 6);
    let arch = Architecture::ConvNet { c: 2 };
    let (net, si) = Network::<f64>::initial(arch, 1, 10, 1, 4, 1.0, 10.0).unwrap();
    let sampler = BatchSampler::new(9, data.len(), 8);
    let update = Update::FixedLr { lr: 0.1, wd: 0.01 };
    let momentum = 0.1;
    let mut tracked = Trainer::new(&net, &data, sampler, si.clone()).track_running_stats(momentum);
    assert!(tracked.running_stats().is_none());
    // The replay: the same trajectory untracked, each step's batch statistics recorded by hand.
    let mut plain = Trainer::new(&net, &data, sampler, si);
    let mut expected: Vec<BnStats> = Vec::new();
    let mut grad = vec![0.0; net.dim()];
    for t in 0..4u64 {
        let (x, labels) = data.batch::<f64>(&sampler.indices(t));
        let mut batch = Vec::new();
        net.loss_grad_recording(plain.weights(), &x, &labels, &mut grad, &mut batch)
            .unwrap();
        fold(&mut expected, &batch);
        plain.step(update).unwrap();
        tracked.step(update).unwrap();
        assert_eq!(
            plain.weights(),
            tracked.weights(),
            "tracking changes nothing else"
        );
    }
    let got = tracked.running_stats().unwrap();
    assert_eq!(got.len(), 4);
    for (g, e) in got.iter().zip(&expected) {
        for c in 0..g.mean.len() {
            assert!((g.mean[c] - e.mean[c]).abs() < 1e-12);
            assert!(rel(g.var[c], e.var[c]) < 1e-12);
        }
    }
}

/// PyTorch's running-statistics update `r ← 0.9 r + 0.1 b` (unbiased batch variance), by hand.
fn fold(expected: &mut Vec<BnStats>, batch: &[BnStats]) {
    if expected.is_empty() {
        *expected = batch
            .iter()
            .map(|b| BnStats {
                mean: vec![0.0; b.mean.len()],
                var: vec![1.0; b.var.len()],
                count: 0,
            })
            .collect();
    }
    for (e, b) in expected.iter_mut().zip(batch) {
        let n = b.count as f64;
        for c in 0..b.mean.len() {
            e.mean[c] = 0.9 * e.mean[c] + 0.1 * b.mean[c];
            e.var[c] = 0.9 * e.var[c] + 0.1 * b.var[c] * n / (n - 1.0);
        }
    }
}

#[test]
fn measurement_passes_update_running_statistics_like_training_passes() {
    // SPEC §7.3 measures in training mode, so (as in PyTorch) each of the measurement's passes
    // moves the running statistics: its chunks, then its fresh mini-batches, in order.
    let data = Dataset::synthetic(3, 4);
    let arch = Architecture::ConvNet { c: 2 };
    let (net, si) = Network::<f64>::initial(arch, 1, 10, 1, 4, 1.0, 10.0).unwrap();
    let sampler = BatchSampler::new(2, data.len(), 8);
    let update = Update::FixedElr {
        elr: 0.01,
        wd: 0.01,
    };
    let mut tracked = Trainer::new(&net, &data, sampler, si).track_running_stats(0.1);
    let mut expected: Vec<BnStats> = Vec::new();
    let mut grad = vec![0.0; net.dim()];
    let hand = |w: &[f64], idx: &[usize], grad: &mut [f64]| {
        let (x, labels) = data.batch::<f64>(idx);
        let mut stats = Vec::new();
        net.loss_grad_recording(w, &x, &labels, grad, &mut stats)
            .unwrap();
        stats
    };
    for t in 0..2u64 {
        let stats = hand(tracked.weights(), &sampler.indices(t), &mut grad);
        fold(&mut expected, &stats);
        tracked.step(update).unwrap();
    }
    let w = tracked.weights().to_vec();
    let (plain, bn) =
        gradient_statistics_recording(&net, &data, &w, 16, &sampler, 1 << 63, 3).unwrap();
    assert_eq!(
        plain,
        gradient_statistics(&net, &data, &w, 16, &sampler, 1 << 63, 3).unwrap(),
        "recording changes nothing else"
    );
    // 40 images in chunks of 16, 16, 8; then three batches.
    let chunks: Vec<Vec<usize>> = vec![(0..16).collect(), (16..32).collect(), (32..40).collect()];
    assert_eq!((bn.chunks.len(), bn.batches.len()), (3, 3));
    for (i, idx) in chunks.iter().enumerate() {
        assert_eq!(bn.chunks[i], hand(&w, idx, &mut grad), "chunk {i}");
        fold(&mut expected, &bn.chunks[i]);
    }
    for m in 0..3u64 {
        let idx = sampler.indices((1 << 63) + m);
        assert_eq!(
            bn.batches[m as usize],
            hand(&w, &idx, &mut grad),
            "batch {m}"
        );
        fold(&mut expected, &bn.batches[m as usize]);
    }
    tracked.absorb_running_stats(&bn.chunks);
    tracked.absorb_running_stats(&bn.batches);
    let got = tracked.running_stats().unwrap();
    for (g, e) in got.iter().zip(&expected) {
        for c in 0..g.mean.len() {
            assert!((g.mean[c] - e.mean[c]).abs() < 1e-12);
            assert!(rel(g.var[c], e.var[c]) < 1e-12);
        }
    }
    // Without tracking, absorbing does nothing.
    let mut untracked = Trainer::new(&net, &data, sampler, w);
    untracked.absorb_running_stats(&bn.chunks);
    assert!(untracked.running_stats().is_none());
}

#[test]
fn statistics_of_another_width_are_refused() {
    let data = Dataset::synthetic(2, 2);
    let (x, labels) = data.batch::<f64>(&(0..8).collect::<Vec<_>>());
    let (small, s_si) =
        Network::<f64>::initial(Architecture::ConvNet { c: 2 }, 1, 10, 3, 4, 1.0, 10.0).unwrap();
    let (big, b_si) =
        Network::<f64>::initial(Architecture::ConvNet { c: 3 }, 1, 10, 3, 4, 1.0, 10.0).unwrap();
    let mut grad = vec![0.0; small.dim()];
    let mut stats = Vec::new();
    small
        .loss_grad_recording(&s_si, &x, &labels, &mut grad, &mut stats)
        .unwrap();
    assert!(matches!(
        big.evaluate(&b_si, &x, &labels, &stats),
        Err(NetError::BnStats { .. })
    ));
}
