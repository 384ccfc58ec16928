"""Runs the bad-input catalogue (``tests/cases_*.py``); see ``tests/catalogue.py``."""
from __future__ import annotations

import importlib
import io
import os
import re
from contextlib import redirect_stderr
from pathlib import Path

import pytest
from catalogue import Case

import survinng_py as sv

HERE = Path(__file__).parent
DOC = HERE.parent / "docs" / "bad_inputs.md"


def _cases() -> list[Case]:
    cases = []
    for module in sorted(HERE.glob("cases_*.py")):
        cases += importlib.import_module(module.stem).CASES
    return cases


CASES = _cases()
SEEN: dict[str, str] = {}


def test_case_names_are_unique():
    names = [f"{c.area}/{c.name}" for c in CASES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.area}/{c.name}")
def test_bad_input_gives_one_clear_line(case: Case, tmp_path):
    if case.area == "cli":
        from survinng_py.cli import main
        argv = case.call(tmp_path)
        err = io.StringIO()
        with redirect_stderr(err), pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code not in (0, None)
        lines = [line for line in err.getvalue().splitlines() if line.strip()]
        message = lines[-1]
        assert message.startswith("survinng-py"), err.getvalue()
        assert len(lines) == 1 or lines[0].startswith("usage:"), err.getvalue()
    else:
        with pytest.raises(sv.SurvinngError) as info:
            case.call(tmp_path)
        assert type(info.value) is sv.SurvinngError
        message = str(info.value)
        assert "\n" not in message
    assert case.message in message
    # the test's own temporary folder, shown as <tmp> in the document
    SEEN[f"{case.area}/{case.name}"] = re.sub(r"(/tmp/|\.\.\.)\S*?(pytest-\d+/|survinng-cases-|test_bad_input)[^/'\s]*", "<tmp>",
                                              message.replace(str(tmp_path), "<tmp>"))


def test_catalogue_document():
    """With SURVINNG_WRITE_CATALOGUE=1, write docs/bad_inputs.md from the messages seen."""
    if os.environ.get("SURVINNG_WRITE_CATALOGUE") != "1":
        pytest.skip("set SURVINNG_WRITE_CATALOGUE=1 to rewrite docs/bad_inputs.md")
    if len(SEEN) != len(CASES):
        pytest.skip("run the whole catalogue to write it")
    areas = {"api": "Python API", "files": "Files (result tables, model bundles)",
             "cli": "Command line"}
    lines = ["# Bad input catalogue", "",
             "Every case below is run by the test suite (`tests/test_catalogue.py`): each "
             "must fail with the one-line error shown, and nothing else.", "",
             f"{len(CASES)} cases.", ""]
    for area, title in areas.items():
        cases = [c for c in CASES if c.area == area]
        if not cases:
            continue
        lines += [f"## {title} ({len(cases)})", "", "| case | error |", "|---|---|"]
        for c in cases:
            text = SEEN[f"{c.area}/{c.name}"].replace("|", "\\|")
            lines.append(f"| {c.description or c.name} | `` {text} `` |")
        lines.append("")
    DOC.write_text("\n".join(lines), encoding="utf-8")
