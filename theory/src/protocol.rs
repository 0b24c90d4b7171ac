//! Why this module exists: the three training protocols of SPEC §2 (SGD on a fixed sphere, with a
//! fixed effective learning rate, with a fixed learning rate) share every formula up to which
//! hyperparameters are held fixed. [`Protocol`] names them (the same strings as configs and
//! reports use) and [`Hyper`] holds a validated pair of hyperparameters, one per axis of a sweep.

use std::fmt;
use std::str::FromStr;

use crate::error::{Result, TheoryError, positive};

/// A training protocol (SPEC §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// Projected SGD on the sphere of radius r, no weight decay; axes (elr, radius).
    FixedSphere,
    /// SGD with a fixed effective learning rate η_eff = η/‖w‖² and weight decay λ; axes (elr, wd).
    FixedElr,
    /// SGD with a fixed learning rate η and weight decay λ; axes (lr, wd).
    FixedLr,
}

impl Protocol {
    /// All protocols, in SPEC order.
    pub const ALL: [Protocol; 3] = [Protocol::FixedSphere, Protocol::FixedElr, Protocol::FixedLr];

    /// The canonical name: "fixed_sphere", "fixed_elr" or "fixed_lr".
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::FixedSphere => "fixed_sphere",
            Protocol::FixedElr => "fixed_elr",
            Protocol::FixedLr => "fixed_lr",
        }
    }

    /// Names of the two sweep axes: ("elr", "radius"), ("elr", "wd") or ("lr", "wd").
    pub fn axis_names(self) -> (&'static str, &'static str) {
        match self {
            Protocol::FixedSphere => ("elr", "radius"),
            Protocol::FixedElr => ("elr", "wd"),
            Protocol::FixedLr => ("lr", "wd"),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protocol {
    type Err = TheoryError;

    fn from_str(s: &str) -> Result<Protocol> {
        Protocol::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| TheoryError::UnknownProtocol(s.to_owned()))
    }
}

/// One configuration of a protocol: the values on its two axes, both finite and > 0.
///
/// `first` is the elr η_eff (fixed sphere, fixed ELR) or the lr η (fixed LR); `second` is the
/// radius r (fixed sphere) or the weight decay λ (fixed ELR, fixed LR).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hyper {
    /// The protocol.
    pub protocol: Protocol,
    /// elr (fixed sphere / fixed ELR) or lr (fixed LR).
    pub first: f64,
    /// radius (fixed sphere) or wd (fixed ELR / fixed LR).
    pub second: f64,
}

impl Hyper {
    /// Checked construction: both values must be finite and > 0.
    pub fn new(protocol: Protocol, first: f64, second: f64) -> Result<Hyper> {
        let (first_name, second_name) = protocol.axis_names();
        positive(first_name, first)?;
        positive(second_name, second)?;
        Ok(Hyper {
            protocol,
            first,
            second,
        })
    }

    /// The same protocol with one axis replaced (checked).
    pub fn with_axis(self, axis: Axis, value: f64) -> Result<Hyper> {
        match axis {
            Axis::First => Hyper::new(self.protocol, value, self.second),
            Axis::Second => Hyper::new(self.protocol, self.first, value),
        }
    }

    /// The value on `axis`.
    pub fn axis(&self, axis: Axis) -> f64 {
        match axis {
            Axis::First => self.first,
            Axis::Second => self.second,
        }
    }
}

/// One of the two hyperparameter axes of a protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Axis {
    /// elr or lr.
    First,
    /// radius or wd.
    Second,
}

impl Axis {
    /// The other axis.
    pub fn other(self) -> Axis {
        match self {
            Axis::First => Axis::Second,
            Axis::Second => Axis::First,
        }
    }
}
