#!/usr/bin/env python3
"""PyTorch eager on the CPU as a peer of scripts/bench-cpu: value + gradient in f32 (issue 10).

For each activation torch has and each thread count, times the step training runs,
  y = F.act(x); dx = torch.autograd.grad(y, x, g)
on n elements (x uniform in [-6, 6) as bench_cpu draws it, g uniform in [-1, 1)), with
torch.set_num_threads(t). Prints one JSON object per line: act, threads, n, ns_per_elt (the
fastest of the timed repeats: on a shared machine load only ever adds time), torch (version).
Run it with the interpreter that has torch: Debian's python3-torch is /usr/bin/python3's
(`scripts/setup-deps --torch` installs it).

  bench/torch_cpu_peer.py [--n 16777216] [--threads 1,2] [--acts sigmoid,tanh,...] [--repeats 5]
"""
import argparse
import json
import sys
import time

# catalogue name -> a function of x in torch.nn.functional terms (F.torch is torch itself)
PEERS = {
    "sigmoid": lambda F, x: F.torch.sigmoid(x),
    "tanh": lambda F, x: F.torch.tanh(x),
    "silu": lambda F, x: F.silu(x),
    "gelu": lambda F, x: F.gelu(x),
    "gelu_tanh": lambda F, x: F.gelu(x, approximate="tanh"),
    "mish": lambda F, x: F.mish(x),
    "softplus": lambda F, x: F.softplus(x),
    "logsigmoid": lambda F, x: F.logsigmoid(x),
    "elu": lambda F, x: F.elu(x),
    "selu": lambda F, x: F.selu(x),
    "celu": lambda F, x: F.celu(x),
    "hardswish": lambda F, x: F.hardswish(x),
    "hardsigmoid": lambda F, x: F.hardsigmoid(x),
    "relu": lambda F, x: F.relu(x),
    "leaky_relu": lambda F, x: F.leaky_relu(x),
    "relu6": lambda F, x: F.relu6(x),
    "softsign": lambda F, x: F.softsign(x),
    "tanhshrink": lambda F, x: F.tanhshrink(x),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1 << 24)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--acts", help="comma-separated catalogue names (default: every peer)")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    try:
        import torch
        import torch.nn.functional as F
    except ImportError as e:
        sys.exit("torch_cpu_peer: no torch for %s (%s); scripts/setup-deps --torch installs "
                 "Debian's python3-torch" % (sys.executable, e))
    acts = [a.strip() for a in (args.acts or ",".join(PEERS)).split(",") if a.strip()]
    gen = torch.Generator().manual_seed(1)
    x0 = torch.rand(args.n, generator=gen) * 12.0 - 6.0
    g = torch.rand(args.n, generator=gen) * 2.0 - 1.0
    for t in [int(s) for s in args.threads.split(",") if s.strip()]:
        torch.set_num_threads(t)
        for act in acts:
            if act not in PEERS:
                continue
            fn = PEERS[act]
            x = x0.clone().requires_grad_(True)

            def step():
                y = fn(F, x)
                (dx,) = torch.autograd.grad(y, x, g)
                return y, dx

            step()  # warm-up: first-touch of the outputs, allocator caches
            best = float("inf")
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                step()
                best = min(best, time.perf_counter() - t0)
            print(json.dumps({"act": act, "threads": t, "n": args.n,
                              "ns_per_elt": best * 1e9 / args.n, "torch": torch.__version__}),
                  flush=True)


if __name__ == "__main__":
    main()
