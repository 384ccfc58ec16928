"""The other pycox families (LogisticHazard, PMF, MTLR, PCHazard, BCESurv, CoxCC) and
pycox's ``interpolate(sub, scheme)``: parity with pycox's own predictions, grids, methods."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import survinng_py as sv
from survinng_py import engine
from survinng_py.models import MTLR, BCESurv, DeepHit, DeepSurv, LogisticHazard, PCHazard

from conftest import mlp, pycox_float64, simulate, tt
from helpers import assert_close_rel, finite_differences, pycox_target

TARGETS = {"logistic_hazard": ["survival", "hazard"], "pmf": ["survival", "cif", "pmf"],
           "mtlr": ["survival", "cif", "pmf"], "pchazard": ["survival", "cum_hazard", "hazard"],
           "pchazard_sub3": ["survival", "cum_hazard", "hazard"], "bcesurv": ["survival"],
           "coxcc": ["survival", "cum_hazard", "hazard"]}
#: (fixture, (interpolate, scheme)); interpolation has the target survival only
INTERPOLATED = [("logistic_hazard", (4, "const_pdf")), ("logistic_hazard", (4, "const_hazard")),
                ("logistic_hazard", (3, "exp_surv")), ("pmf", (4, "lin_surv")),
                ("mtlr", (4, "const_pdf")), ("bcesurv", (4, "const_pdf")),
                ("deephit_single", (4, "const_pdf"))]
CASES = [(name, None) for name in TARGETS] + INTERPOLATED
CASE_IDS = [name if interp is None else f"{name}-interpolate{interp[0]}-{interp[1]}"
            for name, interp in CASES]
CASE_TARGETS = [(case, target) for case in CASES
                for target in (TARGETS[case[0]] if case[1] is None else ["survival"])]
CASE_TARGET_IDS = [f"{CASE_IDS[CASES.index(case)]}-{target}" for case, target in CASE_TARGETS]


def build(request, case, dtype):
    """pycox's predictor (float64 copy for float64) and the explainer of the same model."""
    name, interp = case
    model = request.getfixturevalue(name)
    x = request.getfixturevalue("data")[0]
    reference = pycox_float64(model) if dtype == "float64" else model
    if interp is None:
        return reference, sv.explain(model, x, dtype=dtype), x
    sub, scheme = interp
    exp = sv.explain(model, x, dtype=dtype, interpolate=sub, scheme=scheme)
    return reference.interpolate(sub, scheme), exp, x


def raises(message, fn, *args, **kwargs):
    with pytest.raises(sv.SurvinngError, match="^" + re.escape(message) + "$") as info:
        fn(*args, **kwargs)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("case,target", CASE_TARGETS, ids=CASE_TARGET_IDS)
def test_grad_equals_finite_differences_of_pycox_prediction(request, case, target):
    reference, exp, x = build(request, case, "float64")
    rows = x[:6].astype("float64")
    res = sv.surv_grad(exp, rows, target=target)
    fd = finite_differences(lambda a: pycox_target(reference, a[0], target), [rows])[0]
    assert res.values[0].shape == fd.shape
    assert_close_rel(res.values[0], fd)
    assert_close_rel(res.pred, pycox_target(reference, rows, target), rel=1e-6)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_time_grid_is_pycox_grid(request, case):
    reference, exp, x = build(request, case, "float32")
    np.testing.assert_array_equal(exp.model.time,
                                  reference.predict_surv_df(x[:2]).index.to_numpy(float))


@pytest.mark.parametrize("case,target", CASE_TARGETS, ids=CASE_TARGET_IDS)
def test_float32_prediction_matches_pycox(request, case, target):
    reference, exp, x = build(request, case, "float32")
    res = sv.surv_grad(exp, instance=[0, 1, 2], target=target)
    assert res.pred.dtype == np.float32
    np.testing.assert_allclose(res.pred, pycox_target(reference, x[:3], target), rtol=0, atol=2e-6)


@pytest.mark.parametrize("case,target", CASE_TARGETS, ids=CASE_TARGET_IDS)
def test_intgrad_completeness(request, case, target):
    _, exp, _ = build(request, case, "float64")
    res = sv.surv_intgrad(exp, instance=[0, 3, 8], target=target, n=200)
    # 1e-2 for probabilities; relative to the size of a cumulative hazard (up to ~6 here)
    assert sv.local_accuracy(res)["max_gap"] < 1e-2 * max(1.0, np.abs(res.pred).max())


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_forward_and_reverse_mode_agree(request, case):
    _, exp, x = build(request, case, "float64")
    rows = [torch.as_tensor(x[:4], dtype=torch.float64)]
    target = exp.model.targets[-1]  # one target per case keeps this fast
    _, fwd = engine.jacobian(exp.model, rows, target, mode="forward")
    _, rev = engine.jacobian(exp.model, rows, target, mode="reverse")
    np.testing.assert_allclose(fwd[0].numpy(), rev[0].numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_smoothgrad_and_gradshap_shapes(request, case):
    _, exp, _ = build(request, case, "float32")
    n_times, target = len(exp.model.time), exp.model.targets[-1]
    sg = sv.surv_smoothgrad(exp, instance=[0, 1], target=target, n=3, seed=1)
    shap = sv.surv_gradshap(exp, instance=[0, 1], target=target, n=3, num_samples=2, seed=1)
    for res in (sg, shap):
        assert res.values[0].shape == (2, 4, 1, n_times)
        assert np.isfinite(res.values[0]).all()
    assert shap.pred_diff.shape == (2, 1, n_times)


@pytest.mark.parametrize("name,adapter", [("logistic_hazard", LogisticHazard), ("pmf", DeepHit),
                                          ("deephit_single", DeepHit), ("mtlr", MTLR),
                                          ("pchazard", PCHazard), ("bcesurv", BCESurv),
                                          ("coxcc", DeepSurv)])
def test_pycox_class_maps_to_the_most_specific_adapter(request, data, name, adapter):
    exp = sv.explain(request.getfixturevalue(name), data[0])
    assert type(exp.model) is adapter
    assert exp.model.source == type(request.getfixturevalue(name)).__name__


@pytest.mark.parametrize("name,model_type,head", [
    ("logistic_hazard", "logistichazard", {}), ("mtlr", "mtlr", {}), ("bcesurv", "bcesurv", {}),
    ("pmf", "pmf", {}), ("pchazard", "pchazard", {}), ("pchazard_sub3", "pchazard", {"sub": 3}),
    ("logistic_hazard", "logistichazard", {"interpolate": 4, "scheme": "const_hazard"}),
    ("mtlr", "mtlr", {"interpolate": 3})])
def test_bare_module_equals_fitted_model(request, data, name, model_type, head):
    model, x = request.getfixturevalue(name), data[0]
    fitted_head = {k: v for k, v in head.items() if k != "sub"}  # sub is read from the model
    fitted = sv.explain(model, x, dtype="float64", **fitted_head)
    bare = sv.explain(model.net, x, model_type=model_type, time_bins=model.duration_index,
                      dtype="float64", **head)
    np.testing.assert_array_equal(bare.model.time, fitted.model.time)
    for target in fitted.model.targets:
        want = sv.surv_grad(fitted, instance=[0, 1], target=target)
        got = sv.surv_grad(bare, instance=[0, 1], target=target)
        np.testing.assert_allclose(got.values[0], want.values[0], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(got.pred, want.pred, rtol=1e-12, atol=1e-15)


def test_interpolation_keeps_the_grid_points(logistic_hazard, pmf, data):
    for model in (logistic_hazard, pmf):
        plain = sv.surv_grad(sv.explain(model, data[0], dtype="float64"), instance=[0, 1])
        for scheme in (("const_pdf", "const_hazard") if model is logistic_hazard else ("const_pdf",)):
            exp = sv.explain(model, data[0], dtype="float64", interpolate=5, scheme=scheme)
            res = sv.surv_grad(exp, instance=[0, 1])
            # const_hazard starts at 1 - h_0 (pycox), not 1 - h_0 + 1e-7
            tol = 1e-6 if scheme == "const_hazard" else 1e-12
            np.testing.assert_allclose(res.pred[..., ::5], plain.pred, rtol=0, atol=tol)
            np.testing.assert_allclose(res.values[0][..., ::5], plain.values[0], rtol=0, atol=tol)


def test_interpolated_competing_risks_survival_is_all_cause(deephit_cr):
    # pycox's DeepHit has no interpolate; its all-cause survival is interpolated linearly
    x = simulate(seed=5, n_risks=2)[0]
    plain = sv.surv_grad(sv.explain(deephit_cr, x, dtype="float64"), instance=[0, 1])
    res = sv.surv_grad(sv.explain(deephit_cr, x, dtype="float64", interpolate=2), instance=[0, 1])
    assert res.event_names == ["any_event"] and res.pred.shape == (2, 1, 2 * 9 + 1)
    np.testing.assert_allclose(res.pred[..., ::2], plain.pred, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.pred[..., 1::2], (plain.pred[..., 1:] + plain.pred[..., :-1]) / 2,
                               rtol=0, atol=1e-12)


def test_logistic_hazard_and_pchazard_target_consistency(logistic_hazard, pchazard_sub3, data):
    exp = sv.explain(logistic_hazard, data[0], dtype="float64")
    hazard = sv.surv_grad(exp, instance=[0, 1], target="hazard")
    surv = sv.surv_grad(exp, instance=[0, 1], target="survival")
    # d S_j = S_j * sum_{l<=j} d log(1 - h_l + eps)
    expected = surv.pred[:, None] * np.cumsum(-hazard.values[0] / (1 - hazard.pred[:, None] + 1e-7), -1)
    np.testing.assert_allclose(surv.values[0], expected, rtol=1e-9, atol=1e-13)
    exp = sv.explain(pchazard_sub3, data[0], dtype="float64")
    hazard = sv.surv_grad(exp, instance=[0, 1], target="hazard").values[0]
    cum = sv.surv_grad(exp, instance=[0, 1], target="cum_hazard").values[0]
    np.testing.assert_allclose(cum, hazard.cumsum(-1), rtol=1e-9, atol=1e-13)
    assert np.all(hazard[..., 0] == 0)  # pycox's leading zero column


# -- bad input -----------------------------------------------------------------------------

@pytest.mark.parametrize("name,message", [
    ("logistic_hazard", "a LogisticHazard model must be one of 'survival', 'hazard'; got 'cif'"),
    ("mtlr", "a MTLR model must be one of 'survival', 'cif', 'pmf', 'logits'; got 'hazard'"),
    ("pchazard", "a PCHazard model must be one of 'survival', 'cum_hazard', 'hazard'; got 'pmf'"),
    ("bcesurv", "a BCESurv model must be one of 'survival'; got 'hazard'")])
def test_target_the_family_does_not_define(request, data, name, message):
    exp = sv.explain(request.getfixturevalue(name), data[0])
    target = re.search(r"got '(\w+)'", message).group(1)
    raises(f"`target` of surv_grad() for {message}", sv.surv_grad, exp, instance=0, target=target)


def test_interpolated_model_has_only_survival(logistic_hazard, data):
    exp = sv.explain(logistic_hazard, data[0], interpolate=4)
    raises("`target` of surv_intgrad() for an interpolated LogisticHazard model must be one of "
           "'survival'; got 'hazard'", sv.surv_intgrad, exp, instance=0, target="hazard")


def test_discrete_model_without_duration_index(data):
    from pycox.models import LogisticHazard as PycoxLogisticHazard
    model = PycoxLogisticHazard(mlp(10), tt.optim.Adam)
    raises("`model` of explain() must be a pycox model with `duration_index` (the time grid); "
           "got 'LogisticHazard'", sv.explain, model, data[0])
    for model_type in ("logistichazard", "mtlr", "pchazard", "bcesurv"):
        raises(f"`time_bins` of explain() must be given for model_type {model_type!r} (pycox's "
               "duration_index: the time of each output bin, PCHazard's cut points); got None",
               sv.explain, model.net, data[0], model_type=model_type)


def test_time_bins_that_do_not_fit_the_network(logistic_hazard, pchazard, data):
    bins = logistic_hazard.duration_index
    raises("`time_bins` of explain() must be as long as the network's output (output width 10); "
           "got 9 time bins", sv.explain, logistic_hazard.net, data[0],
           model_type="logistichazard", time_bins=bins[:-1])
    raises("`time_bins` of explain() must be one longer than the network's output, one output "
           "per interval (output width 10); got 10 time bins", sv.explain, pchazard.net,
           data[0], model_type="pchazard", time_bins=pchazard.duration_index[:-1])
    raises("`sub` of explain() must be an integer >= 1; got 0", sv.explain, pchazard.net,
           data[0], model_type="pchazard", time_bins=pchazard.duration_index, sub=0)
    raises("`sub` of explain() must be one of ['time_bins'] for model_type 'mtlr'; got 'sub'",
           sv.explain, logistic_hazard.net, data[0], model_type="mtlr", time_bins=bins, sub=2)


def test_bad_interpolate_and_scheme(logistic_hazard, pmf, bcesurv, pchazard, coxcc, data):
    x = data[0]
    raises("`interpolate` of explain() must be an integer >= 1; got 0", sv.explain,
           logistic_hazard, x, interpolate=0)
    raises("`interpolate` of explain() must be an integer >= 1; got 2.5", sv.explain,
           logistic_hazard, x, interpolate=2.5)
    for model, name in ((pchazard, "PCHazard"), (coxcc, "DeepSurv")):
        raises(f"`interpolate` of explain() must be left out for a {name} model (pycox "
               "interpolates LogisticHazard, PMF, DeepHitSingle, MTLR and BCESurv); got 4",
               sv.explain, model, x, interpolate=4)
    raises("`scheme` of explain() for a DeepHit model must be one of 'const_pdf', 'lin_surv'; "
           "got 'const_hazard'", sv.explain, pmf, x, interpolate=4, scheme="const_hazard")
    raises("`scheme` of explain() for a BCESurv model must be one of 'const_pdf', 'lin_surv'; "
           "got 'exp_surv'", sv.explain, bcesurv, x, interpolate=4, scheme="exp_surv")
    raises("`scheme` of explain() for a LogisticHazard model must be one of 'const_pdf', "
           "'lin_surv', 'const_hazard', 'exp_surv'; got 'spline'", sv.explain, logistic_hazard,
           x, interpolate=4, scheme="spline")
    raises("`scheme` of explain() must be left out unless `interpolate` is given; got "
           "'const_pdf'", sv.explain, logistic_hazard, x, scheme="const_pdf")
    with pytest.raises(NotImplementedError):  # pycox's own refusal, mirrored above
        pmf.interpolate(4, "const_hazard").predict_surv(x[:2])
