//! ReLU. The backward pass reads the mask from the forward output (`y > 0`), so no extra cache.

use crate::real::Real;
use crate::tensor::Act;

/// `max(x, 0)` elementwise.
pub fn relu_forward<T: Real>(x: &Act<T>) -> Act<T> {
    x.with_data(
        x.data
            .iter()
            .map(|&v| if v > T::ZERO { v } else { T::ZERO })
            .collect(),
    )
}

/// `dy` where the forward output `y` was positive, 0 elsewhere.
pub fn relu_backward<T: Real>(y: &Act<T>, dy: &Act<T>) -> Act<T> {
    dy.with_data(
        dy.data
            .iter()
            .zip(&y.data)
            .map(|(&g, &v)| if v > T::ZERO { g } else { T::ZERO })
            .collect(),
    )
}
