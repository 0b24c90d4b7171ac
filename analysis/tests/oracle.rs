//! Oracles from the closed forms: perfect data passes every check with error ≈ 0 at the level it
//! follows; breaking one law fails that check (or, where the laws are one statement, exactly that
//! family) and no other.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Level, geomspace, isotropic_adiabats, isotropic_grid, network_grid, paper_axes};
use sweep_analysis::{AnalysisOptions, Verdict, analyse};
use sweep_results::ResultRow;
use sweep_theory::Protocol;

fn run(rows: &[ResultRow]) -> Verdict {
    analyse(
        rows,
        &AnalysisOptions {
            bootstrap: 50,
            ..AnalysisOptions::default()
        },
    )
    .unwrap()
}

fn value(v: &Verdict, id: &str) -> f64 {
    v.check(id)
        .unwrap_or_else(|| panic!("{id} missing: {:?}", v.skipped))
        .value
}

fn failing(v: &Verdict) -> Vec<String> {
    v.checks
        .iter()
        .filter(|c| !c.pass)
        .map(|c| c.id.clone())
        .collect()
}

fn summary(v: &Verdict) -> String {
    v.checks
        .iter()
        .map(|c| {
            format!(
                "{} value {:.3e} tol {:.3e} pass {} | {}\n",
                c.id, c.value, c.tolerance, c.pass, c.detail
            )
        })
        .collect()
}

const GRID_IDS: [&str; 7] = [
    "ideal_gas",
    "V1.radius",
    "V1.radius_discrete",
    "V2.potential",
    "V3.maxwell",
    "vmf.energy",
    "vmf.entropy",
];

#[test]
fn discrete_theory_passes_everything_with_zero_discrete_error() {
    for protocol in Protocol::ALL {
        for d in [3, 10] {
            let (a, b) = paper_axes(protocol);
            let v = run(&isotropic_grid(protocol, d, &a, &b, Level::Discrete));
            assert!(v.all_passed(), "{protocol} d={d}\n{}", summary(&v));
            let ids: Vec<&str> = v.checks.iter().map(|c| c.id.as_str()).collect();
            assert_eq!(ids, GRID_IDS, "{protocol}");
            assert!(
                value(&v, "V1.radius_discrete") < 1e-9,
                "{protocol} d={d}\n{}",
                summary(&v)
            );
            assert!(value(&v, "vmf.energy") < 1e-12);
            assert!(value(&v, "vmf.entropy") < 1e-12);
            assert_eq!(value(&v, "V2.potential"), 0.0, "{}", summary(&v));
            // V4 does not apply to a grid; it is listed as skipped, not applicable.
            assert!(
                v.skipped
                    .iter()
                    .any(|s| s.id == "V4.adiabat" && !s.applicable)
            );
        }
    }
}

#[test]
fn sde_theory_at_small_steps_has_zero_sde_errors() {
    for protocol in Protocol::ALL {
        let (a, b) = paper_axes(protocol);
        // Steps small enough that the discrete-time shift is below the exact variant's residual.
        let small: Vec<f64> = a.iter().map(|x| x * 1e-3).collect();
        let v = run(&isotropic_grid(protocol, 3, &small, &b, Level::Sde));
        assert!(v.all_passed(), "{protocol}\n{}", summary(&v));
        assert!(value(&v, "ideal_gas") < 1e-12, "{}", summary(&v));
        assert!(value(&v, "V1.radius") < 1e-12);
        assert!(value(&v, "V2.potential") == 0.0);
        if protocol != Protocol::FixedSphere {
            // d = 3: S_unit = ln(2πeT) up to e^{-2/T}, so the quadratic surface is exact.
            assert!(value(&v, "V3.maxwell") < 1e-9, "{}", summary(&v));
            let fit = v.fit.as_ref().unwrap();
            assert!((fit.r2 - 1.0).abs() < 1e-9);
        }
    }
}

#[test]
fn maxwell_fit_recovers_the_theory_coefficients() {
    // Fixed ELR, d = 3, SDE: S = ln(2πe·η σ²/2) + ½·2·ln(η σ² (d−1)/(2λ))
    //   = 2 ln η − ln λ + const: a1 = 2 (C_V + R), a2 = −R = −1, a3 = a4 = a5 = 0.
    let (a, b) = paper_axes(Protocol::FixedElr);
    let small: Vec<f64> = a.iter().map(|x| x * 1e-2).collect();
    let v = run(&isotropic_grid(
        Protocol::FixedElr,
        3,
        &small,
        &b,
        Level::Sde,
    ));
    let c = v.fit.unwrap().coefficients;
    for (got, want) in [
        (c.a1, 2.0),
        (c.a2, -1.0),
        (c.a3, 0.0),
        (c.a4, 0.0),
        (c.a5, 0.0),
    ] {
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
    }
    // Fixed LR, d = 3: S = ln(π e η σ²) (SPEC §5.4): a1 = 1, a2 = 0.
    let (a, b) = paper_axes(Protocol::FixedLr);
    let small: Vec<f64> = a.iter().map(|x| x * 1e-2).collect();
    let v = run(&isotropic_grid(
        Protocol::FixedLr,
        3,
        &small,
        &b,
        Level::Sde,
    ));
    let fit = v.fit.unwrap();
    let c = fit.coefficients;
    assert!((c.a1 - 1.0).abs() < 1e-9 && c.a2.abs() < 1e-9, "{c:?}");
    assert!((fit.conditions["(a1-a2)/R"] - 1.0).abs() < 1e-9);
    assert!(fit.conditions["(2a3-a5)/R"].abs() < 1e-9);
}

#[test]
fn sde_data_at_paper_steps_fails_only_the_discrete_radius_check() {
    for protocol in [Protocol::FixedElr, Protocol::FixedLr] {
        let (a, b) = paper_axes(protocol);
        let v = run(&isotropic_grid(protocol, 10, &a, &b, Level::Sde));
        assert_eq!(
            failing(&v),
            ["V1.radius_discrete"],
            "{protocol}\n{}",
            summary(&v)
        );
    }
}

#[test]
fn adiabats_keep_entropy_constant() {
    for protocol in [Protocol::FixedElr, Protocol::FixedSphere] {
        let through = [(
            1e-2,
            if protocol == Protocol::FixedSphere {
                1.0
            } else {
                1e-2
            },
        )];
        let free = if protocol == Protocol::FixedSphere {
            geomspace(0.3, 3.0, 5)
        } else {
            geomspace(3e-3, 3e-2, 5)
        };
        let sde = run(&isotropic_adiabats(
            protocol,
            3,
            &through,
            &free,
            Level::Sde,
        ));
        assert!(value(&sde, "V4.adiabat") < 1e-9, "{}", summary(&sde));
        // SDE data at these steps is off the discrete radius by more than its residual; nothing
        // else fails, and V3 does not apply to adiabat paths.
        assert!(
            failing(&sde).iter().all(|id| id == "V1.radius_discrete"),
            "{}",
            summary(&sde)
        );
        assert!(
            sde.skipped.iter().all(|s| !s.applicable),
            "{:?}",
            sde.skipped
        );
        let disc = run(&isotropic_adiabats(
            protocol,
            10,
            &through,
            &free,
            Level::Discrete,
        ));
        assert!(disc.all_passed(), "{}\n{:?}", summary(&disc), disc.skipped);
    }
}

fn perturbed(protocol: Protocol, f: impl Fn(&mut ResultRow)) -> Verdict {
    let (a, b) = paper_axes(protocol);
    let mut rows = isotropic_grid(protocol, 3, &a, &b, Level::Discrete);
    rows.iter_mut().for_each(f);
    run(&rows)
}

#[test]
fn energy_offset_fails_only_vmf_energy() {
    for protocol in Protocol::ALL {
        let v = perturbed(protocol, |r| r.loss_mean = r.loss_mean.map(|u| u + 0.01));
        assert_eq!(failing(&v), ["vmf.energy"], "{protocol}\n{}", summary(&v));
    }
}

#[test]
fn entropy_offset_fails_only_vmf_entropy() {
    // A constant entropy bias (what a biased estimator does) breaks no law but the exact value.
    for protocol in Protocol::ALL {
        let v = perturbed(protocol, |r| {
            r.entropy_unit = r.entropy_unit.map(|s| s + 0.3);
            r.entropy = r.entropy.map(|s| s + 0.3);
        });
        assert_eq!(failing(&v), ["vmf.entropy"], "{protocol}\n{}", summary(&v));
    }
}

#[test]
fn radius_off_by_ten_percent_fails_the_radius_laws() {
    // For fixed ELR / LR with P = λ and closed-form T, PV = RT and V1 are one statement about r̄.
    for protocol in [Protocol::FixedElr, Protocol::FixedLr] {
        let v = perturbed(protocol, |r| {
            let m = 2.0 * 1.1f64.ln();
            r.radius_mean = r.radius_mean.map(|x| x * 1.1);
            r.volume = r.volume.map(|x| x * 1.21);
            r.entropy = r.entropy.map(|s| s + m);
        });
        let f = failing(&v);
        for id in ["ideal_gas", "V1.radius", "V1.radius_discrete"] {
            assert!(
                f.contains(&id.to_owned()),
                "{protocol}: {f:?}\n{}",
                summary(&v)
            );
        }
        for id in ["V3.maxwell", "vmf.energy", "vmf.entropy"] {
            assert!(
                !f.contains(&id.to_owned()),
                "{protocol}: {f:?}\n{}",
                summary(&v)
            );
        }
    }
}

#[test]
fn entropy_slope_off_by_twenty_percent_fails_only_maxwell() {
    // Networks: V2 and vmf.* do not apply; the slope along ln λ (fixed ELR: −R) is made −1.2 R.
    let d = 1001;
    let r_gas = 0.5 * (d as f64 - 1.0);
    for protocol in [Protocol::FixedElr, Protocol::FixedLr] {
        // Network-sized steps: elr² σ² (d − 1) < 1 (SPEC §16.5) at d = 1001.
        let (a, b) = paper_axes(protocol);
        let a: Vec<f64> = a.iter().map(|x| x * 0.1).collect();
        let clean = run(&network_grid(protocol, d, &a, &b));
        assert!(clean.all_passed(), "{protocol}\n{}", summary(&clean));
        assert_eq!(
            clean
                .checks
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>(),
            ["ideal_gas", "V1.radius", "V1.radius_discrete", "V3.maxwell"]
        );
        assert!(value(&clean, "V1.radius_discrete") < 1e-9);
        let mut rows = network_grid(protocol, d, &a, &b);
        for r in &mut rows {
            let shift = -0.2 * r_gas * r.wd.unwrap().ln();
            r.entropy_unit = r.entropy_unit.map(|s| s + shift);
            r.entropy = r.entropy.map(|s| s + shift);
        }
        let v = run(&rows);
        assert_eq!(failing(&v), ["V3.maxwell"], "{protocol}\n{}", summary(&v));
        assert!(
            (value(&v, "V3.maxwell") - 0.2).abs() < 0.01,
            "{}",
            summary(&v)
        );
    }
}

#[test]
fn an_entropy_bump_within_the_estimator_bias_fails_only_the_potential_check() {
    // Fixed sphere, fine temperature grid: neighbouring Helmholtz margins ≈ ½ C_V (Δ ln T)² T
    // ≈ 0.04 T, so raising S at one point by 0.08 nats (inside vmf.entropy's 0.1-nat bias
    // allowance, and invisible to the sphere's V3, which is the λ_eff law) makes its neighbours
    // prefer its state: the F ordering is broken and only V2 sees it. Done on two spheres, so
    // that four pairs violate: beyond what chance allows with the entropy surface's residual
    // scatter (which the bumps themselves raise) as the entropy error.
    let elr = geomspace(1e-3, 1e-1, 17);
    let radius = [0.5, 1.0, 2.0];
    let mut rows = isotropic_grid(Protocol::FixedSphere, 3, &elr, &radius, Level::Discrete);
    let clean = run(&rows);
    assert!(clean.all_passed(), "{}", summary(&clean));
    for radius in [0.5, 2.0] {
        let target = rows
            .iter()
            .position(|r| r.radius == Some(radius) && (r.elr.unwrap() - 1e-2).abs() < 1e-12)
            .unwrap();
        rows[target].entropy_unit = rows[target].entropy_unit.map(|s| s + 0.08);
        rows[target].entropy = rows[target].entropy.map(|s| s + 0.08);
    }
    let v = run(&rows);
    assert_eq!(failing(&v), ["V2.potential"], "{}", summary(&v));
}

#[test]
fn every_check_gets_an_interval_and_marginal_failures_are_flagged() {
    // Three replicas per point with a deterministic ±0.2 % radius scatter.
    let (a, b) = paper_axes(Protocol::FixedElr);
    let base = isotropic_grid(Protocol::FixedElr, 3, &a, &b, Level::Discrete);
    let mut rows = Vec::new();
    for (k, scale) in [0.998, 1.0, 1.002].into_iter().enumerate() {
        for (i, r) in base.iter().enumerate() {
            let mut r = r.clone();
            let s = if i % 2 == 0 { scale } else { 2.0 - scale };
            r.replica = k as u32;
            r.radius_mean = r.radius_mean.map(|x| x * s);
            r.volume = r.volume.map(|x| x * s * s);
            r.entropy = r.entropy.map(|x| x + 2.0 * s.ln());
            rows.push(r);
        }
    }
    let v = run(&rows);
    assert!(v.bootstrap.contains("replicas"), "{}", v.bootstrap);
    for c in &v.checks {
        let [lo, hi] = c
            .interval
            .unwrap_or_else(|| panic!("{} has no interval", c.id));
        assert!(
            lo <= c.value && c.value <= hi,
            "{}: {lo} {} {hi}",
            c.id,
            c.value
        );
    }
    // A tolerance between the interval's low end and the value: a failure inside the interval.
    let ig = v.check("ideal_gas").unwrap();
    let [lo, _] = ig.interval.unwrap();
    assert!(lo < ig.value, "{lo} {}", ig.value);
    let mut o = AnalysisOptions {
        bootstrap: 50,
        ..AnalysisOptions::default()
    };
    o.tolerances
        .insert("ideal_gas".to_owned(), 0.5 * (lo + ig.value));
    let v2 = analyse(&rows, &o).unwrap();
    let c = v2.check("ideal_gas").unwrap();
    assert!(!c.pass && c.fails_inside_interval, "{c:?}");
}

/// Networks measure σ² (tr Σ/(d−1)), so the predictions inherit its error: a σ² measured 20 %
/// high breaks V1 and the ideal gas law when the row claims no error for it, and stops breaking
/// them once `trace_sigma_sem` says that 20 % is one standard error (the tolerance then holds
/// 3·k·se(σ²)/σ² with k the power of σ² in the prediction).
#[test]
fn a_measured_sigma2_carries_its_error_into_the_tolerances() {
    let d = 1001;
    for protocol in [Protocol::FixedLr, Protocol::FixedElr, Protocol::FixedSphere] {
        let (a, b) = paper_axes(protocol);
        let a: Vec<f64> = a.iter().map(|x| x * 0.1).collect();
        let mut rows = network_grid(protocol, d, &a, &b);
        let t_power = if protocol == Protocol::FixedLr {
            0.5
        } else {
            1.0
        };
        for r in &mut rows {
            r.sigma2 = r.sigma2.map(|s| s * 1.2);
            r.trace_sigma = r.trace_sigma.map(|s| s * 1.2);
            r.temperature = r.temperature.map(|t| t * 1.2f64.powf(t_power));
        }
        let claimed_exact = run(&rows);
        for id in ["ideal_gas", "V1.radius_discrete"] {
            assert!(
                failing(&claimed_exact).iter().any(|f| f == id),
                "{protocol}: {id} should fail\n{}",
                summary(&claimed_exact)
            );
        }
        for r in &mut rows {
            r.trace_sigma_sem = r.trace_sigma.map(|t| t * 0.2 / 1.2);
            r.full_grad_sq_sem = Some(0.0);
        }
        let with_error = run(&rows);
        for id in ["ideal_gas", "V1.radius", "V1.radius_discrete"] {
            let c = with_error.check(id).expect("check");
            assert!(c.pass, "{protocol}: {id}\n{}", summary(&with_error));
            let before = claimed_exact.check(id).expect("check").tolerance;
            assert!(
                c.tolerance > before,
                "{protocol}: {id} tolerance did not grow"
            );
        }
    }
}
