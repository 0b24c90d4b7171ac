// im2col and its adjoint col2im for the networks' convolutions, in the CPU's layouts
// (networks/src/layers/conv.rs): the input x is [c, n, h, w] (CNHW) and the column matrix
// [c·k·k, n·ho·wo] with row (c, ki, kj) and column (image, oh, ow); input (ih, iw) =
// (oh·stride + ki − pad, ow·stride + kj − pad), zero outside the image. im2col copies, so it equals
// the CPU's bit for bit; col2im sums each input element's contributions in (ki, kj) order from
// zero, the order the CPU adds them in, so it does too. One thread per output element, grid-stride.

struct ConvShape {
    int c, n, h, w, k, stride, pad, ho, wo;
};

extern "C" __global__ void im2col_f32(ConvShape s, const float* __restrict__ x,
                                      float* __restrict__ cols) {
    const size_t cols_n = (size_t)s.n * s.ho * s.wo;
    const size_t total = (size_t)s.c * s.k * s.k * cols_n;
    for (size_t e = (size_t)blockIdx.x * blockDim.x + threadIdx.x; e < total;
         e += (size_t)gridDim.x * blockDim.x) {
        size_t row = e / cols_n, col = e % cols_n;
        int c = (int)(row / (s.k * s.k)), ki = (int)(row / s.k % s.k), kj = (int)(row % s.k);
        int img = (int)(col / ((size_t)s.ho * s.wo)), oh = (int)(col / s.wo % s.ho),
            ow = (int)(col % s.wo);
        int ih = oh * s.stride + ki - s.pad, iw = ow * s.stride + kj - s.pad;
        bool inside = ih >= 0 && ih < s.h && iw >= 0 && iw < s.w;
        cols[e] = inside ? x[(((size_t)c * s.n + img) * s.h + ih) * s.w + iw] : 0.0f;
    }
}

extern "C" __global__ void col2im_f32(ConvShape s, const float* __restrict__ cols,
                                      float* __restrict__ dx) {
    const size_t cols_n = (size_t)s.n * s.ho * s.wo;
    const size_t total = (size_t)s.c * s.n * s.h * s.w;
    for (size_t e = (size_t)blockIdx.x * blockDim.x + threadIdx.x; e < total;
         e += (size_t)gridDim.x * blockDim.x) {
        int iw = (int)(e % s.w), ih = (int)(e / s.w % s.h);
        int img = (int)(e / ((size_t)s.w * s.h) % s.n), c = (int)(e / ((size_t)s.w * s.h * s.n));
        float sum = 0.0f;
        for (int ki = 0; ki < s.k; ++ki) {
            int oh_s = ih + s.pad - ki;
            if (oh_s < 0 || oh_s % s.stride != 0 || oh_s / s.stride >= s.ho) continue;
            int oh = oh_s / s.stride;
            for (int kj = 0; kj < s.k; ++kj) {
                int ow_s = iw + s.pad - kj;
                if (ow_s < 0 || ow_s % s.stride != 0 || ow_s / s.stride >= s.wo) continue;
                int ow = ow_s / s.stride;
                size_t row = ((size_t)c * s.k + ki) * s.k + kj;
                sum += cols[row * cols_n + ((size_t)img * s.ho + oh) * s.wo + ow];
            }
        }
        dx[e] = sum;
    }
}
