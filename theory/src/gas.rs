//! Why this module exists: the paper's claim is that the stationary state is an ideal gas
//! (SPEC §3). This module names the state variables of that mapping — R = (d−1)/2, V = r²/2,
//! P = λ (λ_eff on the sphere), T, U, S = S_unit + (d−1) ln r — the potentials F = U − TS and
//! G = U − TS + PV, the ideal-gas ratio PV/(RT), and the entropy derivatives per protocol
//! (SPEC §3.7) that the Maxwell-relation checks compare with.

use crate::error::{Result, dimension, positive};
use crate::predict::{sde_mechanics, sde_temperature};
use crate::protocol::{Hyper, Protocol};
use crate::vmf::VmfStats;

/// The gas constant R = (d−1)/2 (SPEC §3.2, §14.1).
pub fn gas_constant(d: usize) -> f64 {
    0.5 * (d as f64 - 1.0)
}

/// The volume V = r²/2.
pub fn volume(radius: f64) -> f64 {
    0.5 * radius * radius
}

/// Total entropy S = S_unit(T) + (d−1) ln r (SPEC Eq. 20), with the exact VMF S_unit.
pub fn total_entropy(d: usize, temperature: f64, radius: f64) -> Result<f64> {
    positive("radius", radius)?;
    let vmf = VmfStats::at_temperature(d, temperature)?;
    Ok(vmf.entropy + (d as f64 - 1.0) * radius.ln())
}

/// Gibbs energy G = U − TS + PV of a state (U, S, V) under the conditions (T, P) (SPEC §4 V2).
pub fn gibbs_energy(
    energy: f64,
    entropy: f64,
    volume: f64,
    temperature: f64,
    pressure: f64,
) -> f64 {
    energy - temperature * entropy + pressure * volume
}

/// Isobaric heat capacity C_P = C_V + R (Mayer's relation, SPEC Eq. 96).
pub fn heat_capacity_pressure(d: usize, heat_capacity: f64) -> f64 {
    heat_capacity + gas_constant(d)
}

/// Adiabatic index γ = C_P/C_V (→ 2 as T → 0 for the VMF).
pub fn adiabatic_index(d: usize, heat_capacity: f64) -> f64 {
    heat_capacity_pressure(d, heat_capacity) / heat_capacity
}

/// Entropy derivatives (∂S/∂ln first, ∂S/∂ln second) along the SDE stationary states
/// (SPEC §3.7 table), for any S_unit(T) with heat capacity C_V:
/// fixed sphere (C_V, d−1); fixed ELR (C_V + R, −R); fixed LR ((C_V + R)/2, (C_V − R)/2).
pub fn entropy_slopes(protocol: Protocol, d: usize, heat_capacity: f64) -> (f64, f64) {
    let r = gas_constant(d);
    match protocol {
        Protocol::FixedSphere => (heat_capacity, 2.0 * r),
        Protocol::FixedElr => (heat_capacity + r, -r),
        Protocol::FixedLr => (0.5 * (heat_capacity + r), 0.5 * (heat_capacity - r)),
    }
}

/// A thermodynamic state of the ideal-gas mapping with exact VMF energy and entropy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GasState {
    /// Dimension d.
    pub d: usize,
    /// Temperature T.
    pub temperature: f64,
    /// Pressure P (λ, or λ_eff on the sphere).
    pub pressure: f64,
    /// Radius r.
    pub radius: f64,
    /// Volume V = r²/2.
    pub volume: f64,
    /// Internal energy U = 1 − A_d(1/T).
    pub energy: f64,
    /// Spherical (unit-sphere) entropy S_unit.
    pub entropy_unit: f64,
    /// Total entropy S = S_unit + (d−1) ln r.
    pub entropy: f64,
    /// Isochoric heat capacity C_V = dU/dT.
    pub heat_capacity: f64,
}

impl GasState {
    /// The state at (T, r, P) with the exact VMF U(T), S_unit(T), C_V(T).
    pub fn new(d: usize, temperature: f64, radius: f64, pressure: f64) -> Result<GasState> {
        dimension(d)?;
        positive("radius", radius)?;
        positive("pressure", pressure)?;
        let vmf = VmfStats::at_temperature(d, temperature)?;
        Ok(GasState {
            d,
            temperature,
            pressure,
            radius,
            volume: volume(radius),
            energy: vmf.energy,
            entropy_unit: vmf.entropy,
            entropy: vmf.entropy + (d as f64 - 1.0) * radius.ln(),
            heat_capacity: vmf.heat_capacity,
        })
    }

    /// The SDE-predicted stationary state of a configuration (isotropic noise σ²).
    pub fn sde(hyper: &Hyper, d: usize, sigma2: f64) -> Result<GasState> {
        let t = sde_temperature(hyper, d, sigma2)?;
        let m = sde_mechanics(hyper, d, sigma2)?;
        GasState::new(d, t, m.radius, m.pressure)
    }

    /// R = (d−1)/2.
    pub fn gas_constant(&self) -> f64 {
        gas_constant(self.d)
    }

    /// Helmholtz energy F = U − TS (total entropy).
    pub fn helmholtz(&self) -> f64 {
        self.energy - self.temperature * self.entropy
    }

    /// Gibbs energy G = U − TS + PV.
    pub fn gibbs(&self) -> f64 {
        gibbs_energy(
            self.energy,
            self.entropy,
            self.volume,
            self.temperature,
            self.pressure,
        )
    }

    /// The ideal-gas ratio PV/(RT) (1 at the SDE prediction).
    pub fn ideal_gas_ratio(&self) -> f64 {
        self.pressure * self.volume / (self.gas_constant() * self.temperature)
    }
}
