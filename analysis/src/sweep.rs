//! Why this module exists: the checks work on points (one hyperparameter setting, replicas
//! averaged), not on raw rows. This module validates the rows of `results.parquet` (one sweep, one
//! protocol, finite values), keeps only `done` rows (counting the others), averages replicas with
//! their standard errors, and derives the state variables of SPEC §3.2 per point: T, P, V,
//! R = (d−1)/2, σ² where measured, and the potentials F = U − TS and G = U − TS + PV.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sweep_results::{ResultRow, Status};
use sweep_theory::Protocol;

use crate::error::AnalysisError;
use crate::stats::mean_sem;

/// The measured state of one chain (or the replica mean of one point).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    /// U, the stationary mean loss.
    pub energy: f64,
    /// S of the unit-sphere distribution.
    pub entropy_unit: f64,
    /// Total entropy S = S_unit + (d−1) ln r̄.
    pub entropy: f64,
    /// r̄, the stationary mean radius (the nominal r on the fixed sphere).
    pub radius: f64,
    /// T (the `temperature` column; SDE formula when null).
    pub temperature: f64,
    /// P (the `pressure` column: λ, or λ_eff on the fixed sphere).
    pub pressure: f64,
    /// V (the `volume` column; r̄²/2 when null).
    pub volume: f64,
    /// σ², where measured or configured.
    pub sigma2: Option<f64>,
    /// G2 = ‖∇L(w̄)‖² on the unit sphere, where measured.
    pub full_grad_sq: Option<f64>,
    /// Fixed sphere: the Pythagorean effective weight decay λ_eff.
    pub wd_eff: Option<f64>,
}

/// Standard errors of a point's measured values (0 where unknown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Errors {
    /// se(U).
    pub energy: f64,
    /// se(S_unit).
    pub entropy_unit: f64,
    /// se(S), S total.
    pub entropy: f64,
    /// se(r̄).
    pub radius: f64,
    /// se(λ_eff).
    pub wd_eff: f64,
    #[serde(default)]
    /// se(σ²) where σ² is measured (networks: `trace_sigma_sem`/(d−1)); 0 where it is configured.
    pub sigma2: f64,
    #[serde(default)]
    /// se(‖∇L(w̄)‖²) where measured (networks), else 0.
    pub full_grad_sq: f64,
}

/// One point of the sweep: a hyperparameter setting, its replicas averaged, and its derived
/// state variables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The `point` column.
    pub point: u32,
    /// Position in the sweep's point list (index of its theory).
    pub index: usize,
    /// First hyperparameter: lr (fixed LR) or elr.
    pub first: f64,
    /// Second hyperparameter: wd, or the radius on the fixed sphere.
    pub second: f64,
    /// The adiabat the point lies on (adiabat sweeps).
    pub adiabat: Option<u32>,
    /// `done` replicas averaged.
    pub replicas: usize,
    /// Replica mean of the measured values.
    pub measured: Measured,
    /// Their standard errors.
    pub errors: Errors,
    /// R = (d−1)/2.
    pub gas_constant: f64,
    /// F = U − TS (total S).
    pub helmholtz: f64,
    /// G = U − TS + PV.
    pub gibbs: f64,
}

impl Point {
    /// ln of the first hyperparameter (x of SPEC §8).
    pub fn x(&self) -> f64 {
        self.first.ln()
    }

    /// ln of the second hyperparameter (y of SPEC §8).
    pub fn y(&self) -> f64 {
        self.second.ln()
    }

    /// Recomputes F and G after the measured values changed (bootstrap).
    pub(crate) fn refresh(&mut self) {
        let m = &self.measured;
        self.helmholtz = m.energy - m.temperature * m.entropy;
        self.gibbs = self.helmholtz + m.pressure * m.volume;
    }
}

/// A validated sweep: metadata, points, and the replicas behind each point (for the bootstrap).
#[derive(Debug, Clone)]
pub struct Sweep {
    /// Sweep id.
    pub sweep: String,
    /// Workload kind.
    pub workload: String,
    /// Protocol.
    pub protocol: Protocol,
    /// Dimension d.
    pub dim: u64,
    /// Points, in `point` order.
    pub points: Vec<Point>,
    /// Per point: its replicas' measured values and chain standard errors.
    pub replicas: Vec<Vec<(Measured, Errors)>>,
    /// Rows in the input.
    pub rows_total: usize,
    /// Rows excluded because their status is not `done`, by status.
    pub excluded: BTreeMap<String, usize>,
}

impl Sweep {
    /// Whether the workload is the isotropic toy model (exact VMF theory applies).
    pub fn isotropic(&self) -> bool {
        self.workload == "isotropic"
    }

    /// d as usize.
    pub fn d(&self) -> usize {
        self.dim as usize
    }
}

fn same<'a>(
    rows: &'a [ResultRow],
    column: &'static str,
    get: impl Fn(&'a ResultRow) -> String,
) -> Result<String, AnalysisError> {
    let mut values: Vec<String> = rows.iter().map(get).collect();
    values.sort();
    values.dedup();
    if values.len() == 1 {
        Ok(values.remove(0))
    } else {
        values.truncate(4);
        Err(AnalysisError::Mixed {
            column,
            values: values.join(", "),
        })
    }
}

fn need(
    row: &ResultRow,
    column: &'static str,
    value: Option<f64>,
    why: &'static str,
) -> Result<f64, AnalysisError> {
    let v = value.ok_or(AnalysisError::Missing {
        column,
        point: row.point,
        replica: row.replica,
        why,
    })?;
    finite(row, column, v)
}

fn finite(row: &ResultRow, column: &'static str, v: f64) -> Result<f64, AnalysisError> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(AnalysisError::BadValue {
            column,
            value: v,
            point: row.point,
            replica: row.replica,
            domain: "finite",
        })
    }
}

fn positive(row: &ResultRow, column: &'static str, v: f64) -> Result<f64, AnalysisError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(AnalysisError::BadValue {
            column,
            value: v,
            point: row.point,
            replica: row.replica,
            domain: "finite and > 0",
        })
    }
}

fn optional(
    row: &ResultRow,
    column: &'static str,
    v: Option<f64>,
) -> Result<Option<f64>, AnalysisError> {
    v.map(|x| finite(row, column, x)).transpose()
}

/// The two hyperparameters of a row, by protocol.
fn hyper(row: &ResultRow, protocol: Protocol) -> Result<(f64, f64), AnalysisError> {
    let why = "the protocol's hyperparameter axis";
    let (first, second) = match protocol {
        Protocol::FixedLr => (("lr", row.lr), ("wd", row.wd)),
        Protocol::FixedElr => (("elr", row.elr), ("wd", row.wd)),
        Protocol::FixedSphere => (("elr", row.elr), ("radius", row.radius)),
    };
    let a = need(row, first.0, first.1, why)?;
    let b = need(row, second.0, second.1, why)?;
    Ok((positive(row, first.0, a)?, positive(row, second.0, b)?))
}

fn measure(
    row: &ResultRow,
    protocol: Protocol,
    d: usize,
) -> Result<(Measured, Errors), AnalysisError> {
    let (first, second) = hyper(row, protocol)?;
    let m = d as f64 - 1.0;
    let energy = need(row, "loss_mean", row.loss_mean, "U, the internal energy")?;
    let radius = positive(
        row,
        "radius_mean",
        need(row, "radius_mean", row.radius_mean, "the radius")?,
    )?;
    let sigma2 = optional(row, "sigma2", row.sigma2)?;
    let entropy_unit = need(row, "entropy_unit", row.entropy_unit, "the entropy")?;
    let entropy = match row.entropy {
        Some(s) => finite(row, "entropy", s)?,
        None => entropy_unit + m * radius.ln(),
    };
    let wd_eff = optional(row, "wd_eff", row.wd_eff)?;
    let temperature = match row.temperature {
        Some(t) => positive(row, "temperature", t)?,
        None => {
            let s2 = need(
                row,
                "sigma2",
                sigma2,
                "the temperature (the temperature column is null)",
            )?;
            match protocol {
                Protocol::FixedLr => (first * second * s2 / (2.0 * m)).sqrt(),
                _ => 0.5 * first * s2,
            }
        }
    };
    let pressure = match row.pressure {
        Some(p) => finite(row, "pressure", p)?,
        None => match protocol {
            Protocol::FixedSphere => need(
                row,
                "wd_eff",
                wd_eff,
                "the pressure (the pressure column is null)",
            )?,
            _ => second,
        },
    };
    let volume = match row.volume {
        Some(v) => positive(row, "volume", v)?,
        None => 0.5 * radius * radius,
    };
    let se = |column: &'static str, v: Option<f64>| -> Result<f64, AnalysisError> {
        Ok(optional(row, column, v)?.map_or(0.0, f64::abs))
    };
    let (se_u, se_su, se_r, se_w) = (
        se("loss_sem", row.loss_sem)?,
        se("entropy_unit_sem", row.entropy_unit_sem)?,
        se("radius_sem", row.radius_sem)?,
        se("wd_eff_sem", row.wd_eff_sem)?,
    );
    let se_sigma2 = se("trace_sigma_sem", row.trace_sigma_sem)? / m;
    let se_grad_sq = se("full_grad_sq_sem", row.full_grad_sq_sem)?;
    let se_s = (se_su * se_su + (m * se_r / radius).powi(2)).sqrt();
    Ok((
        Measured {
            energy,
            entropy_unit,
            entropy,
            radius,
            temperature,
            pressure,
            volume,
            sigma2,
            full_grad_sq: optional(row, "full_grad_sq", row.full_grad_sq)?,
            wd_eff,
        },
        Errors {
            energy: se_u,
            entropy_unit: se_su,
            entropy: se_s,
            radius: se_r,
            wd_eff: se_w,
            sigma2: se_sigma2,
            full_grad_sq: se_grad_sq,
        },
    ))
}

/// Mean of an optional value over replicas: `None` unless present on every replica.
fn mean_opt(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let v: Option<Vec<f64>> = values.collect();
    v.filter(|v| !v.is_empty())
        .map(|v| v.iter().sum::<f64>() / v.len() as f64)
}

/// Averages replicas into a point: means, and standard errors from the replicas' scatter when
/// there are ≥ 2 (else the chain's own standard errors).
pub(crate) fn aggregate(reps: &[(Measured, Errors)]) -> (Measured, Errors) {
    let col = |f: &dyn Fn(&Measured) -> f64| -> (f64, f64) {
        mean_sem(&reps.iter().map(|(m, _)| f(m)).collect::<Vec<_>>())
    };
    let (energy, se_u) = col(&|m| m.energy);
    let (entropy_unit, se_su) = col(&|m| m.entropy_unit);
    let (entropy, se_s) = col(&|m| m.entropy);
    let (radius, se_r) = col(&|m| m.radius);
    let (temperature, _) = col(&|m| m.temperature);
    let (pressure, _) = col(&|m| m.pressure);
    let (volume, _) = col(&|m| m.volume);
    let wd_eff = mean_opt(reps.iter().map(|(m, _)| m.wd_eff));
    let se_w = wd_eff.map_or(0.0, |_| {
        mean_sem(
            &reps
                .iter()
                .filter_map(|(m, _)| m.wd_eff)
                .collect::<Vec<_>>(),
        )
        .1
    });
    let scatter = |f: &dyn Fn(&Measured) -> Option<f64>| -> f64 {
        let v: Option<Vec<f64>> = reps.iter().map(|(m, _)| f(m)).collect();
        v.map_or(0.0, |v| mean_sem(&v).1)
    };
    let measured = Measured {
        energy,
        entropy_unit,
        entropy,
        radius,
        temperature,
        pressure,
        volume,
        sigma2: mean_opt(reps.iter().map(|(m, _)| m.sigma2)),
        full_grad_sq: mean_opt(reps.iter().map(|(m, _)| m.full_grad_sq)),
        wd_eff,
    };
    let errors = if reps.len() >= 2 {
        Errors {
            energy: se_u,
            entropy_unit: se_su,
            entropy: se_s,
            radius: se_r,
            wd_eff: se_w,
            sigma2: scatter(&|m| m.sigma2),
            full_grad_sq: scatter(&|m| m.full_grad_sq),
        }
    } else {
        reps.first().map(|(_, e)| *e).unwrap_or_default()
    };
    (measured, errors)
}

/// Builds a point from its replicas.
pub(crate) fn make_point(
    point: u32,
    index: usize,
    hyper: (f64, f64),
    adiabat: Option<u32>,
    reps: &[(Measured, Errors)],
    d: usize,
) -> Point {
    let (measured, errors) = aggregate(reps);
    let mut p = Point {
        point,
        index,
        first: hyper.0,
        second: hyper.1,
        adiabat,
        replicas: reps.len(),
        measured,
        errors,
        gas_constant: 0.5 * (d as f64 - 1.0),
        helmholtz: 0.0,
        gibbs: 0.0,
    };
    p.refresh();
    p
}

/// Rows of one point: its hyperparameters, adiabat, and replicas.
type Group = (f64, f64, Option<u32>, Vec<(Measured, Errors)>);

/// Validates rows and builds the sweep (DESIGN §5 columns; only `done` rows enter the points).
pub fn build_sweep(rows: &[ResultRow]) -> Result<Sweep, AnalysisError> {
    if rows.is_empty() {
        return Err(AnalysisError::Empty);
    }
    let sweep = same(rows, "sweep", |r| r.sweep.clone())?;
    let mut excluded = BTreeMap::new();
    for r in rows.iter().filter(|r| r.status != Status::Done) {
        *excluded.entry(r.status.as_str().to_owned()).or_insert(0) += 1;
    }
    let done: Vec<&ResultRow> = rows.iter().filter(|r| r.status == Status::Done).collect();
    if done.is_empty() {
        return Err(AnalysisError::NoDoneRows {
            total: rows.len(),
            excluded: rows.len(),
        });
    }
    // Metadata must agree over all rows, done or not: one file, one sweep.
    let workload = same(rows, "workload", |r| r.workload.clone())?;
    let protocol_name = same(rows, "protocol", |r| r.protocol.clone())?;
    let dim_s = same(rows, "dim", |r| r.dim.to_string())?;
    let protocol: Protocol = protocol_name
        .parse()
        .map_err(|_| AnalysisError::Protocol(protocol_name.clone()))?;
    let dim = rows[0].dim;
    debug_assert_eq!(dim_s, dim.to_string());
    if dim < 2 {
        return Err(AnalysisError::Dimension(dim));
    }
    let d = dim as usize;
    let mut groups: BTreeMap<u32, Group> = BTreeMap::new();
    for row in &done {
        let h = hyper(row, protocol)?;
        let m = measure(row, protocol, d)?;
        let entry = groups
            .entry(row.point)
            .or_insert_with(|| (h.0, h.1, row.adiabat, Vec::new()));
        if entry.0 != h.0 || entry.1 != h.1 {
            return Err(AnalysisError::Mixed {
                column: "lr/elr/wd/radius",
                values: format!(
                    "point {} has ({}, {}) and ({}, {}) across replicas",
                    row.point, entry.0, entry.1, h.0, h.1
                ),
            });
        }
        entry.3.push(m);
    }
    let mut points = Vec::with_capacity(groups.len());
    let mut replicas = Vec::with_capacity(groups.len());
    for (index, (point, (a, b, adiabat, reps))) in groups.into_iter().enumerate() {
        points.push(make_point(point, index, (a, b), adiabat, &reps, d));
        replicas.push(reps);
    }
    Ok(Sweep {
        sweep,
        workload,
        protocol,
        dim,
        points,
        replicas,
        rows_total: rows.len(),
        excluded,
    })
}
