"""Hessian(t) with CoxTime's time input (``include_time``): the time as one more feature."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close_rel

import survinng_py as sv


@pytest.fixture
def exp64(coxtime, data):
    return sv.explain(coxtime, data[0], dtype="float64")


def time_differences(exp, rows, target, h=1e-5):
    """d/dc of d target / d c at c = 1 for the time handle c (every network time shifted by
    c - 1): central differences of the handle's gradient, ``(B, E, T)``."""
    import torch

    model = exp.model.with_time_input("test")
    x = torch.as_tensor(rows, dtype=torch.float64)

    def grad_at(c):
        handle = torch.full((len(rows), 1), c, dtype=x.dtype, requires_grad=True)
        out = model.forward([x, handle], target)  # rows are independent: one output each
        flat = out.reshape(len(rows), -1)
        cols = [torch.autograd.grad(flat[:, j].sum(), handle, retain_graph=True)[0][:, 0]
                for j in range(flat.shape[1])]
        return torch.stack(cols, 1).reshape(out.shape).numpy()

    return (grad_at(1 + h) - grad_at(1 - h)) / (2 * h)


@pytest.mark.parametrize("target", ["survival", "cum_hazard"])
def test_equals_differences_of_grad_with_the_time(exp64, data, target):
    rows = data[0][:3].astype(np.float64)
    res = sv.surv_hessian(exp64, rows, target=target, include_time=True)
    p = rows.shape[1]
    names = exp64.feature_names[0]
    assert res.feature_names[0][-1] == "time:time" and res.feature_names[0][p] == f"{names[0]}:time"
    assert res.values[0].shape[1:3] == (p + 1, p + 1)
    assert res.args["include_time"] is True
    # rows of the features: central differences of Grad(t) with the time, in the features
    grad_fd = []
    for i in range(p):
        step = np.zeros(p)
        step[i] = 1e-5
        up, down = (sv.surv_grad(exp64, rows + s * step, target=target,
                                 include_time=True).values[0] for s in (1, -1))
        grad_fd.append((up - down) / 2e-5)
    grad_fd = np.stack(grad_fd, axis=1)  # (B, i, j incl. time, E, T)
    assert_close_rel(res.values[0][:, :p], grad_fd, rel=1e-5)
    # symmetric, and the time-time entry is the differences of the time's gradient
    np.testing.assert_array_equal(res.values[0], res.values[0].transpose(0, 2, 1, 3, 4))
    assert_close_rel(res.values[0][:, p, p], time_differences(exp64, rows, target), rel=1e-5)
    # the features' own block is the Hessian without the time
    np.testing.assert_allclose(res.values[0][:, :p, :p],
                               sv.surv_hessian(exp64, rows, target=target).values[0],
                               rtol=1e-10, atol=1e-14)


def test_times_input_multiplies_the_time_by_the_network_time(exp64, data):
    rows = data[0][:2]
    plain = sv.surv_hessian(exp64, rows, include_time=True).values[0]
    gxi = sv.surv_hessian(exp64, rows, include_time=True, times_input=True).values[0]
    tau = exp64.model.spec["tau"]
    factor = np.concatenate([np.broadcast_to(rows[:, :, None], (*rows.shape, len(tau))),
                             np.broadcast_to(tau, (len(rows), 1, len(tau)))], axis=1)
    want = plain * (factor[:, :, None] * factor[:, None, :])[:, :, :, None]
    np.testing.assert_allclose(gxi, want, rtol=1e-12)


def test_other_families_refuse_the_time(data, coxph):
    exp = sv.explain(coxph, data[0])
    with pytest.raises(sv.SurvinngError) as info:
        sv.surv_hessian(exp, instance=0, include_time=True)
    assert str(info.value) == ("`include_time` of surv_hessian() must be used with a model whose "
                               "network takes time as an input (CoxTime); got a DeepSurv model")
