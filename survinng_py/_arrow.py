"""The Arrow codec of results: metadata, schema, the one row layout, and reading back.

Works on any object with a result's fields (see :func:`survinng_py._validation.is_result`)
and returns the fields it reads as keyword arguments of ``SurvResult``, so it sits below
:mod:`survinng_py.result`, which builds on it; the layouts and the rules are documented
in :mod:`survinng_py.exchange`, which adds files.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np

from ._files import strict_json
from ._tables import arrow
from ._validation import PRED_FIELDS, ResultLike, fail, first_line, is_result

FORMAT_VERSION = 3
#: versions this reader reads: 2 has no feature pairs (no key ``feature_pairs``)
READ_VERSIONS = (2, 3)
METADATA_KEY = b"survinng_py"
#: the metadata holds every instance id: 32 MiB is room for about two million
METADATA_MAX_BYTES = 32 * 2**20
VALUE_DTYPES = ("float32", "float64")
_MAX_ID = 2**31 - 1
_MAX_FEATURE_DIMS = 32
_KEYS = (
    "format_version",
    "kind",
    "layout",
    "package_version",
    "method",
    "model_class",
    "target",
    "args",
    "time",
    "instance",
    "input_names",
    "feature_names",
    "feature_shapes",
    "event_names",
    "value_dtype",
    "pred_fields",
    "digest",
    "feature_pairs",
)
#: the keys of each version read
_VERSION_KEYS = {2: _KEYS[:-1], 3: _KEYS}
_WIDE_KEYS = ("instance", "event", "time")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_ROWS_PER_BATCH = 1 << 20


# -- metadata: one set of rules for writing and reading --------------------------------------
def _is_text(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate cannot be stored
        return False
    return True


def _unique_texts(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) > 0
        and all(map(_is_text, value))
        and len(set(value)) == len(value)
    )


def _finite_json(value: Any) -> bool:
    """No NaN or infinity anywhere in a parsed JSON value (nesting is bounded by parsing)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(map(_finite_json, value))
    if isinstance(value, dict):
        return all(map(_finite_json, value.values()))
    return True


def _wide_columns(input_names: list[str], feature_names: list[list[str]]) -> list[str]:
    several = len(input_names) > 1
    return [
        f"{inp}:{name}" if several else name
        for inp, names in zip(input_names, feature_names)
        for name in names
    ]


def _parse_metadata(raw: bytes, *, arg: str, where: str, noun: str) -> dict:
    """The metadata in ``raw``, checked field by field; ``noun`` is what holds it in
    errors: ``"result"`` (being written), ``"table"`` or ``"file"``."""
    meta = strict_json(
        raw,
        arg=arg,
        where=where,
        what="survinng_py metadata",
        max_bytes=METADATA_MAX_BYTES,
        allow_nan=True,
    )
    subject = "a result with" if noun == "result" else f"a {noun} whose survinng_py metadata has"

    def bad(key: str, rule: str, got: Any) -> None:
        fail(arg, where, f"{subject} {key!r} as {rule}", got)

    if not isinstance(meta, dict):
        fail(
            arg,
            where,
            f"a {noun} whose survinng_py metadata is a JSON object",
            type(meta).__name__,
            as_text=True,
        )
    if (
        type(meta.get("format_version")) is not int
        or meta["format_version"] not in READ_VERSIONS
        or meta.get("kind") != "attributions"
    ):
        fail(
            arg,
            where,
            f"a {noun} of survinng_py attribution format version "
            + " or ".join(map(str, READ_VERSIONS)),
            f"kind {_shown(meta.get('kind'))}, version {_shown(meta.get('format_version'))}",
            as_text=True,
        )
    keys = _VERSION_KEYS[meta["format_version"]]
    missing = [key for key in keys if key not in meta]
    if missing:
        fail(arg, where, f"{subject} the key {missing[0]!r}", "no such key", as_text=True)
    unknown = [key for key in meta if key not in keys]
    if unknown:
        fail(
            arg,
            where,
            f"{subject} only the keys of format version {meta['format_version']}",
            f"unknown key {_shown(unknown[0])}",
            as_text=True,
        )
    if meta["layout"] not in ("long", "wide"):
        bad("layout", "'long' or 'wide'", meta["layout"])
    for key in ("package_version", "method", "model_class", "target"):
        if not _is_text(meta[key]):
            bad(key, "a string", meta[key])
    if not isinstance(meta["args"], dict) or not _finite_json(meta["args"]):
        bad("args", "a JSON object of finite values", meta["args"])
    if meta["value_dtype"] not in VALUE_DTYPES:
        bad("value_dtype", "'float32' or 'float64'", meta["value_dtype"])
    fields = meta["pred_fields"]
    if (
        not isinstance(fields, list)
        or fields[:1] != ["pred"]
        or fields != [f for f in PRED_FIELDS if f in fields]
    ):
        bad(
            "pred_fields",
            f"a list of the fields {PRED_FIELDS} in that order, starting with 'pred'",
            fields,
        )
    if not isinstance(meta["digest"], str) or not _DIGEST.fullmatch(meta["digest"]):
        bad("digest", "'sha256:' and 64 hexadecimal digits", meta["digest"])
    time = meta["time"]
    if (
        not isinstance(time, list)
        or not time
        or not all(type(t) is float for t in time)
        or not np.all(np.isfinite(time))
        or not np.all(np.diff(time) > 0)
    ):
        bad("time", "a non-empty, strictly increasing list of finite floats", time)
    ids = meta["instance"]
    if (
        not isinstance(ids, list)
        or not all(type(i) is int for i in ids)
        or (ids and (min(ids) < 0 or max(ids) > _MAX_ID))
        or len(set(ids)) != len(ids)
    ):
        bad("instance", f"a list of unique integer ids in [0, {_MAX_ID}]", ids)
    inputs = meta["input_names"]
    if not _unique_texts(inputs):
        bad("input_names", "a non-empty list of unique strings", inputs)
    names = meta["feature_names"]
    if (
        not isinstance(names, list)
        or len(names) != len(inputs)
        or not all(map(_unique_texts, names))
    ):
        bad(
            "feature_names",
            f"{len(inputs)} non-empty list(s) of unique strings, one per input",
            names,
        )
    shapes = meta["feature_shapes"]
    if (
        not isinstance(shapes, list)
        or len(shapes) != len(inputs)
        or not all(
            isinstance(s, list)
            and 0 < len(s) <= _MAX_FEATURE_DIMS
            and all(type(d) is int and 0 < d <= len(n) for d in s)
            and math.prod(s) == len(n)
            for s, n in zip(shapes, names)
        )
    ):
        bad(
            "feature_shapes",
            "one list of positive integers per input, whose product is the "
            "number of its feature names",
            shapes,
        )
    if not _unique_texts(meta["event_names"]):
        bad("event_names", "a non-empty list of unique strings", meta["event_names"])
    pairs = meta.get("feature_pairs")
    if pairs is not None and not (
        isinstance(pairs, list)
        and len(pairs) == len(inputs)
        and all(
            isinstance(per_input, list)
            and len(per_input) == len(n)
            and all(
                isinstance(pair, list) and len(pair) == 2 and all(map(_is_text, pair))
                for pair in per_input
            )
            for per_input, n in zip(pairs, names)
        )
    ):
        bad(
            "feature_pairs",
            "null or, per input, one [name, name] pair per feature name",
            pairs,
        )
    if meta["layout"] == "wide":
        counts = Counter([*_WIDE_KEYS, *_wide_columns(inputs, names), *fields])
        repeated = [c for c, count in counts.items() if count > 1]
        if repeated:
            fail(
                arg,
                where,
                f"{subject} 'feature_names' as names that give distinct wide "
                "columns (or use layout='long')",
                f"column {repeated[0]!r} twice",
                as_text=True,
            )
    return meta


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _digest(meta: dict, arrays: list[np.ndarray]) -> str:
    """SHA-256 of the metadata (but its digest) and the arrays, in their canonical order."""
    h = hashlib.sha256()
    h.update(
        json.dumps(
            {k: v for k, v in meta.items() if k != "digest"}, sort_keys=True, allow_nan=True
        ).encode()
    )
    for array in arrays:
        h.update(np.ascontiguousarray(array).data)
    return "sha256:" + h.hexdigest()


def _arrays(result: ResultLike) -> list[np.ndarray]:
    """The numbers of a result: values per input, then the predictions present."""
    return [
        *result.values,
        *(getattr(result, f) for f in PRED_FIELDS if getattr(result, f) is not None),
    ]


def _schema(meta: dict, raw: bytes | None = None):
    """The columns a table with this (checked) metadata has."""
    pa = arrow()
    value_type = pa.from_numpy_dtype(np.dtype(meta["value_dtype"]))
    label = pa.dictionary(pa.int32(), pa.string())
    if meta["layout"] == "long":
        fields = [
            ("instance", pa.int32()),
            ("input", label),
            ("feature", label),
            ("feature_index", pa.int32()),
            *([("feature_i", label), ("feature_j", label)] if meta.get("feature_pairs") else []),
            ("event", label),
            ("time", pa.float64()),
            ("value", value_type),
        ]
    else:
        fields = [("instance", pa.int32()), ("event", label), ("time", pa.float64())]
        fields += [
            (name, value_type) for name in _wide_columns(meta["input_names"], meta["feature_names"])
        ]
    fields += [(f, value_type) for f in meta["pred_fields"]]
    return pa.schema(fields, metadata=None if raw is None else {METADATA_KEY: raw})


# -- results -> Arrow ---------------------------------------------------------------------------
def _check_arrays(result: ResultLike, where: str) -> None:
    """The arrays of ``result`` agree with its labels and share one float dtype."""
    if not is_result(result):
        fail("result", where, "a SurvResult", type(result).__name__)
    n, n_e, n_t = len(result.instance), len(result.event_names), len(result.time)
    if not result.values:
        fail("result", where, "a result with at least one input", "no values", as_text=True)
    dtype = result.values[0].dtype
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        fail(
            "result", where, "a result of float32 or float64 values", f"dtype {dtype}", as_text=True
        )
    for k, v in enumerate(result.values):
        if v.dtype != dtype or v.ndim < 4 or v.shape[0] != n or v.shape[-2:] != (n_e, n_t):
            fail(
                "result",
                where,
                f"a result whose values[{k}] are {dtype} of shape "
                f"({n}, *features, {n_e}, {n_t}) (instance, ..., event, time)",
                f"{v.dtype} of shape {v.shape}",
                as_text=True,
            )
    if result.instance.ndim != 1:
        fail(
            "result",
            where,
            "a result with a vector of instance ids",
            f"shape {result.instance.shape}",
            as_text=True,
        )
    for field in PRED_FIELDS:
        p = getattr(result, field)
        if (p is not None or field == "pred") and not (
            isinstance(p, np.ndarray) and p.dtype == dtype and p.shape == (n, n_e, n_t)
        ):
            got = f"{p.dtype} of shape {p.shape}" if isinstance(p, np.ndarray) else type(p).__name__
            fail(
                "result",
                where,
                f"a result whose {field} is {dtype} of shape ({n}, {n_e}, {n_t})",
                got,
                as_text=True,
            )


def prepare_table(result: ResultLike, layout: Any, where: str) -> tuple[Any, dict]:
    """The schema (with metadata) and checked metadata of ``result`` in ``layout``; the
    metadata passes the same checks as a file being read."""
    from . import __version__

    _check_arrays(result, where)
    layout = check_layout(layout, where)
    meta = {
        "format_version": FORMAT_VERSION,
        "kind": "attributions",
        "layout": layout,
        "package_version": __version__,
        "method": result.method,
        "model_class": result.model_class,
        "target": result.target,
        "args": result.args,
        "time": result.time.tolist(),
        "instance": result.instance.tolist(),
        "input_names": result.input_names,
        "feature_names": result.feature_names,
        "feature_shapes": [list(s) for s in result.feature_shapes],
        "event_names": result.event_names,
        "value_dtype": result.values[0].dtype.name,
        "pred_fields": [f for f in PRED_FIELDS if getattr(result, f) is not None],
        "feature_pairs": result.feature_pairs,
    }
    try:
        meta["digest"] = _digest(meta, _arrays(result))
        raw = json.dumps(meta, allow_nan=True).encode()
    except (TypeError, ValueError) as err:
        fail(
            "result",
            where,
            "a result whose args are JSON values (str, int, float, bool, None, "
            "lists, dicts with string keys)",
            first_line(err),
            as_text=True,
        )
    checked = _parse_metadata(raw, arg="result", where=where, noun="result")
    if checked["args"] != result.args:
        fail(
            "result",
            where,
            "a result whose args come back unchanged from JSON (lists, not tuples; string keys)",
            _shown(result.args),
            as_text=True,
        )
    return _schema(checked, raw), checked


def check_layout(layout: Any, where: str) -> str:
    if not isinstance(layout, str) or layout not in ("long", "wide"):
        fail("layout", where, "'long' or 'wide'", layout)
    return layout


def _batches(result: ResultLike, meta: dict, schema) -> Iterator:
    """Record batches of at most about ``_ROWS_PER_BATCH`` rows, instance chunk by chunk:
    the one place that lays a result out as rows (files, Arrow tables, pandas frames)."""
    pa = arrow()
    n, n_e, n_t = len(result.instance), len(result.event_names), len(result.time)
    ids = result.instance.astype(np.int32)
    # each label column keeps one dictionary object: IPC files allow one per column
    events = pa.array(result.event_names, pa.string())
    preds = [getattr(result, f) for f in meta["pred_fields"]]

    def event_codes(repeats: int):
        return pa.DictionaryArray.from_arrays(
            pa.array(np.tile(np.repeat(np.arange(n_e, dtype=np.int32), n_t), repeats)), events
        )

    if meta["layout"] == "wide":
        width = sum(len(names) for names in result.feature_names)
        step = max(1, _ROWS_PER_BATCH // max(1, n_e * n_t * max(1, width // 8)))
        for a in range(0, n, step):
            b = min(n, a + step)
            rows = (b - a) * n_e * n_t
            cols = [
                pa.array(np.repeat(ids[a:b], n_e * n_t)),
                event_codes(b - a),
                pa.array(np.tile(result.time, (b - a) * n_e)),
            ]
            for values in result.values:
                flat = values[a:b].reshape(b - a, -1, n_e * n_t)
                cols += [
                    pa.array(np.ascontiguousarray(flat[:, j]).reshape(rows))
                    for j in range(flat.shape[1])
                ]
            cols += [pa.array(p[a:b].reshape(-1)) for p in preds]
            yield pa.RecordBatch.from_arrays(cols, schema=schema)
        return
    inputs = pa.array(result.input_names, pa.string())
    vocabulary = list(dict.fromkeys(name for names in result.feature_names for name in names))
    names = pa.array(vocabulary, pa.string())
    position = {name: i for i, name in enumerate(vocabulary)}
    pairs = meta.get("feature_pairs")
    members = _pair_vocabulary(pairs)
    member_names = pa.array(members, pa.string())
    for k, values in enumerate(result.values):
        codes = np.array([position[name] for name in result.feature_names[k]], dtype=np.int32)
        pair_codes = _pair_codes(pairs, k, members)
        n_f = len(result.feature_names[k])
        per_instance = n_f * n_e * n_t
        step = max(1, _ROWS_PER_BATCH // max(1, per_instance))
        for a in range(0, n, step):
            b = min(n, a + step)
            rows = (b - a) * per_instance
            feature_idx = np.tile(np.repeat(np.arange(n_f, dtype=np.int32), n_e * n_t), b - a)
            cols = [
                pa.array(np.repeat(ids[a:b], per_instance)),
                pa.DictionaryArray.from_arrays(pa.array(np.full(rows, k, np.int32)), inputs),
                pa.DictionaryArray.from_arrays(pa.array(codes[feature_idx]), names),
                pa.array(feature_idx),
                *(
                    pa.DictionaryArray.from_arrays(pa.array(side[feature_idx]), member_names)
                    for side in pair_codes
                ),
                event_codes((b - a) * n_f),
                pa.array(np.tile(result.time, (b - a) * n_f * n_e)),
                pa.array(values[a:b].reshape(rows)),
            ]
            cols += [
                pa.array(np.broadcast_to(p[a:b, None], (b - a, n_f, n_e, n_t)).reshape(rows))
                for p in preds
            ]
            yield pa.RecordBatch.from_arrays(cols, schema=schema)


def _pair_vocabulary(pairs: list | None) -> list[str]:
    """The feature names that appear in the pairs, in order of first appearance."""
    return list(dict.fromkeys(n for per in pairs or [] for pair in per for n in pair))


def _pair_codes(pairs: list | None, k: int, members: list[str]) -> list[np.ndarray]:
    """Per feature of input ``k``, the positions in ``members`` of its pair's names: the
    ``feature_i`` and ``feature_j`` codes (none without pairs)."""
    if not pairs:
        return []
    position = {name: i for i, name in enumerate(members)}
    codes = np.array([[position[a], position[b]] for a, b in pairs[k]], np.int32)
    return [codes[:, 0].copy(), codes[:, 1].copy()]


def build_table(result: ResultLike, layout: Any, where: str):
    """``result`` as one ``pyarrow.Table`` in ``layout``; ``where`` names the caller in errors."""
    schema, meta = prepare_table(result, layout, where)
    return arrow().Table.from_batches(list(_batches(result, meta, schema)), schema=schema)


def to_arrow(result: ResultLike, layout: str = "long"):
    """The result as one ``pyarrow.Table``.

    Parameters
    ----------
    result : SurvResult
    layout : {"long", "wide"}
        One row per (input, instance, feature, event, time), or one per (instance,
        event, time) with a column per feature (see :mod:`survinng_py.exchange`).

    Returns
    -------
    pyarrow.Table
        With the labels, arguments and a digest in the schema metadata.

    Raises
    ------
    SurvinngError
        If ``layout`` is unknown, or the result cannot be stored exactly (repeated
        instance ids, ids outside int32, args that are not JSON, arrays that do not
        match the labels, wide column names that repeat).
    """
    return build_table(result, layout, "to_arrow()")


# -- Arrow -> the fields of a result ----------------------------------------------------------
def fields_from_table(table) -> dict[str, Any]:
    """The fields of the result in a table of :func:`to_arrow` (see
    :func:`survinng_py.exchange.from_arrow`), as keyword arguments of ``SurvResult``."""
    pa = arrow()
    if not isinstance(table, pa.Table):
        fail("table", "from_arrow()", "a pyarrow.Table", type(table).__name__)
    try:
        table.validate(full=True)
    except pa.ArrowException as err:
        fail("table", "from_arrow()", "a valid Arrow table", first_line(err), as_text=True)
    return fields_from_batches(
        table.schema, table.num_rows, iter(table.to_batches()), "table", "from_arrow()", "table"
    )


def fields_from_batches(
    schema, rows: int, batches: Iterator, arg: str, where: str, noun: str
) -> dict[str, Any]:
    """The fields of the result in ``rows`` rows of record ``batches`` of ``schema``, placed
    by their keys, as keyword arguments of ``SurvResult``; the metadata and the row count
    are checked before any batch is read."""
    raw = (schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        fail(
            arg,
            where,
            f"a {noun} written by survinng_py (schema metadata key 'survinng_py')",
            "no such metadata",
            as_text=True,
        )
    meta = _parse_metadata(raw, arg=arg, where=where, noun=noun)
    expected = _schema(meta)
    if not schema.remove_metadata().equals(expected):
        try:
            difference = _column_difference(expected, schema)
        except UnicodeDecodeError:  # pyarrow decodes names only when asked
            difference = "a column name that is not UTF-8"
        fail(
            arg,
            where,
            f"a {noun} with the columns its survinng_py metadata describes",
            difference,
            as_text=True,
        )
    declared = _declared_rows(meta)
    if rows != declared:  # before anything is allocated
        fail(
            arg,
            where,
            f"a {noun} of {declared} rows as its metadata says",
            f"{rows} rows",
            as_text=True,
        )
    grid = _Grid(meta, arg, where, noun)
    for batch in batches:
        nulls = [
            name for name, column in zip(batch.schema.names, batch.columns) if column.null_count
        ]
        if nulls:
            fail(
                arg,
                where,
                f"a {noun} without missing (null) entries",
                f"nulls in {nulls[0]!r}",
                as_text=True,
            )
        grid.place(batch)
    values, preds = grid.result()
    if _digest(meta, [*values, *preds.values()]) != meta["digest"]:
        fail(
            arg,
            where,
            f"a {noun} whose labels and numbers match the digest in its metadata",
            "a mismatch (changed after writing)",
            as_text=True,
        )
    return {
        "values": values,
        "time": np.asarray(meta["time"], np.float64),
        "feature_names": meta["feature_names"],
        "input_names": meta["input_names"],
        "event_names": meta["event_names"],
        "instance": np.asarray(meta["instance"], np.int64),
        "method": meta["method"],
        "model_class": meta["model_class"],
        "target": meta["target"],
        "args": meta["args"],
        "feature_pairs": meta.get("feature_pairs"),
        **preds,
    }


def _column_difference(expected, got) -> str:
    """The first column where schema ``got`` differs from ``expected``, in words."""
    for want, have in zip(expected, got):
        if want.name != have.name:
            return f"column {_shown(have.name)} where {want.name!r} belongs"
        if not want.type.equals(have.type):
            return f"column {want.name!r} of type {have.type} instead of {want.type}"
        if want.nullable != have.nullable:
            return f"column {want.name!r} declared non-nullable"
    if len(got) < len(expected):
        return f"no column {expected[len(got)].name!r}"
    return f"an extra column {_shown(got[len(expected)].name)}"


def _declared_rows(meta: dict) -> int:
    cells = len(meta["instance"]) * len(meta["event_names"]) * len(meta["time"])
    return cells * (sum(map(len, meta["feature_names"])) if meta["layout"] == "long" else 1)


class _Grid:
    """The cells a table's metadata describes, filled batch by batch from the key columns.

    Each row's position comes from its keys alone; a key outside the metadata, a cell
    filled twice or left empty, or a prediction that differs between the rows of one
    (instance, event, time) is refused. Work is vectorised per batch.
    """

    def __init__(self, meta: dict, arg: str, where: str, noun: str):
        self.arg, self.where, self.noun = arg, where, noun
        self.meta, self.long = meta, meta["layout"] == "long"
        self.dtype = np.dtype(meta["value_dtype"])
        self.bits = np.dtype(f"u{self.dtype.itemsize}")
        self.ids = np.asarray(meta["instance"], np.int64)
        self.id_order = np.argsort(self.ids, kind="stable")
        self.time = np.asarray(meta["time"], np.float64)
        self.shapes = [tuple(s) for s in meta["feature_shapes"]]
        self.sizes = np.array([math.prod(s) for s in self.shapes], np.int64)
        self.n, self.n_e, self.n_t = len(self.ids), len(meta["event_names"]), len(self.time)
        cells = self.n * self.n_e * self.n_t
        # the feature vocabulary of the long layout and each flat feature's entry in it
        self.vocabulary = list(dict.fromkeys(n for names in meta["feature_names"] for n in names))
        entry = {name: v for v, name in enumerate(self.vocabulary)}
        self.feature_entry = np.array(
            [entry[n] for names in meta["feature_names"] for n in names], np.int64
        )
        self.first_feature = np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.int64)
        # second-order results: each flat feature's feature_i and feature_j entries
        pairs = meta.get("feature_pairs")
        self.pair_members = _pair_vocabulary(pairs)
        per_input = [_pair_codes(pairs, j, self.pair_members) for j in range(len(pairs or []))]
        self.pair_entry = [np.concatenate(side).astype(np.int64) for side in zip(*per_input)]
        self.values = [np.empty(self.n * s * self.n_e * self.n_t, self.dtype) for s in self.sizes]
        self.seen = np.zeros(_declared_rows(meta), bool)
        self.preds = {f: np.empty(cells, self.bits) for f in meta["pred_fields"]}
        self.pred_set = np.zeros(cells, bool)

    def result(self) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
        if not self.seen.all():
            what = (
                "(instance, input, feature, event, time)"
                if self.long
                else "(instance, event, time)"
            )
            self._refuse(f"{int((~self.seen).sum())} {what} cell(s) missing and as many repeated")
        values = [
            v.reshape(self.n, *shape, self.n_e, self.n_t)
            for v, shape in zip(self.values, self.shapes)
        ]
        preds = {
            f: store.view(self.dtype).reshape(self.n, self.n_e, self.n_t)
            for f, store in self.preds.items()
        }
        return values, preds

    def place(self, batch) -> None:
        i = self._lookup(self.ids, self.id_order, batch.column("instance"), "instance")
        e = self._labels(batch.column("event"), self.meta["event_names"], "event")
        t = self._lookup(self.time, None, batch.column("time"), "time")
        cell = (i * self.n_e + e) * self.n_t + t
        if self.long:
            k = self._labels(batch.column("input"), self.meta["input_names"], "input")
            f = self._features(batch, k)
            within = ((i * self.sizes[k] + f) * self.n_e + e) * self.n_t + t
            value = _numpy(batch.column("value"))
            offset = 0
            for j, values in enumerate(self.values):
                rows = k == j
                values[within[rows]] = value[rows]
                self.seen[offset + within[rows]] = True
                offset += len(values)
        else:
            self.seen[cell] = True
            column = len(_WIDE_KEYS)
            for values, size in zip(self.values, self.sizes):
                grid = values.reshape(self.n, size, self.n_e * self.n_t)
                for j in range(size):
                    grid[i, j, e * self.n_t + t] = _numpy(batch.column(column))
                    column += 1
        for field, store in self.preds.items():
            bits = _numpy(batch.column(field)).view(self.bits)
            new = ~self.pred_set[cell]
            store[cell[new]] = bits[new]
            if not np.array_equal(store[cell], bits):
                self._refuse(
                    f"{field} differing between the feature rows of one (instance, event, time)"
                )
        self.pred_set[cell] = True

    def _features(self, batch, k: np.ndarray) -> np.ndarray:
        """Feature positions within their input, checked against the feature labels."""
        f = _numpy(batch.column("feature_index")).astype(np.int64)
        outside = (f < 0) | (f >= self.sizes[k])
        if outside.any():
            self._refuse(f"feature_index {f[outside][0]} outside its input")
        self._pairs(batch, k, f)
        label = self._labels(batch.column("feature"), self.vocabulary, "feature")
        expected = self.feature_entry[self.first_feature[k] + f]
        wrong = np.flatnonzero(expected != label)
        if wrong.size:
            r = wrong[0]
            self._refuse(
                f"feature {self.vocabulary[label[r]]!r} at feature_index {f[r]} of input "
                f"{self.meta['input_names'][k[r]]!r}, which its metadata names "
                f"{self.vocabulary[expected[r]]!r}"
            )
        return f

    def _pairs(self, batch, k: np.ndarray, f: np.ndarray) -> None:
        """The ``feature_i``, ``feature_j`` labels of each row agree with the metadata's pair
        of its feature."""
        members = self.pair_members
        for entry, key in zip(self.pair_entry, ("feature_i", "feature_j")):
            expected = entry[self.first_feature[k] + f]
            label = self._labels(batch.column(key), members, key)
            wrong = np.flatnonzero(expected != label)
            if wrong.size:
                r = wrong[0]
                self._refuse(
                    f"{key} {members[label[r]]!r} at feature_index {f[r]}, where its "
                    f"metadata has {members[expected[r]]!r}"
                )

    def _labels(self, column, names: list[str], key: str) -> np.ndarray:
        """Positions in ``names`` of a dictionary column's labels."""
        import pyarrow.compute as pc

        pa = arrow()
        lookup = pc.index_in(column.dictionary, value_set=pa.array(names, pa.string()))
        positions = (
            lookup.fill_null(-1)
            .to_numpy()
            .astype(np.int64)[_numpy(column.indices).astype(np.int64)]
        )
        unknown = np.flatnonzero(positions < 0)
        if unknown.size:
            self._refuse(f"{key} {_shown(column[int(unknown[0])].as_py())} not in its metadata")
        return positions

    def _lookup(self, known: np.ndarray, order: np.ndarray | None, column, key: str) -> np.ndarray:
        """Positions in ``known`` (sorted by ``order``, or sorted) of a column's values."""
        values = _numpy(column)
        ordered = known if order is None else known[order]
        j = np.minimum(np.searchsorted(ordered, values), max(len(known) - 1, 0))
        found = ordered[j] == values if len(known) else np.zeros(len(values), bool)
        if not found.all():
            self._refuse(f"{key} {_shown(values[~found][0].item())} not in its metadata")
        return j if order is None else order[j]

    def _refuse(self, got: str) -> None:
        fail(
            self.arg,
            self.where,
            f"a {self.noun} whose key columns form exactly the grid its metadata describes",
            got,
            as_text=True,
        )


def _numpy(column) -> np.ndarray:
    return column.to_numpy(zero_copy_only=False)
