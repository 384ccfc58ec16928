"""Interaction plots: what is drawn is the result's matrix; first-order results are refused."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import survinng_py as sv
from survinng_py.plot import plot_interactions, plot_pairs


@pytest.fixture(scope="module")
def result():
    torch.manual_seed(3)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2 * 6))
    exp = sv.explain(net, np.random.default_rng(2).normal(size=(20, 4)), model_type="deephit",
                     time_bins=np.linspace(0, 5, 6), event_names=["a", "b"],
                     feature_names=["w", "x", "y", "z"], dtype="float64")
    return sv.surv_inthess(exp, instance=[2, 5], target="cif", n=4)


def test_heatmap_cells_are_the_matrix_at_the_nearest_times(result):
    fig = plot_interactions(result, times=[0.9, 4.2], instance=1, event="b", main_effects=True)
    for axis, t in zip(fig.axes[:2], (1, 4)):  # grid 0, 1, ..., 5
        np.testing.assert_array_equal(axis.images[0].get_array(), result.values[0][1, :, :, 1, t])
    assert [tick.get_text() for tick in fig.axes[0].get_yticklabels()] == ["w", "x", "y", "z"]
    scale = np.abs(result.values[0][1, :, :, 1][..., [1, 4]]).max()
    assert fig.axes[0].images[0].get_clim() == (-scale, scale)


def test_heatmap_leaves_the_diagonal_blank_by_default(result):
    fig = plot_interactions(result, times=[2.0], instance=0)
    cells = np.ma.filled(fig.axes[0].images[0].get_array(), np.nan)
    want = result.values[0][0, :, :, 0, 2].copy()
    np.fill_diagonal(want, np.nan)
    np.testing.assert_array_equal(cells, want)
    off = np.abs(want[~np.isnan(want)]).max()
    assert fig.axes[0].images[0].get_clim() == (-off, off)


def test_top_pairs_are_the_largest_off_diagonal_curves(result):
    fig = plot_pairs(result, top_k=3, instance=0, event=0)
    m = result.values[0][0, :, :, 0]
    rows, cols = np.triu_indices(4, k=1)
    peak = np.abs(m[rows, cols]).max(axis=1)
    best = np.argsort(-peak, kind="stable")[:3]
    labels = [line.get_label() for line in fig.axes[0].lines[:3]]
    names = ["w", "x", "y", "z"]
    assert labels == [f"{names[rows[b]]}:{names[cols[b]]}" for b in best]
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_ydata(), m[rows[best[0]], cols[best[0]]])


def test_first_order_results_are_refused(result):
    first = result.replace(values=[result.values[0][:, 0]], feature_pairs=None,
                           feature_names=[["w", "x", "y", "z"]])
    for plot in (plot_interactions, plot_pairs):
        with pytest.raises(sv.SurvinngError, match=r"^`result` of plot_\w+\(\) must be a "
                           r"second-order result with a \(feature, feature\) matrix"):
            plot(first)
