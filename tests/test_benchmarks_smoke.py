"""Smoke test of every benchmark script: ``--quick --no-write`` runs and reports.

Each ``benchmarks/bench_*.py`` runs in a subprocess (two at a time); the test checks the
exit status, that the headline lines are printed and that nothing was written. Nothing
about time is asserted: timings belong to the benchmarks, not to tests.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("bench_*.py"))

#: lines each script must print (the section title at least); scripts not listed here
#: must print some Markdown section title
HEADLINES = {
    "bench_engine.py": ["## Grad(t): vectorised engine vs per-time-point loop",
                        "Target: at T = 100 and 500 rows",
                        "loop / surv_grad =", "surv_grad / (forward+backward) ="],
    "bench_shap.py": ["## SurvSHAP(t): surv_shap vs the survshap package",
                      "survshap / surv_shap", "### GradSHAP(t) vs surv_shap"],
    "bench_gradshap.py": ["## GradSHAP(t), IntGrad(t), Grad(t) on the paper's Fig. 5 design"],
    "bench_survshap.py": ["## GradSHAP(t) vs the survshap package's SurvSHAP(t)",
                          "SurvSHAP(t) 100 instances", "### Local accuracy",
                          "### Global ranking agreement"],
    "bench_r_overhead.py": ["## R bridge overhead", "R / Python"],
    "bench_scaling.py": ["## Scaling and memory", "working memory",
                         "Target: memory flat within 10 %"],
}


def _r_bridge_missing() -> str | None:
    if shutil.which("Rscript") is None:
        return "Rscript not found"
    found = subprocess.run(["Rscript", "-e", "cat(requireNamespace('survinngpy', quietly=TRUE))"],
                           capture_output=True, text=True)
    return None if found.stdout.strip().endswith("TRUE") else "R package survinngpy missing"


#: scripts that need something beyond the Python environment: why they are skipped here
NEEDS = {"bench_r_overhead.py": _r_bridge_missing}


def _run(script: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BENCHMARKS / script), "--quick", "--no-write"],
                          capture_output=True, text=True, cwd=BENCHMARKS.parent, timeout=600)


@pytest.fixture(scope="module")
def runs() -> dict:
    """Every runnable script once, two at a time; skipped ones map to the reason."""
    skipped = {s: NEEDS[s]() for s in SCRIPTS if s in NEEDS}
    todo = [s for s in SCRIPTS if not skipped.get(s)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = dict(zip(todo, pool.map(_run, todo)))
    return {**{s: why for s, why in skipped.items() if why}, **done}


def test_every_script_is_covered():
    assert {"bench_engine.py", "bench_gradshap.py", "bench_survshap.py",
            "bench_scaling.py"} <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_quick_run(runs, script):
    run = runs[script]
    if isinstance(run, str):
        pytest.skip(run)
    output = run.stdout + run.stderr
    assert run.returncode == 0, f"{script} --quick --no-write failed:\n{output[-3000:]}"
    for line in HEADLINES.get(script, ["\n## "]):
        assert line in run.stdout, f"{script} did not print {line!r}"
    assert "wrote section" not in output  # --no-write is honoured
