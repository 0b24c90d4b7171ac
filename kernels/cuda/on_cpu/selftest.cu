// Kernels that test the CPU execution of CUDA itself (tests/cuda_on_cpu.rs), compiled only for
// the CPU: a shared-memory reduction with its barriers and the same reduction with one barrier
// removed (which the schedules must expose), warp exchanges and votes, atomics across blocks,
// a divergent barrier, and a write past the end of a buffer.

#define ST_THREADS 128

// Sum of a block's 128 inputs by a shared-memory tree, written by thread 0.
extern "C" __global__ void st_block_sum(const float* __restrict__ x, float* __restrict__ out) {
    __shared__ float part[ST_THREADS];
    const int t = threadIdx.x;
    part[t] = x[blockIdx.x * ST_THREADS + t];
    __syncthreads();
    for (int half = ST_THREADS / 2; half > 0; half /= 2) {
        if (t < half) part[t] += part[t + half];
        __syncthreads();
    }
    if (t == 0) out[blockIdx.x] = part[0];
}

// The same with the barrier after the loads removed: thread t reads part[t + half] before
// thread t + half may have written it.
extern "C" __global__ void st_block_sum_racy(const float* __restrict__ x,
                                             float* __restrict__ out) {
    __shared__ float part[ST_THREADS];
    const int t = threadIdx.x;
    part[t] = x[blockIdx.x * ST_THREADS + t];
    for (int half = ST_THREADS / 2; half > 0; half /= 2) {
        if (t < half) part[t] += part[t + half];
        __syncthreads();
    }
    if (t == 0) out[blockIdx.x] = part[0];
}

// Per warp: the sum by __shfl_down_sync, the maximum by __shfl_xor_sync, lane 0's value by
// __shfl_sync, the previous lane's value by __shfl_up_sync, and the ballot of odd values.
extern "C" __global__ void st_warp_ops(const int* __restrict__ x, int* __restrict__ out) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    const int lane = threadIdx.x % 32;
    int v = x[i];
    int sum = v;
    for (int off = 16; off > 0; off >>= 1) sum += __shfl_down_sync(0xffffffffu, sum, off);
    int mx = v;
    for (int m = 16; m > 0; m >>= 1) mx = max(mx, __shfl_xor_sync(0xffffffffu, mx, m));
    int first = __shfl_sync(0xffffffffu, v, 0);
    int prev = __shfl_up_sync(0xffffffffu, v, 1);
    unsigned odd = __ballot_sync(0xffffffffu, v & 1);
    int all_pos = __all_sync(0xffffffffu, v > 0);
    int any_big = __any_sync(0xffffffffu, v > 1000);
    out[5 * i + 0] = lane == 0 ? sum : 0;
    out[5 * i + 1] = mx;
    out[5 * i + 2] = first + prev;
    out[5 * i + 3] = (int)odd;
    out[5 * i + 4] = all_pos + 2 * any_big;
}

// Every thread adds, minimises and maximises into three counters, and counts itself by CAS.
extern "C" __global__ void st_atomics(const int* __restrict__ x, unsigned long long* __restrict__ sum,
                                      int* __restrict__ lo, int* __restrict__ hi,
                                      unsigned* __restrict__ count, double* __restrict__ fsum) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    atomicAdd(sum, (unsigned long long)x[i]);
    atomicMin(lo, x[i]);
    atomicMax(hi, x[i]);
    atomicAdd(fsum, 0.5 * x[i]);
    unsigned old = *count, seen;
    while ((seen = atomicCAS(count, old, old + 1)) != old) old = seen;
}

// Odd and even threads wait at different barriers: undefined on a GPU, an error here.
extern "C" __global__ void st_divergent_barrier(int* __restrict__ out) {
    if (threadIdx.x % 2) {
        __syncthreads();
    } else {
        __syncthreads();
    }
    out[threadIdx.x] = 1;
}

// Writes one element past the end of `out` (n elements).
extern "C" __global__ void st_out_of_bounds(int* __restrict__ out, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i <= n) out[i] = i;
}
