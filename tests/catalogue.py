"""The bad-input catalogue: every case is a call that must fail with one clear line.

Cases live in ``tests/cases_<area>.py`` modules, each exporting ``CASES`` (a list of
:class:`Case`). ``tests/test_catalogue.py`` runs them all and, with
``SURVINNG_WRITE_CATALOGUE=1``, writes ``docs/bad_inputs.md`` from the messages it saw.

* ``area`` ``"api"`` and ``"files"``: ``call(tmp)`` must raise
  :class:`survinng_py.SurvinngError` with a one-line message containing ``message``;
  any other exception, a multi-line message or no exception fails the case.
* ``area`` ``"cli"``: ``call(tmp)`` returns the argument list of ``survinng-py``; the
  command must exit non-zero with one stderr line ``survinng-py <cmd>: error: ...``
  (or argparse's usage error, as the CLI documents) containing ``message``.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch


@dataclass(frozen=True)
class Case:
    area: str
    name: str
    call: Callable[[Path], Any]
    message: str
    description: str = ""


def net(n_in: int = 4, n_out: int = 1, seed: int = 0) -> torch.nn.Module:
    """A small tanh MLP (deterministic weights)."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(n_in, 8), torch.nn.Tanh(),
                               torch.nn.Linear(8, n_out))


def data(n: int = 12, p: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, p)).astype("float32")


@functools.lru_cache(maxsize=None)
def explainer(family: str = "deepsurv"):
    """A small explainer per family on :func:`data` (built once)."""
    import survinng_py as sv
    if family == "deepsurv":
        return sv.explain(net(), data(), model_type="deepsurv",
                          baseline_hazard=([1.0, 2.0, 3.0], [0.1, 0.2, 0.3]))
    if family == "deephit":
        return sv.explain(net(n_out=5), data(), model_type="deephit",
                          time_bins=np.linspace(0.0, 4.0, 5))
    raise ValueError(family)
