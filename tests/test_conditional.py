"""Conditional targets: S(t | T > s) = S(t)/S(s) and, for competing risks, the CIF given
no event by s, against pycox's own predictions, for every gradient method."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import survinng_py as sv

from conftest import pycox_float64
from helpers import assert_close_rel, finite_differences

FAMILIES = ["coxph", "coxtime", "deephit_single", "deephit_cr", "logistic_hazard"]
CASES = [(f, "conditional_survival") for f in FAMILIES] + [("deephit_cr", "conditional_cif")]


@pytest.fixture
def fitted(request, data):
    model = request.getfixturevalue(request.param)
    if request.param == "deephit_cr":
        from conftest import simulate
        return model, simulate(seed=5, n_risks=2)[0]
    return model, data[0]


def pycox_conditional(model, rows, target, given):
    """The conditional target from pycox's own predictions (``predict_surv_df``,
    ``predict_cif``), read as step functions: ``(B, event, times >= given)``."""
    surv_df = model.predict_surv_df(rows)
    grid = surv_df.index.to_numpy(float)
    keep = grid >= given
    at = np.searchsorted(grid, given, side="right") - 1  # last grid time <= given
    surv = surv_df.to_numpy().T[:, None, :]
    surv_at = surv[..., at : at + 1] if at >= 0 else 1.0
    if target == "conditional_survival":
        return surv[..., keep] / surv_at
    cif = model.predict_cif(rows).transpose(2, 0, 1)  # (R, T, B) -> (B, R, T)
    cif_at = cif[..., at : at + 1] if at >= 0 else 0.0
    return (cif[..., keep] - cif_at) / surv_at


def given_times(grid):
    """A grid time in the first third and a time between two grid points."""
    k = len(grid) // 2
    return [float(grid[len(grid) // 3]), float((grid[k] + grid[k + 1]) / 2)]


@pytest.mark.parametrize("fitted,target", CASES, indirect=["fitted"])
def test_grad_equals_finite_differences_of_pycox_ratio(fitted, target):
    model, x = fitted
    rows = x[:5].astype("float64")
    exp = sv.explain(model, x, dtype="float64")
    model64 = pycox_float64(model)
    for given in given_times(exp.model.time):
        res = sv.surv_grad(exp, rows, target=target, given=given)
        want = pycox_conditional(model64, rows, target, given)
        fd = finite_differences(lambda a: pycox_conditional(model64, a[0], target, given), [rows])
        np.testing.assert_array_equal(res.time, exp.model.time[exp.model.time >= given])
        assert res.values[0].shape == fd[0].shape
        assert_close_rel(res.values[0], fd[0])
        assert_close_rel(res.pred, want, rel=1e-6)
        assert res.target == target and res.args["given"] == given
        base = sv.surv_grad(exp, rows[:1], target=target.replace("conditional_", ""))
        assert res.event_names == base.event_names


def _bare(model_type, data, **head):
    torch.manual_seed(0)
    width = 1 if model_type in ("deepsurv", "coxtime") else len(head.get("time_bins", []))
    width = width - 1 if model_type == "pchazard" else width
    inputs = 4 if model_type == "coxtime" else 3
    layers = torch.nn.Sequential(
        torch.nn.Linear(inputs, 8), torch.nn.Tanh(), torch.nn.Linear(8, width)
    )
    net = layers if model_type != "coxtime" else _TimeNet(layers)
    return sv.explain(net, data, model_type=model_type, dtype="float64", **head)


class _TimeNet(torch.nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.layers = layers

    def forward(self, x, t):
        return self.layers(torch.cat([x, t], dim=1))


DATA = np.random.default_rng(3).normal(size=(25, 3))
BARE = {
    "deepsurv": {"baseline_hazard": ([0.5, 1.0, 2.0, 3.0], [0.1, 0.2, 0.3, 0.2])},
    "coxtime": {"baseline_hazard": ([0.5, 1.0, 2.0, 3.0], [0.1, 0.0, 0.3, 0.2])},
    "deephit": {"time_bins": [0.5, 1.0, 2.0, 3.0, 4.0]},
    "logistichazard": {"time_bins": [0.5, 1.0, 2.0, 3.0, 4.0]},
}


@pytest.mark.parametrize("model_type", sorted(BARE))
def test_before_the_grid_the_conditional_target_is_the_plain_one(model_type):
    exp = _bare(model_type, DATA, **BARE[model_type])
    plain = sv.surv_grad(exp, instance=[0, 1, 2])
    given = sv.surv_grad(exp, instance=[0, 1, 2], target="conditional_survival", given=0.0)
    np.testing.assert_array_equal(given.time, plain.time)
    # the plain target's derivatives come from the head's closed form, the conditional
    # one's by autograd through the ratio: equal up to rounding
    scale = np.abs(plain.values[0]).max()
    np.testing.assert_allclose(given.values[0], plain.values[0], rtol=1e-12, atol=1e-14 * scale)
    np.testing.assert_array_equal(given.pred, plain.pred)


def test_at_the_first_grid_time_with_survival_one_the_target_is_the_plain_one():
    # PCHazard's survival is exactly 1 at its first cut
    exp = _bare("pchazard", DATA, time_bins=[0.0, 1.0, 2.0, 3.0])
    plain = sv.surv_grad(exp, instance=[0, 1, 2])
    given = sv.surv_grad(exp, instance=[0, 1, 2], target="conditional_survival", given=0.0)
    np.testing.assert_array_equal(plain.pred[..., 0], 1.0)
    np.testing.assert_array_equal(given.time, plain.time)
    np.testing.assert_allclose(given.values[0], plain.values[0], rtol=1e-12, atol=0)
    np.testing.assert_allclose(given.pred, plain.pred, rtol=1e-12, atol=0)


@pytest.mark.parametrize(
    "model_type,target", [("deepsurv", "conditional_survival"), ("deephit", "conditional_cif")]
)
def test_intgrad_completeness_on_the_conditional_target(model_type, target):
    head = dict(BARE[model_type])
    event_names = {"event_names": ["a", "b"]} if model_type == "deephit" else {}
    if model_type == "deephit":  # two competing risks: a flat output of 2 x 5 logits
        torch.manual_seed(1)
        net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 10))
        exp = sv.explain(net, DATA, model_type="deephit", dtype="float64", **head, **event_names)
    else:
        exp = _bare(model_type, DATA, **head)
    gaps = []
    for n in (20, 200):
        res = sv.surv_intgrad(exp, instance=[0, 1, 2], target=target, given=1.5, n=n)
        assert res.pred_diff.shape[-1] == 2 + (model_type == "deephit")  # t >= 1.5
        gaps.append(np.abs(res.values[0].sum(axis=1) - res.pred_diff).max())
    assert gaps[1] < gaps[0] / 5 and gaps[1] < 1e-3


def test_every_gradient_method_explains_the_conditional_target():
    exp = _bare("deephit", DATA, **BARE["deephit"])
    kwargs = {"instance": [0, 1], "target": "conditional_survival", "given": 1.0}
    grad = sv.surv_grad(exp, **kwargs)
    smooth = sv.surv_smoothgrad(exp, n=3, noise_level=0.0, seed=0, **kwargs)
    shap = sv.surv_gradshap(exp, data_ref=DATA[:1], num_samples=1, n=400, seed=0, **kwargs)
    np.testing.assert_allclose(smooth.values[0], grad.values[0], rtol=1e-12, atol=0)
    assert abs(shap.values[0].sum(axis=1) - shap.pred_diff).max() < 1e-3
    for res in (grad, smooth, shap):
        np.testing.assert_array_equal(res.time, [1.0, 2.0, 3.0, 4.0])
        assert res.args["given"] == 1.0


def test_conditional_target_of_an_interpolated_model():
    exp = sv.explain(
        torch.nn.Sequential(torch.nn.Linear(3, 5)), DATA, model_type="logistichazard",
        time_bins=[0.0, 1.0, 2.0, 3.0, 4.0], interpolate=4, dtype="float64",
    )
    plain = sv.surv_grad(exp, instance=[0, 1]).pred[..., 0, :]
    res = sv.surv_grad(exp, instance=[0, 1], target="conditional_survival", given=1.6)
    grid = exp.model.time
    at = np.searchsorted(grid, 1.6, side="right") - 1
    np.testing.assert_allclose(res.pred[..., 0, :], plain[:, grid >= 1.6] / plain[:, at : at + 1])


SURV = "conditional_survival"
BAD_GIVEN = [
    ({"target": SURV}, "`given` of surv_grad() must be a time s for target "
     "'conditional_survival' (explained given T > s); got None"),
    ({"given": 1.0}, "`given` of surv_grad() must be left out unless the target is "
     "conditional ('conditional_survival'); got 1.0 with target 'survival'"),
    ({"target": SURV, "given": 3.5}, "`given` of surv_grad() must be a time from 0 to the "
     "last grid time 3 (survival is 1 before the first grid time 0.5); got 3.5"),
    ({"target": SURV, "given": -0.1}, "`given` of surv_grad() must be a time from 0 to the "
     "last grid time 3 (survival is 1 before the first grid time 0.5); got -0.1"),
    ({"target": SURV, "given": float("nan")}, "got nan"),
    ({"target": SURV, "given": True}, "got True"),
    ({"target": SURV, "given": "1"}, "got '1'"),
    ({"target": "conditional_cif", "given": 1.0}, "`target` of surv_grad() for a DeepSurv "
     "model must be one of 'survival', 'cum_hazard', 'hazard', 'log_risk', 'conditional_survival'; "
     "got 'conditional_cif'"),
]


@pytest.mark.parametrize("kwargs,message", BAD_GIVEN)
def test_bad_given_is_one_line(kwargs, message):
    exp = _bare("deepsurv", DATA, **BARE["deepsurv"])
    with pytest.raises(sv.SurvinngError) as err:
        sv.surv_grad(exp, instance=0, **kwargs)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_survshap_explains_the_conditional_target_of_a_model_it_only_predicts():
    grid = np.array([1.0, 2.0, 3.0, 4.0])

    def weibull(x):
        return np.exp(-((0.2 * grid * np.exp(0.5 * x[:, :1] - 0.3 * x[:, 1:2])) ** 1.5))

    exp = sv.explain(weibull, DATA, model_type="callable", time_bins=grid, dtype="float64")
    res = sv.surv_shap(exp, instance=[0, 1], target="conditional_survival", given=2.5)
    surv = weibull(DATA[:2])
    np.testing.assert_allclose(res.pred[:, 0], surv[:, 2:] / surv[:, 1:2], rtol=1e-12)
    np.testing.assert_allclose(res.values[0].sum(axis=1), res.pred_diff, atol=1e-12)
    assert res.args["given"] == 2.5 and list(res.time) == [3.0, 4.0]


def test_an_onnx_file_gives_the_conditional_targets_of_the_target_it_holds(tmp_path):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 4))
    bins = np.arange(1.0, 5.0)
    for target in ("survival", "cif"):
        sv.export_onnx(net, tmp_path / f"{target}.onnx", target=target, data=DATA,
                       model_type="deephit", time_bins=bins, dynamo=False)
    exp = sv.explain(str(tmp_path / "survival.onnx"), DATA, model_type="onnx")
    res = sv.surv_shap(exp, instance=[0], target="conditional_survival", given=2.0)
    plain = sv.surv_shap(exp, instance=[0]).pred
    np.testing.assert_allclose(res.pred, plain[..., 1:] / plain[..., 1:2], rtol=1e-6)
    # a file of CIFs holds no survival for the denominator S(s)
    exp = sv.explain(str(tmp_path / "cif.onnx"), DATA, model_type="onnx")
    with pytest.raises(sv.SurvinngError) as err:
        sv.surv_shap(exp, instance=[0], target="conditional_cif", given=2.0)
    assert str(err.value) == (
        "`target` of surv_shap() for a OnnxFile model must be one of 'cif'; "
        "got 'conditional_cif'"
    )


@pytest.mark.parametrize("fitted,target", [("coxph", "conditional_survival"),
                                           ("deephit_cr", "conditional_cif")],
                         indirect=["fitted"])
def test_second_order_methods_take_the_conditional_target(fitted, target):
    """Hessian(t) of S(t | T > s) is the finite difference of its Grad(t); Integrated
    Hessians(t) rows sum to IntGrad(t) of the same conditional target."""
    model, x = fitted
    rows = x[:3].astype("float64")
    exp = sv.explain(model, x, dtype="float64")
    given = given_times(exp.model.time)[0]
    hess = sv.surv_hessian(exp, rows, target=target, given=given)
    assert hess.args["given"] == given
    np.testing.assert_array_equal(hess.time, exp.model.time[exp.model.time >= given])
    b, p = rows.shape
    flat = lambda a: sv.surv_grad(exp, a[0], target=target, given=given).values[0].reshape(
        b, -1, len(hess.time))  # Grad_i per event as one "event" axis
    fd = finite_differences(flat, [rows])[0].reshape(hess.values[0].shape)  # d_j Grad_i
    assert_close_rel(hess.values[0], np.swapaxes(fd, 1, 2), rel=1e-5)
    ih = sv.surv_inthess(exp, rows, target=target, given=given, n=40)
    ig = sv.surv_intgrad(exp, rows, target=target, given=given, n=40)
    scale = np.abs(ig.values[0]).max()
    np.testing.assert_allclose(ih.values[0].sum(axis=2), ig.values[0], atol=0.05 * scale)
