"""Bad-input cases for result files (``exchange.read``/``write``) and result selection."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import numpy as np

from catalogue import Case


def synthetic(n: int = 3, shapes: tuple = ((2, 3), (4,)), n_events: int = 2, n_times: int = 5,
              dtype: str = "float32", refs: bool = True, seed: int = 0, feature_names=None,
              input_names=None, event_names=None, instance=None, args=None):
    """A result with random numbers and plain labels, built without a model."""
    from survinng_py import SurvResult
    rng = np.random.default_rng(seed)
    values = [rng.normal(size=(n, *s, n_events, n_times)).astype(dtype) for s in shapes]
    pred = rng.uniform(size=(n, n_events, n_times)).astype(dtype)
    extra = {"pred_ref": (pred - 0.5).astype(dtype), "pred_diff": np.full_like(pred, 0.5)} \
        if refs else {}
    return SurvResult(
        values, pred=pred, time=np.cumsum(rng.uniform(0.1, 1.0, n_times)),
        feature_names=feature_names or [[f"x{k}_{j}" for j in range(int(np.prod(s)))]
                                        for k, s in enumerate(shapes)],
        input_names=input_names or [f"input_{k + 1}" for k in range(len(shapes))],
        event_names=event_names or [f"event_{j + 1}" for j in range(n_events)],
        instance=np.arange(10, 10 + n) if instance is None else instance,
        method="Surv_IntGrad", model_class="DeepHit", target="survival",
        args={"n": 3, "x_ref": "mean"} if args is None else args, **extra)


def save(table, path: Path) -> Path:
    """Write a pyarrow table as it is, in the format the suffix names."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    if path.suffix == ".parquet":
        pq.write_table(table, path)
    else:
        opener = pa.ipc.new_file if path.suffix == ".feather" else pa.ipc.new_stream
        with pa.OSFile(str(path), "wb") as sink, opener(sink, table.schema) as writer:
            writer.write_table(table)
    return path


def metadata(table) -> dict:
    return json.loads(table.schema.metadata[b"survinng_py"])


def with_metadata(table, meta: Any):
    raw = meta if isinstance(meta, bytes) else json.dumps(meta).encode()
    return table.replace_schema_metadata({b"survinng_py": raw})


def _read_table(make: Callable[[], Any], name: str = "x.parquet") -> Callable[[Path], Any]:
    """A case reading the file of the table ``make()`` returns."""
    def call(tmp: Path):
        from survinng_py import exchange
        return exchange.read(save(make(), tmp / name))
    return call


def _edited(edit: Callable[[dict], Any], layout: str = "long", name: str = "x.parquet"):
    """A case reading a file whose metadata ``edit`` changed (in place)."""
    def make():
        table = synthetic().to_arrow(layout)
        meta = metadata(table)
        edit(meta)
        return with_metadata(table, meta)
    return _read_table(make, name)


def _raw_metadata(raw: bytes):
    return _read_table(lambda: with_metadata(synthetic().to_arrow(), raw))


def _column(name: str, change: Callable[[np.ndarray], Any], layout: str = "long"):
    """A case reading a file whose column ``name`` was changed (metadata kept)."""
    def make():
        import pyarrow as pa
        table = synthetic().to_arrow(layout)
        data = table.column(name).to_numpy().copy()
        change(data)
        return table.set_column(table.schema.get_field_index(name), name, pa.array(data))
    return _read_table(make)


def _file_bytes(change: Callable[[bytes], bytes], name: str):
    def call(tmp: Path):
        from survinng_py import exchange
        path = exchange.write(synthetic(), tmp / name)
        path.write_bytes(change(path.read_bytes()))
        return exchange.read(path)
    return call


def _write(make: Callable[[], Any], name: str = "x.parquet", **kwargs: Any):
    def call(tmp: Path):
        from survinng_py import exchange
        return exchange.write(make(), tmp / name, **kwargs)
    return call


def _set(key: str, value: Any) -> Callable[[dict], None]:
    return lambda meta: meta.__setitem__(key, value)


def _nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


def _swap_time_column(table):
    import pyarrow as pa
    return table.set_column(5, "time", pa.array(table.column("time").to_numpy()[::-1].copy()))


def _duplicate_row(table):
    import pyarrow as pa
    rows = np.arange(table.num_rows)
    rows[1] = 0
    return table.take(pa.array(rows))


def _with_nulls(table):
    import pyarrow as pa
    value = table.column("value").to_numpy()
    return table.set_column(6, "value", pa.array(value, mask=np.arange(len(value)) == 3))


def _drop(table, name: str):
    return table.drop_columns([name])


def _rename(table, old: str, new: str):
    renamed = table.rename_columns([new if c == old else c for c in table.column_names])
    return renamed.replace_schema_metadata(table.schema.metadata)


def _huge_grid(meta: dict) -> None:
    meta["instance"] = list(range(200_000))


def _api(call: Callable[[Any], Any]) -> Callable[[Path], Any]:
    return lambda tmp: call(synthetic())


def _foreign(tmp: Path):
    import pyarrow as pa
    from survinng_py import exchange
    return exchange.read(save(pa.table({"a": [1.0, 2.0]}), tmp / "x.parquet"))


def _predictions(tmp: Path):
    from survinng_py import exchange
    from catalogue import explainer
    table = exchange.predictions_table(explainer("deepsurv"), instance=[0, 1])
    return exchange.read(save(table, tmp / "x.parquet"))


def _onto_folder(tmp: Path):
    from survinng_py import exchange
    (tmp / "out.parquet").mkdir()
    return exchange.write(synthetic(), tmp / "out.parquet")


def _existing(tmp: Path):
    from survinng_py import exchange
    (tmp / "x.parquet").write_bytes(b"keep me")
    return exchange.write(synthetic(), tmp / "x.parquet")


def _missing_file(tmp: Path):
    from survinng_py import exchange
    return exchange.read(tmp / "absent.parquet")


def _folder(tmp: Path):
    from survinng_py import exchange
    return exchange.read(tmp)


def _text_file(tmp: Path):
    from survinng_py import exchange
    (tmp / "x.parquet").write_text("instance,value\n1,0.5\n")
    return exchange.read(tmp / "x.parquet")


def _empty_file(tmp: Path):
    from survinng_py import exchange
    (tmp / "x.arrows").write_bytes(b"")
    return exchange.read(tmp / "x.arrows")


GRID = "key columns form exactly the grid its metadata describes"
META = "a file whose survinng_py metadata has"
COMPLETE = "must be a complete Parquet, Feather or Arrow IPC file"

CASES = [
    # -- reading: the file itself
    Case("files", "result-read-missing", _missing_file, "`path` of read() must be an existing file",
         "a result file that does not exist"),
    Case("files", "result-read-folder", _folder, "`path` of read() must be an existing file",
         "a folder given as a result file"),
    Case("files", "result-read-empty", _empty_file, COMPLETE, "an empty file"),
    Case("files", "result-read-text", _text_file, COMPLETE, "a CSV file named .parquet"),
    Case("files", "result-read-truncated-parquet", _file_bytes(lambda b: b[:-100], "x.parquet"),
         COMPLETE, "a Parquet file cut short"),
    Case("files", "result-read-truncated-feather", _file_bytes(lambda b: b[:len(b) // 2], "x.feather"),
         COMPLETE, "a Feather file cut short"),
    Case("files", "result-read-truncated-stream", _file_bytes(lambda b: b[:len(b) // 2], "x.arrows"),
         COMPLETE, "an Arrow IPC stream cut in the middle of a batch"),
    Case("files", "result-read-foreign", _foreign, "must be a file written by survinng_py",
         "a Parquet file written by another program"),
    Case("files", "result-read-predictions", _predictions, "got kind 'predictions'",
         "a predictions table read as attributions"),
    # -- reading: the metadata
    Case("files", "result-meta-not-json", _raw_metadata(b"{not json"),
         "must be a valid survinng_py metadata (JSON)", "metadata that is not JSON"),
    Case("files", "result-meta-not-object", _raw_metadata(b"[1, 2]"),
         "survinng_py metadata is a JSON object", "metadata that is a JSON list"),
    Case("files", "result-meta-duplicate-key", _raw_metadata(b'{"kind": "attributions", "kind": "x"}'),
         "duplicate key 'kind'", "metadata with a key given twice"),
    Case("files", "result-meta-deep", _edited(_set("args", {"a": _nested(40)})),
         "nested at most 32 levels deep", "metadata nested 40 levels deep"),
    Case("files", "result-meta-future-version", _edited(_set("format_version", 99)),
         "of survinng_py attribution format version 2 or 3; got kind 'attributions', version 99",
         "a file of a later format version"),
    Case("files", "result-meta-missing-key", _edited(lambda m: m.pop("digest")),
         f"{META} the key 'digest'; got no such key", "metadata without its digest"),
    Case("files", "result-meta-unknown-key", _edited(_set("colour", "red")),
         "got unknown key 'colour'", "metadata with a key no version defines"),
    Case("files", "result-meta-layout", _edited(_set("layout", "tall")),
         f"{META} 'layout' as 'long' or 'wide'", "an unknown layout"),
    Case("files", "result-meta-method-type", _edited(_set("method", 3)), f"{META} 'method' as a string",
         "a method name that is a number"),
    Case("files", "result-meta-args-type", _edited(_set("args", [1, 2])),
         f"{META} 'args' as a JSON object", "args that are a list"),
    Case("files", "result-meta-not-utf8", _raw_metadata(b'{"kind": "\xff"}'),
         "must be a survinng_py metadata in UTF-8", "metadata that is not UTF-8 text"),
    Case("files", "result-meta-time-nan", _edited(lambda m: m["time"].__setitem__(1, float("nan"))),
         f"{META} 'time' as a non-empty, strictly increasing list of finite floats",
         "a NaN in the time grid"),
    Case("files", "result-meta-time-unsorted", _edited(lambda m: m["time"].reverse()),
         f"{META} 'time' as a non-empty, strictly increasing list", "a time grid out of order"),
    Case("files", "result-meta-time-type", _edited(_set("time", "1, 2, 3")),
         f"{META} 'time' as a non-empty", "a time grid given as a string"),
    Case("files", "result-meta-id-negative", _edited(lambda m: m["instance"].__setitem__(0, -1)),
         f"{META} 'instance' as a list of unique integer ids in [0, 2147483647]",
         "a negative instance id"),
    Case("files", "result-meta-id-fraction", _edited(lambda m: m["instance"].__setitem__(0, 10.5)),
         f"{META} 'instance' as a list of unique integer ids", "a fractional instance id"),
    Case("files", "result-meta-id-overflow", _edited(lambda m: m["instance"].__setitem__(0, 2**31)),
         f"{META} 'instance' as a list of unique integer ids", "an instance id beyond int32"),
    Case("files", "result-meta-id-repeated", _edited(lambda m: m["instance"].__setitem__(1, 10)),
         f"{META} 'instance' as a list of unique integer ids", "an instance id listed twice"),
    Case("files", "result-meta-names-repeated",
         _edited(lambda m: m["feature_names"][0].__setitem__(1, "x0_0")),
         f"{META} 'feature_names' as 2 non-empty list(s) of unique strings",
         "a feature name listed twice in one input"),
    Case("files", "result-meta-feature-count", _edited(lambda m: m["feature_names"][1].append("extra")),
         f"{META} 'feature_shapes' as one list of positive integers per input",
         "one more feature name than the data has"),
    Case("files", "result-meta-names-reversed", _edited(lambda m: m["feature_names"][0].reverse()),
         f"{GRID}; got feature 'x0_0' at feature_index 0 of input 'input_1', which its metadata "
         "names 'x0_5'", "feature names reversed in the metadata"),
    Case("files", "result-meta-dtype", _edited(_set("value_dtype", "object")),
         f"{META} 'value_dtype' as 'float32' or 'float64'", "an object dtype"),
    Case("files", "result-meta-pred-fields", _edited(_set("pred_fields", ["pred", "pred_x"])),
         f"{META} 'pred_fields' as a list of the fields", "an unknown prediction column"),
    Case("files", "result-meta-digest-format", _edited(_set("digest", "md5:00")),
         f"{META} 'digest' as 'sha256:' and 64 hexadecimal digits", "a digest of another kind"),
    Case("files", "result-meta-edited-label", _edited(_set("method", "Surv_Gradient")),
         "whose labels and numbers match the digest in its metadata",
         "a method name edited after writing"),
    Case("files", "result-meta-huge-grid", _edited(_huge_grid),
         "must be a file of 20000000 rows as its metadata says; got 300 rows",
         "metadata declaring far more rows than the file has"),
    # -- reading: the rows
    Case("files", "result-rows-time-scrambled", _read_table(lambda: _swap_time_column(
        synthetic().to_arrow())), "whose labels and numbers match the digest",
         "the time column reversed on its own"),
    Case("files", "result-rows-duplicate", _read_table(lambda: _duplicate_row(synthetic().to_arrow())),
         f"{GRID}; got 1 (instance, input, feature, event, time) cell(s) missing",
         "one row written twice in place of another"),
    Case("files", "result-rows-off-grid", _column("time", lambda t: t.__setitem__(4, 0.123)),
         f"{GRID}; got time 0.123 not in its metadata", "a time off the grid"),
    Case("files", "result-rows-unknown-id", _column("instance", lambda i: i.__setitem__(0, 99),
                                             layout="wide"),
         f"{GRID}; got instance 99 not in its metadata", "an instance id the metadata lacks"),
    Case("files", "result-rows-pred-differs", _column("pred", lambda p: p.__setitem__(7, p[7] + 1)),
         f"{GRID}; got pred differing between the feature rows", "one feature row's pred edited"),
    Case("files", "result-rows-value-edited", _column("value", lambda v: v.__setitem__(3, v[3] + 1)),
         "whose labels and numbers match the digest", "one attribution edited after writing"),
    Case("files", "result-rows-null", _read_table(lambda: _with_nulls(synthetic().to_arrow())),
         "without missing (null) entries; got nulls in 'value'", "a missing attribution"),
    Case("files", "result-columns-dropped", _read_table(lambda: _drop(synthetic().to_arrow(), "pred")),
         "with the columns its survinng_py metadata describes; got column 'pred_ref' where 'pred' "
         "belongs", "the pred column dropped"),
    Case("files", "result-columns-renamed", _read_table(lambda: _rename(
        synthetic().to_arrow("wide"), "input_1:x0_0", "input_1:x0_9")),
         "with the columns its survinng_py metadata describes; got column 'input_1:x0_9' where "
         "'input_1:x0_0' belongs", "a wide feature column renamed"),
    # -- writing
    Case("files", "result-write-missing-folder", lambda tmp: _write(synthetic, "no/such/x.parquet")(tmp),
         "`path` of write() must be a file in an existing folder", "a file in a missing folder"),
    Case("files", "result-write-onto-folder", _onto_folder, "must be a file name, not a folder",
         "a folder as the output file"),
    Case("files", "result-write-existing", _existing, "must be a file that does not exist yet",
         "an existing file without overwrite=True"),
    Case("files", "result-write-suffix", _write(synthetic, "x.csv"), "must be a file name ending in",
         "an output file of unknown type"),
    Case("files", "result-write-repeated-ids", _write(lambda: synthetic(instance=[4, 4, 5])),
         "`result` of write() must be a result with 'instance' as a list of unique integer ids",
         "a result with an instance id twice"),
    Case("files", "result-write-tuple-args", _write(lambda: synthetic(args={"rows": (1, 2)})),
         "args come back unchanged from JSON", "args holding a tuple"),
    Case("files", "result-write-numpy-args", _write(lambda: synthetic(args={"n": np.float32(1)})),
         "args are JSON values", "args holding a numpy number"),
    Case("files", "result-write-float16", _write(lambda: synthetic(dtype="float16")),
         "must be a result of float32 or float64 values", "float16 attributions"),
    Case("files", "result-write-wide-collision",
         _write(lambda: synthetic(shapes=((2,),), feature_names=[["time", "pred"]]),
                layout="wide"),
         "names that give distinct wide columns (or use layout='long'); got column 'time' twice",
         "a feature named 'time' in the wide layout"),
    # -- selection and conversion
    Case("api", "result-isel-out-of-range", _api(lambda r: r.isel(instance=5)),
         "`instance` of isel() must be positions below 3", "an instance position past the end"),
    Case("api", "result-isel-float-time", _api(lambda r: r.isel(time=1.5)),
         "`time` of isel() must be positions below 5", "a time position that is a float"),
    Case("api", "result-sel-unknown-event", _api(lambda r: r.sel(event="death")),
         "`event` of sel() must be labels of this result ('event_1', 'event_2')",
         "an event name the result lacks"),
    Case("api", "result-sel-feature-two-inputs", _api(lambda r: r.sel(feature="x0_0")),
         "`feature` of sel() must be used on a result with one input",
         "feature names without choosing one of two inputs"),
    Case("api", "result-sel-nan-time", _api(lambda r: r.sel(time=float("nan"))),
         "`time` of sel() must be a finite number or a list of them", "a NaN time"),
    Case("api", "result-to-pandas-layout", _api(lambda r: r.to_pandas(layout="tall")),
         "`layout` of to_pandas() must be 'long' or 'wide'", "an unknown table layout"),
]
