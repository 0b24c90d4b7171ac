// The scale-invariant SGD step on the networks' weights (SPEC §2), with the arithmetic of the CPU
// trainer (networks/src/train/protocol.rs, apply_update): the learning rate and weight decay from
// the protocol (fixed ELR: η = η_eff·‖w‖·‖w‖ with ‖w‖ the f64 norm), then per weight in f32
// w ← f32(1 − ηλ)·w − f32(η)·g, and on the fixed sphere the rescaling w ← f32(r/‖w̃‖)·w. The
// weights may be split over several buffers (one per convolution): each kernel runs once per
// buffer and the norms accumulate over all of them in norms[] (f64 block sums, one atomicAdd per
// block): norms[0] = ‖w‖², norms[1] = ‖w̃‖² after the step, norms[2] = ‖w‖² after projection.

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

// out[0] += Σ w².
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

// The step's learning rate and weight decay, as apply_update computes them.
__device__ __forceinline__ void si_rates(int protocol, double first, double second,
                                         const double* norms, double* lr, double* wd) {
    if (protocol == P_FIXED_LR) {
        *lr = first;
        *wd = second;
    } else if (protocol == P_FIXED_ELR) {
        double nrm = sqrt(norms[0]);
        *lr = first * nrm * nrm;
        *wd = second;
    } else {
        *lr = first * second * second;
        *wd = 0.0;
    }
}

// w ← f32(1 − ηλ)·w − f32(η)·g; norms[1] += Σ w'² (needs norms[0] complete).
extern "C" __global__ void si_step(float* __restrict__ w, const float* __restrict__ grad,
                                   long long n, int protocol, double first, double second,
                                   double* __restrict__ norms) {
    double lr, wd;
    si_rates(protocol, first, second, norms, &lr, &wd);
    const float shrink = (float)(1.0 - lr * wd), lr_t = (float)lr;
    double s = 0.0;
    for (long long i = blockIdx.x * (long long)SI_THREADS + threadIdx.x; i < n;
         i += (long long)gridDim.x * SI_THREADS) {
        float y = shrink * w[i] - lr_t * grad[i];
        w[i] = y;
        s += (double)y * (double)y;
    }
    s = si_block_sum(s);
    if (threadIdx.x == 0) atomicAdd(norms + 1, s);
}

// w ← f32(r/‖w̃‖)·w when ‖w̃‖ > 0; norms[2] += Σ w''² (needs norms[1] complete).
extern "C" __global__ void si_project(float* __restrict__ w, long long n, double radius,
                                      double* __restrict__ norms) {
    const double pre = sqrt(norms[1]);
    const float f = pre > 0.0 ? (float)(radius / pre) : 1.0f;
    double s = 0.0;
    for (long long i = blockIdx.x * (long long)SI_THREADS + threadIdx.x; i < n;
         i += (long long)gridDim.x * SI_THREADS) {
        float y = pre > 0.0 ? w[i] * f : w[i];
        w[i] = y;
        s += (double)y * (double)y;
    }
    s = si_block_sum(s);
    if (threadIdx.x == 0) atomicAdd(norms + 2, s);
}
