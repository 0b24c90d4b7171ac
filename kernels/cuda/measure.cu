// The f64 reductions of a network's gradient measurement (SPEC §7.3; the CPU's in
// networks/src/train/measure.rs): the full-batch gradient accumulated chunk by chunk in f64
// (y += alpha·x, the CPU's per-element expression), its squared norm, and the squared distance
// of a fresh mini-batch gradient from it. Sums are block trees in shared memory with one
// atomicAdd per block, so their order differs from the CPU's by f64 rounding only.

#define MS_THREADS 256

__device__ __forceinline__ double ms_block_sum(double v) {
    __shared__ double part[MS_THREADS];
    part[threadIdx.x] = v;
    __syncthreads();
    for (int half = MS_THREADS / 2; half > 0; half >>= 1) {
        if ((int)threadIdx.x < half) part[threadIdx.x] += part[threadIdx.x + half];
        __syncthreads();
    }
    return part[0];
}

// y[i] += (double)x[i] * alpha.
extern "C" __global__ void axpy_f64(long long n, double alpha, const float* __restrict__ x,
                                    double* __restrict__ y) {
    for (long long i = blockIdx.x * (long long)MS_THREADS + threadIdx.x; i < n;
         i += (long long)gridDim.x * MS_THREADS)
        y[i] += (double)x[i] * alpha;
}

// out[0] += Σ y².
extern "C" __global__ void norm_sq_f64(long long n, const double* __restrict__ y,
                                       double* __restrict__ out) {
    double s = 0.0;
    for (long long i = blockIdx.x * (long long)MS_THREADS + threadIdx.x; i < n;
         i += (long long)gridDim.x * MS_THREADS)
        s += y[i] * y[i];
    s = ms_block_sum(s);
    if (threadIdx.x == 0) atomicAdd(out, s);
}

// out[0] += Σ ((double)x − y)².
extern "C" __global__ void sq_distance_f64(long long n, const float* __restrict__ x,
                                           const double* __restrict__ y,
                                           double* __restrict__ out) {
    double s = 0.0;
    for (long long i = blockIdx.x * (long long)MS_THREADS + threadIdx.x; i < n;
         i += (long long)gridDim.x * MS_THREADS) {
        double d = (double)x[i] - y[i];
        s += d * d;
    }
    s = ms_block_sum(s);
    if (threadIdx.x == 0) atomicAdd(out, s);
}
