"""The command line as a user meets it, in subprocesses: every failure is one line and an
exit status, usage errors and --help do not load torch, a closed pipe ends it quietly, and
a normal export + explain prints no warnings."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import survinng_py as sv

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [
    str(ROOT), os.environ.get("PYTHONPATH")])), "PYTHONWARNINGS": "default"}
#: runs main(argv) and reports its exit status and whether torch was imported, on stderr's
#: last line (stdout stays the command's)
PROBE = textwrap.dedent("""
    import json, sys
    from survinng_py.cli import main
    try:
        code = main(sys.argv[1:])
    except SystemExit as exit:
        code = exit.code
    sys.stderr.write(json.dumps({"code": code, "torch": "torch" in sys.modules}) + "\\n")
""")
NAMES = ["a", "b", "c"]


def cli(*argv: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "survinng_py", *argv], capture_output=True,
                          text=True, env=ENV, **kwargs)


def probe(*argv: str) -> tuple[str, list[str], dict]:
    run = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True,
                         env=ENV)
    *lines, report = run.stderr.splitlines()
    return run.stdout, lines, json.loads(report)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """A bundle (save_model of a bare module) and rows to explain, as CSV."""
    tmp = tmp_path_factory.mktemp("cli_errors")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Tanh(), torch.nn.Linear(6, 1))
    x = np.random.default_rng(0).normal(size=(12, 3)).astype("float32")
    sv.save_model(net, tmp / "bundle", data=pd.DataFrame(x, columns=NAMES),
                  model_type="deepsurv", baseline_hazard=([1.0, 2.0, 3.0], [0.1, 0.2, 0.3]),
                  targets=["survival"], dynamo=False)
    pd.DataFrame(x[:4], columns=NAMES).to_csv(tmp / "rows.csv", index=False)
    return tmp


@pytest.mark.parametrize("argv, line", [
    ([], "survinng-py: error: the following arguments are required: COMMAND "
         "(see survinng-py --help)"),
    (["explain", "b", "d", "--out", "o.parquet"],
     "survinng-py explain: error: the following arguments are required: --method "
     "(see survinng-py explain --help)"),
    (["explain", "b", "d", "--out", "o.parquet", "--method", "grad", "--n", "x"],
     "survinng-py explain: error: argument --n: invalid int value: 'x' "
     "(see survinng-py explain --help)"),
    (["info"], "survinng-py info: error: the following arguments are required: BUNDLE "
               "(see survinng-py info --help)"),
])
def test_usage_error_is_one_line_exit_2_without_torch(argv, line):
    out, lines, report = probe(*argv)
    assert report == {"code": 2, "torch": False}
    assert lines == [line] and out == ""


@pytest.mark.parametrize("argv", [["--help"], ["explain", "--help"], ["export", "--help"]])
def test_help_does_not_load_torch(argv):
    out, lines, report = probe(*argv)
    assert report == {"code": 0, "torch": False} and lines == []
    assert out.startswith("usage: survinng-py") and "exit status: 0 done; 1 the command " \
        "failed" in " ".join(out.split())


def test_bad_bundle_is_one_line_exit_1(bundle, tmp_path):
    (tmp_path / "bundle.json").write_text('{"format": "survinng_py.bundle", ')
    run = cli("explain", str(tmp_path), str(bundle / "rows.csv"), "--method", "grad",
              "--out", str(tmp_path / "o.parquet"))
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and run.stderr.startswith(
        "survinng-py explain: error: `path` of survinng-py explain must be ")
    assert "Traceback" not in run.stderr


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_unwritable_output_is_our_line_not_an_errno(tmp_path):
    """No file can be made in /proc, not even by root."""
    torch.save(torch.nn.Linear(3, 1).state_dict(), tmp_path / "weights.pt")
    (tmp_path / "spec.json").write_text(json.dumps({
        "model_type": "deepsurv", "input_shapes": [[3]],
        "arch_kwargs": {"in_features": 3, "out_features": 1},
        "baseline_hazard": {"time": [1.0], "hazard": [0.1]}}))
    run = cli("export", "--out", "/proc/survinng_bundle", "--spec", str(tmp_path / "spec.json"),
              "--weights", str(tmp_path / "weights.pt"), "--arch", "torch.nn:Linear",
              "--legacy-exporter")
    assert run.returncode == 1 and run.stderr.count("\n") == 1 and "Errno" not in run.stderr
    assert run.stderr.startswith(
        "survinng-py export: error: `--out` of survinng-py export must be a folder path that "
        "can be written; got '/proc/survinng_bundle' ("), run.stderr


@pytest.mark.parametrize("unbuffered", [False, True])
@pytest.mark.parametrize("argv", [["--help"], ["explain", "--help"], ["info", "--json", "B"]])
def test_closed_pipe_ends_quietly(bundle, argv, unbuffered):
    """The reader is gone before the first write (as with `| head` on long output): exit
    status 141, nothing on stderr. (Unbuffered, argparse itself drops the help text it
    cannot write, and exits 0.)"""
    argv = [str(bundle / "bundle") if a == "B" else a for a in argv]
    env = {k: v for k, v in ENV.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen([sys.executable, "-m", "survinng_py", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait() == (0 if unbuffered and "--help" in argv else 141) and err == ""


def test_head_takes_the_first_line(bundle):
    run = subprocess.run(f"{sys.executable} -m survinng_py info --json "
                         f"'{bundle / 'bundle'}' | head -1", shell=True, capture_output=True,
                         text=True, env=ENV)
    assert run.stdout == "{\n" and run.stderr == ""


def test_normal_export_and_explain_print_no_warnings(bundle, tmp_path):
    """The default (dynamo) ONNX export and every method, with warnings switched on."""
    net = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Tanh(), torch.nn.Linear(6, 1))
    torch.save(net.state_dict(), tmp_path / "weights.pt")
    (tmp_path / "arch.py").write_text(
        "import torch\n\n\ndef net():\n    return torch.nn.Sequential(torch.nn.Linear(3, 6), "
        "torch.nn.Tanh(), torch.nn.Linear(6, 1))\n")
    (tmp_path / "spec.json").write_text(json.dumps({
        "model_type": "deepsurv", "feature_names": NAMES,
        "baseline_hazard": {"time": [1.0, 2.0, 3.0], "hazard": [0.1, 0.2, 0.3]}}))
    run = cli("export", "--spec", str(tmp_path / "spec.json"), "--weights",
              str(tmp_path / "weights.pt"), "--arch", "arch:net", "--data",
              str(bundle / "rows.csv"), "--out", str(tmp_path / "bundle"), cwd=tmp_path)
    assert run.returncode == 0 and run.stderr == "", run.stderr
    assert run.stdout.startswith(f"wrote bundle {tmp_path / 'bundle'}\n")
    run = cli("explain", str(tmp_path / "bundle"), str(bundle / "rows.csv"), "--method",
              "gradshap", "--seed", "1", "--num-samples", "3", "--out",
              str(tmp_path / "shap.parquet"))
    assert run.returncode == 0 and run.stderr == "", run.stderr
    assert run.stdout.startswith(f"wrote {tmp_path / 'shap.parquet'}: GradSHAP(t) of survival")


def failing_method(explainer, x=None, *, instance=None, target="survival",
                   interrupt: bool = False):
    if interrupt:
        raise KeyboardInterrupt
    raise RuntimeError("boom\nsecond line")


@pytest.fixture
def failing():
    from survinng_py.methods import register_method, unregister_method
    entry = register_method(failing_method, name="failing", id="Test_Failing", labels="F(t)",
                            options={"interrupt": "stop as Ctrl-C does"})
    yield entry
    unregister_method(entry.name)


def test_unexpected_errors_are_one_line_unless_traceback_is_asked(failing, bundle, tmp_path,
                                                                  capsys):
    from survinng_py.cli import main
    argv = ["explain", str(bundle / "bundle"), str(bundle / "rows.csv"), "--method", "failing",
            "--out", str(tmp_path / "o.parquet")]
    with pytest.raises(SystemExit) as err:
        main(argv)
    assert err.value.code == 1 and capsys.readouterr().err == (
        "survinng-py explain: error: unexpected RuntimeError: boom (`survinng-py --traceback "
        "<command> ...` shows where)\n")
    with pytest.raises(SystemExit) as err:
        main(argv + ["--interrupt"])
    assert err.value.code == 130
    assert capsys.readouterr().err == "survinng-py explain: error: interrupted\n"
    with pytest.raises(RuntimeError, match="^boom"):
        main(["--traceback", *argv])
    assert not (tmp_path / "o.parquet").exists()
