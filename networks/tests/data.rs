//! Data readers: round trips of generated files in every format (IDX raw and gzipped, CIFAR-10 and
//! CIFAR-100 binary), rejection of missing, truncated, mislabelled and corrupt files with the file
//! named, normalisation against closed forms, and the batch sampler's range, determinism and
//! uniformity (χ² test).

use std::io::Write;
use std::path::Path;

use sweep_nn::data::cifar::{self, Cifar, PIXELS};
use sweep_nn::data::idx;
use sweep_nn::data::normalise;
use sweep_nn::data::{BatchSampler, DataError, Dataset, Split};

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip")
}

/// Writes an MNIST-like train split of `n` 28×28 images (pixel = (i + r + c) mod 256).
fn write_mnist(dir: &Path, n: usize, gzipped: bool, labels: &[u8]) -> Vec<u8> {
    let pixels: Vec<u8> = (0..n * 784)
        .map(|k| ((k / 784) + (k % 784) / 28 + k % 28) as u8)
        .collect();
    let img = idx::encode(&[n as u32, 28, 28], &pixels);
    let lab = idx::encode(&[labels.len() as u32], labels);
    let (a, b, img, lab) = if gzipped {
        (
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz",
            gz(&img),
            gz(&lab),
        )
    } else {
        (
            "train-images-idx3-ubyte",
            "train-labels-idx1-ubyte",
            img,
            lab,
        )
    };
    std::fs::write(dir.join(a), img).expect("write");
    std::fs::write(dir.join(b), lab).expect("write");
    pixels
}

fn names(err: &DataError, file: &str) {
    let msg = err.to_string();
    assert!(msg.contains(file), "error does not name {file}: {msg}");
}

#[test]
fn idx_round_trip_raw_and_gzipped_with_padding() {
    for gzipped in [false, true] {
        let dir = tempfile::tempdir().expect("tmp");
        let labels = [3u8, 1, 4, 1, 5];
        let pixels = write_mnist(dir.path(), 5, gzipped, &labels);
        let ds = Dataset::mnist_family(dir.path(), Split::Train, None).expect("read");
        assert_eq!((ds.len(), ds.c, ds.h, ds.w, ds.classes), (5, 1, 32, 32, 10));
        assert_eq!(ds.labels, labels);
        for i in 0..5 {
            for r in 0..32 {
                for c in 0..32 {
                    let want = if (2..30).contains(&r) && (2..30).contains(&c) {
                        pixels[i * 784 + (r - 2) * 28 + (c - 2)]
                    } else {
                        0
                    };
                    assert_eq!(ds.pixels[i * 1024 + r * 32 + c], want);
                }
            }
        }
        // The batch is the normalised pixels: mean 0, std 1 over the whole (padded) set.
        let (x, l) = ds.batch::<f64>(&[0, 1, 2, 3, 4]);
        assert_eq!(l, labels);
        let m = x.data.iter().sum::<f64>() / x.data.len() as f64;
        let v = x.data.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / x.data.len() as f64;
        assert!(
            m.abs() < 1e-12 && (v - 1.0).abs() < 1e-12,
            "mean {m}, var {v}"
        );
    }
}

#[test]
fn idx_rejects_missing_truncated_mislabelled_and_corrupt_files() {
    let dir = tempfile::tempdir().expect("tmp");
    let err = Dataset::mnist_family(dir.path(), Split::Train, None).expect_err("missing");
    assert!(matches!(err, DataError::Missing { .. }));
    names(&err, "train-images-idx3-ubyte");

    write_mnist(dir.path(), 4, false, &[0, 1, 2, 3]);
    let img = dir.path().join("train-images-idx3-ubyte");
    let bytes = std::fs::read(&img).expect("read");
    std::fs::write(&img, &bytes[..bytes.len() - 10]).expect("write");
    let err = Dataset::mnist_family(dir.path(), Split::Train, None).expect_err("truncated");
    assert!(matches!(err, DataError::Length { .. }), "{err}");
    names(&err, "train-images-idx3-ubyte");
    std::fs::write(&img, &bytes[..6]).expect("write");
    assert!(matches!(
        Dataset::mnist_family(dir.path(), Split::Train, None),
        Err(DataError::Length { .. })
    ));

    // A labels file where the images should be: wrong magic.
    std::fs::copy(dir.path().join("train-labels-idx1-ubyte"), &img).expect("copy");
    let err = Dataset::mnist_family(dir.path(), Split::Train, None).expect_err("magic");
    assert!(matches!(err, DataError::BadMagic { .. }), "{err}");
    names(&err, "train-images-idx3-ubyte");

    // Label 10 in a 10-class set, and a count mismatch.
    write_mnist(dir.path(), 4, false, &[0, 1, 10, 3]);
    let err = Dataset::mnist_family(dir.path(), Split::Train, None).expect_err("label");
    assert!(
        matches!(
            err,
            DataError::LabelOutOfRange {
                index: 2,
                label: 10,
                ..
            }
        ),
        "{err}"
    );
    names(&err, "train-labels-idx1-ubyte");
    write_mnist(dir.path(), 4, false, &[0, 1, 2]);
    let err = Dataset::mnist_family(dir.path(), Split::Train, None).expect_err("count");
    assert!(
        matches!(
            err,
            DataError::CountMismatch {
                n_images: 4,
                n_labels: 3,
                ..
            }
        ),
        "{err}"
    );

    // Corrupt and truncated gzip streams.
    let dir = tempfile::tempdir().expect("tmp");
    write_mnist(dir.path(), 4, true, &[0, 1, 2, 3]);
    let gzp = dir.path().join("train-images-idx3-ubyte.gz");
    let mut b = std::fs::read(&gzp).expect("read");
    let keep = b.len() / 2;
    b.truncate(keep);
    std::fs::write(&gzp, &b).expect("write");
    let err = Dataset::mnist_family(dir.path(), Split::Train, None).expect_err("gzip");
    assert!(matches!(err, DataError::Gzip { .. }), "{err}");
    names(&err, "train-images-idx3-ubyte.gz");
}

#[test]
fn idx_rejects_wrong_image_size() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("t10k-images-idx3-ubyte"),
        idx::encode(&[1, 32, 32], &[0; 1024]),
    )
    .expect("w");
    std::fs::write(
        dir.path().join("t10k-labels-idx1-ubyte"),
        idx::encode(&[1], &[0]),
    )
    .expect("w");
    let err = Dataset::mnist_family(dir.path(), Split::Test, None).expect_err("shape");
    assert!(
        matches!(err, DataError::Shape { h: 32, w: 32, .. }),
        "{err}"
    );
}

fn cifar_pixels(n: usize) -> Vec<u8> {
    (0..n * PIXELS).map(|k| (k * 31 % 251) as u8).collect()
}

#[test]
fn cifar10_and_cifar100_round_trip() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut all_labels = Vec::new();
    let mut all_pixels = Vec::new();
    for b in 1..=5 {
        let labels: Vec<u8> = (0..3).map(|i| ((b * 3 + i) % 10) as u8).collect();
        let px = cifar_pixels(3)
            .iter()
            .map(|p| p.wrapping_add(b as u8))
            .collect::<Vec<_>>();
        std::fs::write(
            dir.path().join(format!("data_batch_{b}.bin")),
            cifar::encode(Cifar::Ten, &labels, &px),
        )
        .expect("w");
        all_labels.extend(labels);
        all_pixels.extend(px);
    }
    let ds = Dataset::cifar(dir.path(), Cifar::Ten, Split::Train).expect("read");
    assert_eq!((ds.len(), ds.c, ds.classes), (15, 3, 10));
    assert_eq!(ds.labels, all_labels);
    assert_eq!(ds.pixels, all_pixels);
    assert_eq!(ds.mean, normalise::CIFAR10.0);
    // Normalisation closed form for one pixel: (p/255 − mean_c)/std_c.
    let (x, _) = ds.batch::<f64>(&[7]);
    for c in 0..3 {
        let p = f64::from(all_pixels[7 * PIXELS + c * 1024 + 5]);
        let want = (p / 255.0 - normalise::CIFAR10.0[c]) / normalise::CIFAR10.1[c];
        assert!((x.data[c * 1024 + 5] - want).abs() < 1e-12);
    }

    let labels: Vec<u8> = vec![0, 99, 42, 7];
    std::fs::write(
        dir.path().join("test.bin"),
        cifar::encode(Cifar::Hundred, &labels, &cifar_pixels(4)),
    )
    .expect("w");
    let ds = Dataset::cifar(dir.path(), Cifar::Hundred, Split::Test).expect("read");
    assert_eq!((ds.len(), ds.classes), (4, 100));
    assert_eq!(ds.labels, labels, "fine labels, not coarse");
    assert_eq!(ds.pixels, cifar_pixels(4));
    assert_eq!(ds.std, normalise::CIFAR100.1);
}

#[test]
fn cifar_rejects_truncated_mislabelled_and_missing_batches() {
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("test_batch.bin");
    let good = cifar::encode(Cifar::Ten, &[1, 2], &cifar_pixels(2));
    std::fs::write(&f, &good[..good.len() - 1]).expect("w");
    let err = Dataset::cifar(dir.path(), Cifar::Ten, Split::Test).expect_err("truncated");
    assert!(matches!(err, DataError::RecordSize { .. }), "{err}");
    names(&err, "test_batch.bin");
    std::fs::write(&f, cifar::encode(Cifar::Ten, &[1, 12], &cifar_pixels(2))).expect("w");
    let err = Dataset::cifar(dir.path(), Cifar::Ten, Split::Test).expect_err("label");
    assert!(
        matches!(
            err,
            DataError::LabelOutOfRange {
                index: 1,
                label: 12,
                ..
            }
        ),
        "{err}"
    );
    // A CIFAR-100 file read as CIFAR-10: 3074-byte records are not 3073-byte ones.
    std::fs::write(
        &f,
        cifar::encode(Cifar::Hundred, &[1, 2, 3], &cifar_pixels(3)),
    )
    .expect("w");
    assert!(Dataset::cifar(dir.path(), Cifar::Ten, Split::Test).is_err());
    let err = Dataset::cifar(dir.path(), Cifar::Ten, Split::Train).expect_err("missing");
    assert!(matches!(err, DataError::Missing { .. }));
    names(&err, "data_batch_1.bin");
}

#[test]
fn channel_stats_match_closed_form() {
    // Channel 0 alternates 0 and 255 (mean 1/2, std 1/2); channel 1 is constant 51 (mean 0.2,
    // std 0, reported as 1 so that normalisation stays finite).
    let plane = 4;
    let mut px = Vec::new();
    for _ in 0..3 {
        px.extend([0u8, 255, 0, 255]);
        px.extend([51u8; 4]);
    }
    let (m, s) = normalise::channel_stats(&px, 2, plane);
    assert!((m[0] - 0.5).abs() < 1e-12 && (s[0] - 0.5).abs() < 1e-12);
    assert!((m[1] - 0.2).abs() < 1e-12 && s[1] == 1.0);
}

#[test]
fn sampler_is_deterministic_in_range_and_uniform() {
    let n = 10;
    let s = BatchSampler::new(1, n, 128);
    assert_eq!(s.indices(5), s.indices(5));
    assert_ne!(s.indices(5), s.indices(6));
    assert_ne!(s.indices(5), BatchSampler::new(2, n, 128).indices(5));
    let mut counts = vec![0usize; n];
    let iters = 2000;
    for t in 0..iters {
        for i in s.indices(t) {
            counts[i] += 1;
        }
    }
    let expected = (iters as usize * 128) as f64 / n as f64;
    let chi2: f64 = counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum();
    // χ² with 9 degrees of freedom: P(χ² > 27.88) = 0.001.
    assert!(chi2 < 27.88, "χ² = {chi2}, counts {counts:?}");
    // Large N: indices stay below N.
    let big = BatchSampler::new(3, 50_000, 128);
    assert!((0..100).all(|t| big.indices(t).iter().all(|&i| i < 50_000)));
}

#[test]
fn subsets_keep_the_first_images_of_each_class_or_name_the_short_class() {
    let all = Dataset::synthetic(1, 5); // labels 0, 1, …, 9, 0, 1, …
    let two = all
        .first_per_label(2, Path::new("syn"))
        .expect("two per class");
    assert_eq!(two.len(), 20);
    assert_eq!(two.labels, all.labels[..20]);
    assert_eq!(two.pixels, all.pixels[..20 * 1024]);
    assert_eq!(
        (two.mean.clone(), two.std.clone()),
        (all.mean.clone(), all.std.clone())
    );
    let err = all
        .first_per_label(6, Path::new("syn"))
        .expect_err("only five per class")
        .to_string();
    assert!(
        err.contains("syn") && err.contains("class 0 has 5") && err.contains("= 6"),
        "{err}"
    );
    assert_eq!(all.first(3).labels, [0, 1, 2]);
    assert_eq!(all.first(1000).len(), 50);
}
