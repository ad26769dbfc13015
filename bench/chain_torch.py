#!/usr/bin/env python3
# PyTorch eager peer of the chain kernel (bench/bench_chain.cpp): the same per-path, per-layer math
# (z, the renormalised derivative product m * 2^e, the per-layer reductions of mean D^2 by a
# max exponent, of q and of the saturated count), one eager op at a time, on the GPU.
#
#   python3 bench/chain_torch.py [--paths 1048576] [--depth 1000] [--acts sigmoid,tanh,relu,gelu]
#                                [--dtype f32|f64] [--device cuda] [--repeat 3]
# Prints CSV: activation,paths,depth,dtype,seconds,layer_evals_per_s,last_log10_grad_norm2.
# The numbers come from torch.randn, not Philox, so the statistics agree with actgrad's only in
# distribution; the work per layer is the same.
import argparse
import math
import time

import torch

SQRT2 = math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def sigmoid(z):
    s = torch.sigmoid(z)
    return s, s * (1 - s)


def tanh(z):
    t = torch.tanh(z)
    return t, 1 - t * t


def relu(z):
    return torch.relu(z), (z > 0).to(z.dtype)


def gelu(z):
    cdf = 0.5 * (1 + torch.erf(z / SQRT2))
    return z * cdf, cdf + z * torch.exp(-0.5 * z * z) * INV_SQRT_2PI


# phi, phi' and max |phi'| (the saturation threshold is 0.01 of it, as in actgrad).
ACTS = {"sigmoid": (sigmoid, 0.25), "tanh": (tanh, 1.0), "relu": (relu, 1.0),
        "gelu": (gelu, 1.1289)}


def chain(act, paths, depth, S, T, dtype, device, seed=0):
    fn, dmax = ACTS[act]
    g = torch.Generator(device=device).manual_seed(seed)
    z = torch.randn(paths, generator=g, device=device, dtype=dtype)
    m = torch.full_like(z, 0.5)
    e = torch.ones(paths, dtype=torch.int64, device=device)
    sqrt_s, sigma_b, thr = math.sqrt(S), math.sqrt(T), 0.01 * dmax
    none = torch.iinfo(torch.int64).min // 4
    rows = []
    for _ in range(depth):
        y, dy = fn(z)
        z = sqrt_s * y
        if T > 0:
            z = z + sigma_b * torch.randn(paths, generator=g, device=device, dtype=dtype)
        m, k = torch.frexp(m * (sqrt_s * dy))
        e = e + k
        e2 = torch.where(m != 0, 2 * e, torch.full_like(e, none))
        emax = e2.max()
        s = (m.double() ** 2 * torch.exp2((e2 - emax).double())).sum()
        q = (z.double() ** 2).sum()
        sat = (dy.abs() < thr).sum()
        rows.append(torch.stack([s, emax.double(), q, sat.double()]))
    out = torch.stack(rows)
    if device == "cuda":
        torch.cuda.synchronize()
    s, emax = out[-1, 0].item(), out[-1, 1].item()
    return math.log10(s / paths) + emax * math.log10(2.0) if s > 0 else float("-inf")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--paths", type=int, default=1 << 20)
    p.add_argument("--depth", type=int, default=1000)
    p.add_argument("--acts", default="sigmoid,tanh,relu,gelu")
    p.add_argument("--dtype", default="f32", choices=["f32", "f64"])
    p.add_argument("--device", default="cuda")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--sigma-w2", type=float, default=1.0)
    p.add_argument("--sigma-b2", type=float, default=0.0)
    a = p.parse_args()
    dtype = torch.float32 if a.dtype == "f32" else torch.float64
    print("activation,paths,depth,dtype,seconds,layer_evals_per_s,last_log10_grad_norm2")
    for act in a.acts.split(","):
        chain(act, a.paths, 10, a.sigma_w2, a.sigma_b2, dtype, a.device)  # warm-up
        best, last = float("inf"), 0.0
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            last = chain(act, a.paths, a.depth, a.sigma_w2, a.sigma_b2, dtype, a.device)
            best = min(best, time.perf_counter() - t0)
        print(f"{act},{a.paths},{a.depth},{a.dtype},{best:.4f},{a.paths * a.depth / best:.4g},{last:.6g}")


if __name__ == "__main__":
    main()
