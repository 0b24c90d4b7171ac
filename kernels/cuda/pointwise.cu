// The networks' element-wise and pooling layers (networks/src/layers/{relu,pool}.rs) and the
// softmax cross-entropy of the frozen head (layers/head.rs), in the CPU's layouts and arithmetic:
// ReLU and its gradient, non-overlapping max pooling with the CPU's argmax (the first maximum in
// window order, as a flat index into the input) and its gradient, and per sample the
// cross-entropy term and dL/dlogits. Grid-stride loops, one thread per output element.

struct PoolShape {
    long long planes;  // c·n
    int h, w, k;       // input height, width; window = stride = k (floor mode)
};

extern "C" __global__ void relu_forward_f32(long long n, const float* __restrict__ x,
                                            float* __restrict__ y) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

// dx = dy where the forward output y is positive.
extern "C" __global__ void relu_backward_f32(long long n, const float* __restrict__ y,
                                             const float* __restrict__ dy,
                                             float* __restrict__ dx) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x)
        dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

extern "C" __global__ void maxpool_forward_f32(PoolShape s, const float* __restrict__ x,
                                               float* __restrict__ y, unsigned* __restrict__ arg) {
    const int ho = s.h / s.k, wo = s.w / s.k;
    const long long total = s.planes * ho * wo;
    for (long long o = blockIdx.x * (long long)blockDim.x + threadIdx.x; o < total;
         o += (long long)gridDim.x * blockDim.x) {
        long long p = o / ((long long)ho * wo);
        int oh = (int)(o / wo % ho), ow = (int)(o % wo);
        size_t base = (size_t)p * s.h * s.w;
        size_t best = base + (size_t)oh * s.k * s.w + (size_t)ow * s.k;
        for (int a = 0; a < s.k; ++a)
            for (int b = 0; b < s.k; ++b) {
                size_t idx = base + (size_t)(oh * s.k + a) * s.w + ow * s.k + b;
                if (x[idx] > x[best]) best = idx;
            }
        y[o] = x[best];
        arg[o] = (unsigned)best;
    }
}

// Each input element takes its window's gradient if it was that window's maximum (windows do not
// overlap, so this gathers what the CPU scatters; 0 + g as the CPU adds onto zeros).
extern "C" __global__ void maxpool_backward_f32(PoolShape s, const unsigned* __restrict__ arg,
                                                const float* __restrict__ dy,
                                                float* __restrict__ dx) {
    const int ho = s.h / s.k, wo = s.w / s.k;
    const long long total = s.planes * s.h * s.w;
    for (long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x; e < total;
         e += (long long)gridDim.x * blockDim.x) {
        long long p = e / ((long long)s.h * s.w);
        int ih = (int)(e / s.w % s.h), iw = (int)(e % s.w);
        float g = 0.0f;
        if (ih / s.k < ho && iw / s.k < wo) {
            long long o = (p * ho + ih / s.k) * wo + iw / s.k;
            if (arg[o] == (unsigned)e) g = 0.0f + dy[o];
        }
        dx[e] = g;
    }
}

// Per sample j of logits [classes, n]: term[j] = log Σ exp(logit) − logit[label], and
// dlogits = (softmax − onehot)/n, in f32 with the CPU's order of operations, and hit[j] = 1 when
// the largest logit (ties to the lowest class) is the label's (the test accuracy).
extern "C" __global__ void cross_entropy_f32(int classes, int n, const float* __restrict__ logits,
                                             const unsigned* __restrict__ labels,
                                             float* __restrict__ dlogits,
                                             float* __restrict__ term,
                                             unsigned* __restrict__ hit) {
    const float inv_n = 1.0f / (float)n;
    for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < n; j += gridDim.x * blockDim.x) {
        float mx = logits[j];
        int best = 0;
        for (int c = 1; c < classes; ++c)
            if (logits[(size_t)c * n + j] > mx) {
                mx = logits[(size_t)c * n + j];
                best = c;
            }
        float z = 0.0f;
        for (int c = 0; c < classes; ++c) z += expf(logits[(size_t)c * n + j] - mx);
        const float log_z = logf(z) + mx;
        const unsigned label = labels[j];
        term[j] = log_z - logits[(size_t)label * n + j];
        hit[j] = (unsigned)best == label ? 1u : 0u;
        for (int c = 0; c < classes; ++c) {
            float p = expf(logits[(size_t)c * n + j] - log_z);
            float target = (unsigned)c == label ? 1.0f : 0.0f;
            dlogits[(size_t)c * n + j] = (p - target) * inv_n;
        }
    }
}

// a += b over n values (the residual additions).
extern "C" __global__ void add_f32(long long n, float* __restrict__ a,
                                   const float* __restrict__ b) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x)
        a[i] = a[i] + b[i];
}

// Non-overlapping average pooling (window = stride = k): the window's f32 sum in row order, times
// 1/k², as the CPU computes it.
extern "C" __global__ void avgpool_forward_f32(PoolShape s, const float* __restrict__ x,
                                               float* __restrict__ y) {
    const int ho = s.h / s.k, wo = s.w / s.k;
    const long long total = s.planes * ho * wo;
    const float scale = 1.0f / (float)(s.k * s.k);
    for (long long o = blockIdx.x * (long long)blockDim.x + threadIdx.x; o < total;
         o += (long long)gridDim.x * blockDim.x) {
        long long p = o / ((long long)ho * wo);
        int oh = (int)(o / wo % ho), ow = (int)(o % wo);
        size_t base = (size_t)p * s.h * s.w;
        float sum = 0.0f;
        for (int a = 0; a < s.k; ++a)
            for (int b = 0; b < s.k; ++b) sum += x[base + (size_t)(oh * s.k + a) * s.w + ow * s.k + b];
        y[o] = sum * scale;
    }
}

// Its gradient: each input element of a window takes dy·(1/k²) (0 outside every window).
extern "C" __global__ void avgpool_backward_f32(PoolShape s, const float* __restrict__ dy,
                                                float* __restrict__ dx) {
    const int ho = s.h / s.k, wo = s.w / s.k;
    const long long total = s.planes * s.h * s.w;
    const float scale = 1.0f / (float)(s.k * s.k);
    for (long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x; e < total;
         e += (long long)gridDim.x * blockDim.x) {
        long long p = e / ((long long)s.h * s.w);
        int ih = (int)(e / s.w % s.h), iw = (int)(e % s.w);
        float g = 0.0f;
        if (ih / s.k < ho && iw / s.k < wo) g = 0.0f + dy[(p * ho + ih / s.k) * wo + iw / s.k] * scale;
        dx[e] = g;
    }
}
