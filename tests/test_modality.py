"""Modality-level contributions: exact Shapley properties, totals and shares."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import survinng_py as sv


class ThreeInputNet(torch.nn.Module):
    """Output = g(a(u) + b(v)) * (1 + 0 * w): the third input is ignored."""

    def __init__(self, shared_branch=False):
        super().__init__()
        self.a = torch.nn.Linear(3, 6)
        self.b = self.a if shared_branch else torch.nn.Linear(3, 6)
        self.c = torch.nn.Linear(2, 6)
        self.out = torch.nn.Linear(6, 5)

    def forward(self, u, v, w):
        return self.out(torch.tanh(self.a(u) + self.b(v)) + 0.0 * self.c(w))


def make_explainer(net, seed=0, same_uv=False):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(30, 3))
    v = u.copy() if same_uv else rng.normal(size=(30, 3))
    return sv.explain(net, [u, v, rng.normal(size=(30, 2))], model_type="deephit",
                      time_bins=np.arange(5.0), dtype="float64", input_names=["u", "v", "w"])


def brute_force_shapley(exp, row, target="survival"):
    """Shapley values by enumerating all orderings of the three modalities."""
    x = [d[row:row + 1] for d in exp.data]
    ref = [d.mean(0, keepdim=True) for d in exp.data]

    def value(subset):
        mixed = [x[k] if k in subset else ref[k] for k in range(3)]
        return exp.model.forward(mixed, target).detach().numpy()[0]

    phi = np.zeros((3, *value(()).shape))
    orders = list(itertools.permutations(range(3)))
    for order in orders:
        for pos, k in enumerate(order):
            phi[k] += value(order[:pos + 1]) - value(order[:pos])
    return phi / len(orders)


@pytest.mark.parametrize("target", ["survival", "pmf"])
def test_exact_shapley_matches_enumeration_and_is_efficient(target):
    exp = make_explainer(ThreeInputNet())
    res = sv.modality_shapley(exp, instance=[0, 4], target=target)
    assert res.values[0].shape == (2, 3, 1 if target == "survival" else 1, 5)
    assert res.feature_names == [["u", "v", "w"]] and res.method == "Modality_Shapley"
    assert res.label == "modality Shapley(t)"
    np.testing.assert_allclose(res.values[0].sum(1), res.pred_diff, atol=1e-12)
    np.testing.assert_allclose(res.values[0][1], brute_force_shapley(exp, 4, target), atol=1e-12)


def test_ignored_modality_gets_zero_and_identical_modalities_get_equal_values():
    exp = make_explainer(ThreeInputNet(shared_branch=True), same_uv=True)
    res = sv.modality_shapley(exp, instance=[1, 2, 3])
    np.testing.assert_allclose(res.values[0][:, 2], 0.0, atol=1e-15)
    np.testing.assert_allclose(res.values[0][:, 0], res.values[0][:, 1], atol=1e-12)


def test_sampled_references_are_reproducible_and_efficient():
    exp = make_explainer(ThreeInputNet())
    a = sv.modality_shapley(exp, instance=[0], num_samples=8, seed=3)
    b = sv.modality_shapley(exp, instance=[0], num_samples=8, seed=3)
    np.testing.assert_array_equal(a.values[0], b.values[0])
    np.testing.assert_allclose(a.values[0].sum(1), a.pred_diff, atol=1e-12)
    assert a.args["reference"] == "sampled"


def test_totals_and_shares(two_input):
    net, inputs, bins = two_input
    exp = sv.explain(net, inputs, model_type="deephit", time_bins=bins, dtype="float64",
                     input_names=["image", "table"], event_names=["a", "b", "c"])
    ig = sv.surv_intgrad(exp, instance=[0, 1], n=200)
    totals = sv.modality_totals(ig)
    assert totals.values[0].shape == (2, 2, 1, len(bins))
    np.testing.assert_allclose(totals.values[0][:, 0], ig.values[0].sum((1, 2, 3)))
    assert totals.args["completeness_gap_max"] < 1e-2
    shares = sv.modality_shares(sv.modality_shapley(exp, instance=[0, 1]))
    sums = shares.groupby(["instance", "event", "time"])["share"].sum().to_numpy()
    np.testing.assert_allclose(sums[sums > 0], 100.0)
    cohort = sv.modality_shares(totals, cohort=True)
    assert list(cohort.columns) == ["modality", "event", "time", "share"]
    assert len(cohort) == 2 * len(bins)
    with pytest.raises(sv.SurvinngError, match="^`result` of modality_shares\\(\\) must be"):
        sv.modality_shares(ig)


def test_arrow_round_trip_of_modality_results(tmp_path):
    exp = make_explainer(ThreeInputNet())
    res = sv.modality_shapley(exp, instance=[0, 1])
    back = sv.exchange.read(sv.exchange.write(res, tmp_path / "m.parquet"))
    assert back.values[0].tobytes() == res.values[0].tobytes() and back.method == res.method
