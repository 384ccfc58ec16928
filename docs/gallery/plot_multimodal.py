"""
Multimodal: digit images, covariates and a vitals sequence
==========================================================

A CNN + MLP + GRU fusion network with a DeepHit and a Cox head, explained with
GradSHAP(t), IntGrad(t) and exact modality Shapley values; the explanations are
checked against the simulated truth.

This page runs ``vignettes/multimodal.py --quick``.
"""

# %%
# Run the vignette's quick mode
# -----------------------------
import sys
import tempfile
from pathlib import Path

# the repository's vignettes folder (examples run in docs/gallery/)
sys.path.insert(0, str(Path("../../vignettes").resolve()))
import multimodal

out = Path(tempfile.mkdtemp())
summary = multimodal.main(["--quick", "--out", str(out)])

# %%
# What it measured
# ----------------
for check, passed in summary["checks"].items():
    print(f"{check}: {passed}")

# %%
# The figures it wrote
# --------------------
figures = summary["figures"]  # shown below, one after the other
