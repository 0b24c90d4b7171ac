//! The `synthetic` data set of DESIGN §3: 1×32×32 images in 10 classes generated from the shared
//! Philox stream (`Stream::SyntheticData`), so a network sweep can run, and be tested, with no
//! files at all. Each class has a fixed random template of 4×4 blocks; an image is its class's
//! template plus independent pixel noise of the same size, so the classes overlap but are
//! learnable, and the loss landscape has the structure (a minimum to find, gradient noise around
//! it) that the stationary-state measurements need.

use sweep_kernels::rng::{Stream, counter, philox_key, philox4x32_10};

use super::dataset::Dataset;
use super::normalise;

/// Classes of the synthetic set.
pub const SYNTHETIC_CLASSES: usize = 10;
/// Side of the synthetic images.
const SIDE: usize = 32;
/// Template block side: templates are constant on 4×4 blocks.
const BLOCK: usize = 4;

/// A uniform byte stream: byte `i` of counter iteration `word`.
fn bytes(key: [u32; 2], word: u64, count: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(count);
    let mut block = 0u32;
    while out.len() < count {
        let words = philox4x32_10(counter(block, word, Stream::SyntheticData), key);
        for w in words {
            out.extend_from_slice(&w.to_le_bytes());
        }
        block += 1;
    }
    out.truncate(count);
    out
}

impl Dataset {
    /// `per_label` images of each of the 10 classes (labels cycle 0, 1, …, 9), generated from
    /// `seed`, normalised by their own statistics.
    pub fn synthetic(seed: u64, per_label: usize) -> Self {
        Self::synthetic_split(seed, per_label, super::Split::Train, None)
    }

    /// [`Dataset::synthetic`]'s training set or a test set: the same class templates, fresh
    /// noise (the test images never repeat a training image), normalised by `stats` (mean, std)
    /// if given (a test set takes its training set's), else by its own.
    pub fn synthetic_split(
        seed: u64,
        per_label: usize,
        split: super::Split,
        stats: Option<(Vec<f64>, Vec<f64>)>,
    ) -> Self {
        let noise_base: u64 = match split {
            super::Split::Train => 1 << 32,
            super::Split::Test => 2 << 32,
        };
        let key = philox_key(seed);
        let plane = SIDE * SIDE;
        let cells = (SIDE / BLOCK) * (SIDE / BLOCK);
        let templates: Vec<Vec<u8>> = (0..SYNTHETIC_CLASSES)
            .map(|c| bytes(key, c as u64, cells))
            .collect();
        let n = per_label * SYNTHETIC_CLASSES;
        let mut pixels = Vec::with_capacity(n * plane);
        let mut labels = Vec::with_capacity(n);
        for i in 0..n {
            let label = i % SYNTHETIC_CLASSES;
            let noise = bytes(key, noise_base + i as u64, plane);
            let template = &templates[label];
            for (p, &z) in noise.iter().enumerate() {
                let (r, col) = (p / SIDE, p % SIDE);
                let t = template[(r / BLOCK) * (SIDE / BLOCK) + col / BLOCK];
                // Template and noise in equal parts: the mean of two uniform bytes.
                pixels.push(((u16::from(t) + u16::from(z)) / 2) as u8);
            }
            labels.push(label as u8);
        }
        let (mean, std) = stats.unwrap_or_else(|| normalise::channel_stats(&pixels, 1, plane));
        Self {
            pixels,
            labels,
            c: 1,
            h: SIDE,
            w: SIDE,
            classes: SYNTHETIC_CLASSES,
            mean,
            std,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_is_deterministic_balanced_and_class_structured() {
        let a = Dataset::synthetic(3, 20);
        assert_eq!(a.len(), 200);
        assert_eq!((a.c, a.h, a.w, a.classes), (1, 32, 32, 10));
        let b = Dataset::synthetic(3, 20);
        assert_eq!(a.pixels, b.pixels);
        assert_ne!(Dataset::synthetic(4, 20).pixels, a.pixels);
        let test = Dataset::synthetic_split(
            3,
            20,
            crate::data::Split::Test,
            Some((a.mean.clone(), a.std.clone())),
        );
        assert_eq!((&test.mean, &test.std), (&a.mean, &a.std));
        assert_eq!((test.len(), &test.labels), (200, &a.labels));
        assert_ne!(test.pixels, a.pixels, "fresh noise");
        for c in 0..10u8 {
            assert_eq!(a.labels.iter().filter(|&&l| l == c).count(), 20);
        }
        // Two images of one class are closer than images of different classes on average:
        // they share the template (variance of a uniform byte / 4 per pixel apart from noise).
        let img = |i: usize| &a.pixels[i * 1024..(i + 1) * 1024];
        let dist = |x: &[u8], y: &[u8]| -> f64 {
            x.iter()
                .zip(y)
                .map(|(&p, &q)| (f64::from(p) - f64::from(q)).powi(2))
                .sum()
        };
        let (mut same, mut other) = (0.0, 0.0);
        for i in 0..50 {
            same += dist(img(i), img(i + 10));
            other += dist(img(i), img(i + 11));
        }
        assert!(same < 0.75 * other, "same-class {same} vs other {other}");
    }
}
