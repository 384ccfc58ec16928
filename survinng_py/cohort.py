"""Cohort-scale explanations: Parquet rows in, exchange-format Parquet parts out.

:func:`explain_dataset` plans work units from the Parquet footers of ``source`` (a file's
consecutive row groups, at most ``rows_per_task`` rows each, in one fixed global row
order), explains each unit with a method of the method table and writes its part
``part-<unit>.parquet`` atomically into ``out``, with instance ids the global row numbers.
Units run in this process, or as futures on a Dask cluster (``client=``), whose workers
load the model from a bundle (its files are shipped once per worker; nothing the user made
is pickled). The manifest ``_survinng.json`` records the method, its arguments, the seed,
the model's checksum and every finished part with its SHA-256, so ``resume=True`` redoes
only what is missing or changed. The full result is never held: cohort summaries (mean
absolute attribution per feature, event and time; mean prediction curve) are added up
part by part (for models of several inputs also the cohort modality shares).

The gradient methods are accepted, and every row gets the numbers one call of the method
on all rows gives it: Grad(t) and IntGrad(t) (the reference is the mean of the explainer
data) draw nothing; GradSHAP(t) draws its references and path positions from the seed
and the explainer data alone, so every unit draws the same ones; SmoothGrad(t) draws its
noise from one stream per input in row order, so the client plays the streams forward
once through all rows and ships each unit the streams' state at its first row (a normal
variate takes a variable number of raw draws, so no stream can jump to a row without
drawing what comes before it). Each part equals, bit for bit, the method called on that
part's rows (for SmoothGrad(t) with its streams at that state), in this process or on any
worker (workers compute with one torch thread; compare at the same thread count). Joined,
the parts equal one call on all rows up to rounding: torch's CPU matrix products may round
a row differently depending on how many rows share the batch (a last-bit difference,
about 1e-16 relative in float64), so only the partitioning, never the draws, can change
the last bit.

Readers: :func:`survinng_py.exchange.read_dataset` (checks the manifest), or any Parquet
reader over the glob ``out/part-*.parquet`` (pyarrow, DuckDB ``read_parquet``, polars
``scan_parquet``, R ``arrow::open_dataset``).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._cohort_units import WHERE as _WHERE
from ._cohort_units import run_unit
from ._cohort_units import sums as _sums
from ._errors import fail, first_line
from ._files import file_sha256
from .exchange import MANIFEST

__all__ = ["explain_dataset", "CohortResult", "MANIFEST", "PART_GLOB"]

#: the part files of an output folder
PART_GLOB = "part-*.parquet"
#: temporary files of an atomic write (a part being written)
TEMPORARY_GLOB = ".part-*.tmp"
#: the methods explain_dataset runs (each row gets what one call on all rows gives it)
COHORT_METHODS = ("grad", "intgrad", "gradshap", "smoothgrad")
#: files a source folder contributes (names starting with "." or "_" are skipped)
PARQUET_SUFFIXES = (".parquet", ".pq")
_IMPORTANCE = "_importance.parquet"
_PREDICTION = "_prediction.parquet"
_SHARES = "_shares.parquet"
#: normal variates drawn at a time while SmoothGrad(t)'s streams are played forward
_NOISE_CHUNK = 1 << 20
_OPTION_TYPES = {
    "bool": (bool,),
    "int": (int, np.integer),
    "float": (int, float, np.integer, np.floating),
    "str": (str,),
}
_DASK_HINT = 'pip install "survinng-py[dask]"'
_FORMAT = 1


@dataclass
class CohortResult:
    """What :func:`explain_dataset` wrote and the cohort summaries.

    Attributes
    ----------
    path : Path
        The output folder.
    n_rows, n_parts : int
        Rows explained and part files written.
    importance : pandas.DataFrame
        Mean absolute attribution over all rows: ``input, feature, event, time,
        mean_abs``.
    prediction : pandas.DataFrame
        Mean prediction curve over all rows: ``event, time, mean_pred``.
    shares : pandas.DataFrame or None
        For a model of several inputs, the cohort modality shares (as
        :func:`~survinng_py.modality_shares` of :func:`~survinng_py.modality_totals`
        with ``cohort=True`` on the full result): ``modality, event, time, share``;
        ``None`` for one input.
    manifest : dict
        The content of ``_survinng.json``.
    """

    path: Path
    n_rows: int
    n_parts: int
    importance: Any
    prediction: Any
    shares: Any
    manifest: dict


def explain_dataset(
    model: Any,
    source: Any,
    out: str | os.PathLike,
    *,
    method: str = "grad",
    target: str = "survival",
    client: Any = None,
    rows_per_task: int = 10_000,
    layout: str = "long",
    overwrite: bool = False,
    resume: bool = False,
    progress: Any = None,
    seed: int | None = None,
    **method_args: Any,
) -> CohortResult:
    """Explain every row of a Parquet dataset, part by part, into a folder of Parquet files.

    Parameters
    ----------
    model : Explainer or str or Path
        An explainer (saved to a temporary bundle first) or a bundle folder written by
        :func:`~survinng_py.save_model`.
    source : str, Path, sequence of them, or pyarrow.dataset.Dataset
        A Parquet file, a folder of Parquet files, a glob pattern, or a dataset. Columns
        are matched to the model's feature names by name (for a model of several inputs,
        every input's feature names: a tensor input's element names, row-major).
    out : str or Path
        The output folder (created).
    method : {"grad", "intgrad", "gradshap", "smoothgrad"}
        The method's command-line name.
    target : str
        Survival target (``"survival"``, ``"cif"``, ...).
    client : distributed.Client, optional
        Run units as futures on its workers (the model is loaded once per worker from its
        bundle); default: in this process, without Dask.
    rows_per_task : int
        Most rows in one unit (one part file); bounds the memory of a unit.
    layout : {"long", "wide"}
        Layout of the part files.
    overwrite : bool
        Replace an existing output folder written by this function.
    resume : bool
        Continue an interrupted run into ``out``: parts whose SHA-256 matches the manifest
        are kept, the others computed (with the manifest's seed unless ``seed`` is given).
    progress : callable, optional
        Called as ``progress(done, total)`` after each finished part.
    seed : int, optional
        Seed of a random method (default: drawn once and recorded in the manifest).
    **method_args
        Options of the method (scalars, e.g. ``n=20``).

    Returns
    -------
    CohortResult

    Raises
    ------
    SurvinngError
        For bad arguments, an unreadable source file (named), an existing ``out`` without
        ``overwrite`` or ``resume``, a resume whose plan differs from the manifest, or a
        unit that fails (its file and rows are named). Parts already written stay valid and
        listed; on a cluster the units already submitted finish first, so that a resume
        redoes only the failed ones.

    Examples
    --------
    >>> import numpy as np, pandas as pd, torch, tempfile, os, survinng_py as sv
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    >>> exp = sv.explain(net, pd.DataFrame(np.eye(2), columns=["a", "b"]), model_type="deepsurv",
    ...                  baseline_hazard=([1.0, 2.0], [0.1, 0.2]))
    >>> folder = tempfile.mkdtemp()
    >>> pd.DataFrame({"a": [0.1, 0.5, 0.9], "b": [1.0, 0.0, 0.3]}).to_parquet(
    ...     os.path.join(folder, "rows.parquet"))
    >>> res = sv.explain_dataset(exp, os.path.join(folder, "rows.parquet"),
    ...                          os.path.join(folder, "attr"), method="gradshap", seed=1,
    ...                          n=5, num_samples=2, rows_per_task=2)
    >>> res.n_rows, res.n_parts, list(res.importance.columns)
    (3, 2, ['input', 'feature', 'event', 'time', 'mean_abs'])
    >>> sv.exchange.read_dataset(os.path.join(folder, "attr")).values[0].shape
    (3, 2, 1, 2)
    """
    from .methods.registry import get_method

    entry = get_method(name=method) if isinstance(method, str) else None
    if entry is None or entry.name not in COHORT_METHODS:
        fail("method", _WHERE, "one of the gradient methods " + ", ".join(COHORT_METHODS), method)
    _check_int(rows_per_task, "rows_per_task")
    for arg, value in (("overwrite", overwrite), ("resume", resume)):
        if not isinstance(value, bool):
            fail(arg, _WHERE, "True or False", value)
    if overwrite and resume:
        fail("resume", _WHERE, "False when overwrite=True", resume)
    if progress is not None and not callable(progress):
        fail("progress", _WHERE, "a callable progress(done, total) or None", progress)
    from ._arrow import check_layout

    check_layout(layout, _WHERE)
    if resume and seed is None:  # continue with the seed the first run drew
        seed = _recorded_seed(Path(out), entry)
    arguments = _method_arguments(entry, target, method_args, seed)
    units, files = _plan(source, rows_per_task)
    if not units:
        fail("source", _WHERE, "Parquet files with at least one row", "0 rows", as_text=True)
    out = Path(out)
    staging = None
    try:
        bundle, staging, targets, inputs = _bundle(model, client is not None)
        _check_columns(inputs)
        if entry.name == "smoothgrad" and inputs["shapes"] is None:
            fail(
                "model",
                _WHERE,
                "built with data for SmoothGrad(t) (its noise sd is the data's feature sd)",
                "an explainer without data",
                as_text=True,
            )
        if target not in targets:
            fail(
                "target", _WHERE, "one of the model's targets (" + ", ".join(targets) + ")", target
            )
        model_sha = None if bundle is None else file_sha256(bundle / "bundle.json")
        if resume and model_sha is None:
            fail(
                "model",
                _WHERE,
                "a bundle folder (save_model) when resume=True: its checksum identifies the "
                "model of the first run",
                "an Explainer",
                as_text=True,
            )
        plan = {
            "format": _FORMAT,
            "method": entry.name,
            "method_id": entry.id,
            "arguments": arguments,
            "layout": layout,
            "model_sha256": model_sha,
            "sources": files,
            "units": [{k: u[k] for k in ("unit", "path", "first_row", "n_rows")} for u in units],
        }
        done = _open_out(out, plan, overwrite, resume)
        manifest: dict[str, Any] = {**plan, "parts": done}
        _write_manifest(out, manifest)
        kept = {p["unit"] for p in done}
        if entry.name == "smoothgrad":
            todo = _with_noise(units, arguments, entry, inputs, kept)
        else:
            todo = [u for u in units if u["unit"] not in kept]
        spec = {"method": entry.name, "arguments": arguments, "layout": layout, "out": str(out)}
        explainer = model if bundle is None else None
        records = {p["unit"]: None for p in done}
        for record in _run(todo, spec, bundle, model_sha, explainer, client):
            done.append(record["part"])
            records[record["part"]["unit"]] = record
            manifest["parts"] = sorted(done, key=lambda p: p["unit"])
            _write_manifest(out, manifest)
            if progress is not None:
                progress(len(done), len(units))
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    importance, prediction, shares = _summaries(out, manifest["parts"], records)
    n_rows = int(sum(u["n_rows"] for u in units))
    manifest.update(n_rows=n_rows, complete=True)
    _write_manifest(out, manifest)
    return CohortResult(
        path=out,
        n_rows=n_rows,
        n_parts=len(units),
        importance=importance,
        prediction=prediction,
        shares=shares,
        manifest=manifest,
    )


# -- arguments --------------------------------------------------------------------------------
def _check_int(value: Any, arg: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        fail(arg, _WHERE, "an integer >= 1", value)
    return int(value)


def _method_arguments(entry, target: str, method_args: dict, seed: Any) -> dict:
    """The method's keyword arguments as plain JSON data (the same for every unit)."""
    if not isinstance(target, str):
        fail("target", _WHERE, "a string", target)
    arguments: dict[str, Any] = {"target": target}
    for name, value in method_args.items():
        option = entry.option(name)
        if option is None or option.seed or option.type == "rows":
            fail(
                name,
                _WHERE,
                f"left out: method {entry.name!r} takes "
                + (", ".join(o.name for o in entry.options if o.type != "rows" and not o.seed))
                + " here (its references come from the model's data)",
                value,
            )
        allowed = _OPTION_TYPES[option.type]
        if not (
            (value is None and option.default is None)
            or (isinstance(value, allowed) and (option.type == "bool") == isinstance(value, bool))
        ):
            fail(name, _WHERE, f"of type {option.type} (an option of {entry.name!r})", value)
        arguments[name] = value.item() if isinstance(value, np.generic) else value
    seed_option = next((o.name for o in entry.options if o.seed), None)
    if seed_option is None:
        if seed is not None:
            fail("seed", _WHERE, f"left out for method {entry.name!r} (it draws nothing)", seed)
    else:
        if seed is None:  # drawn once here, recorded, and the same in every unit
            seed = int(np.random.SeedSequence().generate_state(2, np.uint64)[0] >> np.uint64(1))
        elif isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            fail("seed", _WHERE, "an integer >= 0 or None", seed)
        arguments[seed_option] = int(seed)
    return arguments


# -- planning ---------------------------------------------------------------------------------
def _source_files(source: Any) -> list[str]:
    import pyarrow.dataset as ds

    if isinstance(source, ds.FileSystemDataset):
        return sorted(source.files)
    if isinstance(source, (list, tuple)):
        paths = [str(p) for p in source]
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            paths = [
                str(p)
                for p in path.rglob("*")
                if p.suffix.lower() in PARQUET_SUFFIXES
                and p.is_file()
                and not p.name.startswith((".", "_"))
            ]
        elif path.is_file():
            paths = [str(path)]
        else:
            paths = glob.glob(str(source), recursive=True)
    else:
        fail(
            "source",
            _WHERE,
            "a Parquet file, a folder or glob of Parquet files, or a pyarrow dataset",
            type(source).__name__,
        )
    if not paths:
        fail("source", _WHERE, "a file, folder or glob with Parquet files", str(source))
    return sorted(paths)


def _plan(source: Any, rows_per_task: int) -> tuple[list[dict], list[dict]]:
    """Units from the Parquet footers: consecutive row groups of one file, split further
    where one row group has more than ``rows_per_task`` rows; global rows in file order."""
    import pyarrow.parquet as pq

    units: list[dict] = []
    files = []
    first_row = 0
    for path in _source_files(source):
        try:
            meta = pq.ParquetFile(path).metadata
        except Exception as err:
            fail(
                "source",
                _WHERE,
                "readable Parquet files",
                f"{path}: {first_line(err)}",
                as_text=True,
            )
        files.append({"path": path, "n_rows": meta.num_rows})
        groups: list[int] = []
        offset = 0  # first row of `groups` within the file
        count = 0
        for group in range(meta.num_row_groups):
            size = meta.row_group(group).num_rows
            if groups and count + size > rows_per_task:
                units += _units(path, groups, offset, count, first_row + offset, rows_per_task)
                offset, groups, count = offset + count, [], 0
            groups.append(group)
            count += size
        if groups:
            units += _units(path, groups, offset, count, first_row + offset, rows_per_task)
        first_row += meta.num_rows
    for number, unit in enumerate(units):
        unit["unit"] = number
    return units, files


def _units(path, groups, offset, count, first_row, rows_per_task) -> list[dict]:
    """One unit per ``rows_per_task`` rows of the row groups ``groups`` (a big one split)."""
    return [
        {
            "path": path,
            "row_groups": list(groups),
            "skip": start,
            "first_row": first_row + start,
            "n_rows": min(rows_per_task, count - start),
        }
        for start in range(0, count, rows_per_task)
    ]


# -- model and output folder ------------------------------------------------------------------
def _bundle(model: Any, to_workers: bool) -> tuple[Path | None, Path | None, list[str], dict]:
    """The bundle folder of ``model`` (none for an explainer used in this process), a
    temporary folder to remove (an explainer saved for workers), the model's targets and
    its inputs (``names``, feature ``columns`` and per-row ``shapes``; ``None`` where an
    explainer without data does not know them)."""
    from .bundle import bundle_info, save_model
    from .explainer import Explainer

    if isinstance(model, Explainer):
        targets = list(model.model.targets)
        inputs = {
            "names": model.input_names,
            "columns": model.feature_names,
            "shapes": model.feature_shapes,
        }
        if not to_workers:  # used as it is, unchecked by a resume
            return None, None, targets, inputs
        staging = Path(tempfile.mkdtemp(prefix="survinng-bundle-"))
        return save_model(model, staging / "bundle"), staging, targets, inputs
    if not isinstance(model, (str, os.PathLike)):
        fail("model", _WHERE, "an Explainer or a bundle folder", type(model).__name__)
    info = bundle_info(model, _WHERE)  # checks it before any work
    inputs = {
        "names": info["input_names"],
        "columns": info["feature_names"],
        "shapes": [tuple(shape) for shape in info["input_shapes"]],
    }
    return Path(model), None, list(info["targets"]), inputs


def _check_columns(inputs: dict) -> None:
    """A model of several inputs reads each input's columns by its feature names: they
    must be known and name no column twice."""
    if len(inputs["names"]) == 1:
        return
    if inputs["columns"] is None or inputs["shapes"] is None:
        fail(
            "model",
            _WHERE,
            "built with data when it has several inputs (its feature "
            "names name the columns of each input)",
            "an explainer without data",
            as_text=True,
        )
    seen: set[str] = set()
    for names in inputs["columns"]:
        twice = seen.intersection(names)
        if twice:
            fail(
                "model",
                _WHERE,
                "a model whose inputs' feature names are distinct (one column per feature)",
                f"{sorted(twice)[0]!r} in two inputs",
                as_text=True,
            )
        seen.update(names)


def _with_noise(units: list[dict], arguments: dict, entry, inputs: dict, kept: set) -> list:
    """The units to run, each with SmoothGrad(t)'s noise streams at its first row.

    :func:`~survinng_py.surv_smoothgrad` spawns one stream per input from the seed and
    draws ``n`` copies of each row's shape from it, row after row. A normal variate takes a
    variable number of raw draws (the ziggurat method rejects some), so a stream cannot
    jump to a row: it is played forward here once through all rows, in chunks, keeping its
    state at each unit's first row (a few hundred bytes per unit).
    """
    copies = arguments.get("n", entry.option("n").default)
    per_row = [copies * int(np.prod(shape)) for shape in inputs["shapes"]]
    streams = np.random.default_rng(arguments["seed"]).spawn(len(per_row))
    planned = []
    for unit in units:
        if unit["unit"] not in kept:
            planned.append({**unit, "noise": [s.bit_generator.state for s in streams]})
        for stream, size in zip(streams, per_row):
            left = unit["n_rows"] * size
            while left:
                drawn = min(left, _NOISE_CHUNK)
                stream.standard_normal(drawn)
                left -= drawn
    return planned


def _open_out(out: Path, plan: dict, overwrite: bool, resume: bool) -> list[dict]:
    """Create ``out`` (or clear it, or check it for resuming); the parts to keep."""
    if not out.exists():
        if not out.parent.is_dir():
            fail("out", _WHERE, "a folder in an existing folder", repr(str(out)), as_text=True)
        out.mkdir()
        return []
    manifest_path = out / MANIFEST
    if not out.is_dir() or not manifest_path.is_file() or not (overwrite or resume):
        fail(
            "out",
            _WHERE,
            "a folder that does not exist yet (or one written by explain_dataset(), with "
            "overwrite=True or resume=True)",
            repr(str(out)),
            as_text=True,
        )
    for name in _names(out, TEMPORARY_GLOB):  # left by a run that was killed
        (out / name).unlink()
    if overwrite:
        for name in [MANIFEST, _IMPORTANCE, _PREDICTION, _SHARES, *_names(out, PART_GLOB)]:
            (out / name).unlink(missing_ok=True)
        return []
    old = _manifest(out)
    changed = [k for k in plan if old.get(k) != plan[k]]
    if changed:
        fail(
            "resume",
            _WHERE,
            "used with the same model, source, method and arguments as the first run",
            "a different " + ", ".join(changed),
            as_text=True,
        )
    kept = [p for p in old.get("parts", []) if _part_intact(out, p)]
    listed = {p["file"] for p in kept}
    for name in _names(out, PART_GLOB):
        if name not in listed:
            (out / name).unlink()
    return kept


def _manifest(out: Path) -> dict:
    from ._files import strict_json

    raw = (out / MANIFEST).read_bytes()
    manifest = strict_json(raw, arg="out", where=_WHERE, what=MANIFEST)
    if not isinstance(manifest, dict):
        fail("out", _WHERE, f"a folder whose {MANIFEST} is an object", type(manifest).__name__)
    return manifest


def _recorded_seed(out: Path, entry) -> Any:
    """The seed recorded in ``out``'s manifest for a random method (else ``None``)."""
    seed_option = next((o.name for o in entry.options if o.seed), None)
    if seed_option is None or not (out / MANIFEST).is_file():
        return None
    return _manifest(out).get("arguments", {}).get(seed_option)


def _names(out: Path, pattern: str) -> list[str]:
    return sorted(p.name for p in out.glob(pattern))


def _part_intact(out: Path, part: dict) -> bool:
    return file_sha256(out / part["file"]) == part["sha256"]


def _write_manifest(out: Path, manifest: dict) -> None:
    from ._files import atomic_write

    text = json.dumps(manifest, indent=1, allow_nan=False).encode()
    atomic_write(out / MANIFEST, lambda f: _put(f, text), overwrite=True, arg="out", where=_WHERE)


def _put(handle, raw: bytes) -> None:
    handle.write(raw)


def _write_table(path: Path, frame) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ._files import atomic_write

    table = pa.Table.from_pandas(frame, preserve_index=False)
    atomic_write(path, lambda f: pq.write_table(table, f), overwrite=True, arg="out", where=_WHERE)


# -- running units ----------------------------------------------------------------------------
def _run(todo: list[dict], spec: dict, bundle, model_sha, explainer, client):
    """Records of finished units, as they finish."""
    if not todo:
        return
    if client is None:
        from .bundle import load_model

        local = explainer if explainer is not None else load_model(bundle)
        for unit in todo:
            yield run_unit(local, unit, spec)
        return
    try:
        from distributed import as_completed
    except ImportError:
        fail(
            "client",
            _WHERE,
            f"usable: Dask is not installed ({_DASK_HINT})",
            "a client",
            as_text=True,
        )
    from ._cohort_dask import BundlePlugin, run_unit_on_worker

    plugin = BundlePlugin(bundle, model_sha)
    client.register_plugin(plugin, name=plugin.name)
    futures = client.map(
        run_unit_on_worker,
        todo,
        plugin=plugin.name,
        spec=spec,
        key=[f"survinng-{model_sha[:8]}-{u['unit']:05d}" for u in todo],
        pure=False,
    )
    error = None
    try:
        for future in as_completed(futures):
            if future.status == "finished":
                yield future.result()
            elif error is None:  # the others still finish and are recorded
                error = future.exception()
            future.release()
    finally:
        client.cancel(futures)
        client.unregister_worker_plugin(plugin.name)
    if error is not None:
        raise error


# -- summaries --------------------------------------------------------------------------------
def _summaries(out: Path, parts: list[dict], records: dict) -> tuple[Any, Any, Any]:
    """Mean |attribution|, mean prediction and (several inputs) the modality shares over
    all parts, added in unit order (parts kept by a resume are read back one at a time)."""
    from . import exchange

    total: dict = {}
    for part in sorted(parts, key=lambda p: p["unit"]):
        record = records.get(part["unit"])
        if record is None:
            record = _sums(exchange.read(out / part["file"]))
        total = _add(total, record) if total else record
    n_rows = sum(p["n_rows"] for p in parts)
    labels = total["labels"]
    events, time = labels["event_names"], list(labels["time"])
    importance = _grid_frame(
        [
            {"input": [name], "feature": features, "event": events, "time": time}
            for name, features in zip(labels["input_names"], labels["feature_names"])
        ],
        [a / n_rows for a in total["abs"]],
        "mean_abs",
    )
    prediction = _grid_frame(
        [{"event": events, "time": time}], [total["pred"] / n_rows], "mean_pred"
    )
    written = [(importance, _IMPORTANCE), (prediction, _PREDICTION)]
    shares = None
    if "modality_abs" in total:
        shares = _cohort_shares(total["modality_abs"] / n_rows, labels)
        written.append((shares, _SHARES))
    for frame, name in written:
        _write_table(out / name, frame)
    return importance, prediction, shares


def _cohort_shares(mean_abs: np.ndarray, labels: dict):
    """The cohort modality shares from the mean |input total| ``(input, event, time)``:
    :func:`~survinng_py.modality_shares` with ``cohort=True`` of a one-row result that
    holds it (the mean of one row is that row)."""
    from ._shares import modality_shares
    from .result import SurvResult

    means = SurvResult(
        values=[mean_abs[None]],
        pred=np.zeros((1, *mean_abs.shape[1:])),
        time=labels["time"],
        feature_names=[labels["input_names"]],
        input_names=["modalities"],
        event_names=labels["event_names"],
        instance=np.zeros(1, dtype=np.int64),
        method="cohort mean |input total|",
        model_class="",
        target="",
        args={},
    )
    return modality_shares(means, cohort=True)


def _add(total: dict, record: dict) -> dict:
    added = {
        "abs": [a + b for a, b in zip(total["abs"], record["abs"])],
        "pred": total["pred"] + record["pred"],
        "labels": total["labels"],
    }
    if "modality_abs" in total:
        added["modality_abs"] = total["modality_abs"] + record["modality_abs"]
    return added


def _grid_frame(grids: list[dict], arrays: list[np.ndarray], value: str):
    """One long table: per grid, a row for every combination of its labels (row-major,
    as the array's elements), with the array's value."""
    import pandas as pd

    frames = []
    for grid, array in zip(grids, arrays):
        positions = np.indices([len(labels) for labels in grid.values()]).reshape(len(grid), -1)
        columns = {
            key: np.asarray(labels, dtype=object)[index]
            for (key, labels), index in zip(grid.items(), positions)
        }
        columns["time"] = columns["time"].astype(np.float64)
        frames.append(pd.DataFrame({**columns, value: np.asarray(array).ravel()}))
    return pd.concat(frames, ignore_index=True)
