//! Philox4x32-10 (Salmon et al., SC'11), the counter-based generator behind every random number in
//! thermosweep (DESIGN §4). A counter-based generator lets any chain jump to any iteration without
//! state, and lets the CUDA kernels draw exactly the same bits as the CPU.
//!
//! Two forms: [`philox4x32_10`] for one block, and [`philox_lanes`] for `L` independent blocks at
//! once, written so that the compiler vectorises it across lanes (lanes are chains).

/// First Philox multiplier.
const M0: u32 = 0xD251_1F53;
/// Second Philox multiplier.
const M1: u32 = 0xCD9E_8D57;
/// First Weyl key increment (golden ratio).
const W0: u32 = 0x9E37_79B9;
/// Second Weyl key increment (√3 − 1).
const W1: u32 = 0xBB67_AE85;

/// Number of rounds: the "-10" in Philox4x32-10.
pub const ROUNDS: usize = 10;

#[inline(always)]
fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = u64::from(a) * u64::from(b);
    ((p >> 32) as u32, p as u32)
}

/// One Philox4x32-10 block: four 32-bit outputs for a 128-bit counter and a 64-bit key.
#[inline]
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let [mut c0, mut c1, mut c2, mut c3] = counter;
    let [mut k0, mut k1] = key;
    for round in 0..ROUNDS {
        if round > 0 {
            k0 = k0.wrapping_add(W0);
            k1 = k1.wrapping_add(W1);
        }
        let (hi0, lo0) = mulhilo(M0, c0);
        let (hi1, lo1) = mulhilo(M1, c2);
        (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0);
    }
    [c0, c1, c2, c3]
}

/// `L` independent Philox4x32-10 blocks, lane `i` with counter `counter[*][i]` and key `key[*][i]`.
///
/// Bitwise identical to calling [`philox4x32_10`] per lane; written over lane arrays so that it
/// compiles to vector multiplies inside a `#[target_feature]` caller.
#[inline(always)]
pub fn philox_lanes<const L: usize>(counter: [[u32; L]; 4], key: [[u32; L]; 2]) -> [[u32; L]; 4] {
    // Words are held in u64 lanes (high halves zero) so that each multiply is one 32×32→64
    // vector multiply (`vpmuludq`) with no widening shuffles.
    const LOW: u64 = 0xFFFF_FFFF;
    let widen = |x: [u32; L]| -> [u64; L] { std::array::from_fn(|i| u64::from(x[i])) };
    let (mut c0, mut c1, mut c2, mut c3) = (
        widen(counter[0]),
        widen(counter[1]),
        widen(counter[2]),
        widen(counter[3]),
    );
    let (mut k0, mut k1) = (widen(key[0]), widen(key[1]));
    for round in 0..ROUNDS {
        if round > 0 {
            for i in 0..L {
                k0[i] = (k0[i] + u64::from(W0)) & LOW;
                k1[i] = (k1[i] + u64::from(W1)) & LOW;
            }
        }
        let mut n0 = [0u64; L];
        let mut n1 = [0u64; L];
        let mut n2 = [0u64; L];
        let mut n3 = [0u64; L];
        for i in 0..L {
            let p0 = u64::from(M0) * (c0[i] & LOW);
            let p1 = u64::from(M1) * (c2[i] & LOW);
            n0[i] = (p1 >> 32) ^ c1[i] ^ k0[i];
            n1[i] = p1 & LOW;
            n2[i] = (p0 >> 32) ^ c3[i] ^ k1[i];
            n3[i] = p0 & LOW;
        }
        (c0, c1, c2, c3) = (n0, n1, n2, n3);
    }
    let narrow = |x: [u64; L]| -> [u32; L] { std::array::from_fn(|i| x[i] as u32) };
    [narrow(c0), narrow(c1), narrow(c2), narrow(c3)]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known-answer vectors from the Random123 distribution (kat_vectors, philox4x32_10).
    #[test]
    fn random123_known_answers() {
        assert_eq!(
            philox4x32_10([0, 0, 0, 0], [0, 0]),
            [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]
        );
        assert_eq!(
            philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]
        );
        assert_eq!(
            philox4x32_10(
                [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344],
                [0xa409_3822, 0x299f_31d0]
            ),
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
        );
    }

    #[test]
    fn lanes_equal_scalar() {
        let mut counter = [[0u32; 8]; 4];
        let mut key = [[0u32; 8]; 2];
        for i in 0..8 {
            let x = i as u32;
            counter[0][i] = x.wrapping_mul(0x9E37_79B9);
            counter[1][i] = x ^ 0xDEAD_BEEF;
            counter[2][i] = x.wrapping_mul(7);
            counter[3][i] = u32::MAX - x;
            key[0][i] = x.wrapping_mul(0x85EB_CA6B);
            key[1][i] = x.rotate_left(13);
        }
        let out = philox_lanes(counter, key);
        for i in 0..8 {
            let scalar = philox4x32_10(
                [counter[0][i], counter[1][i], counter[2][i], counter[3][i]],
                [key[0][i], key[1][i]],
            );
            assert_eq!(scalar, [out[0][i], out[1][i], out[2][i], out[3][i]]);
        }
    }
}
