//! Our Philox4x32-10 against an independent implementation (the `rand_philox` crate, which passes
//! the Random123 known-answer tests) over many counters and keys, including the carry words.

use sweep_kernels::rng::{Stream, counter, philox_key, philox4x32_10, point_seed};

#[test]
fn philox_matches_rand_philox_everywhere() {
    let mut x = 0x1234_5678_9abc_def0u64;
    for i in 0..100_000u64 {
        x = sweep_kernels::rng::seed::splitmix64(x);
        let key = philox_key(x);
        let ctr = counter((i % 97) as u32, x.rotate_left(17) ^ i, Stream::StepNoise);
        assert_eq!(
            philox4x32_10(ctr, key),
            rand_philox::philox4x32_10(ctr, key),
            "key {key:?} counter {ctr:?}"
        );
    }
    let seed = point_seed(42, 7, 0);
    assert_eq!(
        philox4x32_10([u32::MAX, u32::MAX, u32::MAX, 0], philox_key(seed)),
        rand_philox::philox4x32_10([u32::MAX, u32::MAX, u32::MAX, 0], philox_key(seed))
    );
}
