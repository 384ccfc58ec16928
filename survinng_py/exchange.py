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
event           dictionary<int32, string>   event name
time            float64                     time point (original scale)
value           float32 or float64          attribution, as computed
pred ...        same as value               pred, and pred_ref, pred_diff,
                                            pred_diff_q1, pred_diff_q3 where present
==============  ==========================  ==========================================

``wide``, one row per (instance, event, time): ``instance``, ``event``, ``time``, one
column per feature (``<input>:<feature>`` when there are several inputs), then the
prediction columns.

Predictions (:func:`predictions_table`) are ``instance, event, time, <target>``; input
data (:func:`data_table`) one named column per feature.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ._validation import SurvinngError, fail, first_line
from .result import PRED_FIELDS, SurvResult

FORMAT_VERSION = 1
METADATA_KEY = b"survinng_py"
FORMATS = {".parquet": "parquet", ".pq": "parquet", ".feather": "feather", ".arrow": "feather",
           ".arrows": "stream", ".ipc": "stream"}
_ROWS_PER_BATCH = 1 << 20


def _pa():
    try:
        import pyarrow
    except ImportError as err:  # pragma: no cover - pyarrow is in the [arrow] extra
        raise SurvinngError("the Arrow exchange needs pyarrow: pip install 'survinng-py[arrow]'") \
            from err
    return pyarrow


# -- results -> Arrow -----------------------------------------------------------------
def _metadata(result: SurvResult, layout: str) -> dict:
    from . import __version__
    return {"format_version": FORMAT_VERSION, "kind": "attributions", "layout": layout,
            "package_version": __version__, "method": result.method,
            "model_class": result.model_class, "target": result.target, "args": result.args,
            "time": result.time.tolist(), "instance": result.instance.tolist(),
            "input_names": result.input_names, "feature_names": result.feature_names,
            "feature_shapes": [list(s) for s in result.feature_shapes],
            "event_names": result.event_names, "value_dtype": result.values[0].dtype.name,
            "pred_fields": [f for f in PRED_FIELDS if getattr(result, f) is not None]}


def _schema(result: SurvResult, layout: str):
    pa = _pa()
    value_type = pa.from_numpy_dtype(result.values[0].dtype)
    label = pa.dictionary(pa.int32(), pa.string())
    if layout == "long":
        fields = [("instance", pa.int32()), ("input", label), ("feature", label),
                  ("feature_index", pa.int32()), ("event", label), ("time", pa.float64()),
                  ("value", value_type)]
    else:
        fields = [("instance", pa.int32()), ("event", label), ("time", pa.float64())]
        fields += [(name, value_type) for name in _wide_columns(result)]
    fields += [(f, value_type) for f in PRED_FIELDS if getattr(result, f) is not None]
    meta = json.dumps(_metadata(result, layout), allow_nan=True).encode()
    return pa.schema(fields, metadata={METADATA_KEY: meta})


def _wide_columns(result: SurvResult) -> list[str]:
    several = len(result.values) > 1
    return [f"{inp}:{name}" if several else name
            for inp, names in zip(result.input_names, result.feature_names) for name in names]


def _batches(result: SurvResult, layout: str, schema) -> Iterator:
    """Record batches of at most about ``_ROWS_PER_BATCH`` rows, instance chunk by chunk."""
    pa = _pa()
    n, n_e, n_t = len(result.instance), len(result.event_names), len(result.time)
    if result.instance.size and (result.instance.min() < -2**31 or result.instance.max() >= 2**31):
        fail("result", "to_arrow()", "instance ids that fit in int32", "larger ids", as_text=True)
    ids = result.instance.astype(np.int32)
    events = pa.array(result.event_names, pa.string())
    preds = {f: getattr(result, f) for f in PRED_FIELDS if getattr(result, f) is not None}
    if layout == "wide":
        width = sum(len(names) for names in result.feature_names)
        step = max(1, _ROWS_PER_BATCH // max(1, n_e * n_t * max(1, width // 8)))
        for a in range(0, n, step):
            b = min(n, a + step)
            rows = (b - a) * n_e * n_t
            cols = [pa.array(np.repeat(ids[a:b], n_e * n_t)),
                    pa.DictionaryArray.from_arrays(
                        pa.array(np.tile(np.repeat(np.arange(n_e, dtype=np.int32), n_t), b - a)), events),
                    pa.array(np.tile(result.time, (b - a) * n_e))]
            for values in result.values:
                flat = values[a:b].reshape(b - a, -1, n_e * n_t)
                cols += [pa.array(np.ascontiguousarray(flat[:, j]).reshape(rows))
                         for j in range(flat.shape[1])]
            cols += [pa.array(p[a:b].reshape(-1)) for p in preds.values()]
            yield pa.RecordBatch.from_arrays(cols, schema=schema)
        return
    inputs = pa.array(result.input_names, pa.string())
    # One feature dictionary for all inputs: IPC files allow one dictionary per column.
    vocabulary = list(dict.fromkeys(name for names in result.feature_names for name in names))
    names = pa.array(vocabulary, pa.string())
    position = {name: i for i, name in enumerate(vocabulary)}
    for k, values in enumerate(result.values):
        codes = np.array([position[name] for name in result.feature_names[k]], dtype=np.int32)
        n_f = len(result.feature_names[k])
        per_instance = n_f * n_e * n_t
        step = max(1, _ROWS_PER_BATCH // max(1, per_instance))
        for a in range(0, n, step):
            b = min(n, a + step)
            rows = (b - a) * per_instance
            feature_idx = np.tile(np.repeat(np.arange(n_f, dtype=np.int32), n_e * n_t), b - a)
            cols = [pa.array(np.repeat(ids[a:b], per_instance)),
                    pa.DictionaryArray.from_arrays(pa.array(np.full(rows, k, np.int32)), inputs),
                    pa.DictionaryArray.from_arrays(pa.array(codes[feature_idx]), names),
                    pa.array(feature_idx),
                    pa.DictionaryArray.from_arrays(
                        pa.array(np.tile(np.repeat(np.arange(n_e, dtype=np.int32), n_t),
                                         (b - a) * n_f)), events),
                    pa.array(np.tile(result.time, (b - a) * n_f * n_e)),
                    pa.array(values[a:b].reshape(rows))]
            cols += [pa.array(np.broadcast_to(p[a:b, None], (b - a, n_f, n_e, n_t)).reshape(rows))
                     for p in preds.values()]
            yield pa.RecordBatch.from_arrays(cols, schema=schema)


def to_arrow(result: SurvResult, layout: str = "long"):
    """The result as one ``pyarrow.Table`` (``layout``: ``"long"`` or ``"wide"``)."""
    layout = _check_layout(layout, "to_arrow()")
    schema = _schema(result, layout)
    return _pa().Table.from_batches(list(_batches(result, layout, schema)), schema=schema)


def _check_layout(layout: Any, where: str) -> str:
    if layout not in ("long", "wide"):
        fail("layout", where, "'long' or 'wide'", layout)
    return layout


# -- Arrow -> results -----------------------------------------------------------------
def from_arrow(table) -> SurvResult:
    """Rebuild a :class:`SurvResult` from a table written by :func:`to_arrow`."""
    pa = _pa()
    if not isinstance(table, pa.Table):
        fail("table", "from_arrow()", "a pyarrow.Table", type(table).__name__)
    meta = _read_metadata(table.schema, "from_arrow()")
    expected = _expected_schema(meta)
    if not table.schema.remove_metadata().equals(expected):
        got = [f"{f.name}: {f.type}" for f in table.schema]
        fail("table", "from_arrow()", "a table with the survinng_py columns "
             f"{[f'{f.name}: {f.type}' for f in expected]}", got, as_text=True)
    n, n_e, n_t = len(meta["instance"]), len(meta["event_names"]), len(meta["time"])
    shapes = [tuple(s) for s in meta["feature_shapes"]]
    sizes = [math.prod(s) for s in shapes]
    n_rows = n * n_e * n_t * (sum(sizes) if meta["layout"] == "long" else 1)
    if table.num_rows != n_rows:
        fail("table", "from_arrow()", f"{n_rows} rows as its metadata says", f"{table.num_rows} rows",
             as_text=True)
    dtype = np.dtype(meta["value_dtype"])

    def column(name):
        return table.column(name).to_numpy()

    if meta["layout"] == "long":
        flat = column("value")
        bounds = np.cumsum([0] + [n * s * n_e * n_t for s in sizes])
        values = [flat[a:b].reshape(n, *shape, n_e, n_t) for a, b, shape in
                  zip(bounds[:-1], bounds[1:], shapes)]
        per_row = sizes[0] if sizes else 1
        preds = {f: column(f)[:bounds[1]].reshape(n, per_row, n_e, n_t)[:, 0]
                 for f in meta["pred_fields"]}
    else:
        names = [f.name for f in expected][3:3 + sum(sizes)]
        stacked = np.stack([column(c) for c in names], axis=1)
        cube = stacked.reshape(n, n_e, n_t, sum(sizes)).transpose(0, 3, 1, 2)
        bounds = np.cumsum([0] + sizes)
        values = [np.ascontiguousarray(cube[:, a:b]).reshape(n, *shape, n_e, n_t)
                  for a, b, shape in zip(bounds[:-1], bounds[1:], shapes)]
        preds = {f: column(f).reshape(n, n_e, n_t) for f in meta["pred_fields"]}
    values = [v.astype(dtype, copy=False) for v in values]
    empty = np.empty((n, n_e, n_t), dtype)
    return SurvResult(values, time=np.asarray(meta["time"], np.float64),
                      feature_names=meta["feature_names"], input_names=meta["input_names"],
                      event_names=meta["event_names"], instance=np.asarray(meta["instance"], np.int64),
                      method=meta["method"], model_class=meta["model_class"],
                      target=meta["target"], args=meta["args"],
                      pred=preds.pop("pred", empty), **preds)


def _read_metadata(schema, where: str) -> dict:
    raw = (schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        fail("table", where, "a table written by survinng_py (schema metadata key 'survinng_py')",
             "no such metadata", as_text=True)
    try:
        meta = json.loads(raw)
    except ValueError:
        fail("table", where, "a table whose survinng_py metadata is valid JSON", "unreadable metadata",
             as_text=True)
    if meta.get("format_version") != FORMAT_VERSION or meta.get("kind") != "attributions":
        fail("table", where, f"survinng_py attribution format version {FORMAT_VERSION}",
             f"kind {meta.get('kind')!r}, version {meta.get('format_version')!r}", as_text=True)
    return meta


def _expected_schema(meta: dict):
    """The column layout a table with this metadata must have."""
    shapes = [tuple(s) for s in meta["feature_shapes"]]
    values = [np.empty((0, *s, 0, 0), meta["value_dtype"]) for s in shapes]
    stub = SurvResult(values, pred=np.empty((0, 0, 0)), time=meta["time"],
                      feature_names=meta["feature_names"], input_names=meta["input_names"],
                      event_names=meta["event_names"], instance=[], method=meta["method"],
                      model_class=meta["model_class"], target=meta["target"], args={},
                      **{f: np.empty(0) for f in meta["pred_fields"] if f != "pred"})
    if "pred" not in meta["pred_fields"]:  # pred is always written; keep the check honest
        fail("table", "from_arrow()", "metadata listing the pred column", meta["pred_fields"])
    return _schema(stub, meta["layout"]).remove_metadata()


# -- files ------------------------------------------------------------------------------
def write(result: SurvResult, path: str | os.PathLike, format: str | None = None, *,
          layout: str = "long", overwrite: bool = False) -> Path:
    """Write ``result`` to Parquet, Feather (Arrow IPC file) or an Arrow IPC stream.

    The format comes from ``format`` (``"parquet"``, ``"feather"``, ``"stream"``) or the
    suffix (``.parquet``/``.pq``, ``.feather``/``.arrow``, ``.arrows``/``.ipc``). Record
    batches are written one at a time. An existing file is kept unless ``overwrite``.

    Examples
    --------
    >>> import numpy as np, torch, tempfile, os, survinng_py as sv
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    >>> exp = sv.explain(net, np.eye(2), model_type="deepsurv",
    ...                  baseline_hazard=([1.0, 2.0], [0.1, 0.2]))
    >>> res = sv.surv_grad(exp, instance=[0, 1])
    >>> path = sv.exchange.write(res, os.path.join(tempfile.mkdtemp(), "grad.parquet"))
    >>> back = sv.exchange.read(path)
    >>> np.array_equal(back.values[0], res.values[0])
    True
    """
    pa = _pa()
    if not isinstance(result, SurvResult):
        fail("result", "write()", "a SurvResult", type(result).__name__)
    path = Path(path)
    fmt = _format(path, format, "write()")
    layout = _check_layout(layout, "write()")
    if path.exists() and not overwrite:
        fail("path", "write()", "a file that does not exist yet (pass overwrite=True to replace it)",
             str(path))
    schema = _schema(result, layout)
    batches = _batches(result, layout, schema)
    if fmt == "parquet":
        import pyarrow.parquet as pq
        with pq.ParquetWriter(path, schema) as writer:
            for batch in batches:
                writer.write_batch(batch)
    else:
        opener = pa.ipc.new_file if fmt == "feather" else pa.ipc.new_stream
        with pa.OSFile(str(path), "wb") as sink, opener(sink, schema) as writer:
            for batch in batches:
                writer.write_batch(batch)
    return path


def read(path: str | os.PathLike) -> SurvResult:
    """Read a result written by :func:`write` (the format is detected from the file)."""
    return from_arrow(read_table(path))


def read_table(path: str | os.PathLike):
    """The ``pyarrow.Table`` of a Parquet, Feather or IPC-stream file, checked for readability."""
    pa = _pa()
    path = Path(path)
    if not path.is_file():
        fail("path", "read()", "an existing file", str(path))
    with open(path, "rb") as handle:
        head = handle.read(8)
    try:
        if head[:4] == b"PAR1":
            import pyarrow.parquet as pq
            return pq.read_table(path)
        if head[:6] == b"ARROW1":
            with pa.memory_map(str(path)) as source:
                return pa.ipc.open_file(source).read_all()
        with pa.memory_map(str(path)) as source:
            return pa.ipc.open_stream(source).read_all()
    except (pa.ArrowException, OSError) as err:
        first = first_line(err)
        raise SurvinngError(f"`path` of read() must be a complete Parquet, Feather or Arrow IPC "
                            f"file; got {path.name} ({first})") from None


def _format(path: Path, format: str | None, where: str) -> str:
    if format is not None:
        if format not in ("parquet", "feather", "stream"):
            fail("format", where, "'parquet', 'feather' or 'stream'", format)
        return format
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        fail("path", where, "a file name ending in " + ", ".join(FORMATS) + " (or pass `format`)",
             str(path))
    return fmt


# -- predictions and data -----------------------------------------------------------------
def predictions_table(explainer, x: Any = None, *, instance: Any = None, target: str = "survival"):
    """Predictions as a table ``instance, event, time, <target>`` with labels in the metadata."""
    from .methods._core import predict, prepare
    pa = _pa()
    inputs, ids, _ = prepare(explainer, x, instance, target, None, "predictions_table()")
    pred = predict(explainer, inputs, target)
    n, n_e, n_t = pred.shape
    events = explainer.model.event_names(target, explainer.model.num_risks(inputs))
    meta = {"format_version": FORMAT_VERSION, "kind": "predictions", "target": target,
            "model_class": explainer.model.model_class, "time": explainer.model.time.tolist()}
    return pa.table({
        "instance": pa.array(np.repeat(ids.astype(np.int32), n_e * n_t)),
        "event": pa.DictionaryArray.from_arrays(
            pa.array(np.tile(np.repeat(np.arange(n_e, dtype=np.int32), n_t), n)), pa.array(events)),
        "time": pa.array(np.tile(explainer.model.time, n * n_e)),
        target: pa.array(pred.reshape(-1))}).replace_schema_metadata(
            {METADATA_KEY: json.dumps(meta).encode()})


def data_table(data: Any, feature_names: list[str]):
    """A 2-D array as a table with one named column per feature (zero-copy per column)."""
    pa = _pa()
    array = np.asarray(data)
    if array.ndim != 2 or array.shape[1] != len(feature_names):
        fail("data", "data_table()", f"a 2-D array with {len(feature_names)} columns",
             f"shape {array.shape}", as_text=True)
    return pa.table({name: array[:, j] for j, name in enumerate(feature_names)})
