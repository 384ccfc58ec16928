"""
Real data: GBSG2 breast cancer
==============================

DeepSurv and DeepHit on scikit-survival's bundled GBSG2 data, explained with
GradSHAP(t); their global feature ranking set against permutation importances.

This page runs ``vignettes/real_data_gbsg2.py --quick``.
"""

# %%
# Run the vignette's quick mode
# -----------------------------
import sys
import tempfile
from pathlib import Path

import pandas as pd

# the repository's vignettes folder (examples run in docs/gallery/)
sys.path.insert(0, str(Path("../../vignettes").resolve()))
import real_data_gbsg2

out = Path(tempfile.mkdtemp())
summary = real_data_gbsg2.main(["--quick", "--out", str(out)])

# %%
# What it measured
# ----------------
for name, perf in summary["performance"].items():
    print(name, {k: round(v, 3) for k, v in perf.items()})
for name, imp in summary["importance"].items():
    print(f"{name}: global importance by method (Spearman with GradSHAP(t): "
          f"{ {k: round(v, 2) for k, v in summary['spearman'][name].items()} })")
    print(pd.DataFrame(imp, index=real_data_gbsg2.FEATURES).round(4), end="\n\n")

# %%
# The figures it wrote
# --------------------
figures = summary["figures"]  # shown below, one after the other
