"""Models known only by their survival curves: a Python function and scikit-survival
estimators. Predictions are the model's own, SurvSHAP(t) explains them, gradient methods
refuse them in one line."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import survinng_py as sv
from survinng_py import SurvinngError

sksurv = pytest.importorskip("sksurv")

TIMES = np.array([0.5, 1.0, 2.0, 4.0])


def weibull(x):
    """Survival curves of a Weibull model with scale exp(x0 - x1 x2)."""
    scale = np.exp(x[:, :1] - x[:, 1:2] * x[:, 2:3])
    return np.exp(-((TIMES / scale) ** 1.3))


@pytest.fixture(scope="module")
def rows():
    return np.random.default_rng(0).normal(size=(40, 3))


@pytest.fixture(scope="module")
def fitted(rows):
    from sksurv.ensemble import RandomSurvivalForest
    from sksurv.linear_model import CoxPHSurvivalAnalysis
    from sksurv.util import Surv

    rng = np.random.default_rng(1)
    time = rng.exponential(size=len(rows)) * np.exp(rows[:, 0])
    outcome = Surv.from_arrays(rng.random(len(rows)) < 0.7, time)
    frame = pd.DataFrame(rows, columns=["age", "bmi", "dose"])
    return {
        "rsf": RandomSurvivalForest(n_estimators=10, min_samples_leaf=5, random_state=0).fit(
            frame, outcome),
        "cox": CoxPHSurvivalAnalysis().fit(rows, outcome),
    }


def test_a_function_predicts_its_own_curves_and_is_explained(rows):
    exp = sv.explain(weibull, rows, model_type="callable", time_bins=TIMES, dtype="float64")
    np.testing.assert_array_equal(exp.model.time, TIMES)
    res = sv.surv_shap(exp, instance=[0, 5], num_background=None)
    np.testing.assert_array_equal(res.pred[:, 0], weibull(rows[[0, 5]]))
    np.testing.assert_allclose(res.pred_ref[0, 0], weibull(rows).mean(0), rtol=0, atol=1e-14)
    np.testing.assert_allclose(res.values[0].sum(1), res.pred_diff, rtol=0, atol=1e-12)
    assert res.model_class == "SurvivalFunction"
    # x1 and x2 act only together: x0's value is the same whatever x1 is when x2 is 0
    zero = rows.copy()
    zero[:, 2] = 0.0
    exp0 = sv.explain(weibull, zero, model_type="callable", time_bins=TIMES, dtype="float64")
    res0 = sv.surv_shap(exp0, instance=[0], num_background=None)
    np.testing.assert_allclose(res0.values[0][0, 1:], 0.0, atol=1e-14)


@pytest.mark.parametrize("kind", ["rsf", "cox"])
def test_scikit_survival_estimators_on_their_grid_with_their_names(fitted, rows, kind):
    model = fitted[kind]
    frame = pd.DataFrame(rows, columns=["age", "bmi", "dose"])
    exp = sv.explain(model, frame, model_type="sksurv", dtype="float64")
    np.testing.assert_array_equal(exp.model.time, model.unique_times_)
    res = sv.surv_shap(exp, instance=[1, 2, 3], num_background=20, seed=0)
    given = frame if kind == "rsf" else rows  # as fitted: with or without column names
    own = model.predict_survival_function(given[1:4], return_array=True)
    np.testing.assert_array_equal(res.pred[:, 0], own)
    assert res.feature_names == [["age", "bmi", "dose"]] and res.model_class == "SkSurv"
    np.testing.assert_allclose(res.values[0].sum(1), res.pred_diff, rtol=0, atol=1e-12)
    chf = sv.surv_shap(exp, instance=[1, 2, 3], target="cum_hazard", num_background=20, seed=0)
    own = model.predict_cumulative_hazard_function(given[1:4], return_array=True)
    np.testing.assert_array_equal(chf.pred[:, 0], own)
    np.testing.assert_allclose(chf.values[0].sum(1), chf.pred_diff, rtol=0, atol=1e-12)


def test_an_estimator_without_cumulative_hazards_refuses_that_target(fitted, rows):
    class SurvivalOnly:
        unique_times_ = fitted["cox"].unique_times_

        def predict_survival_function(self, x, return_array):
            return fitted["cox"].predict_survival_function(x, return_array=return_array)

    exp = sv.explain(SurvivalOnly(), rows, model_type="sksurv", dtype="float64")
    np.testing.assert_array_equal(
        sv.surv_shap(exp, instance=[0], num_background=5, seed=0).pred[:, 0],
        fitted["cox"].predict_survival_function(rows[:1], return_array=True))
    with pytest.raises(SurvinngError) as err:
        sv.surv_shap(exp, instance=[0], target="cum_hazard")
    assert str(err.value) == ("`target` of surv_shap() for this SurvivalOnly model must be "
                              "one of 'survival'; got 'cum_hazard'")


@pytest.mark.parametrize("method", ["surv_grad", "surv_smoothgrad", "surv_intgrad",
                                    "surv_gradshap"])
def test_gradient_methods_refuse_models_without_gradients(fitted, rows, method):
    for exp in (sv.explain(weibull, rows, model_type="callable", time_bins=TIMES),
                sv.explain(fitted["cox"], rows, model_type="sksurv")):
        with pytest.raises(SurvinngError) as err:
            getattr(sv, method)(exp, instance=0)
        assert str(err.value) == (
            f"`explainer` of {method}() must be a model with gradients (explain this one with "
            f"surv_shap(), which only predicts); got a {exp.model.model_class} model")


def test_bad_models_fail_in_one_line(rows):
    cases = [
        ({"model": object(), "model_type": "sksurv"},
         "`model` of explain() must be a fitted scikit-survival estimator (with "
         "predict_survival_function and unique_times_) for model_type 'sksurv'; got object"),
        ({"model": 42, "model_type": "callable", "time_bins": TIMES},
         "`model` of explain() must be a callable f(x) -> survival curves for model_type "
         "'callable'; got 42"),
        ({"model": weibull, "model_type": "callable", "time_bins": TIMES[::-1]},
         "`time_bins` of explain() must be strictly increasing; got [4.0, 2.0, 1.0, 0.5]"),
        ({"model": weibull, "model_type": "callable"},
         "`time_bins` of explain() must be given for model_type 'callable' (the time grid of the "
         "curves); got None"),
        ({"model": weibull, "model_type": "callable", "time_bins": TIMES[:3]},
         "`model` of the survival curves of weibull() must be numbers of shape (1, 3) (rows x "
         "time points); got float64 of shape (1, 4)"),
        ({"model": lambda x: x[:, 5], "model_type": "callable", "time_bins": TIMES},
         "`model` of the survival curves of <lambda>() must be a model that predicts these "
         "rows; got IndexError: index 5 is out of bounds"),
        ({"model": "net.pt", "model_type": "deepsurv", "baseline_hazard": ([1.0], [0.1])},
         "`model` of explain() must be a torch.nn.Module for model_type 'deepsurv'; got "
         "'net.pt'"),
    ]
    for kwargs, message in cases:
        with pytest.raises(SurvinngError) as err:
            sv.explain(data=rows, **kwargs)
        assert str(err.value).startswith(message) and "\n" not in str(err.value), kwargs


def exported(tmp_path, rows, model_type, target, **head):
    import torch

    torch.manual_seed(5)
    width = 1 if model_type == "deepsurv" else 2 * len(TIMES)
    net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, width))
    if model_type == "deephit":
        net.append(torch.nn.Unflatten(1, (2, len(TIMES))))
    exp = sv.explain(net, pd.DataFrame(rows, columns=["age", "bmi", "dose"]),
                     model_type=model_type, dtype="float64", **head)
    path = sv.export_onnx(exp, tmp_path / f"{model_type}.onnx", target=target, dynamo=False)
    return exp, path


@pytest.mark.parametrize("model_type,target,head", [
    ("deepsurv", "survival", {"baseline_hazard": (TIMES, [0.1, 0.2, 0.3, 0.2])}),
    ("deephit", "cif", {"time_bins": TIMES, "event_names": ["relapse", "death"]})])
def test_an_exported_onnx_file_predicts_as_the_package_and_is_explained(
        tmp_path, rows, model_type, target, head):
    pytest.importorskip("onnxruntime")
    torch_exp, path = exported(tmp_path, rows, model_type, target, **head)
    frame = pd.DataFrame(rows, columns=["age", "bmi", "dose"])
    exp = sv.explain(path, frame, model_type="onnx", dtype="float64")
    np.testing.assert_array_equal(exp.model.time, torch_exp.model.time)
    res = sv.surv_shap(exp, instance=[0, 1], target=target, num_background=10, seed=0)
    np.testing.assert_array_equal(res.pred, sv.predict_onnx(path, rows[:2]))
    assert res.event_names == torch_exp.model.event_names(target, 1 + (model_type == "deephit"))
    assert res.feature_names == [["age", "bmi", "dose"]] and res.model_class == "OnnxFile"
    # the same model in torch: the same SurvSHAP(t) values
    same = sv.surv_shap(torch_exp, instance=[0, 1], target=target, num_background=10, seed=0)
    np.testing.assert_allclose(res.values[0], same.values[0], rtol=0, atol=1e-12)
    with pytest.raises(SurvinngError) as err:
        sv.surv_shap(exp, instance=0, target="pmf")
    assert str(err.value) == (f"`target` of surv_shap() for this ONNX file must be one of "
                              f"'{target}'; got 'pmf'")
    with pytest.raises(SurvinngError, match=r"^`explainer` of surv_grad\(\) must be a model with "
                                            r"gradients \(explain this one with surv_shap\(\)"):
        sv.surv_grad(exp, instance=0, target=target)


def test_models_without_a_torch_network_are_neither_exported_nor_saved(tmp_path, rows):
    exp = sv.explain(weibull, rows, model_type="callable", time_bins=TIMES)
    for call, where in ((sv.export_onnx, "export_onnx()"), (sv.save_model, "save_model()")):
        with pytest.raises(SurvinngError) as err:
            call(exp, tmp_path / "out")
        assert str(err.value) == (
            f"`model` of {where} must be a model that runs as a torch network (a pycox model "
            "or a torch module); got a SurvivalFunction model, which is only predicted")
    assert not list(tmp_path.iterdir())


def test_bundles_know_only_families_with_a_torch_network():
    from survinng_py.models import registry

    assert {"callable", "sksurv", "onnx"} <= set(registry.families())
    with pytest.raises(SurvinngError) as err:
        registry.family("sksurv", "path", "load_model()")
    assert str(err.value) == (
        "`path` of load_model() must be a known model family (deepsurv, coxtime, "
        "logistichazard, bcesurv, deephit, mtlr, pchazard); got 'sksurv'")


class Curves(__import__("torch").nn.Module):
    """Survival curves exp(-cumsum(exp(net(x)))) of a plain torch network."""

    def __init__(self, n_features=3, n_times=len(TIMES)):
        import torch

        super().__init__()
        torch.manual_seed(3)
        self.net = torch.nn.Sequential(torch.nn.Linear(n_features, 8), torch.nn.Tanh(),
                                       torch.nn.Linear(8, n_times))

    def forward(self, x):
        import torch

        return torch.exp(-self.net(x).exp().cumsum(1))


def foreign_onnx(path, module, dtype="float32", **kwargs):
    """An ONNX file written by torch's own exporter (no survinng_py metadata)."""
    import torch

    module = module.to(getattr(torch, dtype))
    example = torch.zeros(1, 3, dtype=getattr(torch, dtype))
    torch.onnx.export(module, example, str(path), dynamo=False, input_names=["rows"],
                      dynamic_axes={"rows": {0: "batch"}}, **kwargs)
    return path


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_foreign_onnx_file_predicts_as_onnxruntime_and_is_explained(tmp_path, rows, dtype):
    ort = pytest.importorskip("onnxruntime")
    import torch

    module = Curves()
    path = foreign_onnx(tmp_path / "curves.onnx", module, dtype)
    names = ["age", "bmi", "dose"]
    exp = sv.explain(path, rows, model_type="onnx", time_bins=TIMES, feature_names=names,
                     dtype=dtype)
    np.testing.assert_array_equal(exp.model.time, TIMES)
    res = sv.surv_shap(exp, instance=[0, 1, 2], num_background=None)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    own = session.run(None, {"rows": rows[:3].astype(dtype)})[0]
    np.testing.assert_array_equal(res.pred[:, 0], own)
    assert res.feature_names == [names] and res.model_class == "OnnxFile"
    assert res.values[0].dtype == np.dtype(dtype) and res.event_names == ["event"]
    tolerance = 1e-6 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(res.values[0].sum(1), res.pred_diff, rtol=0, atol=tolerance)
    # the same network as a callable: the same SurvSHAP(t) values
    with torch.no_grad():
        same = sv.explain(lambda x: module(torch.as_tensor(x, dtype=getattr(torch, dtype))).numpy(),
                          rows, model_type="callable", time_bins=TIMES, dtype=dtype)
    with torch.no_grad():
        expected = sv.surv_shap(same, instance=[0, 1, 2], num_background=None)
    np.testing.assert_allclose(res.values[0], expected.values[0], rtol=0, atol=10 * tolerance)
    for method in ("surv_grad", "surv_intgrad"):
        with pytest.raises(SurvinngError) as err:
            getattr(sv, method)(exp, instance=0)
        assert str(err.value) == (
            f"`explainer` of {method}() must be a model with gradients (explain this one with "
            "surv_shap(), which only predicts); got a OnnxFile model")


def test_foreign_onnx_files_fail_in_one_line(tmp_path, rows):
    pytest.importorskip("onnxruntime")
    import torch

    path = foreign_onnx(tmp_path / "curves.onnx", Curves())

    class TwoOutputs(Curves):
        def forward(self, x):
            curves = super().forward(x)
            return curves, curves.mean(1)

    class TwoInputs(torch.nn.Module):
        def forward(self, x, y):
            return x + y

    two_out = foreign_onnx(tmp_path / "two_out.onnx", TwoOutputs())
    fixed = tmp_path / "fixed.onnx"
    torch.onnx.export(Curves(), torch.zeros(1, 3), str(fixed), dynamo=False)
    two_in = tmp_path / "two_in.onnx"
    torch.onnx.export(TwoInputs(), (torch.zeros(1, 3), torch.zeros(1, 3)), str(two_in),
                      dynamo=False)
    _, own = exported(tmp_path, rows, "deepsurv", "survival",
                      baseline_hazard=(TIMES, [0.1, 0.2, 0.3, 0.2]))
    cases = [
        ({"model": path},
         "`time_bins` of explain() must be given for an ONNX file not written by export_onnx() "
         "(the time grid of its survival curves); got None"),
        ({"model": path, "time_bins": TIMES[:3]},
         "`model` of the survival curves of curves.onnx must be numbers of shape (1, 3) (rows x "
         "time points); got float32 of shape (1, 4)"),
        ({"model": path, "time_bins": TIMES[::-1]},
         "`time_bins` of explain() must be strictly increasing; got [4.0, 2.0, 1.0, 0.5]"),
        ({"model": own, "time_bins": TIMES},
         "`time_bins` of explain() must be left out for an ONNX file written by export_onnx() "
         "(its metadata gives the time grid); got array([0.5, 1. , 2. , 4. ])"),
        ({"model": two_out, "time_bins": TIMES},
         "`model` of explain() must be an ONNX file with one output, the survival curves "
         "(batch, time); got two_out.onnx has 2 outputs"),
        ({"model": two_in, "time_bins": TIMES},
         "`model` of explain() must be an ONNX file with one input, a float or double table "
         "(batch, features); got two_in.onnx takes tensor(float) of rank 2, tensor(float) of "
         "rank 2"),
        ({"model": fixed, "time_bins": TIMES},
         "`model` of explain() must be an ONNX file whose input has a free batch axis "
         "(torch.onnx.export's dynamic_axes); got fixed.onnx takes batches of 1 rows only"),
    ]
    for kwargs, message in cases:
        with pytest.raises(SurvinngError) as err:
            sv.explain(data=rows, model_type="onnx", **kwargs)
        assert str(err.value) == message, kwargs
    with pytest.raises(SurvinngError) as err:
        sv.explain(path, rows[:, :2], model_type="onnx", time_bins=TIMES)
    assert str(err.value).startswith(
        "`model` of the survival curves of curves.onnx must be a model that predicts these rows; "
        "got ") and "\n" not in str(err.value)
