"""actgrad.jax: actgrad's fused activation kernels as JAX ops (XLA FFI), jit-, vmap- and grad-able.

The array calls (``forward``, ``forward_with_derivative``, ``backward``, ``backward_from_output``,
``gated_forward``, ``gated_backward``) run one actgrad kernel each through ``jax.ffi.ffi_call``,
on the CPU or on a CUDA device (on XLA's stream). They are not differentiable themselves; the
differentiable ops are ``apply`` (y = f(x)) and ``gated`` (act(a) * b), whose backward pass is
actgrad's fused backward kernel, and one function per catalogue activation (and alias, such
as ``clip`` for ``hardtanh``) built from them, taking the activation's parameters by name:

    >>> import jax, jax.numpy as jnp, actgrad.jax as agj
    >>> y = agj.leaky_relu(jnp.linspace(-1.0, 1.0, 5), negative_slope=0.2)
    >>> g = jax.grad(lambda x: agj.silu(x).sum())(jnp.ones(3))
    >>> o = agj.swiglu(jnp.ones(4), jnp.ones(4))

Arrays must be float32, float64, float16 or bfloat16 (TypeError otherwise), of any shape; the
arrays of one call must have the same shape (ValueError otherwise) and dtype (TypeError). The
activation (a spec string such as ``"leaky_relu:negative_slope=0.2"``, or an actgrad.Activation)
and ``save=`` are static: under ``jax.jit`` pass them as Python values, not traced arguments.
Second derivatives are not supported (the backward kernels have no derivative of their own).
"""
from __future__ import annotations

import builtins as _builtins
import functools as _functools
import inspect as _inspect
import keyword as _keyword

import jax as _jax
import jax.numpy as _jnp
import numpy as _np

from . import _actgrad
from . import activation as _activation
from . import catalogue as _catalogue

_TARGETS = getattr(_actgrad, "ffi_targets", None) or {}
if not _TARGETS:
    raise ImportError("actgrad.jax: this actgrad was built without jaxlib (no XLA FFI handlers); "
                      "reinstall actgrad with jaxlib present in the build environment, e.g. "
                      "`pip install --no-build-isolation jaxlib` first, then reinstall actgrad")

_OPS = ("forward", "forward_with_derivative", "backward", "backward_from_output",
        "gated_forward", "gated_backward")
_PLATFORMS = {"cpu": "cpu", "cuda": "CUDA"}


def _register() -> None:
    for op in _OPS:
        for key, platform in _PLATFORMS.items():
            capsule = _TARGETS[op].get(key)
            if capsule is not None:
                _jax.ffi.register_ffi_target(f"actgrad_{op}", capsule, platform=platform)


_register()

_DTYPES = tuple(_np.dtype(t) for t in (_jnp.float32, _jnp.float64, _jnp.float16, _jnp.bfloat16))
_SAVES = ("auto", "input", "output")


# --- checks ---------------------------------------------------------------------------------

def _spec(act, fn: str, gated_kind: bool) -> str:
    """The canonical spec string of act, checked to be of the kind fn needs."""
    a = _activation(act)
    if a.is_gated != gated_kind:
        want = "a gated activation (glu, swiglu, ...)" if gated_kind else "a unary activation"
        raise ValueError(f"actgrad.jax.{fn}: {str(a)!r} is not {want}")
    return str(a)


def _arrays(fn: str, names: tuple, arrays: tuple) -> tuple:
    """The arrays as jax arrays of one shape and one floating dtype actgrad supports."""
    out = tuple(_jnp.asarray(x) for x in arrays)
    first = out[0]
    for name, x in zip(names, out):
        if _np.dtype(x.dtype) not in _DTYPES:
            raise TypeError(f"actgrad.jax.{fn}: {name} has dtype {x.dtype}; allowed: float32, "
                            "float64, float16, bfloat16")
    for name, x in zip(names[1:], out[1:]):
        if x.shape != first.shape:
            raise ValueError(f"actgrad.jax.{fn}: {name} has shape {tuple(x.shape)}, but "
                             f"{names[0]} has shape {tuple(first.shape)}; they must match")
        if x.dtype != first.dtype:
            raise TypeError(f"actgrad.jax.{fn}: {name} has dtype {x.dtype}, but {names[0]} has "
                            f"dtype {first.dtype}; they must match")
    return out


def _call(op: str, spec: str, n_out: int, *arrays):
    """One FFI call of op on arrays (already checked); n_out outputs like arrays[0]."""
    like = _jax.ShapeDtypeStruct(arrays[0].shape, arrays[0].dtype)
    result = like if n_out == 1 else (like,) * n_out
    return _jax.ffi.ffi_call(f"actgrad_{op}", result, vmap_method="broadcast_all")(*arrays,
                                                                                    spec=spec)


# --- array calls (not differentiable) ---------------------------------------------------------

def forward(act, x):
    """y = f(x) for a unary activation (spec string or actgrad.Activation)."""
    spec = _spec(act, "forward", False)
    (x,) = _arrays("forward", ("x",), (x,))
    return _call("forward", spec, 1, x)


def forward_with_derivative(act, x):
    """(y, dydx) = (f(x), f'(x)) in one pass."""
    spec = _spec(act, "forward_with_derivative", False)
    (x,) = _arrays("forward_with_derivative", ("x",), (x,))
    return _call("forward_with_derivative", spec, 2, x)


def backward(act, x, grad_out):
    """grad_in = grad_out * f'(x) in one pass."""
    spec = _spec(act, "backward", False)
    x, grad_out = _arrays("backward", ("x", "grad_out"), (x, grad_out))
    return _call("backward", spec, 1, x, grad_out)


def backward_from_output(act, y, grad_out):
    """grad_in = grad_out * f'(x), f' from y = f(x) (Activation.has_derivative_from_output)."""
    a = _activation(act)
    spec = _spec(a, "backward_from_output", False)
    if not a.has_derivative_from_output:
        raise ValueError(f"actgrad.jax.backward_from_output: {spec!r} has no derivative from "
                         "its output; use backward(act, x, grad_out)")
    y, grad_out = _arrays("backward_from_output", ("y", "grad_out"), (y, grad_out))
    return _call("backward_from_output", spec, 1, y, grad_out)


def gated_forward(act, a, b):
    """out = act(a) * b for a gated activation (glu, swiglu, geglu, ...)."""
    spec = _spec(act, "gated_forward", True)
    a, b = _arrays("gated_forward", ("a", "b"), (a, b))
    return _call("gated_forward", spec, 1, a, b)


def gated_backward(act, a, b, grad_out):
    """(grad_a, grad_b) = (grad_out * d out/d a, grad_out * d out/d b) in one pass."""
    spec = _spec(act, "gated_backward", True)
    a, b, grad_out = _arrays("gated_backward", ("a", "b", "grad_out"), (a, b, grad_out))
    return _call("gated_backward", spec, 2, a, b, grad_out)


# --- differentiable ops ---------------------------------------------------------------------

@_functools.partial(_jax.custom_vjp, nondiff_argnums=(0, 1))
def _apply(spec: str, from_output: bool, x):
    return _call("forward", spec, 1, x)


def _apply_fwd(spec: str, from_output: bool, x):
    y = _call("forward", spec, 1, x)
    return y, (y if from_output else x)


def _apply_bwd(spec: str, from_output: bool, saved, g):
    g = g.astype(saved.dtype)
    op = "backward_from_output" if from_output else "backward"
    return (_call(op, spec, 1, saved, g),)


_apply.defvjp(_apply_fwd, _apply_bwd)


@_functools.partial(_jax.custom_vjp, nondiff_argnums=(0,))
def _gated(spec: str, a, b):
    return _call("gated_forward", spec, 1, a, b)


def _gated_fwd(spec: str, a, b):
    return _call("gated_forward", spec, 1, a, b), (a, b)


def _gated_bwd(spec: str, saved, g):
    a, b = saved
    return tuple(_call("gated_backward", spec, 2, a, b, g.astype(a.dtype)))


_gated.defvjp(_gated_fwd, _gated_bwd)


def apply(x, act="silu", save="auto"):
    """y = f(x), differentiable: its VJP is actgrad's fused backward kernel.

    save picks the residual kept for the backward pass: "input" keeps x (backward), "output"
    keeps y (backward_from_output; only for activations with has_derivative_from_output, else
    ValueError), "auto" keeps y where that is allowed and x otherwise. act and save are static.
    """
    a = _activation(act)
    spec = _spec(a, "apply", False)
    if not isinstance(save, str) or save not in _SAVES:
        raise ValueError(f"actgrad.jax.apply: save must be one of {_SAVES}, got {save!r}")
    if save == "output" and not a.has_derivative_from_output:
        raise ValueError(f"actgrad.jax.apply: save='output' needs an activation with a "
                         f"derivative from its output; {spec!r} has none (use 'input' or "
                         "'auto')")
    from_output = save == "output" or (save == "auto" and a.has_derivative_from_output)
    (x,) = _arrays("apply", ("x",), (x,))
    return _apply(spec, from_output, x)


def gated(a, b, act="swiglu"):
    """out = act(a) * b for a gated activation, differentiable in a and b (fused backward).

    The residuals for the backward pass are a and b. act is static.
    """
    spec = _spec(act, "gated", True)
    a, b = _arrays("gated", ("a", "b"), (a, b))
    return _gated(spec, a, b)


# --- one function per catalogue activation --------------------------------------------------

def _spec_string(name: str, params: dict) -> str:
    if not params:
        return name
    return name + ":" + ",".join(f"{k}={_builtins.float(v)!r}" for k, v in params.items())


def _doc(entry: dict, call: str) -> str:
    lines = [f"{call} = {entry['formula']} (actgrad {entry['kind']} activation, "
             "differentiable).", ""]
    for p in entry["params"]:
        lines.append(f"{p['name']} (default {p['default']}): {p['doc']}.")
    lines.append(f"Reference: {entry['reference']}.")
    return "\n".join(lines)


def _make(entry: dict, public_name: str):
    name = entry["name"]
    kwonly = [_inspect.Parameter(p["name"], _inspect.Parameter.KEYWORD_ONLY, default=p["default"])
              for p in entry["params"]]
    if entry["kind"] == "gated":
        def fn(a, b, **params):
            return gated(a, b, _spec_string(name, params))
        pos = ["a", "b"]
        doc = _doc(entry, f"{public_name}(a, b)")
    else:
        def fn(x, **params):
            return apply(x, _spec_string(name, params))
        pos = ["x"]
        doc = _doc(entry, f"{public_name}(x)")
    fn.__name__ = fn.__qualname__ = public_name
    fn.__module__ = __name__
    fn.__doc__ = doc
    fn.__signature__ = _inspect.Signature(
        [_inspect.Parameter(p, _inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in pos] + kwonly)
    return fn


def _generate() -> list:
    taken = set(globals())
    made = []
    for entry in _catalogue():
        for public_name in (entry["name"], entry.get("alias") or ""):
            if (not public_name or not public_name.isidentifier() or _keyword.iskeyword(public_name)
                    or public_name in taken):
                continue
            globals()[public_name] = _make(entry, public_name)
            taken.add(public_name)
            made.append(public_name)
    return made


__all__ = ["apply", "gated", *_OPS, *_generate()]
