//! Randomness: Philox4x32-10, the Box–Muller transform and seed derivation. One stream layout
//! shared with the CUDA kernels (DESIGN §4), so both backends draw identical noise.

pub mod normal;
pub mod philox;
pub mod seed;

pub use normal::{normals_from_block, normals_lanes};
pub use philox::{philox_lanes, philox4x32_10};
pub use seed::{Stream, counter, philox_key, point_seed};

/// A unit vector in `R^dim` drawn uniformly on the sphere from `seed` and `stream` (normals from
/// consecutive blocks at iteration 0, normalised). Returns `None` only for `dim == 0`.
pub fn unit_vector(seed: u64, dim: usize, stream: Stream) -> Option<Vec<f64>> {
    if dim == 0 {
        return None;
    }
    let key = philox_key(seed);
    let mut v = Vec::with_capacity(dim + 3);
    let mut block = 0u32;
    while v.len() < dim {
        v.extend(normals_from_block(philox4x32_10(
            counter(block, 0, stream),
            key,
        )));
        block = block.wrapping_add(1);
    }
    v.truncate(dim);
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    v.iter_mut().for_each(|x| *x /= norm);
    Some(v)
}
