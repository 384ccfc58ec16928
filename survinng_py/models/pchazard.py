"""PCHazard (pycox ``PCHazard``): a piecewise-constant continuous-time hazard."""
from __future__ import annotations

import torch

from .base import SurvivalModel, check_time_grid
from .discrete import single_risk, subgrid
from .._validation import check_int, fail


class PCHazard(SurvivalModel):
    """``eta_j = softplus(phi_j)`` is the hazard integrated over interval ``j`` of the ``m``
    cut points (``m - 1`` network outputs).

    As pycox's ``predict_hazard``, each ``eta_j`` is spread evenly over ``sub`` steps and
    a leading zero is added: hazard ``(B, (m-1)*sub + 1)`` on pycox's ``make_subgrid``
    of the cuts; cum_hazard is its cumulative sum and survival ``exp(-cum_hazard)``
    (``predict_surv``), so survival is exactly 1 at the first cut.

    Parameters
    ----------
    net : torch.nn.Module
        Network with output ``(B, m - 1)``.
    time_bins : array_like
        pycox's ``duration_index``, the ``m`` cut points.
    sub : int
        pycox's ``model.sub``: grid points per interval.
    """

    targets = ("survival", "cum_hazard", "hazard")
    model_class = "PCHazard"

    def __init__(self, net, time_bins, sub=1, *, dtype, device, **kwargs):
        cuts = check_time_grid(time_bins, "time_bins", "explain()")
        if len(cuts) < 2:
            fail("time_bins", "explain()", "at least 2 cut points for a PCHazard model (one "
                 "network output per interval)", time_bins)
        self.sub = check_int(sub, "sub", "explain()")
        self.n_cuts = len(cuts)
        super().__init__(net, subgrid(time_bins, self.sub), dtype=dtype, device=device, **kwargs)

    def num_risks(self, inputs: list[torch.Tensor]) -> int:
        return single_risk(self, inputs, n_bins=self.n_cuts, n_outputs=self.n_cuts - 1)

    def head(self, phi: torch.Tensor, target: str) -> torch.Tensor:
        eta = torch.nn.functional.softplus(phi)
        spread = eta.unsqueeze(-1).expand(*eta.shape, self.sub).flatten(-2).div(self.sub)
        hazard = torch.nn.functional.pad(spread, (1, 0)).unsqueeze(1)
        if target == "hazard":
            return hazard
        cum_hazard = hazard.cumsum(-1)
        return cum_hazard if target == "cum_hazard" else torch.exp(-cum_hazard)
