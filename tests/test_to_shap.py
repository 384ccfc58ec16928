"""``SurvResult.to_shap`` (shap's own plots on a result) and ``SurvResult._repr_html_``."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from test_report import multimodal_explainer, tabular_explainer

import survinng_py as sv


@pytest.fixture(scope="module")
def shap():
    return pytest.importorskip("shap", reason="shap is optional: pip install shap")


@pytest.fixture(scope="module")
def explained():
    exp = tabular_explainer(p=5)
    return exp, sv.surv_shap(exp, instance=range(8))


def test_values_and_base_values_at_the_nearest_time(shap, explained):
    exp, res = explained
    rows = exp.data[0].numpy()[res.instance]
    shown = res.to_shap(time=3.2, data=rows)  # grid 0, 7/9, ...: 3.11 is nearest
    t = 4
    assert np.array_equal(shown.values, res.values[0][:, :, 0, t])
    assert np.array_equal(shown.base_values, res.pred_ref[:, 0, t])
    assert np.array_equal(shown.data, rows) and shown.feature_names == res.feature_names[0]
    # SurvSHAP(t) is efficient: the reference plus the values is the prediction
    np.testing.assert_allclose(shown.base_values + shown.values.sum(1), res.pred[:, 0, t], rtol=1e-5)


def test_methods_without_a_reference_have_no_base_values(shap):
    res = sv.surv_grad(tabular_explainer(), instance=[0, 1])
    assert res.to_shap(time=0).base_values is None


def test_competing_risks_need_the_event(shap):
    res = sv.surv_intgrad(tabular_explainer(risks=2), instance=[0, 1], target="cif")
    with pytest.raises(sv.SurvinngError) as err:
        res.to_shap(time=1.0)
    assert str(err.value) == (
        "`event` of to_shap() must be one of ['event_1', 'event_2'] (the result has several); got None"
    )
    shown = res.to_shap(time=7.0, event="event_2")
    assert np.array_equal(shown.values, res.values[0][:, :, 1, -1])
    assert np.array_equal(shown.base_values, res.pred_ref[:, 1, -1])


def test_several_inputs_are_flattened_with_prefixed_names(shap):
    res = sv.surv_intgrad(multimodal_explainer(), instance=[0, 1, 2])
    shown = res.to_shap(time=0.0)
    assert shown.values.shape == (3, 28)
    assert shown.feature_names[:2] == ["image:X1:Y1:Z1", "image:X1:Y1:Z2"]
    assert shown.feature_names[25:] == ["table:X1", "table:X2", "table:X3"]
    assert np.array_equal(shown.values[:, 25:], res.values[1][:, :, 0, 0])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"time": "2"}, "`time` of to_shap() must be a finite number; got '2'"),
        ({"time": float("nan")}, "`time` of to_shap() must be a finite number; got nan"),
        ({"time": 1.0, "event": "death"}, "`event` of to_shap() must be one of ['event']; got 'death'"),
        ({"time": 1.0, "data": np.zeros((8, 4))}, "`data` of to_shap() must be the explained rows, an array of shape (8, 5) (instance, feature); got shape (8, 4)"),
    ],
)
def test_bad_arguments(shap, explained, kwargs, message):
    with pytest.raises(sv.SurvinngError) as err:
        explained[1].to_shap(**kwargs)
    assert str(err.value) == message


def test_without_shap_one_line_says_how_to_install(explained, monkeypatch):
    monkeypatch.setitem(sys.modules, "shap", None)  # import shap raises ImportError
    with pytest.raises(sv.SurvinngError) as err:
        explained[1].to_shap(time=1.0)
    assert str(err.value) == "to_shap() needs shap: pip install shap"


def test_shap_plots_draw(shap, explained):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    exp, res = explained
    shown = res.to_shap(time=3.2, data=exp.data[0].numpy()[res.instance])
    ticks = {}
    for name, draw in [
        ("waterfall", lambda: shap.plots.waterfall(shown[2], show=False)),
        ("beeswarm", lambda: shap.plots.beeswarm(shown, show=False)),
        ("bar", lambda: shap.plots.bar(shown, show=False)),
    ]:
        plt.close("all")
        draw()
        labels = {t.get_text() for ax in plt.gcf().axes for t in ax.get_yticklabels()}
        ticks[name] = labels
    plt.close("all")
    top = res.feature_names[0][int(np.argmax(np.abs(shown.values).mean(0)))]
    assert all(any(top in label for label in labels) for labels in ticks.values()), ticks


def test_repr_html_summarises(explained):
    _, res = explained
    res = res.replace(feature_names=[["<b>", "f1", "f2", "f3", "f4"]])
    page = res._repr_html_()
    importance = np.abs(res.values[0].astype(float)).mean(axis=(0, 2, 3))
    first = res.feature_names[0][int(np.argmax(importance))]
    assert "SurvSHAP(t) (Surv_SHAP)" in page and "input_1 (5,)" in page
    assert "<b>" not in page and "&lt;b&gt;" in page
    rows = page.split("top feature")[1]
    assert rows.index(first.replace("<", "&lt;").replace(">", "&gt;")) == min(
        rows.index(n.replace("<", "&lt;").replace(">", "&gt;")) for n in res.feature_names[0]
    )
    assert f"{importance.max():.4g}" in rows
