#!/usr/bin/env python3
"""NumPy reference for the isotropic chains (SPEC.md §16, "Reference speed").

Runs the fixed-LR update of SPEC §5.1 for B chains in dimension d, float64, with NumPy's
default generator drawing the noise each step, and prints JSON with coordinate updates per second
(steps * chains * d / seconds). The Rust benchmark (`cargo bench -p sweep-kernels --bench chains`)
runs this script and prints its own throughput as a ratio against it.

Usage: chains_numpy.py [--chains 64] [--dims 100,1000] [--seconds 2]
"""
import argparse
import json
import time

import numpy as np


def run(chains: int, dim: int, min_seconds: float) -> dict:
    rng = np.random.default_rng(42)
    target = rng.standard_normal(dim)
    target /= np.linalg.norm(target)
    w = rng.standard_normal((chains, dim))
    w /= np.linalg.norm(w, axis=1, keepdims=True)
    lr = np.geomspace(1e-3, 1e-1, chains)[:, None]
    wd = np.full((chains, 1), 1e-2)
    sigma = 1.0
    steps = 0
    start = time.perf_counter()
    while True:
        for _ in range(50):
            norm2 = np.einsum("ij,ij->i", w, w)[:, None]
            norm = np.sqrt(norm2)
            eps = sigma * rng.standard_normal((chains, dim)) / norm
            eps -= (np.einsum("ij,ij->i", eps, w)[:, None] / norm2) * w
            grad = -(target - (w @ target)[:, None] / norm2 * w) / norm
            w = w - lr * (grad + eps + wd * w)
        steps += 50
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            break
    return {"chains": chains, "dim": dim, "steps": steps, "seconds": elapsed,
            "updates_per_second": steps * chains * dim / elapsed}


def paper_grid(steps: int) -> dict:
    """The paper's isotropic fixed-LR grid (17 x 17 chains, d = 3), chains only, `steps` steps."""
    rng = np.random.default_rng(42)
    dim = 3
    target = rng.standard_normal(dim)
    target /= np.linalg.norm(target)
    lr, wd = np.meshgrid(np.geomspace(1e-3, 1e-1, 17), np.geomspace(1e-3, 1e-1, 17), indexing="ij")
    lr, wd = lr.reshape(-1, 1), wd.reshape(-1, 1)
    w = np.tile(rng.standard_normal(dim), (lr.shape[0], 1))
    w /= np.linalg.norm(w, axis=1, keepdims=True)
    start = time.perf_counter()
    for _ in range(steps):
        norm2 = np.einsum("ij,ij->i", w, w)[:, None]
        norm = np.sqrt(norm2)
        eps = rng.standard_normal(w.shape) / norm
        eps -= (np.einsum("ij,ij->i", eps, w)[:, None] / norm2) * w
        grad = -(target - (w @ target)[:, None] / norm2 * w) / norm
        w = w - lr * (grad + eps + wd * w)
    elapsed = time.perf_counter() - start
    return {"steps": steps, "seconds": elapsed, "seconds_per_step": elapsed / steps}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--chains", type=int, default=64)
    p.add_argument("--dims", default="100,1000")
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--grid-steps", type=int, default=20000,
                   help="steps of the 17x17 d=3 paper grid to time (extrapolated by the caller)")
    a = p.parse_args()
    out = [run(a.chains, int(d), a.seconds) for d in a.dims.split(",")]
    grid = paper_grid(a.grid_steps) if a.grid_steps > 0 else None
    print(json.dumps({"numpy": np.__version__, "results": out, "paper_grid": grid}))


if __name__ == "__main__":
    main()
