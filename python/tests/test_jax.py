"""Tests of actgrad.jax: values and gradients vs jax.nn, jit/vmap/grad, dtypes, shapes, errors."""
from __future__ import annotations

import importlib.util
import inspect

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

import actgrad  # noqa: E402

if not getattr(actgrad._actgrad, "ffi_targets", None):
    pytest.skip("actgrad was built without jaxlib (no XLA FFI targets)", allow_module_level=True)

import actgrad.jax as agj  # noqa: E402

jax.config.update("jax_enable_x64", True)

nn = jax.nn
NARROW = {"float16": jnp.float16, "bfloat16": jnp.bfloat16}
KINKS = np.array([-6.0, -3.0, -1.0, 0.0, 1.0, 3.0, 6.0])


def _points() -> np.ndarray:
    """Smooth-region test points in float64: random, a wide grid, tiny values (no kinks)."""
    rng = np.random.default_rng(1234)
    return np.concatenate([rng.normal(0.0, 4.0, 1500), np.linspace(-30.0, 30.0, 601) + 1e-3,
                           rng.normal(0.0, 1e-3, 50), [2.5e-8, -3.5e-7, 0.37, -0.52]])


X = _points()


def _nn(name):
    fn = getattr(nn, name, None)
    if fn is None:
        pytest.skip(f"jax.nn.{name} does not exist in jax {jax.__version__}")
    return fn


# (jax.nn name, actgrad spec, maker: the jax.nn function -> the reference function)
UNARY = [
    ("relu", "relu", lambda f: f),
    ("relu6", "relu6", lambda f: f),
    ("leaky_relu", "leaky_relu:negative_slope=0.2", lambda f: lambda x: f(x, 0.2)),
    ("elu", "elu:alpha=1.5", lambda f: lambda x: f(x, 1.5)),
    ("selu", "selu", lambda f: f),
    ("celu", "celu:alpha=0.7", lambda f: lambda x: f(x, 0.7)),
    # actgrad's softplus is linear above beta*x > threshold (PyTorch, default 20); jax.nn's is
    # not: a threshold of 40 makes the difference (exp(-40) relative) invisible in float64.
    ("softplus", "softplus:threshold=40", lambda f: f),
    ("squareplus", "squareplus:b=3", lambda f: lambda x: f(x, 3.0)),
    ("sparse_plus", "sparse_plus", lambda f: f),
    ("gelu", "gelu", lambda f: lambda x: f(x, approximate=False)),
    ("gelu", "gelu_tanh", lambda f: lambda x: f(x, approximate=True)),
    ("silu", "silu", lambda f: f),
    ("swish", "swish", lambda f: f),
    ("sigmoid", "swish:beta=1.7", lambda f: lambda x: x * f(1.7 * x)),
    ("mish", "mish", lambda f: f),
    ("hard_swish", "hardswish", lambda f: f),
    ("sigmoid", "sigmoid", lambda f: f),
    ("hard_sigmoid", "hardsigmoid", lambda f: f),
    ("log_sigmoid", "logsigmoid", lambda f: f),
    ("sparse_sigmoid", "sparse_sigmoid", lambda f: f),
    ("soft_sign", "softsign", lambda f: f),
    ("tanh", "tanh", lambda f: jnp.tanh),
    ("hard_tanh", "hardtanh", lambda f: f),
    ("identity", "identity", lambda f: f),
]
UNARY_IDS = [spec for _, spec, _ in UNARY]


# jax.nn.gelu(approximate=True)'s autodiff gradient, 0.5 (1 + tanh w) + ..., cancels for x < -5:
# absolute errors up to 4e-14 there (actgrad's agrees with a 50-digit mpmath evaluation).
GRAD_ATOL = {"gelu_tanh": 1e-13}


def _ref(case):
    name, spec, make = case
    return spec, make(_nn(name))


def _f32_close(got, ref, what):
    """float32 result within 4 ulp (of the float32 value) of the float64 reference, or 1e-6."""
    got = np.asarray(got)
    assert got.dtype == np.float32
    ref = np.asarray(ref, dtype=np.float64)
    err = np.abs(got.astype(np.float64) - ref)
    tol = np.maximum(4.0 * np.spacing(np.abs(got)).astype(np.float64), 1e-6)
    bad = ~(err <= tol)
    assert not bad.any(), (f"{what}: {bad.sum()} float32 values off, worst at "
                           f"{np.flatnonzero(bad)[:5]}: got {got[bad][:5]}, want {ref[bad][:5]}")


# --- values and gradients against jax.nn ----------------------------------------------------

@pytest.mark.parametrize("case", UNARY, ids=UNARY_IDS)
def test_values_match_jax_nn(case):
    spec, ref = _ref(case)
    x = jnp.asarray(np.concatenate([X, KINKS]))
    y = agj.apply(x, spec)
    assert y.dtype == jnp.float64 and y.shape == x.shape
    np.testing.assert_allclose(y, ref(x), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(agj.forward(spec, x), y, rtol=0, atol=0)

    x32 = x.astype(jnp.float32)
    _f32_close(agj.apply(x32, spec), ref(x32.astype(jnp.float64)), f"{spec} f32")


# save="input" for every case; "output" too where the activation has f' from y
GRAD_CASES = [pytest.param(case, save, id=f"{case[1]}-{save}") for case in UNARY
              for save in ("input", "output")
              if save == "input" or actgrad.activation(case[1]).has_derivative_from_output]


@pytest.mark.parametrize("case,save", GRAD_CASES)
def test_grads_match_jax_nn(case, save):
    spec, ref = _ref(case)
    x = jnp.asarray(X)  # kinks excluded: conventions for f'(kink) differ between libraries
    atol = GRAD_ATOL.get(spec, 1e-14)
    # VJP with a random cotangent (ct * f'(x)), through jax.vjp
    ct = jnp.asarray(np.random.default_rng(7).uniform(0.5, 2.0, x.shape))
    _, vjp = jax.vjp(lambda v: agj.apply(v, spec, save), x)
    _, vjp_ref = jax.vjp(ref, x)
    np.testing.assert_allclose(vjp(ct)[0], vjp_ref(ct)[0], rtol=1e-12, atol=2 * atol)

    x32 = x.astype(jnp.float32)
    g32 = jax.grad(lambda v: agj.apply(v, spec, save).sum())(x32)
    g64 = jax.grad(lambda v: ref(v).sum())(x32.astype(jnp.float64))
    # From-output derivatives (1 - y^2 and the like) lose float32 precision where f' is small;
    # the absolute floor of 1e-6 covers that, the 4 ulp bound the rest.
    _f32_close(g32, g64, f"{spec} f32 grad")


def test_glu_matches_jax_nn():
    glu = _nn("glu")
    z = jnp.asarray(np.random.default_rng(3).normal(0.0, 3.0, (64, 2 * 33)))
    first, second = z[:, :33], z[:, 33:]
    # jax.nn.glu(z) = first * sigmoid(second); actgrad glu(a, b) = sigmoid(a) * b
    np.testing.assert_allclose(agj.glu(second, first), glu(z, axis=-1), rtol=1e-12, atol=1e-14)
    ga, gb = jax.grad(lambda a, b: agj.glu(a, b).sum(), argnums=(0, 1))(second, first)
    gz = jax.grad(lambda v: glu(v, axis=-1).sum())(z)
    np.testing.assert_allclose(gb, gz[:, :33], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ga, gz[:, 33:], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("act,inner", [("swiglu", "silu"), ("geglu", "gelu"),
                                       ("geglu_tanh", "gelu_tanh"), ("reglu", "relu")])
def test_gated_matches_composition(act, inner):
    rng = np.random.default_rng(5)
    a = jnp.asarray(rng.normal(0.0, 3.0, (7, 11)))
    b = jnp.asarray(rng.normal(0.0, 3.0, (7, 11)))
    out = agj.gated(a, b, act)
    np.testing.assert_allclose(out, agj.apply(a, inner) * b, rtol=1e-14, atol=1e-300)
    ga, gb = jax.grad(lambda u, v: agj.gated(u, v, act).sum(), argnums=(0, 1))(a, b)
    d = jax.grad(lambda u: agj.apply(u, inner).sum())(a)
    np.testing.assert_allclose(ga, d * b, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(gb, agj.apply(a, inner), rtol=1e-14, atol=1e-300)


# --- every catalogue activation: generated functions and the FFI against the DLPack path ----

def _inputs(name: str, dtype=np.float64) -> np.ndarray:
    x = np.random.default_rng(11).normal(0.0, 2.5, 257)
    if name in ("sqrt", "log"):
        x = np.abs(x) + 0.05
    return x.astype(dtype)


@pytest.mark.parametrize("name", actgrad.names("unary"))
def test_generated_unary_matches_numpy_path(name):
    fn = getattr(agj, name)
    assert fn.__name__ == name and fn.__doc__ and name in agj.__all__
    x = _inputs(name)
    y_np, d_np = actgrad.forward_with_derivative(name, x)
    x_j = jnp.asarray(x)
    np.testing.assert_array_equal(fn(x_j), y_np)
    y_j, d_j = agj.forward_with_derivative(name, x_j)
    np.testing.assert_array_equal(y_j, y_np)
    np.testing.assert_array_equal(d_j, d_np)
    g = np.random.default_rng(2).normal(size=x.shape)
    np.testing.assert_array_equal(agj.backward(name, x_j, jnp.asarray(g)),
                                  actgrad.backward(name, x, g))
    # the VJP is the backward kernel: from y where the activation allows it ("auto"), else x
    _, vjp = jax.vjp(fn, x_j)
    _, vjp_in = jax.vjp(lambda v: agj.apply(v, name, "input"), x_j)
    np.testing.assert_array_equal(vjp_in(jnp.asarray(g))[0], actgrad.backward(name, x, g))
    if actgrad.activation(name).has_derivative_from_output:
        want = actgrad.backward_from_output(name, y_np, g)
        np.testing.assert_array_equal(agj.backward_from_output(name, y_j, jnp.asarray(g)), want)
    else:
        want = actgrad.backward(name, x, g)
    np.testing.assert_array_equal(vjp(jnp.asarray(g))[0], want)


@pytest.mark.parametrize("name", actgrad.names("gated"))
def test_generated_gated_matches_numpy_path(name):
    fn = getattr(agj, name)
    assert fn.__name__ == name and fn.__doc__ and name in agj.__all__
    rng = np.random.default_rng(13)
    a, b, g = (rng.normal(0.0, 4.0, (3, 5, 17)) for _ in range(3))
    out = actgrad.gated_forward(name, a, b)
    ga, gb = actgrad.gated_backward(name, a, b, g)
    aj, bj, gj = jnp.asarray(a), jnp.asarray(b), jnp.asarray(g)
    np.testing.assert_array_equal(fn(aj, bj), out)
    np.testing.assert_array_equal(agj.gated_forward(name, aj, bj), out)
    ga_j, gb_j = agj.gated_backward(name, aj, bj, gj)
    np.testing.assert_array_equal(ga_j, ga)
    np.testing.assert_array_equal(gb_j, gb)
    _, vjp = jax.vjp(fn, aj, bj)
    va, vb = vjp(gj)
    np.testing.assert_array_equal(va, ga)
    np.testing.assert_array_equal(vb, gb)


def test_generated_functions_take_params():
    x = jnp.linspace(-3.0, 3.0, 13)
    np.testing.assert_array_equal(agj.leaky_relu(x, negative_slope=0.2),
                                  jnp.where(x > 0, x, 0.2 * x))
    np.testing.assert_array_equal(agj.leaky_relu(x, negative_slope=0.2),
                                  agj.apply(x, "leaky_relu:negative_slope=0.2"))
    np.testing.assert_array_equal(agj.linear(x, alpha=2.0, beta=0.5), 2.0 * x + 0.5)
    np.testing.assert_array_equal(agj.hardtanh(x, min_val=-2.0, max_val=0.5),
                                  jnp.clip(x, -2.0, 0.5))
    y = agj.clamped_swiglu(x, x, limit=1.5, alpha=1.0)
    np.testing.assert_array_equal(
        y, agj.gated(x, x, actgrad.activation("clamped_swiglu:limit=1.5,alpha=1.0")))
    assert list(inspect.signature(agj.leaky_relu).parameters) == ["x", "negative_slope"]
    assert list(inspect.signature(agj.swiglu).parameters) == ["a", "b"]
    with pytest.raises(ValueError):
        agj.silu(x, beta=2.0)  # silu has no parameters


def test_module_names_not_shadowed():
    for op in ("forward", "forward_with_derivative", "backward", "backward_from_output",
               "gated_forward", "gated_backward", "apply", "gated"):
        assert getattr(agj, op).__name__ == op
        assert op in agj.__all__
    # catalogue names that are also builtins or numpy names are activations here
    for name in ("abs", "pow", "exp", "log", "sqrt", "square", "linear", "identity"):
        assert name in actgrad.names("unary")
        assert getattr(agj, name).__module__ == "actgrad.jax"
    x = jnp.asarray([-2.0, 0.5, 3.0])
    np.testing.assert_array_equal(agj.abs(x), jnp.abs(x))
    np.testing.assert_array_equal(agj.pow(x, alpha=1.0, beta=2.0), x * x)
    assert abs(-1) == 1 and pow(2, 3) == 8  # this module's builtins are untouched


# --- transformations ----------------------------------------------------------------------

def test_jit_matches_eager():
    x = jnp.asarray(np.random.default_rng(0).normal(size=(4, 9)), dtype=jnp.float32)
    eager = agj.silu(x)
    np.testing.assert_array_equal(jax.jit(lambda v: agj.silu(v))(x), eager)
    loss = lambda v: (agj.silu(v) ** 2).sum()  # noqa: E731
    np.testing.assert_array_equal(jax.jit(jax.grad(loss))(x), jax.grad(loss)(x))
    np.testing.assert_allclose(jax.grad(loss)(x), 2 * eager * agj.backward("silu", x, 1 + 0 * x),
                               rtol=1e-6)
    # act and save as static arguments of a jitted apply
    f = jax.jit(agj.apply, static_argnames=("act", "save"))
    np.testing.assert_array_equal(f(x, act="tanh", save="output"), agj.tanh(x))
    np.testing.assert_array_equal(jax.jit(jax.grad(lambda a, b: agj.swiglu(a, b).sum()))(x, x),
                                  jax.grad(lambda a, b: agj.swiglu(a, b).sum())(x, x))


def test_vmap():
    rng = np.random.default_rng(4)
    x = jnp.asarray(rng.normal(size=(5, 3, 4)))
    np.testing.assert_array_equal(jax.vmap(agj.gelu)(x), agj.gelu(x))
    np.testing.assert_array_equal(jax.vmap(jax.vmap(agj.mish), in_axes=1, out_axes=1)(x),
                                  agj.mish(x))
    b = jnp.asarray(rng.normal(size=(3, 4)))
    np.testing.assert_array_equal(jax.vmap(agj.swiglu, in_axes=(0, None))(x, b),
                                  agj.swiglu(x, jnp.broadcast_to(b, x.shape)))
    np.testing.assert_array_equal(jax.vmap(lambda v: agj.backward("elu", v, b))(x),
                                  agj.backward("elu", x, jnp.broadcast_to(b, x.shape)))
    per_row = jax.vmap(jax.grad(lambda v: agj.softplus(v).sum()))(x)
    np.testing.assert_array_equal(per_row, jax.grad(lambda v: agj.softplus(v).sum())(x))


def test_save_modes_agree():
    x = jnp.asarray(np.random.default_rng(9).normal(0.0, 2.0, 300))
    for spec in ("tanh", "sigmoid", "elu", "softplus", "logsigmoid", "relu"):
        gi = jax.grad(lambda v: agj.apply(v, spec, "input").sum())(x)
        go = jax.grad(lambda v: agj.apply(v, spec, "output").sum())(x)
        np.testing.assert_allclose(go, gi, rtol=1e-10, atol=1e-15)


# --- dtypes and shapes --------------------------------------------------------------------

def _narrow_ulp(v: np.ndarray, dtype) -> np.ndarray:
    info = jnp.finfo(dtype)
    a = np.abs(v.astype(np.float64))
    e = np.floor(np.log2(np.where(a > 0, a, 1.0)))
    ulp = np.exp2(e - info.nmant)
    return np.maximum(np.where(a > 0, ulp, 0.0), float(info.smallest_subnormal))


def _within_1ulp(got, want32, dtype, what):
    got = np.asarray(got)
    assert got.dtype == np.dtype(dtype)
    want = np.asarray(want32).astype(dtype)  # the float32 result, rounded to the narrow type
    err = np.abs(got.astype(np.float64) - want.astype(np.float64))
    bad = ~(err <= _narrow_ulp(want, dtype))
    assert not bad.any(), f"{what}: got {got[bad][:5]}, want {want[bad][:5]}"


@pytest.mark.parametrize("dtype", list(NARROW))
@pytest.mark.parametrize("name", actgrad.names("unary"))
def test_narrow_dtypes(name, dtype):
    dt = NARROW[dtype]
    x = jnp.asarray(_inputs(name, np.float32)).astype(dt)
    x32 = x.astype(jnp.float32)  # the same values, exactly
    x32 = np.asarray(x32)
    ones = np.ones_like(x32)
    # float32 references from the numpy path (the same kernels, no XLA compile)
    y = getattr(agj, name)(x)
    _within_1ulp(y, actgrad.forward(name, x32), dt, f"{name} {dtype}")

    def grad(save):
        return jax.grad(lambda u: agj.apply(u, name, save).astype(jnp.float32).sum())(x)

    _within_1ulp(grad("input"), actgrad.backward(name, x32, ones), dt, f"{name} {dtype} grad")
    if actgrad.activation(name).has_derivative_from_output:
        # f' from the narrow y carries y's rounding (as in PyTorch): the kernel on the narrow
        # y must match the float32 kernel on the same y, widened.
        want = actgrad.backward_from_output(name, np.asarray(y.astype(jnp.float32)), ones)
        _within_1ulp(grad("output"), want, dt, f"{name} {dtype} grad from output")


@pytest.mark.parametrize("dtype", list(NARROW))
def test_narrow_dtypes_gated(dtype):
    dt = NARROW[dtype]
    rng = np.random.default_rng(21)
    a, b = (jnp.asarray(rng.normal(0.0, 2.0, 300)).astype(dt) for _ in range(2))
    a32, b32 = a.astype(jnp.float32), b.astype(jnp.float32)
    _within_1ulp(agj.swiglu(a, b), agj.swiglu(a32, b32), dt, f"swiglu {dtype}")
    ga, gb = jax.grad(lambda u, v: agj.swiglu(u, v).astype(jnp.float32).sum(), (0, 1))(a, b)
    ga32, gb32 = jax.grad(lambda u, v: agj.swiglu(u, v).sum(), (0, 1))(a32, b32)
    _within_1ulp(ga, ga32, dt, f"swiglu {dtype} grad a")
    _within_1ulp(gb, gb32, dt, f"swiglu {dtype} grad b")


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64, jnp.float16, jnp.bfloat16])
def test_dtype_preserved(dtype):
    x = jnp.linspace(-2.0, 2.0, 9).astype(dtype)
    assert agj.silu(x).dtype == dtype
    y, d = agj.forward_with_derivative("silu", x)
    assert y.dtype == dtype and d.dtype == dtype
    assert jax.grad(lambda v: agj.silu(v).astype(jnp.float32).sum())(x).dtype == dtype
    ga, gb = agj.gated_backward("geglu", x, x, x)
    assert ga.dtype == dtype and gb.dtype == dtype


@pytest.mark.parametrize("shape", [(0,), (1,), (10**6 + 3,), (), (3, 0, 2), (2, 3, 5)],
                         ids=["empty", "one", "large", "scalar", "empty3d", "3d"])
def test_shapes(shape):
    size = int(np.prod(shape, dtype=np.int64))
    x = np.linspace(-5.0, 5.0, size).reshape(shape).astype(np.float32)
    xj = jnp.asarray(x)
    y = agj.silu(xj)
    assert y.shape == shape and y.dtype == jnp.float32
    flat = x.reshape(-1)  # the numpy path, on a 1-d copy of the same values
    np.testing.assert_array_equal(y, actgrad.forward("silu", flat).reshape(shape))
    g = jax.grad(lambda v: agj.silu(v).sum())(xj)
    assert g.shape == shape
    np.testing.assert_array_equal(
        g, actgrad.backward("silu", flat, np.ones_like(flat)).reshape(shape))
    o = agj.swiglu(xj, xj)
    assert o.shape == shape
    np.testing.assert_array_equal(o, actgrad.gated_forward("swiglu", flat, flat).reshape(shape))
    if size:
        # the last element is computed too (a kernel tail past the vector width)
        last = float(x.reshape(-1)[-1])
        np.testing.assert_allclose(np.asarray(y).reshape(-1)[-1], last / (1 + np.exp(-last)),
                                   rtol=1e-6)


def test_python_scalars_and_numpy_inputs():
    np.testing.assert_allclose(agj.tanh(0.5), np.tanh(0.5), rtol=1e-6)
    np.testing.assert_array_equal(agj.tanh(np.array([0.5, -1.0])),
                                  np.asarray(agj.tanh(jnp.asarray([0.5, -1.0]))))


# --- bad input ----------------------------------------------------------------------------

def test_bad_dtype_is_type_error():
    xi = jnp.arange(5)
    with pytest.raises(TypeError, match="float32"):
        agj.silu(xi)
    with pytest.raises(TypeError):
        agj.forward("silu", xi)
    with pytest.raises(TypeError):
        agj.forward_with_derivative("silu", jnp.ones(3, jnp.complex64))
    with pytest.raises(TypeError):
        agj.swiglu(xi, xi)
    with pytest.raises(TypeError):
        agj.backward("silu", jnp.ones(3), jnp.ones(3, jnp.int32))
    with pytest.raises(TypeError, match="dtype"):
        agj.swiglu(jnp.ones(3, jnp.float32), jnp.ones(3, jnp.float64))
    with pytest.raises(TypeError):
        agj.apply(jnp.ones(3), act=3)


def test_bad_shapes_are_value_errors():
    with pytest.raises(ValueError, match="shape"):
        agj.swiglu(jnp.ones((2, 3)), jnp.ones((3, 2)))
    with pytest.raises(ValueError):
        agj.gated(jnp.ones(4), jnp.ones(5))
    with pytest.raises(ValueError):
        agj.gated_backward("swiglu", jnp.ones(4), jnp.ones(4), jnp.ones(3))
    with pytest.raises(ValueError):
        agj.backward("silu", jnp.ones(4), jnp.ones((4, 1)))


def test_bad_activation_and_save():
    x = jnp.ones(3)
    with pytest.raises(ValueError, match="unknown activation"):
        agj.apply(x, "no_such_activation")
    with pytest.raises(ValueError):
        agj.forward("no_such_activation", x)
    with pytest.raises(ValueError, match="output"):
        agj.apply(x, "gelu", save="output")
    with pytest.raises(ValueError):
        agj.backward_from_output("silu", x, x)
    with pytest.raises(ValueError):
        agj.apply(x, "silu", save="everything")
    with pytest.raises(ValueError, match="unary"):
        agj.apply(x, "swiglu")
    with pytest.raises(ValueError):
        agj.gated(x, x, "silu")
    with pytest.raises(ValueError):
        agj.forward("swiglu", x)


def test_import_without_ffi_targets_raises(monkeypatch):
    monkeypatch.setattr(actgrad._actgrad, "ffi_targets", {})
    spec = importlib.util.spec_from_file_location("actgrad._jax_without_ffi", agj.__file__)
    module = importlib.util.module_from_spec(spec)
    with pytest.raises(ImportError, match="without jaxlib"):
        spec.loader.exec_module(module)


# --- the array API with jax inputs --------------------------------------------------------

def test_array_api_dispatches_jax_arrays():
    rng = np.random.default_rng(8)
    x, b, g = (jnp.asarray(rng.normal(size=(6, 7))) for _ in range(3))
    y = actgrad.forward("silu", x)
    assert isinstance(y, jax.Array)
    np.testing.assert_array_equal(y, agj.forward("silu", x))
    y2, d2 = actgrad.forward_with_derivative("tanh", x)
    y3, d3 = agj.forward_with_derivative("tanh", x)
    assert isinstance(d2, jax.Array)
    np.testing.assert_array_equal(y2, y3)
    np.testing.assert_array_equal(d2, d3)
    np.testing.assert_array_equal(actgrad.backward("gelu", x, g), agj.backward("gelu", x, g))
    np.testing.assert_array_equal(actgrad.backward_from_output("tanh", y2, g),
                                  agj.backward_from_output("tanh", y2, g))
    act = actgrad.activation("swiglu")
    np.testing.assert_array_equal(actgrad.gated_forward(act, x, b),
                                  agj.gated_forward("swiglu", x, b))
    for got, want in zip(actgrad.gated_backward(act, x, b, g),
                         agj.gated_backward("swiglu", x, b, g)):
        np.testing.assert_array_equal(got, want)
