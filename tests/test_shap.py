"""SurvSHAP(t): exact values against the Shapley formula, Kernel SHAP convergence, groups,
seeds and batch sizes, one-line errors."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
import torch

import survinng_py as sv
from survinng_py import SurvinngError


def deepsurv(p, seed=0, n=25):
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(p, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    data = np.random.default_rng(seed).normal(size=(n, p))
    return sv.explain(net, data, model_type="deepsurv", dtype="float64",
                      baseline_hazard=([1.0, 2.0, 3.0, 5.0], [0.1, 0.3, 0.2, 0.4]))


def deephit(p, seed=1, n=20, risks=2):
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(p, 8), torch.nn.ReLU(),
                              torch.nn.Linear(8, 4 * risks))
    data = np.random.default_rng(seed).normal(size=(n, p))
    if risks > 1:
        net.append(torch.nn.Unflatten(1, (risks, 4)))
    return sv.explain(net, data, model_type="deephit", time_bins=np.arange(4.0),
                      dtype="float64")


def brute_force(exp, row, players, target="survival"):
    """Shapley values by the subset formula, the value of a coalition being the mean over
    all explainer rows of the model with the players' columns taken from ``row``."""
    data = exp.data[0]
    x = data[row]

    def value(subset):
        columns = [c for k in subset for c in players[k]]
        mixed = data.clone()
        mixed[:, columns] = x[columns]
        return exp.model.forward([mixed], target).detach().numpy().mean(0)

    p = len(players)
    phi = np.zeros((p, *value(()).shape))
    for i in range(p):
        others = [k for k in range(p) if k != i]
        for size in range(p):
            weight = math.factorial(size) * math.factorial(p - size - 1) / math.factorial(p)
            for subset in itertools.combinations(others, size):
                phi[i] += weight * (value(subset + (i,)) - value(subset))
    return phi


@pytest.mark.parametrize("make,p,target", [(deepsurv, 4, "survival"),
                                           (deepsurv, 4, "cum_hazard"),
                                           (deephit, 5, "cif")])
def test_exact_mode_equals_the_shapley_formula_and_is_efficient(make, p, target):
    exp = make(p)
    res = sv.surv_shap(exp, instance=[0, 3], target=target, num_background=None)
    assert res.method == "Surv_SHAP" and res.label == "SurvSHAP(t)" and res.args["exact"]
    assert res.values[0].shape[:2] == (2, p) and res.feature_names == exp.feature_names
    for k, row in enumerate([0, 3]):
        np.testing.assert_allclose(res.values[0][k], brute_force(exp, row, [[j] for j in range(p)],
                                                                 target), rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.values[0].sum(1), res.pred_diff, rtol=0, atol=1e-12)
    own = exp.model.forward(exp.data, target).detach().numpy()
    np.testing.assert_allclose(res.pred, own[[0, 3]], rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.pred_ref, np.broadcast_to(own.mean(0), res.pred.shape),
                               rtol=0, atol=1e-12)


def test_kernel_shap_converges_to_exact_values_with_exact_efficiency():
    exp = deepsurv(5)
    exact = sv.surv_shap(exp, instance=[1, 2], num_background=None).values[0]
    errors = []
    for draws in (8, 4000):
        res = sv.surv_shap(exp, instance=[1, 2], num_background=None, num_coalitions=draws,
                           seed=3)
        assert not res.args["exact"]
        np.testing.assert_allclose(res.values[0].sum(1), res.pred_diff, rtol=0, atol=1e-12)
        errors.append(np.abs(res.values[0] - exact).max())
    scale = np.abs(exact).max()
    assert errors[1] < errors[0] and errors[1] < 0.02 * scale


def test_kernel_shap_by_default_above_twelve_features():
    exp = deepsurv(13, n=6)
    res = sv.surv_shap(exp, instance=0, seed=0)
    assert not res.args["exact"] and res.values[0].shape == (1, 13, 1, 4)
    np.testing.assert_allclose(res.values[0].sum(1), res.pred_diff, rtol=0, atol=1e-12)


def test_a_factors_dummies_as_one_player_equal_the_groups_shapley_value():
    rng = np.random.default_rng(4)
    level = rng.integers(0, 3, size=30)
    frame = pd.DataFrame(rng.normal(size=(30, 3)), columns=["age", "bmi", "dose"])
    for k, name in enumerate(["site_a", "site_b", "site_c"]):
        frame[name] = (level == k).astype(float)
    torch.manual_seed(4)
    net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    exp = sv.explain(net, frame, model_type="deepsurv", dtype="float64",
                     baseline_hazard=([1.0, 2.0], [0.2, 0.3]))
    res = sv.surv_shap(exp, instance=[0, 7], num_background=None,
                       groups={"bmi": [1], "site": ["site_a", "site_b", "site_c"]})
    assert res.feature_names == [["age", "bmi", "dose", "site"]]
    assert res.input_names == ["groups"] and res.values[0].shape == (2, 4, 1, 2)
    players = [[0], [1], [2], [3, 4, 5]]
    for k, row in enumerate([0, 7]):
        np.testing.assert_allclose(res.values[0][k], brute_force(exp, row, players),
                                   rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.values[0].sum(1), res.pred_diff, rtol=0, atol=1e-12)


def test_seed_and_batch_size_do_not_change_results_and_draws_are_recorded():
    exp = deepsurv(6, n=40)
    kwargs = {"instance": [0, 1, 2], "num_background": 15, "num_coalitions": 40, "seed": 11}
    first = sv.surv_shap(exp, **kwargs)
    again = sv.surv_shap(exp, **kwargs)
    small = sv.surv_shap(exp, batch_size=7, **kwargs)
    np.testing.assert_array_equal(first.values[0], again.values[0])
    np.testing.assert_allclose(small.values[0], first.values[0], rtol=0, atol=1e-13)
    rows = first.args["background_rows"]
    assert len(rows) == len(set(rows)) == 15 and first.args["seed"] == 11
    other = sv.surv_shap(exp, **{**kwargs, "seed": 12})
    assert other.args["background_rows"] != rows


def test_new_rows_and_a_given_background():
    exp = deepsurv(3)
    x = np.random.default_rng(9).normal(size=(2, 3))
    res = sv.surv_shap(exp, x, background=exp.data[0][:5].numpy(), num_background=None)
    assert res.args["background"] == "given" and res.args["num_background"] == 5
    np.testing.assert_allclose(res.values[0].sum(1), res.pred_diff, rtol=0, atol=1e-12)


def test_registered_for_the_command_line_without_groups():
    from survinng_py.methods import get_method, methods
    entry = get_method("shap")
    assert entry.id == "Surv_SHAP" and entry.r_function == "surv_shap" and entry.random
    assert entry in methods(cli=True)
    kinds = {o.name: o.type for o in entry.options}
    assert kinds == {"background": "rows", "num_background": "int", "num_coalitions": "int",
                     "seed": "int", "given": "float", "batch_size": "int"}


@pytest.mark.parametrize("kwargs,message", [
    ({"num_coalitions": 0}, "`num_coalitions` of surv_shap() must be an integer >= 1; got 0"),
    ({"num_background": 1.5}, "`num_background` of surv_shap() must be an integer >= 1; got 1.5"),
    ({"groups": {"g": ["nope"]}},
     "`groups['g']` of surv_shap() must be a column name (3 columns); got 'nope'"),
    ({"groups": {"g": [0, 1], "h": [1]}},
     "`groups['h']` of surv_shap() must be columns in no other group ('X2' is in 'g'); got 1"),
    ({"groups": {"g": []}}, "`groups['g']` of surv_shap() must be a non-empty list of columns"),
    ({"groups": {"X3": [0, 1]}},
     "`groups` of surv_shap() must be named apart from the columns in no group; got 'X3'"),
    ({"groups": {"g": [3]}},
     "`groups['g']` of surv_shap() must be column names or 0-based column indices below 3; "
     "got 3"),
    ({"background": np.zeros((0, 3))},
     "`background` of surv_shap() must be at least one row; got 0 rows"),
])
def test_bad_arguments_fail_in_one_line(kwargs, message):
    exp = deepsurv(3)
    with pytest.raises(SurvinngError) as err:
        sv.surv_shap(exp, instance=0, **kwargs)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_exact_mode_equals_the_survshap_packages_exact_mode():
    survshap = pytest.importorskip("survshap")
    from sksurv.functions import StepFunction

    exp = deepsurv(5, n=12)
    grid, names = exp.model.time, exp.feature_names[0]

    def survival_functions(model, rows):
        rows = torch.as_tensor(np.array(rows, dtype=np.float64))
        curves = model.forward([rows], "survival").numpy()[:, 0]
        return [StepFunction(grid, curve) for curve in curves]

    data = pd.DataFrame(exp.data[0].numpy(), columns=names)
    outcome = np.array([(True, t) for t in np.linspace(1.0, 5.0, 12)],
                       dtype=[("event", bool), ("time", float)])
    explainer = survshap.SurvivalModelExplainer(exp.model, data, outcome,
                                                predict_survival_function=survival_functions)
    theirs = survshap.ModelSurvSHAP(function_type="sf", calculation_method="kernel")
    theirs.fit(explainer, data.iloc[:3], timestamps=grid)
    table = theirs.full_result
    assert list(table["variable_name"]) == names * 3
    their_values = table[[f"t = {t}" for t in grid]].to_numpy().reshape(3, 5, len(grid))
    ours = sv.surv_shap(exp, instance=[0, 1, 2], num_background=None)
    # survshap enforces efficiency by a weight of 1e9 on the empty and full coalitions
    np.testing.assert_allclose(ours.values[0][:, :, 0], their_values, rtol=0, atol=1e-7)


class TwoInputNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = torch.nn.Linear(3, 6), torch.nn.Linear(2, 6)
        self.out = torch.nn.Linear(6, 4)

    def forward(self, u, v):
        return self.out(torch.tanh(self.a(u)) * torch.tanh(self.b(v)))


def two_input_explainer():
    torch.manual_seed(2)
    rng = np.random.default_rng(2)
    return sv.explain(TwoInputNet(), [rng.normal(size=(15, 3)), rng.normal(size=(15, 2))],
                      model_type="deephit", time_bins=np.arange(4.0), dtype="float64",
                      input_names=["image", "table"])


def test_inputs_as_groups_equal_modality_shapley_over_the_same_background():
    exp = two_input_explainer()  # both inputs name their columns X1, X2, ...
    res = sv.surv_shap(exp, instance=[0, 1], num_background=None,
                       groups={"image": [0, 1, 2], "table": [3, 4]})
    assert res.feature_names == [["image", "table"]]
    assert res.args["groups"] == {"image": ["X1", "X2", "X3"], "table": ["X1", "X2"]}
    modality = sv.modality_shapley(exp, instance=[0, 1], num_samples=15, seed=0)
    np.testing.assert_allclose(res.values[0], modality.values[0], rtol=0, atol=1e-12)
    # without groups: one array per input, the columns of both inputs as players
    plain = sv.surv_shap(exp, instance=[0, 1], num_background=None)
    assert [v.shape for v in plain.values] == [(2, 3, 1, 4), (2, 2, 1, 4)]
    np.testing.assert_allclose(plain.values[0].sum(1) + plain.values[1].sum(1),
                               plain.pred_diff, rtol=0, atol=1e-12)
    # a group of columns in each input and the other columns alone
    mixed = sv.surv_shap(exp, instance=[0], num_background=None, groups={"pair": [0, 3]})
    assert mixed.feature_names == [["pair", "X2", "X3", "X2"]]


def test_drawn_coalitions_must_fit_in_the_memory_budget():
    exp = sv.explain(deepsurv(3).model.net, np.zeros((4, 3)), model_type="deepsurv",
                     baseline_hazard=([1.0, 2.0, 3.0, 5.0], [0.1, 0.3, 0.2, 0.4]),
                     memory_budget=8000)
    with pytest.raises(SurvinngError) as err:
        sv.surv_shap(exp, instance=0, num_coalitions=251)
    assert str(err.value) == (
        "`num_coalitions` of surv_shap() must be at most 250 (32 bytes each, within the "
        "explainer's memory_budget of 8000 bytes); got 251")
    assert sv.surv_shap(exp, instance=0, num_coalitions=250).values[0].shape == (1, 3, 1, 4)


def test_the_command_line_explains_a_bundle_with_surv_shap(tmp_path, capsys):
    from survinng_py import exchange
    from survinng_py.cli import main

    exp = deepsurv(4)
    sv.save_model(exp, tmp_path / "bundle", targets=["survival"], dynamo=False)
    rows = pd.DataFrame(np.random.default_rng(7).normal(size=(3, 4)), columns=["X1", "X2", "X3", "X4"])
    rows.to_csv(tmp_path / "rows.csv", index=False)
    assert main(["explain", str(tmp_path / "bundle"), str(tmp_path / "rows.csv"), "--method",
                 "shap", "--num-background", "10", "--seed", "3", "--num-coalitions", "20",
                 "--out", str(tmp_path / "shap.parquet")]) == 0
    capsys.readouterr()
    back = exchange.read(tmp_path / "shap.parquet")
    expected = sv.surv_shap(sv.load_model(tmp_path / "bundle"), rows, num_background=10,
                            seed=3, num_coalitions=20)
    assert back.label == "SurvSHAP(t)" and back.args == expected.args
    np.testing.assert_array_equal(back.values[0], expected.values[0])
    np.testing.assert_array_equal(back.pred_diff, expected.pred_diff)
