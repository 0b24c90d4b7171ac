//! A CPU emulation of `isotropic.cu` (test only): the kernels' arithmetic and buffer layout,
//! transcribed line for line, behind [`ChainDevice`]. Running [`drive`] on it and comparing with
//! [`run_isotropic`] checks, without a GPU, the host loop (segments, copies, event replay,
//! summaries) and the kernel's formulas as written in the .cu file. It cannot check the CUDA
//! compiler or the device; the GPU oracle tests do that.

use sweep_theory::Protocol;

use super::iso_host::{ChainDevice, IsoArgs, Plan, SegmentHost, drive};
use super::layout::{
    N_SERIES, N_STATE, N_SUMS, chain_keys, protocol_code, series_index, snapshot_index, sums_index,
};
use crate::error::KernelError;
use crate::isotropic::config::IsotropicBatch;
use crate::isotropic::run_isotropic;
use crate::observer::{BatchObserver, SeriesRow};
use crate::rng::{Stream, counter, normals_from_block, philox4x32_10, unit_vector};

struct Emulator {
    n: usize,
    dim: usize,
    protocol: i32,
    init_radius: f64,
    target: Vec<f64>,
    start: Vec<f64>,
    first: Vec<f64>,
    second: Vec<f64>,
    keys: Vec<u32>,
    bounds: Vec<u64>,
    w: Vec<f64>,
    state: Vec<f64>,
    diverged: Vec<u64>,
    sums: Vec<f64>,
    series: Vec<f64>,
    snaps: Vec<f64>,
    radii: Vec<f64>,
}

impl Emulator {
    fn new(batch: &IsotropicBatch, plan: &Plan) -> Self {
        let (n, dim) = (plan.n, plan.dim);
        Self {
            n,
            dim,
            protocol: protocol_code(batch.protocol),
            init_radius: batch.init_radius,
            target: unit_vector(batch.model.target_seed, dim, Stream::Target).unwrap(),
            start: unit_vector(batch.sweep_seed, dim, Stream::InitialDirection).unwrap(),
            first: batch.points.iter().map(|p| p.first).collect(),
            second: batch.points.iter().map(|p| p.second).collect(),
            keys: chain_keys(&batch.points),
            bounds: plan.bounds.clone(),
            w: vec![0.0; dim * n],
            state: vec![0.0; N_STATE * n],
            diverged: vec![0; n],
            sums: vec![0.0; (plan.bounds.len() - 1) * N_SUMS * n],
            series: vec![0.0; plan.series_cap * N_SERIES * n],
            snaps: vec![0.0; plan.snap_cap * dim * n],
            radii: vec![0.0; plan.snap_cap * n],
        }
    }

    /// `iso_advance` for chain `c`.
    #[allow(clippy::needless_range_loop)] // indexes like the kernel it transcribes
    fn advance_chain(&mut self, a: &IsoArgs, c: usize) {
        let (n, dim) = (self.n, self.dim);
        if self.diverged[c] != 0 {
            return;
        }
        let key = [self.keys[2 * c], self.keys[2 * c + 1]];
        let (sigma, p_first, p_second) = (a.sigma, self.first[c], self.second[c]);
        let st = |f: usize| f * n + c;
        let (mut scale, mut rho2, mut dot, mut pre, mut trace) = (
            self.state[st(0)],
            self.state[st(1)],
            self.state[st(2)],
            self.state[st(3)],
            self.state[st(4)],
        );
        let mut eps = vec![0.0f64; dim];
        let mut batch: Option<usize> = None;
        let mut acc = [0.0f64; N_SUMS];
        let mut diverged = 0;
        for t in a.t0 + 1..=a.t0 + a.steps {
            let (mut ew, mut ee) = (0.0f64, 0.0f64);
            for b in 0..dim.div_ceil(4) {
                let z =
                    normals_from_block(philox4x32_10(counter(b as u32, t, Stream::StepNoise), key));
                for (j, zj) in z.iter().enumerate() {
                    let k = 4 * b + j;
                    if k < dim {
                        eps[k] = *zj;
                        ew = zj.mul_add(self.w[k * n + c], ew);
                        ee = zj.mul_add(*zj, ee);
                    }
                }
            }
            let (eta, wd) = match a.protocol {
                0 => (p_first, p_second),
                1 => (p_first * rho2, p_second),
                _ => (p_first * p_second * p_second, 0.0),
            };
            let inv_rho2 = 1.0 / rho2;
            let inv = inv_rho2.sqrt();
            let ew_true = scale * ew;
            let cc = (dot - sigma * ew_true) * inv_rho2;
            let alpha = scale * (1.0 - eta * wd - eta * cc * inv);
            let beta = -eta * inv;
            trace = sigma * sigma * (ee - ew_true * ew_true * inv_rho2);
            let (mut n2, mut dt) = (0.0f64, 0.0f64);
            for k in 0..dim {
                let tk = self.target[k];
                let x = alpha.mul_add(self.w[k * n + c], beta * sigma.mul_add(eps[k], -tk));
                self.w[k * n + c] = x;
                n2 = x.mul_add(x, n2);
                dt = tk.mul_add(x, dt);
            }
            pre = n2;
            if a.protocol == 2 {
                scale = p_second / n2.sqrt();
                rho2 = p_second * p_second;
                dot = scale * dt;
            } else {
                rho2 = n2;
                dot = dt;
            }
            if !(rho2.is_finite() && rho2 > 0.0 && dot.is_finite()) {
                diverged = t;
                break;
            }
            let nb = a.n_batches as usize;
            if nb > 0 && t > self.bounds[0] {
                let mut want = batch.unwrap_or(0);
                while want < nb - 1 && t > self.bounds[want + 1] {
                    want += 1;
                }
                if Some(want) != batch {
                    if let Some(b) = batch {
                        for (f, v) in acc.iter().enumerate() {
                            self.sums[sums_index(b, f, c, n)] = *v;
                        }
                    }
                    batch = Some(want);
                    for (f, v) in acc.iter_mut().enumerate() {
                        *v = self.sums[sums_index(want, f, c, n)];
                    }
                }
                let rho = rho2.sqrt();
                let cw = dot / rho;
                acc[0] += 1.0 - cw;
                acc[1] += rho;
                acc[2] += rho2;
                acc[3] += 1.0 - cw * cw;
                acc[4] += trace;
                acc[5] += pre.sqrt();
                acc[6] += pre;
            }
            if t % a.log_every == 0 {
                let s = (t / a.log_every - a.series_base - 1) as usize;
                let rho = rho2.sqrt();
                let cw = dot / rho;
                self.series[series_index(s, 0, c, n)] = 1.0 - dot / rho;
                self.series[series_index(s, 1, c, n)] = rho;
                self.series[series_index(s, 2, c, n)] = 1.0 - cw * cw;
                self.series[series_index(s, 3, c, n)] = trace;
            }
            if a.push_every != 0 && t % a.push_every == 0 {
                let s = (t / a.push_every - a.push_base - 1) as usize;
                let rho = rho2.sqrt();
                let f = scale / rho;
                for k in 0..dim {
                    self.snaps[snapshot_index(s, k, c, dim, n)] = self.w[k * n + c] * f;
                }
                self.radii[s * n + c] = rho;
            }
        }
        if let Some(b) = batch {
            for (f, v) in acc.iter().enumerate() {
                self.sums[sums_index(b, f, c, n)] = *v;
            }
        }
        for (f, v) in [scale, rho2, dot, pre, trace].into_iter().enumerate() {
            self.state[st(f)] = v;
        }
        self.diverged[c] = diverged;
    }
}

impl ChainDevice for Emulator {
    fn init(&mut self) -> Result<(), KernelError> {
        let (n, dim) = (self.n, self.dim);
        for c in 0..n {
            let r = if self.protocol == 2 {
                self.second[c]
            } else {
                self.init_radius
            };
            let (mut n2, mut dt) = (0.0, 0.0);
            for k in 0..dim {
                let x = self.start[k] * r;
                self.w[k * n + c] = x;
                n2 += x * x;
                dt += self.target[k] * x;
            }
            for (f, v) in [1.0, n2, dt, n2, 0.0].into_iter().enumerate() {
                self.state[f * n + c] = v;
            }
            self.diverged[c] = 0;
        }
        Ok(())
    }

    fn advance(&mut self, args: &IsoArgs) -> Result<(), KernelError> {
        for c in 0..self.n {
            self.advance_chain(args, c);
        }
        Ok(())
    }

    fn fetch(
        &mut self,
        n_series: usize,
        n_snaps: usize,
        out: &mut SegmentHost,
    ) -> Result<(), KernelError> {
        let (n, dim) = (self.n, self.dim);
        out.diverged_at = self.diverged.clone();
        out.series = self.series[..n_series * N_SERIES * n].to_vec();
        out.snaps = self.snaps[..n_snaps * dim * n].to_vec();
        out.radii = self.radii[..n_snaps * n].to_vec();
        Ok(())
    }

    fn sums(&mut self) -> Result<Vec<f64>, KernelError> {
        Ok(self.sums.clone())
    }
}

#[derive(Default)]
struct Rows(std::sync::Mutex<Vec<SeriesRow>>);

impl BatchObserver for Rows {
    fn series(&self, rows: Vec<SeriesRow>) {
        self.0.lock().unwrap().extend(rows);
    }
}

impl Rows {
    fn sorted(self) -> Vec<SeriesRow> {
        let mut v = self.0.into_inner().unwrap();
        v.sort_by_key(|r| (r.point, r.replica, r.iteration));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::EstimatorMode;
    use crate::isotropic::{ChainPoint, EntropySchedule, IsotropicModel, Schedule};

    fn batch(protocol: Protocol, dim: usize) -> IsotropicBatch {
        let hyper = match protocol {
            Protocol::FixedLr => vec![(0.01, 0.1), (0.05, 0.5), (0.002, 1.0)],
            Protocol::FixedElr => vec![(0.01, 0.1), (0.02, 0.5), (0.005, 1.0)],
            Protocol::FixedSphere => vec![(0.01, 1.0), (0.02, 2.0), (0.005, 0.5)],
        };
        IsotropicBatch {
            model: IsotropicModel {
                dim,
                sigma2: 1.0,
                target_seed: 44,
            },
            protocol,
            init_radius: 1.0,
            sweep_seed: 42,
            schedule: Schedule {
                iterations: 3_000,
                log_every: 7,
                average_last: 1_300,
            },
            entropy: Some(EntropySchedule {
                queue: 60,
                every: 11,
                log_every: 250,
                average_last: 4,
                mode: EstimatorMode::Reflected,
            }),
            points: ChainPoint::for_sweep(5, &hyper, 3),
        }
    }

    /// Equal bit for bit (NaN equal to NaN).
    fn same(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    /// The host loop on the emulated kernel reproduces the CPU backend bit for bit: series rows
    /// (loss, radius, trace, gradient, entropy), summaries and statuses, for every protocol, with
    /// segments forced small so that every buffer wraps many times.
    #[test]
    fn emulated_device_equals_the_cpu_backend() {
        for protocol in [Protocol::FixedLr, Protocol::FixedElr, Protocol::FixedSphere] {
            for dim in [3, 6] {
                let b = batch(protocol, dim);
                let cpu_rows = Rows::default();
                let cpu = run_isotropic(&b, &cpu_rows).unwrap();
                for small in [false, true] {
                    let mut plan = Plan::new(&b);
                    if small {
                        plan.series_cap = 3;
                        plan.snap_cap = 2;
                        plan.work = 97;
                    }
                    let mut dev = Emulator::new(&b, &plan);
                    let rows = Rows::default();
                    let got = drive(&b, &plan, &mut dev, &rows).unwrap();
                    let got_rows = rows.sorted();
                    let cpu_sorted = {
                        let mut v = cpu_rows.0.lock().unwrap().clone();
                        v.sort_by_key(|r| (r.point, r.replica, r.iteration));
                        v
                    };
                    // The comparison has substance: every chain logged, and estimated entropy.
                    // 428 loss samples and 9 entropy-only rows (estimates at 750, 1000, …, 3000,
                    // one of which, 1750, is also a loss sample) per chain.
                    assert_eq!(cpu_sorted.len(), b.points.len() * (428 + 9));
                    assert!(cpu.iter().all(|s| s.entropy_estimates == 4));
                    assert_eq!(cpu_sorted, got_rows, "{protocol:?} d={dim} small={small}");
                    assert_eq!(cpu.len(), got.len());
                    for (g, c) in got.iter().zip(&cpu) {
                        assert_eq!(g.status, c.status);
                        assert_eq!(g.entropy_estimates, c.entropy_estimates);
                        for (name, x, y) in [
                            ("loss_mean", g.loss_mean, c.loss_mean),
                            ("loss_sem", g.loss_sem, c.loss_sem),
                            ("radius_mean", g.radius_mean, c.radius_mean),
                            ("radius_sem", g.radius_sem, c.radius_sem),
                            ("radius_sq_mean", g.radius_sq_mean, c.radius_sq_mean),
                            ("entropy_unit", g.entropy_unit, c.entropy_unit),
                            ("entropy", g.entropy, c.entropy),
                            ("trace_sigma", g.trace_sigma, c.trace_sigma),
                            ("full_grad_sq", g.full_grad_sq, c.full_grad_sq),
                            ("wd_eff", g.wd_eff, c.wd_eff),
                            ("wd_eff_linear", g.wd_eff_linear, c.wd_eff_linear),
                            ("pressure", g.pressure, c.pressure),
                            ("volume", g.volume, c.volume),
                        ] {
                            assert!(same(x, y), "{protocol:?} d={dim} {name}: {x} vs {y}");
                        }
                    }
                }
            }
        }
    }
}
