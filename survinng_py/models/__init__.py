"""Adapters from fitted pycox models and bare torch modules to :class:`SurvivalModel`.

The families are the registered adapter classes (:mod:`.registry`); nothing here names
one. A head is described by a *record* (:func:`head_record`): the family, its
constructor spec, the interpolation and the user's event names; :func:`from_record`
builds the adapter back through the family's own checks, as a model bundle does.
"""

from __future__ import annotations

from typing import Any

import torch

from .._validation import fail
from .base import MAX_GRID_POINTS, HeadParam, SurvivalModel
from .cox import DeepSurv
from .coxtime import CoxTime
from .deephit import MTLR, DeepHit
from .discrete import BCESurv, LogisticHazard, subgrid
from .interpolation import Interpolated
from .pchazard import PCHazard

# isort: off
from .function import CurveFunction
from .sksurv import SkSurv
from .onnx_file import OnnxFile

# isort: on
from .registry import (
    families,
    family,
    family_of_model_type,
    family_of_pycox_model,
    load_entry_points,
    register_family,
    unregister_family,
)

__all__ = [
    "SurvivalModel",
    "HeadParam",
    "DeepSurv",
    "CoxTime",
    "DeepHit",
    "LogisticHazard",
    "MTLR",
    "PCHazard",
    "BCESurv",
    "CurveFunction",
    "SkSurv",
    "OnnxFile",
    "Interpolated",
    "build_model",
    "head_record",
    "from_record",
    "check_record",
    "register_family",
    "unregister_family",
    "families",
    "load_entry_points",
    "MAX_GRID_POINTS",
]


def build_model(
    model: Any, *, model_type: str | None, dtype: torch.dtype, device: torch.device, **head: Any
) -> SurvivalModel:
    """Build the adapter for a fitted pycox model or for ``torch.nn.Module`` + head.

    ``interpolate`` (pycox's ``sub``) and ``scheme`` wrap the adapter as pycox's
    ``model.interpolate(sub, scheme)`` does, for fitted models and modules alike.
    """
    where = "explain()"
    event_names = head.pop("event_names", None)
    interpolate, scheme = head.pop("interpolate", None), head.pop("scheme", None)
    # a fitted pycox model holds its network as `net`; any other model is the family's
    if isinstance(model, torch.nn.Module) or (model_type is not None and not hasattr(model, "net")):
        cls = family_of_model_type(model_type, where)
        source = type(model).__name__
        model, spec = cls.network(model, _module_head(cls, head, where), where)
    else:
        cls = family_of_pycox_model(model, where)
        if head:
            fail(
                sorted(head)[0],
                where,
                "left out for a fitted pycox model (its head parameters are read from the model)",
                head[sorted(head)[0]],
            )
        spec = cls.spec_from_pycox(model, where)
        model, source = model.net, type(model).__name__
    return _assemble(
        cls,
        model,
        spec,
        interpolate,
        scheme,
        dtype=dtype,
        device=device,
        source=source,
        event_names=event_names,
        copy_network=True,
        where=where,
    )


def head_record(adapter: SurvivalModel) -> dict:
    """What rebuilds ``adapter`` on another network: family, spec, interpolation, names."""
    wrapper = adapter if isinstance(adapter, Interpolated) else None
    inner = wrapper.inner if wrapper else adapter
    return {
        "family": type(inner).family,
        "spec": dict(inner.spec),
        "interpolate": wrapper.sub if wrapper else None,
        "scheme": wrapper.scheme if wrapper else None,
        "event_names": inner._event_names,
    }


def from_record(
    record: dict,
    net: torch.nn.Module,
    *,
    dtype: torch.dtype,
    device: torch.device,
    source: str,
    where: str,
    arg: str = "path",
) -> SurvivalModel:
    """The adapter of a :func:`head_record` on ``net`` (used as it is: no private copy),
    its spec checked by the family as for a new model."""
    cls = family(record["family"], arg, where)
    return _assemble(
        cls,
        net,
        record["spec"],
        record["interpolate"],
        record["scheme"],
        dtype=dtype,
        device=device,
        source=source,
        event_names=record["event_names"],
        copy_network=False,
        where=where,
    )


def check_record(record: dict, arg: str, where: str) -> dict:
    """What :func:`from_record` would build, without a network: the adapter's
    ``model_class``, targets and time grid, after checking the record's spec and
    interpolation by the family's own rules."""
    cls = family(record["family"], arg, where)
    spec = cls.validate_spec(record["spec"], where)
    if not _interpolated(record["interpolate"], record["scheme"], where):
        return {"model_class": cls.model_class, "targets": cls.targets, "time": cls.grid(spec)}
    bins, sub, _ = Interpolated.check(cls, spec, record["interpolate"], record["scheme"], where)
    return {
        "model_class": cls.model_class,
        "targets": Interpolated.targets,
        "time": subgrid(bins, sub),
    }


def _assemble(
    cls: type[SurvivalModel],
    net: torch.nn.Module,
    spec: dict,
    interpolate: Any,
    scheme: Any,
    *,
    where: str,
    **common: Any,
) -> SurvivalModel:
    adapter = cls(net, spec, where=where, **common)
    if not _interpolated(interpolate, scheme, where):
        return adapter
    return Interpolated(adapter, interpolate, scheme, where)


def _interpolated(interpolate: Any, scheme: Any, where: str) -> bool:
    if interpolate is None and scheme is not None:
        fail("scheme", where, "left out unless `interpolate` is given", scheme)
    return interpolate is not None


def _module_head(cls: type[SurvivalModel], head: dict, where: str) -> dict:
    """explain()'s head parameters for a bare module of family ``cls``: known, and the
    required ones given; None means not given."""
    allowed = [p.name for p in cls.head_params]
    extra = set(head) - set(allowed)
    if extra:
        name = sorted(extra)[0]
        fail(name, where, f"one of {sorted(allowed)} for model_type {cls.family!r}", name)
    for param in cls.head_params:
        if param.required and head.get(param.name) is None:
            fail(param.name, where, f"given for model_type {cls.family!r} ({param.doc})", None)
    return {k: v for k, v in head.items() if v is not None}
