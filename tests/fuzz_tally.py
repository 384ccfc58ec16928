"""How many fuzzed inputs ended in each outcome, for the reliability figures.

The mutation fuzz tests call :func:`record` for every input they try; with
``SURVINNG_FUZZ_TALLY=<file>`` the session writes the counts there as JSON
(``tests/conftest.py``), from which ``docs/reliability.md`` quotes its figures.
"""
from __future__ import annotations

import collections

OUTCOMES: collections.Counter = collections.Counter()


def record(target: str, outcome: str) -> None:
    """Count one fuzzed ``target`` (e.g. "result files") ending in ``outcome``."""
    OUTCOMES[(target, outcome)] += 1
