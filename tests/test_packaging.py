"""The package as users get it: one version, a wheel built from the sdist that holds every
file of the source package, metadata that twine accepts. (.ci/package installs that wheel
into a fresh environment and runs a smoke test outside the source tree.)"""
from __future__ import annotations

import ast
import email
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import survinng_py

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
#: the files a build reads besides the package itself
BUILD_FILES = ("pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md", "MANIFEST.in")


def package_files() -> set[str]:
    base = ROOT / "survinng_py"
    return {f"survinng_py/{p.relative_to(base).as_posix()}" for p in base.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


def test_version_is_written_once():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    attr = project["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "survinng_py.__version__"
    # a literal, so that the build reads it without importing torch
    tree = ast.parse((ROOT / "survinng_py" / "__init__.py").read_text())
    literals = [node.value.value for node in tree.body if isinstance(node, ast.Assign)
                and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["__version__"]
                and isinstance(node.value, ast.Constant)]
    assert literals == [survinng_py.__version__]
    # the R package carries the same release (0.1.0 for 0.1.0 and 0.1.0.dev0)
    description = (ROOT / "r-bridge" / "DESCRIPTION").read_text()
    r_version = next(line.split(":", 1)[1].strip() for line in description.splitlines()
                     if line.startswith("Version:"))
    assert r_version == survinng_py.__version__.partition(".dev")[0]


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    pytest.importorskip("build")
    src = tmp_path_factory.mktemp("src")
    for name in BUILD_FILES:
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "survinng_py", src / "survinng_py",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = src / "dist"
    # sdist, then the wheel from the unpacked sdist, with the installed setuptools
    done = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out),
                           str(src)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return out


def test_wheel_holds_every_package_file(dist):
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = email.message_from_bytes(archive.read(info))
        entry_points = archive.read(info.replace("METADATA", "entry_points.txt")).decode()
    assert package_files() <= names, sorted(package_files() - names)
    assert "survinng_py/py.typed" in names
    assert meta["Version"] == survinng_py.__version__
    assert meta["License-Expression"] == "MIT"
    assert "onnx" in meta.get_all("Provides-Extra") and "docs" in meta.get_all("Provides-Extra")
    assert "survinng-py = survinng_py.__main__:main" in entry_points
    (sdist,) = dist.glob("*.tar.gz")
    assert sdist.name == f"survinng_py-{survinng_py.__version__}.tar.gz"


def test_twine_accepts_the_distributions(dist):
    pytest.importorskip("twine")
    done = subprocess.run([sys.executable, "-m", "twine", "check", "--strict",
                           *map(str, sorted(dist.iterdir()))], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2
