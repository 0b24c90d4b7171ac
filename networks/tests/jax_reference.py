"""Independent reference for sweep-nn's models: ConvNet(c) and pre-activation ResNet-18(k) written
from SPEC §7.1 in JAX (float64, PyTorch layouts: NCHW inputs, OIHW conv weights), returning the
batch loss and its gradient with respect to the flat scale-invariant vector.

Usage: python3 jax_reference.py INPUT.json  -> prints the loss, then the gradient, one per line.
Run as a script it switches JAX to float64 (jax_enable_x64) before building any array; imported
as a module (benches/jax_step.py does) it leaves the precision to the importer, and the model
functions follow the dtype of the arrays they are given.
INPUT holds arch ("convnet" | "resnet18"), width, in_channels, classes, eps, si, head_w, head_b,
x (NCHW, flat), n, labels.
"""
import json
import sys

import jax
import jax.numpy as jnp
from jax import lax


def conv(x, w, stride, pad):
    return lax.conv_general_dilated(x, w, (stride, stride), [(pad, pad), (pad, pad)],
                                    dimension_numbers=("NCHW", "OIHW", "NCHW"))


def bn(x, eps):
    m = x.mean(axis=(0, 2, 3), keepdims=True)
    v = ((x - m) ** 2).mean(axis=(0, 2, 3), keepdims=True)
    return (x - m) / jnp.sqrt(v + eps)


def maxpool(x, k):
    return lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, k, k), (1, 1, k, k), "VALID")


def avgpool(x, k):
    return lax.reduce_window(x, 0.0, lax.add, (1, 1, k, k), (1, 1, k, k), "VALID") / (k * k)


def shapes(arch, width, cin):
    """(c_out, c_in, k, stride, pad) of every conv, in the flat vector's order."""
    if arch == "convnet":
        c = width
        return [(c, cin, 3, 1, 1), (2 * c, c, 3, 1, 1), (4 * c, 2 * c, 3, 1, 1), (8 * c, 4 * c, 3, 1, 1)]
    k = width
    out = [(k, cin, 3, 1, 1)]
    c_in = k
    for stage, mult in enumerate([1, 2, 4, 8]):
        for b in range(2):
            stride = 2 if stage > 0 and b == 0 else 1
            out.append((mult * k, c_in, 3, stride, 1))
            out.append((mult * k, mult * k, 3, 1, 1))
            if stride != 1 or c_in != mult * k:
                out.append((mult * k, c_in, 1, stride, 0))
            c_in = mult * k
    return out


def unflatten(si, shp):
    ws, o = [], 0
    for (co, ci, k, _, _) in shp:
        size = co * ci * k * k
        ws.append(si[o:o + size].reshape(co, ci, k, k))
        o += size
    return ws


def features(arch, ws, shp, x, eps):
    if arch == "convnet":
        h = x
        for i, (w, s) in enumerate(zip(ws, shp)):
            h = jax.nn.relu(bn(conv(h, w, s[3], s[4]), eps))
            if i > 0:
                h = maxpool(h, 2)
        return maxpool(h, 4).reshape(x.shape[0], -1)
    h = conv(x, ws[0], 1, 1)
    i = 1
    while i < len(ws):
        w_a, s_a = ws[i], shp[i]
        has_sc = i + 2 < len(ws) and shp[i + 2][2] == 1
        o = jax.nn.relu(bn(h, eps))
        t = conv(o, w_a, s_a[3], 1)
        u = jax.nn.relu(bn(t, eps))
        v = conv(u, ws[i + 1], 1, 1)
        if has_sc:
            sc = conv(bn(o, eps), ws[i + 2], shp[i + 2][3], 0)  # BN in the shortcut, on ReLU(BN(h))
            i += 3
        else:
            sc = h
            i += 2
        h = v + sc
    h = jax.nn.relu(bn(h, eps))
    return avgpool(h, 4).reshape(x.shape[0], -1)


def main():
    jax.config.update("jax_enable_x64", True)  # before any array exists: the oracle is float64
    cfg = json.load(open(sys.argv[1]))
    arch, n = cfg["arch"], cfg["n"]
    shp = shapes(arch, cfg["width"], cfg["in_channels"])
    x = jnp.array(cfg["x"]).reshape(n, cfg["in_channels"], 32, 32)
    hw = jnp.array(cfg["head_w"]).reshape(cfg["classes"], -1)
    hb = jnp.array(cfg["head_b"]) if cfg["head_b"] else jnp.zeros(cfg["classes"])
    labels = jnp.array(cfg["labels"])

    def loss(si):
        f = features(arch, unflatten(si, shp), shp, x, cfg["eps"])
        logits = f @ hw.T + hb
        lse = jax.scipy.special.logsumexp(logits, axis=1)
        return jnp.mean(lse - logits[jnp.arange(n), labels])

    si = jnp.array(cfg["si"])
    assert si.shape[0] == sum(a * b * k * k for (a, b, k, _, _) in shp), "dim mismatch"
    val, grad = jax.jit(jax.value_and_grad(loss))(si)
    print(repr(float(val)))
    for g in grad:
        print(repr(float(g)))


if __name__ == "__main__":
    main()
