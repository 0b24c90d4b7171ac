// Isotropic-noise SGD chains (SPEC §2, §5.1), one thread per chain, many iterations per launch.
// The arithmetic repeats kernels/src/isotropic/group.rs operation for operation in f64 (explicit
// fma where the CPU uses mul_add, nothing else contracted), with the noise of philox.cuh, so a
// chain's trajectory equals the CPU's. Weights live in shared memory when they fit (coordinate-
// major, one column per thread), else in a coalesced global scratch [dim][n_chains].
//
// Per-chain state fields, [field][n_chains]: 0 scale, 1 rho2, 2 dot_target, 3 pre_norm_sq,
// 4 noise_trace. Stationary sums [batch][7][n_chains] in the order of LaneSums. Series samples
// [sample][4][n_chains]: loss, ‖w‖, ‖P w*‖², trace. Queue snapshots [snap][dim][n_chains] and
// radii [snap][n_chains].

#define ST_SCALE 0
#define ST_RHO2 1
#define ST_DOT 2
#define ST_PRE 3
#define ST_TRACE 4
#define N_STATE 5
#define N_SUMS 7
#define N_SERIES 4

#define P_FIXED_LR 0
#define P_FIXED_ELR 1
#define P_FIXED_SPHERE 2

extern "C" __global__ void iso_init(int dim, int n_chains, int protocol, double init_radius,
                                    const double* __restrict__ start,
                                    const double* __restrict__ target,
                                    const double* __restrict__ second, double* __restrict__ w,
                                    double* __restrict__ state,
                                    u64* __restrict__ diverged_at) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= n_chains) return;
    double r = protocol == P_FIXED_SPHERE ? second[c] : init_radius;
    double n2 = 0.0, dt = 0.0;
    for (int k = 0; k < dim; ++k) {
        double x = start[k] * r;
        w[(size_t)k * n_chains + c] = x;
        n2 = n2 + x * x;
        dt = dt + target[k] * x;
    }
    state[ST_SCALE * n_chains + c] = 1.0;
    state[ST_RHO2 * n_chains + c] = n2;
    state[ST_DOT * n_chains + c] = dt;
    state[ST_PRE * n_chains + c] = n2;
    state[ST_TRACE * n_chains + c] = 0.0;
    diverged_at[c] = 0;
}

struct IsoArgs {
    int protocol, dim, n_chains, use_shared, n_batches;
    double sigma;
    u64 t0, steps, log_every, series_base, push_every, push_base;
};

extern "C" __global__ void iso_advance(IsoArgs a, const double* __restrict__ target,
                                       const double* __restrict__ first,
                                       const double* __restrict__ second,
                                       const u32* __restrict__ keys, double* __restrict__ w_g,
                                       float* __restrict__ eps_g, double* __restrict__ state,
                                       u64* __restrict__ diverged_at,
                                       const u64* __restrict__ bounds, double* __restrict__ sums,
                                       double* __restrict__ series, double* __restrict__ snaps,
                                       double* __restrict__ snap_radii) {
    extern __shared__ unsigned char smem[];
    const int n = a.n_chains, dim = a.dim;
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= n) return;
    double* w;
    float* eps;
    size_t stride;
    if (a.use_shared) {
        stride = blockDim.x;
        w = (double*)smem + threadIdx.x;
        eps = (float*)((double*)smem + (size_t)dim * blockDim.x) + threadIdx.x;
        for (int k = 0; k < dim; ++k) w[k * stride] = w_g[(size_t)k * n + c];
    } else {
        stride = n;
        w = w_g + c;
        eps = eps_g + c;
    }
    if (diverged_at[c] != 0) return;
    const u32 k0 = keys[2 * c], k1 = keys[2 * c + 1];
    const double sigma = a.sigma, p_first = first[c], p_second = second[c];
    double scale = state[ST_SCALE * n + c], rho2 = state[ST_RHO2 * n + c];
    double dot = state[ST_DOT * n + c], pre = state[ST_PRE * n + c];
    double trace = state[ST_TRACE * n + c];
    const int blocks = (dim + 3) / 4;

    // The stationary batch of the state after iteration t: bounds[j] < t <= bounds[j+1].
    int batch = -1;
    double acc[N_SUMS];
    const u64 t_first = a.t0 + 1, t_end = a.t0 + a.steps;
    u64 diverged = 0;
    for (u64 t = t_first; t <= t_end; ++t) {
        double ew = 0.0, ee = 0.0;
        for (int b = 0; b < blocks; ++b) {
            float z[4];
            ts_normals4((u32)b, t, 0u, k0, k1, z);
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                int k = 4 * b + j;
                if (k < dim) {
                    eps[k * stride] = z[j];
                    double zd = (double)z[j];
                    ew = fma(zd, w[k * stride], ew);
                    ee = fma(zd, zd, ee);
                }
            }
        }
        double eta, wd;
        if (a.protocol == P_FIXED_LR) {
            eta = p_first;
            wd = p_second;
        } else if (a.protocol == P_FIXED_ELR) {
            eta = p_first * rho2;
            wd = p_second;
        } else {
            eta = p_first * p_second * p_second;
            wd = 0.0;
        }
        double inv_rho2 = 1.0 / rho2;
        double inv = sqrt(inv_rho2);
        double ew_true = scale * ew;
        double cc = (dot - sigma * ew_true) * inv_rho2;
        double alpha = scale * (1.0 - eta * wd - eta * cc * inv);
        double beta = -eta * inv;
        trace = sigma * sigma * (ee - ew_true * ew_true * inv_rho2);
        double n2 = 0.0, dt = 0.0;
        for (int k = 0; k < dim; ++k) {
            double tk = target[k];
            double e = (double)eps[k * stride];
            double x = fma(alpha, w[k * stride], beta * fma(sigma, e, -tk));
            w[k * stride] = x;
            n2 = fma(x, x, n2);
            dt = fma(tk, x, dt);
        }
        pre = n2;
        if (a.protocol == P_FIXED_SPHERE) {
            scale = p_second / sqrt(n2);
            rho2 = p_second * p_second;
            dot = scale * dt;
        } else {
            rho2 = n2;
            dot = dt;
        }
        if (!(isfinite(rho2) && rho2 > 0.0 && isfinite(dot))) {
            diverged = t;
            break;
        }
        // Stationary sums, added in time order onto the stored sums (the CPU's order).
        if (a.n_batches > 0 && t > bounds[0]) {
            int want = batch < 0 ? 0 : batch;
            while (want < a.n_batches - 1 && t > bounds[want + 1]) ++want;
            if (want != batch) {
                if (batch >= 0)
                    for (int f = 0; f < N_SUMS; ++f)
                        sums[((size_t)batch * N_SUMS + f) * n + c] = acc[f];
                batch = want;
                for (int f = 0; f < N_SUMS; ++f)
                    acc[f] = sums[((size_t)batch * N_SUMS + f) * n + c];
            }
            double rho = sqrt(rho2);
            double cw = dot / rho;
            acc[0] += 1.0 - cw;
            acc[1] += rho;
            acc[2] += rho2;
            acc[3] += 1.0 - cw * cw;
            acc[4] += trace;
            acc[5] += sqrt(pre);
            acc[6] += pre;
        }
        if (t % a.log_every == 0) {
            size_t s = (size_t)(t / a.log_every - a.series_base - 1);
            double rho = sqrt(rho2);
            double cw = dot / rho;
            double* row = series + s * N_SERIES * n + c;
            row[0] = 1.0 - dot / rho;
            row[n] = rho;
            row[2 * n] = 1.0 - cw * cw;
            row[3 * n] = trace;
        }
        if (a.push_every != 0 && t % a.push_every == 0) {
            size_t s = (size_t)(t / a.push_every - a.push_base - 1);
            double rho = sqrt(rho2);
            double f = scale / rho;
            double* out = snaps + s * (size_t)dim * n + c;
            for (int k = 0; k < dim; ++k) out[(size_t)k * n] = w[k * stride] * f;
            snap_radii[s * n + c] = rho;
        }
    }
    if (batch >= 0)
        for (int f = 0; f < N_SUMS; ++f) sums[((size_t)batch * N_SUMS + f) * n + c] = acc[f];
    state[ST_SCALE * n + c] = scale;
    state[ST_RHO2 * n + c] = rho2;
    state[ST_DOT * n + c] = dot;
    state[ST_PRE * n + c] = pre;
    state[ST_TRACE * n + c] = trace;
    diverged_at[c] = diverged;
    if (a.use_shared)
        for (int k = 0; k < dim; ++k) w_g[(size_t)k * n + c] = w[k * stride];
}
