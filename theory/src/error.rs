//! Why this module exists: every closed form in this crate has a domain (d ≥ 2, κ > 0, positive
//! rates, a stationary state that exists). Bad input is reported as a typed [`TheoryError`] rather
//! than a panic or a silent NaN, so callers (sweeps, reports) can say which value was wrong.

/// Invalid input or an unsolvable request in the theory layer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TheoryError {
    /// The dimension is below 2: the unit sphere S^{d−1} needs d ≥ 2.
    #[error("dimension d = {0} is below 2: the sphere S^(d-1) needs d >= 2")]
    Dimension(usize),
    /// A quantity that must be finite and strictly positive is not.
    #[error("{name} = {value} must be finite and > 0")]
    NotPositive {
        /// The name of the offending quantity (e.g. "kappa", "learning rate").
        name: &'static str,
        /// The value received.
        value: f64,
    },
    /// A finite quantity lies outside its admissible range.
    #[error("{name} = {value} is outside {range}")]
    OutOfRange {
        /// The name of the offending quantity.
        name: &'static str,
        /// The value received.
        value: f64,
        /// The admissible range, in words.
        range: &'static str,
    },
    /// A protocol name that is not one of `fixed_sphere`, `fixed_elr`, `fixed_lr`.
    #[error("unknown protocol {0:?}: expected fixed_sphere, fixed_elr or fixed_lr")]
    UnknownProtocol(String),
    /// The discrete dynamics has no stationary radius (the step is too large).
    #[error("no stationary state: {0}")]
    NoStationaryState(String),
    /// A root search found no sign change in its bracket.
    #[error("no solution for {what} between {lo} and {hi}")]
    NoRoot {
        /// What was being solved for.
        what: &'static str,
        /// Lower end of the largest bracket searched.
        lo: f64,
        /// Upper end of the largest bracket searched.
        hi: f64,
    },
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, TheoryError>;

/// Checks that `value` is finite and strictly positive.
pub(crate) fn positive(name: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(TheoryError::NotPositive { name, value })
    }
}

/// Checks the sphere dimension.
pub(crate) fn dimension(d: usize) -> Result<usize> {
    if d >= 2 {
        Ok(d)
    } else {
        Err(TheoryError::Dimension(d))
    }
}
