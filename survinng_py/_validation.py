"""Argument checks shared by the public entry points.

Every check raises :class:`SurvinngError` with one line naming the argument, the rule
and the value received, in the template "`<arg>` of <where> must be <rule>; got <value>".
"""

from __future__ import annotations

import collections
import math
import numbers
import os
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import torch

# the error helpers live below every module that raises; re-exported here, their home
# for the rest of the package
from ._errors import SurvinngError as SurvinngError
from ._errors import fail as fail
from ._errors import first_line as first_line

#: the prediction arrays of a result: ``pred`` always, the others where the method has them
PRED_FIELDS = ("pred", "pred_ref", "pred_diff", "pred_diff_q1", "pred_diff_q3")
#: every field of a result (the keyword arguments of ``SurvResult``)
RESULT_FIELDS = (
    "values",
    *PRED_FIELDS,
    "time",
    "feature_names",
    "input_names",
    "event_names",
    "instance",
    "method",
    "model_class",
    "target",
    "args",
    "feature_pairs",
)


def check_choice(value: Any, choices: Sequence[str], arg: str, where: str) -> str:
    if not isinstance(value, str) or value not in choices:
        fail(arg, where, "one of " + ", ".join(repr(c) for c in choices), value)
    return value


def check_int(
    value: Any, arg: str, where: str, minimum: int = 1, maximum: int | None = None
) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        fail(arg, where, f"an integer >= {minimum}", value)
    if maximum is not None and int(value) > maximum:
        fail(arg, where, f"an integer in [{minimum}, {maximum}]", value)
    return int(value)


def check_float(value: Any, arg: str, where: str, minimum: float = 0.0) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value < minimum
    ):
        fail(arg, where, f"a finite number >= {minimum}", value)
    return float(value)


class ResultLike(Protocol):
    """What the modules below :mod:`survinng_py.result` (Arrow tables, plots, shares) use
    of a result; :class:`~survinng_py.SurvResult` is the one implementation."""

    values: list[np.ndarray]
    pred: np.ndarray
    pred_ref: np.ndarray | None
    pred_diff: np.ndarray | None
    pred_diff_q1: np.ndarray | None
    pred_diff_q3: np.ndarray | None
    time: np.ndarray
    feature_names: list[list[str]]
    input_names: list[str]
    event_names: list[str]
    instance: np.ndarray
    method: str
    model_class: str
    target: str
    args: dict[str, Any]
    feature_pairs: list[list[list[str]]] | None

    @property
    def label(self) -> str: ...

    @property
    def feature_shapes(self) -> list[tuple[int, ...]]: ...

    def replace(self, **fields: Any) -> ResultLike: ...

    def _input_index(self, input: int | str) -> int: ...


def is_result(value: Any) -> bool:
    """Whether ``value`` is a result: it has every field of one, with numpy arrays where a
    result has them, and a result's methods. The modules below :mod:`survinng_py.result`
    (Arrow tables, plots, shares) check this rather than import the class."""
    return (
        all(hasattr(value, name) for name in RESULT_FIELDS)
        and all(hasattr(type(value), name) for name in ("label", "feature_shapes", "replace"))
        and isinstance(value.values, list)
        and all(isinstance(v, np.ndarray) for v in value.values)
        and isinstance(value.time, np.ndarray)
        and isinstance(value.instance, np.ndarray)
    )


def check_flag(value: Any, arg: str, where: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        fail(arg, where, "True or False", value)
    return bool(value)


def check_dtype(dtype: Any, where: str) -> torch.dtype:
    aliases = {
        "float32": torch.float32,
        "float": torch.float32,
        "float64": torch.float64,
        "double": torch.float64,
        torch.float32: torch.float32,
        torch.float64: torch.float64,
    }
    try:
        return aliases[dtype]
    except (KeyError, TypeError):
        fail("dtype", where, "'float32' or 'float64' (or the torch dtype)", dtype)


def available_devices() -> list[str]:
    """The devices this package computes on that are available here: the CPU and, where
    CUDA is, each CUDA device."""
    if not torch.cuda.is_available():
        return ["cpu"]
    return ["cpu", "cuda"] + [f"cuda:{k}" for k in range(torch.cuda.device_count())]


def check_device(device: Any, where: str) -> torch.device:
    """``device`` as a torch device, if it is one this package computes on (CPU, CUDA)
    and it is available here; ``"mps"``, ``"meta"`` or a missing CUDA index are refused."""
    choices = available_devices()
    rule = "a device that is available here: " + ", ".join(repr(c) for c in choices)
    if len(choices) == 1:
        rule += " (no CUDA device found)"
    try:
        dev = torch.device(device) if isinstance(device, (str, torch.device)) else None
    except (RuntimeError, TypeError):
        dev = None
    if (
        dev is None
        or dev.type not in ("cpu", "cuda")
        or (dev.type == "cuda" and str(dev) not in choices)
    ):
        fail("device", where, rule, str(device) if isinstance(device, torch.device) else device)
    return dev


def _is_label(value: Any) -> bool:
    return isinstance(value, (str, numbers.Number)) and not isinstance(value, (bool, np.bool_))


def _is_sequence(value: Any) -> bool:
    """An ordered collection (list, tuple, array, pandas Index) that is not text; sets and
    mappings have no order to label by."""
    return (
        not isinstance(value, (str, bytes, set, frozenset, Mapping))
        and hasattr(value, "__len__")
        and hasattr(value, "__iter__")
    )


def check_names(value: Any, arg: str, where: str) -> list[str]:
    """A list of distinct labels as strings. A string is refused rather than split into
    characters, and a repeated name rather than silently labelling two things alike."""
    if not _is_sequence(value) or not all(_is_label(v) for v in value):
        fail(arg, where, "a list of names (strings or numbers), not a single string", value)
    names = [str(v) for v in value]
    repeated = _repeated(names)
    if repeated:
        fail(
            arg,
            where,
            "distinct names (they label the results)",
            f"{repeated} repeated",
            as_text=True,
        )
    return names


def name_lists(value: Any, arg: str, where: str) -> list[list[str]]:
    """Feature names: one list of names (one input) or one list per input."""
    if not _is_sequence(value) or not len(value):
        fail(
            arg,
            where,
            "a list of names (not a single string), or one list of names per input",
            value,
        )
    if all(_is_label(v) for v in value):
        return [check_names(value, arg, where)]
    return [check_names(v, f"{arg}[{k}]", where) for k, v in enumerate(value)]


def to_tensor_list(
    value: Any,
    arg: str,
    where: str,
    *,
    dtype: torch.dtype,
    device: torch.device,
    feature_shapes: Sequence[tuple] | None = None,
    feature_names: Sequence[Sequence[str] | None] | None = None,
    allow_empty: bool = False,
) -> list[torch.Tensor]:
    """Turn an array, a DataFrame, a tensor or a list of them into checked tensors.

    Each element has the instance axis first. With ``feature_shapes`` the number of
    inputs and each input's per-row shape are checked; a DataFrame with named columns is
    matched to ``feature_names`` by name.
    """
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if not items:
        fail(arg, where, "an array, a DataFrame or a non-empty list of them", value)
    if feature_shapes is not None and len(items) != len(feature_shapes):
        fail(
            arg,
            where,
            f"a list of {len(feature_shapes)} input(s), one per network input",
            f"{len(items)} input(s)",
            as_text=True,
        )
    tensors = []
    for k, item in enumerate(items):
        name = arg if len(items) == 1 else f"{arg}[{k}]"
        names = None if feature_names is None else feature_names[k]
        tensors.append(
            _one_tensor(
                item, name, where, dtype, device, names, in_list=isinstance(value, (list, tuple))
            )
        )
    rows = {t.shape[0] for t in tensors}
    if len(rows) > 1:
        fail(arg, where, "inputs with the same number of rows", sorted(rows))
    if not allow_empty and tensors[0].shape[0] == 0:
        fail(arg, where, "at least one row", "0 rows", as_text=True)
    if feature_shapes is not None:
        for k, (t, shape) in enumerate(zip(tensors, feature_shapes)):
            if tuple(t.shape[1:]) != tuple(shape):
                name = arg if len(tensors) == 1 else f"{arg}[{k}]"
                fail(
                    name,
                    where,
                    f"of per-row shape {tuple(shape)}",
                    f"per-row shape {tuple(t.shape[1:])}",
                    as_text=True,
                )
    return tensors


def as_frame(item: Any) -> Any:
    """A file path or an Arrow table of named columns as a pandas DataFrame; else ``item``."""
    if isinstance(item, (str, os.PathLike)):  # a Parquet/Feather/IPC file
        from ._tables import read_table

        item = read_table(item)
    if hasattr(item, "column_names") and hasattr(item, "to_pandas"):  # pyarrow Table
        item = item.to_pandas()
    return item


def _repeated(names: list[str]) -> list[str]:
    """The names that occur more than once, sorted."""
    return sorted(name for name, count in collections.Counter(names).items() if count > 1)


def _one_tensor(
    item: Any,
    arg: str,
    where: str,
    dtype: torch.dtype,
    device: torch.device,
    feature_names: Sequence[str] | None,
    in_list: bool = False,
) -> torch.Tensor:
    item = as_frame(item)
    if hasattr(item, "columns") and hasattr(item, "to_numpy"):  # pandas-like frame
        columns = [str(c) for c in item.columns]
        repeated = _repeated(columns)
        if repeated:
            fail(
                arg,
                where,
                "a table with distinct column names",
                f"columns {repeated} repeated",
                as_text=True,
            )
        if feature_names is not None and columns != list(feature_names):
            missing = [n for n in feature_names if n not in columns]
            if missing:
                fail(
                    arg,
                    where,
                    "a table with the model's feature columns " + str(list(feature_names)),
                    f"missing {missing}",
                )
            item = item[list(feature_names)]
        array = _frame_values(item, arg, where)
    elif isinstance(item, torch.Tensor):
        array = item.detach().cpu().numpy()
    else:
        array = np.asarray(item)
    if array.dtype.kind not in "fiub":
        fail(arg, where, "numeric", f"dtype {array.dtype}", as_text=True)
    if array.ndim < 2:
        hint = (
            "a list holds one array per network input: give rows as one array"
            if in_list
            else "use x[None] for one row"
        )
        fail(
            arg,
            where,
            f"at least 2-D with instances on the first axis ({hint})",
            f"shape {array.shape}",
            as_text=True,
        )
    if not np.all(np.isfinite(array)):
        fail(arg, where, "finite (no NaN or inf)", "non-finite values", as_text=True)
    _check_range(array, arg, where, dtype)
    # a copy: the user's array stays theirs (and read-only arrays cannot be shared)
    return torch.tensor(np.ascontiguousarray(array)).to(device=device, dtype=dtype)


def _check_range(array: np.ndarray, arg: str, where: str, dtype: torch.dtype) -> None:
    """Refuse finite values that would become infinite in ``dtype`` (1e39 in float32)."""
    limit = torch.finfo(dtype).max
    if array.dtype.kind != "f" or array.size == 0 or float(np.finfo(array.dtype).max) <= limit:
        return
    largest = float(np.abs(array).max())
    if largest > limit:
        name = str(dtype).replace("torch.", "")
        fail(
            arg,
            where,
            f"within the range of {name} (|value| <= {limit:.4g}; explain() with "
            'dtype="float64" computes in double precision)',
            f"a value of magnitude {largest:.4g}",
            as_text=True,
        )


def _frame_values(frame: Any, arg: str, where: str) -> np.ndarray:
    """A table's values; pandas' nullable and Arrow-backed numeric columns become floats
    with NaN for missing values (``to_numpy`` alone gives objects), while text and
    categorical columns are refused by name rather than turned into codes."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):  # e.g. polars: numeric columns convert as is
        return frame.to_numpy()
    refused = [
        str(name)
        for name, dtype in frame.dtypes.items()
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))
        or isinstance(dtype, pd.CategoricalDtype)
    ]
    if refused:
        fail(
            arg,
            where,
            "a table of numeric columns (encode categories as numbers first)",
            f"non-numeric columns {refused}",
            as_text=True,
        )
    return frame.to_numpy(dtype=np.float64, na_value=np.nan)


def check_instance(instance: Any, n_rows: int, where: str) -> np.ndarray:
    """0-based row indices: an integer (Python or numpy) or a 1-D sequence of them.

    Floats, booleans (also inside a list, where numpy would read ``True`` as 1), text and
    nested sequences are refused, as are indices outside ``[0, n_rows - 1]``.
    """
    rule = "a non-empty vector of 0-based row indices"
    try:
        idx = np.asarray(instance)
    except (TypeError, ValueError, RuntimeError):
        fail("instance", where, rule, instance)
    items = idx.reshape(-1).tolist() if idx.dtype == object and idx.ndim <= 1 else []
    if items and all(isinstance(i, numbers.Integral) and not isinstance(i, bool) for i in items):
        fail("instance", where, f"row indices in [0, {n_rows - 1}]", instance)  # beyond int64
    has_bool = isinstance(instance, (list, tuple)) and any(
        isinstance(i, (bool, np.bool_)) for i in instance
    )
    if idx.size == 0 or idx.dtype.kind not in "iu" or idx.ndim > 1 or has_bool:
        fail("instance", where, rule, instance)
    idx = idx.reshape(-1)
    if idx.min() < 0 or idx.max() >= n_rows:
        fail("instance", where, f"row indices in [0, {n_rows - 1}]", instance)
    return idx.astype(np.int64)
