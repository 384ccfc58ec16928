"""Argument checks shared by the public entry points.

Every check raises :class:`SurvinngError` with one line naming the argument, the rule
and the value received, in the template "`<arg>` of <where> must be <rule>; got <value>".
"""
from __future__ import annotations

import numbers
import os
from typing import Any, Sequence

import numpy as np
import torch


class SurvinngError(ValueError, TypeError):
    """Bad input to survinng_py (a ValueError and a TypeError, as scikit-learn does)."""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def fail(arg: str, where: str, rule: str, value: Any = None, *, as_text: bool = False) -> None:
    """Raise the one-line error; ``as_text`` shows ``value`` as a description, not a repr."""
    got = value if as_text else _short(value)
    raise SurvinngError(f"`{arg}` of {where} must be {rule}; got {got}")


def first_line(err: BaseException, limit: int = 160) -> str:
    """The first line of an exception's message (its type name when empty), shortened:
    how foreign errors (torch, pyarrow, onnxruntime) are quoted in ours."""
    text = str(err).strip()
    line = text.splitlines()[0] if text else type(err).__name__
    return line if len(line) <= limit else line[:limit - 3] + "..."


def check_choice(value: Any, choices: Sequence[str], arg: str, where: str) -> str:
    if not isinstance(value, str) or value not in choices:
        fail(arg, where, "one of " + ", ".join(repr(c) for c in choices), value)
    return value


def check_int(value: Any, arg: str, where: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        fail(arg, where, f"an integer >= {minimum}", value)
    return int(value)


def check_float(value: Any, arg: str, where: str, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) \
            or value < minimum:
        fail(arg, where, f"a finite number >= {minimum}", value)
    return float(value)


def check_dtype(dtype: Any, where: str) -> torch.dtype:
    aliases = {"float32": torch.float32, "float": torch.float32, "float64": torch.float64,
               "double": torch.float64, torch.float32: torch.float32, torch.float64: torch.float64}
    try:
        return aliases[dtype]
    except (KeyError, TypeError):
        fail("dtype", where, "'float32' or 'float64' (or the torch dtype)", dtype)


def check_device(device: Any, where: str) -> torch.device:
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        fail("device", where, "a torch device such as 'cpu' or 'cuda'", device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        fail("device", where, "a device that is available here (no CUDA device found)", device)
    return dev


def to_tensor_list(value: Any, arg: str, where: str, *, dtype: torch.dtype,
                   device: torch.device, feature_shapes: Sequence[tuple] | None = None,
                   feature_names: Sequence[Sequence[str]] | None = None,
                   allow_empty: bool = False) -> list[torch.Tensor]:
    """Turn an array, a DataFrame, a tensor or a list of them into checked tensors.

    Each element has the instance axis first. With ``feature_shapes`` the number of
    inputs and each input's per-row shape are checked; a DataFrame with named columns is
    matched to ``feature_names`` by name.
    """
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if not items:
        fail(arg, where, "an array, a DataFrame or a non-empty list of them", value)
    if feature_shapes is not None and len(items) != len(feature_shapes):
        fail(arg, where, f"a list of {len(feature_shapes)} input(s), one per network input",
             f"{len(items)} input(s)", as_text=True)
    tensors = []
    for k, item in enumerate(items):
        name = arg if len(items) == 1 else f"{arg}[{k}]"
        names = None if feature_names is None else feature_names[k]
        tensors.append(_one_tensor(item, name, where, dtype, device, names))
    rows = {t.shape[0] for t in tensors}
    if len(rows) > 1:
        fail(arg, where, "inputs with the same number of rows", sorted(rows))
    if not allow_empty and tensors[0].shape[0] == 0:
        fail(arg, where, "at least one row", "0 rows", as_text=True)
    if feature_shapes is not None:
        for k, (t, shape) in enumerate(zip(tensors, feature_shapes)):
            if tuple(t.shape[1:]) != tuple(shape):
                name = arg if len(tensors) == 1 else f"{arg}[{k}]"
                fail(name, where, f"of per-row shape {tuple(shape)}",
                     f"per-row shape {tuple(t.shape[1:])}", as_text=True)
    return tensors


def as_frame(item: Any) -> Any:
    """A file path or an Arrow table of named columns as a pandas DataFrame; else ``item``."""
    if isinstance(item, (str, os.PathLike)):  # a Parquet/Feather/IPC file
        from ._tables import read_table
        item = read_table(item)
    if hasattr(item, "column_names") and hasattr(item, "to_pandas"):  # pyarrow Table
        item = item.to_pandas()
    return item


def _one_tensor(item: Any, arg: str, where: str, dtype: torch.dtype, device: torch.device,
                feature_names: Sequence[str] | None) -> torch.Tensor:
    item = as_frame(item)
    if hasattr(item, "columns") and hasattr(item, "to_numpy"):  # pandas-like frame
        columns = [str(c) for c in item.columns]
        if feature_names is not None and columns != list(feature_names):
            missing = [n for n in feature_names if n not in columns]
            if missing:
                fail(arg, where, "a table with the model's feature columns " +
                     str(list(feature_names)), f"missing {missing}")
            item = item[list(feature_names)]
        array = _frame_values(item, arg, where)
    elif isinstance(item, torch.Tensor):
        array = item.detach().cpu().numpy()
    else:
        array = np.asarray(item)
    if array.dtype.kind not in "fiub":
        fail(arg, where, "numeric", f"dtype {array.dtype}", as_text=True)
    if array.ndim == 1:
        fail(arg, where, "at least 2-D with instances on the first axis (use x[None] for one row)",
             f"shape {array.shape}", as_text=True)
    if not np.all(np.isfinite(array)):
        fail(arg, where, "finite (no NaN or inf)", "non-finite values", as_text=True)
    return torch.as_tensor(np.ascontiguousarray(array)).to(device=device, dtype=dtype)


def _frame_values(frame: Any, arg: str, where: str) -> np.ndarray:
    """A table's values; pandas' nullable and Arrow-backed numeric columns become floats
    with NaN for missing values (``to_numpy`` alone gives objects), while text and
    categorical columns are refused by name rather than turned into codes."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):  # e.g. polars: numeric columns convert as is
        return frame.to_numpy()
    refused = [str(name) for name, dtype in frame.dtypes.items()
               if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))
               or isinstance(dtype, pd.CategoricalDtype)]
    if refused:
        fail(arg, where, "a table of numeric columns (encode categories as numbers first)",
             f"non-numeric columns {refused}", as_text=True)
    return frame.to_numpy(dtype=np.float64, na_value=np.nan)


def check_instance(instance: Any, n_rows: int, where: str) -> np.ndarray:
    idx = np.atleast_1d(np.asarray(instance))
    if idx.size == 0 or idx.dtype.kind not in "iu" or idx.ndim != 1:
        fail("instance", where, "a non-empty vector of 0-based row indices", instance)
    if idx.min() < 0 or idx.max() >= n_rows:
        fail("instance", where, f"row indices in [0, {n_rows - 1}]", instance)
    return idx.astype(np.int64)
