"""actgrad's array calls on numpy arrays: values, dtypes, sizes, in place and bad input."""
import numpy as np
import pytest

import actgrad
from conftest import grid, assert_close_ulp


def test_catalogue_matches_activation_objects():
    entries = actgrad.catalogue()
    assert [e["name"] for e in entries] == actgrad.names()
    assert set(actgrad.names("unary")) | set(actgrad.names("gated")) == set(actgrad.names())
    for e in entries:
        a = actgrad.Activation(e["name"])
        assert a.name == e["name"]
        assert a.is_gated == (e["kind"] == "gated")
        assert list(a.params) == [p["name"] for p in e["params"]]
        assert all(a.params[p["name"]] == p["default"] for p in e["params"])


def test_xla_ffi_handlers_built_where_jax_is():
    # jaxlib is a build requirement, so a package that finds jax at run time has the handlers;
    # without this check a build that lost them would only skip test_jax.py.
    pytest.importorskip("jaxlib")
    assert sorted(actgrad._actgrad.ffi_targets) == sorted([
        "forward", "forward_with_derivative", "backward", "backward_from_output",
        "gated_forward", "gated_backward"])


def test_activation_spec_round_trip():
    a = actgrad.activation("leaky_relu:negative_slope=0.2")
    assert a.params == {"negative_slope": 0.2}
    assert str(a) == "leaky_relu:negative_slope=0.2"
    assert actgrad.activation(a) is a
    assert a == actgrad.Activation("leaky_relu:negative_slope=0.2")
    assert a != actgrad.Activation("leaky_relu")
    assert hash(a) == hash(actgrad.Activation(str(a)))


def test_f32_matches_f64_within_accuracy(unary):
    x64 = grid(unary)
    x32 = x64.astype(np.float32)
    y64, d64 = actgrad.forward_with_derivative(unary, x32.astype(np.float64))
    y32, d32 = actgrad.forward_with_derivative(unary, x32)
    assert y32.dtype == np.float32 and d32.dtype == np.float32
    assert_close_ulp(y32, y64, x32, 2, f"{unary} f")
    assert_close_ulp(d32, d64, x32, 4, f"{unary} f'")


def test_ops_agree(unary):
    x = grid(unary)
    g = np.cos(x)
    y, d = actgrad.forward_with_derivative(unary, x)
    np.testing.assert_array_equal(actgrad.forward(unary, x), y)
    np.testing.assert_allclose(actgrad.backward(unary, x, g), g * d, rtol=1e-15, atol=0)
    if actgrad.activation(unary).has_derivative_from_output:
        fin = np.isfinite(y)
        d_y = actgrad.derivative_from_output(unary, y)
        # rtol 1e-8: softplus at its threshold (x = 20) switches branch by 2e-9, as PyTorch does
        np.testing.assert_allclose(d_y[fin], d[fin], rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(actgrad.backward_from_output(unary, y, g)[fin],
                                   g[fin] * d[fin], rtol=1e-8, atol=1e-12)
    else:
        with pytest.raises(ValueError, match="from"):
            actgrad.derivative_from_output(unary, y)


def test_gated_ops_agree(gated_name):
    a = np.linspace(-6, 6, 1001)
    b = np.sin(3 * a) + 0.5
    g = np.cos(a)
    out, da, db = actgrad.gated_forward_with_derivative(gated_name, a, b)
    np.testing.assert_array_equal(actgrad.gated_forward(gated_name, a, b), out)
    ga, gb = actgrad.gated_backward(gated_name, a, b, g)
    np.testing.assert_allclose(ga, g * da, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(gb, g * db, rtol=1e-14, atol=1e-300)
    # d out / d b is the gate act(a), and out = act(a) * b (clamped_swiglu clamps and shifts b).
    if gated_name != "clamped_swiglu":
        np.testing.assert_allclose(out, db * b, rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("narrow", ["float16", "bfloat16"])
def test_narrow_dtypes_within_one_ulp(narrow):
    torch = pytest.importorskip("torch")  # numpy has no bfloat16; torch carries both
    dt = getattr(torch, narrow)
    for name in ["sigmoid", "tanh", "silu", "gelu", "softplus", "elu", "mish", "leaky_relu"]:
        x = torch.from_numpy(grid(name, 501)).to(dt)
        y = actgrad.forward(name, x)
        assert y.dtype == dt
        ref = actgrad.forward(name, x.to(torch.float64))
        # within one ulp of the narrow type: the neighbours of the rounded reference
        r = ref.to(dt).to(torch.float64)
        spacing = (r.abs() * 2.0 ** -(10 if narrow == "float16" else 7)).clamp_min(2.0**-24)
        assert torch.all((y.to(torch.float64) - ref).abs() <= spacing), name


@pytest.mark.parametrize("n", [0, 1, 10**6 + 3])
def test_sizes(n):
    x = np.linspace(-5, 5, n).astype(np.float32)
    y, d = actgrad.forward_with_derivative("silu", x)
    assert y.shape == (n,) and d.shape == (n,)
    if n:
        ref_y, ref_d = actgrad.forward_with_derivative("silu", x.astype(np.float64))
        assert_close_ulp(y, ref_y, x, 2, "silu f")
        assert_close_ulp(d, ref_d, x, 4, "silu f'")


def test_shapes_and_scalars():
    x = np.linspace(-3, 3, 24).reshape(2, 3, 4)
    y = actgrad.forward("tanh", x)
    assert y.shape == (2, 3, 4)
    np.testing.assert_array_equal(y.ravel(), actgrad.forward("tanh", x.ravel()))
    s = np.array(0.5)
    assert actgrad.forward("sigmoid", s).shape == ()
    np.testing.assert_allclose(actgrad.forward("sigmoid", s), 1 / (1 + np.exp(-0.5)), rtol=1e-15)


def test_in_place_and_out():
    x = np.linspace(-4, 4, 1003)
    expect = actgrad.forward("gelu", x)
    y = np.empty_like(x)
    assert actgrad.forward("gelu", x, out=y) is y
    np.testing.assert_array_equal(y, expect)
    x2 = x.copy()
    actgrad.forward("gelu", x2, out=x2)
    np.testing.assert_array_equal(x2, expect)
    y, d = np.empty_like(x), np.empty_like(x)
    ry, rd = actgrad.forward_with_derivative("gelu", x, out=(y, d))
    assert ry is y and rd is d
    g = np.ones_like(x)
    actgrad.backward("gelu", x, g, out=g)
    np.testing.assert_array_equal(g, d)


def test_threads_give_the_same_answer():
    x = np.linspace(-9, 9, 300001).astype(np.float32)
    np.testing.assert_array_equal(actgrad.forward("mish", x, threads=1),
                                  actgrad.forward("mish", x, threads=2))


def test_bad_input():
    x = np.linspace(-1, 1, 8)
    with pytest.raises(TypeError, match="int64"):
        actgrad.forward("silu", np.arange(8))
    with pytest.raises(TypeError, match="complex"):
        actgrad.forward("silu", x.astype(np.complex128))
    with pytest.raises(ValueError, match="not contiguous"):
        actgrad.forward("silu", x[::2])
    with pytest.raises(ValueError, match="not contiguous"):
        actgrad.forward("silu", np.ones((4, 4)).T)
    with pytest.raises(ValueError, match="same dtype"):
        actgrad.forward("silu", x, out=np.empty(8, np.float32))
    with pytest.raises(ValueError, match="shape"):
        actgrad.forward("silu", x, out=np.empty((2, 4)))
    with pytest.raises(ValueError, match="unknown activation"):
        actgrad.forward("silly", x)
    with pytest.raises(ValueError, match="negative_slop"):
        actgrad.forward("leaky_relu:negative_slop=2", x)
    with pytest.raises(ValueError, match="gated"):
        actgrad.forward("swiglu", x)
    with pytest.raises(ValueError, match="gated"):
        actgrad.gated_forward("silu", x, x)
    with pytest.raises(ValueError, match="read-only"):
        r = np.empty_like(x)
        r.flags.writeable = False
        actgrad.forward("silu", x, out=r)
    with pytest.raises(ValueError, match="overlap"):
        buf = np.zeros(16)
        actgrad.forward("silu", buf[:8], out=buf[1:9])
    with pytest.raises(TypeError):
        actgrad.forward("silu", [0.0, 1.0])
    with pytest.raises(TypeError, match="act must be"):
        actgrad.forward(3, x)
    with pytest.raises(TypeError, match="tuple of 2"):
        actgrad.forward_with_derivative("silu", x, out=np.empty_like(x))
    with pytest.raises(ValueError, match="threads"):
        actgrad.forward("silu", x, threads=-1)
    # Nothing was written by a refused call.
    y = np.full(8, 7.0)
    with pytest.raises(ValueError):
        actgrad.gated_forward("swiglu", x, x[:4].copy(), out=y)
    assert np.all(y == 7.0)
