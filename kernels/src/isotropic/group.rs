//! A group of [`LANES`] isotropic-noise chains advanced together (SPEC §2, §5.1).
//!
//! Chains are laid out for the vector units: coordinate `k` of lane `i` lives at `w[k·LANES + i]`,
//! so every arithmetic line below is one vector operation across eight chains, whatever `d` is.
//! One step is two passes over the coordinates: draw the noise and its dot product with `w`, then
//! update; within a run of steps the update of one step shares its sweep with the next step's noise
//! pass (every sum still runs over the coordinates in order, so the bits are unchanged). With `c = (⟨w*,w⟩ − σ⟨ε,w⟩)/‖w‖²` the stochastic gradient is
//! `g = (σε − w* + c·w)/‖w‖` (gradient of `1 − ⟨w*, w/‖w‖⟩` plus the projected, scaled noise), so
//! `w' = (1 − ηλ − ηc/‖w‖)·w − (η/‖w‖)·(σε − w*)`. On the fixed sphere the projection is kept as a
//! per-lane scale (`true w = scale·stored w`), so it costs no extra pass; the stored vector is then
//! exactly the pre-projection iterate w̃ whose norm `wd_eff` needs.
//!
//! Multiply-adds are explicit `mul_add` (correctly rounded, in hardware or software) and nothing
//! else is contracted, so every code path (AVX-512, AVX2+FMA, portable) gives the same bits.
//!
//! Why three paths: the crate is built for baseline x86-64 (binaries run on any x86-64), where
//! `mul_add` is a call to libm's `fma` and nothing vectorises past SSE2. The loop body is therefore
//! one `#[inline(always)]` function instantiated inside `#[target_feature]` wrappers and picked at
//! run time ([`Variant`]); the test `vector_and_portable_paths_agree_bitwise` runs every variant
//! the CPU has and compares the bits.
//!
//! Why the lane loops copy whole rows into local arrays: `w` and `eps` are both reached through
//! `self`, so LLVM cannot prove them disjoint, and a lane loop that interleaves loads of one with
//! stores to the other is left scalar. Reading each row of eight lanes whole, computing, then
//! storing it whole made the update pass one 512-bit FMA chain per coordinate; with the noise
//! written out by plain loops (nested `from_fn` closures were left out of line, outside the target
//! features) and the two passes fused, one core went from 4.2e8 to 5.9e8 coordinate updates/s at
//! d = 100 (4.3e8 to 5.8e8 at d = 1000, 1.8e8 to 3.5e8 at d = 3; AVX-512 Xeon, November 2026; the
//! AVX2 path does 2.9e8 at d = 100, the portable one 1.5e7, half NumPy's speed).

#![allow(clippy::needless_range_loop)] // lane loops index several arrays in lockstep

use sweep_theory::Protocol;

use crate::rng::normal::box_muller_lanes;
use crate::rng::{Stream, counter, philox_lanes};

/// Chains per group: one 512-bit vector of f64.
pub const LANES: usize = 8;

/// Two per-lane sums (or coefficients) computed together.
type Sums2 = ([f64; LANES], [f64; LANES]);

/// Where a group's Gaussian draws come from: four normals per lane for each block of four
/// coordinates of each iteration.
pub trait NoiseSource {
    /// Normals `out[j][i]` for coordinate `4·block + j` of lane `i` at iteration `iteration`.
    fn block(&mut self, iteration: u64, block: u32) -> [[f64; LANES]; 4];

    /// Blocks `block` and `block + 1` together; sources may override it to overlap the two
    /// computations (the values must equal two calls of [`NoiseSource::block`]).
    #[inline(always)]
    fn two_blocks(&mut self, iteration: u64, block: u32) -> [[[f64; LANES]; 4]; 2] {
        [
            self.block(iteration, block),
            self.block(iteration, block + 1),
        ]
    }
}

/// The production noise: Philox4x32-10 keyed by each lane's point seed, counter
/// `[block, iteration, StepNoise]`, Box–Muller (see [`crate::rng`]).
#[derive(Clone, Debug)]
pub struct PhiloxNoise {
    key: [[u32; LANES]; 2],
}

impl PhiloxNoise {
    /// Noise for lanes with these point seeds.
    pub fn new(seeds: [u64; LANES]) -> Self {
        let mut key = [[0u32; LANES]; 2];
        for (i, s) in seeds.iter().enumerate() {
            key[0][i] = *s as u32;
            key[1][i] = (*s >> 32) as u32;
        }
        Self { key }
    }
}

impl PhiloxNoise {
    /// Normals of `B` consecutive blocks from `block` on. All lanes of all blocks go through one
    /// Philox pass `W = B·LANES` wide and one Box–Muller pass `P = 2·W` wide (both pairs side by
    /// side), so each loop fills whole 512-bit vectors. (Stable Rust cannot derive W and P from B.)
    #[inline(always)]
    fn blocks<const B: usize, const W: usize, const P: usize>(
        &self,
        iteration: u64,
        block: u32,
    ) -> [[[f64; LANES]; 4]; B] {
        debug_assert!(W == B * LANES && P == 2 * W);
        let c = counter(block, iteration, Stream::StepNoise);
        let first: [u32; W] = std::array::from_fn(|k| block + (k / LANES) as u32);
        let key: [[u32; W]; 2] =
            std::array::from_fn(|w| std::array::from_fn(|k| self.key[w][k % LANES]));
        let x = philox_lanes([first, [c[1]; W], [c[2]; W], [c[3]; W]], key);
        let radius: [u32; P] = std::array::from_fn(|k| if k < W { x[0][k] } else { x[2][k - W] });
        let angle: [u32; P] = std::array::from_fn(|k| if k < W { x[1][k] } else { x[3][k - W] });
        let (cos, sin) = box_muller_lanes(&radius, &angle);
        // Plain loops, not nested `from_fn` closures: those were left out of line (outside the
        // caller's target features) and cost a call and a vzeroupper per pass.
        let mut out = [[[0.0; LANES]; 4]; B];
        for (b, z) in out.iter_mut().enumerate() {
            for i in 0..LANES {
                let k = b * LANES + i;
                z[0][i] = cos[k];
                z[1][i] = sin[k];
                z[2][i] = cos[W + k];
                z[3][i] = sin[W + k];
            }
        }
        out
    }
}

impl NoiseSource for PhiloxNoise {
    #[inline(always)]
    fn block(&mut self, iteration: u64, block: u32) -> [[f64; LANES]; 4] {
        let [z] = self.blocks::<1, LANES, { 2 * LANES }>(iteration, block);
        z
    }

    #[inline(always)]
    fn two_blocks(&mut self, iteration: u64, block: u32) -> [[[f64; LANES]; 4]; 2] {
        self.blocks::<2, { 2 * LANES }, { 4 * LANES }>(iteration, block)
    }
}

/// One lane's hyperparameters: `first` is η (fixed LR) or η_eff; `second` is λ or the radius r.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LaneHyper {
    /// Learning rate (fixed LR) or effective learning rate (fixed ELR, fixed sphere).
    pub first: f64,
    /// Weight decay (fixed LR, fixed ELR) or radius (fixed sphere).
    pub second: f64,
}

/// Per-lane sums over the stationary window, updated by [`ChainGroup::advance_accumulating`].
#[derive(Clone, Debug, Default)]
pub struct LaneSums {
    /// Steps summed.
    pub count: u64,
    /// Σ loss `1 − ⟨w*, w̄⟩`.
    pub loss: [f64; LANES],
    /// Σ ‖w‖.
    pub radius: [f64; LANES],
    /// Σ ‖w‖².
    pub radius_sq: [f64; LANES],
    /// Σ ‖P_w̄ w*‖² (the squared full gradient on the unit sphere).
    pub grad_sq: [f64; LANES],
    /// Σ σ²‖P_w̄ ε‖² (the trace of the noise covariance on the unit sphere).
    pub noise_trace: [f64; LANES],
    /// Σ ‖w̃‖ (fixed sphere: the pre-projection norm).
    pub pre_norm: [f64; LANES],
    /// Σ ‖w̃‖² (fixed sphere).
    pub pre_norm_sq: [f64; LANES],
}

impl LaneSums {
    /// The seven sums as local arrays (in field order), for vectorised updates.
    #[inline(always)]
    fn clone_sums(&self) -> [[f64; LANES]; 7] {
        [
            self.loss,
            self.radius,
            self.radius_sq,
            self.grad_sq,
            self.noise_trace,
            self.pre_norm,
            self.pre_norm_sq,
        ]
    }

    /// Stores arrays from [`LaneSums::clone_sums`] back.
    #[inline(always)]
    fn store_sums(&mut self, t: [[f64; LANES]; 7]) {
        [
            self.loss,
            self.radius,
            self.radius_sq,
            self.grad_sq,
            self.noise_trace,
            self.pre_norm,
            self.pre_norm_sq,
        ] = t;
    }
}

/// Eight chains of one protocol, dimension and noise level.
#[derive(Clone, Debug)]
pub struct ChainGroup {
    dim: usize,
    protocol: Protocol,
    sigma: f64,
    target: Vec<f64>,
    w: Vec<f64>,
    eps: Vec<f64>,
    scale: [f64; LANES],
    rho2: [f64; LANES],
    dot_target: [f64; LANES],
    pre_norm_sq: [f64; LANES],
    noise_trace: [f64; LANES],
    first: [f64; LANES],
    second: [f64; LANES],
}

impl ChainGroup {
    /// A group whose lane `i` starts at `start[i]` (length `dim`) with hyperparameters `hyper[i]`.
    /// `target` is the unit vector w*. Lengths are the caller's invariant (checked in debug).
    pub fn new(
        protocol: Protocol,
        sigma: f64,
        target: &[f64],
        start: [&[f64]; LANES],
        hyper: [LaneHyper; LANES],
    ) -> Self {
        let dim = target.len();
        let mut w = vec![0.0; dim * LANES];
        for (i, s) in start.iter().enumerate() {
            debug_assert_eq!(s.len(), dim);
            for (k, x) in s.iter().enumerate() {
                w[k * LANES + i] = *x;
            }
        }
        let mut group = Self {
            dim,
            protocol,
            sigma,
            target: target.to_vec(),
            w,
            eps: vec![0.0; dim * LANES],
            scale: [1.0; LANES],
            rho2: [0.0; LANES],
            dot_target: [0.0; LANES],
            pre_norm_sq: [0.0; LANES],
            noise_trace: [0.0; LANES],
            first: hyper.map(|h| h.first),
            second: hyper.map(|h| h.second),
        };
        let (mut n2, mut dt) = ([0.0; LANES], [0.0; LANES]);
        for k in 0..dim {
            for i in 0..LANES {
                let x = group.w[k * LANES + i];
                n2[i] += x * x;
                dt[i] += group.target[k] * x;
            }
        }
        group.rho2 = n2;
        group.dot_target = dt;
        group.pre_norm_sq = n2;
        group
    }

    /// Dimension d.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// ‖w‖² of each lane.
    pub fn radius_sq(&self) -> [f64; LANES] {
        self.rho2
    }

    /// The loss `1 − ⟨w*, w/‖w‖⟩` of each lane.
    pub fn loss(&self) -> [f64; LANES] {
        std::array::from_fn(|i| 1.0 - self.dot_target[i] / self.rho2[i].sqrt())
    }

    /// ‖P_w̄ w*‖² = 1 − ⟨w*, w̄⟩² of each lane: the squared full gradient on the unit sphere.
    pub fn grad_sq(&self) -> [f64; LANES] {
        std::array::from_fn(|i| {
            let c = self.dot_target[i] / self.rho2[i].sqrt();
            1.0 - c * c
        })
    }

    /// ‖w̃‖² of the last step's pre-projection iterate (fixed sphere; ‖w‖² otherwise).
    pub fn pre_norm_sq(&self) -> [f64; LANES] {
        self.pre_norm_sq
    }

    /// σ²‖P_w̄ ε‖² of the last step's noise, before scaling by 1/‖w‖.
    pub fn noise_trace(&self) -> [f64; LANES] {
        self.noise_trace
    }

    /// Lanes whose state is no longer a finite, non-zero vector.
    pub fn diverged(&self) -> [bool; LANES] {
        std::array::from_fn(|i| {
            !(self.rho2[i].is_finite() && self.rho2[i] > 0.0 && self.dot_target[i].is_finite())
        })
    }

    /// Writes lane `lane`'s unit direction w̄ into `out` (length d) and returns ‖w‖.
    pub fn direction(&self, lane: usize, out: &mut [f64]) -> f64 {
        let rho = self.rho2[lane].sqrt();
        let f = self.scale[lane] / rho;
        for (k, o) in out.iter_mut().enumerate() {
            *o = self.w[k * LANES + lane] * f;
        }
        rho
    }

    /// Lane `lane`'s weights w (true, post-projection).
    pub fn weights(&self, lane: usize) -> Vec<f64> {
        (0..self.dim)
            .map(|k| self.w[k * LANES + lane] * self.scale[lane])
            .collect()
    }

    /// Advances `steps` iterations, numbered `first_iteration ..`, without accumulating.
    pub fn advance<N: NoiseSource>(&mut self, first_iteration: u64, steps: u64, noise: &mut N) {
        dispatch(self, first_iteration, steps, noise, None);
    }

    /// Advances `steps` iterations and adds each new state's observables to `sums`.
    pub fn advance_accumulating<N: NoiseSource>(
        &mut self,
        first_iteration: u64,
        steps: u64,
        noise: &mut N,
        sums: &mut LaneSums,
    ) {
        dispatch(self, first_iteration, steps, noise, Some(sums));
    }

    /// Stores the normals of coordinates `k0 .. k0 + 4` (those below d) and accumulates ⟨ε, w⟩, ‖ε‖².
    #[inline(always)]
    fn take_noise(&mut self, k0: usize, z: &[[f64; LANES]; 4], acc: &mut Sums2) {
        let w = self.w.as_chunks::<LANES>().0;
        let eps = self.eps.as_chunks_mut::<LANES>().0;
        for (j, zj) in z.iter().enumerate() {
            let k = k0 + j;
            if k >= self.dim {
                break;
            }
            // Whole-lane copies: `w` and `eps` are both reached through `self`, so LLVM cannot
            // tell them apart, and a load of `w` after a store to `eps` would stay scalar.
            let wk = w[k];
            for i in 0..LANES {
                acc.0[i] = zj[i].mul_add(wk[i], acc.0[i]);
                acc.1[i] = zj[i].mul_add(zj[i], acc.1[i]);
            }
            eps[k] = *zj;
        }
    }

    /// Updates coordinates `k0 .. k0 + 4` (those below d) with this step's coefficients,
    /// accumulating ‖w‖², ⟨w*, w⟩ into `upd`, then stores the next step's normals `z` for them,
    /// accumulating ⟨ε', w'⟩, ‖ε'‖² into `next`: the update pass of one step fused with the noise
    /// pass of the next. Each sum still runs over k in order, so the bits are those of two passes.
    #[inline(always)]
    fn update_take_noise(
        &mut self,
        k0: usize,
        z: &[[f64; LANES]; 4],
        coef: &Sums2,
        upd: &mut Sums2,
        next: &mut Sums2,
    ) {
        let sigma = self.sigma;
        let (alpha, beta) = coef;
        let w = self.w.as_chunks_mut::<LANES>().0;
        let eps = self.eps.as_chunks_mut::<LANES>().0;
        for (j, zj) in z.iter().enumerate() {
            let k = k0 + j;
            if k >= self.dim {
                break;
            }
            let tk = self.target[k];
            let (wv, ev) = (w[k], eps[k]);
            let mut x = [0.0; LANES];
            for i in 0..LANES {
                x[i] = alpha[i].mul_add(wv[i], beta[i] * sigma.mul_add(ev[i], -tk));
                upd.0[i] = x[i].mul_add(x[i], upd.0[i]);
                upd.1[i] = tk.mul_add(x[i], upd.1[i]);
                next.0[i] = zj[i].mul_add(x[i], next.0[i]);
                next.1[i] = zj[i].mul_add(zj[i], next.1[i]);
            }
            w[k] = x;
            eps[k] = *zj;
        }
    }

    /// The noise pass of iteration `iteration` alone: draws ε into `eps`, returns (⟨ε, w⟩, ‖ε‖²)
    /// per lane (against the stored w).
    #[inline(always)]
    fn noise_pass<N: NoiseSource>(&mut self, iteration: u64, noise: &mut N) -> Sums2 {
        let mut acc = ([0.0; LANES], [0.0; LANES]);
        let blocks = self.dim.div_ceil(4);
        let mut b = 0;
        while b < blocks {
            if b + 1 < blocks {
                let [z0, z1] = noise.two_blocks(iteration, b as u32);
                self.take_noise(4 * b, &z0, &mut acc);
                self.take_noise(4 * b + 4, &z1, &mut acc);
                b += 2;
            } else {
                let z = noise.block(iteration, b as u32);
                self.take_noise(4 * b, &z, &mut acc);
                b += 1;
            }
        }
        acc
    }

    /// The update pass of the current step (coefficients `coef`) fused with the noise pass of
    /// iteration `next_iteration`: returns (‖w‖², ⟨w*, w⟩) and (⟨ε', w⟩, ‖ε'‖²).
    #[inline(always)]
    fn update_noise_pass<N: NoiseSource>(
        &mut self,
        coef: &Sums2,
        next_iteration: u64,
        noise: &mut N,
    ) -> (Sums2, Sums2) {
        let mut upd = ([0.0; LANES], [0.0; LANES]);
        let mut next = ([0.0; LANES], [0.0; LANES]);
        let blocks = self.dim.div_ceil(4);
        let mut b = 0;
        while b < blocks {
            if b + 1 < blocks {
                let [z0, z1] = noise.two_blocks(next_iteration, b as u32);
                self.update_take_noise(4 * b, &z0, coef, &mut upd, &mut next);
                self.update_take_noise(4 * b + 4, &z1, coef, &mut upd, &mut next);
                b += 2;
            } else {
                let z = noise.block(next_iteration, b as u32);
                self.update_take_noise(4 * b, &z, coef, &mut upd, &mut next);
                b += 1;
            }
        }
        (upd, next)
    }

    /// The update pass alone (the last step of a run): returns (‖w‖², ⟨w*, w⟩).
    #[inline(always)]
    fn update_pass(&mut self, coef: &Sums2) -> Sums2 {
        let sigma = self.sigma;
        let (alpha, beta) = coef;
        let (mut n2, mut dt) = ([0.0; LANES], [0.0; LANES]);
        // Each lane row is read whole into a local array and written back whole: interleaving
        // loads of `eps` with stores to `w` (which LLVM cannot prove disjoint) kept this loop
        // scalar, a third of the step's time.
        let w = self.w.as_chunks_mut::<LANES>().0;
        let eps = self.eps.as_chunks::<LANES>().0;
        for ((wk, ek), &tk) in w.iter_mut().zip(eps).zip(&self.target) {
            let (wv, ev) = (*wk, *ek);
            let mut x = [0.0; LANES];
            for i in 0..LANES {
                x[i] = alpha[i].mul_add(wv[i], beta[i] * sigma.mul_add(ev[i], -tk));
                n2[i] = x[i].mul_add(x[i], n2[i]);
                dt[i] = tk.mul_add(x[i], dt[i]);
            }
            *wk = x;
        }
        (n2, dt)
    }

    /// The step's coefficients `(α, β)` of `w' = α·w + β·(σε − w*)` (stored w) from the noise
    /// sums (⟨ε, w⟩, ‖ε‖²); records the noise trace.
    #[inline(always)]
    fn coefficients(&mut self, noise_sums: &Sums2) -> Sums2 {
        let (ew, ee) = noise_sums;
        let sigma = self.sigma;
        // Per-lane coefficients from local copies (64-byte arrays) so that every loop below is
        // straight vector code; the protocol branch sits outside the lane loops.
        let (first, second) = (self.first, self.second);
        let (rho2, scale, dot) = (self.rho2, self.scale, self.dot_target);
        let mut eta = [0.0; LANES];
        let mut wd = [0.0; LANES];
        match self.protocol {
            Protocol::FixedLr => {
                eta = first;
                wd = second;
            }
            Protocol::FixedElr => {
                for i in 0..LANES {
                    eta[i] = first[i] * rho2[i];
                }
                wd = second;
            }
            Protocol::FixedSphere => {
                for i in 0..LANES {
                    eta[i] = first[i] * second[i] * second[i];
                }
            }
        }
        let mut alpha = [0.0; LANES];
        let mut beta = [0.0; LANES];
        let mut trace = [0.0; LANES];
        for i in 0..LANES {
            let inv_rho2 = 1.0 / rho2[i];
            let inv = inv_rho2.sqrt();
            let ew_true = scale[i] * ew[i];
            let c = (dot[i] - sigma * ew_true) * inv_rho2;
            alpha[i] = scale[i] * (1.0 - eta[i] * wd[i] - eta[i] * c * inv);
            beta[i] = -eta[i] * inv;
            trace[i] = sigma * sigma * (ee[i] - ew_true * ew_true * inv_rho2);
        }
        self.noise_trace = trace;
        (alpha, beta)
    }

    /// Ends a step from the update sums (‖w̃‖², ⟨w*, w̃⟩): the norms, and on the fixed sphere
    /// the projection scale.
    #[inline(always)]
    fn finish(&mut self, update_sums: Sums2) {
        let (n2, dt) = update_sums;
        self.pre_norm_sq = n2;
        if self.protocol == Protocol::FixedSphere {
            let second = self.second;
            let (mut scale, mut rho2, mut dot) = ([0.0; LANES], [0.0; LANES], [0.0; LANES]);
            for i in 0..LANES {
                let r = second[i];
                scale[i] = r / n2[i].sqrt();
                rho2[i] = r * r;
                dot[i] = scale[i] * dt[i];
            }
            (self.scale, self.rho2, self.dot_target) = (scale, rho2, dot);
        } else {
            self.rho2 = n2;
            self.dot_target = dt;
        }
    }

    #[inline(always)]
    fn accumulate(&self, sums: &mut LaneSums) {
        sums.count += 1;
        let (rho2, dot, pre, trace) = (
            self.rho2,
            self.dot_target,
            self.pre_norm_sq,
            self.noise_trace,
        );
        let mut t = sums.clone_sums();
        for i in 0..LANES {
            let rho = rho2[i].sqrt();
            let c = dot[i] / rho;
            t[0][i] += 1.0 - c;
            t[1][i] += rho;
            t[2][i] += rho2[i];
            t[3][i] += 1.0 - c * c;
            t[4][i] += trace[i];
            t[5][i] += pre[i].sqrt();
            t[6][i] += pre[i];
        }
        sums.store_sums(t);
    }
}

/// The inner loop, inlined into each instruction-set variant below. A step is a noise pass then
/// an update pass; the update of each step but the last runs fused with the next step's noise
/// pass (one sweep over the coordinates per step instead of two).
#[inline(always)]
fn advance_inline<N: NoiseSource>(
    group: &mut ChainGroup,
    first_iteration: u64,
    steps: u64,
    noise: &mut N,
    mut sums: Option<&mut LaneSums>,
) {
    if steps == 0 {
        return;
    }
    let last = first_iteration + steps - 1;
    let mut noise_sums = group.noise_pass(first_iteration, noise);
    for t in first_iteration..=last {
        let coef = group.coefficients(&noise_sums);
        let update_sums = if t < last {
            let (u, n) = group.update_noise_pass(&coef, t + 1, noise);
            noise_sums = n;
            u
        } else {
            group.update_pass(&coef)
        };
        group.finish(update_sums);
        if let Some(s) = sums.as_deref_mut() {
            group.accumulate(s);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,fma")]
fn advance_avx512<N: NoiseSource>(
    group: &mut ChainGroup,
    first_iteration: u64,
    steps: u64,
    noise: &mut N,
    sums: Option<&mut LaneSums>,
) {
    advance_inline(group, first_iteration, steps, noise, sums);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn advance_avx2<N: NoiseSource>(
    group: &mut ChainGroup,
    first_iteration: u64,
    steps: u64,
    noise: &mut N,
    sums: Option<&mut LaneSums>,
) {
    advance_inline(group, first_iteration, steps, noise, sums);
}

/// One compiled instance of the chain loop. All compute the same bits (every multiply-add is an
/// explicit, correctly rounded `mul_add`, nothing else is contracted); they differ in speed only.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// x86-64 with AVX-512F/DQ/VL and FMA: the lane loops are single 512-bit operations.
    Avx512,
    /// x86-64 with AVX2 and FMA.
    Avx2,
    /// Whatever the build targets (baseline x86-64: SSE2, and `mul_add` a libm call).
    Portable,
}

impl Variant {
    /// The widest variant this CPU runs.
    pub fn detect() -> Self {
        [Self::Avx512, Self::Avx2]
            .into_iter()
            .find(|v| v.available())
            .unwrap_or(Self::Portable)
    }

    /// Whether this CPU can run the variant (cached feature checks, an atomic load each).
    pub fn available(self) -> bool {
        match self {
            Self::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Self::Avx512 => {
                std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx512dq")
                    && std::is_x86_feature_detected!("avx512vl")
                    && std::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => {
                std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
            }
            #[cfg(not(target_arch = "x86_64"))]
            Self::Avx512 | Self::Avx2 => false,
        }
    }
}

/// Picks the widest vector unit this CPU has (checked on every call: a few cached atomic loads
/// per run of steps).
fn dispatch<N: NoiseSource>(
    group: &mut ChainGroup,
    first_iteration: u64,
    steps: u64,
    noise: &mut N,
    sums: Option<&mut LaneSums>,
) {
    let ran = advance_variant(
        Variant::detect(),
        group,
        first_iteration,
        steps,
        noise,
        sums,
    );
    debug_assert!(ran, "the detected variant always runs");
}

/// Advances with one given [`Variant`], for tests that compare them bitwise. Returns false (and
/// does nothing) when this CPU cannot run it.
#[doc(hidden)]
pub fn advance_variant<N: NoiseSource>(
    variant: Variant,
    group: &mut ChainGroup,
    first_iteration: u64,
    steps: u64,
    noise: &mut N,
    sums: Option<&mut LaneSums>,
) -> bool {
    if !variant.available() {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    match variant {
        Variant::Avx512 => {
            // SAFETY: `available` checked AVX-512F/DQ/VL and FMA, every feature `advance_avx512`
            // is compiled for.
            unsafe { advance_avx512(group, first_iteration, steps, noise, sums) };
            return true;
        }
        Variant::Avx2 => {
            // SAFETY: `available` checked AVX2 and FMA, the features `advance_avx2` enables.
            unsafe { advance_avx2(group, first_iteration, steps, noise, sums) };
            return true;
        }
        Variant::Portable => {}
    }
    advance_inline(group, first_iteration, steps, noise, sums);
    true
}

#[cfg(test)]
mod tests {
    use super::{LANES, NoiseSource, PhiloxNoise};
    use crate::rng::{Stream, counter, normals_from_block, philox_key, philox4x32_10, point_seed};

    /// The batched noise is the documented stream: lane `i`, block `b`, iteration `t` gives
    /// `normals_from_block(philox(counter(b, t, StepNoise), key(seed_i)))`, bit for bit.
    #[test]
    fn batched_noise_is_the_documented_stream() {
        let seeds: [u64; LANES] = std::array::from_fn(|i| point_seed(3, i as u32, 1));
        let mut noise = PhiloxNoise::new(seeds);
        for (t, b) in [(1u64, 0u32), (77, 5), (1 << 33, 2)] {
            let one = noise.block(t, b);
            let two = noise.two_blocks(t, b);
            for (i, seed) in seeds.iter().enumerate() {
                for (blk, got) in [(b, &one), (b, &two[0]), (b + 1, &two[1])] {
                    let want = normals_from_block(philox4x32_10(
                        counter(blk, t, Stream::StepNoise),
                        philox_key(*seed),
                    ));
                    for j in 0..4 {
                        assert_eq!(
                            got[j][i].to_bits(),
                            want[j].to_bits(),
                            "t {t} block {blk} lane {i} normal {j}"
                        );
                    }
                }
            }
        }
    }
}
