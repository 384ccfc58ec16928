"""Reference computations for the tests: the models' own predictions and finite differences."""
from __future__ import annotations

import numpy as np
import torch


def pycox_target(model, x, target):
    """pycox's own prediction of ``target`` as ``(B, event, time)`` (float64 if the net is)."""
    name = type(model).__name__
    if name.startswith("Interpolate"):  # model.interpolate(sub, scheme): survival only
        # pycox builds the linear interpolation in torch's default dtype (torch.zeros)
        previous = torch.get_default_dtype()
        torch.set_default_dtype(next(model.model.net.parameters()).dtype)
        try:
            return model.predict_surv(x)[:, None, :]
        finally:
            torch.set_default_dtype(previous)
    if name in ("LogisticHazard", "PCHazard") and target in ("hazard", "cum_hazard"):
        hazard = model.predict_hazard(x)[:, None, :]
        return hazard if target == "hazard" else hazard.cumsum(-1)
    if name in ("CoxPH", "CoxCC", "CoxTime"):
        cum = model.predict_cumulative_hazards(x).to_numpy().T[:, None, :]
        if target == "cum_hazard":
            return cum
        if target == "hazard":
            return np.diff(cum, axis=-1, prepend=0.0)
        return np.exp(-cum)
    if name == "DeepHit":
        if target == "survival":
            return model.predict_surv_df(x).to_numpy().T[:, None, :]
        pmf = model.predict_pmf(x).transpose(2, 0, 1)
    else:
        if target == "survival":
            return model.predict_surv(x)[:, None, :]
        pmf = model.predict_pmf(x)[:, None, :]
    return pmf if target == "pmf" else pmf.cumsum(-1)


def finite_differences(fn, inputs, h=1e-5):
    """Central differences of ``fn(list_of_arrays) -> (B, E, T)`` per input element.

    Rows are perturbed together (they are independent), so the cost is one pair of
    calls per feature. Returns per input ``(B, *dims, E, T)``.
    """
    out = []
    for k, x in enumerate(inputs):
        grads = []
        for j in range(x[0].size):
            step = np.zeros(x[0].size)
            step[j] = h
            step = step.reshape(x.shape[1:])
            up = [a + step if i == k else a for i, a in enumerate(inputs)]
            down = [a - step if i == k else a for i, a in enumerate(inputs)]
            grads.append((fn(up) - fn(down)) / (2 * h))
        g = np.stack(grads, axis=1)  # (B, size, E, T)
        out.append(g.reshape(*x.shape, *g.shape[-2:]))
    return out


def module_target(explainer, target):
    """The explainer's own forward pass as a numpy function (for bare modules)."""
    model = explainer.model

    def fn(arrays):
        with torch.no_grad():
            inputs = [torch.as_tensor(a, dtype=model.dtype) for a in arrays]
            return model.forward(inputs, target).numpy()
    return fn


def assert_close_rel(actual, expected, rel=1e-4):
    scale = max(np.abs(expected).max(), 1e-12)
    np.testing.assert_allclose(actual, expected, rtol=rel, atol=rel * scale)
