"""Shared helpers of the Python tests: input grids per activation and ulp distances."""
import numpy as np
import pytest

import actgrad

# Activations defined on x > 0 only (NaN or a pole below): their grids are positive.
POSITIVE_DOMAIN = {"sqrt", "log", "pow"}


def grid(name: str, n: int = 2001, dtype=np.float64) -> np.ndarray:
    """A dense grid over where the activation changes, plus wide and tiny values."""
    core = np.linspace(-8.0, 8.0, n)
    wide = np.array([-40.0, -20.0, -12.0, -1e-3, -1e-7, 0.0, 1e-7, 1e-3, 12.0, 20.0, 40.0])
    x = np.concatenate([core, wide])
    if name in POSITIVE_DOMAIN:
        x = np.abs(x) + 1e-3
    return x.astype(dtype)


def ulp32(v: np.ndarray) -> np.ndarray:
    """The spacing of float32 at |v| (at least the smallest normal's)."""
    a = np.maximum(np.abs(v).astype(np.float32), np.finfo(np.float32).tiny)
    return np.spacing(a).astype(np.float64)


def assert_close_ulp(got32, ref64, x, ulps: float, what: str):
    """got (float32) within `ulps` float32 ulps of ref (float64), or an absolute slack of a few
    ulps of the terms' magnitude (1 + |x|) where f or f' crosses zero (SPEC 3)."""
    got = np.asarray(got32, dtype=np.float64)
    ref = np.asarray(ref64, dtype=np.float64)
    finite = np.isfinite(ref)
    assert np.array_equal(np.isfinite(got), finite) or np.allclose(got[~finite], ref[~finite],
                                                                    equal_nan=True), what
    err = np.abs(got - ref)[finite]
    bound = ulps * ulp32(ref)[finite] + 4 * 2.0**-24 * (1 + np.abs(x.astype(np.float64)))[finite]
    bad = np.nonzero(err > bound)[0]
    assert bad.size == 0, (f"{what}: {bad.size} points over bound, first x="
                           f"{x[finite][bad[0]]!r} got {got[finite][bad[0]]!r} "
                           f"ref {ref[finite][bad[0]]!r}")


@pytest.fixture(params=actgrad.names("unary"))
def unary(request):
    return request.param


@pytest.fixture(params=actgrad.names("gated"))
def gated_name(request):
    return request.param
