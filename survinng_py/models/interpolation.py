"""pycox's ``model.interpolate(sub, scheme)`` as a wrapper around a discrete-time adapter."""

from __future__ import annotations

from typing import Any

import torch

from .._validation import check_choice, fail
from ._jvp import tangent_out
from .base import DerivedModel, SurvivalModel, check_sub
from .discrete import EPSILON, LINEAR, subgrid


class Interpolated(DerivedModel):
    """Survival of a discrete-time adapter between its grid points (target survival only).

    The grid is pycox's ``make_subgrid(bins, sub)``, ``sub`` points per interval plus the
    last grid time, where ``bins`` are the inner family's
    :meth:`~.base.SurvivalModel.interpolation_bins`. The schemes are those the inner
    family declares (:attr:`~.base.SurvivalModel.schemes`):

    * ``const_pdf``/``lin_surv``: ``S`` is linear between grid points,
      ``S_prev + (S_next - S_prev) * rho`` with ``rho = 0, 1/sub, ...``;
    * ``const_hazard``/``exp_surv`` (needs the inner target ``hazard``): the continuous
      hazard ``eta_j = relu(-log(1 - h_j + 1e-7))`` of interval ``j`` is spread evenly
      over its steps and ``S = (1 - h_0) exp(-cumsum(eta / sub))``.

    Parameters
    ----------
    inner : SurvivalModel
        The discrete adapter; the wrapper runs its private network.
    sub : int
        Grid points per interval (pycox's ``sub``), at most
        :data:`~.base.MAX_GRID_POINTS` grid points in all.
    scheme : str, optional
        pycox's ``scheme`` (default ``"const_pdf"``, as pycox's).
    where : str
        The function named in errors.
    """

    targets = ("survival",)

    def __init__(
        self, inner: SurvivalModel, sub: int, scheme: str | None = None, where: str = "explain()"
    ):
        bins, self.sub, self.scheme = self.check(type(inner), inner.spec, sub, scheme, where)
        self.inner = inner
        self.model_class = inner.model_class
        self._attach(
            inner.net,
            subgrid(bins, self.sub),
            inner.dtype,
            inner.device,
            inner.source,
            inner._event_names,
        )
        # pycox's rho, in the model's precision
        self._rho = torch.linspace(0, 1, self.sub + 1, dtype=self.dtype, device=self.device)[:-1]

    @staticmethod
    def check(inner: type[SurvivalModel], spec: dict, sub: Any, scheme: Any, where: str) -> tuple:
        """The bins, ``sub`` and scheme for the family ``inner`` with the checked ``spec``."""
        allowed = inner.schemes
        if not allowed:
            fail(
                "interpolate",
                where,
                f"left out for a {inner.model_class} model (pycox "
                "interpolates LogisticHazard, PMF, DeepHitSingle, MTLR and BCESurv)",
                sub,
            )
        bins = inner.interpolation_bins(spec)
        sub = check_sub(sub, len(bins), "interpolate", where)
        scheme = check_choice(
            "const_pdf" if scheme is None else scheme,
            allowed,
            "scheme",
            f"{where} for a {inner.model_class} model",
        )
        return bins, sub, scheme

    def check_target(self, target: str, where: str) -> str:
        return check_choice(
            target, self.targets, "target", f"{where} for an interpolated {self.model_class} model"
        )

    def head(self, phi: torch.Tensor, target: str) -> torch.Tensor:
        if self.scheme in LINEAR:
            return self._linear(self.inner.head(phi, "survival"))
        return self._const_hazard(self.inner.head(phi, "hazard"))[0]

    def _linear(self, surv: torch.Tensor) -> torch.Tensor:
        prev, step = surv[..., :-1, None], surv[..., 1:, None] - surv[..., :-1, None]
        return torch.cat([(step * self._rho + prev).flatten(-2), surv[..., -1:]], dim=-1)

    def _const_hazard(self, hazard: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Survival and ``exp(-cum_hazard)`` from the inner hazard ``(B, E, T)``."""
        eta = torch.relu(-(1 - hazard[..., 1:]).add(EPSILON).log())
        spread = eta.unsqueeze(-1).expand(*eta.shape, self.sub).flatten(-2).div(self.sub)
        cum_hazard = torch.nn.functional.pad(spread, (1, 0)).cumsum(-1)
        decay = torch.exp(-cum_hazard)
        return decay * (1 - hazard[..., :1]), decay

    def head_jvp(self, phi, dphi, target, out=None, overwrite_dphi=False):
        """Closed form over the inner head's: the linear schemes are linear in the inner
        survival; const_hazard differentiates eta = relu(-log(1 - h + 1e-7)) and the
        factor 1 - h_0."""
        if target != "survival":
            return super().head_jvp(phi, dphi, target, out)
        sub = self.sub
        if self.scheme in LINEAR:
            surv, dsurv = self.inner.head_jvp(phi, dphi, "survival", None, overwrite_dphi)
            out = tangent_out(out, dphi, surv.shape[1], len(self.time))
            steps = out[..., :-1].unflatten(-1, (-1, sub))
            torch.mul((dsurv[..., 1:] - dsurv[..., :-1]).unsqueeze(-1), self._rho, out=steps)
            steps.add_(dsurv[..., :-1].unsqueeze(-1))
            out[..., -1:] = dsurv[..., -1:]
            return self._linear(surv), out
        hazard, dhazard = self.inner.head_jvp(phi, dphi, "hazard", None, overwrite_dphi)
        value, decay = self._const_hazard(hazard)
        inner = hazard[..., 1:]
        # d eta = dh / (1 - h + 1e-7) where eta > 0 (relu's derivative is 0 at 0)
        slope = (-(1 - inner).add(EPSILON).log() > 0).to(inner.dtype) / (1 - inner).add(EPSILON)
        out = tangent_out(out, dphi, value.shape[1], len(self.time))
        out[..., 0] = 0
        steps = out[..., 1:].unflatten(-1, (-1, sub))
        steps.copy_(
            (dhazard[..., 1:] * slope.div_(sub).unsqueeze(1)).unsqueeze(-1).expand_as(steps)
        )
        out.cumsum_(-1).mul_(value.neg().unsqueeze(1))
        return value, out.addcmul_(dhazard[..., :1], decay.unsqueeze(1), value=-1)
