"""The private torch interfaces survinng_py uses, each looked up in one place.

torch has no public way to read a ``torch.export`` program without unpickling and no
public way to reuse the ONNX exporter's operator table between exports, so both rely on
private modules, which move between torch releases. Every such name is listed in
:data:`INTERNALS` and fetched with :func:`internal`: on a torch where it moved, the call
raises one line naming the torch version and what is missing, instead of failing (or,
worse, misbehaving) deep inside a load or an export.
"""

from __future__ import annotations

import importlib
from typing import Any

import torch

from ._validation import SurvinngError

#: every private torch name survinng_py uses: key -> (module, attribute, what needs it)
INTERNALS = {
    "serde_schema": ("torch._export.serde", "schema", "the program reader"),
    "schema_version": ("torch._export.serde.schema", "SCHEMA_VERSION", "the program reader"),
    "serde_union": ("torch._export.serde.union", "_Union", "the program reader"),
    "deserializer": (
        "torch._export.serde.serialize",
        "ExportedProgramDeserializer",
        "the program reader",
    ),
    "dict_to_dataclass": (
        "torch._export.serde.serialize",
        "_dict_to_dataclass",
        "the program reader",
    ),
    "onnx_registry": (
        "torch.onnx._internal.exporter._registration",
        "ONNXRegistry",
        "the ONNX export",
    ),
}
#: the export schema major version the program reader was written for (torch 2.13: 8.20)
SCHEMA_MAJOR = 8


def internal(key: str) -> Any:
    """The private torch object ``INTERNALS[key]``, or a one-line :class:`SurvinngError`."""
    module_name, attribute, user = INTERNALS[key]
    try:
        module = importlib.import_module(module_name)
        if hasattr(module, attribute):
            return getattr(module, attribute)
        return importlib.import_module(f"{module_name}.{attribute}")  # a submodule not yet loaded
    except ImportError:
        raise SurvinngError(
            f"this torch ({torch_version()}) is not supported by {user} of "
            f"survinng_py: {module_name}.{attribute} is missing"
        ) from None


def argument_names(op: Any) -> list[str]:
    """The argument names of an operator overload (``torch.ops.aten.x.y``) by its schema."""
    try:
        return [argument.name for argument in op._schema.arguments]
    except AttributeError:
        raise SurvinngError(
            f"this torch ({torch_version()}) is not supported by the program "
            "reader of survinng_py: OpOverload._schema is missing"
        ) from None


def serde_schema() -> Any:
    """torch's export schema module, checked to be the major version the reader knows."""
    schema = internal("serde_schema")
    major = internal("schema_version")[0]
    if major != SCHEMA_MAJOR:
        raise SurvinngError(
            f"this torch ({torch_version()}) is not supported by the program "
            f"reader of survinng_py: export schema {major}.x (supported: "
            f"{SCHEMA_MAJOR}.x)"
        )
    return schema


def torch_version() -> str:
    """``major.minor`` of the installed torch."""
    return ".".join(torch.__version__.split(".")[:2])


__all__ = [
    "INTERNALS",
    "SCHEMA_MAJOR",
    "argument_names",
    "internal",
    "serde_schema",
    "torch_version",
]
