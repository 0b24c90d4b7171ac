//! The layers the two models need, each a pair of pure functions (forward, backward) over
//! [`Act`](crate::Act) tensors, so that each can be checked against finite differences alone.

pub mod batchnorm;
pub mod conv;
pub mod head;
pub mod pool;
pub mod relu;

pub use batchnorm::{
    BnCache, BnMode, BnStats, bn_apply, bn_backward, bn_forward, bn_forward_stats,
};
pub use conv::{Conv, conv_backward, conv_forward};
pub use head::{HeadOut, cross_entropy, linear_backward, linear_forward};
pub use pool::{avgpool_backward, avgpool_forward, maxpool_backward, maxpool_forward};
pub use relu::{relu_backward, relu_forward};
