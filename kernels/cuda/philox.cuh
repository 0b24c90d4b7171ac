// Philox4x32-10 and the Box–Muller normals of kernels/src/rng (DESIGN §4), written out by hand
// because NVRTC has no CUDA headers here (no curand_kernel.h). Prepended to every kernel source
// that draws noise; must stay bit-for-bit equal to rng/philox.rs and rng/normal.rs.
// Compiled with --fmad=false: every fused multiply-add below is an explicit fma/fmaf, exactly
// the mul_add calls of the Rust code, and nothing else is contracted.

typedef unsigned int u32;
typedef unsigned long long u64;

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

struct u32x4 { u32 x0, x1, x2, x3; };

__device__ __forceinline__ u32x4 philox4x32_10(u32x4 c, u32 k0, u32 k1) {
#pragma unroll
    for (int round = 0; round < 10; ++round) {
        if (round > 0) { k0 += PHILOX_W0; k1 += PHILOX_W1; }
        u32 hi0 = __umulhi(PHILOX_M0, c.x0), lo0 = PHILOX_M0 * c.x0;
        u32 hi1 = __umulhi(PHILOX_M1, c.x2), lo1 = PHILOX_M1 * c.x2;
        u32x4 n;
        n.x0 = hi1 ^ c.x1 ^ k0;
        n.x1 = lo1;
        n.x2 = hi0 ^ c.x3 ^ k1;
        n.x3 = lo0;
        c = n;
    }
    return c;
}

#define INV_2_24 (1.0f / 16777216.0f)

__device__ __forceinline__ float ts_ln_positive(float x) {
    u32 bits = __float_as_uint(x);
    int e = (int)((bits >> 23) & 0xffu) - 127;
    float m = __uint_as_float((bits & 0x007fffffu) | 0x3f800000u);
    bool big = m > 1.41421356237309504880f;
    m = big ? m * 0.5f : m;
    e += big ? 1 : 0;
    float s = __fdiv_rn(m - 1.0f, m + 1.0f);
    float s2 = s * s;
    float p = 1.0f / 11.0f;
    p = fmaf(p, s2, 1.0f / 9.0f);
    p = fmaf(p, s2, 1.0f / 7.0f);
    p = fmaf(p, s2, 1.0f / 5.0f);
    p = fmaf(p, s2, 1.0f / 3.0f);
    float two_s = 2.0f * s;
    float ln_m = fmaf(two_s * s2, p, two_s);
    float ef = (float)e;
    return fmaf(ef, __uint_as_float(0x3f317200u), fmaf(ef, __uint_as_float(0x35bfbe8eu), ln_m));
}

__device__ __forceinline__ void ts_sin_cos_turns(float v, float* sin_out, float* cos_out) {
    float q = floorf(v * 4.0f + 0.5f);
    float t = fmaf(q, -0.25f, v);
    float a = t * 6.28318530717958647692f;
    float a2 = a * a;
    float sp = -1.0f / 39916800.0f;
    sp = fmaf(sp, a2, 1.0f / 362880.0f);
    sp = fmaf(sp, a2, -1.0f / 5040.0f);
    sp = fmaf(sp, a2, 1.0f / 120.0f);
    sp = fmaf(sp, a2, -1.0f / 6.0f);
    float s = fmaf(a * a2, sp, a);
    float cp = -1.0f / 3628800.0f;
    cp = fmaf(cp, a2, 1.0f / 40320.0f);
    cp = fmaf(cp, a2, -1.0f / 720.0f);
    cp = fmaf(cp, a2, 1.0f / 24.0f);
    cp = fmaf(cp, a2, -0.5f);
    float c = fmaf(a2, cp, 1.0f);
    float quadrant = q - 4.0f * floorf(q * 0.25f);
    bool swap = quadrant == 1.0f || quadrant == 3.0f;
    float s1 = swap ? c : s, c1 = swap ? s : c;
    bool neg_s = quadrant >= 2.0f;
    bool neg_c = quadrant == 1.0f || quadrant == 2.0f;
    *sin_out = neg_s ? -s1 : s1;
    *cos_out = neg_c ? -c1 : c1;
}

// The Box–Muller pair of two Philox words, in f32 (cos part, sin part).
__device__ __forceinline__ void ts_box_muller(u32 xr, u32 xa, float* out_cos, float* out_sin) {
    float u = ((float)(xr >> 8) + 0.5f) * INV_2_24;
    float v = (float)(xa >> 8) * INV_2_24;
    float r = __fsqrt_rn(-2.0f * ts_ln_positive(u));
    float s, c;
    ts_sin_cos_turns(v, &s, &c);
    *out_cos = r * c;
    *out_sin = r * s;
}

// Four normals of counter [block, iteration, stream] under key (k0, k1), in the CPU's order.
__device__ __forceinline__ void ts_normals4(u32 block, u64 iteration, u32 stream, u32 k0, u32 k1,
                                            float z[4]) {
    u32x4 c;
    c.x0 = block;
    c.x1 = (u32)iteration;
    c.x2 = (u32)(iteration >> 32);
    c.x3 = stream;
    u32x4 x = philox4x32_10(c, k0, k1);
    ts_box_muller(x.x0, x.x1, &z[0], &z[1]);
    ts_box_muller(x.x2, x.x3, &z[2], &z[3]);
}
