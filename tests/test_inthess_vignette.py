"""The interaction vignette in quick mode, and its true survival function."""
from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest
import torch

VIGNETTES = Path(__file__).resolve().parents[1] / "vignettes"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def vignette(monkeypatch):
    monkeypatch.syspath_prepend(str(VIGNETTES))
    pytest.importorskip("pycox")
    return importlib.import_module("sim_interactions")


def test_true_survival_is_the_simulated_hazard(vignette, monkeypatch):
    """Without censoring, the share of simulated times beyond t is the mean of the true
    S(t | x) over the rows (the function the vignette's truth differentiates)."""
    monkeypatch.setattr(vignette, "CENSOR_RATE", 1e-12)
    monkeypatch.setattr(vignette, "T_MAX", 1e12)
    x, duration, event = vignette.simulate(40000, seed=3)
    assert event.all()
    t = torch.tensor([1.0, vignette.T0, 5.0], dtype=torch.float64)
    surv = torch.func.vmap(lambda row: vignette.true_survival(row, t))(
        torch.as_tensor(x, dtype=torch.float64)).numpy()
    empirical = (duration[:, None] > t.numpy()).mean(axis=0)
    np.testing.assert_allclose(empirical, surv.mean(axis=0), atol=0.01)


@pytest.mark.slow
def test_vignette_quick(vignette, tmp_path):
    summary = vignette.main(["--quick", "--out", str(tmp_path)])
    assert all(Path(p).parent == tmp_path and Path(p).read_bytes()[:8] == PNG
               for p in summary["figures"])
    text = Path(summary["results"]).read_text()
    assert "<!-- sim_interactions:start -->" in text and "- **seed**: 42" in text
    assert summary["ranking"]["truth"][0] == "treat:age"
    assert summary["ranking"]["model"][0] == "treat:age"  # the fitted model finds the pair
    assert abs(summary["peak_time"]["truth"] - vignette.T0) < 0.3  # the truth peaks at t0
    assert summary["end_over_peak"]["model"] < 0.8  # and the model's interaction fades
    assert summary["completeness"]["rows_vs_intgrad"] < 0.1
