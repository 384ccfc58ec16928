"""compare(): rank agreement of attribution methods, checked against scipy's Spearman."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

import survinng_py as sv
from survinng_py import SurvinngError
from survinng_py.metrics import COMPARE_COLUMNS


@pytest.fixture(scope="module")
def results():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    exp = sv.explain(net, np.random.default_rng(0).normal(size=(30, 5)), model_type="deepsurv",
                     dtype="float64", baseline_hazard=([1.0, 2.0, 4.0], [0.1, 0.2, 0.3]))
    rows = list(range(12))
    return (sv.surv_shap(exp, instance=rows, num_background=None),
            sv.surv_gradshap(exp, instance=rows, seed=0, num_samples=5),
            sv.surv_grad(exp, instance=rows))


def test_agreement_equals_scipys_spearman_for_every_pair(results):
    table = sv.compare(*results)
    assert list(table.columns) == list(COMPARE_COLUMNS)
    assert table[["method_a", "method_b"]].values.tolist() == [
        ["SurvSHAP(t)", "GradSHAP(t)"], ["SurvSHAP(t)", "Grad(t)"], ["GradSHAP(t)", "Grad(t)"]]
    for row, (a, b) in zip(table.itertuples(), [(0, 1), (0, 2), (1, 2)]):
        ma, mb = np.abs(results[a].values[0]), np.abs(results[b].values[0])
        assert row.spearman_global == pytest.approx(
            spearmanr(ma.mean((0, 2, 3)), mb.mean((0, 2, 3)))[0], abs=1e-12)
        per_time = [spearmanr(ma[..., t].mean((0, 2)), mb[..., t].mean((0, 2)))[0]
                    for t in range(ma.shape[-1])]
        assert row.spearman_time_mean == pytest.approx(np.mean(per_time), abs=1e-12)
        per_instance = [spearmanr(ma[i].mean((1, 2)), mb[i].mean((1, 2)))[0]
                        for i in range(ma.shape[0])]
        assert row.instance_spearman_mean == pytest.approx(np.mean(per_instance), abs=1e-12)
        top = ma.mean((2, 3)).argmax(1) == mb.mean((2, 3)).argmax(1)
        assert row.top1_agreement == top.mean()
    accuracy = sv.local_accuracy(results[0])["overall"]
    assert table.local_accuracy_a[0] == accuracy and accuracy < 1e-12
    assert np.isnan(table.local_accuracy_b[1])  # Grad(t) has no pred_diff


def test_a_result_agrees_with_itself_and_its_negation(results):
    negated = copy.copy(results[0])
    negated.values = [-v for v in results[0].values]
    row = sv.compare(results[0], negated, names=["shap", "minus shap"]).iloc[0]
    assert (row.method_a, row.method_b) == ("shap", "minus shap")
    assert row.spearman_global == row.instance_spearman_mean == row.top1_agreement == 1.0
    assert sv.compare(results[0], results[0]).method_b[0] == "SurvSHAP(t) #2"


def test_results_that_do_not_match_fail_in_one_line(results):
    other = results[1].isel(instance=[0, 1])
    cases = [
        ((results[0],), {}, "`results` of compare() must be at least two results; got 1"),
        ((results[0], "x"), {}, "`results[1]` of compare() must be a SurvResult; got 'str'"),
        ((results[0], other), {}, "`results[1]` of compare() must be a result with the "
                                  "instances of results[0]; got other instances"),
        (results[:2], {"names": ["a", "a"]},
         "`names` of compare() must be 2 distinct non-empty names; got ['a', 'a']"),
    ]
    for args, kwargs, message in cases:
        with pytest.raises(SurvinngError) as err:
            sv.compare(*args, **kwargs)
        assert str(err.value) == message
