"""CoxTime (pycox ``CoxTime``): the network sees time as its last input column."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch

from .._validation import fail
from ._jvp import tangent_out
from .base import HeadParam, SurvivalModel, as_buffer, check_time_grid
from .cox import (
    BASELINE_HAZARD,
    COX_TARGETS,
    check_hazard,
    one_output_per_row,
    pycox_baseline,
    split_hazard,
)
from .registry import register_family

LABTRANS = HeadParam(
    "labtrans", "pycox's LabTransCoxTime or a function from network time to original time"
)


@register_family
class CoxTime(SurvivalModel):
    """hazard_j = h0_j exp(g(x, tau_j)), cum_hazard = cumulative sum, survival = exp(-cum).

    ``tau`` is the baseline grid on the network's time scale (fed to the net as stored);
    ``time`` the same grid on the original scale (reported axis). Only the times with a
    non-zero baseline jump are evaluated: elsewhere the hazard is 0 (as pycox forces) and
    the cumulative hazard is flat.

    Spec: ``tau``, ``baseline_hazard`` (the jumps ``h0_j``) and ``time``.
    """

    family = "coxtime"
    pycox_classes = ("CoxTime",)
    head_params = (BASELINE_HAZARD, LABTRANS)
    targets = ("survival", "cum_hazard", "hazard")
    model_class = "CoxTime"

    @classmethod
    def check_spec(cls, where, *, tau, baseline_hazard, time) -> dict:
        tau = check_time_grid(tau, "baseline_hazard", where)
        h0 = check_hazard(baseline_hazard, len(tau), where)
        time = check_time_grid(time, "labtrans", where)
        if len(time) != len(tau):
            fail(
                "labtrans",
                where,
                f"{len(tau)} original times (one per baseline time)",
                f"{len(time)} times",
                as_text=True,
            )
        return {"tau": tau, "baseline_hazard": h0, "time": time}

    @classmethod
    def grid(cls, spec: dict) -> np.ndarray:
        return spec["time"]

    @classmethod
    def spec_from_pycox(cls, model: Any, where: str) -> dict:
        tau, h0 = pycox_baseline(model, where)
        index = model.baseline_hazards_.index.to_numpy()
        return {
            "tau": tau,
            "baseline_hazard": h0,
            "time": original_time(getattr(model, "labtrans", None), index, where),
        }

    @classmethod
    def spec_from_head(cls, head: dict, where: str) -> dict:
        tau, h0 = split_hazard(head["baseline_hazard"], where)
        tau = check_time_grid(tau, "baseline_hazard", where)
        return {
            "tau": tau,
            "baseline_hazard": h0,
            "time": original_time(head.get("labtrans"), tau, where),
        }

    def __init__(self, net, spec, **kwargs):
        super().__init__(net, spec, **kwargs)
        tau, h0 = self.spec["tau"], self.spec["baseline_hazard"]
        active = np.flatnonzero(h0 > 0)
        self.h0_active = as_buffer(h0[active], self.dtype, self.device)
        self.tau_active = as_buffer(tau[active], self.dtype, self.device).reshape(-1, 1)
        # Column j of the grid reads position pos[j] of [0, active values...].
        is_active = np.zeros(len(tau), dtype=bool)
        is_active[active] = True
        self._hazard_pos = torch.as_tensor(
            np.where(is_active, np.cumsum(is_active), 0), device=self.device
        )
        self._cum_pos = torch.as_tensor(np.cumsum(is_active), device=self.device)

    @property
    def rows_per_instance(self) -> int:
        return len(self.h0_active)

    def with_time_input(self, where: str) -> CoxTime:
        """This model taking a time handle ``c`` ``(B, 1)`` after the network's inputs:
        the network sees ``tau_j + c - 1`` (``c = 1``: the model itself), so the Jacobian
        in ``c`` is the effect of shifting every time the network sees together, the
        baseline hazard held fixed (survinng's ``include_time``)."""
        twin = copy.copy(self)  # shares the network and buffers
        twin.time_input_values = self.spec["tau"]
        return twin

    def net_forward(self, rows: list[torch.Tensor]) -> torch.Tensor:
        n_instances = rows[0].shape[0] // self.rows_per_instance
        tau = self.tau_active.repeat(n_instances, 1)
        if self.time_input_values is not None:  # the time handle (see with_time_input)
            *rows, handle = rows
            tau = tau + (handle - 1)
        out = self.net(*rows, tau)
        return out.reshape(out.shape[0], -1)

    def num_risks(self, inputs: list[torch.Tensor]) -> int:
        return one_output_per_row(self, inputs)

    def head(self, phi: torch.Tensor, target: str) -> torch.Tensor:
        hazard = self.h0_active * torch.exp(phi)  # (B, active)
        padded = torch.nn.functional.pad(
            hazard if target == "hazard" else hazard.cumsum(-1), (1, 0)
        )
        if target == "hazard":
            return padded.index_select(1, self._hazard_pos).unsqueeze(1)
        cum_hazard = padded.index_select(1, self._cum_pos)  # its backward is a plain
        # index_add, several times faster than advanced indexing's accumulating index_put
        out = cum_hazard if target == "cum_hazard" else torch.exp(-cum_hazard)
        return out.unsqueeze(1)

    def head_jvp(self, phi, dphi, target, out=None, overwrite_dphi=False):
        """Closed form: d hazard_j = hazard_j dphi_j on the active times, summed over
        time for cum_hazard, times -survival for survival."""
        if target not in COX_TARGETS:
            return super().head_jvp(phi, dphi, target, out)
        value = self.head(phi, target)  # (B, 1, T)
        n, d = dphi.shape[:2]
        padded = dphi.new_empty((n, d, phi.shape[1] + 1))  # [0, active values...]
        padded[..., 0] = 0
        torch.mul(dphi, (self.h0_active * torch.exp(phi)).unsqueeze(1), out=padded[..., 1:])
        if target != "hazard":
            padded[..., 1:].cumsum_(-1)
        pos = self._hazard_pos if target == "hazard" else self._cum_pos
        out = tangent_out(out, dphi, 1, len(self.time))
        torch.index_select(padded, 2, pos, out=out.view(n, d, -1))
        if target == "survival":
            out.mul_(value.neg().unsqueeze(1))
        return value, out


def original_time(labtrans: Any, tau: np.ndarray, where: str) -> np.ndarray:
    """pycox's own relabelling of the CoxTime grid (exact lookup), analytic where missing."""
    if labtrans is None:
        return np.asarray(tau, dtype=np.float64)
    if not callable(labtrans) and not hasattr(labtrans, "map_scaled_to_orig"):
        fail("labtrans", where, LABTRANS.doc, type(labtrans).__name__, as_text=True)
    if callable(labtrans) and not hasattr(labtrans, "map_scaled_to_orig"):
        return labtrans(np.asarray(tau, dtype=np.float64))  # checked as the spec's `time`
    mapped = np.asarray(labtrans.map_scaled_to_orig(tau), dtype=object)
    missing = np.array([m is None for m in mapped])
    if missing.any():
        scaler = labtrans.duration_scaler
        analytic = scaler.inverse_transform(
            np.asarray(tau, dtype=np.float64).reshape(-1, 1)
        ).ravel()
        if getattr(labtrans, "log_duration", False):
            analytic = np.expm1(analytic)
        mapped[missing] = analytic[missing]
    return mapped.astype(np.float64)
