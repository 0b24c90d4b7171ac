//! The numerical core of thermosweep.
//!
//! Modules:
//! * [`entropy`]: the spherical Kozachenko–Leonenko entropy estimator (SPEC §6, §16.1–2, §16.9).
//! * [`vmf_sampler`]: exact von Mises–Fisher sampling (Wood's algorithm), an oracle for the estimator.

pub mod entropy;
pub mod vmf_sampler;
