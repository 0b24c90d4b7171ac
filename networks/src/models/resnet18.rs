//! Pre-activation ResNet-18(k) (`make_resnet18k`, SPEC §7.1): conv3×3(C_in→k), four stages of two
//! pre-activation blocks with k, 2k, 4k, 8k channels (stride 2 from the second stage on), final
//! BN–ReLU–AvgPool(4), frozen Linear(8k→K) without bias.
//!
//! Block: `o = ReLU(BN(h))`, `out = conv_b(ReLU(BN(conv_a(o)))) + shortcut`, where the shortcut is
//! `h` itself, or `conv_1×1(BN(o))` when the block changes width or stride: the extra BN "in the
//! shortcut before downsampling" of SPEC §7.1, applied (as in the reference code's
//! `self.shortcut(out)`) to the block's pre-activated input `o`, with its own batch statistics.
//! Every branch is then homogeneous of degree 1 in the conv weights, so the network is
//! scale-invariant.
//!
//! Parameter order: the stem conv, then per block `conv_a`, `conv_b`, and the shortcut conv if any.
//! `dim = 9·C_in·k + 2724k²`: 43 692 for k = 4 with 3 channels, 43 620 with 1 channel.

use super::{Network, Pass, head_backward, head_forward};
use crate::layers::*;
use crate::par;
use crate::real::Real;
use crate::tensor::Act;

/// `(in, out, stride)` of the eight blocks.
pub(crate) fn blocks(k: usize) -> Vec<(usize, usize, usize)> {
    let mut v = Vec::with_capacity(8);
    let mut c_in = k;
    for (stage, mult) in [1, 2, 4, 8].into_iter().enumerate() {
        for b in 0..2 {
            let stride = if stage > 0 && b == 0 { 2 } else { 1 };
            v.push((c_in, mult * k, stride));
            c_in = mult * k;
        }
    }
    v
}

/// The convolutions in parameter order.
pub fn convs(k: usize, in_channels: usize) -> Vec<Conv> {
    let mut v = vec![Conv::k3(in_channels, k, 1)];
    for (c_in, c_out, stride) in blocks(k) {
        v.push(Conv::k3(c_in, c_out, stride));
        v.push(Conv::k3(c_out, c_out, 1));
        if stride != 1 || c_in != c_out {
            v.push(Conv::k1(c_in, c_out, stride));
        }
    }
    v
}

/// What one block keeps for the backward pass.
struct Block<T> {
    bn1: BnCache<T>,
    /// The shortcut's BatchNorm of `o1` (blocks with a 1×1 shortcut only).
    bn_sc: Option<BnCache<T>>,
    o1: Act<T>,
    bn2: BnCache<T>,
    u: Act<T>,
    /// Index of `conv_a` in the conv list; `conv_b` follows, then the shortcut conv if any.
    first: usize,
}

/// Forward pass, and backward into `grad` when given. Shapes were checked by the caller.
pub(crate) fn run<T: Real>(
    net: &Network<T>,
    si: &[T],
    x: &Act<T>,
    labels: &[u8],
    grad: Option<&mut [T]>,
    bn: &mut BnMode<'_>,
) -> Pass<T> {
    let convs = net.convs();
    let eps = net.eps();
    let mut h = conv_forward(&convs[0], x, net.weight(si, 0));
    let mut cache = Vec::with_capacity(8);
    let mut idx = 1;
    for (c_in, c_out, stride) in blocks(convs[0].c_out) {
        let shortcut = stride != 1 || c_in != c_out;
        let bn1 = bn.forward(&h, eps);
        let o1 = relu_forward(&bn1.y);
        let t = conv_forward(&convs[idx], &o1, net.weight(si, idx));
        let bn2 = bn.forward(&t, eps);
        let u = relu_forward(&bn2.y);
        let mut out = conv_forward(&convs[idx + 1], &u, net.weight(si, idx + 1));
        let bn_sc = if shortcut {
            let bs = bn.forward(&o1, eps);
            let s = conv_forward(&convs[idx + 2], &bs.y, net.weight(si, idx + 2));
            par::add_assign(&mut out.data, &s.data);
            Some(bs)
        } else {
            par::add_assign(&mut out.data, &h.data);
            None
        };
        cache.push(Block {
            bn1,
            bn_sc,
            o1,
            bn2,
            u,
            first: idx,
        });
        idx += if shortcut { 3 } else { 2 };
        h = out;
    }
    let bnf = bn.forward(&h, eps);
    let r = relu_forward(&bnf.y);
    let feat = avgpool_forward(&r, 4);
    let (pass, dlogits) = head_forward(net, &feat, labels);
    let Some(grad) = grad else {
        return pass;
    };
    let dfeat = head_backward(net, &feat, &dlogits);
    let dr = avgpool_backward(&r, 4, &dfeat);
    let mut dh = bn_backward(&bnf, &relu_backward(&r, &dr));
    for b in cache.iter().rev() {
        let i = b.first;
        // Inputs of conv_b and conv_a are u and o1; the shortcut conv reads BN(o1).
        let du = conv_backward(
            &convs[i + 1],
            &b.u,
            net.weight(si, i + 1),
            &dh,
            &mut grad[net.range(i + 1)],
        );
        let dt = bn_backward(&b.bn2, &relu_backward(&b.u, &du));
        let mut do1 = conv_backward(
            &convs[i],
            &b.o1,
            net.weight(si, i),
            &dt,
            &mut grad[net.range(i)],
        );
        match &b.bn_sc {
            Some(bs) => {
                let dbs = conv_backward(
                    &convs[i + 2],
                    &bs.y,
                    net.weight(si, i + 2),
                    &dh,
                    &mut grad[net.range(i + 2)],
                );
                let extra = bn_backward(bs, &dbs);
                par::add_assign(&mut do1.data, &extra.data);
                dh = bn_backward(&b.bn1, &relu_backward(&b.o1, &do1));
            }
            None => {
                let mut dx = bn_backward(&b.bn1, &relu_backward(&b.o1, &do1));
                par::add_assign(&mut dx.data, &dh.data);
                dh = dx;
            }
        }
    }
    // The stem's input gradient is not needed; computing it costs one small GEMM.
    conv_backward(
        &convs[0],
        x,
        net.weight(si, 0),
        &dh,
        &mut grad[net.range(0)],
    );
    pass
}
