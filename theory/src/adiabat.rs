//! Why this module exists: the adiabatic-process check (SPEC §3.7, V4, §16.10) walks along a path
//! of constant entropy through a chosen configuration. To leading order in T that path is
//! P·V^γ = const (γ = 2); at finite T only the exact isentrope keeps S constant. Given a
//! through-point and a value on one axis, this module finds the partner value on the other axis
//! by bracketed root finding in log space, using the SDE stationary states.

use crate::error::{Result, TheoryError, positive};
use crate::gas::GasState;
use crate::protocol::{Axis, Hyper};

/// Which path an adiabat follows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AdiabatLaw {
    /// P·V^γ = const with the SDE radius and pressure (γ > 0; γ = 2 is the low-T VMF value and
    /// the default for networks, whose C_V is unknown).
    PowerLaw {
        /// The adiabatic index γ.
        gamma: f64,
    },
    /// The exact isentrope: total S = S_unit(T) + (d−1) ln r constant, exact VMF S_unit, SDE T and r.
    Isentrope,
}

/// The quantity an adiabat keeps constant, at a configuration.
pub fn adiabat_invariant(law: AdiabatLaw, hyper: &Hyper, d: usize, sigma2: f64) -> Result<f64> {
    let state = GasState::sde(hyper, d, sigma2)?;
    match law {
        AdiabatLaw::PowerLaw { gamma } => {
            positive("gamma", gamma)?;
            Ok(state.pressure.ln() + gamma * state.volume.ln())
        }
        AdiabatLaw::Isentrope => Ok(state.entropy),
    }
}

/// The value on the other axis such that (`given` = `value`, partner) lies on the adiabat `law`
/// through `through` (isotropic noise σ², dimension d). Errors (no sign change) when the invariant
/// does not vary along the other axis — e.g. P·V² for fixed LR does not depend on λ — or when no
/// partner lies within a factor e^±60 of the through-point's value.
pub fn adiabat_partner(
    law: AdiabatLaw,
    through: &Hyper,
    d: usize,
    sigma2: f64,
    given: Axis,
    value: f64,
) -> Result<f64> {
    let target = adiabat_invariant(law, through, d, sigma2)?;
    let start = through.with_axis(given, value)?;
    let other = given.other();
    let residual = |log_y: f64| -> Result<f64> {
        let hyper = start.with_axis(other, log_y.exp())?;
        Ok(adiabat_invariant(law, &hyper, d, sigma2)? - target)
    };
    let centre = through.axis(other).ln();
    let f_centre = residual(centre)?;
    if f_centre == 0.0 {
        return Ok(centre.exp());
    }
    // Expand a bracket around the through-point's partner until the residual changes sign.
    let mut width = 0.25;
    let (mut lo, mut hi) = (centre, centre);
    let (mut f_lo, mut f_hi) = (f_centre, f_centre);
    while f_lo.signum() == f_hi.signum() {
        if width > 60.0 {
            return Err(TheoryError::NoRoot {
                what: "adiabat partner",
                lo: lo.exp(),
                hi: hi.exp(),
            });
        }
        width *= 2.0;
        // Stop expanding in a direction that leaves the domain (e.g. no stationary state).
        if let Ok(f) = residual(centre - width) {
            (lo, f_lo) = (centre - width, f);
        }
        if f_lo.signum() != f_hi.signum() {
            break;
        }
        if let Ok(f) = residual(centre + width) {
            (hi, f_hi) = (centre + width, f);
        }
    }
    // Bisection in log space down to a relative width of ~1e-14.
    while hi - lo > 1e-14 * (1.0 + lo.abs().max(hi.abs())) {
        let mid = 0.5 * (lo + hi);
        let f_mid = residual(mid)?;
        if f_mid == 0.0 {
            return Ok(mid.exp());
        }
        if f_mid.signum() == f_lo.signum() {
            (lo, f_lo) = (mid, f_mid);
        } else {
            hi = mid;
        }
    }
    Ok((0.5 * (lo + hi)).exp())
}
