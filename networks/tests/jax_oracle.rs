//! The models against an independent implementation: `tests/jax_reference.py` builds ConvNet and
//! ResNet-18 from SPEC §7.1 in JAX (float64, PyTorch's NCHW/OIHW layouts, lax convolutions) and
//! returns the loss and its gradient; ours must agree to rounding. This catches what finite
//! differences cannot: a wrong architecture, weight layout or pooling placement. Prints
//! "SKIPPED: …" when python3 with jax is not installed (`pip install jax`).

mod common;

use std::fmt::Write as _;
use std::process::Command;

use common::Rand;
use sweep_nn::{Act, Architecture, Network};

fn have_jax() -> bool {
    Command::new("python3")
        .args(["-c", "import jax"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn list(v: &[f64]) -> String {
    let mut s = String::from("[");
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        write!(s, "{x:e}").expect("write");
    }
    s.push(']');
    s
}

fn compare(arch: Architecture, in_ch: usize, classes: usize, eps: f64) {
    let (net, si) = Network::<f64>::initial(arch, in_ch, classes, 3, 4, 1.0, 10.0).expect("net");
    let net = net.with_bn_eps(eps);
    let n = 3;
    let mut rng = Rand::new(23);
    let x = Act {
        data: rng.vec(in_ch * n * 1024),
        c: in_ch,
        n,
        h: 32,
        w: 32,
    };
    let labels: Vec<u8> = (0..n).map(|i| (i * 7 % classes) as u8).collect();
    let mut g = vec![0.0; net.dim()];
    let loss = net.loss_grad(&si, &x, &labels, &mut g).expect("loss");
    // CNHW → NCHW for the reference.
    let mut nchw = vec![0.0; x.data.len()];
    for c in 0..in_ch {
        for b in 0..n {
            nchw[(b * in_ch + c) * 1024..][..1024]
                .copy_from_slice(&x.data[(c * n + b) * 1024..][..1024]);
        }
    }
    let (name, width) = match arch {
        Architecture::ConvNet { c } => ("convnet", c),
        Architecture::ResNet18 { k } => ("resnet18", k),
    };
    let json = format!(
        r#"{{"arch":"{name}","width":{width},"in_channels":{in_ch},"classes":{classes},"eps":{eps:e},"si":{},"head_w":{},"head_b":{},"x":{},"n":{n},"labels":{:?}}}"#,
        list(&si),
        list(&net.head().weight),
        list(&net.head().bias),
        list(&nchw),
        labels
    );
    let dir = tempfile::tempdir().expect("tmp");
    let input = dir.path().join("in.json");
    std::fs::write(&input, json).expect("write");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/jax_reference.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(&input)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "reference failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let vals: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().parse().expect("number"))
        .collect();
    assert_eq!(vals.len(), 1 + net.dim());
    assert!(
        (vals[0] - loss).abs() < 1e-10 * loss.abs(),
        "{arch:?}: loss {loss} vs JAX {}",
        vals[0]
    );
    let gmax = g.iter().map(|v| v.abs()).fold(0.0, f64::max);
    for (i, (a, b)) in g.iter().zip(&vals[1..]).enumerate() {
        assert!(
            (a - b).abs() < 1e-9 * gmax,
            "{arch:?}: ∂L/∂w[{i}] {a} vs JAX {b}"
        );
    }
}

#[test]
fn convnet_and_resnet18_match_jax() {
    if !have_jax() {
        println!("SKIPPED: python3 with jax not installed (pip install jax)");
        return;
    }
    compare(Architecture::ConvNet { c: 2 }, 3, 10, 1e-5);
    compare(Architecture::ConvNet { c: 3 }, 1, 10, 1e-5);
    compare(Architecture::ResNet18 { k: 2 }, 3, 10, 1e-5);
    compare(Architecture::ResNet18 { k: 1 }, 1, 100, 0.0);
}
