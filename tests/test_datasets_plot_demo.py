"""Simulated data, matplotlib plots and the command-line demo."""
import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: tests must not need a display

import numpy as np
import pandas as pd
import pytest
import torch

import survinng_py as sv
from survinng_py import SurvinngError, SurvResult, exchange
from survinng_py.__main__ import main
from survinng_py.datasets import simulate_time_dependent, simulate_time_independent, split
from survinng_py.plot import plot, plot_attr, plot_pred


# -- simulated data -------------------------------------------------------------------
def _cum_hazard_independent(t, df):
    eta = 1.7 * df.x1 - 2.4 * df.x2
    return 0.1 * np.exp(eta) * t ** 2.5


def _cum_hazard_dependent(t, df):
    eta = -3 * df.x1 + 1.7 * df.x2 - 2.4 * df.x3
    shape = 1.5 + 6 * df.x1
    return 0.1 * 1.5 * np.exp(eta) * t ** shape / shape


@pytest.mark.parametrize("simulate, columns", [
    (simulate_time_independent, ["time", "status", "x1", "x2", "x3"]),
    (simulate_time_dependent, ["time", "status", "x1", "x2", "x3", "x4"]),
])
def test_simulation_columns_and_censoring(simulate, columns):
    df = simulate(n=3000, seed=3)
    assert list(df.columns) == columns
    assert df.status.dtype.kind == "i" and set(df.status.unique()) == {0, 1}
    assert all(df[c].dtype == np.float64 for c in columns if c != "status")
    assert df.time.gt(0).all() and df.time.le(7).all()
    # administrative censoring only: censored exactly at 7, and every row at 7 is censored
    assert ((df.status == 0) == (df.time == 7)).all()


@pytest.mark.parametrize("simulate", [simulate_time_independent, simulate_time_dependent])
def test_simulation_is_reproducible(simulate):
    pd.testing.assert_frame_equal(simulate(n=200, seed=7), simulate(n=200, seed=7))
    assert not simulate(n=200, seed=7).equals(simulate(n=200, seed=8))


@pytest.mark.parametrize("simulate, cum_hazard", [
    (simulate_time_independent, _cum_hazard_independent),
    (simulate_time_dependent, _cum_hazard_dependent),
])
def test_event_times_follow_the_model(simulate, cum_hazard):
    # the fraction still at risk matches the mean model survival exp(-H(t | x)); the
    # standard error is below 0.004, so a wrong inversion or coefficient shows up
    df = simulate(n=20_000, seed=11)
    for t in (0.5, 1.0, 2.0, 3.0, 5.0):
        assert abs((df.time > t).mean() - np.exp(-cum_hazard(t, df)).mean()) < 0.015


def test_time_dependent_x1_protects_early_and_harms_late():
    df = simulate_time_dependent(n=10_000, seed=42)
    high, low = df[df.x1 > 0.75], df[df.x1 < 0.25]
    assert (high.time < 1).mean() < 0.5 * (low.time < 1).mean()
    late_high, late_low = high[high.time > 3], low[low.time > 3]
    assert late_high.status.mean() > late_low.status.mean() + 0.2


def test_time_independent_x3_has_no_effect():
    df = simulate_time_independent(n=20_000, seed=5)
    assert abs((df[df.x3 > 0.5].time < 3).mean() - (df[df.x3 < -0.5].time < 3).mean()) < 0.03


def test_split_sizes_disjoint_and_reproducible():
    df = simulate_time_dependent(n=2000, seed=1)
    train, test = split(df)
    assert (len(train), len(test)) == (1500, 500)
    assert list(test.index) == list(range(500))
    cols = list(df.columns)  # every column: many censored rows share time 7
    both = pd.concat([train, test]).sort_values(cols, ignore_index=True)
    pd.testing.assert_frame_equal(both, df.sort_values(cols, ignore_index=True))
    pd.testing.assert_frame_equal(split(df, 100, seed=4)[1], split(df, 100, seed=4)[1])


@pytest.mark.parametrize("n_test", [0, 2000, 2.5])
def test_split_rejects_bad_n_test(n_test):
    with pytest.raises(SurvinngError, match="`n_test`"):
        split(simulate_time_dependent(n=2000), n_test=n_test)


# -- plots ------------------------------------------------------------------------------
def _result(n_inst=2, n_feat=3, n_event=1, n_time=6, with_ref=False, feature_dims=None):
    rng = np.random.default_rng(0)
    dims = feature_dims or (n_feat,)
    pred = rng.uniform(size=(n_inst, n_event, n_time))
    refs = {}
    if with_ref:
        refs = {"pred_ref": pred - 0.1, "pred_diff": np.full_like(pred, 0.1),
                "pred_diff_q1": np.full_like(pred, 0.05), "pred_diff_q3": np.full_like(pred, 0.15)}
    return SurvResult([rng.normal(size=(n_inst, *dims, n_event, n_time))], pred=pred,
                      time=np.linspace(0, 5, n_time),
                      feature_names=[[f"f{j}" for j in range(int(np.prod(dims)))]],
                      input_names=["input_1"], event_names=[f"e{k}" for k in range(n_event)],
                      instance=np.arange(10, 10 + n_inst), method="Surv_GradSHAP" if with_ref
                      else "Surv_Gradient", model_class="DeepHit", target="survival", args={},
                      **refs)


def test_plot_attr_panels_and_labels():
    fig = plot_attr(_result(n_inst=2))
    assert isinstance(fig, matplotlib.figure.Figure)
    assert [ax.get_title() for ax in fig.axes] == ["Instance ID: 10", "Instance ID: 11"]
    assert fig.axes[0].get_ylabel() == "Attribution survival: Grad(t)"
    assert all(ax.get_xlabel() == "Time" for ax in fig.axes)
    assert fig.legends[0].get_title().get_text() == "Feature"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["f0", "f1", "f2"]
    assert len(fig.axes[0].get_lines()) == 3 + 1  # the features and the zero line


def test_plot_attr_one_panel_per_instance_and_event():
    fig = plot_attr(_result(n_inst=2, n_event=2))
    assert len(fig.axes) == 4
    assert fig.axes[1].get_title() == "Instance ID: 10 | Event: e1"


def test_plot_attr_from_a_real_explainer():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 10))
    exp = sv.explain(net, np.random.default_rng(0).normal(size=(20, 3)), model_type="deephit",
                     time_bins=np.linspace(0, 5, 10))
    res = sv.surv_grad(exp, instance=[0, 1, 2], times_input=True)
    fig = res.plot()
    assert len(fig.axes) == 3
    assert fig.axes[0].get_ylabel() == "Attribution survival: GxI(t)"
    x1_line = fig.axes[2].get_lines()[0]
    np.testing.assert_allclose(x1_line.get_ydata(), res.values[0][2, 0, 0], rtol=1e-6)


@pytest.mark.parametrize("normalize", ["abs", "rel"])
def test_plot_attr_normalizes_across_features(normalize):
    res = _result(n_inst=1)
    fig = plot_attr(res, normalize=normalize)
    lines = fig.axes[0].get_lines()[:3]
    total = sum(line.get_ydata() for line in lines)
    np.testing.assert_allclose(total, 1.0)
    if normalize == "abs":
        assert all((line.get_ydata() >= 0).all() for line in lines)
    assert normalize in fig.axes[0].get_ylabel()


def test_plot_attr_add_comp_draws_grey_curves_and_band():
    fig = plot_attr(_result(n_inst=1, with_ref=True), add_comp="all")
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert labels[:3] == ["Prediction", "Reference prediction", "Prediction - reference"]
    assert len(fig.axes[0].collections) == 1  # the interquartile band of pred_diff
    assert len(plot_attr(_result(n_inst=1, with_ref=True), add_comp="pred_ref")
               .axes[0].get_lines()) == 1 + 3 + 1


def test_plot_attr_into_given_axes():
    from matplotlib.figure import Figure

    fig = Figure()
    axes = fig.subplots(1, 2)
    assert plot_attr(_result(n_inst=2), ax=axes) is fig
    assert axes[1].get_legend().get_title().get_text() == "Feature"
    with pytest.raises(SurvinngError, match="`ax`"):
        plot_attr(_result(n_inst=3), ax=axes)


@pytest.mark.parametrize("kwargs, arg", [
    ({"normalize": "max"}, "normalize"),
    ({"normalize": True}, "normalize"),
    ({"add_comp": "pred"}, "add_comp"),  # Grad(t) has no reference
    ({"input": 1}, "input"),
    ({"input": "image"}, "input"),
])
def test_plot_attr_rejects_bad_arguments(kwargs, arg):
    with pytest.raises(SurvinngError, match=f"`{arg}` of plot_attr()") as err:
        plot_attr(_result(), **kwargs)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("kwargs", [{"add_comp": "everything"},
                                    {"add_comp": "pred", "normalize": "abs"}])
def test_plot_attr_rejects_bad_add_comp_with_reference(kwargs):
    with pytest.raises(SurvinngError, match="`add_comp`"):
        plot_attr(_result(with_ref=True), **kwargs)


def test_plot_attr_rejects_image_inputs():
    with pytest.raises(SurvinngError, match="`input`.*per-row shape \\(2, 3\\)"):
        plot_attr(_result(feature_dims=(2, 3)))


def test_plot_dispatch_and_bad_type():
    res = _result(n_inst=2, n_event=2)
    fig = plot(res, type="pred")
    assert len(fig.axes) == 1 and len(fig.axes[0].get_lines()) == 4
    assert fig.axes[0].get_ylabel() == "Predicted survival"
    assert len(res.plot(type="attr").axes) == 4
    with pytest.raises(SurvinngError, match="`type` of plot()"):
        res.plot(type="bar")
    with pytest.raises(SurvinngError, match="`result` of plot_pred()"):
        plot_pred(res.to_pandas())


# -- demo -------------------------------------------------------------------------------
def test_demo_smoke(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--n", "600", "--epochs", "2"]) == 0
    printed = capsys.readouterr().out
    assert str(out / "demo_attributions") in printed and len(printed.splitlines()) <= 6

    # one file per model and method, each a result in the exchange schema
    files = sorted(out.glob("demo_attributions_*.parquet"))
    assert [f.name for f in files] == sorted(
        f"demo_attributions_{m}_{k}.parquet"
        for m in ("deepsurv", "coxtime", "deephit") for k in ("grad", "gxi"))
    results = {f.stem: exchange.read(f) for f in files}
    assert {r.label for r in results.values()} == {"Grad(t)", "GxI(t)"}
    assert {r.model_class for r in results.values()} == {"DeepSurv", "CoxTime", "DeepHit"}
    for res in results.values():
        assert res.feature_names == [["x1", "x2", "x3", "x4"]]
        assert np.isfinite(res.values[0]).all() and ((res.time >= 0) & (res.time <= 7)).all()
    assert (out / "demo_attributions.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    with pytest.raises(SystemExit) as err:
        main(["demo", "--out", str(out), "--n", "600", "--epochs", "2"])
    assert err.value.code == 1
    message = capsys.readouterr().err
    assert "demo_attributions" in message and "--overwrite" in message
    assert len(message.strip().splitlines()) == 1
