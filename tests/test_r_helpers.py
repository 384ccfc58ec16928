"""The Python half of the R bridge: raw transfer, and results as R objects / .rds files."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

import survinng_py as sv
from survinng_py import r as bridge


def test_raw_transfer_is_exact_and_column_major():
    a = np.arange(24, dtype=float).reshape(2, 3, 4) / 7
    a[0, 1, 2] = np.nan
    payload = bridge.to_raw(a)
    assert payload["dim"] == [2, 3, 4] and isinstance(payload["raw"], bytearray)
    assert np.frombuffer(bytes(payload["raw"]), "<f8")[1] == a[1, 0, 0]  # first axis fastest
    back = bridge.from_raw(payload["raw"], payload["dim"])
    assert back.tobytes() == a.tobytes()
    with pytest.raises(sv.SurvinngError, match="^`raw` of from_raw\\(\\) must be 24 doubles"):
        bridge.from_raw(payload["raw"][:-8], [2, 3, 4])


def test_result_for_r_drops_the_event_axis_like_survinng(coxph, deephit_cr, data):
    single = sv.surv_intgrad(sv.explain(coxph, data[0][:30]), instance=[1, 2], n=3)
    payload = bridge.result_for_r(single)
    assert payload["res"][0]["dim"] == [2, 4, len(single.time)]
    assert not payload["competing_risks"] and "pred_diff" in payload
    from conftest import simulate
    cr = sv.surv_grad(sv.explain(deephit_cr, simulate(seed=5, n_risks=2)[0][:20]), instance=[0],
                      target="cif")
    assert bridge.result_for_r(cr)["res"][0]["dim"] == [1, 4, 2, len(cr.time)]


rpy2 = pytest.importorskip("rpy2")


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
def test_save_rds_is_read_by_plain_r(coxtime, data, tmp_path):
    res = sv.surv_gradshap(sv.explain(coxtime, data[0][:30], dtype="float64"), instance=[3, 0],
                           n=2, num_samples=3, seed=0)
    path = tmp_path / "result.rds"
    bridge.save_rds(res, path)
    out = tmp_path / "values.bin"
    script = (f"x <- readRDS('{path}'); writeBin(as.vector(x$res[[1]]), '{out}', endian = 'little'); "
              "cat(class(x), '|', dimnames(x$res[[1]])[[2]], '|', x$method_args$instance, '|', "
              "x$method, '|', dim(x$pred_diff_q1))")
    printed = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=True)
    classes, features, instance, method, dims = [p.strip() for p in printed.stdout.split("|")]
    assert classes == "survinngpy_result surv_result list"
    assert features == "X1 X2 X3 X4" and instance == "4 1" and method == "Surv_GradSHAP"
    assert dims == f"2 {len(res.time)}"
    values = np.fromfile(out, "<f8")
    np.testing.assert_array_equal(values, res.values[0][..., 0, :].reshape(-1, order="F"))


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
def test_read_rds_gives_a_pandas_frame(tmp_path):
    path = tmp_path / "lung.rds"
    subprocess.run(["Rscript", "-e", f"saveRDS(data.frame(a = c(1.5, 2), b = c('x', 'y')), '{path}')"],
                   check=True)
    frame = bridge.read_rds(path)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["a", "b"] and frame["a"].tolist() == [1.5, 2.0]


def test_starting_r_leaves_subprocesses_their_own_libraries():
    """rpy2 points LD_LIBRARY_PATH at the system's libraries; a later Python subprocess
    must still load its own (and find its packages)."""
    import os
    import subprocess
    import sys

    from survinng_py.r import _rpy2
    before = os.environ.get("LD_LIBRARY_PATH")
    _rpy2()
    assert os.environ.get("LD_LIBRARY_PATH") == before
    run = subprocess.run([sys.executable, "-c", "import torch"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-300:]
