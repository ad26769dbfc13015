#!/usr/bin/env python3
"""PyTorch peers for the GPU benchmark: eager forward + autograd, and torch.compile (issue 3).

For each activation PyTorch has, computes y = f(x) and f'(x) at n = 2^log2n elements:
  eager    y = f(x); y.backward(ones) -> x.grad (two kernels, as training runs them)
  compile  torch.compile of a function returning (f(x), f'(x)) where f'(x) comes from
           torch.func (jvp with a tangent of ones), which Inductor fuses into one kernel
Times are CUDA-event medians with the L2 flushed before every repeat. GB/s counts the three
streams of the fused op (read x, write y and f'), as bench_cuda does, so the numbers compare
directly. Writes JSON lines to --out and prints a short table.

The name map below is the peer's list (what torch calls each function); names are checked
against `actgrad list --format json` when --actgrad is given.
"""
import argparse
import json
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

# catalogue name -> torch function of x (defaults match the catalogue's default parameters)
TORCH_FN = {
    "relu": F.relu,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.01),
    "relu6": F.relu6,
    "hardtanh": F.hardtanh,
    "elu": F.elu,
    "selu": F.selu,
    "celu": F.celu,
    "softplus": F.softplus,
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu,
    "mish": F.mish,
    "hardswish": F.hardswish,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "hardsigmoid": F.hardsigmoid,
    "logsigmoid": F.logsigmoid,
    "softsign": F.softsign,
    "tanhshrink": F.tanhshrink,
    "hardshrink": F.hardshrink,
    "softshrink": F.softshrink,
    "exp": torch.exp,
}
# torch.compile is slow to compile; by default only these are compiled (--compile-all for all).
COMPILE_DEFAULT = ["relu", "sigmoid", "tanh", "gelu", "gelu_tanh", "silu", "elu", "softplus",
                   "mish", "leaky_relu"]
DTYPES = {"f32": torch.float32, "f64": torch.float64, "f16": torch.float16,
          "bf16": torch.bfloat16}


def median_ms(fn, flush, reps):
    fn()  # warm-up
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        flush.zero_()
        start = torch.cuda.Event(enable_timing=True)
        stop = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    times.sort()
    return times[len(times) // 2]


def make_input(n, dtype, gen):
    x = torch.rand(n, device="cuda", dtype=torch.float32, generator=gen) * 12 - 6
    return x.to(dtype)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log2n", type=int, default=28)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--dtypes", default="f32,f16,bf16")
    ap.add_argument("--compile-dtypes", default="f32,bf16")
    ap.add_argument("--compile-all", action="store_true")
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--actgrad", help="path of the actgrad CLI, to check the names")
    ap.add_argument("--out", default="torch_peers.jsonl")
    args = ap.parse_args()

    if args.actgrad:
        names = {e["name"] for e in json.loads(
            subprocess.check_output([args.actgrad, "list", "--format", "json"]))}
        missing = sorted(set(TORCH_FN) - names)
        if missing:
            sys.exit(f"torch_peers: names not in the catalogue: {missing}")

    n = 1 << args.log2n
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    flush = torch.empty(2 * l2 // 4 + 1024, device="cuda", dtype=torch.float32)
    gen = torch.Generator(device="cuda")
    gen.manual_seed(0)
    rows = []
    out = open(args.out, "w")
    device = torch.cuda.get_device_name(0)

    def emit(row):
        row.update(device=device, torch=torch.__version__, log2n=args.log2n)
        rows.append(row)
        out.write(json.dumps(row) + "\n")
        out.flush()

    for dname in args.dtypes.split(","):
        dtype = DTYPES[dname]
        es = torch.empty((), dtype=dtype).element_size()
        x = make_input(n, dtype, gen)
        ones = torch.ones_like(x)
        bytes_fused = 3 * es * n
        for name, fn in TORCH_FN.items():
            xr = x.detach().clone().requires_grad_(True)

            def eager():
                xr.grad = None
                y = fn(xr)
                y.backward(ones)
                return y

            try:
                ms = median_ms(eager, flush, args.reps)
                emit(dict(peer="eager", act=name, dtype=dname, ms=ms,
                          gbps=bytes_fused / ms / 1e6))
            except Exception as e:  # noqa: BLE001 - a peer may lack a dtype
                emit(dict(peer="eager", act=name, dtype=dname, error=str(e).splitlines()[0]))
            del xr
            compile_this = (not args.no_compile and dname in args.compile_dtypes.split(",")
                            and (args.compile_all or name in COMPILE_DEFAULT))
            if not compile_this:
                continue

            def value_and_derivative(t, fn=fn):
                return torch.func.jvp(fn, (t,), (torch.ones_like(t),))

            try:
                t0 = time.time()
                torch._dynamo.reset()  # one wrapper per activation: keep each compile fresh
                cfn = torch.compile(value_and_derivative, dynamic=False)
                res = cfn(x)
                # the compiled kernel must agree with eager autograd
                xr = x.detach().clone().requires_grad_(True)
                y = fn(xr)
                y.backward(ones)
                tol = 1e-2 if es == 2 else 1e-5
                ok = (torch.allclose(res[0].float(), y.detach().float(), rtol=tol, atol=tol,
                                     equal_nan=True)
                      and torch.allclose(res[1].float(), xr.grad.float(), rtol=tol, atol=tol,
                                         equal_nan=True))
                del xr, y
                compile_s = time.time() - t0
                ms = median_ms(lambda: cfn(x), flush, args.reps)
                emit(dict(peer="compile", act=name, dtype=dname, ms=ms,
                          gbps=bytes_fused / ms / 1e6, compile_s=compile_s, agrees=bool(ok)))
            except Exception as e:  # noqa: BLE001
                emit(dict(peer="compile", act=name, dtype=dname, error=str(e).splitlines()[0]))
        del x, ones
        torch.cuda.empty_cache()
    out.close()
    for r in rows:
        if "ms" in r:
            print(f"{r['peer']:8s} {r['dtype']:5s} {r['act']:12s} {r['ms']:8.3f} ms "
                  f"{r['gbps']:8.1f} GB/s")
        else:
            print(f"{r['peer']:8s} {r['dtype']:5s} {r['act']:12s} error: {r['error']}")


if __name__ == "__main__":
    main()
