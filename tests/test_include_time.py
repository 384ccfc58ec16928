"""CoxTime's time input (``include_time``): the attribution of the time the network sees,
as survinng reports it, for every gradient method."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import survinng_py as sv

from conftest import N_FEATURES, pycox_float64
from helpers import assert_close_rel

METHODS = {
    "grad": lambda exp, **kw: sv.surv_grad(exp, **kw),
    "smoothgrad": lambda exp, **kw: sv.surv_smoothgrad(exp, n=3, seed=0, **kw),
    "intgrad": lambda exp, **kw: sv.surv_intgrad(exp, n=5, **kw),
    "gradshap": lambda exp, **kw: sv.surv_gradshap(exp, n=3, num_samples=2, seed=0, **kw),
}


class ShiftedTime(torch.nn.Module):
    """pycox's CoxTime network seeing every time shifted by ``delta``."""

    def __init__(self, net, delta):
        super().__init__()
        self.net, self.delta = net, delta

    def forward(self, x, t):
        return self.net(x, t.double() + self.delta)  # pycox passes its float32 grid


def pycox_survival_shifted(model64, rows, delta):
    """pycox's own survival prediction ``(B, 1, T)`` with the network's time input shifted
    by ``delta`` (the baseline hazards held fixed)."""
    shifted = copy.copy(model64)
    shifted.net = ShiftedTime(model64.net, delta)
    return shifted.predict_surv_df(rows).to_numpy().T[:, None, :]


def test_time_attribution_equals_finite_differences_of_pycox_survival(coxtime, data):
    x = data[0]
    rows = x[:5].astype("float64")
    exp = sv.explain(coxtime, x, dtype="float64")
    res = sv.surv_grad(exp, rows, include_time=True)
    model64 = pycox_float64(coxtime)
    h = 1e-5
    fd = (pycox_survival_shifted(model64, rows, h) - pycox_survival_shifted(model64, rows, -h)) / (
        2 * h
    )
    assert res.feature_names == [[f"X{k + 1}" for k in range(N_FEATURES)] + ["time"]]
    assert res.values[0].shape == (5, N_FEATURES + 1, 1, len(exp.model.time))
    assert_close_rel(res.values[0][:, -1], fd)
    assert np.abs(fd).max() > 1e-3  # the network does use time
    # the features' attributions and the prediction are those without the time input
    plain = sv.surv_grad(exp, rows)
    np.testing.assert_array_equal(res.values[0][:, :-1], plain.values[0])
    np.testing.assert_array_equal(res.pred, plain.pred)
    assert res.args["include_time"] is True


def _bare_coxtime():
    torch.manual_seed(0)
    layers = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = layers

        def forward(self, x, t):
            return self.layers(torch.cat([x, t], dim=1))

    data = np.random.default_rng(2).normal(size=(30, 3))
    hazard = ([0.5, 1.0, 2.0, 3.0], [0.1, 0.0, 0.3, 0.2])
    return sv.explain(Net(), data, model_type="coxtime", baseline_hazard=hazard,
                      labtrans=lambda tau: 10 * tau, dtype="float64"), data


def test_gxi_multiplies_the_time_attribution_by_the_network_time():
    exp, _ = _bare_coxtime()
    grad = sv.surv_grad(exp, instance=[0, 1], include_time=True)
    gxi = sv.surv_grad(exp, instance=[0, 1], include_time=True, times_input=True)
    tau = np.array([0.5, 1.0, 2.0, 3.0])  # the network's times (reported: 10 x tau)
    np.testing.assert_array_equal(gxi.time, 10 * tau)
    np.testing.assert_allclose(gxi.values[0][:, -1], grad.values[0][:, -1] * tau, rtol=1e-12)


def test_smoothgrad_without_noise_is_grad_with_the_time_input():
    exp, _ = _bare_coxtime()
    for times_input in (False, True):
        grad = sv.surv_grad(exp, instance=[0, 1], include_time=True, times_input=times_input)
        smooth = sv.surv_smoothgrad(exp, instance=[0, 1], include_time=True, n=4,
                                    noise_level=0.0, times_input=times_input, seed=0)
        np.testing.assert_allclose(smooth.values[0], grad.values[0], rtol=1e-12, atol=0)


def test_intgrad_completeness_with_the_time_input():
    exp, _ = _bare_coxtime()
    res = sv.surv_intgrad(exp, instance=[0, 1, 2], include_time=True, n=400)
    # the time does not move on the path from the reference: no attribution of its own
    np.testing.assert_array_equal(res.values[0][:, -1], 0.0)
    gap = np.abs(res.values[0].sum(axis=1) - res.pred_diff).max()
    assert gap < 1e-3 and np.abs(res.pred_diff).max() > 1e-2
    # without times_input: the mean gradient on the path, at alpha = 1 the gradient at x
    at_x = sv.surv_intgrad(exp, instance=[0, 1], include_time=True, n=1, times_input=False)
    grad = sv.surv_grad(exp, instance=[0, 1], include_time=True)
    np.testing.assert_allclose(at_x.values[0], grad.values[0], rtol=1e-12, atol=0)


def test_gradshap_completeness_with_the_time_input():
    exp, data = _bare_coxtime()
    res = sv.surv_gradshap(exp, instance=[0, 1], include_time=True, data_ref=data[:1],
                           num_samples=1, n=400, seed=0)
    np.testing.assert_array_equal(res.values[0][:, -1], 0.0)
    assert np.abs(res.values[0].sum(axis=1) - res.pred_diff).max() < 1e-3


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_gradient_method_reports_time_as_the_last_feature(method):
    exp, data = _bare_coxtime()
    res = METHODS[method](exp, x=data[:2], include_time=True)
    assert res.feature_names == [["X1", "X2", "X3", "time"]]
    assert res.input_names == ["input_1"] and res.values[0].shape == (2, 4, 1, 4)
    plain = METHODS[method](exp, x=data[:2])
    np.testing.assert_allclose(res.values[0][:, :-1], plain.values[0], rtol=1e-12, atol=1e-15)


def test_conditional_target_with_the_time_input():
    exp, _ = _bare_coxtime()
    plain = sv.surv_grad(exp, instance=[0, 1], include_time=True)
    res = sv.surv_grad(exp, instance=[0, 1], include_time=True, times_input=True,
                       target="conditional_survival", given=10.0)
    np.testing.assert_array_equal(res.time, [10.0, 20.0, 30.0])
    assert res.args["given"] == 10.0 and res.args["include_time"] is True
    # d S(t | T > s) = d S(t) / S(s) - S(t) d S(s) / S(s)^2 (s = 10: grid point 1)
    surv, grad = plain.pred[:, 0], plain.values[0][:, -1, 0]  # (B, T)
    want = grad[:, 1:] / surv[:, 1:2] - surv[:, 1:] * grad[:, 1:2] / surv[:, 1:2] ** 2
    tau = np.array([1.0, 2.0, 3.0])  # the network's times on the cut grid
    np.testing.assert_allclose(res.values[0][:, -1, 0], want * tau, rtol=1e-10)


def test_families_without_a_time_input_refuse():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 1))
    exp = sv.explain(net, np.zeros((4, 3)), model_type="deepsurv",
                     baseline_hazard=([1.0, 2.0], [0.1, 0.2]))
    with pytest.raises(sv.SurvinngError) as err:
        sv.surv_intgrad(exp, instance=0, include_time=True)
    assert str(err.value) == (
        "`include_time` of surv_intgrad() must be used with a model whose network takes time "
        "as an input (CoxTime); got a DeepSurv model"
    )


def test_a_feature_named_time_is_refused():
    exp, data = _bare_coxtime()
    import pandas as pd

    frame = pd.DataFrame(data, columns=["age", "time", "dose"])
    exp = sv.explain(exp.model.net, frame, model_type="coxtime",
                     baseline_hazard=([0.5, 1.0], [0.1, 0.2]))
    message = ("`include_time` of surv_grad() must be used with no feature named 'time' (the "
               "time input's name); got a feature 'time'")
    with pytest.raises(sv.SurvinngError) as err:
        sv.surv_grad(exp, instance=0, include_time=True)
    assert str(err.value) == message
    # without data, the names come from the rows explained
    exp = sv.explain(exp.model.net, model_type="coxtime", baseline_hazard=([0.5, 1.0], [0.1, 0.2]))
    with pytest.raises(sv.SurvinngError) as err:
        sv.surv_grad(exp, frame[:2], include_time=True)
    assert str(err.value) == message


def test_include_time_must_be_a_flag():
    exp, _ = _bare_coxtime()
    with pytest.raises(sv.SurvinngError, match="`include_time` of surv_grad"):
        sv.surv_grad(exp, instance=0, include_time="yes")


def test_a_network_with_two_inputs_gets_the_time_as_an_input_of_its_own():
    torch.manual_seed(3)
    image_part = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    head = torch.nn.Sequential(torch.nn.Linear(3 + 2 + 1, 6), torch.nn.Tanh(),
                               torch.nn.Linear(6, 1))

    class TwoInputs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.image_part, self.head = image_part, head

        def forward(self, image, table, t):
            return self.head(torch.cat([self.image_part(image), table, t], dim=1))

    rng = np.random.default_rng(4)
    data = [rng.normal(size=(10, 1, 2, 2)), rng.normal(size=(10, 2))]
    tau, h0 = np.array([0.5, 1.0, 2.0]), np.array([0.2, 0.1, 0.3])
    net = TwoInputs()
    exp = sv.explain(net, data, model_type="coxtime", baseline_hazard=(tau, h0),
                     dtype="float64")
    net64 = copy.deepcopy(net).double()
    res = sv.surv_grad(exp, instance=[0, 1, 2], include_time=True)
    assert res.input_names == ["input_1", "input_2", "time"]
    assert res.feature_names[-1] == ["time"] and res.values[2].shape == (3, 1, 1, 3)

    def survival(delta):  # the CoxTime head by hand, every network time shifted by delta
        with torch.no_grad():
            return _survival(delta)

    def _survival(delta):
        rows = [torch.as_tensor(d[:3]) for d in data]
        g = torch.stack([net64(*rows, torch.full((3, 1), t + delta, dtype=torch.float64))
                         for t in tau], 1)
        return torch.exp(-torch.cumsum(torch.as_tensor(h0) * torch.exp(g[..., 0]), 1)).numpy()

    h = 1e-6
    fd = (survival(h) - survival(-h)) / (2 * h)
    assert_close_rel(res.values[2][:, 0, 0], fd)


def test_results_with_time_and_given_round_trip_through_arrow(tmp_path):
    from survinng_py import exchange

    exp, _ = _bare_coxtime()
    res = sv.surv_intgrad(exp, instance=[0, 1], include_time=True, n=3,
                          target="conditional_survival", given=10.0)
    exchange.write(res, tmp_path / "long.parquet", layout="long")
    back = exchange.read(tmp_path / "long.parquet")
    np.testing.assert_array_equal(back.values[0], res.values[0])
    np.testing.assert_array_equal(back.time, res.time)
    assert back.feature_names == res.feature_names and back.args == res.args
    # the wide layout has a column per feature beside its "time" column: refused, not mixed
    with pytest.raises(sv.SurvinngError, match="got column 'time' twice"):
        exchange.write(res, tmp_path / "wide.parquet", layout="wide")
