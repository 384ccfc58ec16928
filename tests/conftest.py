"""Tiny fitted pycox models and bare modules shared by the tests (trained once per session).

pycox is needed only by the fixtures and helpers that build pycox models: they skip their
test when it is missing, and ``from conftest import CoxPH`` (or ``tt``, ``pycox``, ...)
skips the importing test module, so that tests of bare modules run without pycox.

Test tiers: ``python -m pytest -m "not slow"`` leaves out the tests marked ``slow``
(vignette quick-runs, benchmark smoke runs); CI runs everything.
"""
from __future__ import annotations

import copy
import importlib

import numpy as np
import pytest
import torch

N_FEATURES = 4
#: names importable from this module that come from pycox/torchtuples (loaded on first use)
_PYCOX_NAMES = {"pycox": ("pycox", None), "tt": ("torchtuples", None),
                "CoxPH": ("pycox.models", "CoxPH"), "CoxTime": ("pycox.models", "CoxTime"),
                "DeepHit": ("pycox.models", "DeepHit"),
                "DeepHitSingle": ("pycox.models", "DeepHitSingle"),
                "MLPVanillaCoxTime": ("pycox.models.cox_time", "MLPVanillaCoxTime")}


def _pycox(module_name):
    """A pycox or torchtuples module, or a skip of the calling test where they are missing."""
    pytest.importorskip("pycox")
    pytest.importorskip("torchtuples")
    return importlib.import_module(module_name)


def __getattr__(name):
    """``from conftest import CoxPH`` (``tt``, ``pycox``, ...): the pycox object, or a skip
    of the importing test module where pycox is not installed."""
    if name not in _PYCOX_NAMES:
        raise AttributeError(f"module 'conftest' has no attribute {name!r}")
    module_name, attr = _PYCOX_NAMES[name]
    module = _pycox(module_name)
    return module if attr is None else getattr(module, attr)


def simulate(n=300, seed=0, n_risks=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, N_FEATURES)).astype("float32")
    rate = np.exp(0.8 * x[:, 0] - 0.5 * x[:, 1])
    times = rng.exponential(1 / rate, size=(n_risks, n))
    event_time, cause = times.min(0), times.argmin(0) + 1
    censor = rng.exponential(2.0, size=n)
    duration = np.minimum(event_time, censor).astype("float32")
    event = np.where(event_time <= censor, cause, 0)
    return x, duration, event


def mlp(out_features, output_bias=True):
    # tanh, not ReLU: finite differences are only reliable away from kinks
    tt = _pycox("torchtuples")
    return tt.practical.MLPVanilla(N_FEATURES, [16, 16], out_features, batch_norm=True,
                                   dropout=0.1, output_bias=output_bias,
                                   activation=torch.nn.Tanh)


def fit(model, x, target, epochs=3):
    model.optimizer.set_lr(0.01)
    model.fit(x, target, batch_size=64, epochs=epochs, verbose=False)
    return model


class CauseSpecificNet(torch.nn.Module):
    """Competing-risks DeepHit net with output (B, R, T), as in pycox's example."""

    def __init__(self, n_risks, n_times):
        super().__init__()
        self.body = mlp(n_risks * n_times)
        self.shape = (n_risks, n_times)

    def forward(self, x):
        return self.body(x).view(x.shape[0], *self.shape)


class TwoInputNet(torch.nn.Module):
    """An image-like input (1 x 3 x 3) plus a table, fused before a small head."""

    def __init__(self, out_features):
        super().__init__()
        self.conv = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 2), torch.nn.Tanh(), torch.nn.Flatten())
        self.tab = torch.nn.Sequential(torch.nn.Linear(N_FEATURES, 6), torch.nn.Tanh())
        self.out = torch.nn.Linear(8 + 6, out_features)

    def forward(self, image, table):
        return self.out(torch.cat([self.conv(image), self.tab(table)], dim=1))


@pytest.fixture(scope="session")
def data():
    return simulate()


@pytest.fixture(scope="session")
def coxph(data):
    models, tt = _pycox("pycox.models"), _pycox("torchtuples")
    torch.manual_seed(1)
    x, d, e = data
    model = fit(models.CoxPH(mlp(1, output_bias=False), tt.optim.Adam), x, (d, e.astype("float32")))
    model.compute_baseline_hazards()
    return model


@pytest.fixture(scope="session")
def coxtime(data):
    models, tt = _pycox("pycox.models"), _pycox("torchtuples")
    torch.manual_seed(2)
    np.random.seed(2)  # pycox draws CoxTime's case-control pairs from numpy's global RNG
    x, d, e = data
    labtrans = models.CoxTime.label_transform()
    target = labtrans.fit_transform(d, e.astype("float32"))
    net = _pycox("pycox.models.cox_time").MLPVanillaCoxTime(
        N_FEATURES, [16, 16], batch_norm=True, dropout=0.1, activation=torch.nn.Tanh)
    model = fit(models.CoxTime(net, tt.optim.Adam, labtrans=labtrans), x, target)
    model.compute_baseline_hazards()
    return model


@pytest.fixture(scope="session")
def deephit_single(data):
    models, tt = _pycox("pycox.models"), _pycox("torchtuples")
    torch.manual_seed(3)
    x, d, e = data
    labtrans = models.DeepHitSingle.label_transform(12)
    target = labtrans.fit_transform(d, e.astype("float32"))
    model = models.DeepHitSingle(mlp(labtrans.out_features), tt.optim.Adam, alpha=0.2, sigma=0.1,
                          duration_index=labtrans.cuts)
    return fit(model, x, target)


@pytest.fixture(scope="session")
def deephit_cr():
    models, tt = _pycox("pycox.models"), _pycox("torchtuples")
    torch.manual_seed(4)
    x, d, e = simulate(seed=5, n_risks=2)
    cuts = np.linspace(0, d.max(), 10)
    idx = np.searchsorted(cuts, d).clip(max=len(cuts) - 1)
    net = CauseSpecificNet(2, len(cuts))
    model = models.DeepHit(net, tt.optim.Adam, alpha=0.2, sigma=0.1, duration_index=cuts)
    return fit(model, x, (idx.astype("int64"), e.astype("int64")))


@pytest.fixture(scope="session")
def two_input():
    """A bare two-input module with a DeepHit head and its data."""
    torch.manual_seed(5)
    rng = np.random.default_rng(6)
    image = rng.normal(size=(40, 1, 3, 3)).astype("float32")
    table = rng.normal(size=(40, N_FEATURES)).astype("float32")
    return TwoInputNet(3 * 7).eval(), [image, table], np.linspace(0, 3, 7)


def pycox_float64(model):
    """A float64 copy of a pycox model, for finite differences of its own prediction."""
    model64 = copy.copy(model)  # shares fitted state; the net is replaced below
    model64.net = copy.deepcopy(model.net).double()
    if hasattr(model64, "baseline_hazards_"):
        model64.baseline_hazards_ = model64.baseline_hazards_.astype("float64")
        model64.baseline_cumulative_hazards_ = model64.baseline_cumulative_hazards_.astype("float64")
    return model64


# -- the other pycox families (tests/test_families.py) -----------------------------------

def _fit_discrete(cls, seed, data, **kwargs):
    """A pycox discrete-time model of class ``cls`` fitted on ``data`` (10 equidistant cuts)."""
    tt = _pycox("torchtuples")
    torch.manual_seed(seed)
    x, d, e = data
    labtrans = cls.label_transform(10)
    target = labtrans.fit_transform(d, e.astype("float32"))
    model = cls(mlp(labtrans.out_features), tt.optim.Adam, duration_index=labtrans.cuts, **kwargs)
    return fit(model, x, target, epochs=2)


@pytest.fixture(scope="session")
def logistic_hazard(data):
    return _fit_discrete(_pycox("pycox.models").LogisticHazard, 11, data)


@pytest.fixture(scope="session")
def pmf(data):
    return _fit_discrete(_pycox("pycox.models").PMF, 12, data)


@pytest.fixture(scope="session")
def mtlr(data):
    return _fit_discrete(_pycox("pycox.models").MTLR, 13, data)


@pytest.fixture(scope="session")
def bcesurv(data):
    return _fit_discrete(_pycox("pycox.models").BCESurv, 14, data)


@pytest.fixture(scope="session")
def pchazard(data):
    return _fit_discrete(_pycox("pycox.models").PCHazard, 15, data)


@pytest.fixture(scope="session")
def pchazard_sub3(pchazard):
    """The fitted PCHazard predicting on 3 grid points per interval (pycox's ``sub``)."""
    model = copy.copy(pchazard)  # shares the net; only `sub` differs
    model.sub = 3
    return model


@pytest.fixture(scope="session")
def coxcc(data):
    models, tt = _pycox("pycox.models"), _pycox("torchtuples")
    torch.manual_seed(16)
    x, d, e = data
    # pycox draws CoxCC's control samples with numpy's global RNG: seed it for this fit
    # only, so that the fit is reproducible and later tests see the state they would see
    state = np.random.get_state()
    np.random.seed(16)
    try:
        model = fit(models.CoxCC(mlp(1, output_bias=False), tt.optim.Adam), x,
                    (d, e.astype("float32")), epochs=2)
    finally:
        np.random.set_state(state)
    model.compute_baseline_hazards()
    return model


def pytest_sessionfinish(session, exitstatus):
    """With SURVINNG_FUZZ_TALLY=<file>, write the fuzz tests' outcome counts there."""
    import json
    import os

    from fuzz_tally import OUTCOMES
    path = os.environ.get("SURVINNG_FUZZ_TALLY")
    if path and OUTCOMES:
        rows = [{"target": t, "outcome": o, "count": n} for (t, o), n in sorted(OUTCOMES.items())]
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(rows, handle, indent=1)
