//! Fully scale-invariant neural networks for thermosweep's `convnet` and `resnet18` workloads
//! (SPEC §7): the data they train on, the layers with hand-written backward passes, and the two
//! models with a flat scale-invariant parameter vector and a frozen head.
//!
//! Activations are stored channel-major, `[C, N, H, W]` ("CNHW"): a convolution is then one GEMM
//! over the whole batch whose output is already in that layout, and BatchNorm's per-channel
//! statistics read contiguous memory.
//!
//! Public API in one place:
//! * [`data`]: [`data::Dataset`] (`mnist_family`, `cifar`, `batch`), [`data::BatchSampler`],
//!   [`data::DataError`], the IDX and CIFAR codecs and the normalisation constants;
//! * [`models`]: [`Architecture`] (`ConvNet { c }`, `ResNet18 { k }`, `dim`), [`Network`]
//!   (`initial`, `new`, `loss`, `loss_grad`, `dim`, `head`), [`Head`];
//! * [`train`]: [`train::Update`] (the three protocols), [`train::apply_update`],
//!   [`train::Trainer`] (`step`, `track_running_stats`, `absorb_running_stats`),
//!   [`train::gradient_statistics`] → [`train::GradStats`] (`trace_sigma`), and
//!   [`train::gradient_statistics_recording`] with the passes' BatchNorm statistics;
//! * [`sweep`]: [`sweep::NetworkBatch`] and [`sweep::run_network`], a task of a network sweep
//!   returning the same per-point summaries as the isotropic chains;
//! * [`layers`]: each layer's forward and backward, [`real::Real`] (f32 / f64) and [`gemm::gemm`];
//! * `device` (feature `cuda`): the layers on a CUDA device (a GPU, or the CPU execution of the
//!   same kernels), checked against the CPU layers;
//! * [`par`]: how one step splits over the rayon pool (bitwise independent of the thread count)
//!   and [`par::serial`] to keep a step on one thread; [`scratch`]: the reused im2col buffer.

pub mod data;
#[cfg(feature = "cuda")]
pub mod device;
pub mod gemm;
pub mod init;
pub mod layers;
pub mod models;
pub mod par;
pub mod real;
pub mod scratch;
pub mod sweep;
pub mod tensor;
pub mod train;

pub use models::{Architecture, Evaluation, Head, Network};
pub use real::Real;
pub use tensor::Act;
