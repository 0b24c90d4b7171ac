// A network's mini-batches on the device (SPEC §7.2; the CPU's in networks/src/data/sampler.rs
// and dataset.rs): the i.i.d. indices of an iteration from the shared Philox stream, and the
// batch gathered from the training set kept on the device as raw pixels, normalised in the CPU's
// f64 expression and rounded to f32, so the device's batch is the CPU's bit for bit.
// Needs philox.cuh (prepended by src/cuda/sources.rs).

#define STREAM_BATCH_INDICES 3u

// Index j of iteration t: word j % 4 of Philox block j / 4 at counter (block, t, BatchIndices),
// mapped below n_items by multiply-shift, ⌊u·N / 2³²⌋.
extern "C" __global__ void batch_indices_u32(u32 k0, u32 k1, u64 iteration, u32 n_items,
                                             int batch, u32* __restrict__ out) {
    for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < batch; j += gridDim.x * blockDim.x) {
        u32x4 c;
        c.x0 = (u32)(j / 4);
        c.x1 = (u32)iteration;
        c.x2 = (u32)(iteration >> 32);
        c.x3 = STREAM_BATCH_INDICES;
        const u32x4 r = philox4x32_10(c, k0, k1);
        const int word = j % 4;
        const u32 u = word == 0 ? r.x0 : word == 1 ? r.x1 : word == 2 ? r.x2 : r.x3;
        out[j] = (u32)(((u64)u * (u64)n_items) >> 32);
    }
}

// x[c, j, ·] = f32(pixel · scale[c] − shift[c]) for item idx[j] of an NCHW u8 set (planes of
// `plane` values), and labels_out[j] = labels[idx[j]]. The batch is CNHW, as the layers take it.
// An index not below n_items reads nothing: its values are NaN (the pass's loss then is not
// finite, which the trainer reports) and its label 0.
extern "C" __global__ void gather_batch_f32(const unsigned char* __restrict__ pixels,
                                            const unsigned char* __restrict__ labels,
                                            int channels, long long plane,
                                            u32 n_items, const u32* __restrict__ idx, int nb,
                                            const double* __restrict__ scale,
                                            const double* __restrict__ shift,
                                            float* __restrict__ x,
                                            u32* __restrict__ labels_out) {
    const long long total = (long long)channels * nb * plane;
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x; e < total; e += stride) {
        const long long p = e % plane;
        const long long cj = e / plane;
        const int j = (int)(cj % nb);
        const int c = (int)(cj / nb);
        const u32 item = idx[j];
        if (item >= n_items) {
            x[e] = __int_as_float(0x7fc00000);
            continue;
        }
        const long long src = ((long long)item * channels + c) * plane + p;
        x[e] = (float)((double)pixels[src] * scale[c] - shift[c]);
    }
    for (long long j = blockIdx.x * (long long)blockDim.x + threadIdx.x; j < nb; j += stride)
        labels_out[j] = idx[j] < n_items ? (u32)labels[idx[j]] : 0u;
}
