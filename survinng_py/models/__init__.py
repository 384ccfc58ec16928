"""Adapters from fitted pycox models and bare torch modules to :class:`SurvivalModel`."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._validation import SurvinngError, fail
from .base import SurvivalModel
from .cox import DeepSurv
from .coxtime import CoxTime
from .deephit import DeepHit
from .discrete import MTLR, BCESurv, LogisticHazard
from .interpolation import Interpolated
from .pchazard import PCHazard

__all__ = ["SurvivalModel", "DeepSurv", "CoxTime", "DeepHit", "LogisticHazard", "MTLR",
           "PCHazard", "BCESurv", "Interpolated", "build_model", "MODEL_TYPES"]

#: model_type names accepted for bare modules, and the pycox classes read directly (the
#: most specific class in the model's MRO wins: MTLR and DeepHitSingle are PMFBase too)
MODEL_TYPES = {"deepsurv": "deepsurv", "coxph": "deepsurv", "coxcc": "deepsurv",
               "coxtime": "coxtime", "deephit": "deephit", "deephitsingle": "deephit",
               "pmf": "deephit", "logistichazard": "logistichazard", "mtlr": "mtlr",
               "pchazard": "pchazard", "bcesurv": "bcesurv"}
_PYCOX_CLASSES = {"CoxTime": "coxtime", "CoxPH": "deepsurv", "CoxCC": "deepsurv",
                  "DeepHit": "deephit", "DeepHitSingle": "deephit", "PMF": "deephit",
                  "LogisticHazard": "logistichazard", "MTLR": "mtlr", "PCHazard": "pchazard",
                  "BCESurv": "bcesurv"}
_ADAPTERS = {"deepsurv": DeepSurv, "coxtime": CoxTime, "deephit": DeepHit,
             "logistichazard": LogisticHazard, "mtlr": MTLR, "pchazard": PCHazard,
             "bcesurv": BCESurv}
#: families whose time grid is pycox's ``duration_index`` (head argument ``time_bins``)
_DISCRETE = ("deephit", "logistichazard", "mtlr", "pchazard", "bcesurv")


def build_model(model: Any, *, model_type: str | None, dtype: torch.dtype, device: torch.device,
                **head: Any) -> SurvivalModel:
    """Build the adapter for a fitted pycox model or for ``torch.nn.Module`` + head.

    ``interpolate`` (pycox's ``sub``) and ``scheme`` wrap a discrete-time adapter as
    pycox's ``model.interpolate(sub, scheme)`` does, for fitted models and modules alike.
    """
    event_names = head.pop("event_names", None)
    interpolate, scheme = head.pop("interpolate", None), head.pop("scheme", None)
    if isinstance(model, torch.nn.Module):
        family = _check_model_type(model_type)
        spec = _module_spec(family, head)
        source = type(model).__name__
    else:
        family = _pycox_family(model)
        if head:
            fail(sorted(head)[0], "explain()", "left out for a fitted pycox model (its head "
                 "parameters are read from the model)", head[sorted(head)[0]])
        spec = _pycox_spec(model, family)
        model, source = model.net, type(model).__name__
    adapter = _ADAPTERS[family](model, **spec, dtype=dtype, device=device, source=source,
                                event_names=event_names)
    if interpolate is None:
        if scheme is not None:
            fail("scheme", "explain()", "left out unless `interpolate` is given", scheme)
        return adapter
    return Interpolated(adapter, spec.get("time_bins"), interpolate,
                        "const_pdf" if scheme is None else scheme)


def _check_model_type(model_type: Any) -> str:
    key = model_type.lower() if isinstance(model_type, str) else None
    if key not in MODEL_TYPES:
        fail("model_type", "explain()", "one of " + ", ".join(repr(k) for k in MODEL_TYPES) +
             " for a bare torch module", model_type)
    return MODEL_TYPES[key]


def _pycox_family(model: Any) -> str:
    for klass in type(model).__mro__:
        if klass.__name__ in _PYCOX_CLASSES and hasattr(model, "net"):
            return _PYCOX_CLASSES[klass.__name__]
    fail("model", "explain()", "a torch.nn.Module or a fitted pycox model of class " +
         ", ".join(_PYCOX_CLASSES), type(model).__name__)


def _pycox_spec(model: Any, family: str) -> dict:
    if family in _DISCRETE:
        if getattr(model, "duration_index", None) is None:
            fail("model", "explain()", "a pycox model with `duration_index` (the time grid)",
                 type(model).__name__)
        # kept in its own float type: PCHazard's and interpolate's subgrids round in it
        spec = {"time_bins": np.asarray(model.duration_index)}
        return {**spec, "sub": model.sub} if family == "pchazard" else spec
    hazards = getattr(model, "baseline_hazards_", None)
    if hazards is None:
        fail("model", "explain()", f"a {type(model).__name__} with baseline hazards: call "
             "model.compute_baseline_hazards() first", type(model).__name__)
    time = hazards.index.to_numpy(dtype=np.float64)
    h0 = hazards.to_numpy(dtype=np.float64)
    if family == "deepsurv":
        return {"time": time, "baseline_hazard": h0}
    return {"tau": time, "baseline_hazard": h0,
            "time": _coxtime_original_time(getattr(model, "labtrans", None), hazards.index.to_numpy())}


def _coxtime_original_time(labtrans: Any, tau: np.ndarray) -> np.ndarray:
    """pycox's own relabelling of the CoxTime grid (exact lookup), analytic where missing."""
    if labtrans is None:
        return np.asarray(tau, dtype=np.float64)
    if callable(labtrans) and not hasattr(labtrans, "map_scaled_to_orig"):
        return np.asarray(labtrans(np.asarray(tau, dtype=np.float64)), dtype=np.float64)
    mapped = np.asarray(labtrans.map_scaled_to_orig(tau), dtype=object)
    missing = np.array([m is None for m in mapped])
    if missing.any():
        scaler = labtrans.duration_scaler
        analytic = scaler.inverse_transform(np.asarray(tau, dtype=np.float64).reshape(-1, 1)).ravel()
        if getattr(labtrans, "log_duration", False):
            analytic = np.expm1(analytic)
        mapped[missing] = analytic[missing]
    return mapped.astype(np.float64)


def _module_spec(family: str, head: dict) -> dict:
    allowed = {"deepsurv": {"baseline_hazard"}, "coxtime": {"baseline_hazard", "labtrans"},
               "pchazard": {"time_bins", "sub"}}.get(family, {"time_bins"})
    extra = set(head) - allowed
    if extra:
        name = sorted(extra)[0]
        fail(name, "explain()", f"one of {sorted(allowed)} for model_type {family!r}", name)
    if family in _DISCRETE:
        if head.get("time_bins") is None:
            fail("time_bins", "explain()", f"given for model_type {family!r} (pycox's "
                 "duration_index: the time of each output bin, PCHazard's cut points)", None)
        return dict(head)
    if head.get("baseline_hazard") is None:
        fail("baseline_hazard", "explain()", f"given for model_type {family!r} (a pandas Series "
             "indexed by time, a DataFrame with columns time and hazard, or a (time, hazard) pair)",
             None)
    time, h0 = _split_hazard(head["baseline_hazard"])
    if family == "deepsurv":
        return {"time": time, "baseline_hazard": h0}
    return {"tau": time, "baseline_hazard": h0,
            "time": _coxtime_original_time(head.get("labtrans"), time)}


def _split_hazard(value: Any) -> tuple[np.ndarray, np.ndarray]:
    try:
        if hasattr(value, "columns"):
            return value["time"].to_numpy(np.float64), value["hazard"].to_numpy(np.float64)
        if hasattr(value, "index") and hasattr(value, "to_numpy"):
            return value.index.to_numpy(np.float64), value.to_numpy(np.float64)
        time, hazard = value
        return np.asarray(time, np.float64), np.asarray(hazard, np.float64)
    except (KeyError, TypeError, ValueError) as err:
        raise SurvinngError("`baseline_hazard` of explain() must be a pandas Series indexed by "
                            "time, a DataFrame with columns time and hazard, or a (time, hazard) "
                            f"pair; got {type(value).__name__}") from err
