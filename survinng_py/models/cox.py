"""DeepSurv (pycox ``CoxPH``/``CoxCC``): proportional hazards with a Breslow baseline."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._validation import fail
from ._jvp import identity_jvp, tangent_out
from .base import HeadParam, SurvivalModel, as_buffer, check_time_grid, network_width
from .registry import register_family

#: how a baseline hazard may be given to explain()
HAZARD_FORMS = (
    "a pandas Series indexed by time, a DataFrame with columns time and hazard, "
    "or a (time, hazard) pair of arrays of equal length"
)
BASELINE_HAZARD = HeadParam("baseline_hazard", HAZARD_FORMS, required=True)


@register_family
class DeepSurv(SurvivalModel):
    """``g(x)`` = log relative risk; hazard_j = h0_j exp(g), cum_hazard_j = H0_j exp(g),
    survival_j = exp(-cum_hazard_j) on the baseline-hazard time grid; the target
    ``log_risk`` is ``g(x)`` itself, the same value at every time.

    Spec: ``time`` (the baseline grid) and ``baseline_hazard`` (the jumps ``h0_j``).
    """

    family = "deepsurv"
    aliases = ("coxph", "coxcc")
    pycox_classes = ("CoxPH", "CoxCC")
    head_params = (BASELINE_HAZARD,)
    targets = ("survival", "cum_hazard", "hazard", "log_risk")
    model_class = "DeepSurv"

    @classmethod
    def check_spec(cls, where, *, time, baseline_hazard) -> dict:
        time = check_time_grid(time, "baseline_hazard", where)
        return {"time": time, "baseline_hazard": check_hazard(baseline_hazard, len(time), where)}

    @classmethod
    def grid(cls, spec: dict) -> np.ndarray:
        return spec["time"]

    @classmethod
    def spec_from_pycox(cls, model: Any, where: str) -> dict:
        time, hazard = pycox_baseline(model, where)
        return {"time": time, "baseline_hazard": hazard}

    @classmethod
    def spec_from_head(cls, head: dict, where: str) -> dict:
        time, hazard = split_hazard(head["baseline_hazard"], where)
        return {"time": time, "baseline_hazard": hazard}

    def __init__(self, net, spec, **kwargs):
        super().__init__(net, spec, **kwargs)
        h0 = self.spec["baseline_hazard"]
        self.h0 = as_buffer(h0, self.dtype, self.device)
        self.cum_h0 = as_buffer(np.cumsum(h0), self.dtype, self.device)

    def num_risks(self, inputs: list[torch.Tensor]) -> int:
        return one_output_per_row(self, inputs)

    def head(self, phi: torch.Tensor, target: str) -> torch.Tensor:
        if target == "log_risk":  # the network output, one curve constant over the grid
            return phi.unsqueeze(1).expand(-1, 1, len(self.time)).contiguous()
        risk = torch.exp(phi)  # (B, 1)
        if target == "hazard":
            return (risk * self.h0).unsqueeze(1)
        cum_hazard = risk * self.cum_h0
        out = cum_hazard if target == "cum_hazard" else torch.exp(-cum_hazard)
        return out.unsqueeze(1)

    def head_jvp(self, phi, dphi, target, out=None, overwrite_dphi=False):
        """Closed form: d hazard = hazard dphi, d cum_hazard = cum_hazard dphi,
        d survival = -survival cum_hazard dphi (an outer product per instance)."""
        if target == "log_risk":
            return identity_jvp(self.head(phi, target), dphi, out)
        if target not in COX_TARGETS:
            return super().head_jvp(phi, dphi, target, out)
        value = self.head(phi, target)  # (B, 1, T)
        weight = value if target != "survival" else -value * (torch.exp(phi) * self.cum_h0)[:, None]
        out = tangent_out(out, dphi, 1, len(self.time))
        torch.mul(dphi, weight, out=out.view(dphi.shape[0], dphi.shape[1], -1))
        return value, out


#: the targets whose head Jacobian-vector products have a closed form (Cox families)
COX_TARGETS = ("survival", "cum_hazard", "hazard")


def check_hazard(hazard: Any, n_times: int, where: str) -> np.ndarray:
    try:
        h0 = np.asarray(hazard)
    except (ValueError, TypeError):
        h0 = np.array([], dtype=object)
    if (
        h0.dtype.kind not in "fiu"
        or h0.ndim != 1
        or h0.size != n_times
        or not np.all(np.isfinite(h0))
        or np.any(h0 < 0)
    ):
        fail(
            "baseline_hazard",
            where,
            f"{n_times} finite non-negative hazard jumps (one per time point)",
            h0.tolist() if h0.dtype.kind in "fiu" else hazard,
        )
    return h0.astype(np.float64)


def split_hazard(value: Any, where: str) -> tuple[Any, Any]:
    """``(time, hazard)`` of a baseline hazard given in one of :data:`HAZARD_FORMS`
    (values checked by :func:`check_time_grid` and :func:`check_hazard`)."""
    if hasattr(value, "columns"):  # DataFrame
        if "time" in value.columns and "hazard" in value.columns:
            return value["time"].to_numpy(), value["hazard"].to_numpy()
    elif hasattr(value, "index") and hasattr(value, "to_numpy"):  # Series
        return value.index.to_numpy(), value.to_numpy()
    elif (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(np.ndim(part) == 1 for part in value)
        and len(value[0]) == len(value[1])
    ):
        return value[0], value[1]
    fail("baseline_hazard", where, HAZARD_FORMS, value)


def pycox_baseline(model: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    """The baseline grid and hazard jumps of a fitted pycox Cox model."""
    hazards = getattr(model, "baseline_hazards_", None)
    if hazards is None:
        # pycox keeps the training data from fit() for the baseline hazards
        todo = (
            "call model.compute_baseline_hazards() first"
            if hasattr(model, "training_data")
            else "fit the model first (model.fit), then call model.compute_baseline_hazards()"
        )
        fail(
            "model",
            where,
            f"a {type(model).__name__} with baseline hazards: {todo}",
            type(model).__name__,
        )
    return hazards.index.to_numpy(dtype=np.float64), hazards.to_numpy(dtype=np.float64)


def one_output_per_row(model: SurvivalModel, inputs: list[torch.Tensor]) -> int:
    """1, after checking that the network gives one log relative risk per row."""
    width = network_width(model, inputs)
    if width != 1:
        fail(
            "model",
            "explain()",
            f"a network with one output per row (the log relative risk "
            f"of a {model.model_class} model)",
            f"{width} outputs per row",
            as_text=True,
        )
    return 1
