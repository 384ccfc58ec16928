"""CoxTime (pycox ``CoxTime``): the network sees time as its last input column."""
from __future__ import annotations

import numpy as np
import torch

from .base import SurvivalModel, as_buffer, check_time_grid
from .cox import check_hazard


class CoxTime(SurvivalModel):
    """hazard_j = h0_j exp(g(x, tau_j)), cum_hazard = cumulative sum, survival = exp(-cum).

    ``tau`` is the baseline grid on the network's time scale (fed to the net as stored);
    ``time`` the same grid on the original scale (reported axis). Only the times with a
    non-zero baseline jump are evaluated: elsewhere the hazard is 0 (as pycox forces) and
    the cumulative hazard is flat.
    """

    targets = ("survival", "cum_hazard", "hazard")
    model_class = "CoxTime"

    def __init__(self, net, tau, baseline_hazard, time, *, dtype, device, **kwargs):
        tau = check_time_grid(tau, "baseline_hazard", "explain()")
        h0 = check_hazard(baseline_hazard, len(tau))
        time = check_time_grid(time, "labtrans", "explain()")
        super().__init__(net, time, dtype=dtype, device=device, **kwargs)
        active = np.flatnonzero(h0 > 0)
        self.tau = tau
        self.h0_active = as_buffer(h0[active], dtype, device)
        self.tau_active = as_buffer(tau[active], dtype, device).reshape(-1, 1)
        # Column j of the grid reads position pos[j] of [0, active values...].
        is_active = np.zeros(len(tau), dtype=bool)
        is_active[active] = True
        self._hazard_pos = torch.as_tensor(np.where(is_active, np.cumsum(is_active), 0), device=device)
        self._cum_pos = torch.as_tensor(np.cumsum(is_active), device=device)

    @property
    def rows_per_instance(self) -> int:
        return len(self.h0_active)

    def net_forward(self, rows: list[torch.Tensor]) -> torch.Tensor:
        n_instances = rows[0].shape[0] // self.rows_per_instance
        tau = self.tau_active.repeat(n_instances, 1)
        out = self.net(*rows, tau)
        return out.reshape(out.shape[0], -1)

    def head(self, phi: torch.Tensor, target: str) -> torch.Tensor:
        hazard = self.h0_active * torch.exp(phi)  # (B, active)
        padded = torch.nn.functional.pad(hazard if target == "hazard" else hazard.cumsum(-1), (1, 0))
        if target == "hazard":
            return padded.index_select(1, self._hazard_pos).unsqueeze(1)
        cum_hazard = padded.index_select(1, self._cum_pos)  # its backward is a plain
        # index_add, several times faster than advanced indexing's accumulating index_put
        out = cum_hazard if target == "cum_hazard" else torch.exp(-cum_hazard)
        return out.unsqueeze(1)
