//! Why this module exists: the Maxwell checks of SPEC §8 read entropy derivatives off a quadratic
//! surface S(x, y) ≈ a0 + a1 x + a2 y + a3 x² + a4 y² + a5 xy fitted by ordinary least squares
//! over the sweep's points (x, y the logs of the two hyperparameters, as in the authors'
//! notebooks). The fit is done in centred and scaled variables, where the normal equations are
//! well conditioned, and the coefficients are mapped back to raw (x, y) exactly. The fit is linear
//! in the data, so the standard error of any derivative at any point follows exactly from the
//! points' standard errors ([`Surface::linear_weights`]).

use serde::{Deserialize, Serialize};

/// Coefficients a0…a5 of S(x, y) = a0 + a1 x + a2 y + a3 x² + a4 y² + a5 x y (SPEC Eq. 30).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Coefficients {
    /// Constant.
    pub a0: f64,
    /// x.
    pub a1: f64,
    /// y.
    pub a2: f64,
    /// x².
    pub a3: f64,
    /// y².
    pub a4: f64,
    /// x·y.
    pub a5: f64,
}

impl Coefficients {
    /// S(x, y).
    pub fn value(&self, x: f64, y: f64) -> f64 {
        self.a0 + self.a1 * x + self.a2 * y + self.a3 * x * x + self.a4 * y * y + self.a5 * x * y
    }

    /// (∂S/∂x, ∂S/∂y) at (x, y) (SPEC Eq. 31–32).
    pub fn gradient(&self, x: f64, y: f64) -> (f64, f64) {
        (
            self.a1 + 2.0 * self.a3 * x + self.a5 * y,
            self.a2 + 2.0 * self.a4 * y + self.a5 * x,
        )
    }
}

/// Why a surface could not be fitted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    /// Fewer points than coefficients.
    #[error("{0} points: a quadratic surface needs at least 6 (and 3 distinct values per axis)")]
    TooFewPoints(usize),
    /// An axis takes fewer than 3 distinct values, or the design is otherwise rank-deficient.
    #[error("singular least squares: {0}")]
    Singular(String),
    /// A non-finite input.
    #[error("non-finite input at point {0}")]
    NonFinite(usize),
}

/// A fitted quadratic surface.
#[derive(Debug, Clone, PartialEq)]
pub struct Surface {
    /// Raw-variable coefficients.
    pub coefficients: Coefficients,
    /// Coefficient of determination R² = 1 − SS_res/SS_tot (1 when SS_tot = 0 and the fit is exact).
    pub r2: f64,
    /// Root mean square of the residuals, with n − 6 degrees of freedom (0 when n = 6).
    pub residual_sd: f64,
    centre: (f64, f64),
    scale: (f64, f64),
    /// (XᵀX)⁻¹ in the scaled basis, row-major 6×6.
    gram_inv: [[f64; 6]; 6],
    design: Vec<[f64; 6]>,
}

fn basis(u: f64, v: f64) -> [f64; 6] {
    [1.0, u, v, u * u, v * v, u * v]
}

fn distinct(values: impl Iterator<Item = f64>) -> usize {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    v.dedup_by(|a, b| (*a - *b).abs() <= 1e-12 * (1.0 + b.abs()));
    v.len()
}

/// Ordinary least squares of `s` on the quadratic basis in (x, y).
pub fn fit_surface(x: &[f64], y: &[f64], s: &[f64]) -> Result<Surface, FitError> {
    let n = s.len();
    if x.len() != n || y.len() != n || n < 6 {
        return Err(FitError::TooFewPoints(n.min(x.len()).min(y.len())));
    }
    if let Some(i) = (0..n).find(|&i| !(x[i].is_finite() && y[i].is_finite() && s[i].is_finite())) {
        return Err(FitError::NonFinite(i));
    }
    let (dx, dy) = (distinct(x.iter().copied()), distinct(y.iter().copied()));
    if dx < 3 || dy < 3 {
        return Err(FitError::Singular(format!(
            "{dx} distinct x values and {dy} distinct y values; each axis needs 3"
        )));
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / n as f64;
    let sd =
        |v: &[f64], m: f64| (v.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / n as f64).sqrt();
    let (cx, cy) = (mean(x), mean(y));
    let (sx, sy) = (sd(x, cx), sd(y, cy));
    let design: Vec<[f64; 6]> = (0..n)
        .map(|i| basis((x[i] - cx) / sx, (y[i] - cy) / sy))
        .collect();
    let mut gram = [[0.0; 6]; 6];
    for row in &design {
        for a in 0..6 {
            for b in 0..6 {
                gram[a][b] += row[a] * row[b];
            }
        }
    }
    let gram_inv = invert_spd(gram)?;
    let mut xty = [0.0; 6];
    for (row, si) in design.iter().zip(s) {
        for a in 0..6 {
            xty[a] += row[a] * si;
        }
    }
    let b = mat_vec(&gram_inv, &xty);
    let coefficients = unscale(&b, (cx, cy), (sx, sy));
    let sm = mean(s);
    let ss_tot: f64 = s.iter().map(|v| (v - sm) * (v - sm)).sum();
    let ss_res: f64 = design
        .iter()
        .zip(s)
        .map(|(row, si)| {
            let fit: f64 = row.iter().zip(&b).map(|(r, c)| r * c).sum();
            (si - fit) * (si - fit)
        })
        .sum();
    let r2 = if ss_tot > 0.0 {
        1.0 - ss_res / ss_tot
    } else {
        1.0
    };
    let residual_sd = if n > 6 {
        (ss_res / (n - 6) as f64).sqrt()
    } else {
        0.0
    };
    Ok(Surface {
        coefficients,
        r2,
        residual_sd,
        centre: (cx, cy),
        scale: (sx, sy),
        gram_inv,
        design,
    })
}

impl Surface {
    /// Weights w_i with Σ_i w_i s_i = α ∂S/∂x + β ∂S/∂y of the fit at (x, y): the derivative
    /// combination is linear in the data, so its variance is Σ w_i² se_i² for independent points.
    pub fn linear_weights(&self, x: f64, y: f64, alpha: f64, beta: f64) -> Vec<f64> {
        let (sx, sy) = self.scale;
        let u = (x - self.centre.0) / sx;
        let v = (y - self.centre.1) / sy;
        // ∂S/∂x = (b1 + 2 b3 u + b5 v)/sx ;  ∂S/∂y = (b2 + 2 b4 v + b5 u)/sy.
        let c = [
            0.0,
            alpha / sx,
            beta / sy,
            2.0 * alpha * u / sx,
            2.0 * beta * v / sy,
            alpha * v / sx + beta * u / sy,
        ];
        let cg = mat_vec(&self.gram_inv, &c);
        self.design
            .iter()
            .map(|row| row.iter().zip(&cg).map(|(r, g)| r * g).sum())
            .collect()
    }
}

/// Maps scaled coefficients (u = (x − cx)/sx, v = (y − cy)/sy) back to raw x, y.
fn unscale(b: &[f64; 6], (cx, cy): (f64, f64), (sx, sy): (f64, f64)) -> Coefficients {
    let a3 = b[3] / (sx * sx);
    let a4 = b[4] / (sy * sy);
    let a5 = b[5] / (sx * sy);
    Coefficients {
        a0: b[0] - b[1] * cx / sx - b[2] * cy / sy + a3 * cx * cx + a4 * cy * cy + a5 * cx * cy,
        a1: b[1] / sx - 2.0 * a3 * cx - a5 * cy,
        a2: b[2] / sy - 2.0 * a4 * cy - a5 * cx,
        a3,
        a4,
        a5,
    }
}

fn mat_vec(m: &[[f64; 6]; 6], v: &[f64; 6]) -> [f64; 6] {
    let mut out = [0.0; 6];
    for (o, row) in out.iter_mut().zip(m) {
        *o = row.iter().zip(v).map(|(a, b)| a * b).sum();
    }
    out
}

/// Inverse of a symmetric positive-definite 6×6 matrix by Gauss–Jordan with partial pivoting;
/// a pivot below 1e-10 of the largest diagonal is reported as singular.
fn invert_spd(m: [[f64; 6]; 6]) -> Result<[[f64; 6]; 6], FitError> {
    let scale = (0..6).map(|i| m[i][i]).fold(0.0, f64::max);
    let mut a = m;
    let mut inv = [[0.0; 6]; 6];
    for (i, row) in inv.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for col in 0..6 {
        let pivot = (col..6)
            .max_by(|&p, &q| a[p][col].abs().total_cmp(&a[q][col].abs()))
            .unwrap_or(col);
        if a[pivot][col].abs().partial_cmp(&(1e-10 * scale)) != Some(std::cmp::Ordering::Greater) {
            return Err(FitError::Singular(
                "the design matrix is rank-deficient (the points lie on a curve of degree ≤ 2)"
                    .to_owned(),
            ));
        }
        a.swap(col, pivot);
        inv.swap(col, pivot);
        let p = a[col][col];
        for k in 0..6 {
            a[col][k] /= p;
            inv[col][k] /= p;
        }
        for r in 0..6 {
            if r != col {
                let f = a[r][col];
                if f != 0.0 {
                    for k in 0..6 {
                        a[r][k] -= f * a[col][k];
                        inv[r][k] -= f * inv[col][k];
                    }
                }
            }
        }
    }
    Ok(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> (Vec<f64>, Vec<f64>) {
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..7 {
            for j in 0..5 {
                x.push((1e-3f64).ln() + i as f64 * 0.7);
                y.push((1e-3f64).ln() + j as f64 * 1.1);
            }
        }
        (x, y)
    }

    #[test]
    fn recovers_known_coefficients() {
        let truth = Coefficients {
            a0: 3.5,
            a1: 1.25,
            a2: -0.75,
            a3: 0.125,
            a4: -0.0625,
            a5: 0.3,
        };
        let (x, y) = grid();
        let s: Vec<f64> = x.iter().zip(&y).map(|(&a, &b)| truth.value(a, b)).collect();
        let fit = fit_surface(&x, &y, &s).unwrap();
        let c = fit.coefficients;
        for (got, want) in [
            (c.a0, truth.a0),
            (c.a1, truth.a1),
            (c.a2, truth.a2),
            (c.a3, truth.a3),
            (c.a4, truth.a4),
            (c.a5, truth.a5),
        ] {
            assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        }
        assert!((fit.r2 - 1.0).abs() < 1e-12);
        assert!(fit.residual_sd < 1e-9);
    }

    #[test]
    fn linear_weights_reproduce_the_derivative() {
        let (x, y) = grid();
        let s: Vec<f64> = x
            .iter()
            .zip(&y)
            .map(|(a, b)| (a * 0.3).sin() + b * b * 0.1 + a * b)
            .collect();
        let fit = fit_surface(&x, &y, &s).unwrap();
        let (px, py) = (x[3], y[7]);
        let w = fit.linear_weights(px, py, 1.0, -1.0);
        let via_weights: f64 = w.iter().zip(&s).map(|(a, b)| a * b).sum();
        let (gx, gy) = fit.coefficients.gradient(px, py);
        assert!(
            (via_weights - (gx - gy)).abs() < 1e-9,
            "{via_weights} vs {}",
            gx - gy
        );
    }

    #[test]
    fn degenerate_designs_are_errors() {
        assert!(matches!(
            fit_surface(&[1.0; 3], &[1.0; 3], &[1.0; 3]),
            Err(FitError::TooFewPoints(3))
        ));
        let x = [1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 3.0];
        let y = [1.0, 2.0, 3.0, 1.0, 2.0, 3.0, 1.0];
        let ok = fit_surface(&x, &y, &[0.0; 7]);
        assert!(ok.is_ok(), "{ok:?}");
        let y_flat = [1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 1.0];
        assert!(matches!(
            fit_surface(&x, &y_flat, &[0.0; 7]),
            Err(FitError::Singular(_))
        ));
        let mut s = [0.0; 7];
        s[2] = f64::NAN;
        assert!(matches!(
            fit_surface(&x, &y, &s),
            Err(FitError::NonFinite(2))
        ));
    }
}
