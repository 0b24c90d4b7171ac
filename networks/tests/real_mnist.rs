//! Real MNIST and Fashion-MNIST (fetched by `scripts/fetch-data.sh`) against published facts about
//! them: item counts, the first training labels, class counts, and MNIST's well-known pixel
//! statistics (mean 0.1307, std 0.3081 over 28×28, which the 32×32 zero padding rescales).
//!
//! The data live in `$THERMOSWEEP_DATA/{mnist,fashion-mnist}`, default `<repository>/data/…`.
//! `convnet_learns_real_mnist` trains ConvNet(4) in f32 with fixed ELR for 150 steps and requires
//! the loss on 2000 test images to fall below half its initial value and below 1 (the frozen
//! norm-10 head makes the initial loss ≈ 10, far above chance's ln 10).
//!
//! Without them a test prints "SKIPPED: …" and passes.

use std::path::PathBuf;

use sweep_nn::data::{BatchSampler, Dataset, Split};
use sweep_nn::train::{Trainer, Update};
use sweep_nn::{Architecture, Network};

fn data_dir(name: &str) -> Option<PathBuf> {
    let root = std::env::var_os("THERMOSWEEP_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data"));
    let dir = root.join(name);
    if dir.is_dir() {
        Some(dir)
    } else {
        println!(
            "SKIPPED: no {} (run scripts/fetch-data.sh {name} {})",
            dir.display(),
            dir.display()
        );
        None
    }
}

#[test]
fn real_mnist() {
    let Some(dir) = data_dir("mnist") else { return };
    let train = Dataset::mnist_family(&dir, Split::Train, None).expect("MNIST train");
    let test = Dataset::mnist_family(
        &dir,
        Split::Test,
        Some((train.mean.clone(), train.std.clone())),
    )
    .expect("MNIST test");
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    assert_eq!(train.labels[..5], [5, 0, 4, 1, 9]);
    assert_eq!(test.labels[..5], [7, 2, 1, 0, 4]);
    let mut counts = [0usize; 10];
    train.labels.iter().for_each(|&l| counts[l as usize] += 1);
    assert_eq!(
        counts,
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    // 28×28 statistics 0.1307 / 0.3081; padding to 32×32 multiplies E[x] and E[x²] by 784/1024.
    let f = 784.0 / 1024.0;
    let (m28, s28) = (0.1307f64, 0.3081f64);
    let m32 = m28 * f;
    let s32 = ((s28 * s28 + m28 * m28) * f - m32 * m32).sqrt();
    assert!((train.mean[0] - m32).abs() < 2e-4, "mean {}", train.mean[0]);
    assert!(
        (train.std[0] - s32).abs() < 2e-4,
        "std {} vs {s32}",
        train.std[0]
    );
}

#[test]
fn real_fashion_mnist() {
    let Some(dir) = data_dir("fashion-mnist") else {
        return;
    };
    let train = Dataset::mnist_family(&dir, Split::Train, None).expect("Fashion-MNIST train");
    let test = Dataset::mnist_family(&dir, Split::Test, None).expect("Fashion-MNIST test");
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    // Fashion-MNIST is balanced: 6000 training and 1000 test items per class.
    for (ds, per) in [(&train, 6000), (&test, 1000)] {
        let mut counts = [0usize; 10];
        ds.labels.iter().for_each(|&l| counts[l as usize] += 1);
        assert_eq!(counts, [per; 10]);
    }
    assert_eq!(train.labels[..3], [9, 0, 0]);
}

/// Mean loss of the first `count` test images in batches of 500, with BatchNorm in training mode
/// (batch statistics; eval-mode BN with running statistics is not implemented).
fn test_loss(net: &Network<f32>, w: &[f32], test: &Dataset, count: usize) -> f64 {
    let idx: Vec<usize> = (0..count).collect();
    let mut total = 0.0;
    for chunk in idx.chunks(500) {
        let (x, l) = test.batch::<f32>(chunk);
        total += f64::from(net.loss(w, &x, &l).expect("loss")) * chunk.len() as f64;
    }
    total / count as f64
}

#[test]
fn convnet_learns_real_mnist() {
    let Some(dir) = data_dir("mnist") else { return };
    let train = Dataset::mnist_family(&dir, Split::Train, None).expect("MNIST train");
    let stats = Some((train.mean.clone(), train.std.clone()));
    let test = Dataset::mnist_family(&dir, Split::Test, stats).expect("MNIST test");
    let (net, si) = Network::<f32>::initial(Architecture::ConvNet { c: 4 }, 1, 10, 1, 4, 1.0, 10.0)
        .expect("net");
    let before = test_loss(&net, &si, &test, 2000);
    let mut tr = Trainer::new(&net, &train, BatchSampler::new(1, train.len(), 64), si);
    for _ in 0..150 {
        tr.step(Update::FixedElr {
            elr: 1e-3,
            wd: 1e-3,
        })
        .expect("step");
    }
    let after = test_loss(&net, tr.weights(), &test, 2000);
    println!("MNIST ConvNet(4): test loss {before:.3} -> {after:.3} after 150 steps");
    assert!(
        after < 0.5 * before && after < 1.0,
        "test loss {before} -> {after}"
    );
}
