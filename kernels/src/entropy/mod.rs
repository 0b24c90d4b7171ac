//! Spherical Kozachenko–Leonenko entropy estimator (SPEC §6).
