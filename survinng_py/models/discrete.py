"""Single-risk discrete-time pycox families: ``LogisticHazard``, ``MTLR`` and ``BCESurv``.

Their network has one output per point of pycox's ``duration_index`` (the time grid).
``PMF`` and ``DeepHitSingle`` are :class:`~.deephit.DeepHit`; ``PCHazard`` (one output
per interval) is in :mod:`.pchazard`. The heads follow pycox's ``predict_*`` operation
by operation, so float32 predictions equal pycox's.
"""
from __future__ import annotations

import numpy as np
import torch

from .base import SurvivalModel, check_time_grid
from .deephit import DeepHit
from .._validation import fail

#: pycox's ``epsilon`` in ``LogisticHazard.predict_surv`` and its const_hazard interpolation
EPSILON = 1e-7


class DiscreteTime(SurvivalModel):
    """Base of the single-risk models with one network output per grid time.

    Parameters
    ----------
    net : torch.nn.Module
        Network with output ``(B, m)``.
    time_bins : array_like
        pycox's ``duration_index``, the ``m`` grid times.
    """

    def __init__(self, net, time_bins, *, dtype, device, **kwargs):
        time = check_time_grid(time_bins, "time_bins", "explain()")
        super().__init__(net, time, dtype=dtype, device=device, **kwargs)

    def num_risks(self, inputs: list[torch.Tensor]) -> int:
        return single_risk(self, inputs, n_bins=len(self.time), n_outputs=len(self.time))


class LogisticHazard(DiscreteTime):
    """pycox ``LogisticHazard`` (Nnet-survival): discrete hazard ``h_j = sigmoid(phi_j)``,
    survival ``S_j = exp(sum_{l<=j} log(1 - h_l + 1e-7))``.

    Targets are those pycox predicts (``predict_hazard``, ``predict_surv``); pycox
    defines no cumulative hazard for this family.
    """

    targets = ("survival", "hazard")
    model_class = "LogisticHazard"

    def head(self, phi: torch.Tensor, target: str) -> torch.Tensor:
        hazard = torch.sigmoid(phi).unsqueeze(1)
        if target == "hazard":
            return hazard
        return (1 - hazard).add(EPSILON).log().cumsum(-1).exp()


class BCESurv(DiscreteTime):
    """pycox ``BCESurv``: survival ``S_j = sigmoid(phi_j)``, one binary classifier per grid
    time (not necessarily monotone). pycox predicts nothing else for this family."""

    targets = ("survival",)
    model_class = "BCESurv"

    def head(self, phi: torch.Tensor, target: str) -> torch.Tensor:
        return torch.sigmoid(phi).unsqueeze(1)


class MTLR(DeepHit):
    """pycox ``MTLR``: reverse cumulative sum of the logits, ``psi_j = sum_{l>=j} phi_l``,
    then the PMF head of :class:`~.deephit.DeepHit` (targets survival, cif, pmf).

    The reverse sum is pycox's ``cumsum_reverse`` (the total minus the exclusive
    cumulative sum), not a flip/cumsum/flip, so that float32 predictions match pycox's.
    """

    model_class = "MTLR"

    def num_risks(self, inputs: list[torch.Tensor]) -> int:
        return single_risk(self, inputs, n_bins=len(self.time), n_outputs=len(self.time))

    def head(self, phi: torch.Tensor, target: str) -> torch.Tensor:
        exclusive = torch.nn.functional.pad(phi, (1, 0)).cumsum(-1)[:, :-1]
        return super().head(phi.sum(-1, keepdim=True) - exclusive, target)


def single_risk(model: SurvivalModel, inputs: list[torch.Tensor], *, n_bins: int,
                n_outputs: int) -> int:
    """1, after checking that the network has ``n_outputs`` outputs for ``n_bins`` times."""
    with torch.no_grad():
        width = model.net_forward([x[:1] for x in inputs]).shape[1]
    if width != n_outputs:
        rule = ("as long as the network's output" if n_bins == n_outputs else
                "one longer than the network's output, one output per interval")
        fail("time_bins", "explain()", f"{rule} (output width {width})", f"{n_bins} time bins",
             as_text=True)
    return 1


def subgrid(time_bins, sub: int) -> np.ndarray:
    """pycox's ``make_subgrid``: ``sub`` equal steps in each interval, then the last point.

    The steps are computed in the bins' own float type, as pycox does, so that the grid
    equals pycox's ``predict_surv_df`` index to the bit (float32 cuts give float32 steps).
    """
    bins = np.asarray(time_bins).reshape(-1)
    if bins.dtype.kind != "f":
        bins = bins.astype(np.float64)
    steps = [np.linspace(start, end, sub + 1)[:-1] for start, end in zip(bins[:-1], bins[1:])]
    return np.concatenate(steps + [bins[-1:]]).astype(np.float64)
