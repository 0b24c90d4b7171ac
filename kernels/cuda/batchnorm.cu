// BatchNorm without affine parameters in training mode for the networks (networks/src/layers/
// batchnorm.rs), one block per channel of a CNHW tensor (m = N·H·W values per channel): statistics
// summed in f64 by a shared-memory tree, then the CPU's f32 arithmetic per element:
// forward y = (x − μ)·s with s = f32(1/√(σ² + ε)), backward dx = s·(dy − mean(dy) − y·mean(dy·y)).
// The f64 sums differ from the CPU's only in their order (relative 1e-16), so μ, s and the means
// round to the same f32 values except at rounding boundaries; src/cuda/tensor.rs gives the bound.

#define BN_THREADS 256

// The sum of every thread's `v` over the block (all threads call it; `part` is the block's).
__device__ __forceinline__ double bn_block_sum(double v, double* part) {
    part[threadIdx.x] = v;
    __syncthreads();
    for (int half = BN_THREADS / 2; half > 0; half >>= 1) {
        if ((int)threadIdx.x < half) part[threadIdx.x] += part[threadIdx.x + half];
        __syncthreads();
    }
    double total = part[0];
    __syncthreads();
    return total;
}

// mean and var: the batch statistics per channel (f64, biased variance); inv_std: s per channel.
extern "C" __global__ void bn_forward_f32(const float* __restrict__ x, long long m, double eps,
                                          float* __restrict__ y, float* __restrict__ inv_std,
                                          double* __restrict__ mean_out,
                                          double* __restrict__ var_out) {
    __shared__ double part[BN_THREADS];
    const size_t base = (size_t)blockIdx.x * (size_t)m;
    const double inv_m = 1.0 / (double)m;
    double s = 0.0;
    for (long long i = threadIdx.x; i < m; i += BN_THREADS) s += (double)x[base + i];
    const double mean = bn_block_sum(s, part) * inv_m;
    double v = 0.0;
    for (long long i = threadIdx.x; i < m; i += BN_THREADS) {
        double d = (double)x[base + i] - mean;
        v += d * d;
    }
    const double var = bn_block_sum(v, part) * inv_m;
    const float inv = (float)(1.0 / sqrt(var + eps));
    const float mean_f = (float)mean;
    for (long long i = threadIdx.x; i < m; i += BN_THREADS) y[base + i] = (x[base + i] - mean_f) * inv;
    if (threadIdx.x == 0) {
        inv_std[blockIdx.x] = inv;
        mean_out[blockIdx.x] = mean;
        var_out[blockIdx.x] = var;
    }
}

extern "C" __global__ void bn_backward_f32(const float* __restrict__ y,
                                           const float* __restrict__ dy,
                                           const float* __restrict__ inv_std, long long m,
                                           float* __restrict__ dx) {
    __shared__ double part[BN_THREADS];
    const size_t base = (size_t)blockIdx.x * (size_t)m;
    const double inv_m = 1.0 / (double)m;
    double s1 = 0.0, s2 = 0.0;
    for (long long i = threadIdx.x; i < m; i += BN_THREADS) {
        double g = (double)dy[base + i];
        s1 += g;
        s2 += g * (double)y[base + i];
    }
    const float mean_dy = (float)(bn_block_sum(s1, part) * inv_m);
    const float mean_dyy = (float)(bn_block_sum(s2, part) * inv_m);
    const float s = inv_std[blockIdx.x];
    for (long long i = threadIdx.x; i < m; i += BN_THREADS) {
        float g = dy[base + i], yv = y[base + i];
        dx[base + i] = s * (g - mean_dy - yv * mean_dyy);
    }
}

// Evaluation mode: each channel normalised by given statistics (PyTorch's running mean and
// variance), y = (x − f32(μ))·s with s = f32(1/√(σ² + ε)), the CPU's bn_apply.
extern "C" __global__ void bn_apply_f32(const float* __restrict__ x, long long m, double eps,
                                        const double* __restrict__ mean,
                                        const double* __restrict__ var,
                                        float* __restrict__ y, float* __restrict__ inv_std) {
    const size_t base = (size_t)blockIdx.x * (size_t)m;
    const float inv = (float)(1.0 / sqrt(var[blockIdx.x] + eps));
    const float mean_f = (float)mean[blockIdx.x];
    for (long long i = threadIdx.x; i < m; i += blockDim.x) y[base + i] = (x[base + i] - mean_f) * inv;
    if (threadIdx.x == 0) inv_std[blockIdx.x] = inv;
}

// PyTorch's running statistics after one training-mode pass: r ← (1 − m)·r + m·b per channel,
// the variance's batch value made unbiased by `unbias` = count/(count − 1) (the CPU trainer's).
extern "C" __global__ void bn_running_f64(int channels, double momentum, double unbias,
                                          const double* __restrict__ batch_mean,
                                          const double* __restrict__ batch_var,
                                          double* __restrict__ run_mean,
                                          double* __restrict__ run_var) {
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < channels; c += gridDim.x * blockDim.x) {
        run_mean[c] = (1.0 - momentum) * run_mean[c] + momentum * batch_mean[c];
        run_var[c] = (1.0 - momentum) * run_var[c] + momentum * batch_var[c] * unbias;
    }
}
