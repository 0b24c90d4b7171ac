//! ReLU. The backward pass reads the mask from the forward output (`y > 0`), so no extra cache.

use crate::par;
use crate::real::Real;
use crate::tensor::Act;

/// `max(x, 0)` elementwise.
pub fn relu_forward<T: Real>(x: &Act<T>) -> Act<T> {
    x.with_data(par::map_elements(&x.data, |v| {
        if v > T::ZERO { v } else { T::ZERO }
    }))
}

/// `dy` where the forward output `y` was positive, 0 elsewhere.
pub fn relu_backward<T: Real>(y: &Act<T>, dy: &Act<T>) -> Act<T> {
    dy.with_data(par::zip_elements(&dy.data, &y.data, |g, v| {
        if v > T::ZERO { g } else { T::ZERO }
    }))
}
