"""The command line end to end in a temporary folder: export -> info -> predict -> explain,
read back and compared with the Python API and pycox; exit codes and one-line errors."""
from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

import survinng_py as sv
from survinng_py import exchange
from survinng_py.cli import main

from conftest import mlp, simulate

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")
NAMES = ["age", "bmi", "x3", "x4"]
TOL = 1e-5


def coxph_net():
    """The architecture of the ``coxph`` fixture (``--arch test_cli:coxph_net``)."""
    return mlp(1, output_bias=False)


def wrong_net():
    return mlp(2, output_bias=False)


def fails(capsys, argv, message):
    """``main(argv)`` exits with status 1 and exactly the one line ``message`` on stderr."""
    with pytest.raises(SystemExit) as err:
        main(argv)
    assert err.value.code == 1
    assert capsys.readouterr().err == message + "\n"


def hazard_spec(series):
    return {"time": series.index.tolist(), "hazard": series.tolist()}


@pytest.fixture(scope="module")
def coxph_bundle(coxph, data, tmp_path_factory):
    """A DeepSurv bundle exported from pycox weights + an architecture factory."""
    tmp = tmp_path_factory.mktemp("cli")
    coxph.save_model_weights(str(tmp / "weights.pt"))
    (tmp / "spec.json").write_text(json.dumps({
        "model_type": "coxph", "baseline_hazard": hazard_spec(coxph.baseline_hazards_),
        "feature_names": NAMES}))
    frame = pd.DataFrame(data[0][:50], columns=NAMES).assign(id=np.arange(50))
    frame.to_csv(tmp / "train.csv", index=False)
    code = main(["export", "--spec", str(tmp / "spec.json"), "--weights", str(tmp / "weights.pt"),
                 "--arch", "test_cli:coxph_net", "--data", str(tmp / "train.csv"),
                 "--out", str(tmp / "bundle"), "--targets", "survival", "--legacy-exporter"])
    assert code == 0
    return tmp


def test_export_info_predict_explain_round_trip(coxph, data, coxph_bundle, capsys):
    tmp, x = coxph_bundle, data[0]
    capsys.readouterr()
    assert main(["info", str(tmp / "bundle")]) == 0
    info = capsys.readouterr().out.splitlines()
    assert info[0] == "model: DeepSurv (from MLPVanilla), float32"
    assert info[1] == "targets: survival, cum_hazard, hazard, log_risk; as ONNX: survival"
    assert info[3] == "inputs: input_1 (4,) [age, bmi, x3, x4]"
    assert info[5:] == ["data: 50 rows",
                        f"written by: survinng_py {sv.__version__}, torch {torch.__version__}, "
                        f"onnx {sv.bundle.versions()['onnx']}",
                        "files: 3 plus bundle.json, sha256 verified"]

    rows = pd.DataFrame(x[100:120], columns=NAMES)[["x4", "age", "x3", "bmi"]].assign(extra=1.0)
    rows.to_csv(tmp / "rows.csv", index=False)
    assert main(["predict", str(tmp / "bundle"), str(tmp / "rows.csv"), "--out",
                 str(tmp / "pred.parquet"), "--batch-size", "7", "--no-progress"]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {tmp / 'pred.parquet'}: survival of 20 rows")
    pred = pd.read_parquet(tmp / "pred.parquet")
    assert list(pred.columns) == ["instance", "event", "time", "survival"]
    surv = pred.pivot(index="instance", columns="time", values="survival")
    assert list(surv.index) == list(range(20))  # ids run on across batches of 7
    pycox = coxph.predict_surv_df(x[100:120]).T
    np.testing.assert_allclose(surv.to_numpy(), pycox.to_numpy(), rtol=0, atol=TOL)
    np.testing.assert_array_equal(surv.columns.to_numpy(), pycox.columns.to_numpy())
    python = exchange.predictions_table(sv.explain(coxph, x[:50], feature_names=NAMES), x[100:120])
    np.testing.assert_allclose(pred["survival"].to_numpy(), python.column("survival").to_numpy(),
                               rtol=0, atol=TOL)

    assert main(["explain", str(tmp / "bundle"), str(tmp / "rows.csv"), "--method", "grad",
                 "--times-input", "--out", str(tmp / "gxi.parquet")]) == 0
    assert "GxI(t) of survival, long layout (instance x feature x event x time = 20 x 4 x 1 x" \
        in capsys.readouterr().out
    back = exchange.read(tmp / "gxi.parquet")
    expected = sv.surv_grad(sv.explain(coxph, x[:50], feature_names=NAMES), x[100:120],
                            times_input=True)
    np.testing.assert_allclose(back.values[0], expected.values[0], rtol=0, atol=TOL)
    np.testing.assert_allclose(back.pred, expected.pred, rtol=0, atol=TOL)
    assert back.feature_names == [NAMES] and back.label == "GxI(t)"
    np.testing.assert_array_equal(back.time, expected.time)

    before = (tmp / "pred.parquet").read_bytes()
    fails(capsys, ["predict", str(tmp / "bundle"), str(tmp / "rows.csv"), "--out",
                   str(tmp / "pred.parquet")],
          f"survinng-py predict: error: `--out` of survinng-py predict must be a file that does "
          f"not exist yet (pass --overwrite to replace it); got '{tmp / 'pred.parquet'}'")
    assert (tmp / "pred.parquet").read_bytes() == before
    assert main(["predict", str(tmp / "bundle"), str(tmp / "rows.csv"), "--out",
                 str(tmp / "pred.parquet"), "--target", "hazard", "--overwrite"]) == 0
    assert list(pd.read_parquet(tmp / "pred.parquet").columns)[-1] == "hazard"


def test_competing_risks_from_a_torch_export_program(deephit_cr, tmp_path, capsys):
    x = simulate(seed=5, n_risks=2)[0]
    net = copy.deepcopy(deephit_cr.net).eval()
    program = torch.export.export(net, (torch.as_tensor(x[:2]),),
                                  dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(program, str(tmp_path / "net.pt2"))
    (tmp_path / "spec.json").write_text(json.dumps({
        "model_type": "deephit", "time_bins": deephit_cr.duration_index.tolist(),
        "event_names": ["relapse", "death"]}))
    columns = [f"X{j + 1}" for j in range(4)]
    pd.DataFrame(x[:40], columns=columns).to_parquet(tmp_path / "train.parquet")
    pd.DataFrame(x[200:210], columns=columns).to_parquet(tmp_path / "rows.parquet")
    assert main(["export", "--spec", str(tmp_path / "spec.json"), "--program",
                 str(tmp_path / "net.pt2"), "--data", str(tmp_path / "train.parquet"),
                 "--out", str(tmp_path / "bundle"), "--targets", "cif"]) == 0
    capsys.readouterr()

    # the bundle's ONNX graph reproduces pycox's predict_cif
    cif = sv.predict_onnx(tmp_path / "bundle" / "cif.onnx", x[200:210])
    np.testing.assert_allclose(cif, deephit_cr.predict_cif(x[200:210]).transpose(2, 0, 1),
                               rtol=0, atol=TOL)
    assert main(["explain", str(tmp_path / "bundle"), str(tmp_path / "rows.parquet"), "--method",
                 "intgrad", "--n", "5", "--target", "cif", "--layout", "wide",
                 "--out", str(tmp_path / "ig.feather")]) == 0
    back = exchange.read(tmp_path / "ig.feather")
    exp = sv.explain(deephit_cr, pd.DataFrame(x[:40], columns=columns),
                     event_names=["relapse", "death"])
    expected = sv.surv_intgrad(exp, x[200:210], target="cif", n=5)
    np.testing.assert_allclose(back.values[0], expected.values[0], rtol=0, atol=TOL)
    np.testing.assert_allclose(back.pred_ref, expected.pred_ref, rtol=0, atol=TOL)
    assert back.event_names == ["relapse", "death"] and back.args["n"] == 5

    fails(capsys, ["explain", str(tmp_path / "bundle"), str(tmp_path / "rows.parquet"),
                   "--method", "intgrad", "--noise-level", "0.2",
                   "--out", str(tmp_path / "x.parquet")],
          "survinng-py explain: error: `--noise-level` of survinng-py explain must be left out "
          "for --method intgrad; got 0.2")
    pd.DataFrame(x[:3, :3], columns=columns[:3]).to_csv(tmp_path / "narrow.csv", index=False)
    fails(capsys, ["predict", str(tmp_path / "bundle"), str(tmp_path / "narrow.csv"), "--out",
                   str(tmp_path / "p.parquet")],
          "survinng-py predict: error: `DATA` of survinng-py predict must be a table with the "
          "model's feature columns ['X1', 'X2', 'X3', 'X4']; got \"missing ['X4']\"")
    assert not (tmp_path / "p.parquet").exists()


def test_pickled_net_needs_trust_and_input_shapes_replace_data(coxtime, data, tmp_path, capsys):
    coxtime.save_net(str(tmp_path / "net.pt"))
    hazards = coxtime.baseline_hazards_
    original = sv.explain(coxtime).model.time.tolist()  # pycox's own relabelling
    spec = {"model_type": "coxtime", "baseline_hazard": hazard_spec(hazards),
            "labtrans": {"time": original}}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    base = ["export", "--spec", str(tmp_path / "spec.json"), "--out", str(tmp_path / "bundle")]
    fails(capsys, base + ["--net", str(tmp_path / "net.pt")],
          f"survinng-py export: error: `--net` of survinng-py export must be used with "
          f"--trust-pickle (unpickling a module runs code from the file: use --weights + --arch or "
          f"--program for files you do not trust); got '{tmp_path / 'net.pt'}'")
    fails(capsys, base + ["--net", str(tmp_path / "net.pt"), "--trust-pickle"],
          "survinng-py export: error: `--spec` of survinng-py export must be holding input_shapes "
          "(per-row shapes) when --data is not given; got no input_shapes")
    (tmp_path / "spec.json").write_text(json.dumps({**spec, "input_shapes": [[4]]}))
    assert main(base + ["--net", str(tmp_path / "net.pt"), "--trust-pickle", "--targets",
                        "survival"]) == 0
    assert "data: none stored" in capsys.readouterr().out

    x = data[0][100:110]
    pd.DataFrame(x, columns=[f"X{j + 1}" for j in range(4)]).to_csv(tmp_path / "rows.csv",
                                                                    index=False)
    assert main(["predict", str(tmp_path / "bundle"), str(tmp_path / "rows.csv"), "--out",
                 str(tmp_path / "pred.parquet")]) == 0
    pred = pd.read_parquet(tmp_path / "pred.parquet").pivot(index="instance", columns="time",
                                                           values="survival")
    pycox = coxtime.predict_surv_df(x).T
    np.testing.assert_allclose(pred.to_numpy(), pycox.to_numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(pred.columns.to_numpy(), pycox.columns.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(sv.predict_onnx(tmp_path / "bundle" / "survival.onnx", x),
                               pycox.to_numpy()[:, None, :], rtol=0, atol=TOL)


def test_bad_bundles_and_files(coxph_bundle, tmp_path, capsys):
    bundle = coxph_bundle / "bundle"
    fails(capsys, ["info", str(tmp_path)],
          f"survinng-py info: error: `path` of survinng-py info must be a model bundle folder "
          f"holding bundle.json; got '{tmp_path}'")
    copy_dir = tmp_path / "copy"
    shutil.copytree(bundle, copy_dir)
    sidecar = json.loads((copy_dir / "bundle.json").read_text())
    (copy_dir / "bundle.json").write_text(json.dumps({**sidecar, "format_version": 99}))
    fails(capsys, ["info", str(copy_dir)],
          f"survinng-py info: error: `path` of survinng-py info must be a bundle of format version "
          f"2 (this survinng_py {sv.__version__}); got format version 99, written by survinng_py "
          f"{sv.__version__}")
    (tmp_path / "rows.txt").write_text("1,2,3,4\n")
    fails(capsys, ["predict", str(bundle), str(tmp_path / "rows.txt"), "--out",
                   str(tmp_path / "p.parquet")],
          "survinng-py predict: error: `DATA` of survinng-py predict must be a file ending in "
          ".csv, .parquet, .pq, .feather, .arrow, .arrows, .ipc; got '" + str(tmp_path / "rows.txt")
          + "'")
    spec, weights = str(coxph_bundle / "spec.json"), str(coxph_bundle / "weights.pt")
    fails(capsys, ["export", "--spec", spec, "--program", str(coxph_bundle / "train.csv"),
                   "--out", str(tmp_path / "b")],
          "survinng-py export: error: `--program` of survinng-py export must be a complete "
          "torch.export program file (.pt2); got train.csv (File is not a zip file)")
    with pytest.raises(SystemExit) as err:
        main(["export", "--spec", spec, "--weights", weights, "--arch", "test_cli:wrong_net",
              "--out", str(tmp_path / "b")])
    message = capsys.readouterr().err
    assert err.value.code == 1 and message.count("\n") == 1 and message.startswith(
        "survinng-py export: error: `--weights` of survinng-py export must be the state_dict of "
        "the --arch network; got Error(s) in loading state_dict for MLPVanilla:")
    fails(capsys, ["export", "--spec", spec, "--weights", weights, "--out", str(tmp_path / "b")],
          "survinng-py export: error: `--arch` of survinng-py export must be given together with "
          "--weights; got only one of them")
    (tmp_path / "spec.json").write_text(json.dumps({"model_type": "coxph", "hazards": []}))
    fails(capsys, ["export", "--spec", str(tmp_path / "spec.json"), "--weights", weights,
                   "--arch", "test_cli:coxph_net", "--out", str(tmp_path / "b")],
          "survinng-py export: error: `--spec` of survinng-py export must be a JSON object with "
          "keys among model_type, baseline_hazard, labtrans, time_bins, sub, interpolate, scheme, "
          "feature_names, input_names, event_names, dtype, input_shapes, arch_kwargs; got unknown "
          "key 'hazards'")
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("command", ["export", "info", "predict", "explain", "demo"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as err:
        main([command, "--help"])
    assert err.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: survinng-py {command} ")


def test_module_entry_point_exit_codes(tmp_path):
    run = subprocess.run([sys.executable, "-m", "survinng_py", "info", str(tmp_path)],
                         capture_output=True, text=True)
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.startswith("survinng-py info: error: `path` of survinng-py info must be")
    assert run.stderr.count("\n") == 1
