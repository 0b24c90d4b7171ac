// The scale-invariant SGD step for network weights (SPEC §2): gradient plus weight decay, the
// learning rate from the current norm (fixed ELR: η = η_eff‖w‖²), and on the fixed sphere the
// projection back to radius r. Norms are block reductions (f64 partial sums, one atomicAdd per
// block). Three launches on one stream: ‖w‖², the fused update (which also reduces ‖w'‖²), and
// the projection (fixed sphere only). Protocol codes as in isotropic.cu.

#define SI_THREADS 256
#define P_FIXED_LR 0
#define P_FIXED_ELR 1
#define P_FIXED_SPHERE 2

__device__ __forceinline__ double si_block_sum(double v) {
    __shared__ double part[SI_THREADS / 32];
    for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    if (lane == 0) part[warp] = v;
    __syncthreads();
    v = threadIdx.x < SI_THREADS / 32 ? part[threadIdx.x] : 0.0;
    if (warp == 0)
        for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
    return v;
}

extern "C" __global__ void si_norm_sq(const float* __restrict__ w, long long n,
                                      double* __restrict__ out) {
    double s = 0.0;
    for (long long i = blockIdx.x * (long long)SI_THREADS + threadIdx.x; i < n;
         i += (long long)gridDim.x * SI_THREADS) {
        double x = (double)w[i];
        s += x * x;
    }
    s = si_block_sum(s);
    if (threadIdx.x == 0) atomicAdd(out, s);
}

// norms[0] = ‖w‖² on entry (from si_norm_sq); norms[1] accumulates ‖w'‖².
extern "C" __global__ void si_step(float* __restrict__ w, const float* __restrict__ grad,
                                   long long n, int protocol, double first, double second,
                                   double* __restrict__ norms) {
    double eta, wd;
    if (protocol == P_FIXED_LR) {
        eta = first;
        wd = second;
    } else if (protocol == P_FIXED_ELR) {
        eta = first * norms[0];
        wd = second;
    } else {
        eta = first * second * second;
        wd = 0.0;
    }
    double s = 0.0;
    for (long long i = blockIdx.x * (long long)SI_THREADS + threadIdx.x; i < n;
         i += (long long)gridDim.x * SI_THREADS) {
        double x = (double)w[i];
        double y = x - eta * ((double)grad[i] + wd * x);
        float yf = (float)y;
        w[i] = yf;
        s += (double)yf * (double)yf;
    }
    s = si_block_sum(s);
    if (threadIdx.x == 0) atomicAdd(norms + 1, s);
}

extern "C" __global__ void si_project(float* __restrict__ w, long long n, double radius,
                                      const double* __restrict__ norms) {
    double f = radius / sqrt(norms[1]);
    for (long long i = blockIdx.x * (long long)SI_THREADS + threadIdx.x; i < n;
         i += (long long)gridDim.x * SI_THREADS)
        w[i] = (float)((double)w[i] * f);
}
