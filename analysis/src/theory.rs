//! Why this module exists: every check compares a point with what theory predicts for its
//! hyperparameters, at two levels (SPEC §9, §16.4–16.5): the SDE (what the paper's laws state) and
//! the discrete-time correction (what SGD with a finite step actually does). The predictions depend
//! only on the hyperparameters (and, for networks, on the measured σ² and ‖∇L(w̄)‖²), so they are
//! computed once per point here and shared by the checks and by every bootstrap resample.

use sweep_theory::predict::{app_h_mechanics, exact_mechanics, sde_mechanics, sde_temperature};
use sweep_theory::{Hyper, Mechanics, Protocol, VmfStats, isotropic_prediction};

use crate::sweep::{Point, Sweep};

/// A predicted thermodynamic state (U, S total, V) of one point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct State {
    pub energy: f64,
    pub entropy: f64,
    pub volume: f64,
}

/// Isotropic toy only: exact VMF statistics at the SDE and the discrete-time temperatures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Isotropic {
    pub t_sde: f64,
    pub t_disc: Option<f64>,
    pub vmf_sde: VmfStats,
    pub vmf_disc: Option<VmfStats>,
    pub state_sde: State,
    pub state_disc: Option<State>,
}

/// What theory predicts for one point.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct PointTheory {
    /// SDE radius / pressure (None without σ²).
    pub sde: Option<Mechanics>,
    /// App. H (SPEC §9) radius / pressure.
    pub app_h: Option<Mechanics>,
    /// Exact discrete variant (SPEC §16.5) radius / pressure.
    pub exact: Option<Mechanics>,
    /// Isotropic toy: exact VMF values.
    pub isotropic: Option<Isotropic>,
    /// Why a prediction is missing, when one is.
    pub note: Option<String>,
}

impl PointTheory {
    /// The measured-against quantity of V1: r (fixed ELR / LR) or λ_eff (fixed sphere).
    pub fn v1(m: &Mechanics, protocol: Protocol) -> f64 {
        match protocol {
            Protocol::FixedSphere => m.pressure,
            _ => m.radius,
        }
    }
}

fn state(vmf: &VmfStats, radius: f64) -> State {
    State {
        energy: vmf.energy,
        entropy: vmf.entropy + (vmf.d as f64 - 1.0) * radius.ln(),
        volume: 0.5 * radius * radius,
    }
}

/// Predictions for every point of a sweep, indexed like `sweep.points`.
pub(crate) fn predict(sweep: &Sweep) -> Vec<PointTheory> {
    sweep
        .points
        .iter()
        .map(|p| predict_point(sweep, p))
        .collect()
}

fn predict_point(sweep: &Sweep, p: &Point) -> PointTheory {
    let d = sweep.d();
    let protocol = sweep.protocol;
    let Some(sigma2) = p.measured.sigma2 else {
        return PointTheory {
            note: Some("sigma2 is null: no SDE prediction".to_owned()),
            ..PointTheory::default()
        };
    };
    let hyper = match Hyper::new(protocol, p.first, p.second) {
        Ok(h) => h,
        Err(e) => {
            return PointTheory {
                note: Some(e.to_string()),
                ..PointTheory::default()
            };
        }
    };
    let sde = sde_mechanics(&hyper, d, sigma2).ok();
    if sweep.isotropic() {
        return isotropic(protocol, d, sigma2, &hyper, sde);
    }
    // Networks: App. H and the exact variant with the measured G2 = ‖∇L(w̄)‖² (SPEC §9).
    let Some(g2) = p.measured.full_grad_sq else {
        return PointTheory {
            sde,
            note: Some("full_grad_sq is null: no discrete-time prediction".to_owned()),
            ..PointTheory::default()
        };
    };
    let app_h = app_h_mechanics(&hyper, d, sigma2, g2.max(0.0));
    let exact = exact_mechanics(&hyper, d, sigma2, g2.max(0.0));
    let note = match (&app_h, &exact) {
        (Err(e), _) | (_, Err(e)) => Some(e.to_string()),
        _ => None,
    };
    PointTheory {
        sde,
        app_h: app_h.ok(),
        exact: exact.ok(),
        isotropic: None,
        note,
    }
}

fn isotropic(
    protocol: Protocol,
    d: usize,
    sigma2: f64,
    hyper: &Hyper,
    sde: Option<Mechanics>,
) -> PointTheory {
    let t_sde = match sde_temperature(hyper, d, sigma2) {
        Ok(t) => t,
        Err(e) => {
            return PointTheory {
                sde,
                note: Some(e.to_string()),
                ..PointTheory::default()
            };
        }
    };
    let vmf_sde = match VmfStats::at_temperature(d, t_sde) {
        Ok(v) => v,
        Err(e) => {
            return PointTheory {
                sde,
                note: Some(e.to_string()),
                ..PointTheory::default()
            };
        }
    };
    let sde_radius = sde.map_or(hyper.second, |m| m.radius);
    let state_sde = state(&vmf_sde, sde_radius);
    match isotropic_prediction(protocol, d, sigma2, hyper.first, hyper.second) {
        Ok(pred) => PointTheory {
            sde: Some(pred.sde),
            app_h: Some(pred.app_h),
            exact: Some(pred.exact),
            isotropic: Some(Isotropic {
                t_sde,
                t_disc: Some(pred.temperature_disc),
                vmf_sde,
                vmf_disc: Some(pred.vmf_disc),
                state_sde,
                state_disc: Some(state(&pred.vmf_disc, pred.exact.radius)),
            }),
            note: None,
        },
        Err(e) => PointTheory {
            sde,
            app_h: None,
            exact: None,
            isotropic: Some(Isotropic {
                t_sde,
                t_disc: None,
                vmf_sde,
                vmf_disc: None,
                state_sde,
                state_disc: None,
            }),
            note: Some(format!("no discrete-time prediction: {e}")),
        },
    }
}
