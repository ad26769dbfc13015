"""actgrad.torch: actgrad's activations as PyTorch ops with autograd, torch.compile and nn modules.

    >>> import torch, actgrad.torch as at
    >>> y = at.silu(torch.randn(8, requires_grad=True))       # functional, generated per entry
    >>> m = at.nn.GELU(approximate="tanh")                      # drop-in modules
    >>> out = at.gated(a, b, "swiglu")                          # silu(a) * b

On torch >= 2.4 the ops are registered with torch.library.custom_op (namespace "actgrad"), with
register_fake and register_autograd, so torch.compile(fullgraph=True) traces models that use
them without graph breaks. Older torch (e.g. Debian's 1.13) gets torch.autograd.Function
fallbacks with the same results. Inputs that are not contiguous are made contiguous first, as
torch's own kernels do; every output is a new contiguous tensor on the input's device, computed
on the current CUDA stream.

What the backward keeps (``save=``), per element of the activation's input:
- "input": x, as PyTorch does for silu, gelu, mish, ... (dtype size: 4 B for f32).
- "output": y alone, where f' is a function of y (sigmoid, tanh, relu family, elu, ...). The
  next layer usually keeps y anyway, so x can be freed: 4 B/elt less than PyTorch for f32, 2 B for
  f16/bf16, where PyTorch saves x.
- "derivative": f'(x) itself, in ``derivative_dtype`` (default torch.bfloat16): 2 B/elt for any
  input dtype, 2 B/elt less than saving an f32 x; the backward is one multiply. f' carries
  bfloat16's relative rounding of 2^-9.
- "auto" (default): "output" where the activation allows it, else "input".
"""
from __future__ import annotations

import torch

import actgrad as _ag
from actgrad import _actgrad

__all__ = ["activation", "gated", "custom_ops_registered", "nn"]

_SAVES = ("auto", "input", "output", "derivative")
_DTYPE_NAMES = {torch.bfloat16: "bfloat16", torch.float16: "float16", torch.float32: "float32",
                torch.float64: "float64"}


def _version() -> tuple:
    parts = []
    for p in torch.__version__.split("+")[0].split(".")[:2]:
        digits = "".join(c for c in p if c.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


custom_ops_registered = hasattr(torch.library, "custom_op") and _version() >= (2, 4)


# --- kernels: contiguous tensors in, new tensors out, no autograd -----------------------------

def _stream(t: torch.Tensor) -> int:
    return torch.cuda.current_stream(t.device).cuda_stream if t.is_cuda else 0


def _raw(t: torch.Tensor) -> torch.Tensor:
    return t.detach().contiguous()


def _k_forward(x, spec):
    x = _raw(x)
    y = torch.empty_like(x)
    _actgrad.forward(_ag.activation(spec), x, y, stream=_stream(x))
    return y


def _k_forward_with_derivative(x, spec, ddtype):
    x = _raw(x)
    y, d = torch.empty_like(x), torch.empty_like(x)
    _actgrad.forward_with_derivative(_ag.activation(spec), x, y, d, stream=_stream(x))
    return y, d.to(getattr(torch, ddtype))


def _k_backward(x, g, spec):
    x, g = _raw(x), _raw(g)
    gi = torch.empty_like(x)
    _actgrad.backward(_ag.activation(spec), x, g, gi, stream=_stream(x))
    return gi


def _k_backward_from_output(y, g, spec):
    y, g = _raw(y), _raw(g)
    gi = torch.empty_like(y)
    _actgrad.backward_from_output(_ag.activation(spec), y, g, gi, stream=_stream(y))
    return gi


def _k_gated(a, b, spec):
    a, b = _raw(a), _raw(b)
    o = torch.empty_like(a)
    _actgrad.gated_forward(_ag.activation(spec), a, b, o, stream=_stream(a))
    return o


def _k_gated_backward(a, b, g, spec):
    a, b, g = _raw(a), _raw(b), _raw(g)
    ga, gb = torch.empty_like(a), torch.empty_like(b)
    _actgrad.gated_backward(_ag.activation(spec), a, b, g, ga, gb, stream=_stream(a))
    return ga, gb


def _like(x, dtype=None):
    return torch.empty(x.shape, dtype=dtype or x.dtype, device=x.device)


# --- autograd.Function versions (any torch; the fallback below 2.4) ---------------------------

class ActivationFunction(torch.autograd.Function):
    """y = f(x); backward through x ("input") or y ("output")."""

    @staticmethod
    def forward(ctx, x, spec, save):
        y = _k_forward(x, spec)
        ctx.spec, ctx.save = spec, save
        ctx.save_for_backward(y if save == "output" else x)
        return y

    @staticmethod
    def backward(ctx, g):
        (t,) = ctx.saved_tensors
        if ctx.save == "output":
            return _k_backward_from_output(t, g, ctx.spec), None, None
        return _k_backward(t, g, ctx.spec), None, None


class ActivationKeepDerivativeFunction(torch.autograd.Function):
    """y = f(x), keeping f'(x) in a narrow dtype for a one-multiply backward."""

    @staticmethod
    def forward(ctx, x, spec, ddtype):
        y, d = _k_forward_with_derivative(x, spec, ddtype)
        ctx.save_for_backward(d)
        return y

    @staticmethod
    def backward(ctx, g):
        (d,) = ctx.saved_tensors
        return g * d.to(g.dtype), None, None


class GatedFunction(torch.autograd.Function):
    """out = act(a) * b."""

    @staticmethod
    def forward(ctx, a, b, spec):
        ctx.spec = spec
        ctx.save_for_backward(a, b)
        return _k_gated(a, b, spec)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga, gb = _k_gated_backward(a, b, g, ctx.spec)
        return ga, gb, None


# --- torch.library custom ops (torch >= 2.4) ------------------------------------------------

if custom_ops_registered:
    _lib = torch.library

    @_lib.custom_op("actgrad::activation", mutates_args=())
    def _op_activation(x: torch.Tensor, spec: str, save: str) -> torch.Tensor:
        return _k_forward(x, spec)

    @_op_activation.register_fake
    def _(x, spec, save):
        return _like(x)

    @_lib.custom_op("actgrad::activation_keep_derivative", mutates_args=())
    def _op_activation_keep(x: torch.Tensor, spec: str,
                            ddtype: str) -> tuple[torch.Tensor, torch.Tensor]:
        return _k_forward_with_derivative(x, spec, ddtype)

    @_op_activation_keep.register_fake
    def _(x, spec, ddtype):
        return _like(x), _like(x, getattr(torch, ddtype))

    @_lib.custom_op("actgrad::backward", mutates_args=())
    def _op_backward(x: torch.Tensor, g: torch.Tensor, spec: str) -> torch.Tensor:
        return _k_backward(x, g, spec)

    @_op_backward.register_fake
    def _(x, g, spec):
        return _like(x)

    @_lib.custom_op("actgrad::backward_from_output", mutates_args=())
    def _op_backward_from_output(y: torch.Tensor, g: torch.Tensor, spec: str) -> torch.Tensor:
        return _k_backward_from_output(y, g, spec)

    @_op_backward_from_output.register_fake
    def _(y, g, spec):
        return _like(y)

    @_lib.custom_op("actgrad::gated", mutates_args=())
    def _op_gated(a: torch.Tensor, b: torch.Tensor, spec: str) -> torch.Tensor:
        return _k_gated(a, b, spec)

    @_op_gated.register_fake
    def _(a, b, spec):
        return _like(a)

    @_lib.custom_op("actgrad::gated_backward", mutates_args=())
    def _op_gated_backward(a: torch.Tensor, b: torch.Tensor, g: torch.Tensor,
                           spec: str) -> tuple[torch.Tensor, torch.Tensor]:
        return _k_gated_backward(a, b, g, spec)

    @_op_gated_backward.register_fake
    def _(a, b, g, spec):
        return _like(a), _like(b)

    def _setup_activation(ctx, inputs, output):
        x, spec, save = inputs
        ctx.spec, ctx.save = spec, save
        ctx.save_for_backward(output if save == "output" else x)

    def _backward_activation(ctx, g):
        (t,) = ctx.saved_tensors
        if ctx.save == "output":
            return _op_backward_from_output(t, g, ctx.spec), None, None
        return _op_backward(t, g, ctx.spec), None, None

    _op_activation.register_autograd(_backward_activation, setup_context=_setup_activation)

    def _setup_keep(ctx, inputs, output):
        ctx.save_for_backward(output[1])

    def _backward_keep(ctx, g, _g_derivative):
        (d,) = ctx.saved_tensors
        return g * d.to(g.dtype), None, None

    _op_activation_keep.register_autograd(_backward_keep, setup_context=_setup_keep)

    def _setup_gated(ctx, inputs, output):
        a, b, spec = inputs
        ctx.spec = spec
        ctx.save_for_backward(a, b)

    def _backward_gated(ctx, g):
        a, b = ctx.saved_tensors
        ga, gb = _op_gated_backward(a, b, g, ctx.spec)
        return ga, gb, None

    _op_gated.register_autograd(_backward_gated, setup_context=_setup_gated)


# --- the functional API ---------------------------------------------------------------------

def _resolve_uncached(act, save: str, gated_call: bool):
    a = _ag.activation(act)
    if a.is_gated != gated_call:
        raise ValueError(f"actgrad.torch: '{a.name}' is "
                         f"{'a gated unit: use gated(a, b, act)' if a.is_gated else 'not a gated unit: use activation(x, act)'}")
    if save not in _SAVES:
        raise ValueError(f"actgrad.torch: save must be one of {', '.join(_SAVES)}; got {save!r}")
    if save == "output" and not a.has_derivative_from_output:
        raise ValueError(f"actgrad.torch: save='output' needs f' as a function of y, which "
                         f"'{a}' does not have; use 'input', 'derivative' or 'auto'")
    if save == "auto":
        save = "output" if a.has_derivative_from_output else "input"
    return str(a), save


_resolved: dict = {}


def _resolve(act, save: str = "auto", gated_call: bool = False):
    """(canonical spec, save mode); a constant at trace time under torch.compile."""
    key = (act if isinstance(act, str) else str(act), save, gated_call)
    r = _resolved.get(key)
    if r is None:
        r = _resolved[key] = _resolve_uncached(act, save, gated_call)
    return r


_assume_constant = getattr(getattr(torch, "compiler", None), "assume_constant_result", None)
if _assume_constant is not None:
    _resolve = _assume_constant(_resolve)


def _ddtype_name(dtype) -> str:
    if dtype not in _DTYPE_NAMES:
        raise TypeError(f"actgrad.torch: derivative_dtype must be one of "
                        f"{', '.join(map(str, _DTYPE_NAMES))}; got {dtype}")
    return _DTYPE_NAMES[dtype]


def activation(x: torch.Tensor, act="silu", *, save: str = "auto",
               derivative_dtype: torch.dtype = torch.bfloat16,
               use_custom_op: bool | None = None) -> torch.Tensor:
    """y = f(x) with autograd. act: a spec ("gelu_tanh", "elu:alpha=0.5") or an Activation;
    save: what the backward keeps ("auto", "input", "output", "derivative"; see the module
    docstring); use_custom_op: force the custom op (True) or the autograd.Function (False)."""
    spec, mode = _resolve(act, save, False)
    use_op = custom_ops_registered if use_custom_op is None else use_custom_op
    if mode == "derivative":
        dd = _ddtype_name(derivative_dtype)
        if use_op:
            return _op_activation_keep(x, spec, dd)[0]
        return ActivationKeepDerivativeFunction.apply(x, spec, dd)
    if use_op:
        return _op_activation(x, spec, mode)
    return ActivationFunction.apply(x, spec, mode)


def gated(a: torch.Tensor, b: torch.Tensor, act="swiglu", *,
          use_custom_op: bool | None = None) -> torch.Tensor:
    """out = act(a) * b for a gated unit (swiglu: silu(a) * b, geglu, glu, ...), with autograd."""
    spec, _ = _resolve(act, "input", True)
    if (custom_ops_registered if use_custom_op is None else use_custom_op):
        return _op_gated(a, b, spec)
    return GatedFunction.apply(a, b, spec)


def _spec(name: str, params: dict) -> str:
    if not params:
        return name
    return name + ":" + ",".join(f"{k}={float(v)!r}" for k, v in params.items())


def _make_unary(name: str):
    def fn(x: torch.Tensor, *, save: str = "auto", **params) -> torch.Tensor:
        return activation(x, _spec(name, params), save=save)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"actgrad's {name} with autograd; parameters as keywords (see actgrad.catalogue())."
    return fn


def _make_gated(name: str):
    def fn(a: torch.Tensor, b: torch.Tensor, **params) -> torch.Tensor:
        return gated(a, b, _spec(name, params))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"actgrad's gated unit {name}, act(a) * b, with autograd."
    return fn


# One function per catalogue entry: actgrad.torch.silu(x), .leaky_relu(x, negative_slope=0.2),
# .swiglu(a, b), ...
for _name in _ag.names("unary"):
    globals()[_name] = _make_unary(_name)
    __all__.append(_name)
for _name in _ag.names("gated"):
    globals()[_name] = _make_gated(_name)
    __all__.append(_name)
del _name

from . import nn  # noqa: E402  (the modules use the functions above)
