// Nearest-neighbour screening for the entropy estimator (SPEC §6, §16.9): squared distances
// ‖a‖² + ‖b‖² − 2a·b of f32 rows, tiled in shared memory, with the row minimum fused in so the
// N×N matrix never exists. Dot products are f32 fused multiply-adds within each chunk of NN_KC
// coordinates, the chunks summed in f64, so the rounding error grows with NN_KC, not with m. Every approximate value d̃ carries a rigorous bound e (computed by the
// host's formula, see src/cuda/nearest.rs) on |d̃ − d|, d the exact f64 distance of the original
// rows. Pass 1 (`nn_upper`) takes upper_i = min_j (d̃ + e); pass 2 (`nn_candidates`) lists every j
// with d̃ − e <= upper_i. The true nearest neighbour is always listed, and the host re-checks the
// list in f64 with the CPU's own distance function, so results equal the CPU engines' bit for bit.

#define NN_TILE 64
#define NN_KC 16
#define NN_THREADS 256

typedef unsigned int u32;

// The 64×64 tile of dot products of rows i0.. with rows j0.., each thread holding a 4×4 block:
// per chunk of NN_KC coordinates a sequential f32 fma sum from zero, added to an f64 total.
__device__ __forceinline__ void nn_tile(const float* __restrict__ x, int n, int m, int i0,
                                        int j0, double acc[4][4]) {
    __shared__ float as[NN_KC][NN_TILE];
    __shared__ float bs[NN_KC][NN_TILE];
    const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
#pragma unroll
    for (int r = 0; r < 4; ++r)
#pragma unroll
        for (int q = 0; q < 4; ++q) acc[r][q] = 0.0;
    for (int k0 = 0; k0 < m; k0 += NN_KC) {
        for (int e = threadIdx.x; e < NN_KC * NN_TILE; e += NN_THREADS) {
            int row = e / NN_KC, kk = e % NN_KC;
            int k = k0 + kk;
            int ia = i0 + row, jb = j0 + row;
            as[kk][row] = (ia < n && k < m) ? x[(size_t)ia * m + k] : 0.0f;
            bs[kk][row] = (jb < n && k < m) ? x[(size_t)jb * m + k] : 0.0f;
        }
        __syncthreads();
        float part[4][4];
#pragma unroll
        for (int r = 0; r < 4; ++r)
#pragma unroll
            for (int q = 0; q < 4; ++q) part[r][q] = 0.0f;
#pragma unroll
        for (int kk = 0; kk < NN_KC; ++kk) {
            float a[4], b[4];
#pragma unroll
            for (int r = 0; r < 4; ++r) a[r] = as[kk][ty * 4 + r];
#pragma unroll
            for (int q = 0; q < 4; ++q) b[q] = bs[kk][tx * 4 + q];
#pragma unroll
            for (int r = 0; r < 4; ++r)
#pragma unroll
                for (int q = 0; q < 4; ++q) part[r][q] = fmaf(a[r], b[q], part[r][q]);
        }
#pragma unroll
        for (int r = 0; r < 4; ++r)
#pragma unroll
            for (int q = 0; q < 4; ++q) acc[r][q] += (double)part[r][q];
        __syncthreads();
    }
}

// Approximate squared distance and its bound for the pair (i, j).
__device__ __forceinline__ void nn_pair(const double* __restrict__ norms, double dotv, int i,
                                        int j, double rel, double* approx, double* err) {
    double na = norms[i], nb = norms[j];
    *approx = na + nb - 2.0 * dotv;
    *err = rel * (na + nb);
}

extern "C" __global__ void nn_upper(const float* __restrict__ x, const double* __restrict__ norms,
                                    int n, int m, double rel, u32* __restrict__ upper_bits) {
    const int i0 = blockIdx.y * NN_TILE, j0 = blockIdx.x * NN_TILE;
    double acc[4][4];
    nn_tile(x, n, m, i0, j0, acc);
    const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
#pragma unroll
    for (int r = 0; r < 4; ++r) {
        int i = i0 + ty * 4 + r;
        if (i >= n) continue;
        float best = __int_as_float(0x7f800000);
#pragma unroll
        for (int q = 0; q < 4; ++q) {
            int j = j0 + tx * 4 + q;
            if (j >= n || j == i) continue;
            double d, e;
            nn_pair(norms, acc[r][q], i, j, rel, &d, &e);
            float up = __double2float_ru(fmax(d + e, 0.0));
            best = fminf(best, up);
        }
        // Non-negative floats order like their bit patterns.
        atomicMin(upper_bits + i, __float_as_uint(best));
    }
}

extern "C" __global__ void nn_candidates(const float* __restrict__ x,
                                         const double* __restrict__ norms, int n, int m,
                                         double rel, const u32* __restrict__ upper_bits,
                                         u32* __restrict__ count, u32 capacity,
                                         u32* __restrict__ pairs) {
    const int i0 = blockIdx.y * NN_TILE, j0 = blockIdx.x * NN_TILE;
    double acc[4][4];
    nn_tile(x, n, m, i0, j0, acc);
    const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
#pragma unroll
    for (int r = 0; r < 4; ++r) {
        int i = i0 + ty * 4 + r;
        if (i >= n) continue;
        double up = (double)__uint_as_float(upper_bits[i]);
#pragma unroll
        for (int q = 0; q < 4; ++q) {
            int j = j0 + tx * 4 + q;
            if (j >= n || j == i) continue;
            double d, e;
            nn_pair(norms, acc[r][q], i, j, rel, &d, &e);
            if (d - e <= up) {
                u32 slot = atomicAdd(count, 1u);
                if (slot < capacity) {
                    pairs[2 * (size_t)slot] = (u32)i;
                    pairs[2 * (size_t)slot + 1] = (u32)j;
                }
            }
        }
    }
}
