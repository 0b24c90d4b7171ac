//! Why this module exists: the paper gives no uncertainty on any checked quantity; the report
//! gives a 95 % interval on every one. Resamples are drawn, in order of preference:
//! * **replicas**: when points have ≥ 2 replicas, each point's replicas are resampled with
//!   replacement (points with one replica are perturbed as below);
//! * **parametric**: each point's U, S_unit, r̄ and λ_eff are redrawn from normals with the
//!   chains' standard errors (the `*_sem` columns), S, V and P following consistently;
//! * **points**: without replicas or standard errors, the points themselves are resampled with
//!   replacement (the usual pairs bootstrap of the entropy fit; for max-type checks this only
//!   shows how much the value rests on a few points).

use crate::stats::Rng;
use crate::sweep::{Errors, Measured, Point, Sweep, make_point};

/// How resamples are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Replicas,
    Parametric,
    Points,
}

impl Mode {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Mode::Replicas => "replicas resampled within each point",
            Mode::Parametric => "parametric: values redrawn with the chains' standard errors",
            Mode::Points => "points resampled with replacement (no replicas, no standard errors)",
        }
    }
}

pub(crate) fn mode(sweep: &Sweep) -> Mode {
    if sweep.replicas.iter().any(|r| r.len() >= 2) {
        Mode::Replicas
    } else if sweep.points.iter().any(|p| {
        let e = &p.errors;
        e.energy > 0.0 || e.entropy_unit > 0.0 || e.radius > 0.0 || e.wd_eff > 0.0
    }) {
        Mode::Parametric
    } else {
        Mode::Points
    }
}

fn perturb(m: &Measured, e: &Errors, d: usize, rng: &mut Rng, sphere: bool) -> Measured {
    let mut out = *m;
    out.energy += e.energy * rng.normal();
    let ds_unit = e.entropy_unit * rng.normal();
    out.entropy_unit += ds_unit;
    let r_new = if sphere {
        m.radius
    } else {
        (m.radius + e.radius * rng.normal()).max(m.radius * 1e-3)
    };
    let ratio = r_new / m.radius;
    out.radius = r_new;
    out.volume = m.volume * ratio * ratio;
    out.entropy = m.entropy + ds_unit + (d as f64 - 1.0) * ratio.ln();
    if let Some(w) = m.wd_eff {
        let w_new = w + e.wd_eff * rng.normal();
        out.wd_eff = Some(w_new);
        if sphere {
            out.pressure = w_new;
        }
    }
    out
}

/// One resample of the points.
pub(crate) fn resample(sweep: &Sweep, mode: Mode, rng: &mut Rng) -> Vec<Point> {
    let d = sweep.d();
    let sphere = sweep.protocol == sweep_theory::Protocol::FixedSphere;
    match mode {
        Mode::Points => (0..sweep.points.len())
            .map(|_| sweep.points[rng.index(sweep.points.len())].clone())
            .collect(),
        Mode::Replicas | Mode::Parametric => sweep
            .points
            .iter()
            .zip(&sweep.replicas)
            .map(|(p, reps)| {
                if mode == Mode::Replicas && reps.len() >= 2 {
                    let drawn: Vec<(Measured, Errors)> = (0..reps.len())
                        .map(|_| reps[rng.index(reps.len())])
                        .collect();
                    let mut q =
                        make_point(p.point, p.index, (p.first, p.second), p.adiabat, &drawn, d);
                    q.errors = p.errors;
                    q
                } else {
                    let mut q = p.clone();
                    q.measured = perturb(&p.measured, &p.errors, d, rng, sphere);
                    q.refresh();
                    q
                }
            })
            .collect(),
    }
}
