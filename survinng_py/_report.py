"""Run metadata and Markdown results files, shared by the benchmark and vignette scripts."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parent.parent


def version(dist: str) -> str:
    """The installed version of distribution ``dist``, or ``"not installed"``."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def git_revision(root: Path = REPOSITORY) -> str:
    """Short commit of ``root``, flagged when tracked files other than the scripts' own
    outputs (RESULTS.md files, figures) have uncommitted changes: one script's output
    written earlier must not flag the next script's run."""
    try:
        run: dict[str, Any] = {"cwd": root, "text": True, "capture_output": True, "check": True}
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], **run).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":(exclude)*RESULTS.md",
                ":(exclude)*/figures/*",
            ],
            **run,
        ).stdout.strip()
        return rev + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table.

    >>> print(table(["a", "b"], [[1, 2]]))
    | a | b |
    |---|---|
    | 1 | 2 |
    """
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def write_section(path: Path, name: str, body: str, header: str) -> Path:
    """Put ``body`` between the markers of section ``name`` in ``path``, others kept.

    A missing file starts with ``header``; a section seen for the first time is appended.
    """
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else header
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), flags=re.S)
    text = (
        pattern.sub(lambda _m: block, text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + block + "\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    return path
