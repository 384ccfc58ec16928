"""DeepSurv (pycox ``CoxPH``/``CoxCC``): proportional hazards with a Breslow baseline."""
from __future__ import annotations

import numpy as np
import torch

from .base import SurvivalModel, as_buffer, check_time_grid
from .._validation import fail


class DeepSurv(SurvivalModel):
    """``g(x)`` = log relative risk; hazard_j = h0_j exp(g), cum_hazard_j = H0_j exp(g),
    survival_j = exp(-cum_hazard_j) on the baseline-hazard time grid."""

    targets = ("survival", "cum_hazard", "hazard")
    model_class = "DeepSurv"

    def __init__(self, net, time, baseline_hazard, *, dtype, device, **kwargs):
        time = check_time_grid(time, "baseline_hazard", "explain()")
        h0 = check_hazard(baseline_hazard, len(time))
        super().__init__(net, time, dtype=dtype, device=device, **kwargs)
        self.h0 = as_buffer(h0, dtype, device)
        self.cum_h0 = as_buffer(np.cumsum(h0), dtype, device)

    def head(self, phi: torch.Tensor, target: str) -> torch.Tensor:
        risk = torch.exp(phi)  # (B, 1)
        if target == "hazard":
            return (risk * self.h0).unsqueeze(1)
        cum_hazard = risk * self.cum_h0
        out = cum_hazard if target == "cum_hazard" else torch.exp(-cum_hazard)
        return out.unsqueeze(1)


def check_hazard(hazard, n_times: int) -> np.ndarray:
    h0 = np.asarray(hazard, dtype=np.float64).reshape(-1)
    if h0.size != n_times or not np.all(np.isfinite(h0)) or np.any(h0 < 0):
        fail("baseline_hazard", "explain()",
             f"{n_times} finite non-negative hazard jumps (one per time point)", hazard)
    return h0
