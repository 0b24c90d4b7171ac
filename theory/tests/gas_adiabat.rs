//! Thermodynamics from exact theory: Maxwell slopes by finite differences (SPEC Eq. 24, 84, §3.7),
//! the Gibbs minimisation V2 (SPEC §4), and adiabat partners (P·V^γ and exact isentropes).
#![allow(clippy::unwrap_used)]

mod common;

use common::rel_err;
use sweep_theory::adiabat::adiabat_invariant;
use sweep_theory::gas::{adiabatic_index, entropy_slopes, gas_constant, gibbs_energy};
use sweep_theory::{AdiabatLaw, Axis, GasState, Hyper, Protocol, TheoryError, adiabat_partner};

fn entropy(protocol: Protocol, d: usize, ln_first: f64, ln_second: f64) -> f64 {
    let hyper = Hyper::new(protocol, ln_first.exp(), ln_second.exp()).unwrap();
    GasState::sde(&hyper, d, 1.0).unwrap().entropy
}

/// ∂S/∂ln(first), ∂S/∂ln(second) by five-point differences (step 1e-3 in ln: truncation
/// ~1e-12, rounding ~1e-13·|S|/1e-3).
fn slopes(protocol: Protocol, d: usize, first: f64, second: f64) -> (f64, f64) {
    let h = 1e-3;
    let (x, y) = (first.ln(), second.ln());
    let d5 =
        |f: &dyn Fn(f64) -> f64| (f(-2.0 * h) - 8.0 * f(-h) + 8.0 * f(h) - f(2.0 * h)) / (12.0 * h);
    (
        d5(&|e| entropy(protocol, d, x + e, y)),
        d5(&|e| entropy(protocol, d, x, y + e)),
    )
}

/// Fixed LR: ∂S/∂lnη − ∂S/∂lnλ = R (Eq. 24); fixed ELR: ∂S/∂lnλ = −R (Eq. 84); fixed sphere:
/// ∂S/∂ln r = d − 1; each slope also equals the §3.7 table with the exact C_V. Far from the
/// low-T limit too (T up to ~0.5), where the individual slopes differ from the VMF asymptotics.
#[test]
fn maxwell_relations_from_exact_theory() {
    for &d in &[3usize, 10, 1000] {
        let r = gas_constant(d);
        for &(first, second) in &[(1e-2, 1e-2), (0.3, 0.1), (1e-3, 0.5), (1.0, 1.0)] {
            for protocol in Protocol::ALL {
                let hyper = Hyper::new(protocol, first, second).unwrap();
                let state = GasState::sde(&hyper, d, 1.0).unwrap();
                let (a, b) = slopes(protocol, d, first, second);
                let (want_a, want_b) = entropy_slopes(protocol, d, state.heat_capacity);
                let tol = 1e-7 * r + 1e-10 * state.entropy.abs();
                assert!(
                    (a - want_a).abs() < tol,
                    "{protocol} d={d}: {a} vs {want_a}"
                );
                assert!(
                    (b - want_b).abs() < tol,
                    "{protocol} d={d}: {b} vs {want_b}"
                );
                match protocol {
                    Protocol::FixedLr => assert!((a - b - r).abs() < tol, "{a} - {b} vs R = {r}"),
                    Protocol::FixedElr => assert!((b + r).abs() < tol, "{b} vs -R"),
                    Protocol::FixedSphere => assert!((b - 2.0 * r).abs() < tol),
                }
            }
        }
    }
}

/// SPEC §4 V2: at every configuration j of a grid, the SDE state j minimises
/// G_j(U, S, V) = U − T_j S + λ_j V over the states i of the grid (exact theory, fixed ELR / LR).
#[test]
fn gibbs_minimisation_on_a_grid() {
    let grid = [1e-3, 3e-3, 1e-2, 3e-2, 1e-1];
    for protocol in [Protocol::FixedElr, Protocol::FixedLr] {
        for &d in &[3usize, 10] {
            let states: Vec<GasState> = grid
                .iter()
                .flat_map(|&a| grid.iter().map(move |&b| (a, b)))
                .map(|(a, b)| GasState::sde(&Hyper::new(protocol, a, b).unwrap(), d, 1.0).unwrap())
                .collect();
            for j in &states {
                let own = j.gibbs();
                for i in &states {
                    let g = gibbs_energy(i.energy, i.entropy, i.volume, j.temperature, j.pressure);
                    assert!(g >= own - 1e-12 * own.abs().max(1.0), "{protocol} d={d}");
                }
            }
        }
    }
}

/// P·V^γ = const paths: the invariant is constant along returned partners (1e-12), and for
/// γ = 2 they match SPEC §3.7: fixed ELR η_eff²/λ = const, fixed sphere η_eff r² = const.
#[test]
fn power_law_adiabats() {
    let law = AdiabatLaw::PowerLaw { gamma: 2.0 };
    let elr = Hyper::new(Protocol::FixedElr, 0.01, 0.01).unwrap();
    let sphere = Hyper::new(Protocol::FixedSphere, 0.01, 1.0).unwrap();
    for &v in &[1e-3, 3e-3, 0.03, 0.1] {
        let wd = adiabat_partner(law, &elr, 10, 1.0, Axis::First, v).unwrap();
        assert!(
            rel_err(v * v / wd, 0.01 * 0.01 / 0.01) < 1e-12,
            "elr={v}: wd={wd}"
        );
        let radius = adiabat_partner(law, &sphere, 10, 1.0, Axis::First, v).unwrap();
        assert!(rel_err(v * radius * radius, 0.01) < 1e-12);
        // Given the second axis instead, with another γ.
        let law = AdiabatLaw::PowerLaw { gamma: 1.7 };
        let target = adiabat_invariant(law, &elr, 10, 1.0).unwrap();
        let e = adiabat_partner(law, &elr, 10, 1.0, Axis::Second, v).unwrap();
        let got = adiabat_invariant(law, &Hyper::new(Protocol::FixedElr, e, v).unwrap(), 10, 1.0);
        assert!((got.unwrap() - target).abs() < 1e-12 * target.abs().max(1.0));
    }
    // Fixed LR, γ = 2: P·V² = (d−1)ησ²/8 does not depend on λ, so η is pinned and a different η
    // has no partner λ.
    let lr = Hyper::new(Protocol::FixedLr, 0.01, 0.01).unwrap();
    let eta = adiabat_partner(law, &lr, 3, 1.0, Axis::Second, 0.05).unwrap();
    assert!(rel_err(eta, 0.01) < 1e-12);
    assert!(matches!(
        adiabat_partner(law, &lr, 3, 1.0, Axis::First, 0.02),
        Err(TheoryError::NoRoot { .. })
    ));
}

/// Exact isentropes: the total entropy is constant along the returned path for every protocol,
/// and at finite T they depart from the γ = 2 path (SPEC §16.10).
#[test]
fn exact_isentropes() {
    for protocol in Protocol::ALL {
        let second = if protocol == Protocol::FixedSphere {
            1.0
        } else {
            0.02
        };
        let through = Hyper::new(protocol, 0.05, second).unwrap();
        let d = 10;
        let s0 = GasState::sde(&through, d, 1.0).unwrap().entropy;
        // Fixed LR isentropes are nearly η = const (∂S/∂lnλ = (C_V − R)/2 ≈ 0): give λ, solve η.
        let given = if protocol == Protocol::FixedLr {
            Axis::Second
        } else {
            Axis::First
        };
        for &v in &[0.01, 0.03, 0.1, 0.2] {
            let Ok(partner) = adiabat_partner(AdiabatLaw::Isentrope, &through, d, 1.0, given, v)
            else {
                panic!("{protocol}: no isentrope partner for {v}");
            };
            let hyper = through
                .with_axis(given, v)
                .unwrap()
                .with_axis(given.other(), partner);
            let s = GasState::sde(&hyper.unwrap(), d, 1.0).unwrap().entropy;
            assert!(
                (s - s0).abs() < 1e-10 * s0.abs().max(1.0),
                "{protocol} {v}: {s} vs {s0}"
            );
        }
    }
    // Finite T: γ = C_P/C_V > 2, so the P·V² path is not isentropic.
    let through = Hyper::new(Protocol::FixedElr, 0.1, 0.02).unwrap();
    let state = GasState::sde(&through, 10, 1.0).unwrap();
    assert!(adiabatic_index(10, state.heat_capacity) > 2.05);
    let law = AdiabatLaw::PowerLaw { gamma: 2.0 };
    let wd = adiabat_partner(law, &through, 10, 1.0, Axis::First, 0.02).unwrap();
    let off = Hyper::new(Protocol::FixedElr, 0.02, wd).unwrap();
    assert!((GasState::sde(&off, 10, 1.0).unwrap().entropy - state.entropy).abs() > 0.1);
}

#[test]
fn bad_adiabat_input() {
    let h = Hyper::new(Protocol::FixedElr, 0.01, 0.01).unwrap();
    let bad = AdiabatLaw::PowerLaw { gamma: -1.0 };
    assert!(adiabat_partner(bad, &h, 3, 1.0, Axis::First, 0.02).is_err());
    assert!(adiabat_partner(AdiabatLaw::Isentrope, &h, 3, 1.0, Axis::First, -0.02).is_err());
    assert!(adiabat_partner(AdiabatLaw::Isentrope, &h, 1, 1.0, Axis::First, 0.02).is_err());
    assert!(GasState::new(3, 0.1, 0.0, 1.0).is_err());
}
