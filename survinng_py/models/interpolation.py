"""pycox's ``model.interpolate(sub, scheme)`` as a wrapper around a discrete-time adapter."""
from __future__ import annotations

import torch

from .base import SurvivalModel
from .deephit import DeepHit
from .discrete import EPSILON, MTLR, BCESurv, LogisticHazard, subgrid
from .._validation import check_choice, check_int, fail

LINEAR = ("const_pdf", "lin_surv")
CONST_HAZARD = ("const_hazard", "exp_surv")
#: schemes per adapter, as pycox's ``interpolate`` offers them. PMF-type models raise
#: NotImplementedError for const_hazard; BCESurv silently interpolates linearly whatever
#: the scheme, which is refused here rather than copied.
SCHEMES = {DeepHit: LINEAR, MTLR: LINEAR, BCESurv: LINEAR, LogisticHazard: LINEAR + CONST_HAZARD}


class Interpolated(SurvivalModel):
    """Survival of a discrete-time adapter between its grid points (target survival only).

    The grid is pycox's ``make_subgrid(duration_index, sub)``, ``sub`` points per interval
    plus the last grid time.

    * ``const_pdf``/``lin_surv``: ``S`` is linear between grid points,
      ``S_prev + (S_next - S_prev) * rho`` with ``rho = 0, 1/sub, ...``;
    * ``const_hazard``/``exp_surv`` (LogisticHazard): the continuous hazard
      ``eta_j = relu(-log(1 - h_j + 1e-7))`` of interval ``j`` is spread evenly over its
      steps and ``S = (1 - h_0) exp(-cumsum(eta / sub))``.

    Parameters
    ----------
    inner : SurvivalModel
        The discrete adapter; it then runs the wrapper's private network copy.
    time_bins : array_like
        pycox's ``duration_index`` as stored (its float type fixes the grid's rounding).
    sub : int
        Grid points per interval (pycox's ``sub``).
    scheme : str
        pycox's ``scheme``.
    """

    targets = ("survival",)

    def __init__(self, inner: SurvivalModel, time_bins, sub: int, scheme: str):
        allowed = SCHEMES.get(type(inner))
        if allowed is None:
            fail("interpolate", "explain()", f"left out for a {inner.model_class} model (pycox "
                 "interpolates LogisticHazard, PMF, DeepHitSingle, MTLR and BCESurv)", sub)
        self.sub = check_int(sub, "interpolate", "explain()")
        self.scheme = check_choice(scheme, allowed, "scheme",
                                   f"explain() for a {inner.model_class} model")
        super().__init__(inner.net, subgrid(time_bins, self.sub), dtype=inner.dtype,
                         device=inner.device, source=inner.source,
                         event_names=inner._event_names)
        # One private network for both: the inner adapter runs the wrapper's copy.
        inner.net = self.net
        self.inner = inner
        self.model_class = inner.model_class
        # pycox's rho, in the model's precision
        self._rho = torch.linspace(0, 1, self.sub + 1, dtype=self.dtype, device=self.device)[:-1]

    @property
    def rows_per_instance(self) -> int:
        return self.inner.rows_per_instance

    def expand(self, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
        return self.inner.expand(inputs)

    def net_forward(self, rows: list[torch.Tensor]) -> torch.Tensor:
        return self.inner.net_forward(rows)

    def num_risks(self, inputs: list[torch.Tensor]) -> int:
        return self.inner.num_risks(inputs)

    def check_target(self, target: str, where: str) -> str:
        return check_choice(target, self.targets, "target",
                            f"{where} for an interpolated {self.model_class} model")

    def head(self, phi: torch.Tensor, target: str) -> torch.Tensor:
        if self.scheme in LINEAR:
            surv = self.inner.head(phi, "survival")
            prev, step = surv[..., :-1, None], surv[..., 1:, None] - surv[..., :-1, None]
            return torch.cat([(step * self._rho + prev).flatten(-2), surv[..., -1:]], dim=-1)
        hazard = self.inner.head(phi, "hazard")
        eta = torch.relu(-(1 - hazard[..., 1:]).add(EPSILON).log())
        spread = eta.unsqueeze(-1).expand(*eta.shape, self.sub).flatten(-2).div(self.sub)
        cum_hazard = torch.nn.functional.pad(spread, (1, 0)).cumsum(-1)
        return torch.exp(-cum_hazard) * (1 - hazard[..., :1])
