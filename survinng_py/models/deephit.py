"""DeepHit (pycox ``DeepHitSingle``/``PMF`` and competing-risks ``DeepHit``)."""
from __future__ import annotations

import torch

from .base import SurvivalModel, check_time_grid
from .._validation import fail


class DeepHit(SurvivalModel):
    """Logits ``(B, R*T)`` (risk-major) plus one zero logit, softmax, drop the padding:
    pmf ``(B, R, T)``; cif = cumulative sum over time; survival = 1 - sum_r cif."""

    targets = ("survival", "cif", "pmf")
    per_event_targets = ("cif", "pmf")
    model_class = "DeepHit"

    def __init__(self, net, time_bins, *, dtype, device, **kwargs):
        time = check_time_grid(time_bins, "time_bins", "explain()")
        super().__init__(net, time, dtype=dtype, device=device, **kwargs)

    def num_risks(self, inputs: list[torch.Tensor]) -> int:
        with torch.no_grad():
            width = self.net_forward([x[:1] for x in inputs]).shape[1]
        n_times = len(self.time)
        if width % n_times:
            fail("time_bins", "explain()",
                 f"as long as the network's output per risk (output width {width})",
                 f"{n_times} time bins", as_text=True)
        return width // n_times

    def head(self, phi: torch.Tensor, target: str) -> torch.Tensor:
        n_times = len(self.time)
        padded = torch.nn.functional.pad(phi, (0, 1))
        pmf = torch.softmax(padded, dim=-1)[:, :-1].reshape(phi.shape[0], -1, n_times)
        if target == "pmf":
            return pmf
        cif = pmf.cumsum(-1)
        if target == "cif":
            return cif
        return 1.0 - cif.sum(1, keepdim=True)
