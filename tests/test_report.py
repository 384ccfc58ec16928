"""The HTML report without a browser: its data block, size limits and file handling.

The builders here also serve ``test_report_browser.py``.
"""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest
import torch

import survinng_py as sv
from survinng_py import html_report
from survinng_py.result import SurvResult

GRID = np.linspace(0.0, 7.0, 10)


def tabular_explainer(p: int = 4, risks: int | None = None, dtype: str = "float32", seed: int = 0):
    """A small DeepHit network on ``p`` standard normal features (``risks`` competing events)."""
    torch.manual_seed(seed)
    x = np.random.default_rng(seed).normal(size=(40, p))
    out = len(GRID) * (risks or 1)
    layers = [torch.nn.Linear(p, 8), torch.nn.Tanh(), torch.nn.Linear(8, out)]
    if risks:
        layers.append(torch.nn.Unflatten(1, (risks, len(GRID))))
    names = [f"f{j}" for j in range(p)]
    return sv.explain(
        torch.nn.Sequential(*layers), x, model_type="deephit", time_bins=GRID,
        feature_names=names, dtype=dtype,
    )


class ImageAndTable(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.image = torch.nn.Linear(25, 6)
        self.table = torch.nn.Linear(3, 6)
        self.head = torch.nn.Linear(6, len(GRID))

    def forward(self, image, table):
        return self.head(torch.tanh(self.image(image.flatten(1)) + self.table(table)))


def multimodal_explainer():
    torch.manual_seed(1)
    rng = np.random.default_rng(1)
    images, table = rng.normal(size=(30, 1, 5, 5)), rng.normal(size=(30, 3))
    return sv.explain(
        ImageAndTable(), [images, table], model_type="deephit", time_bins=GRID,
        input_names=["image", "table"],
    )


def synthetic_result(n: int, p: int, t: int, dtype=np.float32) -> SurvResult:
    """A GradSHAP-shaped result of random numbers (no model): for sizes."""
    rng = np.random.default_rng(0)
    values = rng.normal(size=(n, p, 1, t)).astype(dtype)
    pred = rng.uniform(size=(n, 1, t)).astype(dtype)
    ref = rng.uniform(size=(n, 1, t)).astype(dtype)
    return SurvResult(
        [values], pred=pred, pred_ref=ref, pred_diff=pred - ref, time=np.arange(t, dtype=float),
        feature_names=[[f"x{j}" for j in range(p)]], input_names=["input_1"],
        event_names=["event"], instance=np.arange(n), method="Surv_GradSHAP",
        model_class="DeepHit", target="survival", args={"n": 50},
    )


def page_payload(path) -> dict:
    text = path.read_text(encoding="utf-8")
    block = re.search(r'<script type="application/json" id="survinng-data">(.*?)</script>', text, re.S)
    return json.loads(block.group(1))


def unpack(packed: dict) -> np.ndarray:
    raw = base64.b64decode(packed["b64"])
    return np.frombuffer(raw, dtype="<" + packed["dtype"]).reshape(packed["shape"])


def test_numbers_travel_exactly(tmp_path):
    res = sv.surv_gradshap(tabular_explainer(), instance=range(4), seed=1)
    out = sv.report(res, tmp_path / "r.html")
    (data,) = page_payload(out)["results"]
    assert np.array_equal(unpack(data["values"]), res.values[0]) and unpack(data["values"]).dtype == np.float32
    for field in ("pred", "pred_ref", "pred_diff"):
        assert np.array_equal(unpack(data[field]), getattr(res, field))
    assert np.array_equal(unpack(data["time"]), res.time)
    assert data["players"] == res.feature_names[0] and data["instances"] == [0, 1, 2, 3]
    assert np.array_equal(unpack(data["importance"]), np.abs(res.values[0].astype(float)).mean(0))
    assert np.array_equal(unpack(data["cohort"]["curve"]), res.pred.astype(float).mean(0))


def test_cohort_curve_from_the_explainer_data(tmp_path):
    exp = tabular_explainer(risks=2)
    res = sv.surv_grad(exp, instance=[3, 5], target="cif").isel(time=[2, 4, 6], event=[1])
    out = sv.report(res, tmp_path / "r.html", explainer=exp)
    (data,) = page_payload(out)["results"]
    full = sv.surv_grad(exp, instance=range(40), target="cif").pred.astype(float).mean(0)
    assert np.array_equal(unpack(data["cohort"]["curve"]), full[[1]][:, [2, 4, 6]])
    assert "40 rows of the explainer data" in data["cohort"]["source"]


def test_inputs_of_higher_rank_enter_as_totals_and_images(tmp_path):
    res = sv.surv_intgrad(multimodal_explainer(), instance=[0, 1])
    (data,) = page_payload(sv.report(res, tmp_path / "r.html"))["results"]
    assert data["players"] == ["image (total)", "table:X1", "table:X2", "table:X3"]
    image = res.values[0]
    assert np.array_equal(unpack(data["values"])[:, 0], image.reshape(2, 25, 1, -1).sum(1))
    (grid,) = data["sections"]["images"]["inputs"]
    assert (grid["rows"], grid["cols"]) == (5, 5)
    assert np.array_equal(unpack(grid["values"]), image.reshape(2, 25, 1, -1))
    totals = unpack(data["sections"]["modalities"]["values"])
    assert np.array_equal(totals[:, 1], res.values[1].sum(1))


def test_names_stay_data_in_the_page(tmp_path):
    res = sv.surv_grad(tabular_explainer(p=2), instance=[0])
    res = res.replace(feature_names=[["</script><b>x</b>", "a&b"]])
    out = sv.report(res, tmp_path / "r.html", title="<i>title</i>")
    assert page_payload(out)["results"][0]["players"] == ["</script><b>x</b>", "a&b"]
    assert "<title>&lt;i&gt;title&lt;/i&gt;</title>" in out.read_text()


def test_several_results_get_distinct_names(tmp_path):
    exp = tabular_explainer()
    a, b = (sv.surv_grad(exp, instance=[0, 1]) for _ in range(2))
    assert [r["name"] for r in page_payload(sv.report([a, b], tmp_path / "r.html"))["results"]] == [
        "Grad(t)", "Grad(t) (2)"
    ]
    named = sv.report({"first": a, "SurvSHAP": sv.surv_shap(exp, instance=[0])}, tmp_path / "s.html")
    assert [r["name"] for r in page_payload(named)["results"]] == ["first", "SurvSHAP"]


def test_size_of_100_patients_20_features_100_times(tmp_path):
    out = sv.report(synthetic_result(100, 20, 100), tmp_path / "r.html")
    assert out.stat().st_size < 1.4e6  # documented: 1.3 MB


def test_more_instances_than_max_instances_are_refused(tmp_path):
    res = synthetic_result(12, 2, 3)
    with pytest.raises(sv.SurvinngError) as err:
        sv.report(res, tmp_path / "r.html", max_instances=10)
    assert str(err.value) == (
        "`result` of report() must be a result of at most max_instances=10 instances (raise "
        "max_instances= or pick rows with res.isel(instance=...)); got 12 instances in 'GradSHAP(t)'"
    )
    assert not (tmp_path / "r.html").exists()
    sv.report(res.isel(instance=range(10)), tmp_path / "r.html", max_instances=10)


def test_numbers_above_the_byte_limit_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(html_report, "MAX_DATA_BYTES", 2**20)
    with pytest.raises(sv.SurvinngError, match=r"^`result` of report\(\) must be a result whose numbers fit in 1 MiB .*; got 1\.\d MiB for 'GradSHAP\(t\)'$"):
        sv.report(synthetic_result(100, 20, 100), tmp_path / "r.html")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_kept_without_overwrite(tmp_path):
    target = tmp_path / "r.html"
    target.write_text("mine")
    res = synthetic_result(2, 2, 3)
    with pytest.raises(sv.SurvinngError) as err:
        sv.report(res, target)
    assert str(err.value).startswith(
        "`path` of report() must be a file that does not exist yet (pass overwrite=True"
    )
    assert target.read_text() == "mine" and len(list(tmp_path.iterdir())) == 1
    sv.report(res, target, overwrite=True)
    assert page_payload(target)["results"][0]["instances"] == [0, 1]


@pytest.mark.parametrize(
    "value, message",
    [
        ("res", "`result_or_results` of report() must be a SurvResult, a non-empty list of them or a dict of names to them; got str"),
        ([], "`result_or_results` of report() must be a SurvResult, a non-empty list of them or a dict of names to them; got []"),
        ({1: None}, "`result_or_results` of report() must be a SurvResult, a non-empty list of them or a dict of names to them (names are strings); got [1]"),
    ],
)
def test_bad_results_are_refused(tmp_path, value, message):
    with pytest.raises(sv.SurvinngError) as err:
        sv.report(value, tmp_path / "r.html")
    assert str(err.value) == message


def test_an_explainer_of_another_grid_is_refused(tmp_path):
    res = sv.surv_grad(tabular_explainer(), instance=[0])
    other = sv.explain(
        torch.nn.Linear(4, 5), np.zeros((3, 4)), model_type="deephit", time_bins=np.arange(5.0)
    )
    with pytest.raises(sv.SurvinngError, match=r"^`explainer` of report\(\) must be the explainer of the results"):
        sv.report(res, tmp_path / "r.html", explainer=other)
    with pytest.raises(sv.SurvinngError, match=r"^`explainer` of report\(\) must be an Explainer built with data, or None"):
        sv.report(res, tmp_path / "r.html", explainer="exp")


def test_modality_results_share_their_own_features(tmp_path):
    exp = multimodal_explainer()
    shapley = sv.modality_shapley(exp, instance=[0, 1, 2])
    totals = sv.modality_totals(sv.surv_intgrad(exp, instance=[0, 1, 2]))
    page = page_payload(sv.report([shapley, totals], tmp_path / "r.html"))
    for data, res in zip(page["results"], (shapley, totals)):
        assert data["players"] == ["image", "table"]
        assert data["sections"]["modalities"]["names"] == ["image", "table"]
        assert np.array_equal(unpack(data["sections"]["modalities"]["values"]), res.values[0])
        assert "images" not in data["sections"]


def test_empty_results_and_bad_flags_are_refused(tmp_path):
    res = synthetic_result(3, 2, 3)
    with pytest.raises(sv.SurvinngError) as err:
        sv.report(res.isel(instance=[]), tmp_path / "r.html")
    assert str(err.value) == "`result` of report() must be a result of at least one instance; got none in 'GradSHAP(t)'"
    with pytest.raises(sv.SurvinngError) as err:
        sv.report(res, tmp_path / "r.html", overwrite="yes")
    assert str(err.value) == "`overwrite` of report() must be True or False; got 'yes'"
    with pytest.raises(sv.SurvinngError) as err:
        sv.report(res, tmp_path / "r.html", title=3)
    assert str(err.value) == "`title` of report() must be a string or None; got 3"
    assert list(tmp_path.iterdir()) == []


def test_metadata_comes_from_the_results_labels(tmp_path):
    res = synthetic_result(2, 2, 3).replace(args={"n": 50, "rows": list(range(200))})
    meta = dict(page_payload(sv.report(res, tmp_path / "r.html"))["results"][0]["meta"])
    assert meta["method"] == "GradSHAP(t) (Surv_GradSHAP)"
    assert meta["package"] == f"survinng_py {sv.__version__}"
    assert meta["time grid"] == "3 times in [0, 2]"
    assert meta["argument n"] == "50"
    assert len(meta["argument rows"]) == 300 and meta["argument rows"].endswith("...")
