#!/usr/bin/env python3
"""actgrad through Python against torch eager, torch.compile and jax.jit, in one run (issue 11).

For each activation and size it times y = f(x) plus the gradient g * f'(x), the step training
runs, in f32 on one device:
  actgrad array   actgrad.forward + actgrad.backward on preallocated arrays (the array calls)
  actgrad.torch   y = actgrad.torch.activation(x); torch.autograd.grad(y, x, g)
  actgrad.jax     jax.jit of jax.vjp through actgrad.jax.apply
  torch eager     y = F.act(x); torch.autograd.grad(y, x, g)
  torch.compile   the same with torch.compile(F.act)
  jax.jit         jax.jit of jax.vjp through jax.nn.act
and the binding's fixed cost: one actgrad.forward call on a single element. Small sizes show the
per-call overhead of each path, large ones the loops. Times are medians over repeats (CUDA:
synchronised). Prints a markdown table; --out writes JSON lines.

With --mlp it also times a transformer MLP block, forward + backward, three ways: Linear ->
SwiGLU -> Linear and Linear -> GELU(tanh) -> Linear with actgrad.torch's modules, against the
same blocks in torch eager and under torch.compile (bf16 on CUDA, f32 on the CPU).

  bench/python_peers.py [--device cpu|cuda] [--sizes 10,24] [--acts silu,gelu,...] [--mlp]
"""
import argparse
import json
import statistics
import sys
import time

import numpy as np

import actgrad

PEER_NAMES = {  # catalogue name -> (torch.nn.functional, jax.nn) names
    "silu": ("silu", "silu"),
    "gelu": ("gelu", "gelu"),
    "sigmoid": ("sigmoid", "sigmoid"),
    "tanh": ("tanh", "tanh"),
    "relu": ("relu", "relu"),
    "softplus": ("softplus", "softplus"),
    "mish": ("mish", "mish"),
}


def timeit(fn, sync, min_time=0.2, max_reps=2000):
    fn()
    sync()
    samples = []
    start = time.perf_counter()
    while len(samples) < max_reps and (time.perf_counter() - start < min_time or len(samples) < 5):
        t0 = time.perf_counter()
        fn()
        sync()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--sizes", default="10,24", help="log2 of the element counts")
    ap.add_argument("--acts", default="silu,gelu,sigmoid")
    ap.add_argument("--no-compile", action="store_true", help="leave torch.compile out")
    ap.add_argument("--mlp", action="store_true", help="also time the MLP blocks")
    ap.add_argument("--out", help="JSON lines file")
    args = ap.parse_args()

    import torch
    import torch.nn.functional as F
    import actgrad.torch as at
    try:
        import jax
        import jax.numpy as jnp
        import actgrad.jax as aj
    except ImportError as e:  # no jax, or a package built without jaxlib
        print(f"# jax peers left out: {e}", file=sys.stderr)
        jax = None

    dev = torch.device(args.device)
    sync = (lambda: torch.cuda.synchronize()) if args.device == "cuda" else (lambda: None)
    rows = []

    one = torch.zeros(1, device=dev)
    one_out = torch.empty_like(one)
    overhead = timeit(lambda: actgrad.forward("silu", one, out=one_out), sync)
    rows.append({"act": "silu", "log2n": 0, "path": "actgrad array (1 element)", "s": overhead})

    for act in args.acts.split(","):
        tname, jname = PEER_NAMES[act]
        tf = getattr(F, tname, None) or getattr(torch, tname)
        for log2n in map(int, args.sizes.split(",")):
            n = 1 << log2n
            x = torch.linspace(-6, 6, n, device=dev)
            g = torch.ones_like(x)
            y, gi = torch.empty_like(x), torch.empty_like(x)

            def arr():
                actgrad.forward(act, x, out=y)
                actgrad.backward(act, x, g, out=gi)

            xr = x.clone().requires_grad_(True)

            def ag_torch():
                out = at.activation(xr, act, save="input")
                torch.autograd.grad(out, xr, g)

            def eager():
                out = tf(xr)
                torch.autograd.grad(out, xr, g)

            paths = [("actgrad array", arr), ("actgrad.torch", ag_torch), ("torch eager", eager)]
            if not args.no_compile:
                cf = torch.compile(tf)

                def compiled():
                    out = cf(xr)
                    torch.autograd.grad(out, xr, g)

                paths.append(("torch.compile", compiled))
            if jax is not None:
                jdev = jax.devices("gpu" if args.device == "cuda" else "cpu")[0]
                jx = jax.device_put(jnp.linspace(-6, 6, n, dtype=jnp.float32), jdev)
                jg = jnp.ones_like(jx)

                def vjp_of(fn):
                    def step(x_, g_):
                        yv, back = jax.vjp(fn, x_)
                        return yv, back(g_)[0]
                    return jax.jit(step)

                for label, fn in (("actgrad.jax", lambda t: aj.apply(t, act)),
                                  ("jax.jit", getattr(jax.nn, jname, None) or getattr(jnp, jname))):
                    step = vjp_of(fn)
                    paths.append((label, lambda s=step: jax.block_until_ready(s(jx, jg))))
            for label, fn in paths:
                rows.append({"act": act, "log2n": log2n, "path": label, "s": timeit(fn, sync)})
                print(f"# {act} 2^{log2n} {label}: {rows[-1]['s'] * 1e6:.1f} us", file=sys.stderr)

    if args.mlp:
        rows += mlp_rows(args, torch, at, sync)

    if args.out:
        with open(args.out, "w") as f:
            for r in rows:
                f.write(json.dumps({**r, "device": args.device, "torch": torch.__version__}) + "\n")

    print(f"device {args.device}; torch {torch.__version__}"
          + (f"; jax {jax.__version__}" if jax else "") + f"; actgrad CPU ISA {actgrad.cpu_isa()}")
    print(f"binding fixed cost (actgrad.forward on 1 element): {overhead * 1e6:.2f} us\n")
    labels = [lbl for lbl in dict.fromkeys(r["path"] for r in rows if r["log2n"] > 0)]
    print("| act | n | " + " | ".join(labels) + " |")
    print("|---|---|" + "---|" * len(labels))
    for act in args.acts.split(","):
        for log2n in map(int, args.sizes.split(",")):
            t = {r["path"]: r["s"] for r in rows if r["act"] == act and r["log2n"] == log2n}
            cells = [f"{t[lbl] * 1e6:.1f} us" if lbl in t else "-" for lbl in labels]
            print(f"| {act} | 2^{log2n} | " + " | ".join(cells) + " |")
    mlp = [r for r in rows if r["act"].startswith("mlp")]
    if mlp:
        print("\n| MLP block fwd+bwd | actgrad.torch | torch eager | torch.compile |")
        print("|---|---|---|---|")
        for block in dict.fromkeys(r["act"] for r in mlp):
            t = {r["path"]: r["s"] for r in mlp if r["act"] == block}
            cells = [f"{t[p] * 1e3:.3f} ms" if p in t else "-"
                     for p in ("actgrad.torch", "torch eager", "torch.compile")]
            print(f"| {block} | " + " | ".join(cells) + " |")


def mlp_rows(args, torch, at, sync):
    """Linear -> act -> Linear, forward + backward, with actgrad's modules and torch's."""
    F = torch.nn.functional
    cuda = args.device == "cuda"
    dtype = torch.bfloat16 if cuda else torch.float32
    tokens, d, h = (8192, 1024, 4096) if cuda else (512, 256, 1024)
    dev = torch.device(args.device)

    class TorchSwiGLU(torch.nn.Module):
        def forward(self, x):
            a, b = x.chunk(2, -1)
            return F.silu(a) * b

    def block(kind, ours):
        if kind == "swiglu":
            act, width = (at.nn.SwiGLU() if ours else TorchSwiGLU()), h
        else:
            act = at.nn.GELU(approximate="tanh") if ours else torch.nn.GELU(approximate="tanh")
            width = 2 * h
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(d, 2 * h), act,
                                   torch.nn.Linear(width, d)).to(dev, dtype)

    x = torch.randn(tokens, d, device=dev, dtype=dtype, requires_grad=True)
    rows = []
    for kind in ("swiglu", "gelu_tanh"):
        variants = [("actgrad.torch", block(kind, True)), ("torch eager", block(kind, False))]
        if not args.no_compile:
            variants.append(("torch.compile", torch.compile(block(kind, False))))
        for label, model in variants:
            def step(m=model):
                m(x).sum().backward()
            rows.append({"act": f"mlp {kind} {tokens}x{d}x{h} {str(dtype)[6:]}", "log2n": -1,
                         "path": label, "s": timeit(step, sync)})
            print(f"# mlp {kind} {label}: {rows[-1]['s'] * 1e3:.3f} ms", file=sys.stderr)
    return rows


if __name__ == "__main__":
    main()
