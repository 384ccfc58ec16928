"""``survinng-py report``: a bundle and rows to an HTML report, checked against the Python API."""

from __future__ import annotations

import pandas as pd
import pytest
from test_report import page_payload, tabular_explainer, unpack

import survinng_py as sv
from survinng_py import html_report
from survinng_py.cli import build_parser, main

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report_cli")
    exp = tabular_explainer(p=4)
    sv.save_model(exp, folder / "bundle", targets="survival", dynamo=False)
    rows = exp.data[0].numpy()[:6]
    pd.DataFrame(rows, columns=exp.feature_names[0]).to_csv(folder / "rows.csv", index=False)
    return folder, exp, rows


def fails(capsys, argv, message):
    with pytest.raises(SystemExit) as err:
        main(argv)
    assert err.value.code == 1
    assert capsys.readouterr().err == message + "\n"


def test_report_of_a_bundle_equals_the_python_report(bundle, capsys):
    folder, exp, rows = bundle
    out = folder / "r.html"
    argv = ["report", str(folder / "bundle"), str(folder / "rows.csv"), "--method", "gradshap",
            "--n", "8", "--num-samples", "4", "--seed", "3", "--out", str(out), "--title", "Six rows"]
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith(f"wrote {out}: GradSHAP(t) of survival for 6 rows (")
    data = page_payload(out)
    assert data["title"] == "Six rows"
    expected = sv.surv_gradshap(sv.load_model(folder / "bundle"), rows, n=8, num_samples=4, seed=3)
    (shown,) = data["results"]
    assert (unpack(shown["values"]) == expected.values[0]).all()
    assert (unpack(shown["pred_diff"]) == expected.pred_diff).all()
    assert "rows of the explainer data" in shown["cohort"]["source"]  # the bundle's data
    before = out.read_bytes()
    fails(capsys, argv, "survinng-py report: error: `--out` of survinng-py report must be a file "
          f"that does not exist yet (pass --overwrite to replace it); got '{out}'")
    assert out.read_bytes() == before
    assert main(argv + ["--overwrite", "--max-instances", "6"]) == 0


def test_too_many_rows_are_refused_before_explaining(bundle, capsys):
    folder, _, _ = bundle
    fails(capsys, ["report", str(folder / "bundle"), str(folder / "rows.csv"), "--method", "grad",
                   "--max-instances", "5", "--out", str(folder / "five.html")],
          "survinng-py report: error: `DATA` of survinng-py report must be at most "
          "--max-instances=5 rows (raise it or pass fewer rows); got 6 rows")
    fails(capsys, ["report", str(folder / "bundle"), str(folder / "rows.csv"), "--method", "grad",
                   "--out", str(folder / "r.parquet")],
          "survinng-py report: error: `--out` of survinng-py report must be a file ending in "
          f".html; got '{folder / 'r.parquet'}'")
    fails(capsys, ["report", str(folder / "bundle"), str(folder / "rows.csv"), "--method", "grad",
                   "--n", "3", "--out", str(folder / "n.html")],
          "survinng-py report: error: `--n` of survinng-py report must be left out for --method "
          "grad; got 3")
    assert not any(p.suffix == ".html" and p.name != "r.html" for p in folder.iterdir())


def test_default_max_instances_is_the_functions():
    args = build_parser().parse_args(["report", "b", "d.csv", "--method", "grad", "--out", "r.html"])
    assert args.max_instances == html_report.DEFAULT_MAX_INSTANCES


def test_help(capsys):
    with pytest.raises(SystemExit) as err:
        main(["report", "--help"])
    assert err.value.code == 0
    assert capsys.readouterr().out.startswith("usage: survinng-py report ")
