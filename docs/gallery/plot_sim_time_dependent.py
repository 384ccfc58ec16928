"""
Time-dependent effects (paper, Section 5.1.2)
=============================================

``x1`` protects early and harms late. CoxTime and DeepHit recover where its Grad(t) of
the survival changes sign; DeepSurv, a proportional-hazards model, cannot.

This page runs ``vignettes/sim_time_dependent.py --quick``.
"""

# %%
# Run the vignette's quick mode
# -----------------------------
import sys
import tempfile
from pathlib import Path

# the repository's vignettes folder (examples run in docs/gallery/)
sys.path.insert(0, str(Path("../../vignettes").resolve()))
import sim_time_dependent

out = Path(tempfile.mkdtemp())
summary = sim_time_dependent.main(["--quick", "--out", str(out)])

# %%
# What it measured
# ----------------
for name, perf in summary["performance"].items():
    print(name, {k: round(v, 3) for k, v in perf.items()})
for name, flip in summary["flip"].items():
    print(name, {k: round(v, 3) if isinstance(v, float) else v for k, v in flip.items()})

# %%
# The figures it wrote
# --------------------
figures = summary["figures"]  # shown below, one after the other
