"""Contribution and force plots for every model family, and the paper-reproduction vignettes."""
import importlib
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: tests must not need a display

import numpy as np
import pytest
from matplotlib.figure import Figure

import survinng_py as sv
from survinng_py import SurvinngError, SurvResult
from survinng_py.plot import plot, plot_contr, plot_force

VIGNETTES = Path(__file__).resolve().parents[1] / "vignettes"
PNG = b"\x89PNG\r\n\x1a\n"
MODELS = ["coxph", "coxtime", "deephit_single", "deephit_cr"]


# -- plots of fitted pycox models ------------------------------------------------------------
@pytest.fixture(scope="module")
def results(request):
    """Per model fixture: Grad(t) and GradSHAP(t) of two rows (cif for competing risks)."""
    x = request.getfixturevalue("data")[0]
    out = {}
    for name in MODELS:
        exp = sv.explain(request.getfixturevalue(name), x)
        target = "cif" if name == "deephit_cr" else "survival"
        out[name] = {
            "grad": sv.surv_grad(exp, instance=[0, 5], target=target),
            "shap": sv.surv_gradshap(exp, instance=[0, 5], target=target, n=4, num_samples=3,
                                     seed=0)}
    return out


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("kind", ["attr", "pred", "contr", "force"])
def test_every_plot_renders_for_every_model(results, model, kind):
    res = results[model]["shap"]
    fig = plot(res, type=kind)
    assert isinstance(fig, Figure)
    n_events = len(res.event_names)
    assert n_events == (2 if model == "deephit_cr" else 1)
    assert len(fig.axes) == (1 if kind == "pred" else 2 * n_events)
    ylabel = {"attr": f"Attribution {res.target}: GradSHAP(t)",
              "pred": f"Predicted {res.target}",
              "contr": f"% Contribution {res.target}: GradSHAP(t)",
              "force": f"Contribution {res.target}: GradSHAP(t)"}[kind]
    assert fig.axes[0].get_ylabel() == ylabel
    assert fig.axes[-1].get_xlabel() == "Time"
    if kind != "pred":
        title = "Instance ID: 0" + (" | Event: event_1" if n_events > 1 else "")
        assert fig.axes[0].get_title() == title
        labels = [t.get_text() for t in fig.legends[0].get_texts()]
        assert [x for x in labels if x != "Sum over features"] == res.feature_names[0]
    fig.savefig(io.BytesIO(), format="png")  # draws without errors


@pytest.mark.parametrize("model", MODELS)
def test_contr_shares_add_up_to_100(results, model):
    res = results[model]["shap"]
    fig = plot_contr(res)
    values = np.abs(res.values[0].astype(np.float64))
    for panel, axis in enumerate(fig.axes):
        i, e = divmod(panel, len(res.event_names))
        total = values[i, :, e].sum(axis=0)
        share = np.where(total > 0, 100 * values[i, :, e] / np.where(total > 0, total, 1), 25.0)
        tops = np.cumsum(share[::-1], axis=0)[::-1]  # the first feature is the top band
        for j, line in enumerate(axis.get_lines()[:4]):  # band edges, then the vertical line
            np.testing.assert_allclose(line.get_ydata(), tops[j], atol=1e-8)
        assert axis.get_ylim() == (0, 100)


def test_contr_aggregate_is_one_global_panel_per_event(results):
    res = results["deephit_cr"]["shap"]
    fig = plot_contr(res, aggregate=True)
    assert [ax.get_title() for ax in fig.axes] == ["Global | Event: event_1",
                                                   "Global | Event: event_2"]
    mean = np.abs(res.values[0].astype(np.float64)).mean(axis=0)[:, 1]  # event 2
    top_of_x2 = 100 * mean[1:].sum(axis=0) / mean.sum(axis=0)
    valid = mean.sum(axis=0) > 0
    np.testing.assert_allclose(fig.axes[1].get_lines()[1].get_ydata()[valid], top_of_x2[valid])


@pytest.mark.parametrize("model", MODELS)
def test_force_bars_and_sum_line(results, model):
    res = results[model]["grad"]  # any method can be drawn
    fig = plot_force(res, num_bars=5)
    axis = fig.axes[0]
    picks = np.unique(np.abs(res.time[None] - np.linspace(res.time.min(), res.time.max(),
                                                          5)[:, None]).argmin(axis=1))
    assert len(axis.patches) == 4 * len(picks)
    centers = np.unique([p.get_x() + p.get_width() / 2 for p in axis.patches])
    np.testing.assert_allclose(centers, res.time[picks], rtol=1e-9, atol=1e-9)
    total = [line for line in axis.get_lines() if line.get_label() == "Sum over features"][0]
    np.testing.assert_allclose(total.get_ydata(), res.values[0][0, :, 0].sum(axis=0), rtol=1e-6)


def _synthetic(values, time=None, with_ref=True):
    values = np.asarray(values, dtype=np.float64)  # (instance, feature, event, time)
    n, p, e, t = values.shape
    pred = np.full((n, e, t), 0.5)
    refs = {"pred_ref": pred - values.sum(axis=1), "pred_diff": values.sum(axis=1)} \
        if with_ref else {}
    return SurvResult([values], pred=pred, time=np.arange(t, dtype=float) if time is None
                      else time, feature_names=[[f"f{j}" for j in range(p)]],
                      input_names=["input_1"], event_names=["event"], instance=np.arange(n),
                      method="Surv_IntGrad" if with_ref else "Surv_Gradient",
                      model_class="DeepHit", target="survival", args={"times_input": True},
                      **refs)


def test_force_stacks_positive_and_negative_parts_apart_and_labels_large_segments():
    # two time points, features +0.3, -0.2, +0.1, -0.001 at both
    values = np.tile(np.array([0.3, -0.2, 0.1, -0.001])[None, :, None, None], (1, 1, 1, 2))
    axis = plot_force(_synthetic(values), num_bars=2).axes[0]
    first = [p for p in axis.patches if abs(p.get_x() + p.get_width() / 2) < 1e-9]
    spans = [(round(p.get_y(), 9), round(p.get_y() + p.get_height(), 9)) for p in first]
    assert spans == [(0, 0.3), (0, -0.2), (0.3, 0.4), (-0.2, -0.201)]
    labels = sorted(t.get_text() for t in axis.texts)
    assert labels == ["-0.20", "-0.20", "0.10", "0.10", "0.30", "0.30"]  # -0.001 rounds to 0


def test_contr_gives_equal_shares_where_nothing_is_attributed():
    values = np.zeros((1, 3, 1, 3))
    values[0, :, 0, 1:] = [[1.0, 2.0], [1.0, 0.0], [2.0, 2.0]]
    lines = plot_contr(_synthetic(values)).axes[0].get_lines()
    np.testing.assert_allclose([line.get_ydata()[0] for line in lines[:3]], [100, 200 / 3, 100 / 3])
    np.testing.assert_allclose([line.get_ydata()[1] for line in lines[:3]], [100, 75, 50])


def test_plots_draw_into_given_axes_and_pick_an_input(two_input):
    net, inputs, bins = two_input
    exp = sv.explain(net, inputs, model_type="deephit", time_bins=bins, event_names=["a", "b", "c"])
    res = sv.surv_intgrad(exp, instance=[0, 1, 2], n=5)
    fig = Figure()
    axes = fig.subplots(1, 3)
    assert plot_contr(res, input="input_2", ax=axes) is fig
    assert axes[-1].get_legend().get_title().get_text() == "Feature"
    assert plot_force(res, input=1, ax=axes) is fig
    with pytest.raises(SurvinngError, match="`input` of plot_force().*per-row shape"):
        plot_force(res)  # the image input
    with pytest.raises(SurvinngError, match="`ax` of plot_contr()"):
        plot_contr(res, input=1, ax=axes[:2])


@pytest.mark.parametrize("call, arg", [
    (lambda r: plot_contr(r["grad"]), "result"),  # no reference prediction
    (lambda r: plot_contr(r["shap"], aggregate="yes"), "aggregate"),
    (lambda r: plot_contr(r["shap"], input=2), "input"),
    (lambda r: plot_force(r["shap"], num_bars=0), "num_bars"),
    (lambda r: plot_force(r["shap"], num_bars=2.5), "num_bars"),
    (lambda r: plot_force(r["shap"].to_pandas()), "result"),
    (lambda r: plot(r["shap"], type="bar"), "type"),
])
def test_bad_plot_arguments_raise_one_line_errors(results, call, arg):
    with pytest.raises(SurvinngError, match=f"`{arg}` of ") as err:
        call(results["coxph"])
    assert "\n" not in str(err.value)


def test_result_plot_method_dispatches_new_types(results):
    res = results["deephit_single"]["shap"]
    assert res.plot(type="contr", aggregate=True).axes[0].get_title() == "Global"
    assert len(res.plot(type="force", num_bars=3).axes) == 2


# -- vignettes ----------------------------------------------------------------------------------
@pytest.fixture
def vignette(monkeypatch):
    """Import a vignette script (and its ``_common``) from ``vignettes/``."""
    monkeypatch.syspath_prepend(str(VIGNETTES))
    return importlib.import_module


def _check_outputs(summary, out, name):
    assert all(Path(p).parent == out and Path(p).read_bytes()[:8] == PNG
               for p in summary["figures"])
    text = Path(summary["results"]).read_text()
    assert summary["results"] == out / "RESULTS.md"
    assert f"<!-- {name}:start -->" in text and f"<!-- {name}:end -->" in text
    assert "--quick" in text and "- **seed**: 42" in text


def test_sign_change_time(vignette):
    common = vignette("_common")
    t = np.linspace(0, 4, 41)
    assert common.sign_change_time(t, np.sin(np.pi * t / 2.5)) == pytest.approx(2.5, abs=0.01)
    assert common.sign_change_time(t, -np.sin(np.pi * t / 2.5), before=-1) == \
        pytest.approx(2.5, abs=0.01)
    assert np.isnan(common.sign_change_time(t, -t * np.exp(-t)))  # one sign only
    # tiny values count as zero: the trailing -1e-6 is noise, not a change of sign
    assert np.isnan(common.sign_change_time(t, np.r_[np.ones(40), -1e-6]))


def test_time_dependent_truth(vignette):
    # the stated sign change of dS/dx1 is where the closed-form derivative crosses zero,
    # and that derivative matches finite differences of the simulated survival
    td, common = vignette("sim_time_dependent"), vignette("_common")
    # rows whose survival at the change is far from 0 and 1, as in the vignette
    x = np.array([[0.0, 0.3, -0.2, 0.5], [0.5, 0.0, 0.0, 0.0], [1.0, 0.5, -0.3, 0.0]])
    t = np.linspace(0.01, 7, 4001)
    grad = td.true_grad_x1(t, x)
    step = np.array([[1e-6, 0, 0, 0]])
    numeric = (td.true_survival(t[None], x + step) - td.true_survival(t[None], x - step)) / 2e-6
    np.testing.assert_allclose(grad, numeric, atol=1e-7)
    found = [common.sign_change_time(t, g) for g in grad]
    np.testing.assert_allclose(found, td.survival_flip_time(x[:, 0]), atol=2e-3)
    assert td.survival_flip_time(np.array([0.0, 1.0])) == pytest.approx([3.211, 1.883], abs=1e-3)


@pytest.mark.slow
def test_vignette_time_independent_quick(vignette, tmp_path):
    summary = vignette("sim_time_independent").main(["--quick", "--out", str(tmp_path)])
    _check_outputs(summary, tmp_path, "sim_time_independent")
    assert len(summary["figures"]) == 7
    for name, perf in summary["performance"].items():
        assert perf["C(t*)"] > 0.75 and perf["C_td"] > 0.75 and perf["IBS"] < 0.2, name
        grad = summary["attribution"][name]["Grad(t)"]
        assert grad["mean"]["x1"] < 0 < grad["mean"]["x2"], name  # x1 harms, x2 protects
        for method, check in summary["attribution"][name].items():
            assert check["x3_ratio"] < 0.5, (name, method)  # x3 has no effect


@pytest.mark.slow
def test_vignette_time_dependent_quick(vignette, tmp_path):
    summary = vignette("sim_time_dependent").main(["--quick", "--out", str(tmp_path)])
    _check_outputs(summary, tmp_path, "sim_time_dependent")
    for name, perf in summary["performance"].items():
        assert perf["C_td"] > 0.75, name
    flip = summary["flip"]
    assert flip["DeepSurv"]["changed"] == 0  # proportional hazards: no sign change
    for name in ("CoxTime", "DeepHit"):
        # the true change of dS/dx1 lies in [1.88, 3.21] (median 2.1 on these rows)
        assert flip[name]["changed"] >= 0.5, name
        assert 1.6 < flip[name]["median_estimate"] < 3.0, name
        assert flip[name]["median_abs_error"] < 0.8, name


@pytest.mark.slow
def test_vignette_gbsg2_quick(vignette, tmp_path):
    summary = vignette("real_data_gbsg2").main(["--quick", "--out", str(tmp_path)])
    _check_outputs(summary, tmp_path, "real_data_gbsg2")
    assert len(summary["figures"]) == 4
    for name, perf in summary["performance"].items():
        assert perf["C_td"] > 0.62 and perf["IBS"] < 0.2, name
        imp = summary["importance"][name]
        assert imp["GradSHAP"].shape == (8,) and (imp["GradSHAP"] > 0).all()
    # DeepSurv: the number of positive nodes dominates both rankings
    imp = summary["importance"]["DeepSurv"]
    assert np.argmax(imp["GradSHAP"]) == np.argmax(imp["IBS"]) == 2
    assert summary["spearman"]["DeepSurv"]["IBS"] > 0.3
