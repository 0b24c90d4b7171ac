//! Closed forms of thermosweep's science (SPEC.md §2–5, §9, §16): von Mises–Fisher statistics,
//! per-protocol predictions, thermodynamic variables. Pure functions, no I/O.
//!
//! Modules:
//! * [`bessel`]: log I_ν(x), the ratio I_{ν+1}/I_ν and 1 − ratio for orders up to ~10⁶ and
//!   arguments up to ~10⁸ and beyond (Debye expansion + backward recurrence).
//! * [`vmf`]: exact VMF statistics on S^{d−1} ([`VmfStats`]), their inverses (the loss
//!   thermometer) and the small-T asymptotics.
//! * [`protocol`]: the three training protocols ([`Protocol`]) and their hyperparameters ([`Hyper`]).
//! * [`predict`]: temperatures, stationary radii and effective weight decays (SDE, App. H,
//!   exact discrete variants, discrete-time temperature) and [`isotropic_prediction`].
//! * [`gas`]: the ideal-gas state variables and potentials ([`GasState`]), entropy derivatives.
//! * [`adiabat`]: partners on P·V^γ = const paths and on exact isentropes.
//! * [`error`]: the error type, [`TheoryError`].

pub mod adiabat;
pub mod bessel;
mod debye;
pub mod error;
pub mod gas;
pub mod predict;
pub mod protocol;
pub mod vmf;

pub use adiabat::{AdiabatLaw, adiabat_partner};
pub use bessel::{bessel_ratio, log_bessel_i, one_minus_bessel_ratio};
pub use error::{Result, TheoryError};
pub use gas::GasState;
pub use predict::{Mechanics, Prediction, isotropic_prediction};
pub use protocol::{Axis, Hyper, Protocol};
pub use vmf::{VmfStats, kappa_from_mean_cos, temperature_from_energy};
