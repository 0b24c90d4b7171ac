"""JAX baseline for `cargo bench -p sweep-nn --bench step`: the same ConvNet and ResNet-18 (the
model code of tests/jax_reference.py, imported, not copied), in float32, on the CPU.

For each case it times, after a warm-up call that compiles:
  * step: one jitted training step at batch 128: draw the batch, gather and normalise its bytes,
    loss and gradient, then the fixed-ELR SGD update w <- (1 - lr wd) w - lr g, lr = elr |w|^2
    (sweep_nn::train::Trainer::step with Update::FixedElr);
  * trsigma: one trace-of-Sigma measurement (jitted pieces, see build()) (sweep_nn::train::gradient_statistics): the
    full-batch gradient over 2048 images in chunks of 1024, then M = 16 fresh batches of 128 and
    the RMS of their gradients around it.
The times are medians over --reps-step / --reps-trsigma calls, in milliseconds. JAX uses whatever threads XLA picks.

Output: one JSON object per line. First {"jax": version, ...}, then one per case:
{"case": "convnet-mnist", "step_ms": ..., "trsigma_ms": ..., ...}.
If JAX cannot be imported it prints {"skipped": reason} and exits with status 3.

Usage: python3 jax_step.py [--reps-step N] [--reps-trsigma N] [--cases convnet-mnist,...]
"""
import argparse
import json
import os
import statistics
import sys
import time

# The model code lives with the tests (tests/jax_reference.py, the oracle of tests/jax_oracle.rs).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

try:
    import numpy as np
    import jax
    import jax.numpy as jnp

    import jax_reference as ref
except ImportError as e:  # no JAX: the Rust bench prints our timings alone
    print(json.dumps({"skipped": f"cannot import JAX ({e}); pip install jax"}), flush=True)
    sys.exit(3)

# float32 throughout. Importing jax_reference does not switch on jax_enable_x64 (only its main()
# does), but say so explicitly in case the environment sets JAX_ENABLE_X64.
jax.config.update("jax_enable_x64", False)
F32 = jnp.float32

BATCH = 128  # training batch and trace-of-Sigma mini-batch
TRAIN = 2048  # training-set size for the trace-of-Sigma measurement
CHUNK = 1024  # full-batch chunk (sweep_nn::train::FULL_BATCH_CHUNK)
SAMPLES = 16  # M fresh mini-batches
CLASSES = 10
BN_EPS = 1e-5  # sweep_nn's BatchNorm epsilon
ELR, WD = 1e-3, 1e-3  # Update::FixedElr as in the Rust bench
HEAD_NORM = 10.0

# case name -> (arch, width, in_channels); the input kind follows the name.
CASES = {
    "convnet-mnist": ("convnet", 8, 1),
    "convnet-cifar": ("convnet", 8, 3),
    "resnet18-mnist": ("resnet18", 4, 1),
    "resnet18-cifar": ("resnet18", 4, 3),
}


def synthetic_data(cin, rng):
    """Random bytes shaped like the data set. MNIST-shaped images are drawn 28x28 and zero-padded
    to 32x32, as sweep_nn's Dataset::mnist_family does on load, so both sides see 32x32."""
    if cin == 1:
        raw = rng.integers(0, 256, (TRAIN, 1, 28, 28), dtype=np.uint8)
        pixels = np.pad(raw, ((0, 0), (0, 0), (2, 2), (2, 2)))
    else:
        pixels = rng.integers(0, 256, (TRAIN, 3, 32, 32), dtype=np.uint8)
    labels = rng.integers(0, CLASSES, TRAIN, dtype=np.int32)
    return jnp.asarray(pixels), jnp.asarray(labels)


def make_loss(arch, width, cin, rng):
    """loss(si, pixel_bytes, labels) with a frozen random head, BatchNorm in training mode."""
    shp = ref.shapes(arch, width, cin)
    feats = 8 * width
    head_w = rng.uniform(-1.0, 1.0, (CLASSES, feats))
    head_w = jnp.asarray(head_w * HEAD_NORM / np.linalg.norm(head_w), dtype=F32)
    # The ConvNet's head has a bias, the ResNet's has none (zeros cost the same add).
    bias = rng.uniform(-0.1, 0.1, CLASSES) if arch == "convnet" else np.zeros(CLASSES)
    head_b = jnp.asarray(bias, dtype=F32)
    mean = jnp.full((1, cin, 1, 1), 0.5, dtype=F32)
    std = jnp.full((1, cin, 1, 1), 0.25, dtype=F32)

    def loss(si, pixel_bytes, labels):
        x = (pixel_bytes.astype(F32) / 255.0 - mean) / std  # Dataset::batch's normalisation
        f = ref.features(arch, ref.unflatten(si, shp), shp, x, BN_EPS)
        logits = f @ head_w.T + head_b
        lse = jax.scipy.special.logsumexp(logits, axis=1)
        return jnp.mean(lse - jnp.take_along_axis(logits, labels[:, None], axis=1)[:, 0])

    dim = sum(a * b * k * k for (a, b, k, _, _) in shp)
    si = rng.uniform(-1.0, 1.0, dim)
    return loss, jnp.asarray(si / np.linalg.norm(si), dtype=F32)


def build(loss):
    """The jitted training step and trace-of-Sigma measurement for one model."""
    key = jax.random.PRNGKey(1)

    def draw(pixels, labels, t):
        # Iteration t's i.i.d. batch, like BatchSampler::fill (a counter-based draw).
        idx = jax.random.randint(jax.random.fold_in(key, t), (BATCH,), 0, TRAIN)
        return pixels[idx], labels[idx]

    @jax.jit
    def step(si, pixels, labels, t):
        x, y = draw(pixels, labels, t)
        l, g = jax.value_and_grad(loss)(si, x, y)
        lr = ELR * jnp.sum(si * si)  # fixed ELR: the norm before the step
        return (1.0 - lr * WD) * si - lr * g, l

    # The trace-of-Sigma measurement is jitted in two pieces driven from Python. One jit around
    # both loops (lax.map) compiles to XLA while-loops that ran ~7x slower on the CPU than these
    # pieces; the Python loop adds only one dispatch per gradient.
    chunk_grad = jax.jit(jax.value_and_grad(loss))

    @jax.jit
    def sq_dist(si, full, pixels, labels, t):
        x, y = draw(pixels, labels, t)
        return jnp.sum((jax.grad(loss)(si, x, y) - full) ** 2)

    def trsigma(si, pixels, labels, t0, warm_up=False):
        # Full-batch gradient: chunks of CHUNK, each with its own BatchNorm statistics.
        full, full_loss = jnp.zeros_like(si), 0.0
        for start in range(0, CHUNK if warm_up else TRAIN, CHUNK):
            l, g = chunk_grad(si, pixels[start:start + CHUNK], labels[start:start + CHUNK])
            w = CHUNK / TRAIN
            full, full_loss = full + w * g, full_loss + w * l
        # M fresh mini-batches and their squared distance to it.
        sq = sum(sq_dist(si, full, pixels, labels, t0 + m) for m in range(1 if warm_up else SAMPLES))
        return full_loss, jnp.linalg.norm(full), jnp.sqrt(sq / SAMPLES)

    return step, trsigma


def median_ms(f, reps):
    """Median wall time of f() over reps calls (f must block until its result is ready)."""
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def run_case(name, reps_step, reps_trsigma):
    arch, width, cin = CASES[name]
    rng = np.random.default_rng(7)
    pixels, labels = synthetic_data(cin, rng)
    loss, si = make_loss(arch, width, cin, rng)
    step, trsigma = build(loss)

    # Warm-up: the first call of each jitted function compiles it (for the measurement, one chunk
    # gradient and one mini-batch distance compile both of its pieces).
    t0 = time.perf_counter()
    si, _ = jax.block_until_ready(step(si, pixels, labels, 0))
    jax.block_until_ready(trsigma(si, pixels, labels, 1_000_000, warm_up=True))
    compile_s = time.perf_counter() - t0

    state = {"si": si, "t": 1}

    def one_step():
        # Each timed call is a real step from the previous weights, on a new batch.
        state["si"], _ = jax.block_until_ready(step(state["si"], pixels, labels, state["t"]))
        state["t"] += 1

    def one_trsigma():
        jax.block_until_ready(trsigma(state["si"], pixels, labels, 1_000_000))

    step_ms = median_ms(one_step, reps_step)
    trsigma_ms = median_ms(one_trsigma, reps_trsigma)
    return {"case": name, "dim": int(si.shape[0]), "dtype": str(si.dtype), "step_ms": step_ms,
            "trsigma_ms": trsigma_ms, "compile_s": compile_s}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps-step", type=int, default=5)
    ap.add_argument("--reps-trsigma", type=int, default=1)
    ap.add_argument("--cases", default=",".join(CASES))
    args = ap.parse_args()
    if args.reps_step < 1 or args.reps_trsigma < 1:
        sys.exit("--reps-step and --reps-trsigma must be at least 1")
    names = [c for c in args.cases.split(",") if c]
    unknown = [c for c in names if c not in CASES]
    if unknown:
        sys.exit(f"unknown case(s) {unknown}; known: {list(CASES)}")
    print(json.dumps({"jax": jax.__version__, "backend": jax.default_backend(),
                      "devices": [str(d) for d in jax.devices()], "cpus": os.cpu_count()}), flush=True)
    for name in names:
        print(json.dumps(run_case(name, args.reps_step, args.reps_trsigma)), flush=True)


if __name__ == "__main__":
    main()
