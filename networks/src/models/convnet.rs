//! ConvNet(c) (Kodryan et al. 2022, `ConvNetDepth(init_channels=c, max_depth=3)`, SPEC §7.1):
//! conv3×3(C_in→c)–BN–ReLU, then three conv3×3–BN–ReLU–MaxPool2 stages to 2c, 4c, 8c, MaxPool(4),
//! flatten, frozen Linear(8c→K) with bias. Convolutions have no bias and BatchNorm no affine
//! parameters, so the loss depends on the conv weights only through their direction.
//!
//! `dim = 9·C_in·c + 378c²`: 24 408 for c = 8 with 3 channels, 24 264 with 1 channel.

use super::{Network, Pass, head_backward, head_forward};
use crate::layers::*;
use crate::real::Real;
use crate::tensor::Act;

/// The four convolutions in parameter order.
pub fn convs(c: usize, in_channels: usize) -> Vec<Conv> {
    vec![
        Conv::k3(in_channels, c, 1),
        Conv::k3(c, 2 * c, 1),
        Conv::k3(2 * c, 4 * c, 1),
        Conv::k3(4 * c, 8 * c, 1),
    ]
}

/// What one conv–BN–ReLU(–MaxPool) stage keeps for the backward pass.
struct Stage<T> {
    input: Act<T>,
    bn: BnCache<T>,
    relu: Act<T>,
    pool: Option<Vec<u32>>,
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
    let mut stages = Vec::with_capacity(4);
    let mut h = x.clone();
    for (i, cv) in net.convs().iter().enumerate() {
        let a = conv_forward(cv, &h, net.weight(si, i));
        let bn = bn.forward(&a, net.eps());
        let relu = relu_forward(&bn.y);
        let (out, pool) = if i == 0 {
            (relu.clone(), None)
        } else {
            let (p, arg) = maxpool_forward(&relu, 2);
            (p, Some(arg))
        };
        stages.push(Stage {
            input: h,
            bn,
            relu,
            pool,
        });
        h = out;
    }
    let (feat, arg4) = maxpool_forward(&h, 4);
    let (pass, dlogits) = head_forward(net, &feat, labels);
    let Some(grad) = grad else {
        return pass;
    };
    let dfeat = head_backward(net, &feat, &dlogits);
    let mut dh = maxpool_backward(&h, &arg4, &dfeat);
    for (i, st) in stages.iter().enumerate().rev() {
        let drelu = match &st.pool {
            Some(arg) => maxpool_backward(&st.relu, arg, &dh),
            None => dh,
        };
        let da = bn_backward(&st.bn, &relu_backward(&st.relu, &drelu));
        let cv = &net.convs()[i];
        dh = conv_backward(
            cv,
            &st.input,
            net.weight(si, i),
            &da,
            &mut grad[net.range(i)],
        );
    }
    pass
}
