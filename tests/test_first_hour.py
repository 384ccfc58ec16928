"""What a new user meets in the first hour: figures that pyplot saves and shows, the ONNX
extra named when it is missing, results that compare and select by label, result files
the command line describes, a command line that starts fast and finds the user's own
modules, and errors that speak of the data and the model rather than of torch."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: tests must not need a display
import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import survinng_py as sv
from survinng_py import SurvinngError, exchange
from survinng_py.cli import main
from survinng_py.datasets import simulate_time_independent

ROOT = Path(__file__).resolve().parent.parent
FEATURES = ["x1", "x2", "x3"]
ONNX_HINT = 'pip install "survinng-py[onnx]"'


def net3(out=5):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, out))


@pytest.fixture(scope="module")
def frame():
    return simulate_time_independent(n=40, seed=1)


@pytest.fixture(scope="module")
def exp(frame):
    return sv.explain(net3(), frame[FEATURES], model_type="deephit", time_bins=np.arange(5.0))


def run_python(code: str, cwd: Path | str = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


# -- figures that pyplot knows -----------------------------------------------------------------
@pytest.mark.parametrize("kind", ["attr", "pred", "contr", "force"])
def test_plt_savefig_after_plot_writes_the_figure(exp, kind):
    plt.close("all")
    res = sv.surv_gradshap(exp, instance=[0, 1], n=4, num_samples=4, seed=0)
    fig = res.plot(type=kind)
    assert plt.gcf() is fig and fig.number in plt.get_fignums()  # plt.show() shows it
    buffer = io.BytesIO()
    plt.savefig(buffer, format="png")  # the current figure, as a user would save it
    pixels = matplotlib.image.imread(io.BytesIO(buffer.getvalue()), format="png")
    # a blank figure is one colour; the plot has axes, lines and text
    width, height = (int(v) for v in fig.get_size_inches() * fig.dpi)
    assert pixels.shape[:2] == (height, width)
    assert pixels[..., :3].std() > 0.05
    plt.close("all")


def test_plots_into_given_axes_stay_in_that_figure(exp):
    plt.close("all")
    fig, axes = plt.subplots(1, 2)
    got = sv.surv_grad(exp, instance=[0, 1]).plot(ax=axes)
    assert got is fig and plt.get_fignums() == [fig.number]
    plt.close("all")


# -- the ONNX extra, named when missing -----------------------------------------------------------
@pytest.mark.parametrize("hidden", ["onnx", "onnxruntime", "onnx,onnxruntime"])
def test_onnx_functions_name_the_extra_when_it_is_missing(hidden, tmp_path):
    out = run_python(f"""
        import sys
        class Hide:  # these modules cannot be imported, as if not installed
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {hidden.split(",")!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        sys.meta_path.insert(0, Hide())
        import os, numpy as np, torch, survinng_py as sv
        net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 5))
        data = np.zeros((4, 3))
        head = dict(model_type="deephit", time_bins=np.arange(5.0))
        onnx_file = os.path.join({str(tmp_path)!r}, "model.onnx")
        open(onnx_file, "wb").close()
        calls = {{
            "export_onnx()": lambda: sv.export_onnx(net, onnx_file + "2", data=data, **head),
            "predict_onnx()": lambda: sv.predict_onnx(onnx_file, data),
            "explain()": lambda: sv.explain(onnx_file, data, model_type="onnx"),
            "save_model()": lambda: sv.save_model(net, os.path.join({str(tmp_path)!r}, "b"),
                                                  data=data, **head),
        }}
        for name, call in calls.items():
            try:
                call()
                print(name, "ran")
            except sv.SurvinngError as err:
                print(str(err).replace(chr(10), " NEWLINE "))
    """)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 4
    for name, line in zip(["export_onnx()", "predict_onnx()", "explain()", "save_model()"], lines):
        assert line.startswith(f"{name} needs ") and line.endswith(f"not installed: {ONNX_HINT}")
        for module in hidden.split(","):
            assert module in line.split(", not installed")[0]


# -- results: equality, labels, layouts ---------------------------------------------------------------
def test_results_compare_by_value(exp):
    a = sv.surv_grad(exp, instance=[0, 3])
    b = sv.surv_grad(exp, instance=[0, 3])
    assert a == b and a.equals(b) and not (a != b)
    changed = a.replace(values=[a.values[0] + np.float32(1e-6)])
    assert changed != a and not a.equals(changed)
    assert a != sv.surv_grad(exp, instance=[0, 3], times_input=True)
    assert a.__eq__("not a result") is NotImplemented


def test_sel_by_labels_matches_isel(exp):
    res = sv.surv_grad(exp, instance=[2, 5, 7])
    assert res.sel(feature=["x3", "x1"]) == res.isel(feature=[2, 0])
    assert res.sel(instance=[7, 2]) == res.isel(instance=[2, 0])
    # times pick the nearest grid point (grid 0..4)
    assert res.sel(time=[1.2, 3.6]) == res.isel(time=[1, 4])
    with pytest.raises(SurvinngError, match="`feature` of sel\\(\\) must be labels of this result"):
        res.sel(feature="age")


def test_to_pandas_layouts_are_to_arrow_layouts(exp):
    res = sv.surv_grad(exp, instance=[0, 1])
    for layout in ("long", "wide"):
        frame = res.to_pandas(layout=layout)
        assert list(frame.columns) == res.to_arrow(layout=layout).column_names
    assert len(res.to_pandas(layout="wide")) == 2 * 1 * 5  # instance x event x time
    assert {"x1", "x2", "x3"} <= set(res.to_pandas(layout="wide").columns)


# -- result files on the command line ------------------------------------------------------------
def test_info_describes_a_result_file(exp, tmp_path, capsys):
    res = sv.surv_grad(exp, instance=[0, 1])
    path = exchange.write(res, tmp_path / "grad.parquet")
    assert main(["info", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"result: Grad(t) of survival (model {res.model_class})"
    assert "instances: 2 (ids 0, 1)" in lines
    assert "time grid: 5 points, 0 to 4" in lines
    assert "inputs: input_1 (3,) [x1, x2, x3]" in lines
    assert main(["info", "--json", str(path)]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["feature_names"] == [FEATURES]


# The demo's files (one result per model and method, in the exchange schema) are read back
# with exchange.read by test_datasets_plot_demo.py::test_demo_smoke.


# -- the command line -------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [["--help"], ["explain", "--help"], ["export", "--help"],
                                  ["explain"], ["info"]])
def test_help_and_usage_errors_do_not_import_torch(argv):
    out = run_python(f"""
        import sys
        from survinng_py.cli import main
        try:
            main({argv!r})
        except SystemExit as err:
            print("status", err.code)
        print("torch" in sys.modules, "pyarrow" in sys.modules)
    """)
    status, loaded = out.stdout.splitlines()[-2:]
    assert status == ("status 0" if "--help" in argv else "status 2")
    assert loaded == "False False", loaded


def test_usage_errors_are_one_line(capsys):
    for argv, status in ((["explain"], 2), (["explain", "b", "d", "--out", "x.parquet",
                                           "--method", "grad", "--format", "xlsx"], 2)):
        with pytest.raises(SystemExit) as err:
            main(argv)
        assert err.value.code == status
        message = capsys.readouterr().err
        assert message.count("\n") == 1 and message.startswith("survinng-py explain: error: ")
        assert message.endswith("(see survinng-py explain --help)\n")


@pytest.fixture(scope="module")
def bundle(exp, tmp_path_factory):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    tmp = tmp_path_factory.mktemp("bundle")
    return sv.save_model(exp, tmp / "bundle", dynamo=False)


def test_explain_out_suffix_names_the_formats(capsys, tmp_path):
    with pytest.raises(SystemExit) as err:  # checked before the bundle is read
        main(["explain", "no_bundle", "rows.csv", "--out", str(tmp_path / "x.txt"),
              "--method", "grad"])
    assert err.value.code == 1
    assert capsys.readouterr().err == (
        "survinng-py explain: error: `--out` of survinng-py explain must be a file ending in "
        ".parquet, .pq, .feather, .arrow, .arrows, .ipc (or give --format; a name without "
        f"suffix is a folder); got '{tmp_path / 'x.txt'}'\n")


def test_explain_format_option_writes_that_format(bundle, frame, tmp_path, exp):
    frame[FEATURES].iloc[:3].to_csv(tmp_path / "rows.csv", index=False)
    out = tmp_path / "attributions.txt"
    assert main(["explain", str(bundle), str(tmp_path / "rows.csv"), "--out", str(out),
                 "--method", "grad", "--format", "feather"]) == 0
    assert out.read_bytes()[:6] == b"ARROW1"  # Feather (Arrow IPC file), whatever the name
    got = exchange.read(out)
    assert np.allclose(got.values[0], sv.surv_grad(exp, instance=[0, 1, 2]).values[0], atol=1e-6)


def test_arch_module_found_in_working_directory_without_python_m(tmp_path):
    """The console script's sys.path lacks the working directory; --arch finds it anyway."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    (tmp_path / "my_arch.py").write_text(textwrap.dedent("""
        import torch
        def build():
            return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(),
                                       torch.nn.Linear(4, 5))
    """))
    torch.manual_seed(0)
    state = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(),
                                torch.nn.Linear(4, 5)).state_dict()
    torch.save(state, tmp_path / "weights.pt")
    (tmp_path / "spec.json").write_text(json.dumps(
        {"model_type": "deephit", "time_bins": [0, 1, 2, 3, 4], "input_shapes": [[3]]}))
    out = run_python("""
        import sys
        sys.path.remove("")  # as in the console script: no working directory on the path
        from survinng_py.cli import main
        main(["export", "--spec", "spec.json", "--weights", "weights.pt", "--arch",
              "my_arch:build", "--out", "bundle", "--legacy-exporter"])
    """, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("wrote bundle bundle")
    assert (tmp_path / "bundle" / "bundle.json").is_file()


# -- errors about the data and the model --------------------------------------------------------
def test_extra_columns_are_named(frame):
    net = net3(1)
    head = {"model_type": "deepsurv", "baseline_hazard": ([1.0, 2.0], [0.1, 0.2])}
    with pytest.raises(SurvinngError) as err:
        sv.explain(net, frame, **head)  # still holds time and status
    assert str(err.value) == (
        "`data` of explain() must be a table of the network's 3 feature column(s) (drop the "
        "other columns, or give feature_names to choose the columns by name); got 5 "
        "columns: time, status, x1, x2, x3")
    # with the feature names, the columns are chosen by name
    by_name = sv.explain(net, frame, feature_names=FEATURES, **head)
    plain = sv.explain(net, frame[FEATURES], **head)
    assert sv.surv_grad(by_name, instance=[0, 1]) == sv.surv_grad(plain, instance=[0, 1])


def test_never_fitted_cox_model_says_fit_first(frame):
    from conftest import CoxPH, tt

    model = CoxPH(tt.practical.MLPVanilla(3, [4], 1), tt.optim.Adam(0.01))
    with pytest.raises(SurvinngError) as err:
        sv.explain(model, frame[FEATURES].to_numpy("float32"))
    assert str(err.value) == (
        "`model` of explain() must be a CoxPH with baseline hazards: fit the model first "
        "(model.fit), then call model.compute_baseline_hazards(); got 'CoxPH'")
