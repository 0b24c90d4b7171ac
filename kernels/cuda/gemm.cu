// Row-major f32 matrix products for the networks' convolutions and head (SPEC §7.1–7.2):
// C = A'·B' + beta·C with A' (m×k) = A or Aᵀ (then A is stored k×m), B' (k×n) = B or Bᵀ (B stored
// n×k), C m×n. One 64×64 tile of C per block, 256 threads each holding a 4×4 block; k runs in
// chunks of 16 staged through shared memory. Each element is a sequential f32 fused multiply-add
// sum in k order (|error| ≤ γ_k Σ|a||b|, the bound src/cuda/tensor.rs states); beta = 0 never
// reads C.

#define GM_TILE 64
#define GM_KC 16
#define GM_THREADS 256

extern "C" __global__ void gemm_f32(int m, int n, int k, const float* __restrict__ a, int trans_a,
                                    const float* __restrict__ b, int trans_b, float beta,
                                    float* __restrict__ c) {
    __shared__ float as[GM_KC][GM_TILE];
    __shared__ float bs[GM_KC][GM_TILE];
    const int i0 = blockIdx.y * GM_TILE, j0 = blockIdx.x * GM_TILE;
    const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    float acc[4][4];
#pragma unroll
    for (int r = 0; r < 4; ++r)
#pragma unroll
        for (int q = 0; q < 4; ++q) acc[r][q] = 0.0f;
    for (int k0 = 0; k0 < k; k0 += GM_KC) {
        for (int e = threadIdx.x; e < GM_KC * GM_TILE; e += GM_THREADS) {
            int row = e / GM_KC, kk = e % GM_KC;
            int kg = k0 + kk, ia = i0 + row, jb = j0 + row;
            float va = 0.0f, vb = 0.0f;
            if (ia < m && kg < k) va = trans_a ? a[(size_t)kg * m + ia] : a[(size_t)ia * k + kg];
            if (jb < n && kg < k) vb = trans_b ? b[(size_t)jb * k + kg] : b[(size_t)kg * n + jb];
            as[kk][row] = va;
            bs[kk][row] = vb;
        }
        __syncthreads();
        const int kn = k - k0 < GM_KC ? k - k0 : GM_KC;
        for (int kk = 0; kk < kn; ++kk) {
            float av[4], bv[4];
#pragma unroll
            for (int r = 0; r < 4; ++r) av[r] = as[kk][ty * 4 + r];
#pragma unroll
            for (int q = 0; q < 4; ++q) bv[q] = bs[kk][tx * 4 + q];
#pragma unroll
            for (int r = 0; r < 4; ++r)
#pragma unroll
                for (int q = 0; q < 4; ++q) acc[r][q] = fmaf(av[r], bv[q], acc[r][q]);
        }
        __syncthreads();
    }
#pragma unroll
    for (int r = 0; r < 4; ++r) {
        int i = i0 + ty * 4 + r;
        if (i >= m) continue;
#pragma unroll
        for (int q = 0; q < 4; ++q) {
            int j = j0 + tx * 4 + q;
            if (j >= n) continue;
            size_t at = (size_t)i * n + j;
            c[at] = beta == 0.0f ? acc[r][q] : acc[r][q] + beta * c[at];
        }
    }
}
