"""Grad(t)/GxI(t) and the model layer: parity with pycox, invariances, no side effects."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import survinng_py as sv
from survinng_py import engine

from conftest import pycox_float64
from helpers import assert_close_rel, finite_differences, module_target, pycox_target

FAMILIES = ["coxph", "coxtime", "deephit_single", "deephit_cr"]
TARGETS = {"coxph": ["survival", "cum_hazard", "hazard"],
           "coxtime": ["survival", "cum_hazard", "hazard"],
           "deephit_single": ["survival", "cif", "pmf"], "deephit_cr": ["survival", "cif", "pmf"]}
CASES = [(f, t) for f in FAMILIES for t in TARGETS[f]]


@pytest.fixture
def fitted(request, data):
    model = request.getfixturevalue(request.param)
    x = data[0] if request.param != "deephit_cr" else request.getfixturevalue("deephit_cr_x")
    return model, x


@pytest.fixture(scope="session")
def deephit_cr_x():
    from conftest import simulate
    return simulate(seed=5, n_risks=2)[0]


@pytest.mark.parametrize("fitted,target", CASES, indirect=["fitted"])
def test_grad_equals_finite_differences_of_pycox_prediction(fitted, target):
    model, x = fitted
    rows = x[:6].astype("float64")
    exp = sv.explain(model, x, dtype="float64")
    res = sv.surv_grad(exp, rows, target=target)
    model64 = pycox_float64(model)
    fd = finite_differences(lambda a: pycox_target(model64, a[0], target), [rows])[0]
    assert res.values[0].shape == fd.shape
    assert_close_rel(res.values[0], fd)
    assert_close_rel(res.pred, pycox_target(model64, rows, target), rel=1e-6)


@pytest.mark.parametrize("fitted", FAMILIES, indirect=True)
def test_time_grid_is_pycox_grid(fitted):
    model, x = fitted
    exp = sv.explain(model, x)
    np.testing.assert_array_equal(exp.model.time, model.predict_surv_df(x[:2]).index.to_numpy(float))


@pytest.mark.parametrize("fitted", FAMILIES, indirect=True)
def test_float32_prediction_matches_pycox(fitted):
    model, x = fitted
    res = sv.surv_grad(sv.explain(model, x), instance=[0, 1, 2])
    np.testing.assert_allclose(res.pred, pycox_target(model, x[:3], "survival"), atol=2e-6)


def test_two_input_module_equals_finite_differences(two_input):
    net, (image, table), bins = two_input
    exp = sv.explain(net, [image, table], model_type="deephit", time_bins=bins, dtype="float64",
                     event_names=["event_1", "event_2", "event_3"])  # flat output: 3 risks
    rows = [image[:5].astype("float64"), table[:5].astype("float64")]
    for target in ("survival", "cif"):
        res = sv.surv_grad(exp, rows, target=target)
        fd = finite_differences(module_target(exp, target), rows)
        assert [v.shape for v in res.values] == [f.shape for f in fd]
        for got, want in zip(res.values, fd):
            assert_close_rel(got, want)
    assert res.event_names == ["event_1", "event_2", "event_3"]
    assert res.feature_names[0][:2] == ["X1:Y1:Z1", "X1:Y1:Z2"]


def test_lstm_sequence_input_equals_finite_differences():
    class SeqNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(2, 5, batch_first=True)
            self.out = torch.nn.Linear(5, 12)

        def forward(self, seq):
            return self.out(self.lstm(seq)[0][:, -1])

    torch.manual_seed(0)
    net, seq = SeqNet(), np.random.default_rng(0).normal(size=(6, 4, 2))
    exp = sv.explain(net, seq, model_type="deephit", time_bins=np.arange(12.0), dtype="float64")
    res = sv.surv_grad(exp, instance=[0, 1, 2])
    fd = finite_differences(module_target(exp, "survival"), [seq[:3]])[0]
    assert_close_rel(res.values[0], fd)
    res32 = sv.surv_grad(sv.explain(net, seq, model_type="deephit", time_bins=np.arange(12.0)),
                         instance=[0, 1, 2])
    assert_close_rel(res32.values[0], res.values[0], rel=1e-4)


class _OnceDifferentiableTanh(torch.autograd.Function):
    """Like many custom kernels: a backward that cannot itself be differentiated."""

    @staticmethod
    def forward(ctx, x):
        y = torch.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (1 - y * y)


def test_network_without_double_backward_falls_back_to_reverse_mode():
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = torch.nn.Linear(3, 6), torch.nn.Linear(6, 9)

        def forward(self, x):
            return self.b(_OnceDifferentiableTanh.apply(self.a(x)))

    torch.manual_seed(0)
    data = np.random.default_rng(1).normal(size=(5, 3))
    exp = sv.explain(Net(), data, model_type="deephit", time_bins=np.arange(9.0), dtype="float64")
    res = sv.surv_grad(exp, instance=[0, 1])  # 3 inputs < 9 outputs: forward mode is tried
    assert not engine.forward_mode_ok(exp.model)
    fd = finite_differences(module_target(exp, "survival"), [data[:2]])[0]
    assert_close_rel(res.values[0], fd)


@pytest.mark.parametrize("fitted", FAMILIES, indirect=True)
def test_forward_and_reverse_mode_agree(fitted):
    model, x = fitted
    exp = sv.explain(model, x, dtype="float64")
    rows = [torch.as_tensor(x[:5], dtype=torch.float64)]
    target = exp.model.targets[1]
    _, fwd = engine.jacobian(exp.model, rows, target, mode="forward")
    _, rev = engine.jacobian(exp.model, rows, target, mode="reverse")
    np.testing.assert_allclose(fwd[0].numpy(), rev[0].numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("fitted", FAMILIES, indirect=True)
def test_gxi_is_grad_times_input(fitted):
    model, x = fitted
    exp = sv.explain(model, x)
    grad = sv.surv_grad(exp, instance=[3, 4])
    gxi = sv.surv_grad(exp, instance=[3, 4], times_input=True)
    np.testing.assert_allclose(gxi.values[0], grad.values[0] * x[[3, 4], :, None, None], rtol=1e-6)
    assert (grad.label, gxi.label) == ("Grad(t)", "GxI(t)")


@pytest.mark.parametrize("fitted", FAMILIES, indirect=True)
@pytest.mark.parametrize("dtype,rel", [("float64", 1e-12), ("float32", 1e-5)])
def test_batch_size_does_not_change_result(fitted, dtype, rel):
    # float32 kernels may round differently for other batch shapes; float64 shows the math
    model, x = fitted
    exp = sv.explain(model, x, dtype=dtype)
    rows = list(range(11))
    full = sv.surv_grad(exp, instance=rows).values[0]
    for batch_size in (1, 4):
        np.testing.assert_allclose(sv.surv_grad(exp, instance=rows, batch_size=batch_size).values[0],
                                   full, rtol=0, atol=rel * np.abs(full).max())


@pytest.mark.parametrize("fitted", FAMILIES, indirect=True)
def test_float32_agrees_with_float64(fitted):
    model, x = fitted
    r32 = sv.surv_grad(sv.explain(model, x, dtype="float32"), instance=[0, 5])
    r64 = sv.surv_grad(sv.explain(model, x, dtype="float64"), instance=[0, 5])
    assert r32.values[0].dtype == np.float32 and r64.values[0].dtype == np.float64
    assert_close_rel(r32.values[0], r64.values[0], rel=1e-3)


@pytest.mark.parametrize("fitted", FAMILIES, indirect=True)
def test_user_model_and_inputs_are_unchanged(fitted):
    model, x = fitted
    model.net.train()
    before = {k: v.clone() for k, v in model.net.state_dict().items()}
    flags = [p.requires_grad for p in model.net.parameters()]
    grads = [None if p.grad is None else p.grad.clone() for p in model.net.parameters()]
    x_before = x.copy()
    exp = sv.explain(model, x, dtype="float64")
    sv.surv_grad(exp, instance=[0, 1], times_input=True)
    assert model.net.training
    assert [p.requires_grad for p in model.net.parameters()] == flags
    for p, g in zip(model.net.parameters(), grads):
        assert (p.grad is None and g is None) or torch.equal(p.grad, g)
    for k, v in model.net.state_dict().items():
        assert v.dtype == before[k].dtype and torch.equal(v, before[k]), k
    np.testing.assert_array_equal(x, x_before)


@pytest.mark.parametrize("fitted", FAMILIES, indirect=True)
def test_instance_and_x_give_the_same_numbers(fitted):
    model, x = fitted
    exp = sv.explain(model, x)
    by_index = sv.surv_grad(exp, instance=[7, 2])
    by_rows = sv.surv_grad(exp, x[[7, 2]])
    np.testing.assert_array_equal(by_index.values[0], by_rows.values[0])
    np.testing.assert_array_equal(by_index.instance, [7, 2])


def test_dataframe_columns_are_matched_by_name(coxph, data):
    x = data[0]
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    exp = sv.explain(coxph, frame)
    res = sv.surv_grad(exp, frame[["d", "c", "b", "a"]].iloc[:3])
    np.testing.assert_array_equal(res.values[0], sv.surv_grad(exp, instance=[0, 1, 2]).values[0])
    assert res.feature_names == [["a", "b", "c", "d"]]


def test_deepsurv_feature_ratios_constant_over_time(coxph, data):
    exp = sv.explain(coxph, data[0], dtype="float64")
    for target in ("survival", "cum_hazard", "hazard"):
        v = sv.surv_grad(exp, instance=[0], target=target).values[0][0, :, 0, :]
        keep = np.abs(v[0]) > 1e-12
        ratios = v[:, keep] / v[0, keep]
        np.testing.assert_allclose(ratios, ratios[:, :1].repeat(keep.sum(), axis=1), rtol=1e-8)


def test_deephit_targets_are_consistent(deephit_cr, deephit_cr_x):
    exp = sv.explain(deephit_cr, deephit_cr_x, dtype="float64")
    grads = {t: sv.surv_grad(exp, instance=[0, 1], target=t).values[0] for t in exp.model.targets}
    np.testing.assert_allclose(grads["cif"], grads["pmf"].cumsum(-1), atol=1e-12)
    np.testing.assert_allclose(grads["survival"][..., 0, :], -grads["cif"].sum(-2), atol=1e-12)


def test_coxtime_cum_hazard_is_cumsum_of_hazard(coxtime, data):
    exp = sv.explain(coxtime, data[0], dtype="float64")
    hazard = sv.surv_grad(exp, instance=[1, 2], target="hazard").values[0]
    cum = sv.surv_grad(exp, instance=[1, 2], target="cum_hazard").values[0]
    np.testing.assert_allclose(cum, hazard.cumsum(-1), rtol=1e-9, atol=1e-12)


def test_long_table_puts_each_value_at_its_labels(deephit_cr, deephit_cr_x):
    res = sv.surv_grad(sv.explain(deephit_cr, deephit_cr_x), instance=[4, 9], target="cif")
    table = res.to_pandas("long")
    assert list(table.columns) == ["instance", "input", "feature", "feature_index", "event", "time",
                                   "value", "pred"]
    assert len(table) == res.values[0].size
    row = table.iloc[137]
    i = list(res.instance).index(row.instance)
    f = res.feature_names[0].index(row.feature)
    e = res.event_names.index(row.event)
    t = int(np.flatnonzero(res.time == row.time)[0])
    assert row.value == res.values[0][i, f, e, t] and row.pred == res.pred[i, e, t]
    wide = res.to_pandas("wide")
    assert len(wide) == 2 * 2 * len(res.time)
    np.testing.assert_array_equal(wide["X2"].to_numpy(), res.values[0][:, 1].reshape(-1))
