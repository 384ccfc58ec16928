"""Closed-form Jacobian-vector products of the survival heads against automatic
differentiation of the head itself (float64), for every family and target."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.func import jvp, vmap

import survinng_py as sv
from survinng_py.models import SurvivalModel

P = 3
TIMES = np.array([0.5, 1.0, 2.0, 3.5, 5.0, 8.0])
HAZARD = (TIMES, np.array([0.1, 0.0, 0.2, 0.05, 0.0, 0.3]))  # two inactive CoxTime times

#: id -> (model_type, network outputs per instance row, head arguments)
HEADS = {
    "deepsurv": ("deepsurv", 1, {"baseline_hazard": HAZARD}),
    "coxtime": ("coxtime", 1, {"baseline_hazard": HAZARD}),
    "deephit": ("deephit", 6, {"time_bins": TIMES}),
    "deephit_2_risks": ("deephit", 12, {"time_bins": TIMES, "event_names": ["a", "b"]}),
    "mtlr": ("mtlr", 6, {"time_bins": TIMES}),
    "logistichazard": ("logistichazard", 6, {"time_bins": TIMES}),
    "bcesurv": ("bcesurv", 6, {"time_bins": TIMES}),
    "pchazard": ("pchazard", 5, {"time_bins": TIMES}),
    "pchazard_sub3": ("pchazard", 5, {"time_bins": TIMES, "sub": 3}),
    "logistichazard_const_pdf": ("logistichazard", 6, {"time_bins": TIMES, "interpolate": 3}),
    "logistichazard_const_hazard": ("logistichazard", 6, {"time_bins": TIMES, "interpolate": 4,
                                                          "scheme": "const_hazard"}),
    "mtlr_lin_surv": ("mtlr", 6, {"time_bins": TIMES, "interpolate": 2, "scheme": "lin_surv"}),
    "bcesurv_const_pdf": ("bcesurv", 6, {"time_bins": TIMES, "interpolate": 3}),
}


class CoxTimeNet(torch.nn.Module):
    """A CoxTime network: the rows and the time column."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(P + 1, 1)

    def forward(self, x, tau):
        return self.lin(torch.cat([x, tau], dim=1))


def _model(name: str) -> SurvivalModel:
    model_type, width, head = HEADS[name]
    torch.manual_seed(0)
    net = CoxTimeNet() if model_type == "coxtime" else torch.nn.Linear(P, width)
    data = np.random.default_rng(0).normal(size=(4, P))
    return sv.explain(net, data, model_type=model_type, dtype="float64", **head).model


CASES = [(name, target) for name in HEADS for target in _model(name).targets]


def _autograd(model, phi, dphi, target):
    """torch.func.jvp of the head along each direction."""
    return vmap(lambda v: jvp(lambda p: model.head(p, target), (phi,), (v,))[1],
                in_dims=1, out_dims=1)(dphi)


@pytest.mark.parametrize("overwrite", [False, True], ids=["dphi_kept", "dphi_overwritten"])
@pytest.mark.parametrize("name,target", CASES, ids=[f"{n}-{t}" for n, t in CASES])
def test_closed_form_equals_autograd_jvp(name, target, overwrite, monkeypatch):
    """Also when the head may work in ``dphi`` (the engine's own directions); when it
    may not, ``dphi`` is left as it was."""
    model = _model(name)
    expected_value = model.head  # the autograd default must not be what answers here
    monkeypatch.setattr(SurvivalModel, "head_jvp", _no_fallback)
    width = HEADS[name][1] * model.rows_per_instance
    gen = torch.Generator().manual_seed(1)
    phi = torch.randn(5, width, generator=gen, dtype=torch.float64)
    phi[0, 0] = 25.0  # beyond softplus's threshold and sigmoid's saturation
    dphi = torch.randn(5, 4, width, generator=gen, dtype=torch.float64)
    given = dphi.clone()
    value, tangent = model.head_jvp(phi, given, target, overwrite_dphi=overwrite)
    if not overwrite:
        assert torch.equal(given, dphi)
    expected = _autograd(model, phi, dphi, target)
    assert tangent.shape == expected.shape == (5, 4, *value.shape[1:])
    assert tangent.is_contiguous()
    torch.testing.assert_close(value, expected_value(phi, target), rtol=0, atol=0)
    torch.testing.assert_close(tangent, expected, rtol=1e-12, atol=1e-14)


def _no_fallback(*args, **kwargs):
    raise AssertionError("the autograd default was used")


@pytest.mark.parametrize("overwrite", [False, True], ids=["dphi_kept", "dphi_overwritten"])
@pytest.mark.parametrize("name", ["deephit", "deephit_2_risks", "coxtime", "pchazard",
                                  "pchazard_sub3", "logistichazard"])
def test_closed_form_writes_into_out_and_reads_strided_directions(name, overwrite):
    model = _model(name)
    width = HEADS[name][1] * model.rows_per_instance
    phi = torch.randn(3, width, dtype=torch.float64)
    dphi = torch.randn(4, 3, width, dtype=torch.float64).movedim(0, 1)  # (3, 4, MK), strided
    expected = _autograd(model, phi, dphi, model.targets[0])
    out = torch.full(expected.shape, np.nan, dtype=torch.float64)
    value, tangent = model.head_jvp(phi, dphi, model.targets[0], out=out, overwrite_dphi=overwrite)
    assert tangent.data_ptr() == out.data_ptr()
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-14)


def test_a_target_without_closed_form_goes_through_autograd():
    """A target a family does not know in closed form (here one added by a subclass)
    is differentiated through the head by the default head_jvp."""
    base = _model("deephit")

    class WithOdds(type(base)):
        targets = (*type(base).targets, "odds")

        def head(self, phi, target):
            if target != "odds":
                return super().head(phi, target)
            surv = super().head(phi, "survival")
            return surv / (1 - surv)

    model = WithOdds.__new__(WithOdds)
    model.__dict__.update(base.__dict__)
    phi = torch.randn(4, 6, dtype=torch.float64)
    dphi = torch.randn(4, 2, 6, dtype=torch.float64)
    value, tangent = model.head_jvp(phi, dphi, "odds")
    torch.testing.assert_close(value, model.head(phi, "odds"), rtol=0, atol=0)
    torch.testing.assert_close(tangent, _autograd(model, phi, dphi, "odds"),
                               rtol=1e-12, atol=1e-14)
