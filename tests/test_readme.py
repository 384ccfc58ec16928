"""The README and the getting-started page as a newcomer reads them: their Python blocks
run as written, their links resolve."""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
GETTING_STARTED = ROOT / "docs" / "getting_started_python.md"


def _blocks(language, text=README):
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.S | re.M)


def _run(code, folder):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
           "MPLBACKEND": "Agg"}
    # a fresh interpreter in an empty folder, as a user pasting the code would run it
    done = subprocess.run([sys.executable, "-c", code], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    for name in re.findall(r"""["']([\w.-]+\.(?:parquet|png))["']""", code):
        assert (folder / name).stat().st_size > 0, name  # files the code says it writes
        if name.endswith(".png"):  # a drawn figure, not a blank canvas
            assert np.ptp(plt.imread(folder / name)) > 0, name


def test_readme_has_python_blocks_to_run():
    assert _blocks("python"), "the README lost its Python quick start"


@pytest.mark.parametrize("index", range(len(_blocks("python"))))
def test_readme_python_block_runs_as_written(index, tmp_path):
    pytest.importorskip("pycox")
    pytest.importorskip("matplotlib")
    _run(_blocks("python")[index], tmp_path)


def test_getting_started_page_runs_as_one_script(tmp_path):
    pytest.importorskip("pycox")
    pytest.importorskip("matplotlib")
    blocks = _blocks("python", GETTING_STARTED.read_text(encoding="utf-8"))
    assert len(blocks) >= 5
    _run("\n".join(blocks), tmp_path)


def test_readme_links_and_images_point_at_files():
    targets = re.findall(r"\]\((?!https?://)([^)#\s]+)", README)
    assert targets
    missing = [t for t in targets if not (ROOT / t).exists()]
    assert not missing


def test_readme_commands_name_what_exists():
    (setup,) = [b for b in _blocks("bash") if "survinng_py demo" in b]
    assert 'python3 -m pip install -q -e ".[demo]"' in setup
    assert "bash .ci/run" in setup and (ROOT / ".ci" / "run").is_file()
    assert re.search(r"^demo = \[", (ROOT / "pyproject.toml").read_text(), re.M)
    done = subprocess.run([sys.executable, "-m", "survinng_py", "demo", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "--out" in done.stdout, done.stderr


def test_readme_is_short_and_speaks_to_users():
    assert len(README.splitlines()) <= 150
    for internal in (r"\bissue\s*#?\d+", r"shared machine", r"\bhelper\b", r"\bH\d{3}\b"):
        assert not re.search(internal, README, flags=re.I), internal
