"""actgrad.init: initialisation from mean-field theory for any unary catalogue activation.

    >>> import actgrad.init
    >>> actgrad.init.gain("relu")                        # 1.4142..., as calculate_gain
    >>> actgrad.init.critical("tanh", sigma_b2=0.05)     # {'sigma_w2': 1.76..., 'q_star': 0.57...}
    >>> actgrad.init.kaiming_normal_(linear.weight, "gelu")   # torch tensors, in place

The same functions as `actgrad shape` (docs/decay.md): the variance-preserving gain
1/sqrt(E[f(z)^2]) and the critical point (sigma_w2, sigma_b2) on the order/chaos edge chi1 = 1.
Errors (a gated unit, f undefined for x < 0, no critical point) raise ValueError with the
library's message.
"""
from __future__ import annotations

import math

from . import _actgrad
from . import activation as _activation

__all__ = ["gain", "fan_in_std", "critical", "dks", "tat", "kaiming_normal_"]


def gain(act) -> float:
    """1/sqrt(E[f(z)^2]), z ~ N(0, 1): weights of std gain/sqrt(fan_in) keep the variance."""
    return _actgrad.variance_gain(_activation(act))


def fan_in_std(act, fan_in: int) -> float:
    """gain(act) / sqrt(fan_in)."""
    return _actgrad.fan_in_std(_activation(act), int(fan_in))


def critical(act, *, q_star: float | None = None, sigma_b2: float | None = None) -> dict:
    """The point on the order/chaos edge chi1 = 1: at a fixed point q_star (default 1), or for a
    bias variance sigma_b2. Returns sigma_w2, sigma_b2, q_star, chi1, chi_q, xi_q and xi_c."""
    a = _activation(act)
    if q_star is not None and sigma_b2 is not None:
        raise ValueError("actgrad.init.critical: give q_star or sigma_b2, not both")
    if sigma_b2 is not None:
        return _actgrad.critical_point_at_sigma_b2(a, float(sigma_b2))
    return _actgrad.critical_point_at_q_star(a, 1.0 if q_star is None else float(q_star))


def _net(depth, resnet):
    if (depth is None) == (resnet is None):
        raise ValueError("actgrad.init: give depth (an MLP) or resnet (blocks per stage), one")
    return (0 if depth is None else int(depth)), ([] if resnet is None else [int(b) for b in resnet])


def dks(act, *, depth=None, resnet=None, shortcut_weight=0.6, branch_depth=3, zeta=1.5,
        local_q_slope=1.0) -> dict:
    """Deep Kernel Shaping: input_scale, input_shift, output_shift, output_scale (and
    negative_slope for leaky_relu) of phi_hat(x) = output_scale * (phi(input_scale * x +
    input_shift) + output_shift), for an MLP of `depth` layers or residual stages `resnet`."""
    d, r = _net(depth, resnet)
    return _actgrad.dks_transform(_activation(act), d, r, float(shortcut_weight),
                                  int(branch_depth), float(zeta), float(local_q_slope))


def tat(act, *, depth=None, resnet=None, shortcut_weight=0.6, branch_depth=3, tau=0.3,
        eta=0.9) -> dict:
    """Tailored Activation Transformations: as dks(), with the net's maximal curvature tau
    (smooth activations) or its maximal C_f(0) eta (leaky_relu)."""
    d, r = _net(depth, resnet)
    return _actgrad.tat_transform(_activation(act), d, r, float(shortcut_weight),
                                  int(branch_depth), float(tau), float(eta))


def kaiming_normal_(weight, act, *, critical_point: bool = False, q_star: float | None = None,
                    sigma_b2: float | None = None, bias=None):
    """Fills a torch weight of shape (fan_out, fan_in, ...) in place from N(0, std^2): std =
    gain(act)/sqrt(fan_in), or with critical_point=True sqrt(sigma_w2/fan_in) at the critical
    point (and, when bias is given, the bias from N(0, sigma_b2)). Returns weight."""
    import torch

    fan_in = weight[0].numel() if weight.dim() > 1 else weight.numel()
    with torch.no_grad():
        if critical_point or q_star is not None or sigma_b2 is not None:
            c = critical(act, q_star=q_star, sigma_b2=sigma_b2)
            weight.normal_(0.0, math.sqrt(c["sigma_w2"] / fan_in))
            if bias is not None:
                bias.normal_(0.0, math.sqrt(c["sigma_b2"])) if c["sigma_b2"] > 0 else bias.zero_()
        else:
            weight.normal_(0.0, fan_in_std(act, fan_in))
    return weight
