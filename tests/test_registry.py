"""A model family is one class: a toy Weibull family defined only here gets explain(),
every method, ONNX export, bundles and the command line without any change to the
package; the registry's entry-point loader adds it like a third-party package would."""
from __future__ import annotations

import gc
import importlib.metadata
import json
import warnings
import weakref

import numpy as np
import pandas as pd
import pytest
import torch

import survinng_py as sv
from survinng_py import engine, exchange
from survinng_py._validation import fail
from survinng_py.cli import main, spec_keys
from survinng_py.models import HeadParam, SurvivalModel, registry
from survinng_py.models.base import check_time_grid, network_width

from helpers import assert_close_rel, finite_differences

pytest.importorskip("onnxruntime")
TIME = [0.5, 1.0, 1.5, 2.5, 4.0]
NAMES = ["a", "b", "c"]


class ToyWeibull(SurvivalModel):
    """Weibull survival ``S(t) = exp(-(t / scale)^shape)`` with ``log scale`` and
    ``log shape`` from the network, on a declared grid of positive times."""

    family = "toyweibull"
    aliases = ("toy_weibull",)
    head_params = (HeadParam("time", "the time grid (positive times)", required=True),)
    targets = ("survival", "cum_hazard", "hazard")
    model_class = "ToyWeibull"

    @classmethod
    def check_spec(cls, where, *, time):
        grid = check_time_grid(time, "time", where)
        if grid[0] <= 0:
            fail("time", where, "positive times", time)
        return {"time": grid}

    @classmethod
    def grid(cls, spec):
        return spec["time"]

    def __init__(self, net, spec, **kwargs):
        super().__init__(net, spec, **kwargs)
        self.t = torch.as_tensor(self.time, dtype=self.dtype, device=self.device)

    def num_risks(self, inputs):
        width = network_width(self, inputs)
        if width != 2:
            fail("model", "explain()", "a network with 2 outputs (log scale, log shape)", width)
        return 1

    def head(self, phi, target):
        scale, shape = phi[:, :1].exp(), phi[:, 1:2].exp()
        cum_hazard = (self.t / scale) ** shape
        if target == "cum_hazard":
            return cum_hazard.unsqueeze(1)
        if target == "survival":
            return torch.exp(-cum_hazard).unsqueeze(1)
        return (shape / scale * (self.t / scale) ** (shape - 1)).unsqueeze(1)


def toy_net():
    """The toy's network (``--arch test_registry:toy_net``)."""
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Tanh(), torch.nn.Linear(6, 2))


def toy_formula(net, x, target):
    """The toy's own formulas in numpy on the network's output, float64: ``(B, 1, T)``."""
    with torch.no_grad():
        out = net.double()(torch.as_tensor(x, dtype=torch.float64)).numpy()
    scale, shape, t = np.exp(out[:, :1]), np.exp(out[:, 1:2]), np.asarray(TIME)
    cum_hazard = (t / scale) ** shape
    value = {"survival": np.exp(-cum_hazard), "cum_hazard": cum_hazard,
             "hazard": shape / scale * (t / scale) ** (shape - 1)}[target]
    return value[:, None, :]


@pytest.fixture
def toy():
    registry.register_family(ToyWeibull)
    yield ToyWeibull
    registry.unregister_family("toyweibull")


@pytest.fixture
def x():
    return np.random.default_rng(1).normal(size=(30, 3))


def test_registry_describes_the_toy_only_while_registered(toy):
    assert registry.families()["toyweibull"] is ToyWeibull
    assert "time" in spec_keys() and "time" in registry.head_keys()
    registry.register_family(ToyWeibull)  # the same class again: nothing happens
    registry.unregister_family("toyweibull")
    assert "toyweibull" not in registry.families() and "time" not in spec_keys()
    with pytest.raises(sv.SurvinngError, match=r"^`model_type` of explain\(\) must be one of "
                       r"'deepsurv', .*; got 'toyweibull'$"):
        sv.explain(toy_net(), model_type="toyweibull", time=TIME)
    registry.register_family(ToyWeibull)


def test_names_of_another_family_are_refused(toy):
    class Clash(ToyWeibull):
        family = "clash"
        aliases = ("coxph",)
    with pytest.raises(sv.SurvinngError, match=r"^`cls` of register_family\(\) must be a family "
                       r"whose names are free; got 'coxph' names the family 'deepsurv'$"):
        registry.register_family(Clash)

    class Unnamed(ToyWeibull):
        pass
    with pytest.raises(sv.SurvinngError, match=r"^`cls` of register_family\(\) must be a class "
                       r"that sets `family` to a lower-case name; got None$"):
        registry.register_family(Unnamed)

    class Headless(SurvivalModel):
        family = "headless"
        targets = ("survival",)
    with pytest.raises(sv.SurvinngError, match=r"^`cls` of register_family\(\) must be a family "
                       r"with lower-case targets, HeadParam head parameters and its own "
                       r"check_spec, grid and head; got 'headless'$"):
        registry.register_family(Headless)
    assert "clash" not in registry.families() and "headless" not in registry.families()


@pytest.mark.parametrize("target", ToyWeibull.targets)
def test_grad_equals_finite_differences_of_the_toy_formula(toy, x, target):
    net = toy_net()
    exp = sv.explain(net, x, model_type="TOY_WEIBULL", time=TIME, dtype="float64")
    assert type(exp.model) is ToyWeibull and exp.model.source == "Sequential"
    rows = x[:6]
    res = sv.surv_grad(exp, rows, target=target)
    fd = finite_differences(lambda a: toy_formula(net, a[0], target), [rows])[0]
    assert res.values[0].shape == fd.shape == (6, 3, 1, len(TIME))
    assert_close_rel(res.values[0], fd, rel=1e-6)
    assert_close_rel(res.pred, toy_formula(net, rows, target), rel=1e-12)
    np.testing.assert_array_equal(res.time, TIME)


def test_every_method_runs_on_the_toy(toy, x):
    exp = sv.explain(toy_net(), x, model_type="toyweibull", time=TIME, dtype="float64")
    grad = sv.surv_grad(exp, instance=[0, 1, 2])
    # SmoothGrad(t) without noise is Grad(t)
    smooth = sv.surv_smoothgrad(exp, instance=[0, 1, 2], noise_level=0.0, n=3, seed=0)
    np.testing.assert_allclose(smooth.values[0], grad.values[0], rtol=1e-12, atol=1e-15)
    # IntGrad(t) and GradSHAP(t) are complete: attributions add up to the prediction gap
    intgrad = sv.surv_intgrad(exp, instance=[0, 1, 2], n=300)
    assert sv.local_accuracy(intgrad)["max_gap"] < 1e-3
    shap = sv.surv_gradshap(exp, instance=[0, 1, 2], n=50, num_samples=40, seed=0)
    assert sv.local_accuracy(shap)["max_gap"] < 2e-2
    assert shap.values[0].shape == (3, 3, 1, len(TIME)) and shap.model_class == "ToyWeibull"


def test_onnx_export_and_bundle_round_trip(toy, x, tmp_path):
    net = toy_net()
    exp = sv.explain(net, x, model_type="toyweibull", time=TIME)
    for target in ToyWeibull.targets:
        path = sv.export_onnx(exp, tmp_path / f"{target}.onnx", target=target, dynamo=False)
        np.testing.assert_allclose(sv.predict_onnx(path, x), toy_formula(net, x, target),
                                   rtol=1e-5, atol=1e-6)
    folder = sv.save_model(exp, tmp_path / "bundle", targets="survival", dynamo=False)
    info = sv.bundle_info(folder)
    assert info["head"]["family"] == "toyweibull" and info["model_class"] == "ToyWeibull"
    back = sv.load_model(folder)
    assert type(back.model) is ToyWeibull
    for method, kwargs in [(sv.surv_grad, {}), (sv.surv_intgrad, {"n": 5}),
                           (sv.surv_gradshap, {"n": 3, "num_samples": 4, "seed": 1})]:
        a = method(exp, instance=[0, 4, 9], target="hazard", **kwargs)
        b = method(back, instance=[0, 4, 9], target="hazard", **kwargs)
        np.testing.assert_array_equal(b.values[0], a.values[0])
        np.testing.assert_array_equal(b.pred, a.pred)
    # a bundle of a family that is not registered is refused by name
    registry.unregister_family("toyweibull")
    try:
        with pytest.raises(sv.SurvinngError, match=r"^`path` of load_model\(\) must be a known "
                           r"model family \(deepsurv, .*\); got 'toyweibull'$"):
            sv.load_model(folder)
    finally:
        registry.register_family(ToyWeibull)


def test_command_line_exports_and_explains_the_toy(toy, x, tmp_path, capsys):
    net = toy_net()
    torch.save(net.state_dict(), tmp_path / "weights.pt")
    (tmp_path / "spec.json").write_text(json.dumps(
        {"model_type": "toyweibull", "time": TIME, "feature_names": NAMES}))
    pd.DataFrame(x, columns=NAMES).to_csv(tmp_path / "train.csv", index=False)
    assert main(["export", "--spec", str(tmp_path / "spec.json"), "--weights",
                 str(tmp_path / "weights.pt"), "--arch", "test_registry:toy_net", "--data",
                 str(tmp_path / "train.csv"), "--out", str(tmp_path / "bundle"), "--targets",
                 "survival", "--legacy-exporter"]) == 0
    capsys.readouterr()
    assert main(["info", str(tmp_path / "bundle")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "model: ToyWeibull (from Sequential), float32"
    assert lines[1] == "targets: survival, cum_hazard, hazard; as ONNX: survival"

    rows = pd.DataFrame(x[:7], columns=NAMES)[["c", "a", "b"]]  # matched by name
    rows.to_csv(tmp_path / "rows.csv", index=False)
    assert main(["predict", str(tmp_path / "bundle"), str(tmp_path / "rows.csv"), "--out",
                 str(tmp_path / "pred.parquet"), "--target", "cum_hazard"]) == 0
    pred = pd.read_parquet(tmp_path / "pred.parquet")
    np.testing.assert_allclose(pred["cum_hazard"].to_numpy().reshape(7, len(TIME)),
                               toy_formula(net, x[:7], "cum_hazard")[:, 0], rtol=1e-5)
    assert main(["explain", str(tmp_path / "bundle"), str(tmp_path / "rows.csv"), "--method",
                 "grad", "--out", str(tmp_path / "grad.parquet")]) == 0
    result = exchange.read(tmp_path / "grad.parquet")
    expected = sv.surv_grad(sv.explain(net, x, model_type="toyweibull", time=TIME), x[:7])
    np.testing.assert_allclose(result.values[0], expected.values[0], rtol=1e-5, atol=1e-7)
    assert result.model_class == "ToyWeibull" and result.feature_names == [NAMES]


def test_engine_caches_do_not_keep_an_adapter_alive(toy, x):
    exp = sv.explain(toy_net(), x, model_type="toyweibull", time=TIME)
    sv.surv_grad(exp, instance=[0, 1])
    adapter = weakref.ref(exp.model)
    assert exp.model in engine._CACHES and "profiles" not in vars(exp.model)
    del exp
    gc.collect()
    assert adapter() is None


def entry_point(value):
    return importlib.metadata.EntryPoint(name="toyweibull", value=value,
                                         group=registry.ENTRY_POINT_GROUP)


def test_entry_point_registers_the_family(x):
    assert "toyweibull" not in registry.families()
    try:
        assert registry.load_entry_points([entry_point("test_registry:ToyWeibull")]) == \
            ["toyweibull"]
        exp = sv.explain(toy_net(), x, model_type="toyweibull", time=TIME)
        assert type(exp.model) is ToyWeibull
    finally:
        registry.unregister_family("toyweibull")
    with pytest.warns(RuntimeWarning, match="entry point 'toyweibull' was not loaded: No "
                      "module named 'no_such_package'"):
        assert registry.load_entry_points([entry_point("no_such_package:Family")]) == []
    assert "toyweibull" not in registry.families()


def test_installed_entry_points_are_loaded_lazily_once(monkeypatch, x):
    calls = []

    def installed(group):
        calls.append(group)
        return [entry_point("test_registry:ToyWeibull")]
    monkeypatch.setattr(importlib.metadata, "entry_points", installed)
    monkeypatch.setattr(registry, "_entry_points_loaded", False)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for _ in range(2):
                exp = sv.explain(toy_net(), x, model_type="toyweibull", time=TIME)
        assert type(exp.model) is ToyWeibull and calls == [registry.ENTRY_POINT_GROUP]
    finally:
        registry.unregister_family("toyweibull")


def test_the_toy_head_is_checked_by_its_own_rules(toy, x):
    for time, message in [([1.0, 0.5], "`time` of explain() must be strictly increasing; got "
                           "[1.0, 0.5]"),
                          ([0.0, 1.0], "`time` of explain() must be positive times; got "
                           "[0.0, 1.0]"),
                          (None, "`time` of explain() must be given for model_type 'toyweibull' "
                           "(the time grid (positive times)); got None")]:
        with pytest.raises(sv.SurvinngError) as info:
            sv.explain(toy_net(), x, model_type="toyweibull", time=time)
        assert str(info.value) == message
    with pytest.raises(sv.SurvinngError, match=r"^`time_bins` of explain\(\) must be one of "
                       r"\['time'\] for model_type 'toyweibull'; got 'time_bins'$"):
        sv.explain(toy_net(), x, model_type="toyweibull", time=TIME, time_bins=TIME)
    with pytest.raises(sv.SurvinngError, match=r"^`interpolate` of explain\(\) must be left out "
                       r"for a ToyWeibull model"):
        sv.explain(toy_net(), x, model_type="toyweibull", time=TIME, interpolate=2)
