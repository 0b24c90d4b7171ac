//! Seed derivation (DESIGN §4): every random stream of a sweep derives from its seed, so a retried
//! point reproduces its trajectory bit for bit. These functions are part of the contract: changing
//! them changes every published result.

/// The SplitMix64 finaliser: a bijective 64-bit mixer.
#[inline]
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Domain separator of point seeds ("thermosw" in ASCII).
const POINT_DOMAIN: u64 = 0x7468_6572_6d6f_7377;

/// The seed of one point: a stable hash of (sweep seed, point index, replica).
pub fn point_seed(sweep_seed: u64, point: u32, replica: u32) -> u64 {
    let h = splitmix64(sweep_seed ^ POINT_DOMAIN);
    let h = splitmix64(h ^ u64::from(point));
    splitmix64(h ^ (u64::from(replica) << 32 | 0x5245_504c))
}

/// The Philox key of a seed: its two 32-bit halves, low word first.
#[inline]
pub fn philox_key(seed: u64) -> [u32; 2] {
    [seed as u32, (seed >> 32) as u32]
}

/// What a Philox counter's last word says the numbers are for, so that streams of one key never
/// overlap. Counter layout (CPU and CUDA alike): `[block, iteration_lo, iteration_hi, stream]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Stream {
    /// Per-iteration gradient noise of a chain (keyed by the point seed).
    StepNoise = 0,
    /// The initial direction (keyed by the sweep seed: identical for every point, as in the paper).
    InitialDirection = 1,
    /// The isotropic model's target direction w* (keyed by `target_seed`).
    Target = 2,
    /// Mini-batch indices of a network workload, drawn i.i.d. per iteration (keyed by the data
    /// seed; `sweep-nn`'s sampler).
    BatchIndices = 3,
    /// Initial weights of a network workload: convolutions and the frozen head (keyed by the
    /// init seed; `sweep-nn`'s initialiser).
    NetworkInit = 4,
    /// Pixels of the generated `synthetic` data set (keyed by the init seed; `sweep-nn`).
    SyntheticData = 5,
}

/// The Philox counter of block `block` of iteration `iteration` in `stream`.
#[inline(always)]
pub fn counter(block: u32, iteration: u64, stream: Stream) -> [u32; 4] {
    [
        block,
        iteration as u32,
        (iteration >> 32) as u32,
        stream as u32,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_seeds_differ_and_are_stable() {
        let mut seen = std::collections::HashSet::new();
        for point in 0..200 {
            for replica in 0..5 {
                assert!(seen.insert(point_seed(42, point, replica)));
            }
        }
        assert_eq!(point_seed(42, 3, 1), point_seed(42, 3, 1));
        assert_ne!(point_seed(42, 3, 1), point_seed(43, 3, 1));
        // SplitMix64 reference output for seed 0 (first output of the SplitMix64 generator).
        assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
    }
}
