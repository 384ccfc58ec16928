"""
Time-independent effects (paper, Section 5.1.1)
===============================================

DeepSurv, CoxTime and DeepHit fitted on the paper's proportional-hazards simulation
(``x1`` harms, ``x2`` protects, ``x3`` has no effect), explained with Grad(t), SG(t),
GxI(t), IntGrad(t) and GradSHAP(t). The check: ``x3`` gets almost no attribution.

This page runs ``vignettes/sim_time_independent.py --quick``.
"""

# %%
# Run the vignette's quick mode
# -----------------------------
import sys
import tempfile
from pathlib import Path

# the repository's vignettes folder (examples run in docs/gallery/)
sys.path.insert(0, str(Path("../../vignettes").resolve()))
import sim_time_independent

out = Path(tempfile.mkdtemp())
summary = sim_time_independent.main(["--quick", "--out", str(out)])

# %%
# What it measured
# ----------------
for name, perf in summary["performance"].items():
    print(name, {k: round(v, 3) for k, v in perf.items()})
for name, methods in summary["attribution"].items():
    print(name, {m: round(c["x3_ratio"], 3) for m, c in methods.items()})

# %%
# The figures it wrote
# --------------------
figures = summary["figures"]  # shown below, one after the other
