//! Per-channel normalisation `(x/255 − mean)/std` (SPEC §7.2): the paper's constants for CIFAR,
//! statistics computed from the training images otherwise.

/// CIFAR-10 mean and std per channel (SPEC §7.2).
pub const CIFAR10: ([f64; 3], [f64; 3]) = ([0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010]);
/// CIFAR-100 mean and std per channel (SPEC §7.2).
pub const CIFAR100: ([f64; 3], [f64; 3]) = ([0.5071, 0.4867, 0.4408], [0.2675, 0.2565, 0.2761]);

/// Mean and (population) standard deviation of each channel of NCHW bytes scaled to [0, 1]. A
/// constant channel gets std 1 (not 0), so that normalising it cannot divide by zero.
pub fn channel_stats(pixels: &[u8], channels: usize, plane: usize) -> (Vec<f64>, Vec<f64>) {
    let mut sum = vec![0.0f64; channels];
    let mut sq = vec![0.0f64; channels];
    let mut count = vec![0usize; channels];
    for (i, chunk) in pixels.chunks_exact(plane).enumerate() {
        let c = i % channels;
        for &p in chunk {
            let v = f64::from(p) / 255.0;
            sum[c] += v;
            sq[c] += v * v;
        }
        count[c] += plane;
    }
    let mean: Vec<f64> = sum
        .iter()
        .zip(&count)
        .map(|(s, &n)| s / n.max(1) as f64)
        .collect();
    let std = sq
        .iter()
        .zip(&count)
        .zip(&mean)
        .map(|((q, &n), m)| {
            let sd = (q / n.max(1) as f64 - m * m).max(0.0).sqrt();
            // E[x²] − m² cancels to ~1e-8 for a constant channel.
            if sd > 1e-7 { sd } else { 1.0 }
        })
        .collect();
    (mean, std)
}
