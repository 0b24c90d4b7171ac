#!/usr/bin/env python3
"""NumPy baseline for kernels/benches/entropy.rs (SPEC "Reference speed").

Times, on the same shapes as the Rust benchmark:
  * the nearest-neighbour step: one X @ X.T (float32 and float64), alone and with the
    row minimum of |a|^2 + |b|^2 - 2 a.b (diagonal excluded);
  * the whole spherical Kozachenko-Leonenko estimator (angles via reverse cumulative sums,
    log-Jacobian, 1-NN through a float64 BLAS product, KL constant), N = 1000.
Prints one JSON object: {"numpy": version, "blas": name, "nn": [...], "estimate": [...]},
times in seconds (best of a few runs). Arguments: --quick skips the N = 4000 shape;
--nn N D times only that nearest-neighbour shape (no estimator), --no-f64 skips its float64
rows, --estimate-only times only the estimator. The Rust benchmark alternates `--nn` calls with
its own timings, so that both see the same machine load on a shared VM.
Unset OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE before running for a fair baseline.
"""
import json
import math
import sys
import time

import numpy as np


def best_of(fn, reps):
    best = math.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def nn_min(x):
    g = x @ x.T
    sq = np.einsum("ij,ij->i", x, x)
    d = sq[:, None] + sq[None, :] - 2.0 * g
    np.fill_diagonal(d, np.inf)
    return np.sqrt(np.maximum(d.min(axis=1), 0.0))


def estimate(u, radii):
    n, d = u.shape
    tail = np.sqrt(np.cumsum((u * u)[:, ::-1], axis=1)[:, ::-1])
    theta = np.empty((n, d - 1))
    theta[:, : d - 2] = np.arctan2(tail[:, 1 : d - 1], u[:, : d - 2])
    last = np.arctan2(u[:, d - 1], u[:, d - 2])
    theta[:, d - 2] = np.where(last < 0, last + 2 * np.pi, last)
    log_j = np.log(np.maximum(tail[:, 1 : d - 1], 1e-8)).sum(axis=1)
    eps = np.maximum(nn_min(theta), 1e-8)
    m = d - 1
    log_v = 0.5 * m * math.log(math.pi) - math.lgamma(0.5 * m + 1)
    h = m * np.log(eps).mean() + log_v + math.log(n - 1) + 0.5772156649015329
    return h + log_j.mean() + m * math.log(radii.mean())


def main():
    quick = "--quick" in sys.argv
    rng = np.random.default_rng(0)
    out = {"numpy": np.__version__, "nn": [], "estimate": []}
    try:
        cfg = np.show_config(mode="dicts")
        out["blas"] = cfg["Build Dependencies"]["blas"]["name"]
    except Exception:  # noqa: BLE001 - diagnostic only
        out["blas"] = "unknown"
    args = sys.argv[1:]
    if "--nn" in args:
        i = args.index("--nn")
        shapes = [(int(args[i + 1]), int(args[i + 2]))]
    elif "--estimate-only" in args:
        shapes = []
    else:
        shapes = [(1000, 10000)] + ([] if quick else [(4000, 24408)])
    f64 = "--no-f64" not in args
    for n, d in shapes:
        reps = 3 if n * d < 2e7 else 2
        x64 = rng.uniform(0.0, np.pi, size=(n, d))
        x32 = x64.astype(np.float32)
        row = {"n": n, "d": d}
        row["f32_gemm"] = best_of(lambda: x32 @ x32.T, reps)
        row["f32_nn"] = best_of(lambda: nn_min(x32), reps)
        if f64:
            row["f64_gemm"] = best_of(lambda: x64 @ x64.T, reps)
            row["f64_nn"] = best_of(lambda: nn_min(x64), reps)
        out["nn"].append(row)
        del x64, x32
    if "--nn" in args:
        print(json.dumps(out))
        return
    for n, d in [(1000, 100), (1000, 10000)]:
        u = rng.standard_normal((n, d))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        radii = np.ones(n)
        out["estimate"].append(
            {"n": n, "d": d, "seconds": best_of(lambda: estimate(u, radii), 5 if d < 1000 else 3)}
        )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
