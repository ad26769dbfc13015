"""actgrad.torch.nn: one drop-in torch.nn.Module per catalogue entry, generated from the catalogue.

Names follow torch.nn where torch has the activation (SiLU, GELU, LeakyReLU, LogSigmoid, GLU,
...), and otherwise spell the catalogue name in the same style (SwiGLU, GeGLU, SquaredReLU,
QuickGELU, SparsePlus, ...); a name that torch.nn uses for something else gets "Activation"
appended (LinearActivation). Constructor arguments are the catalogue's parameters, positional in
catalogue order as in torch (LeakyReLU(0.2), ELU(alpha=0.5), Softplus(beta, threshold)), plus
``save=`` (what the backward keeps; see actgrad.torch) and torch's ``inplace``, accepted for
compatibility: the result is always a new tensor. GELU also takes torch's
``approximate="none"|"tanh"``.

Gated units take ``forward(a, b)``, or ``forward(x)`` which splits x in two halves along ``dim``
(default -1) and copies each half to contiguous memory first. GLU follows torch.nn.GLU (the
second half is gated: first * sigmoid(second)); the others put the activation on the first half,
as Transformer Engine does (SwiGLU: silu(first) * second).
"""
from __future__ import annotations

import torch

import actgrad as _ag
from . import activation as _activation, gated as _gated, _spec, _resolve

__all__ = []

_ACRONYMS = {"relu": "ReLU", "gelu": "GELU", "elu": "ELU", "selu": "SELU", "celu": "CELU",
             "silu": "SiLU", "glu": "GLU"}


def _torch_activation_classes() -> dict:
    out = {}
    for n in dir(torch.nn):
        c = getattr(torch.nn, n)
        if isinstance(c, type) and issubclass(c, torch.nn.Module) and \
                (c.__module__.endswith("activation") or c is torch.nn.Identity):
            out[n.lower()] = n
    return out


def _word(w: str) -> str:
    if w in _ACRONYMS:
        return _ACRONYMS[w]
    for tail, spelled in (("glu", "GLU"), ("relu", "ReLU")):
        if w.endswith(tail) and len(w) > len(tail):
            return w[:-len(tail)].capitalize() + spelled
    return w.capitalize()


def class_name(name: str) -> str:
    """The module class name for a catalogue name (torch's spelling where torch has it)."""
    torch_names = _torch_activation_classes()
    key = name.replace("_", "")
    if key in torch_names:
        return torch_names[key]
    n = "".join(_word(w) for w in name.split("_"))
    if hasattr(torch.nn, n):  # a torch.nn class that is not this activation (Linear)
        n += "Activation"
    return n


def _bind_params(cls_name: str, specs: list, args: tuple, params: dict) -> dict:
    names = [p["name"] for p in specs]
    if len(args) > len(names):
        raise TypeError(f"{cls_name}: takes at most {len(names)} positional parameters "
                        f"({', '.join(names) or 'none'}), got {len(args)}")
    bound = dict(zip(names, args))
    for k, v in params.items():
        if k not in names:
            raise TypeError(f"{cls_name}: unknown parameter {k!r}; allowed: "
                            f"{', '.join(names) or 'none'}")
        if k in bound:
            raise TypeError(f"{cls_name}: parameter {k!r} given twice")
        bound[k] = v
    return bound


class ActgradActivation(torch.nn.Module):
    """Base of the generated unary modules: y = f(x) through actgrad.torch.activation."""
    act_name = ""
    param_specs: list = []

    def __init__(self, *args, inplace: bool = False, save: str = "auto", **params):
        super().__init__()
        bound = _bind_params(type(self).__name__, self.param_specs, args, params)
        # Validates the parameters and save= now, not at the first call.
        self.act = _resolve(_spec(self.act_name, bound), save, False)[0]
        self.save = save
        self.inplace = inplace

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _activation(x, self.act, save=self.save)

    def extra_repr(self) -> str:
        return f"act={self.act!r}, save={self.save!r}"


class ActgradGated(torch.nn.Module):
    """Base of the generated gated modules: act(a) * b, or x split in halves along dim."""
    act_name = ""
    param_specs: list = []
    gate_second = False  # GLU: torch.nn.GLU gates the second half

    def __init__(self, *args, dim: int = -1, **params):
        super().__init__()
        bound = _bind_params(type(self).__name__, self.param_specs, args, params)
        self.act = _resolve(_spec(self.act_name, bound), "input", True)[0]
        self.dim = dim

    def forward(self, x: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
        if b is None:
            if x.shape[self.dim] % 2:
                raise ValueError(f"{type(self).__name__}: dimension {self.dim} of x has odd "
                                 f"size {x.shape[self.dim]}; it must split into two halves")
            first, second = x.chunk(2, dim=self.dim)
            a, b = (second, first) if self.gate_second else (first, second)
            return _gated(a.contiguous(), b.contiguous(), self.act)
        return _gated(x, b, self.act)

    def extra_repr(self) -> str:
        return f"act={self.act!r}, dim={self.dim}"


def _make_class(entry: dict):
    base = ActgradGated if entry["kind"] == "gated" else ActgradActivation
    name = class_name(entry["name"])
    attrs = {"act_name": entry["name"], "param_specs": entry["params"],
             "__doc__": f"actgrad {entry['name']}: {entry['formula']}. f' = {entry['derivative']}",
             "__module__": __name__}
    if entry["name"] == "glu":
        attrs["gate_second"] = True
    return name, type(name, (base,), attrs)


for _entry in _ag.catalogue():
    _cls_name, _cls = _make_class(_entry)
    globals()[_cls_name] = _cls
    __all__.append(_cls_name)


class GELU(globals()["GELU"]):
    """torch.nn.GELU(approximate="none"|"tanh"): actgrad's gelu or gelu_tanh."""

    def __init__(self, approximate: str = "none", *, save: str = "auto"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        if approximate == "tanh":
            self.act_name = "gelu_tanh"
        super().__init__(save=save)
        self.approximate = approximate


del _entry, _cls_name, _cls
