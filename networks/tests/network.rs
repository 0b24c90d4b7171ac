//! Whole-network oracles in f64: the gradient of the batch loss against central finite
//! differences, scale invariance (loss unchanged, gradient × 1/α under w → αw, and w ⟂ ∇L), and
//! the parameter counts of SPEC §7.1 against closed-form hand counts.

mod common;

use common::{Rand, check_gradient};
use sweep_nn::models::INPUT_SIZE;
use sweep_nn::{Act, Architecture, Network};

const N: usize = 4;

fn setup(
    arch: Architecture,
    in_ch: usize,
    classes: usize,
) -> (Network<f64>, Vec<f64>, Act<f64>, Vec<u8>) {
    let (net, si) = Network::<f64>::initial(arch, in_ch, classes, 1, 4, 1.0, 10.0).expect("net");
    let mut rng = Rand::new(17);
    let x = Act {
        data: rng.vec(in_ch * N * INPUT_SIZE * INPUT_SIZE),
        c: in_ch,
        n: N,
        h: INPUT_SIZE,
        w: INPUT_SIZE,
    };
    let labels = (0..N).map(|i| (i * 3 % classes) as u8).collect();
    (net, si, x, labels)
}

fn gradcheck(arch: Architecture, in_ch: usize, classes: usize) {
    let (net, si, x, labels) = setup(arch, in_ch, classes);
    let mut g = vec![0.0; net.dim()];
    let loss = net.loss_grad(&si, &x, &labels, &mut g).expect("loss_grad");
    assert!(loss.is_finite() && loss > 0.0);
    assert_eq!(loss, net.loss(&si, &x, &labels).expect("loss"));
    let mut f = |w: &[f64]| net.loss(w, &x, &labels).expect("loss");
    // ‖w‖ = 1 spread over thousands of weights: steps of 1e-6 are small against each weight.
    check_gradient(
        &format!("{arch:?} {in_ch}ch"),
        &mut f,
        &si,
        &g,
        150,
        1e-6,
        1e-6,
    );
}

#[test]
fn convnet_gradient_3_channels() {
    gradcheck(Architecture::ConvNet { c: 2 }, 3, 10);
}

#[test]
fn convnet_gradient_1_channel() {
    gradcheck(Architecture::ConvNet { c: 3 }, 1, 10);
}

#[test]
fn resnet18_gradient_3_channels() {
    gradcheck(Architecture::ResNet18 { k: 1 }, 3, 10);
}

#[test]
fn resnet18_gradient_1_channel_100_classes() {
    gradcheck(Architecture::ResNet18 { k: 2 }, 1, 100);
}

fn invariance(arch: Architecture, in_ch: usize, eps: f64, rel: f64) {
    let (net, si, x, labels) = setup(arch, in_ch, 10);
    let net = net.with_bn_eps(eps);
    let mut g = vec![0.0; net.dim()];
    let l1 = net.loss_grad(&si, &x, &labels, &mut g).expect("loss");
    let gnorm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
    // Euler's theorem for a degree-0 function: ⟨w, ∇L(w)⟩ = 0.
    let radial: f64 = si.iter().zip(&g).map(|(a, b)| a * b).sum();
    assert!(
        radial.abs() <= rel * gnorm,
        "{arch:?}: ⟨w, ∇L⟩ = {radial:e}, ‖∇L‖ = {gnorm:e}"
    );
    for alpha in [0.1, 3.0, 25.0] {
        let scaled: Vec<f64> = si.iter().map(|v| v * alpha).collect();
        let mut gs = vec![0.0; net.dim()];
        let l2 = net.loss_grad(&scaled, &x, &labels, &mut gs).expect("loss");
        assert!(
            (l1 - l2).abs() <= rel * l1,
            "{arch:?} α={alpha}: loss {l1} vs {l2}"
        );
        let err = g
            .iter()
            .zip(&gs)
            .map(|(a, b)| (a / alpha - b).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(
            err <= rel * gnorm / alpha,
            "{arch:?} α={alpha}: ‖∇L(αw) − ∇L(w)/α‖ = {err:e}"
        );
    }
}

#[test]
fn convnet_scale_invariant_exactly_without_bn_eps() {
    invariance(Architecture::ConvNet { c: 2 }, 3, 0.0, 1e-10);
    invariance(Architecture::ConvNet { c: 2 }, 1, 0.0, 1e-10);
}

#[test]
fn resnet18_scale_invariant_exactly_without_bn_eps() {
    invariance(Architecture::ResNet18 { k: 1 }, 3, 0.0, 1e-10);
    invariance(Architecture::ResNet18 { k: 1 }, 1, 0.0, 1e-10);
}

#[test]
fn pytorch_bn_eps_breaks_invariance_as_eps_over_alpha_squared() {
    // With ε = 1e-5 each BatchNorm on a conv output divides by √(α²σ² + ε): the loss at scale α
    // differs from its α → ∞ limit by O(ε/(α²σ²)). (The ResNet's shortcut BN reads an already
    // normalised input, so its ε effect does not depend on α and cancels in the difference.)
    // Oracle: the deviation from the α = 10⁴ loss falls 100× per 10× in α.
    for arch in [
        Architecture::ConvNet { c: 2 },
        Architecture::ResNet18 { k: 1 },
    ] {
        let (net, si, x, labels) = setup(arch, 3, 10);
        let at = |alpha: f64| {
            let w: Vec<f64> = si.iter().map(|v| v * alpha).collect();
            net.loss(&w, &x, &labels).expect("loss")
        };
        let limit = at(1e4);
        let (d10, d100) = ((at(10.0) - limit).abs(), (at(100.0) - limit).abs());
        assert!(
            d10 > 0.0 && d10 < 1e-3,
            "{arch:?}: deviation at α=10 is {d10:e}"
        );
        let ratio = d10 / d100;
        assert!(
            (ratio - 100.0).abs() < 5.0,
            "{arch:?}: deviation ratio {ratio} (want ≈ 100)"
        );
    }
}

#[test]
fn parameter_counts_match_spec_and_hand_counts() {
    let conv = |c: usize, ch: usize| Architecture::ConvNet { c }.dim(ch);
    let res = |k: usize, ch: usize| Architecture::ResNet18 { k }.dim(ch);
    // SPEC §7.1 values (3-channel CIFAR input).
    assert_eq!(conv(8, 3), 24_408);
    assert_eq!(conv(16, 3), 97_200);
    assert_eq!(res(4, 3), 43_692);
    assert_eq!(res(32, 3), 2_790_240);
    // Hand counts: ConvNet 9·C_in·c + (18 + 72 + 288)c²; ResNet 9·C_in·k + 2724k² where
    // 2724 = 36 (stage 1: 4 convs k→k) + 128 + 512 + 2048 (stages 2–4: 18+36+2+72 per unit width²
    // scaled by 1, 4, 16).
    for c in 1..=16 {
        for ch in [1, 3] {
            assert_eq!(conv(c, ch), 9 * ch * c + 378 * c * c);
            assert_eq!(res(c, ch), 9 * ch * c + 2724 * c * c);
        }
    }
    // 1-channel (MNIST-family) counts.
    assert_eq!(conv(8, 1), 24_264);
    assert_eq!(res(4, 1), 43_620);
    // The network reports the same dim and the ResNet has 20 convolutions (1 + 8·2 + 3 shortcuts).
    let (net, si, _, _) = setup(Architecture::ResNet18 { k: 4 }, 3, 10);
    assert_eq!(
        (net.dim(), si.len(), net.convs().len()),
        (43_692, 43_692, 20)
    );
}

#[test]
fn head_is_frozen_at_norm_10_and_si_group_at_its_initial_norm() {
    for (arch, bias) in [
        (Architecture::ConvNet { c: 8 }, 10),
        (Architecture::ResNet18 { k: 4 }, 0),
    ] {
        let (net, si) = Network::<f64>::initial(arch, 3, 10, 1, 4, 2.5, 10.0).expect("net");
        let hn = net.head().weight.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!((hn - 10.0).abs() < 1e-9);
        assert_eq!(net.head().bias.len(), bias);
        assert_eq!(net.head().weight.len(), 10 * arch.features());
        let n = si.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!((n - 2.5).abs() < 1e-9);
    }
}

#[test]
fn bad_calls_are_errors_not_panics() {
    let (net, si, x, labels) = setup(Architecture::ConvNet { c: 2 }, 3, 10);
    assert!(net.loss(&si[1..], &x, &labels).is_err());
    assert!(net.loss(&si, &x, &labels[1..]).is_err());
    assert!(net.loss(&si, &x, &[10, 0, 0, 0]).is_err());
    let small = Act {
        data: vec![0.0; 3 * N * 28 * 28],
        c: 3,
        n: N,
        h: 28,
        w: 28,
    };
    assert!(net.loss(&si, &small, &labels).is_err());
    let mut g = vec![0.0; 3];
    assert!(net.loss_grad(&si, &x, &labels, &mut g).is_err());
}
