"""actgrad: activation functions and their derivatives in one fused pass, on DLPack arrays.

Every call takes arrays from any DLPack-capable library (numpy, torch, cupy, jax), on the CPU or
a CUDA device, reads them in place (zero copy) and runs on their device: CUDA work goes on the
caller's current stream (torch's or cupy's), or on ``stream=``. Outputs are new arrays of the
input's library, or the ``out=`` arrays given (in place: ``out=x``). Activations are named as on
the command line: ``"silu"``, ``"leaky_relu:negative_slope=0.2"``.

    >>> import numpy as np, actgrad
    >>> y, dydx = actgrad.forward_with_derivative("tanh", np.linspace(-2, 2, 5))

Bad input raises ValueError (a bad value, shape, layout or device) or TypeError (a bad type or
dtype) with the library's message; nothing is converted or copied behind your back.
"""
from __future__ import annotations

import functools

from . import _actgrad
from ._actgrad import Activation, cpu_isa, cuda_available

__all__ = [
    "Activation", "activation", "catalogue", "names", "cpu_isa", "cuda_available",
    "forward", "forward_with_derivative", "backward", "derivative_from_output",
    "backward_from_output", "gated_forward", "gated_forward_with_derivative", "gated_backward",
]
__version__ = "0.1.0"


@functools.lru_cache(maxsize=512)
def _parse(spec: str) -> Activation:
    return Activation(spec)


def activation(act) -> Activation:
    """The Activation for a spec string ("name" or "name:param=value,..."), or act itself."""
    if isinstance(act, Activation):
        return act
    if isinstance(act, str):
        return _parse(act)
    raise TypeError("actgrad: act must be an activation spec such as 'silu' or "
                    f"'leaky_relu:negative_slope=0.2', or an actgrad.Activation; got "
                    f"{type(act).__name__}")


@functools.lru_cache(maxsize=1)
def _catalogue():
    return tuple(_actgrad.catalogue())


def catalogue() -> list:
    """The catalogue: one dict per activation (name, kind, params, formula, ...), in order."""
    return [dict(e) for e in _catalogue()]


def names(kind: str | None = None) -> list:
    """Catalogue names, all or of one kind ("unary" or "gated")."""
    return [e["name"] for e in _catalogue() if kind is None or e["kind"] == kind]


# --- array plumbing ------------------------------------------------------------------------

_DL_CUDA = 2  # DLPack device type of CUDA memory


def _library(x) -> str:
    return type(x).__module__.split(".", 1)[0]


def _is_jax(x) -> bool:
    return _library(x) in ("jax", "jaxlib")


def _plain(x):
    """x as the extension reads it: torch tensors lose their autograd wrapper (same memory)."""
    if _library(x) == "torch" and x.requires_grad:
        return x.detach()
    return x


def _empty_like(x):
    lib = _library(x)
    if lib == "numpy":
        import numpy
        return numpy.empty(x.shape, dtype=x.dtype)
    if lib == "torch":
        import torch
        return torch.empty(x.shape, dtype=x.dtype, device=x.device)
    if lib == "cupy":
        import cupy
        with cupy.cuda.Device(x.device.id):
            return cupy.empty(x.shape, dtype=x.dtype)
    raise TypeError(f"actgrad: cannot allocate an output like a {type(x).__module__}."
                    f"{type(x).__name__}; pass out= arrays (numpy, torch and cupy inputs "
                    "get outputs of their own kind; jax arrays go through actgrad.jax)")


def _stream(x, stream) -> int:
    """The CUDA stream for arrays on x's device: stream= if given, else the current stream of
    x's library (torch, cupy); 0 (the default stream) otherwise and on the CPU."""
    if stream is not None:
        for attr in ("cuda_stream", "ptr"):  # torch.cuda.Stream, cupy.cuda.Stream
            if hasattr(stream, attr):
                return int(getattr(stream, attr))
        return int(stream)
    dev = getattr(x, "__dlpack_device__", None)
    if dev is None or dev()[0] != _DL_CUDA:
        return 0
    lib = _library(x)
    if lib == "torch":
        import torch
        return torch.cuda.current_stream(x.device).cuda_stream
    if lib == "cupy":
        import cupy
        return cupy.cuda.get_current_stream().ptr
    return 0


def _writable(o, fn: str):
    if _is_jax(o):
        raise TypeError(f"actgrad.{fn}: out is a jax array, and jax arrays are immutable; leave "
                        "out unset (the result is a new jax array) or use actgrad.jax")
    flags = getattr(o, "flags", None)
    if flags is not None and getattr(flags, "writeable", True) is False:
        raise ValueError(f"actgrad.{fn}: out is read-only")
    return o


def _outs(x, out, count: int, fn: str):
    if out is None:
        return tuple(_empty_like(x) for _ in range(count))
    if count == 1:
        if isinstance(out, (tuple, list)):
            if len(out) != 1:
                raise TypeError(f"actgrad.{fn}: out must be one array, got {len(out)}")
            out = out[0]
        return (_writable(out, fn),)
    if not isinstance(out, (tuple, list)) or len(out) != count:
        raise TypeError(f"actgrad.{fn}: out must be a tuple of {count} arrays")
    return tuple(_writable(o, fn) for o in out)


def _jax():
    from . import jax as actgrad_jax
    return actgrad_jax


# --- array calls ----------------------------------------------------------------------------

def forward(act, x, *, out=None, stream=None, threads: int = 0):
    """y = f(x)."""
    a = activation(act)
    if out is None and _is_jax(x):
        return _jax().forward(a, x)
    (y,) = _outs(x, out, 1, "forward")
    _actgrad.forward(a, _plain(x), _plain(y), stream=_stream(x, stream), threads=threads)
    return y


def forward_with_derivative(act, x, *, out=None, stream=None, threads: int = 0):
    """(y, dydx) = (f(x), f'(x)) in one pass."""
    a = activation(act)
    if out is None and _is_jax(x):
        return _jax().forward_with_derivative(a, x)
    y, d = _outs(x, out, 2, "forward_with_derivative")
    _actgrad.forward_with_derivative(a, _plain(x), _plain(y), _plain(d),
                                     stream=_stream(x, stream), threads=threads)
    return y, d


def backward(act, x, grad_out, *, out=None, stream=None, threads: int = 0):
    """grad_in = grad_out * f'(x) in one pass."""
    a = activation(act)
    if out is None and _is_jax(x):
        return _jax().backward(a, x, grad_out)
    (gi,) = _outs(x, out, 1, "backward")
    _actgrad.backward(a, _plain(x), _plain(grad_out), _plain(gi), stream=_stream(x, stream),
                      threads=threads)
    return gi


def derivative_from_output(act, y, *, out=None, stream=None, threads: int = 0):
    """dydx = f'(x) from y = f(x) alone (Activation.has_derivative_from_output)."""
    a = activation(act)
    (d,) = _outs(y, out, 1, "derivative_from_output")
    _actgrad.derivative_from_output(a, _plain(y), _plain(d), stream=_stream(y, stream),
                                    threads=threads)
    return d


def backward_from_output(act, y, grad_out, *, out=None, stream=None, threads: int = 0):
    """grad_in = grad_out * f'(x), f' from y = f(x)."""
    a = activation(act)
    if out is None and _is_jax(y):
        return _jax().backward_from_output(a, y, grad_out)
    (gi,) = _outs(y, out, 1, "backward_from_output")
    _actgrad.backward_from_output(a, _plain(y), _plain(grad_out), _plain(gi),
                                  stream=_stream(y, stream), threads=threads)
    return gi


def gated_forward(act, a, b, *, out=None, stream=None, threads: int = 0):
    """out = act(a) * b for a gated unit (glu, swiglu, geglu, ...)."""
    g = activation(act)
    if out is None and _is_jax(a):
        return _jax().gated_forward(g, a, b)
    (o,) = _outs(a, out, 1, "gated_forward")
    _actgrad.gated_forward(g, _plain(a), _plain(b), _plain(o), stream=_stream(a, stream),
                           threads=threads)
    return o


def gated_forward_with_derivative(act, a, b, *, out=None, stream=None, threads: int = 0):
    """(out, d out/d a, d out/d b) in one pass."""
    g = activation(act)
    o, da, db = _outs(a, out, 3, "gated_forward_with_derivative")
    _actgrad.gated_forward_with_derivative(g, _plain(a), _plain(b), _plain(o), _plain(da),
                                           _plain(db), stream=_stream(a, stream), threads=threads)
    return o, da, db


def gated_backward(act, a, b, grad_out, *, out=None, stream=None, threads: int = 0):
    """(grad_a, grad_b) = (grad_out * d out/d a, grad_out * d out/d b) in one pass."""
    g = activation(act)
    if out is None and _is_jax(a):
        return _jax().gated_backward(g, a, b, grad_out)
    ga, gb = _outs(a, out, 2, "gated_backward")
    _actgrad.gated_backward(g, _plain(a), _plain(b), _plain(grad_out), _plain(ga), _plain(gb),
                            stream=_stream(a, stream), threads=threads)
    return ga, gb
