// The kernel source files, each with the headers prepended to it before it is compiled (NVRTC
// has no include path here, so a translation unit is these texts in this order). One table for
// both compilers: src/cuda/sources.rs builds NVRTC's input from it, and build.rs the g++ input
// of the CPU execution (cuda-on-cpu). A file added here is compiled by both, and its kernels
// must then have execution tests (tests/cuda_on_cpu.rs fails until they do).

/// `(file, headers prepended)` for every kernel source under `kernels/cuda/`.
pub const MODULES: &[(&str, &[&str])] = &[
    ("isotropic.cu", &["philox.cuh"]),
    ("nearest.cu", &[]),
    ("si_update.cu", &[]),
    ("gemm.cu", &[]),
    ("im2col.cu", &[]),
    ("batchnorm.cu", &[]),
    ("pointwise.cu", &[]),
    ("measure.cu", &[]),
    ("batch.cu", &["philox.cuh"]),
];
