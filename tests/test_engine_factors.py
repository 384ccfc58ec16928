"""The engine's factored path for narrow heads (J = G . H, never formed for averages)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import survinng_py as sv
from survinng_py import engine

P = 24  # inputs: more than the head takes per instance, so the factors are used


def _explainer(kind: str):
    torch.manual_seed(0)
    width = 6 if kind == "deephit" else 1
    net = torch.nn.Sequential(torch.nn.Linear(P, 16), torch.nn.Tanh(), torch.nn.Linear(16, width))
    data = np.random.default_rng(0).normal(size=(30, P))
    head = ({"time_bins": np.arange(6.0)} if kind == "deephit"
            else {"baseline_hazard": (np.arange(1.0, 6.0), np.full(5, 0.1))})
    return sv.explain(net, data, model_type=kind, dtype="float64", **head)


@pytest.mark.parametrize("kind,target", [("deephit", "cif"), ("deepsurv", "survival")])
def test_factored_jacobian_equals_forward_mode(kind, target):
    exp = _explainer(kind)
    assert engine.factored(exp.model, exp.data, target)
    auto = engine.jacobian(exp.model, exp.data, target)[1][0]
    forward = engine.jacobian(exp.model, exp.data, target, mode="forward")[1][0]
    np.testing.assert_allclose(auto.numpy(), forward.numpy(), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("kind", ["deephit", "deepsurv"])
@pytest.mark.parametrize("batch_size", [None, 5, 24])  # 12 points per instance
def test_factored_means_equal_means_of_per_point_jacobians(kind, batch_size, monkeypatch):
    exp = _explainer(kind)
    kwargs = dict(instance=[0, 3, 7], n=4, num_samples=3, seed=1, batch_size=batch_size)
    factored = sv.surv_gradshap(exp, **kwargs)
    monkeypatch.setattr(engine, "factored", lambda *args: False)
    per_point = sv.surv_gradshap(exp, **kwargs)
    np.testing.assert_allclose(factored.values[0], per_point.values[0], rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(factored.pred, per_point.pred, rtol=1e-12)
