//! The two fully scale-invariant models of SPEC §7.1 behind one [`Network`] type: a flat
//! parameter vector holding the scale-invariant group (every convolution weight, nothing else) and
//! a separate frozen [`Head`] that is never trained.

pub mod convnet;
pub mod resnet18;

use thiserror::Error;

use crate::layers::batchnorm::BN_EPS;
use crate::layers::{
    BnMode, BnStats, Conv, HeadOut, cross_entropy, linear_backward, linear_forward,
};
use crate::real::Real;
use crate::tensor::Act;
use crate::{par, scratch};

/// Which model, with its width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Architecture {
    /// ConvNet(c) of Kodryan et al. (2022): four conv–BN–ReLU stages, channels c, 2c, 4c, 8c.
    ConvNet {
        /// Width c.
        c: usize,
    },
    /// Pre-activation ResNet-18(k): channels k, 2k, 4k, 8k, blocks [2, 2, 2, 2].
    ResNet18 {
        /// Width k.
        k: usize,
    },
}

impl Architecture {
    /// The convolutions in parameter-vector order, for `in_channels` input channels.
    pub fn convs(&self, in_channels: usize) -> Vec<Conv> {
        match *self {
            Architecture::ConvNet { c } => convnet::convs(c, in_channels),
            Architecture::ResNet18 { k } => resnet18::convs(k, in_channels),
        }
    }

    /// Width of the head's input (8c or 8k).
    pub fn features(&self) -> usize {
        match *self {
            Architecture::ConvNet { c } => 8 * c,
            Architecture::ResNet18 { k } => 8 * k,
        }
    }

    /// Whether the frozen head has a bias (the ConvNet's does, the ResNet's does not).
    pub fn head_bias(&self) -> bool {
        matches!(self, Architecture::ConvNet { .. })
    }

    /// `dim`: the size of the scale-invariant group.
    pub fn dim(&self, in_channels: usize) -> usize {
        self.convs(in_channels).iter().map(Conv::size).sum()
    }
}

/// Input side length both models expect: 32 (CIFAR; MNIST-family images are zero-padded from 28,
/// see `data`). Three 2× reductions and a final 4× pool then leave 1×1.
pub const INPUT_SIZE: usize = 32;

/// The frozen final layer: weight `[classes, features]` row-major and an optional bias.
#[derive(Clone, Debug, PartialEq)]
pub struct Head<T> {
    /// Weight, `classes × features`.
    pub weight: Vec<T>,
    /// Bias (`classes` values) or empty.
    pub bias: Vec<T>,
    /// Classes.
    pub classes: usize,
}

/// A call that does not fit the network.
#[derive(Debug, Error, PartialEq)]
pub enum NetError {
    /// Wrong number of scale-invariant parameters.
    #[error("expected {expected} scale-invariant parameters, got {found}")]
    ParamCount {
        /// `dim`.
        expected: usize,
        /// What was passed.
        found: usize,
    },
    /// The input batch has the wrong shape.
    #[error("input batch is {c}×{h}×{w}, the network expects {in_channels}×{size}×{size}")]
    InputShape {
        /// Channels passed.
        c: usize,
        /// Height passed.
        h: usize,
        /// Width passed.
        w: usize,
        /// Channels expected.
        in_channels: usize,
        /// Side expected.
        size: usize,
    },
    /// Labels do not match the batch.
    #[error("{labels} labels for a batch of {n}, or a label ≥ {classes} classes")]
    Labels {
        /// Labels passed.
        labels: usize,
        /// Batch size.
        n: usize,
        /// Classes.
        classes: usize,
    },
    /// The head does not fit the architecture.
    #[error(
        "head has {weights} weights and {bias} biases, expected {classes}×{features} and {expected_bias}"
    )]
    Head {
        /// Weights passed.
        weights: usize,
        /// Biases passed.
        bias: usize,
        /// Classes.
        classes: usize,
        /// Features.
        features: usize,
        /// Biases expected.
        expected_bias: usize,
    },
    /// An empty batch.
    #[error("empty batch")]
    EmptyBatch,
    /// Evaluation-mode statistics that do not fit the network.
    #[error(
        "{found} BatchNorm statistics given for the network's {expected} BatchNorm layers, or their channel counts differ"
    )]
    BnStats {
        /// BatchNorm layers.
        expected: usize,
        /// Statistics given.
        found: usize,
    },
}

/// What one forward pass gives: the mean cross-entropy and how many predictions were right.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Pass<T> {
    pub(crate) loss: T,
    pub(crate) correct: usize,
}

/// Samples whose largest logit is their label's (ties go to the lowest class). Logits are
/// class-major, `[classes, n]`.
pub(crate) fn correct<T: Real>(out: &HeadOut<T>, labels: &[u8]) -> usize {
    let n = out.n;
    labels
        .iter()
        .enumerate()
        .filter(|&(j, &label)| {
            let logit = |k: usize| out.logits[k * n + j];
            let best = (1..out.classes).fold(0, |b, k| if logit(k) > logit(b) { k } else { b });
            best == usize::from(label)
        })
        .count()
}

/// The frozen head on the pooled features `feat` (`[features, n]`): the pass's loss and
/// accuracy, and dL/dlogits for the backward pass.
pub(crate) fn head_forward<T: Real>(
    net: &Network<T>,
    feat: &Act<T>,
    labels: &[u8],
) -> (Pass<T>, HeadOut<T>) {
    let head = net.head();
    let out = linear_forward(&head.weight, &head.bias, &feat.data, feat.c, feat.n);
    let (loss, dlogits) = cross_entropy(&out, labels);
    let pass = Pass {
        loss,
        correct: correct(&out, labels),
    };
    (pass, dlogits)
}

/// dL/dfeat from dL/dlogits through the frozen head.
pub(crate) fn head_backward<T: Real>(
    net: &Network<T>,
    feat: &Act<T>,
    dlogits: &HeadOut<T>,
) -> Act<T> {
    feat.with_data(linear_backward(&net.head().weight, feat.c, dlogits))
}

/// Loss and accuracy of a batch in evaluation mode.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// Mean cross-entropy.
    pub loss: f64,
    /// Samples classified correctly.
    pub correct: usize,
    /// Samples.
    pub n: usize,
}

/// A model ready to evaluate: its architecture, input channels, frozen head and BatchNorm ε.
#[derive(Clone, Debug)]
pub struct Network<T> {
    arch: Architecture,
    in_channels: usize,
    convs: Vec<Conv>,
    offsets: Vec<usize>,
    head: Head<T>,
    eps: T,
}

impl<T: Real> Network<T> {
    /// A network with this frozen head and PyTorch's BatchNorm ε (1e-5).
    pub fn new(arch: Architecture, in_channels: usize, head: Head<T>) -> Result<Self, NetError> {
        let features = arch.features();
        let expected_bias = if arch.head_bias() { head.classes } else { 0 };
        if head.weight.len() != head.classes * features
            || head.bias.len() != expected_bias
            || head.classes == 0
        {
            return Err(NetError::Head {
                weights: head.weight.len(),
                bias: head.bias.len(),
                classes: head.classes,
                features,
                expected_bias,
            });
        }
        let convs = arch.convs(in_channels);
        let mut offsets = Vec::with_capacity(convs.len() + 1);
        offsets.push(0);
        for cv in &convs {
            offsets.push(offsets.last().copied().unwrap_or(0) + cv.size());
        }
        Ok(Self {
            arch,
            in_channels,
            convs,
            offsets,
            head,
            eps: T::from_f64(BN_EPS),
        })
    }

    /// Initial weights as in SPEC §7.1 from [`crate::init`]: the scale-invariant group at norm
    /// `si_norm` (seed `init_seed`), the head at norm `head_norm` (seed `head_seed`; the paper uses
    /// 4).
    pub fn initial(
        arch: Architecture,
        in_channels: usize,
        classes: usize,
        init_seed: u64,
        head_seed: u64,
        si_norm: f64,
        head_norm: f64,
    ) -> Result<(Self, Vec<T>), NetError> {
        let (w, b) = crate::init::init_head(
            arch.features(),
            classes,
            arch.head_bias(),
            head_seed,
            head_norm,
        );
        let head = Head {
            weight: w.into_iter().map(T::from_f64).collect(),
            bias: b.into_iter().map(T::from_f64).collect(),
            classes,
        };
        let net = Self::new(arch, in_channels, head)?;
        let si = crate::init::init_si(&net.convs, init_seed, si_norm)
            .into_iter()
            .map(T::from_f64)
            .collect();
        Ok((net, si))
    }

    /// The same network with BatchNorm ε `eps` (0 makes scale invariance exact; tests use it).
    pub fn with_bn_eps(mut self, eps: f64) -> Self {
        self.eps = T::from_f64(eps);
        self
    }

    /// Architecture.
    pub fn arch(&self) -> Architecture {
        self.arch
    }

    /// Input channels.
    pub fn in_channels(&self) -> usize {
        self.in_channels
    }

    /// Classes.
    pub fn classes(&self) -> usize {
        self.head.classes
    }

    /// The frozen head.
    pub fn head(&self) -> &Head<T> {
        &self.head
    }

    /// The convolutions, in parameter-vector order.
    pub fn convs(&self) -> &[Conv] {
        &self.convs
    }

    /// `dim`: the size of the scale-invariant group.
    pub fn dim(&self) -> usize {
        self.offsets.last().copied().unwrap_or(0)
    }

    /// The slice of `si` holding convolution `i`'s weight.
    pub(crate) fn weight<'a>(&self, si: &'a [T], i: usize) -> &'a [T] {
        &si[self.offsets[i]..self.offsets[i + 1]]
    }

    /// The range of convolution `i`'s weight in the flat vector.
    pub(crate) fn range(&self, i: usize) -> std::ops::Range<usize> {
        self.offsets[i]..self.offsets[i + 1]
    }

    pub(crate) fn eps(&self) -> T {
        self.eps
    }

    fn check(&self, si: &[T], x: &Act<T>, labels: &[u8]) -> Result<(), NetError> {
        if si.len() != self.dim() {
            return Err(NetError::ParamCount {
                expected: self.dim(),
                found: si.len(),
            });
        }
        if x.c != self.in_channels || x.h != INPUT_SIZE || x.w != INPUT_SIZE {
            return Err(NetError::InputShape {
                c: x.c,
                h: x.h,
                w: x.w,
                in_channels: self.in_channels,
                size: INPUT_SIZE,
            });
        }
        if x.n == 0 {
            return Err(NetError::EmptyBatch);
        }
        if labels.len() != x.n || labels.iter().any(|&l| usize::from(l) >= self.head.classes) {
            return Err(NetError::Labels {
                labels: labels.len(),
                n: x.n,
                classes: self.head.classes,
            });
        }
        Ok(())
    }

    /// Number of BatchNorm layers, in forward order: ConvNet 4; ResNet-18 20 (two per block, one
    /// on each of the three downsampling shortcuts, the final one).
    pub fn bn_layers(&self) -> usize {
        match self.arch {
            Architecture::ConvNet { .. } => 4,
            Architecture::ResNet18 { .. } => 20,
        }
    }

    fn pass(
        &self,
        si: &[T],
        x: &Act<T>,
        labels: &[u8],
        grad: Option<&mut [T]>,
        bn: &mut BnMode<'_>,
    ) -> Pass<T> {
        let run = || {
            scratch::in_pass(|| match self.arch {
                Architecture::ConvNet { .. } => convnet::run(self, si, x, labels, grad, bn),
                Architecture::ResNet18 { .. } => resnet18::run(self, si, x, labels, grad, bn),
            })
        };
        // Called from outside a rayon pool (a plain loop over `Trainer::step`), the pass moves to
        // a pool thread once, so that each of its hundreds of splits is a cheap local join
        // instead of a wake-up of sleeping workers (that alone cost a third of a step).
        if par::is_serial() || rayon::current_thread_index().is_some() {
            run()
        } else {
            rayon::scope(|_| run())
        }
    }

    /// Mean cross-entropy of the batch (BatchNorm in training mode: batch statistics).
    pub fn loss(&self, si: &[T], x: &Act<T>, labels: &[u8]) -> Result<T, NetError> {
        self.check(si, x, labels)?;
        Ok(self.pass(si, x, labels, None, &mut BnMode::Batch).loss)
    }

    /// Loss and accuracy in evaluation mode: every BatchNorm layer normalises by `stats` (one
    /// entry per layer in forward order, e.g. a trainer's running averages), so each sample's
    /// output is independent of the rest of the batch.
    pub fn evaluate(
        &self,
        si: &[T],
        x: &Act<T>,
        labels: &[u8],
        stats: &[BnStats],
    ) -> Result<Evaluation, NetError> {
        self.check(si, x, labels)?;
        if stats.len() != self.bn_layers() {
            return Err(NetError::BnStats {
                expected: self.bn_layers(),
                found: stats.len(),
            });
        }
        let mut mode = BnMode::Fixed {
            stats,
            next: 0,
            mismatch: false,
        };
        let pass = self.pass(si, x, labels, None, &mut mode);
        if let BnMode::Fixed { mismatch: true, .. } = mode {
            return Err(NetError::BnStats {
                expected: self.bn_layers(),
                found: stats.len(),
            });
        }
        Ok(Evaluation {
            loss: pass.loss.to_f64(),
            correct: pass.correct,
            n: x.n,
        })
    }

    /// Mean cross-entropy and its gradient with respect to the scale-invariant group, written into
    /// `grad` (length `dim`, overwritten).
    pub fn loss_grad(
        &self,
        si: &[T],
        x: &Act<T>,
        labels: &[u8],
        grad: &mut [T],
    ) -> Result<T, NetError> {
        self.loss_grad_with(si, x, labels, grad, &mut BnMode::Batch)
    }

    /// [`Network::loss_grad`] that also appends each BatchNorm layer's batch statistics to
    /// `record`, in forward order (what running averages are built from).
    pub fn loss_grad_recording(
        &self,
        si: &[T],
        x: &Act<T>,
        labels: &[u8],
        grad: &mut [T],
        record: &mut Vec<BnStats>,
    ) -> Result<T, NetError> {
        self.loss_grad_with(si, x, labels, grad, &mut BnMode::Record(record))
    }

    fn loss_grad_with(
        &self,
        si: &[T],
        x: &Act<T>,
        labels: &[u8],
        grad: &mut [T],
        bn: &mut BnMode<'_>,
    ) -> Result<T, NetError> {
        self.check(si, x, labels)?;
        if grad.len() != self.dim() {
            return Err(NetError::ParamCount {
                expected: self.dim(),
                found: grad.len(),
            });
        }
        Ok(self.pass(si, x, labels, Some(grad), bn).loss)
    }
}
