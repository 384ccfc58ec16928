"""plot_compare: the methods' global rankings side by side, and plot(type="compare")."""
import re

import matplotlib

matplotlib.use("Agg")  # tests must not need a display

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

import survinng_py as sv
from survinng_py import SurvinngError
from survinng_py.plot import plot, plot_compare


@pytest.fixture(scope="module")
def pair():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    x = np.random.default_rng(0).normal(size=(30, 4)) * [3.0, 0.1, 1.0, 0.5]
    exp = sv.explain(net, x, model_type="deepsurv",
                     baseline_hazard=([1.0, 2.0, 3.0], [0.1, 0.2, 0.3]))
    return (sv.surv_shap(exp, instance=range(6), num_background=20, seed=0),
            sv.surv_grad(exp, instance=range(6)))


def _bars(fig):
    """Per legend entry: the bars' widths in drawing order."""
    axis = fig.axes[0]
    return {c.get_label(): [p.get_width() for p in c.patches] for c in axis.containers}


def test_bars_are_each_results_scaled_global_importance_in_the_first_ones_order(pair):
    fig = plot_compare(*pair, names=["shap", "grad"])
    assert isinstance(fig, Figure)
    importance = [np.abs(r.values[0].astype(np.float64)).mean(axis=(0, 2, 3)) for r in pair]
    order = np.argsort(-importance[0])
    bars = _bars(fig)
    for name, imp in zip(["shap", "grad"], importance):
        np.testing.assert_allclose(bars[name], (imp / imp.max())[order], rtol=1e-12)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == [pair[0].feature_names[0][j] for j in order]


def test_plot_dispatches_compare_and_draws_into_given_axes(pair):
    given = Figure().subplots()
    fig = plot(pair[0], type="compare", others=[pair[1]], ax=given)
    assert fig is given.figure
    assert set(_bars(fig)) == {"SurvSHAP(t)", "Grad(t)"}


@pytest.mark.parametrize("call, message", [
    (lambda p: plot_compare(p[0]), "`results` of plot_compare() must be at least two results"),
    (lambda p: plot_compare(p[0], p[1].isel(instance=[0, 1])),
     "`results[1]` of plot_compare() must be a result with the instances of results[0]"),
    (lambda p: plot_compare(*p, names=["a", "a"]), "`names` of plot_compare() must be 2 distinct"),
])
def test_bad_arguments_raise_one_line_errors(pair, call, message):
    with pytest.raises(SurvinngError, match=re.escape(message)) as err:
        call(pair)
    assert "\n" not in str(err.value)
