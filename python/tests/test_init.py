"""actgrad.init against calculate_gain's closed forms and the C++ shaping functions' contract."""
import math

import pytest

import actgrad
import actgrad.init as ai


def test_gain_closed_forms():
    assert ai.gain("relu") == pytest.approx(math.sqrt(2), rel=1e-13)
    assert ai.gain("leaky_relu:negative_slope=0.2") == pytest.approx(math.sqrt(2 / 1.04), rel=1e-13)
    assert ai.gain("identity") == pytest.approx(1.0, rel=1e-13)
    assert ai.fan_in_std("relu", 128) == pytest.approx(math.sqrt(2 / 128), rel=1e-13)


def test_critical_point_is_on_the_edge():
    c = ai.critical("tanh", sigma_b2=0.05)
    assert c["sigma_b2"] == 0.05 and c["chi1"] == pytest.approx(1.0, abs=1e-12)
    back = ai.critical("tanh", q_star=c["q_star"])
    assert back["sigma_w2"] == pytest.approx(c["sigma_w2"], rel=1e-12)
    assert ai.critical("relu")["sigma_w2"] == pytest.approx(2.0, rel=1e-12)
    assert math.isinf(c["xi_c"])


def test_refusals():
    with pytest.raises(ValueError, match="no critical point"):
        ai.critical("relu", sigma_b2=0.5)
    with pytest.raises(ValueError, match="gated"):
        ai.gain("swiglu")
    with pytest.raises(ValueError, match="not both"):
        ai.critical("tanh", q_star=1, sigma_b2=0.1)
    with pytest.raises(ValueError):
        ai.gain("sqrt")


def test_kaiming_normal_fills_with_the_stated_std():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    w = torch.empty(512, 256, dtype=torch.float64)
    ai.kaiming_normal_(w, "gelu")
    assert w.std().item() == pytest.approx(ai.fan_in_std("gelu", 256), rel=0.01)
    b = torch.empty(512, dtype=torch.float64)
    ai.kaiming_normal_(w, "tanh", sigma_b2=0.05, bias=b)
    c = ai.critical("tanh", sigma_b2=0.05)
    assert w.std().item() == pytest.approx(math.sqrt(c["sigma_w2"] / 256), rel=0.01)
    assert b.std().item() == pytest.approx(math.sqrt(0.05), rel=0.1)


def test_dks_and_tat_match_the_reference_parameter_test():
    # google-deepmind/dks's parameter test (see tests/test_shaping.cpp), to its 7 decimals.
    t = ai.dks("tanh", resnet=(3, 4, 23, 3), zeta=1.2)
    assert t["input_scale"] == pytest.approx(0.07461073057540868, abs=1.5e-7)
    assert t["output_scale"] == pytest.approx(18.002635964442558, abs=1.5e-7)
    lr = ai.tat("leaky_relu", resnet=(3, 4, 23, 3), eta=0.75)
    assert lr["negative_slope"] == pytest.approx(0.6291800290346146, abs=1.5e-7)
    with pytest.raises(ValueError, match="depth"):
        ai.dks("tanh")
    with pytest.raises(ValueError, match="zeta"):
        ai.dks("tanh", depth=10, zeta=0.5)
