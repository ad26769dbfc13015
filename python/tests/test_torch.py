"""actgrad.torch: values and gradients against torch.nn.functional, gradcheck, save modes,
torch.compile(fullgraph=True), the nn modules, dtypes, sizes and bad input."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import actgrad  # noqa: E402
import actgrad.torch as at  # noqa: E402
from conftest import grid, assert_close_ulp, POSITIVE_DOMAIN  # noqa: E402

# Reference formulas in torch for every activation torch has (parameters from the catalogue's
# defaults). quick_gelu and squared_relu are torch compositions, as in the libraries that offer
# them.
UNARY_REF = {
    "identity": lambda x, p: x,
    "relu": lambda x, p: F.relu(x),
    "leaky_relu": lambda x, p: F.leaky_relu(x, p["negative_slope"]),
    "relu6": lambda x, p: F.relu6(x),
    "hardtanh": lambda x, p: F.hardtanh(x, p["min_val"], p["max_val"]),
    "threshold": lambda x, p: F.threshold(x, p["threshold"], p["value"]),
    "hardshrink": lambda x, p: F.hardshrink(x, p["lambd"]),
    "softshrink": lambda x, p: F.softshrink(x, p["lambd"]),
    "rrelu": lambda x, p: F.rrelu(x, p["lower"], p["upper"], training=False),
    "squared_relu": lambda x, p: F.relu(x) ** 2,
    "elu": lambda x, p: F.elu(x, p["alpha"]),
    "selu": lambda x, p: F.selu(x),
    "celu": lambda x, p: F.celu(x, p["alpha"]),
    "softplus": lambda x, p: F.softplus(x, p["beta"], p["threshold"]),
    "gelu": lambda x, p: F.gelu(x),
    "gelu_tanh": lambda x, p: F.gelu(x, approximate="tanh"),
    "quick_gelu": lambda x, p: x * torch.sigmoid(1.702 * x),
    "silu": lambda x, p: F.silu(x),
    "mish": lambda x, p: F.mish(x),
    "hardswish": lambda x, p: F.hardswish(x),
    "sigmoid": lambda x, p: torch.sigmoid(x),
    "tanh": lambda x, p: torch.tanh(x),
    "hardsigmoid": lambda x, p: F.hardsigmoid(x),
    "logsigmoid": lambda x, p: F.logsigmoid(x),
    "softsign": lambda x, p: F.softsign(x),
    "tanhshrink": lambda x, p: F.tanhshrink(x),
    "square": lambda x, p: torch.square(x),
    "abs": lambda x, p: torch.abs(x),
    "sqrt": lambda x, p: torch.sqrt(x),
    "exp": lambda x, p: torch.exp(x),
    "log": lambda x, p: torch.log(x),
}
GATED_REF = {
    "glu": lambda a, b: F.glu(torch.cat([b, a], -1)),  # torch: first * sigmoid(second)
    "reglu": lambda a, b: F.relu(a) * b,
    "geglu": lambda a, b: F.gelu(a) * b,
    "geglu_tanh": lambda a, b: F.gelu(a, approximate="tanh") * b,
    "swiglu": lambda a, b: F.silu(a) * b,
}


# Where torch's own f64 gradient is less accurate than the test's default 1e-12: hardsigmoid's
# backward multiplies by the float constant 1.0f / 6 (relative error 3e-8) in every dtype.
TORCH_F64_GRAD_RTOL = {"hardsigmoid": 1e-7}


def _params(name):
    return actgrad.activation(name).params


def _value_and_grad(fn, x):
    x = x.detach().clone().requires_grad_(True)
    y = fn(x)
    (g,) = torch.autograd.grad(y.sum(), x)
    return y.detach(), g


@pytest.mark.parametrize("name", sorted(UNARY_REF))
def test_f64_against_torch(name):
    x = torch.from_numpy(grid(name))
    ref = UNARY_REF[name]
    y, g = _value_and_grad(lambda t: at.activation(t, name, save="input"), x)
    ry, rg = _value_and_grad(lambda t: ref(t, _params(name)), x)
    torch.testing.assert_close(y, ry, rtol=1e-13, atol=1e-15, equal_nan=True)
    torch.testing.assert_close(g, rg, rtol=TORCH_F64_GRAD_RTOL.get(name, 1e-12), atol=1e-14,
                               equal_nan=True)


@pytest.mark.parametrize("name", sorted(UNARY_REF))
def test_f32_within_stated_accuracy_of_torch_f64(name):
    # actgrad's f32 against torch's f64 at the same f32 inputs: f <= 2 ulp, f' <= 4 ulp.
    x32 = torch.from_numpy(grid(name, dtype=np.float32))
    y, g = _value_and_grad(lambda t: at.activation(t, name), x32)
    ry, rg = _value_and_grad(lambda t: UNARY_REF[name](t, _params(name)), x32.double())
    xs = x32.numpy()
    assert_close_ulp(y.numpy(), ry.numpy(), xs, 2, f"{name} f")
    assert_close_ulp(g.numpy(), rg.numpy(), xs, 4, f"{name} f'")


@pytest.mark.parametrize("name", sorted(GATED_REF))
def test_gated_against_torch(name):
    a = torch.linspace(-6, 6, 999, dtype=torch.float64)
    b = torch.sin(3 * a) + 0.5
    a1, b1 = a.clone().requires_grad_(True), b.clone().requires_grad_(True)
    a2, b2 = a.clone().requires_grad_(True), b.clone().requires_grad_(True)
    out = at.gated(a1, b1, name)
    ref = GATED_REF[name](a2, b2)
    torch.testing.assert_close(out, ref, rtol=1e-13, atol=1e-15)
    go = torch.cos(a)
    ga, gb = torch.autograd.grad(out, (a1, b1), go)
    rga, rgb = torch.autograd.grad(ref, (a2, b2), go)
    torch.testing.assert_close(ga, rga, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(gb, rgb, rtol=1e-12, atol=1e-14)


def _gradcheck_input(name, n=24):
    gen = torch.Generator().manual_seed(hash(name) % 2**31)
    x = torch.rand(n, generator=gen, dtype=torch.float64) * 6 - 3
    if name in POSITIVE_DOMAIN:
        x = x.abs() + 0.1
    return x.requires_grad_(True)


@pytest.mark.parametrize("use_custom_op", [True, False], ids=["custom_op", "Function"])
def test_gradcheck_every_unary(unary, use_custom_op):
    if use_custom_op and not at.custom_ops_registered:
        pytest.skip("torch < 2.4: no torch.library.custom_op")
    x = _gradcheck_input(unary)
    assert torch.autograd.gradcheck(
        lambda t: at.activation(t, unary, use_custom_op=use_custom_op), (x,), eps=1e-6,
        atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("use_custom_op", [True, False], ids=["custom_op", "Function"])
def test_gradcheck_every_gated(gated_name, use_custom_op):
    if use_custom_op and not at.custom_ops_registered:
        pytest.skip("torch < 2.4: no torch.library.custom_op")
    a = _gradcheck_input(gated_name)
    b = (torch.rand(24, dtype=torch.float64) * 4 - 2).requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda u, v: at.gated(u, v, gated_name, use_custom_op=use_custom_op), (a, b), eps=1e-6,
        atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "elu", "softplus", "relu", "logsigmoid"])
def test_save_output_matches_save_input(name):
    # Not at softplus's threshold (x = 20): there y = 20 + 2e-9 cannot tell x = 20 (smooth
    # branch, f' = 1 - 2e-9) from x = y (linear branch, f' = 1); from-output answers 1.
    x = torch.from_numpy(grid(name, 401))
    x = x[x != 20.0]
    _, g_in = _value_and_grad(lambda t: at.activation(t, name, save="input"), x)
    _, g_out = _value_and_grad(lambda t: at.activation(t, name, save="output"), x)
    torch.testing.assert_close(g_out, g_in, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["gelu", "silu", "mish"])
def test_save_derivative_in_bfloat16(name):
    x = torch.from_numpy(grid(name, 401)).float()
    _, g_in = _value_and_grad(lambda t: at.activation(t, name, save="input"), x)
    _, g_d = _value_and_grad(lambda t: at.activation(t, name, save="derivative"), x)
    # bfloat16 keeps 8 significant bits: rounding to it costs at most 2^-8 of f'.
    assert torch.all((g_d - g_in).abs() <= g_in.abs() * 2.0**-8 + 1e-30)
    assert not torch.equal(g_d, g_in)  # it really went through bfloat16
    _, g_f32 = _value_and_grad(
        lambda t: at.activation(t, name, save="derivative", derivative_dtype=torch.float32), x)
    torch.testing.assert_close(g_f32, g_in, rtol=0, atol=0)


def test_save_modes_refused():
    x = torch.ones(3, requires_grad=True)
    with pytest.raises(ValueError, match="save='output'"):
        at.activation(x, "gelu", save="output")
    with pytest.raises(ValueError, match="save must be"):
        at.activation(x, "gelu", save="everything")
    with pytest.raises(TypeError, match="derivative_dtype"):
        at.activation(x, "gelu", save="derivative", derivative_dtype=torch.int8)


class _Block(torch.nn.Module):
    """Linear + SwiGLU + Linear + GELU(tanh), as in a transformer MLP."""

    def __init__(self):
        super().__init__()
        self.up = torch.nn.Linear(16, 64, dtype=torch.float64)
        self.act = at.nn.SwiGLU()
        self.down = torch.nn.Linear(32, 16, dtype=torch.float64)
        self.out = at.nn.GELU(approximate="tanh")

    def forward(self, x):
        return at.silu(self.out(self.down(self.act(self.up(x))))) + at.sigmoid(x)


@pytest.mark.skipif(not at.custom_ops_registered, reason="torch < 2.4: no custom ops to trace")
@pytest.mark.parametrize("backend", ["aot_eager", "inductor"])
def test_torch_compile_fullgraph(backend):
    torch.manual_seed(0)
    model = _Block()
    x = torch.randn(8, 16, dtype=torch.float64, requires_grad=True)
    compiled = torch.compile(model, fullgraph=True, backend=backend)
    y = model(x)
    (gx,) = torch.autograd.grad(y.sum(), x)
    yc = compiled(x)
    (gxc,) = torch.autograd.grad(yc.sum(), x)
    torch.testing.assert_close(yc, y, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(gxc, gx, rtol=1e-12, atol=1e-12)


@pytest.mark.skipif(not at.custom_ops_registered, reason="torch < 2.4: no custom ops")
def test_custom_ops_opcheck():
    x = torch.randn(33, dtype=torch.float64, requires_grad=True)
    torch.library.opcheck(torch.ops.actgrad.activation.default, (x, "gelu", "input"))
    torch.library.opcheck(torch.ops.actgrad.activation.default, (x, "sigmoid", "output"))
    torch.library.opcheck(torch.ops.actgrad.gated.default, (x, x.detach() + 1, "swiglu"))


def test_every_module_matches_the_functional():
    x = torch.from_numpy(grid("pow", 101))  # positive, so sqrt, log and pow are defined too
    for entry in actgrad.catalogue():
        cls = getattr(at.nn, at.nn.class_name(entry["name"]))
        m = cls()
        if entry["kind"] == "gated":
            xx = torch.cat([x, x - 1])
            first, second = xx.chunk(2)
            a, b = (second, first) if entry["name"] == "glu" else (first, second)
            torch.testing.assert_close(m(xx), at.gated(a, b, entry["name"]), rtol=0, atol=0)
            torch.testing.assert_close(m(a, b), at.gated(a, b, entry["name"]), rtol=0, atol=0)
        else:
            torch.testing.assert_close(m(x), at.activation(x, entry["name"]), rtol=0, atol=0,
                                       equal_nan=True)


def test_modules_are_drop_in():
    x = torch.linspace(-5, 5, 101, dtype=torch.float64).reshape(1, 101)
    pairs = [(at.nn.SiLU(), torch.nn.SiLU()), (at.nn.GELU(), torch.nn.GELU()),
             (at.nn.GELU(approximate="tanh"), torch.nn.GELU(approximate="tanh")),
             (at.nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
             (at.nn.ELU(alpha=0.5), torch.nn.ELU(alpha=0.5)),
             (at.nn.Softplus(2.0, 10.0), torch.nn.Softplus(2.0, 10.0)),
             (at.nn.Hardtanh(-2.0, 2.0), torch.nn.Hardtanh(-2.0, 2.0)),
             (at.nn.Sigmoid(), torch.nn.Sigmoid()), (at.nn.Mish(), torch.nn.Mish()),
             (at.nn.Identity(), torch.nn.Identity())]
    for ours, theirs in pairs:
        torch.testing.assert_close(ours(x), theirs(x), rtol=1e-13, atol=1e-15)
    xx = torch.linspace(-3, 3, 40, dtype=torch.float64).reshape(2, 20)
    torch.testing.assert_close(at.nn.GLU()(xx), torch.nn.GLU()(xx), rtol=1e-14, atol=1e-15)
    torch.testing.assert_close(at.nn.GLU(dim=0)(xx.T), torch.nn.GLU(dim=0)(xx.T), rtol=1e-14,
                               atol=1e-15)
    first, second = xx.chunk(2, -1)
    torch.testing.assert_close(at.nn.SwiGLU()(xx), F.silu(first) * second, rtol=1e-13, atol=0)
    assert "SwiGLU" in at.nn.__all__ and "LinearActivation" in at.nn.__all__
    assert at.nn.LinearActivation is not torch.nn.Linear


def test_module_bad_arguments():
    with pytest.raises(TypeError, match="unknown parameter"):
        at.nn.LeakyReLU(slope=0.2)
    with pytest.raises(TypeError, match="at most 1"):
        at.nn.LeakyReLU(0.2, 0.3)
    with pytest.raises(ValueError):
        at.nn.ELU(alpha=float("nan"))
    with pytest.raises(ValueError, match="approximate"):
        at.nn.GELU(approximate="fast")
    with pytest.raises(ValueError, match="odd"):
        at.nn.SwiGLU()(torch.ones(3, 5))
    with pytest.raises(ValueError, match="save='output'"):
        at.nn.SiLU(save="output")


def test_generated_functions():
    x = torch.linspace(-3, 3, 61, dtype=torch.float64)
    torch.testing.assert_close(at.leaky_relu(x, negative_slope=0.2), F.leaky_relu(x, 0.2))
    torch.testing.assert_close(at.swiglu(x, x + 1), F.silu(x) * (x + 1))
    assert set(actgrad.names()) <= set(dir(at))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_narrow_dtypes_and_grads(dtype):
    x = torch.linspace(-6, 6, 513).to(dtype)
    y, g = _value_and_grad(lambda t: at.gelu(t), x)
    assert y.dtype == dtype and g.dtype == dtype
    yr, gr = _value_and_grad(lambda t: at.gelu(t), x.float())
    eps = 2.0 ** -(10 if dtype == torch.float16 else 7)
    assert torch.all((y.float() - yr).abs() <= yr.abs() * eps + 2.0**-24)
    assert torch.all((g.float() - gr).abs() <= gr.abs() * eps + 2.0**-24)


@pytest.mark.parametrize("n", [0, 1, 10**6 + 3])
def test_sizes(n):
    x = torch.linspace(-4, 4, n, requires_grad=True)
    y = at.silu(x)
    y.sum().backward()
    assert y.shape == (n,) and x.grad.shape == (n,)
    if n:
        torch.testing.assert_close(y, F.silu(x.detach()), rtol=3e-7, atol=1e-7)


def test_non_contiguous_and_in_place():
    x = torch.linspace(-3, 3, 60, dtype=torch.float64).reshape(6, 10).T  # a transposed view
    torch.testing.assert_close(at.tanh(x), torch.tanh(x), rtol=1e-15, atol=0)
    with pytest.raises(ValueError, match="not contiguous"):
        actgrad.forward("tanh", x)  # the array calls never copy
    y = x.contiguous()
    expect = torch.tanh(y)
    assert actgrad.forward("tanh", y, out=y) is y
    torch.testing.assert_close(y, expect, rtol=1e-15, atol=0)


def test_bad_tensors():
    with pytest.raises(TypeError, match="int64"):
        at.silu(torch.arange(4))
    with pytest.raises(ValueError, match="unknown activation"):
        at.activation(torch.ones(2), "sigmod")
    with pytest.raises(ValueError, match="gated"):
        at.activation(torch.ones(2), "swiglu")
    with pytest.raises(ValueError):
        at.swiglu(torch.ones(4), torch.ones(5))


cuda = pytest.mark.skipif(not (torch.cuda.is_available() and actgrad.cuda_available()),
                          reason="no CUDA device (or actgrad built without CUDA)")


@cuda
def test_cuda_matches_cpu_on_current_stream():
    x = torch.linspace(-8, 8, 1 << 20, dtype=torch.float32)
    ref_y, ref_g = _value_and_grad(lambda t: at.gelu(t), x)
    s = torch.cuda.Stream()
    with torch.cuda.stream(s):
        y, g = _value_and_grad(lambda t: at.gelu(t), x.cuda())
    s.synchronize()
    assert_close_ulp(y.cpu().numpy(), ref_y.double().numpy(), x.numpy(), 2, "gelu cuda f")
    assert_close_ulp(g.cpu().numpy(), ref_g.double().numpy(), x.numpy(), 4, "gelu cuda f'")


@cuda
def test_cuda_device_mismatch():
    with pytest.raises(ValueError, match="device"):
        actgrad.forward("silu", torch.ones(4, device="cuda"), out=torch.empty(4))


@cuda
@pytest.mark.skipif(not at.custom_ops_registered, reason="torch < 2.4")
def test_cuda_compile():
    model = _Block().cuda()
    x = torch.randn(8, 16, dtype=torch.float64, device="cuda", requires_grad=True)
    compiled = torch.compile(model, fullgraph=True)
    torch.testing.assert_close(compiled(x), model(x), rtol=1e-12, atol=1e-12)


def _saved_bytes_per_element(act_module, n_rows=64, width=256, dtype=torch.float32):
    """Bytes that autograd keeps for the backward of Linear -> act -> Linear, per element of the
    activation's input, counting each storage once (the next Linear keeps y anyway)."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(width, width, bias=False, dtype=dtype), act_module,
                                torch.nn.Linear(width, width, bias=False, dtype=dtype))
    x = torch.randn(n_rows, width, dtype=dtype)
    storages = {}

    def pack(t):
        s = t.untyped_storage()
        storages[s.data_ptr()] = s.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x).sum().backward()
    for t in [x, *model.parameters()]:  # what the Linears keep for the weight gradients
        storages.pop(t.untyped_storage().data_ptr(), None)
    return sum(storages.values()) / (n_rows * width)


@pytest.mark.parametrize("dtype,size", [(torch.float32, 4), (torch.bfloat16, 2)])
def test_backward_keeps_less_than_pytorch(dtype, size):
    # PyTorch's ELU, LeakyReLU and Softplus keep x besides the y the next Linear keeps; actgrad's
    # "output" mode keeps y alone: one tensor of the input's size less.
    for ours, theirs in [(at.nn.ELU(), torch.nn.ELU()), (at.nn.LeakyReLU(), torch.nn.LeakyReLU()),
                         (at.nn.Softplus(), torch.nn.Softplus())]:
        assert _saved_bytes_per_element(theirs, dtype=dtype) == 2 * size
        assert _saved_bytes_per_element(ours, dtype=dtype) == size
    # GELU and SiLU need x; "derivative" keeps f' in bfloat16 instead: 2 bytes per element.
    for ours, theirs in [(at.nn.GELU(save="derivative"), torch.nn.GELU()),
                         (at.nn.SiLU(save="derivative"), torch.nn.SiLU())]:
        assert _saved_bytes_per_element(theirs, dtype=dtype) == 2 * size
        assert _saved_bytes_per_element(ours, dtype=dtype) == size + 2
    # Sigmoid and tanh: PyTorch already keeps y alone, as actgrad does.
    assert _saved_bytes_per_element(torch.nn.Sigmoid(), dtype=dtype) == size
    assert _saved_bytes_per_element(at.nn.Sigmoid(), dtype=dtype) == size
