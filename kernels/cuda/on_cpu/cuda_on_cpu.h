// The CUDA device model given its CPU meaning, so that the kernel sources under kernels/cuda/ (the
// very text NVRTC compiles) build with g++ and run on any machine. Each CUDA thread is a
// cooperative fiber; a block's fibers run on one OS thread, blocks run concurrently on several.
//
// Modelled, strictly:
// * threadIdx, blockIdx, blockDim, gridDim; __shared__ memory per block (dynamic shared memory is
//   filled with NaN bytes when a block starts, so reading it before writing shows);
// * __syncthreads() as a block barrier over every thread that has not exited; threads waiting at
//   two different __syncthreads() calls are an error (divergent barrier), and so is a deadlock;
// * warp-synchronous operations (__shfl*_sync, __ballot_sync, __all_sync, __any_sync,
//   __syncwarp) as exchanges among the lanes of the mask, which must all exist, be live and arrive;
//   a mask without the calling lane, or a shuffle from a lane outside the mask, is an error;
// * the order of threads between barriers is the launcher's schedule (forward, reverse, or a
//   seeded shuffle at every barrier), so a read of shared memory that another thread writes with
//   no barrier between gives results that depend on the schedule: the tests run every kernel
//   under each and require identical results;
// * atomicAdd/Sub/Min/Max/Exch/CAS/And/Or/Xor as real atomics (blocks run concurrently);
// * the bit-cast, rounding and integer intrinsics the sources use, IEEE-exact (g++ with
//   -ffp-contract=off: only explicit fma/fmaf fuse, as NVRTC's --fmad=false).
//
// Not modelled (these can only be measured on a GPU): timing, occupancy, memory coalescing, bank
// conflicts, register limits, the weak memory model between blocks beyond atomics, and reads or
// writes outside a buffer (the launcher checks guard zones around each buffer after a launch,
// which catches writes just past either end, not reads). Dynamic shared memory is limited to the
// 48 KiB a launch may use without opting in.
#pragma once

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cstddef>
#include <type_traits>
#include <utility>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __launch_bounds__(...)
// Block scope: `thread_local` implies static storage, one copy per OS thread, and a block's
// fibers share their OS thread, so each running block has its own copy. `extern __shared__ T x[]`
// declares the module's dynamic shared memory, which the generated module file defines.
#define __shared__ thread_local
// g++ knows __restrict__ and keeps its meaning.

struct uint3 {
    unsigned int x, y, z;
};
struct dim3 {
    unsigned int x, y, z;
};

extern __thread uint3 cuda_on_cpu_thread_idx;
extern __thread uint3 cuda_on_cpu_block_idx;
extern __thread dim3 cuda_on_cpu_block_dim;
extern __thread dim3 cuda_on_cpu_grid_dim;
#define threadIdx cuda_on_cpu_thread_idx
#define blockIdx cuda_on_cpu_block_idx
#define blockDim cuda_on_cpu_block_dim
#define gridDim cuda_on_cpu_grid_dim
#define warpSize 32

// The scheduler (runtime.cpp).
extern "C" void cuda_on_cpu_syncthreads(int line);
extern "C" void cuda_on_cpu_warp_sync(unsigned mask, int line);
extern "C" unsigned cuda_on_cpu_lane(void);
extern "C" unsigned cuda_on_cpu_live_lanes(void);
extern "C" unsigned long long* cuda_on_cpu_warp_slots(void);
extern "C" [[noreturn]] void cuda_on_cpu_fail(int line, const char* fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define __syncthreads() cuda_on_cpu_syncthreads(__LINE__)
#define __syncwarp(...) cuda_on_cpu_syncwarp(__LINE__, ##__VA_ARGS__)
#define __activemask() cuda_on_cpu_live_lanes()
#define __threadfence() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define __threadfence_block() __atomic_thread_fence(__ATOMIC_SEQ_CST)

inline void cuda_on_cpu_syncwarp(int line, unsigned mask = 0xffffffffu) {
    cuda_on_cpu_warp_sync(mask, line);
}

// ---- warp-synchronous exchanges ----

// Every lane of `mask` deposits `v`; after all arrive, each reads lane `src`'s value; a second
// sync keeps a fast lane from overwriting its slot before the others have read it.
template <class T>
inline T cuda_on_cpu_exchange(unsigned mask, T v, unsigned src, int line) {
    static_assert(sizeof(T) <= 8, "warp exchanges move at most 64 bits");
    unsigned long long bits = 0;
    memcpy(&bits, &v, sizeof(T));
    unsigned long long* slots = cuda_on_cpu_warp_slots();
    slots[cuda_on_cpu_lane()] = bits;
    cuda_on_cpu_warp_sync(mask, line);
    if (src >= 32 || !((mask >> src) & 1u))
        cuda_on_cpu_fail(line, "shuffle from lane %u, outside the mask 0x%08x", src, mask);
    unsigned long long got = slots[src];
    cuda_on_cpu_warp_sync(mask, line);
    T out;
    memcpy(&out, &got, sizeof(T));
    return out;
}

inline unsigned cuda_on_cpu_segment(int width) {
    return cuda_on_cpu_lane() / (unsigned)width * (unsigned)width;
}

#define __shfl_sync(mask, v, src, ...) \
    cuda_on_cpu_shfl_idx((mask), (v), (src), __LINE__, ##__VA_ARGS__)
#define __shfl_up_sync(mask, v, delta, ...) \
    cuda_on_cpu_shfl_up((mask), (v), (delta), __LINE__, ##__VA_ARGS__)
#define __shfl_down_sync(mask, v, delta, ...) \
    cuda_on_cpu_shfl_down((mask), (v), (delta), __LINE__, ##__VA_ARGS__)
#define __shfl_xor_sync(mask, v, lane_mask, ...) \
    cuda_on_cpu_shfl_xor((mask), (v), (lane_mask), __LINE__, ##__VA_ARGS__)

template <class T>
inline T cuda_on_cpu_shfl_idx(unsigned mask, T v, int src, int line, int width = 32) {
    unsigned s = cuda_on_cpu_segment(width) + ((unsigned)src % (unsigned)width);
    return cuda_on_cpu_exchange(mask, v, s, line);
}

template <class T>
inline T cuda_on_cpu_shfl_up(unsigned mask, T v, unsigned delta, int line, int width = 32) {
    unsigned lane = cuda_on_cpu_lane(), base = cuda_on_cpu_segment(width);
    unsigned s = lane - base >= delta ? lane - delta : lane;
    return cuda_on_cpu_exchange(mask, v, s, line);
}

template <class T>
inline T cuda_on_cpu_shfl_down(unsigned mask, T v, unsigned delta, int line, int width = 32) {
    unsigned lane = cuda_on_cpu_lane(), base = cuda_on_cpu_segment(width);
    unsigned s = lane - base + delta < (unsigned)width ? lane + delta : lane;
    return cuda_on_cpu_exchange(mask, v, s, line);
}

template <class T>
inline T cuda_on_cpu_shfl_xor(unsigned mask, T v, unsigned lane_mask, int line, int width = 32) {
    unsigned lane = cuda_on_cpu_lane(), base = cuda_on_cpu_segment(width);
    unsigned s = lane ^ lane_mask;
    if (s >= base + (unsigned)width) s = lane;
    return cuda_on_cpu_exchange(mask, v, s, line);
}

inline unsigned cuda_on_cpu_ballot(unsigned mask, int pred, int line) {
    unsigned long long* slots = cuda_on_cpu_warp_slots();
    slots[cuda_on_cpu_lane()] = pred ? 1u : 0u;
    cuda_on_cpu_warp_sync(mask, line);
    unsigned out = 0;
    for (unsigned l = 0; l < 32; ++l)
        if (((mask >> l) & 1u) && slots[l]) out |= 1u << l;
    cuda_on_cpu_warp_sync(mask, line);
    return out;
}

#define __ballot_sync(mask, pred) cuda_on_cpu_ballot((mask), (pred), __LINE__)
#define __all_sync(mask, pred) \
    (cuda_on_cpu_ballot((mask), (pred), __LINE__) == (unsigned)(mask))
#define __any_sync(mask, pred) (cuda_on_cpu_ballot((mask), (pred), __LINE__) != 0u)

// ---- atomics (device scope, relaxed, as CUDA's) ----

template <class T>
inline T cuda_on_cpu_cas_update(T* address, T (*op)(T, T), T v) {
    static_assert(sizeof(T) == 4 || sizeof(T) == 8, "32- or 64-bit atomics");
    typedef typename std::conditional<sizeof(T) == 4, unsigned, unsigned long long>::type Bits;
    Bits* p = reinterpret_cast<Bits*>(address);
    Bits old = __atomic_load_n(p, __ATOMIC_RELAXED);
    for (;;) {
        T cur;
        memcpy(&cur, &old, sizeof(T));
        T next = op(cur, v);
        Bits nb;
        memcpy(&nb, &next, sizeof(T));
        if (__atomic_compare_exchange_n(p, &old, nb, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            return cur;
    }
}

template <class T> inline T cuda_on_cpu_add(T a, T b) { return a + b; }
template <class T> inline T cuda_on_cpu_min(T a, T b) { return b < a ? b : a; }
template <class T> inline T cuda_on_cpu_max(T a, T b) { return b > a ? b : a; }

#define CUDA_ON_CPU_INT_ATOMICS(T)                                                              \
    inline T atomicAdd(T* a, T v) { return __atomic_fetch_add(a, v, __ATOMIC_RELAXED); }      \
    inline T atomicSub(T* a, T v) { return __atomic_fetch_sub(a, v, __ATOMIC_RELAXED); }      \
    inline T atomicAnd(T* a, T v) { return __atomic_fetch_and(a, v, __ATOMIC_RELAXED); }      \
    inline T atomicOr(T* a, T v) { return __atomic_fetch_or(a, v, __ATOMIC_RELAXED); }        \
    inline T atomicXor(T* a, T v) { return __atomic_fetch_xor(a, v, __ATOMIC_RELAXED); }      \
    inline T atomicExch(T* a, T v) { return __atomic_exchange_n(a, v, __ATOMIC_RELAXED); }    \
    inline T atomicMin(T* a, T v) { return cuda_on_cpu_cas_update<T>(a, cuda_on_cpu_min<T>, v); } \
    inline T atomicMax(T* a, T v) { return cuda_on_cpu_cas_update<T>(a, cuda_on_cpu_max<T>, v); } \
    inline T atomicCAS(T* a, T expected, T desired) {                                         \
        __atomic_compare_exchange_n(a, &expected, desired, false, __ATOMIC_RELAXED,           \
                                    __ATOMIC_RELAXED);                                        \
        return expected;                                                                      \
    }
CUDA_ON_CPU_INT_ATOMICS(int)
CUDA_ON_CPU_INT_ATOMICS(unsigned int)
CUDA_ON_CPU_INT_ATOMICS(long long)
CUDA_ON_CPU_INT_ATOMICS(unsigned long long)
#undef CUDA_ON_CPU_INT_ATOMICS

inline float atomicAdd(float* a, float v) {
    return cuda_on_cpu_cas_update<float>(a, cuda_on_cpu_add<float>, v);
}
inline double atomicAdd(double* a, double v) {
    return cuda_on_cpu_cas_update<double>(a, cuda_on_cpu_add<double>, v);
}
inline float atomicExch(float* a, float v) {
    unsigned bits;
    memcpy(&bits, &v, 4);
    bits = __atomic_exchange_n(reinterpret_cast<unsigned*>(a), bits, __ATOMIC_RELAXED);
    float out;
    memcpy(&out, &bits, 4);
    return out;
}

// ---- intrinsics ----

inline unsigned __umulhi(unsigned a, unsigned b) {
    return (unsigned)(((unsigned long long)a * b) >> 32);
}
inline int __mulhi(int a, int b) { return (int)(((long long)a * b) >> 32); }
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
    return (unsigned long long)(((unsigned __int128)a * b) >> 64);
}
inline unsigned __float_as_uint(float f) {
    unsigned u;
    memcpy(&u, &f, 4);
    return u;
}
inline float __uint_as_float(unsigned u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}
inline int __float_as_int(float f) { return (int)__float_as_uint(f); }
inline float __int_as_float(int i) { return __uint_as_float((unsigned)i); }
inline long long __double_as_longlong(double d) {
    long long u;
    memcpy(&u, &d, 8);
    return u;
}
inline double __longlong_as_double(long long u) {
    double d;
    memcpy(&d, &u, 8);
    return d;
}
// IEEE round-to-nearest operations: the default rounding of the CPU.
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fsqrt_rn(float x) { return sqrtf(x); }
inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __ddiv_rn(double a, double b) { return a / b; }
inline double __dsqrt_rn(double x) { return sqrt(x); }
inline double __fma_rn(double a, double b, double c) { return fma(a, b, c); }
// Directed conversions: round to nearest, then step one float toward the direction if needed.
inline float __double2float_rn(double d) { return (float)d; }
inline float __double2float_ru(double d) {
    float f = (float)d;
    return (!isnan(d) && (double)f < d) ? nextafterf(f, INFINITY) : f;
}
inline float __double2float_rd(double d) {
    float f = (float)d;
    return (!isnan(d) && (double)f > d) ? nextafterf(f, -INFINITY) : f;
}
inline float __double2float_rz(double d) { return d >= 0 ? __double2float_rd(d) : __double2float_ru(d); }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz((unsigned)x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline unsigned __brev(unsigned x) {
    unsigned r = 0;
    for (int i = 0; i < 32; ++i) r |= ((x >> i) & 1u) << (31 - i);
    return r;
}
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }

// ---- the module table (used by the module files that build.rs generates) ----

namespace cuda_on_cpu {

template <class F, F f>
struct Invoke;

template <class... A, void (*f)(A...)>
struct Invoke<void (*)(A...), f> {
    static constexpr std::size_t arity = sizeof...(A);
    static constexpr std::size_t sizes[sizeof...(A) + 1] = {sizeof(A)..., 0};
    template <std::size_t... I>
    static void call_with(void** params, std::index_sequence<I...>) {
        f(*static_cast<A*>(params[I])...);
    }
    static void call(void** params) { call_with(params, std::index_sequence_for<A...>{}); }
};

}  // namespace cuda_on_cpu

extern "C" {
// One `__global__` function: its entry (taking CUDA-style kernelParams) and parameter sizes.
struct CudaOnCpuKernel {
    const char* name;
    void (*entry)(void** params);
    size_t n_params;
    const size_t* param_sizes;
};
// One kernel source file as compiled: its kernels and its dynamic shared memory (if it has any).
struct CudaOnCpuModule {
    const char* file;
    const CudaOnCpuKernel* kernels;
    size_t n_kernels;
    unsigned char* (*dynamic_shared)(void);
    size_t dynamic_shared_bytes;
};
}

#define CUDA_ON_CPU_KERNEL(name)                                                  \
    {#name, &cuda_on_cpu::Invoke<decltype(&name), &name>::call,                  \
     cuda_on_cpu::Invoke<decltype(&name), &name>::arity,                         \
     cuda_on_cpu::Invoke<decltype(&name), &name>::sizes}

// Dynamic shared memory a block may use without opting in, as on the GPU.
#define CUDA_ON_CPU_DYNAMIC_SHARED_BYTES (48 * 1024)
