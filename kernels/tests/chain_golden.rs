//! One step of each protocol against the golden vectors of an independent NumPy implementation
//! (`testdata/golden.json`, "steps"): the normal draws are given, so the arithmetic of
//! [`ChainGroup`] is checked alone, to 1e-12.

use serde_json::Value;
use sweep_kernels::isotropic::{ChainGroup, LANES, LaneHyper, NoiseSource};
use sweep_theory::Protocol;

fn golden() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/golden.json"
    ))
    .expect("testdata/golden.json");
    serde_json::from_str(&text).expect("golden.json parses")
}

fn vec_f64(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// The golden draws xi[k][b][j], served per block of four coordinates; lanes past B repeat lane 0.
struct GivenNoise {
    xi: Vec<Vec<Vec<f64>>>,
}

impl NoiseSource for GivenNoise {
    fn block(&mut self, iteration: u64, block: u32) -> [[f64; LANES]; 4] {
        let step = &self.xi[(iteration - 1) as usize];
        let mut out = [[0.0; LANES]; 4];
        for (j, row) in out.iter_mut().enumerate() {
            let k = 4 * block as usize + j;
            for (i, x) in row.iter_mut().enumerate() {
                let lane = &step[i % step.len()];
                *x = lane.get(k).copied().unwrap_or(0.0);
            }
        }
        out
    }
}

fn close(got: f64, want: f64, what: &str) {
    let err = (got - want).abs() / want.abs().max(1.0);
    assert!(
        err <= 1e-12,
        "{what}: got {got:.17e}, want {want:.17e} (error {err:e})"
    );
}

#[test]
fn one_step_of_each_protocol_matches_golden() {
    let g = golden();
    let s = &g["steps"];
    let d = s["d"].as_u64().expect("d") as usize;
    let b = s["B"].as_u64().expect("B") as usize;
    let k_steps = s["K"].as_u64().expect("K") as usize;
    let sigma = s["sigma"].as_f64().expect("sigma");
    let mu = vec_f64(&s["mu"]);
    let xi: Vec<Vec<Vec<f64>>> = s["xi"]
        .as_array()
        .expect("xi")
        .iter()
        .map(|step| {
            step.as_array()
                .expect("xi[k]")
                .iter()
                .map(vec_f64)
                .collect()
        })
        .collect();
    for (name, protocol) in [
        ("sphere", Protocol::FixedSphere),
        ("elr", Protocol::FixedElr),
        ("lr", Protocol::FixedLr),
    ] {
        let p = &s["protocols"][name];
        let (p1, p2) = (vec_f64(&p["p1"]), vec_f64(&p["p2"]));
        let w0: Vec<Vec<f64>> = p["w0"]
            .as_array()
            .expect("w0")
            .iter()
            .map(vec_f64)
            .collect();
        let hyper: [LaneHyper; LANES] = std::array::from_fn(|i| {
            let i = i % b;
            // Golden's sphere p1 is the learning rate η = η_eff·r²; ours is η_eff.
            let first = if protocol == Protocol::FixedSphere {
                p1[i] / (p2[i] * p2[i])
            } else {
                p1[i]
            };
            LaneHyper {
                first,
                second: p2[i],
            }
        });
        let starts: [&[f64]; LANES] = std::array::from_fn(|i| w0[i % b].as_slice());
        let mut group = ChainGroup::new(protocol, sigma, &mu, starts, hyper);
        let mut noise = GivenNoise { xi: xi.clone() };
        for k in 0..k_steps {
            let diag = &p["diag"][k];
            let (loss, rho2, g2) = (group.loss(), group.radius_sq(), group.grad_sq());
            for lane in 0..b {
                // Golden loss is −⟨u, μ⟩; ours is 1 − ⟨u, w*⟩ with w* = μ.
                close(
                    loss[lane] - 1.0,
                    diag["loss"][lane].as_f64().expect("loss"),
                    &format!("{name} loss k={k}"),
                );
                close(
                    rho2[lane],
                    diag["rho2"][lane].as_f64().expect("rho2"),
                    &format!("{name} rho2 k={k}"),
                );
                close(
                    g2[lane],
                    diag["G2"][lane].as_f64().expect("G2"),
                    &format!("{name} G2 k={k}"),
                );
            }
            group.advance(k as u64 + 1, 1, &mut noise);
            if protocol == Protocol::FixedSphere {
                let pre = group.pre_norm_sq();
                for lane in 0..b {
                    let (eta, r) = (p1[lane], p2[lane]);
                    let shrink = (1.0 - r / pre[lane].sqrt()) / eta;
                    let pyth = (pre[lane] - r * r) / (2.0 * eta * r * r);
                    close(
                        shrink,
                        diag["lam_eff"][lane].as_f64().expect("lam_eff"),
                        &format!("lam_eff k={k}"),
                    );
                    close(
                        pyth,
                        diag["lam_eff_pyth"][lane].as_f64().expect("pyth"),
                        &format!("pyth k={k}"),
                    );
                }
            }
            let want = &p["w"][k];
            for lane in 0..b {
                let got = group.weights(lane);
                let want = vec_f64(&want[lane]);
                for j in 0..d {
                    close(got[j], want[j], &format!("{name} w[{k}][{lane}][{j}]"));
                }
            }
        }
    }
}
