"""Arrow exchange layer: labelled, lossless tables of attributions, predictions and data.

A result becomes an Arrow table whose schema metadata (key ``survinng_py``, JSON) holds
everything needed to rebuild it; files are Parquet, Feather (Arrow IPC file) or Arrow
IPC stream. Nothing is pickled. Layouts:

``long`` (default), one row per (input, instance, feature, event, time), in that order:

==============  ==========================  ==========================================
column          type                        meaning
==============  ==========================  ==========================================
instance        int32                       row id of the explained point
input           dictionary<int32, string>   network input name
feature         dictionary<int32, string>   feature name (``X1:Y2:Z3`` for tensors)
feature_index   int32                       flat (row-major) index within the input
feature_i       dictionary<int32, string>   first feature of the pair (second-order
                                            results only: Hessian(t), IntHess(t))
feature_j       dictionary<int32, string>   second feature of the pair (idem)
event           dictionary<int32, string>   event name
time            float64                     time point (original scale)
value           float32 or float64          attribution, as computed
pred ...        same as value               pred, and pred_ref, pred_diff,
                                            pred_diff_q1, pred_diff_q3 where present
==============  ==========================  ==========================================

``wide``, one row per (instance, event, time): ``instance``, ``event``, ``time``, one
column per feature (``<input>:<feature>`` when there are several inputs), then the
prediction columns.

Reading places every number by its key columns, whatever the row order (a file sorted
again by another tool reads back the same), and refuses a table whose keys do not form
exactly the grid its metadata describes. The metadata carries a SHA-256 digest of the
labels and numbers, so a file changed after writing is refused rather than read wrong.

Format versions: 3 adds the feature pairs of second-order results (metadata key
``feature_pairs`` and the ``feature_i``, ``feature_j`` columns); files of version 2 are
still read, as results without pairs.

Predictions (:func:`predictions_table`) are ``instance, event, time, <target>``; input
data (:func:`data_table`) one named column per feature.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ._arrow import (
    FORMAT_VERSION,
    METADATA_KEY,
    READ_VERSIONS,
    _batches,
    check_layout,
    fields_from_batches,
    prepare_table,
    to_arrow,
)
from ._files import check_write_path
from ._tables import FORMATS, arrow, format_of, open_batches, read_table, write_batches
from ._validation import fail
from .result import SurvResult

__all__ = [
    "to_arrow",
    "from_arrow",
    "write",
    "read",
    "read_dataset",
    "read_table",
    "predictions_table",
    "data_table",
    "FORMATS",
    "FORMAT_VERSION",
    "READ_VERSIONS",
    "METADATA_KEY",
]


# -- Arrow tables -------------------------------------------------------------------------------
def from_arrow(table) -> SurvResult:
    """Rebuild a :class:`SurvResult` from a table written by :func:`to_arrow`.

    Every number is placed by its key columns, whatever the row order.

    Parameters
    ----------
    table : pyarrow.Table

    Returns
    -------
    SurvResult

    Raises
    ------
    SurvinngError
        If the table was not written by survinng_py, its metadata breaks a rule, its
        columns or rows do not form the grid the metadata describes, predictions differ
        between the rows of one (instance, event, time), or the numbers do not match the
        digest.

    Examples
    --------
    >>> import numpy as np, torch, survinng_py as sv
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    >>> exp = sv.explain(net, np.random.default_rng(1).normal(size=(30, 2)), model_type="deepsurv",
    ...                  baseline_hazard=([1.0, 2.0], [0.1, 0.2]))
    >>> res = sv.surv_grad(exp, instance=[0, 1])
    >>> sv.exchange.from_arrow(sv.exchange.to_arrow(res)).equals(res)
    True
    """
    return SurvResult.from_arrow(table)


# -- files ----------------------------------------------------------------------------------------
def write(
    result: SurvResult,
    path: str | os.PathLike,
    format: str | None = None,
    *,
    layout: str = "long",
    overwrite: bool = False,
) -> Path:
    """Write ``result`` to Parquet, Feather (Arrow IPC file) or an Arrow IPC stream.

    The file appears whole or not at all: it is written to a temporary file in the same
    folder and renamed into place (or hard-linked, so that two writers of one new path
    cannot both succeed). A failed write leaves an existing file as it was.

    Parameters
    ----------
    result : SurvResult
    path : str or PathLike
        A file in an existing folder.
    format : {"parquet", "feather", "stream"}, optional
        By default from the suffix (``.parquet``/``.pq``, ``.feather``/``.arrow``,
        ``.arrows``/``.ipc``).
    layout : {"long", "wide"}
    overwrite : bool
        Replace an existing file (it is kept otherwise).

    Returns
    -------
    Path

    Raises
    ------
    SurvinngError
        For an unknown format or layout, a missing folder, a folder as ``path``, an
        existing file without ``overwrite``, or a result :func:`to_arrow` refuses.

    Examples
    --------
    >>> import numpy as np, torch, tempfile, os, survinng_py as sv
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    >>> exp = sv.explain(net, np.eye(2), model_type="deepsurv",
    ...                  baseline_hazard=([1.0, 2.0], [0.1, 0.2]))
    >>> res = sv.surv_grad(exp, instance=[0, 1])
    >>> path = sv.exchange.write(res, os.path.join(tempfile.mkdtemp(), "grad.parquet"))
    >>> sv.exchange.read(path) == res
    True
    """
    if not isinstance(result, SurvResult):
        fail("result", "write()", "a SurvResult", type(result).__name__)
    if not isinstance(path, (str, os.PathLike)):
        fail("path", "write()", "a file path", type(path).__name__)
    if not isinstance(overwrite, bool):
        fail("overwrite", "write()", "True or False", overwrite)
    fmt = format_of(Path(path), format, where="write()")
    check_layout(layout, "write()")
    path = check_write_path(path, overwrite=overwrite, arg="path", where="write()")
    schema, meta = prepare_table(result, layout, "write()")
    return write_batches(path, fmt, schema, _batches(result, meta, schema), overwrite=overwrite)


def read(path: str | os.PathLike) -> SurvResult:
    """Read a result written by :func:`write` (the format is detected from the file).

    Parameters
    ----------
    path : str or PathLike

    Returns
    -------
    SurvResult
        Equal to the result written, whatever the row order of the file.

    Raises
    ------
    SurvinngError
        If the file is missing, not a complete Arrow file, or not exactly a result
        written by :func:`write` (see :func:`from_arrow`).

    Examples
    --------
    >>> import numpy as np, torch, survinng_py as sv
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    >>> exp = sv.explain(net, np.random.default_rng(1).normal(size=(30, 2)), model_type="deepsurv",
    ...                  baseline_hazard=([1.0, 2.0], [0.1, 0.2]))
    >>> import os, tempfile
    >>> res = sv.surv_grad(exp, instance=[0, 1])
    >>> path = sv.exchange.write(res, os.path.join(tempfile.mkdtemp(), "attr.parquet"))
    >>> sv.exchange.read(path).equals(res)
    True
    """
    with open_batches(path, where="read()") as (schema, rows, batches):
        return SurvResult(**fields_from_batches(schema, rows, batches, "path", "read()", "file"))


#: the manifest of a folder of parts written by :func:`survinng_py.explain_dataset`
MANIFEST = "_survinng.json"


def read_dataset(path: str | os.PathLike) -> SurvResult:
    """Read a folder written by :func:`~survinng_py.explain_dataset` as one result.

    Every part listed in the folder's manifest is checked against its SHA-256 and its
    rows, then read; the parts are joined in row order. This holds the whole result in
    memory: for large folders read ``<folder>/part-*.parquet`` with a Parquet engine.

    Parameters
    ----------
    path : str or PathLike
        The output folder.

    Returns
    -------
    SurvResult
        The parts joined in row order (instances are global row numbers; arguments as in
        one call on all rows).

    Raises
    ------
    SurvinngError
        If the manifest is missing or unreadable, the run did not finish, or a part is
        missing, changed, or does not match its manifest entry.

    Examples
    --------
    >>> import numpy as np, torch, survinng_py as sv
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    >>> exp = sv.explain(net, np.random.default_rng(1).normal(size=(30, 2)), model_type="deepsurv",
    ...                  baseline_hazard=([1.0, 2.0], [0.1, 0.2]))
    >>> import os, tempfile, pandas as pd
    >>> folder = tempfile.mkdtemp()
    >>> pd.DataFrame({"X1": [0.1, 0.5, 0.9], "X2": [1.0, 0.0, 0.3]}).to_parquet(
    ...     os.path.join(folder, "rows.parquet"))
    >>> run = sv.explain_dataset(exp, os.path.join(folder, "rows.parquet"),
    ...                          os.path.join(folder, "attr"), method="grad", rows_per_task=2)
    >>> sv.exchange.read_dataset(os.path.join(folder, "attr")).values[0].shape
    (3, 2, 1, 2)
    """
    from ._files import Folder, file_sha256, strict_json

    where = "read_dataset()"
    folder = Path(path)
    with Folder(folder, arg="path", where=where, what="explain_dataset() output") as files:
        raw = files.read(MANIFEST, 1 << 26)
    manifest = strict_json(raw, arg="path", where=where, what=MANIFEST)
    parts = manifest.get("parts") if isinstance(manifest, dict) else None
    if not manifest.get("complete") or not isinstance(parts, list) or not parts:
        fail("path", where, "the folder of a finished explain_dataset() run", str(path))
    results = []
    for number, part in enumerate(sorted(parts, key=lambda p: p["unit"])):
        if part.get("file") != f"part-{number:05d}.parquet":
            fail(
                "path",
                where,
                "a manifest listing parts part-00000.parquet, ... in order",
                part.get("file"),
            )
        file = folder / part["file"]
        if file_sha256(file) != part["sha256"]:
            fail("path", where, f"a folder whose {part['file']} is unchanged", "missing or changed")
        result = read(file)
        expected = np.arange(part["first_row"], part["first_row"] + part["n_rows"])
        if not np.array_equal(result.instance, expected):
            fail("path", where, f"a folder whose {part['file']} holds its manifest's rows", file)
        results.append(result)
    first = results[0]
    instance = np.concatenate([r.instance for r in results])
    joined = {
        name: None
        if getattr(first, name) is None
        else np.concatenate([getattr(r, name) for r in results])
        for name in ("pred", "pred_ref", "pred_diff", "pred_diff_q1", "pred_diff_q3")
    }
    values = [np.concatenate([r.values[k] for r in results]) for k in range(len(first.values))]
    args = {**first.args, "instance": instance.tolist()}
    return first.replace(values=values, instance=instance, args=args, **joined)


# -- predictions and data -------------------------------------------------------------------------
def predictions_table(explainer, x: Any = None, *, instance: Any = None, target: str = "survival"):
    """Predictions as a table ``instance, event, time, <target>`` with labels in the metadata.

    Parameters
    ----------
    explainer : Explainer
        From :func:`survinng_py.explain`.
    x : array, DataFrame, tensor or list of them, optional
        New rows to predict.
    instance : int or sequence of int, optional
        0-based rows of the explainer data. Give exactly one of ``x`` and ``instance``.
    target : str
        A target of the model family.

    Returns
    -------
    pyarrow.Table
        Columns ``instance``, ``event``, ``time`` and the target, one row per instance,
        event and time.

    Raises
    ------
    SurvinngError
        As the attribution methods, for rows or a target the model does not accept.

    Examples
    --------
    >>> import numpy as np, torch, survinng_py as sv
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    >>> exp = sv.explain(net, np.random.default_rng(1).normal(size=(30, 2)), model_type="deepsurv",
    ...                  baseline_hazard=([1.0, 2.0], [0.1, 0.2]))
    >>> table = sv.exchange.predictions_table(exp, instance=[0, 1])
    >>> table.column_names, table.num_rows
    (['instance', 'event', 'time', 'survival'], 4)
    """
    from .methods._core import predict, prepare

    pa = arrow()
    inputs, ids, _ = prepare(explainer, x, instance, target, None, "predictions_table()")
    pred = predict(explainer, inputs, target)
    n, n_e, n_t = pred.shape
    events = explainer.model.event_names(target, explainer.model.num_risks(inputs))
    meta = {
        "format_version": FORMAT_VERSION,
        "kind": "predictions",
        "target": target,
        "model_class": explainer.model.model_class,
        "time": explainer.model.time.tolist(),
    }
    return pa.table(
        {
            "instance": pa.array(np.repeat(ids.astype(np.int32), n_e * n_t)),
            "event": pa.DictionaryArray.from_arrays(
                pa.array(np.tile(np.repeat(np.arange(n_e, dtype=np.int32), n_t), n)),
                pa.array(events),
            ),
            "time": pa.array(np.tile(explainer.model.time, n * n_e)),
            target: pa.array(pred.reshape(-1)),
        }
    ).replace_schema_metadata({METADATA_KEY: json.dumps(meta).encode()})


def data_table(data: Any, feature_names: list[str]):
    """A 2-D array as a table with one named column per feature (zero-copy per column).

    Parameters
    ----------
    data : array-like
        A 2-D array, one row per instance.
    feature_names : list of str
        One name per column.

    Returns
    -------
    pyarrow.Table
        One column per feature, in order.

    Raises
    ------
    SurvinngError
        For data that are not 2-D with one column per name.

    Examples
    --------
    >>> import numpy as np
    >>> from survinng_py.exchange import data_table
    >>> data_table(np.eye(2), ["age", "bmi"]).column_names
    ['age', 'bmi']
    """
    pa = arrow()
    array = np.asarray(data)
    if array.ndim != 2 or array.shape[1] != len(feature_names):
        fail(
            "data",
            "data_table()",
            f"a 2-D array with {len(feature_names)} columns",
            f"shape {array.shape}",
            as_text=True,
        )
    return pa.table({name: array[:, j] for j, name in enumerate(feature_names)})
