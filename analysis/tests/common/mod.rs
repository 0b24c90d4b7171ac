//! Synthetic sweeps from the closed forms of sweep-theory: the oracles of the analysis tests.
#![allow(dead_code, clippy::unwrap_used)]

use sweep_results::{ResultRow, Status};
use sweep_theory::predict::{exact_mechanics, sde_mechanics, sde_temperature};
use sweep_theory::{
    AdiabatLaw, Axis, Hyper, Protocol, VmfStats, adiabat_partner, isotropic_prediction,
};

/// Which theory the synthetic data follows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Level {
    /// SDE: T, r* (λ_eff) and VMF at the SDE temperature.
    Sde,
    /// The exact discrete variant: r* (λ_eff) of SPEC §16.5 and VMF at the discrete-time T.
    Discrete,
}

pub fn geomspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| (a.ln() + (b.ln() - a.ln()) * i as f64 / (n - 1) as f64).exp())
        .collect()
}

fn blank(
    protocol: Protocol,
    workload: &str,
    d: usize,
    point: u32,
    first: f64,
    second: f64,
) -> ResultRow {
    let (lr, elr, wd, radius) = match protocol {
        Protocol::FixedLr => (Some(first), None, Some(second), None),
        Protocol::FixedElr => (None, Some(first), Some(second), None),
        Protocol::FixedSphere => (None, Some(first), None, Some(second)),
    };
    ResultRow {
        sweep: "synthetic".to_owned(),
        point,
        replica: 0,
        seed: 1,
        workload: workload.to_owned(),
        protocol: protocol.as_str().to_owned(),
        dim: d as u64,
        lr,
        elr,
        wd,
        radius,
        iterations: 1000,
        loss_mean: None,
        radius_mean: None,
        entropy_unit: None,
        entropy: None,
        sigma2: None,
        trace_sigma: None,
        full_grad_sq: None,
        temperature: None,
        pressure: None,
        volume: None,
        wd_eff: None,
        status: Status::Done,
        error: None,
        backend: "cpu".to_owned(),
        agent: "test".to_owned(),
        attempt: 1,
        wall_seconds: 1.0,
        loss_sem: None,
        radius_sem: None,
        entropy_unit_sem: None,
        wd_eff_sem: None,
        wd_eff_linear: None,
        trace_sigma_sem: None,
        full_grad_sq_sem: None,
        test_loss: None,
        test_accuracy: None,
        adiabat: None,
    }
}

/// Realistic chain standard errors on noise-free values.
fn with_sems(mut row: ResultRow) -> ResultRow {
    row.loss_sem = Some(1e-5);
    row.entropy_unit_sem = Some(2e-3);
    row.radius_sem = row.radius_mean.map(|r| 1e-5 * r);
    row.wd_eff_sem = row.wd_eff.map(|w| 1e-5 * w.abs());
    row
}

/// One isotropic row at (first, second) following `level`.
pub fn isotropic_row(
    protocol: Protocol,
    d: usize,
    sigma2: f64,
    point: u32,
    first: f64,
    second: f64,
    level: Level,
) -> ResultRow {
    let pred = isotropic_prediction(protocol, d, sigma2, first, second).unwrap();
    let (mech, vmf) = match level {
        Level::Sde => (pred.sde, pred.vmf),
        Level::Discrete => (pred.exact, pred.vmf_disc),
    };
    let m = d as f64 - 1.0;
    let mut row = blank(protocol, "isotropic", d, point, first, second);
    let r = mech.radius;
    row.loss_mean = Some(vmf.energy);
    row.radius_mean = Some(r);
    row.entropy_unit = Some(vmf.entropy);
    row.entropy = Some(vmf.entropy + m * r.ln());
    row.sigma2 = Some(sigma2);
    row.trace_sigma = Some(sigma2 * m);
    row.full_grad_sq = Some(vmf.grad_sq);
    row.temperature = Some(pred.temperature);
    row.pressure = Some(mech.pressure);
    row.volume = Some(0.5 * r * r);
    if protocol == Protocol::FixedSphere {
        row.wd_eff = Some(mech.pressure);
    }
    with_sems(row)
}

/// A full isotropic grid.
pub fn isotropic_grid(
    protocol: Protocol,
    d: usize,
    firsts: &[f64],
    seconds: &[f64],
    level: Level,
) -> Vec<ResultRow> {
    let mut rows = Vec::new();
    for &a in firsts {
        for &b in seconds {
            let k = rows.len() as u32;
            rows.push(isotropic_row(protocol, d, 1.0, k, a, b, level));
        }
    }
    rows
}

/// The paper-like default grids (5 × 5 to keep tests fast).
pub fn paper_axes(protocol: Protocol) -> (Vec<f64>, Vec<f64>) {
    match protocol {
        Protocol::FixedSphere => (geomspace(1e-3, 1e-1, 5), geomspace(0.1, 10.0, 5)),
        _ => (geomspace(1e-3, 1e-1, 5), geomspace(1e-3, 1e-1, 5)),
    }
}

/// Isotropic adiabat rows: exact isentropes through `through`, the second axis free.
pub fn isotropic_adiabats(
    protocol: Protocol,
    d: usize,
    through: &[(f64, f64)],
    free: &[f64],
    level: Level,
) -> Vec<ResultRow> {
    let mut rows = Vec::new();
    for (k, &(a, b)) in through.iter().enumerate() {
        let h = Hyper::new(protocol, a, b).unwrap();
        for &y in free {
            let x = adiabat_partner(AdiabatLaw::Isentrope, &h, d, 1.0, Axis::Second, y).unwrap();
            let idx = rows.len() as u32;
            let mut row = isotropic_row(protocol, d, 1.0, idx, x, y, level);
            row.adiabat = Some(k as u32);
            rows.push(row);
        }
    }
    rows
}

/// A network-like sweep: measured σ² and G2, VMF-shaped U(T), S_unit(T) (any S_unit(T)
/// satisfies the Maxwell relations), radius from the exact discrete variant.
pub fn network_grid(
    protocol: Protocol,
    d: usize,
    firsts: &[f64],
    seconds: &[f64],
) -> Vec<ResultRow> {
    let mut rows = Vec::new();
    let m = d as f64 - 1.0;
    let sigma2 = 0.5;
    for &a in firsts {
        for &b in seconds {
            let h = Hyper::new(protocol, a, b).unwrap();
            let t = sde_temperature(&h, d, sigma2).unwrap();
            let vmf = VmfStats::at_temperature(d, t).unwrap();
            let g2 = 0.05 * sigma2 * m;
            let mech = exact_mechanics(&h, d, sigma2, g2).unwrap();
            let _ = sde_mechanics(&h, d, sigma2).unwrap();
            let k = rows.len() as u32;
            let mut row = blank(protocol, "convnet", d, k, a, b);
            let r = mech.radius;
            row.loss_mean = Some(vmf.energy);
            row.radius_mean = Some(r);
            row.entropy_unit = Some(vmf.entropy);
            row.entropy = Some(vmf.entropy + m * r.ln());
            row.sigma2 = Some(sigma2);
            row.trace_sigma = Some(sigma2 * m);
            row.full_grad_sq = Some(g2);
            row.temperature = Some(t);
            row.pressure = Some(mech.pressure);
            row.volume = Some(0.5 * r * r);
            if protocol == Protocol::FixedSphere {
                row.wd_eff = Some(mech.pressure);
            }
            rows.push(with_sems(row));
        }
    }
    rows
}
