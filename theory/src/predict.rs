//! Why this module exists: each sweep point is compared with what theory predicts for it. This
//! module turns a protocol and its hyperparameters (plus the noise scale σ², tr Σ = σ²(d−1)) into
//! the temperature, the stationary radius and the pressure (weight decay or effective weight
//! decay), at three levels of accuracy:
//! * SDE (SPEC §2, §3.4, §5.4): exact as the step → 0;
//! * Appendix H (SPEC §9): the full-batch gradient G2 = E‖∇L(w̄)‖² as a centrifugal term,
//!   σ²(d−1) → σ²(d−1) + G2;
//! * exact discrete variants (SPEC §16.5): keeping the η²λ² / (1 − elr·λ·r²)² terms;
//!
//! plus the discrete-time temperature of SPEC §16.4 and the prediction for the paper's
//! linearised effective-weight-decay estimator (SPEC §16.6). G2 is an input, so the same
//! functions serve networks (measured G2); [`isotropic_prediction`] computes it for the toy model.

use crate::error::{Result, TheoryError, dimension, positive};
use crate::protocol::{Hyper, Protocol};
use crate::vmf::VmfStats;

/// A stationary radius and the pressure that goes with it: P = λ (fixed ELR / LR, where the radius
/// is predicted) or P = λ_eff (fixed sphere, where the radius is given and λ_eff predicted).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mechanics {
    /// Radius r = ‖w‖.
    pub radius: f64,
    /// Pressure P: λ, or λ_eff on the fixed sphere.
    pub pressure: f64,
}

fn check_noise(d: usize, sigma2: f64) -> Result<f64> {
    dimension(d)?;
    positive("sigma2", sigma2)?;
    Ok(d as f64 - 1.0)
}

/// SDE temperature: T = η_eff σ²/2 (fixed sphere, fixed ELR; SPEC Eq. 6, 11) or
/// T = √(ηλσ²/(2(d−1))) (fixed LR; SPEC Eq. 17).
pub fn sde_temperature(hyper: &Hyper, d: usize, sigma2: f64) -> Result<f64> {
    let m = check_noise(d, sigma2)?;
    Ok(match hyper.protocol {
        Protocol::FixedSphere | Protocol::FixedElr => 0.5 * hyper.first * sigma2,
        Protocol::FixedLr => (hyper.first * hyper.second * sigma2 / (2.0 * m)).sqrt(),
    })
}

/// SDE stationary state: fixed ELR r*² = η_eff σ²(d−1)/(2λ), fixed LR r*⁴ = ησ²(d−1)/(2λ)
/// (SPEC Eq. 12, 18); fixed sphere λ_eff = (d−1)T/r² (SPEC Eq. 83).
pub fn sde_mechanics(hyper: &Hyper, d: usize, sigma2: f64) -> Result<Mechanics> {
    let m = check_noise(d, sigma2)?;
    Ok(centrifugal(hyper, sigma2 * m))
}

/// Appendix H (SPEC Eq. 120–123): the SDE formulas with tr Σ = σ²(d−1) replaced by
/// σ²(d−1) + G2, where `grad_sq` = G2 = E‖∇L(w̄)‖² (≥ 0) at the stationary state.
pub fn app_h_mechanics(hyper: &Hyper, d: usize, sigma2: f64, grad_sq: f64) -> Result<Mechanics> {
    let m = check_noise(d, sigma2)?;
    check_grad_sq(grad_sq)?;
    Ok(centrifugal(hyper, sigma2 * m + grad_sq))
}

/// r or λ_eff when E‖g(w̄)‖² = `load` and the second-order terms are dropped.
fn centrifugal(hyper: &Hyper, load: f64) -> Mechanics {
    let (first, second) = (hyper.first, hyper.second);
    match hyper.protocol {
        Protocol::FixedSphere => Mechanics {
            radius: second,
            pressure: first * load / (2.0 * second * second),
        },
        Protocol::FixedElr => Mechanics {
            radius: (first * load / (2.0 * second)).sqrt(),
            pressure: second,
        },
        Protocol::FixedLr => Mechanics {
            radius: (first * load / (2.0 * second)).sqrt().sqrt(),
            pressure: second,
        },
    }
}

fn check_grad_sq(grad_sq: f64) -> Result<f64> {
    if grad_sq.is_finite() && grad_sq >= 0.0 {
        Ok(grad_sq)
    } else {
        Err(TheoryError::OutOfRange {
            name: "grad_sq",
            value: grad_sq,
            range: "[0, inf)",
        })
    }
}

/// Exact discrete variants (SPEC §16.5), from ‖w_{k+1}‖² = (1 − ηλ)²‖w_k‖² + η²‖g_k‖² in
/// expectation with E‖g(w̄)‖² = σ²(d−1) + G2 =: M:
/// * fixed LR: (2λ − ηλ²) r*⁴ = η M (needs ηλ < 2);
/// * fixed ELR: (1 − elr·λ·r²)² + elr² M = 1, the root continuous at elr → 0:
///   r² = elr M/(λ (1 + √(1 − elr² M))) (needs elr² M < 1);
/// * fixed sphere: λ_eff = elr M/(2r²), exact in expectation for the Pythagorean estimator
///   (E‖w̃‖² − r²)/(2ηr²) (the App. H value).
pub fn exact_mechanics(hyper: &Hyper, d: usize, sigma2: f64, grad_sq: f64) -> Result<Mechanics> {
    let m = check_noise(d, sigma2)?;
    check_grad_sq(grad_sq)?;
    let load = sigma2 * m + grad_sq;
    let (first, second) = (hyper.first, hyper.second);
    match hyper.protocol {
        Protocol::FixedSphere => Ok(centrifugal(hyper, load)),
        Protocol::FixedElr => {
            let disc = 1.0 - first * first * load;
            if disc <= 0.0 {
                return Err(TheoryError::NoStationaryState(format!(
                    "fixed ELR: elr^2 (sigma2 (d-1) + G2) = {} >= 1, the norm grows without bound",
                    1.0 - disc
                )));
            }
            Ok(Mechanics {
                radius: (first * load / (second * (1.0 + disc.sqrt()))).sqrt(),
                pressure: second,
            })
        }
        Protocol::FixedLr => {
            let denom = second * (2.0 - first * second);
            if denom <= 0.0 {
                return Err(TheoryError::NoStationaryState(format!(
                    "fixed LR: lr * wd = {} >= 2",
                    first * second
                )));
            }
            Ok(Mechanics {
                radius: (first * load / denom).sqrt().sqrt(),
                pressure: second,
            })
        }
    }
}

/// E‖g(w̄)‖⁴ for the isotropic model, g(w̄) = −P w* + σ P ξ (ξ standard normal, P the tangent
/// projector, m = d − 1): with y = ‖P w*‖² = 1 − c², averaging over ξ gives
/// y² + σ² y (2m + 4) + σ⁴ m(m + 2), and over the VMF E y = G2, E y² =
/// [`VmfStats::grad_sq_second_moment`]. Exact.
pub fn grad_fourth_moment(sigma2: f64, vmf: &VmfStats) -> f64 {
    let m = vmf.d as f64 - 1.0;
    vmf.grad_sq_second_moment()
        + sigma2 * vmf.grad_sq * (2.0 * m + 4.0)
        + sigma2 * sigma2 * m * (m + 2.0)
}

/// Prediction for the paper's linearised effective weight decay (E‖w̃‖ − r)/(η r) on a fixed
/// sphere (SPEC §16.6): the App. H value η_eff(σ²(d−1) + G2)/(2r²) minus
/// η_eff³ E‖g(w̄)‖⁴/(8r²), from ‖w̃‖ = r√(1 + q) ≈ r(1 + q/2 − q²/8), q = η_eff²‖g(w̄)‖².
pub fn linearised_wd_eff(
    elr: f64,
    radius: f64,
    d: usize,
    sigma2: f64,
    grad_sq: f64,
    grad_fourth: f64,
) -> Result<f64> {
    let hyper = Hyper::new(Protocol::FixedSphere, elr, radius)?;
    let app_h = app_h_mechanics(&hyper, d, sigma2, grad_sq)?.pressure;
    positive("grad_fourth", grad_fourth)?;
    Ok(app_h - elr * elr * elr * grad_fourth / (8.0 * radius * radius))
}

/// The effective step of the direction (SPEC §16.4): elr (fixed sphere), elr/(1 − elr·λ·r²)
/// (fixed ELR) or η/((1 − ηλ) r²) (fixed LR), r the stationary radius.
pub fn direction_step(hyper: &Hyper, radius: f64) -> Result<f64> {
    positive("radius", radius)?;
    let (first, second) = (hyper.first, hyper.second);
    let (step, shrink) = match hyper.protocol {
        Protocol::FixedSphere => (first, 1.0),
        Protocol::FixedElr => (first, 1.0 - first * second * radius * radius),
        Protocol::FixedLr => (first / (radius * radius), 1.0 - first * second),
    };
    if shrink <= 0.0 {
        return Err(TheoryError::NoStationaryState(format!(
            "{}: the weight-decay shrink factor {shrink} is not positive",
            hyper.protocol
        )));
    }
    Ok(step / shrink)
}

/// Discrete-time temperature of the isotropic toy (SPEC §16.4): T' = elr'σ²/2 and
/// T_disc = T'(1 + elr'(0.51 − 0.79 T'(d+1))), elr' from [`direction_step`]. The 0.51 is the
/// Euler factor for the toy loss (Hessian 1 at w*); 0.79 is an empirical fit (d ≈ 3…10): not
/// for networks. Errors when the correction factor is not positive (far outside the fit).
pub fn discrete_temperature(step: f64, d: usize, sigma2: f64) -> Result<f64> {
    check_noise(d, sigma2)?;
    positive("direction step", step)?;
    let t = 0.5 * step * sigma2;
    let factor = 1.0 + step * (0.51 - 0.79 * t * (d as f64 + 1.0));
    if factor <= 0.0 {
        return Err(TheoryError::OutOfRange {
            name: "discrete-temperature factor 1 + elr'(0.51 - 0.79 T'(d+1))",
            value: factor,
            range: "(0, inf): the SPEC 16.4 fit does not apply",
        });
    }
    Ok(t * factor)
}

/// Everything theory predicts for one isotropic-toy configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// The configuration.
    pub hyper: Hyper,
    /// Dimension d.
    pub d: usize,
    /// Noise scale σ² (tr Σ(w̄) = σ²(d−1)).
    pub sigma2: f64,
    /// SDE temperature T.
    pub temperature: f64,
    /// Discrete-time temperature T_disc (SPEC §16.4), at the exact-variant radius.
    pub temperature_disc: f64,
    /// Effective direction step elr' behind T_disc.
    pub direction_step: f64,
    /// SDE radius / pressure.
    pub sde: Mechanics,
    /// App. H radius / pressure, with G2 = `vmf_disc.grad_sq`.
    pub app_h: Mechanics,
    /// Exact discrete variant (SPEC §16.5), with G2 = `vmf_disc.grad_sq`.
    pub exact: Mechanics,
    /// Fixed sphere only: the prediction for the linearised estimator (E‖w̃‖ − r)/(ηr).
    pub wd_eff_linearised: Option<f64>,
    /// Exact VMF statistics at the SDE temperature.
    pub vmf: VmfStats,
    /// Exact VMF statistics at T_disc (the source of G2 and E‖g‖⁴).
    pub vmf_disc: VmfStats,
}

/// The full prediction for the isotropic toy with noise σ² on S^{d−1}.
///
/// G2 and E‖g‖⁴ are taken from the VMF at T_disc (this reproduces the SPEC §16.6 check:
/// 1.1535 predicted for d = 3, elr = 0.1, r = 0.3). For fixed ELR / LR, T_disc depends on the
/// radius and the radius on G2, so the radius is iterated to a fixed point.
pub fn isotropic_prediction(
    protocol: Protocol,
    d: usize,
    sigma2: f64,
    first: f64,
    second: f64,
) -> Result<Prediction> {
    let hyper = Hyper::new(protocol, first, second)?;
    let temperature = sde_temperature(&hyper, d, sigma2)?;
    let vmf = VmfStats::at_temperature(d, temperature)?;
    let sde = sde_mechanics(&hyper, d, sigma2)?;
    let mut radius = sde.radius;
    for _ in 0..200 {
        let step = direction_step(&hyper, radius)?;
        let temperature_disc = discrete_temperature(step, d, sigma2)?;
        let vmf_disc = VmfStats::at_temperature(d, temperature_disc)?;
        let exact = exact_mechanics(&hyper, d, sigma2, vmf_disc.grad_sq)?;
        if (exact.radius - radius).abs() <= 1e-14 * radius {
            let app_h = app_h_mechanics(&hyper, d, sigma2, vmf_disc.grad_sq)?;
            let wd_eff_linearised = match protocol {
                Protocol::FixedSphere => Some(linearised_wd_eff(
                    first,
                    second,
                    d,
                    sigma2,
                    vmf_disc.grad_sq,
                    grad_fourth_moment(sigma2, &vmf_disc),
                )?),
                _ => None,
            };
            return Ok(Prediction {
                hyper,
                d,
                sigma2,
                temperature,
                temperature_disc,
                direction_step: step,
                sde,
                app_h,
                exact,
                wd_eff_linearised,
                vmf,
                vmf_disc,
            });
        }
        radius = exact.radius;
    }
    Err(TheoryError::NoStationaryState(format!(
        "{protocol}: the self-consistent discrete radius did not converge"
    )))
}
