"""The network output as a target: DeepSurv's ``log_risk``, DeepHit's and MTLR's ``logits``."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from helpers import assert_close_rel
from test_hessian import grad_differences
from test_inthess import Additive, cox

import survinng_py as sv


def test_additive_log_risk_has_no_interaction_but_survival_has():
    rows = np.random.default_rng(0).normal(size=(5, 2))
    exp = cox(Additive(), rows)
    log_risk = sv.surv_hessian(exp, rows, target="log_risk").values[0]
    survival = sv.surv_hessian(exp, rows).values[0]
    assert log_risk.shape == survival.shape == (5, 2, 2, 1, 3)
    np.testing.assert_array_equal(log_risk[:, 0, 1], 0.0)
    np.testing.assert_array_equal(log_risk[:, 1, 0], 0.0)
    assert np.abs(survival[:, 0, 1]).min() > 1e-3
    # the main effects: a''(x1) = -8 tanh(2 x1) / cosh^2(2 x1), b''(x2) = -sin(x2), every time
    x1, x2 = rows[:, :1], rows[:, 1:]
    np.testing.assert_allclose(log_risk[:, 0, 0, 0], -8 * np.tanh(2 * x1) / np.cosh(2 * x1) ** 2
                               * np.ones(3), rtol=1e-12)
    np.testing.assert_allclose(log_risk[:, 1, 1, 0], -np.sin(x2) * np.ones(3), rtol=1e-12)


@pytest.mark.parametrize("family, target", [("coxph", "log_risk"), ("deephit_single", "logits"),
                                            ("mtlr", "logits")])
def test_hessian_equals_differences_of_grad(family, target, data, request):
    exp = sv.explain(request.getfixturevalue(family), data[0], dtype="float64")
    rows = data[0][:4]
    res = sv.surv_hessian(exp, rows, target=target)
    fd = grad_differences(exp, [rows], target)
    assert res.values[0].shape == fd.shape
    assert_close_rel(res.values[0], fd, rel=1e-5)


def network_output(model, x):
    """pycox's own ``model.predict(x)`` (the network output) in float64."""
    net = model.net
    model.net = copy.deepcopy(net).double()
    try:
        return np.asarray(model.predict(x.astype(np.float64)))
    finally:
        model.net = net


@pytest.mark.parametrize("family, target", [("coxph", "log_risk"), ("deephit_single", "logits"),
                                            ("mtlr", "logits")])
def test_grad_equals_differences_of_pycox_predict(family, target, data, request):
    model = request.getfixturevalue(family)
    exp = sv.explain(model, data[0], dtype="float64")
    rows, h = data[0][:3].astype(np.float64), 1e-6
    grad = sv.surv_grad(exp, rows, target=target)
    n_times = len(grad.time)
    columns = []
    for i in range(rows.shape[1]):
        step = np.zeros(rows.shape[1])
        step[i] = h
        diff = (network_output(model, rows + step) - network_output(model, rows - step)) / (2 * h)
        columns.append(np.broadcast_to(diff.reshape(len(rows), 1, -1), (len(rows), 1, n_times)))
    assert_close_rel(grad.values[0], np.stack(columns, axis=1), rel=1e-6)
    pred = network_output(model, rows).reshape(len(rows), 1, -1)
    np.testing.assert_allclose(grad.pred, np.broadcast_to(pred, grad.pred.shape), rtol=1e-12)


def test_competing_risks_logits_per_event(data):
    from conftest import simulate

    x = simulate(seed=5, n_risks=2)[0]
    net = torch.nn.Linear(x.shape[1], 2 * 4).double()
    exp = sv.explain(net, x, model_type="deephit", time_bins=np.arange(4.0), dtype="float64",
                     event_names=["relapse", "death"])
    res = sv.surv_grad(exp, x[:2], target="logits")
    assert res.event_names == ["relapse", "death"]
    weight = net.weight.detach().numpy().reshape(2, 4, -1)  # (risk, time, feature)
    np.testing.assert_allclose(res.values[0], np.broadcast_to(
        weight.transpose(2, 0, 1), (2, *weight.transpose(2, 0, 1).shape)), rtol=1e-12)


def test_conditional_targets_do_not_derive_from_the_network_output(data, coxph, deephit_single):
    cox_exp = sv.explain(coxph, data[0])
    hit_exp = sv.explain(deephit_single, data[0])
    assert "log_risk" in cox_exp.model.targets and "logits" in hit_exp.model.targets
    assert cox_exp.model.conditional_targets == ("conditional_survival",)
    assert hit_exp.model.conditional_targets == ("conditional_survival", "conditional_cif")


def test_bundles_export_the_network_output_and_read_older_ones(tmp_path):
    from test_bundle_files import explainer, resign, sidecar

    exp = explainer()
    folder = tmp_path / "bundle"
    sv.save_model(exp, folder, targets=["survival", "log_risk"], dynamo=False)
    want = sv.surv_grad(exp, instance=[0, 2], target="log_risk").values[0]
    got = sv.surv_grad(sv.load_model(folder), instance=[0, 2], target="log_risk").values[0]
    np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(sv.predict_onnx(folder / "log_risk.onnx", exp.data[0][:2].numpy()),
                               exp.model.forward([exp.data[0][:2]], "log_risk").numpy(),
                               rtol=1e-6)

    def older(m):  # as written before the target was added
        m["targets"].remove("log_risk")
        m["onnx"].remove("log_risk")
        m["event_names"].pop("log_risk")
        m["files"].pop("log_risk.onnx")

    (folder / "log_risk.onnx").unlink()
    resign(folder, older)
    assert sidecar(folder)["targets"] == ["survival", "cum_hazard", "hazard"]
    reloaded = sv.load_model(folder)
    np.testing.assert_array_equal(
        sv.surv_grad(reloaded, instance=[0, 2], target="log_risk").values[0], want)


def test_logits_exported_as_onnx_read_back_per_event(tmp_path):
    from conftest import simulate

    x = simulate(seed=5, n_risks=2)[0][:20]
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 6), torch.nn.Tanh(),
                              torch.nn.Linear(6, 2 * 4))
    exp = sv.explain(net, x, model_type="deephit", time_bins=np.arange(4.0),
                     event_names=["relapse", "death"])
    path = sv.export_onnx(exp, tmp_path / "logits.onnx", target="logits", dynamo=False)
    from_file = sv.explain(path, x, model_type="onnx")
    shap = sv.surv_shap(from_file, instance=[0, 1], target="logits")
    assert shap.event_names == ["relapse", "death"]
    np.testing.assert_allclose(shap.pred, sv.surv_grad(exp, instance=[0, 1], target="logits").pred,
                               rtol=1e-5)
