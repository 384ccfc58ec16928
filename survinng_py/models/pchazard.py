"""PCHazard (pycox ``PCHazard``): a piecewise-constant continuous-time hazard."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._validation import fail
from ._jvp import scaled_cumsum, tangent_out
from .base import HeadParam, check_sub
from .discrete import TIME_BINS, DiscreteTime, single_risk, subgrid
from .registry import register_family


@register_family
class PCHazard(DiscreteTime):
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
    spec : dict
        ``time_bins``: pycox's ``duration_index``, the ``m`` cut points; ``sub``: pycox's
        ``model.sub``, grid points per interval.
    """

    family = "pchazard"
    pycox_classes = ("PCHazard",)
    head_params = (TIME_BINS, HeadParam("sub", "pycox's model.sub: grid points per interval"))
    targets = ("survival", "cum_hazard", "hazard")
    model_class = "PCHazard"

    @classmethod
    def check_spec(cls, where, *, time_bins, sub=1) -> dict:
        spec = super().check_spec(where, time_bins=time_bins)
        if len(spec["time_bins"]) < 2:
            fail(
                "time_bins",
                where,
                "at least 2 cut points for a PCHazard model (one network output per interval)",
                time_bins,
            )
        return {**spec, "sub": check_sub(sub, len(spec["time_bins"]), "sub", where)}

    @classmethod
    def grid(cls, spec: dict) -> np.ndarray:
        return subgrid(spec["time_bins"], spec["sub"])

    @classmethod
    def spec_from_pycox(cls, model: Any, where: str) -> dict:
        return {**super().spec_from_pycox(model, where), "sub": model.sub}

    def __init__(self, net, spec, **kwargs):
        super().__init__(net, spec, **kwargs)
        self.sub = self.spec["sub"]
        self.n_cuts = len(self.spec["time_bins"])

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

    def head_jvp(self, phi, dphi, target, out=None, overwrite_dphi=False):
        """Closed form: d eta = softplus'(phi) dphi, spread over the interval's steps like
        eta; summed over time for cum_hazard, times -survival for survival."""
        if target not in ("survival", "cum_hazard", "hazard"):
            return super().head_jvp(phi, dphi, target, out)
        value = self.head(phi, target)
        n, d = dphi.shape[:2]
        # softplus'(phi) = sigmoid(phi), and 1 above torch's threshold, where softplus = phi
        slope = torch.where(phi > 20, torch.ones_like(phi), torch.sigmoid(phi)).div_(self.sub)
        out = tangent_out(out, dphi, 1, len(self.time))
        flat = out.view(n, d, -1)
        flat[..., 0] = 0
        if self.sub == 1 and target != "hazard":  # one step per interval
            factor = value[..., 1:].neg() if target == "survival" else None
            scaled_cumsum(dphi, slope, flat[..., 1:], factor, overwrite_dphi)
            return value, out
        steps = flat[..., 1:].view(n, d, phi.shape[1], self.sub)
        torch.mul(
            dphi.unsqueeze(-1), slope[:, None, :, None].expand(-1, -1, -1, self.sub), out=steps
        )
        if target != "hazard":
            flat.cumsum_(-1)
        if target == "survival":
            out.mul_(value.neg().unsqueeze(1))
        return value, out
