"""Discrete-time pycox families on ``duration_index``: the shared base and the single-risk
``LogisticHazard`` and ``BCESurv``.

Their network has one output per point of pycox's ``duration_index`` (the time grid).
``PMF``, ``DeepHitSingle``, ``DeepHit`` and ``MTLR`` are in :mod:`.deephit`;
``PCHazard`` (one output per interval) is in :mod:`.pchazard`. The heads follow pycox's
``predict_*`` operation by operation, so float32 predictions equal pycox's.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np
import torch

from .._validation import fail
from ._jvp import scaled, scaled_cumsum, tangent_out
from .base import HeadParam, SurvivalModel, check_time_grid, network_width, numeric_vector
from .registry import register_family

#: pycox's ``epsilon`` in ``LogisticHazard.predict_surv`` and its const_hazard interpolation
EPSILON = 1e-7
#: pycox's interpolation schemes: survival linear between grid points, or a constant
#: hazard within each interval
LINEAR = ("const_pdf", "lin_surv")
CONST_HAZARD = ("const_hazard", "exp_surv")
TIME_BINS = HeadParam(
    "time_bins",
    "pycox's duration_index: the time of each output bin, PCHazard's cut points",
    required=True,
)


class DiscreteTime(SurvivalModel):
    """Base of the families on pycox's ``duration_index`` (spec: ``time_bins``, kept in
    its own float type: PCHazard's and interpolate's subgrids round in it); by default
    single-risk with one network output per grid time.

    Parameters
    ----------
    net : torch.nn.Module
        Network with output ``(B, m)``.
    spec : dict
        ``time_bins``: pycox's ``duration_index``, the ``m`` grid times.
    """

    head_params: tuple[HeadParam, ...] = (TIME_BINS,)

    @classmethod
    def check_spec(cls, where, *, time_bins) -> dict:
        check_time_grid(time_bins, "time_bins", where)
        return {"time_bins": numeric_vector(time_bins, "time_bins", where)}

    @classmethod
    def grid(cls, spec: dict) -> np.ndarray:
        return spec["time_bins"]

    @classmethod
    def interpolation_bins(cls, spec: dict) -> np.ndarray:
        return spec["time_bins"]

    @classmethod
    def spec_from_pycox(cls, model: Any, where: str) -> dict:
        if getattr(model, "duration_index", None) is None:
            fail(
                "model",
                where,
                "a pycox model with `duration_index` (the time grid)",
                type(model).__name__,
            )
        return {"time_bins": np.asarray(model.duration_index)}

    def num_risks(self, inputs: list[torch.Tensor]) -> int:
        return single_risk(self, inputs, n_bins=len(self.time), n_outputs=len(self.time))


@register_family
class LogisticHazard(DiscreteTime):
    """pycox ``LogisticHazard`` (Nnet-survival): discrete hazard ``h_j = sigmoid(phi_j)``,
    survival ``S_j = exp(sum_{l<=j} log(1 - h_l + 1e-7))``.

    Targets are those pycox predicts (``predict_hazard``, ``predict_surv``); pycox
    defines no cumulative hazard for this family.
    """

    family = "logistichazard"
    pycox_classes = ("LogisticHazard",)
    schemes = LINEAR + CONST_HAZARD
    targets = ("survival", "hazard")
    model_class = "LogisticHazard"

    def head(self, phi: torch.Tensor, target: str) -> torch.Tensor:
        hazard = torch.sigmoid(phi).unsqueeze(1)
        if target == "hazard":
            return hazard
        return (1 - hazard).add(EPSILON).log().cumsum(-1).exp()

    def head_jvp(self, phi, dphi, target, out=None, overwrite_dphi=False):
        """Closed form: d hazard = h (1 - h) dphi; d survival = survival times the
        cumulative sum of -h (1 - h) / (1 - h + 1e-7) dphi."""
        if target not in ("survival", "hazard"):
            return super().head_jvp(phi, dphi, target, out)
        value = self.head(phi, target)
        hazard = torch.sigmoid(phi)
        weight = hazard * (1 - hazard)
        out = tangent_out(out, dphi, 1, len(self.time))
        flat = out.view(dphi.shape[0], dphi.shape[1], -1)
        if target == "hazard":
            scaled(dphi, weight, flat)
            return value, out
        weight.div_((1 - hazard).add_(EPSILON)).neg_()
        scaled_cumsum(dphi, weight, flat, value, overwrite_dphi)
        return value, out


@register_family
class BCESurv(DiscreteTime):
    """pycox ``BCESurv``: survival ``S_j = sigmoid(phi_j)``, one binary classifier per grid
    time (not necessarily monotone). pycox predicts nothing else for this family.

    pycox's interpolation of BCESurv is linear whatever the scheme asked for; here only
    the linear schemes are accepted.
    """

    family = "bcesurv"
    pycox_classes = ("BCESurv",)
    schemes = LINEAR
    targets = ("survival",)
    model_class = "BCESurv"

    def head(self, phi: torch.Tensor, target: str) -> torch.Tensor:
        return torch.sigmoid(phi).unsqueeze(1)

    def head_jvp(self, phi, dphi, target, out=None, overwrite_dphi=False):
        """Closed form: d survival = survival (1 - survival) dphi."""
        if target != "survival":
            return super().head_jvp(phi, dphi, target, out)
        value = self.head(phi, target)
        surv = value[:, 0]
        out = tangent_out(out, dphi, 1, len(self.time))
        scaled(dphi, surv * (1 - surv), out.view(dphi.shape[0], dphi.shape[1], -1))
        return value, out


def single_risk(
    model: SurvivalModel, inputs: list[torch.Tensor], *, n_bins: int, n_outputs: int
) -> int:
    """1, after checking that the network has ``n_outputs`` outputs for ``n_bins`` times."""
    width = network_width(model, inputs)
    if width != n_outputs:
        rule = (
            "as long as the network's output"
            if n_bins == n_outputs
            else "one longer than the network's output, one output per interval"
        )
        fail(
            "time_bins",
            "explain()",
            f"{rule} (output width {width})",
            f"{n_bins} time bins",
            as_text=True,
        )
    return 1


def subgrid(time_bins, sub: int) -> np.ndarray:
    """pycox's ``make_subgrid``: ``sub`` equal steps in each interval, then the last point.

    The steps are computed in the bins' own float type, as pycox does, so that the grid
    equals pycox's ``predict_surv_df`` index to the bit (float32 cuts give float32 steps).
    """
    bins = np.asarray(time_bins).reshape(-1)
    if bins.dtype.kind != "f":
        bins = bins.astype(np.float64)
    steps = [np.linspace(start, end, sub + 1)[:-1] for start, end in pairwise(bins)]
    return np.concatenate([*steps, bins[-1:]]).astype(np.float64)
