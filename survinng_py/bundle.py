"""Model bundles: a survival model as a folder that loads and explains without pickle or pycox.

A bundle is a folder::

    bundle.json        the sidecar: format version, the head as its family's constructor
                       spec (family name and head parameters; float arrays written
                       exactly), time grid, dtype, input/feature/event names, input
                       shapes, package versions, the size and sha256 of every other file
                       and the sha256 of the sidecar itself
    network.pt2        the network as a torch.export program (differentiable again)
    <target>.onnx      network + survival head as one ONNX graph per target
                       (see :func:`~survinng_py.export_onnx`), for onnxruntime anywhere
    data_<k>.parquet   optional: the explainer data, one column per feature of input k

Reading treats a bundle as untrusted input. The folder is opened once and its members
are read by fixed names derived from the family's targets and the number of inputs
(never names from ``bundle.json``), as regular files with one link inside the folder,
within size caps checked before reading; each file is hashed and parsed from the same
bytes. ``bundle.json`` is parsed as bounded strict JSON, its own sha256 is compared
(computed over its canonical JSON without the ``sha256`` field), then every field is
checked against the format (types, ranges and lengths that agree with each other), and
the head is checked by its family exactly as :func:`~survinng_py.explain` checks a new
model. The checksums detect accidents and edits, not a forger who rewrites the files and
the checksums alike (bundles are not signed): a forged bundle can describe another model,
but it still only loads through these checks. Loading never unpickles: the data is
Parquet and ``network.pt2`` is read by :func:`load_program`, which takes the graph (JSON)
and the raw weight bytes from the archive and refuses every pickled payload
(``torch.export.load`` would unpickle those). A bad bundle gives a one-line
:class:`~survinng_py.SurvinngError`.

Writing builds the bundle in a temporary sibling folder and publishes it by one rename:
an existing folder is never replaced without ``overwrite=True``, and then only if it is
a bundle; a failed save leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import re
import shutil
from pathlib import Path
from typing import Any, NoReturn, TypeGuard

import numpy as np
import torch

from . import models
from ._files import MAX_JSON_BYTES, Folder, publish_folder, staging_folder, strict_json
from ._onnx_files import require_onnx
from ._report import version
from ._torch_program import load_program
from ._validation import SurvinngError, check_device, check_int, fail
from .explainer import Explainer, check_fits
from .models.base import SurvivalModel
from .onnx_export import (
    _first_line,
    _quiet,
    as_explainer,
    capture,
    export_onnx,
    input_names,
    network_args,
    sample_inputs,
)

BUNDLE_FILE = "bundle.json"
NETWORK_FILE = "network.pt2"
FORMAT, FORMAT_VERSION = "survinng_py.bundle", 2
#: caps checked before anything is read: bytes of one member file, inputs, values per
#: row of one input, values of the stored data, dimensions of a per-row shape
MAX_MEMBER_BYTES = 2**31
MAX_INPUTS = 64
MAX_ROW_VALUES = 2**24
MAX_DATA_VALUES = 2**28
MAX_DIMS = 8
#: the longest name, label or version string a sidecar may hold
MAX_TEXT = 1000


def save_model(
    model: Any,
    path: str | os.PathLike,
    *,
    targets: Any = None,
    data: Any = None,
    include_data: bool = True,
    opset: int | None = None,
    dynamo: bool = True,
    overwrite: bool = False,
    **explain_kwargs: Any,
) -> Path:
    """Write a model bundle (folder) that :func:`load_model` reads back into an explainer.

    Parameters
    ----------
    model : Explainer, pycox model or torch.nn.Module
        An explainer, or anything :func:`~survinng_py.explain` accepts (with its keyword
        arguments in ``explain_kwargs``).
    path : str or Path
        The bundle folder to create.
    targets : str or sequence of str, optional
        Targets to export as ONNX graphs (default: every target of the model).
    data : optional
        Rows to trace the network with when the explainer has no data.
    include_data : bool
        Store the explainer data (needed later for ``instance=`` and as background for
        SmoothGrad(t), IntGrad(t) and GradSHAP(t)).
    opset, dynamo
        As in :func:`~survinng_py.export_onnx`.
    overwrite : bool
        Replace an existing bundle (a folder holding anything else is never replaced);
        the new bundle takes its place in one rename.

    Returns
    -------
    Path
        The bundle folder.

    Raises
    ------
    SurvinngError
        For bad arguments, a path that is taken, or a network that cannot be exported;
        nothing is written then. Without the ONNX extra: one line saying
        ``pip install "survinng-py[onnx]"``.

    Examples
    --------
    >>> import numpy as np, torch, tempfile, os, survinng_py as sv
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    >>> exp = sv.explain(net, np.random.default_rng(0).normal(size=(20, 3)), model_type="deepsurv",
    ...                  baseline_hazard=([1.0, 2.0, 3.0], [0.1, 0.2, 0.1]))
    >>> path = sv.save_model(exp, os.path.join(tempfile.mkdtemp(), "bundle"), dynamo=False)
    >>> back = sv.load_model(path)
    >>> a, b = sv.surv_grad(exp, instance=[0, 1]), sv.surv_grad(back, instance=[0, 1])
    >>> bool(np.array_equal(a.values[0], b.values[0]))
    True
    """
    where = "save_model()"
    require_onnx(where, exporter=dynamo is True)
    explainer = as_explainer(model, data, explain_kwargs, where)
    path = Path(path)
    _check_target_folder(path, overwrite, where)
    adapter = explainer.model
    targets = _check_targets(targets, adapter, where)
    inputs = sample_inputs(explainer, data, where)
    feature_names = explainer.feature_names
    if feature_names is not None:
        for names in feature_names:
            if len(set(names)) != len(names):
                fail(
                    "feature_names",
                    where,
                    "unique within each input (they name the stored data's columns)",
                    names,
                )
    head = _encode_head(models.head_record(adapter), where)
    staged = staging_folder(path, overwrite=overwrite, arg="path", where=where)
    try:
        args = network_args(explainer, inputs)
        program = capture(adapter.net, args, where)
        with _quiet():
            torch.export.save(program, str(staged / NETWORK_FILE))
        for target in targets:
            export_onnx(
                explainer,
                staged / f"{target}.onnx",
                target=target,
                data=inputs,
                opset=opset,
                dynamo=dynamo,
            )
        stored = include_data and explainer.data is not None
        if stored:
            _write_data(explainer, staged)
        n_risks = adapter.num_risks(inputs)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "model_class": adapter.model_class,
            "source": adapter.source,
            "dtype": str(adapter.dtype).replace("torch.", ""),
            "head": head,
            "targets": list(adapter.targets),
            "onnx": targets,
            "time": adapter.time.tolist(),
            "event_names": {t: adapter.event_names(t, n_risks) for t in adapter.targets},
            "input_names": input_names(explainer, len(inputs)),
            "input_shapes": [list(x.shape[1:]) for x in inputs],
            "feature_names": feature_names,
            "data": {"rows": int(explainer.data[0].shape[0])}
            if stored and explainer.data is not None
            else None,
            "memory_budget": int(explainer.memory_budget),
            "versions": versions(),
            "files": {p.name: _file_entry(p.read_bytes()) for p in sorted(staged.iterdir())},
        }
        manifest["sha256"] = _digest(manifest)
        # what load_model would refuse (a cap exceeded) is not written
        _check_fields(
            manifest, models.check_record(_decode_head(head, where), "model", where), where
        )
        (staged / BUNDLE_FILE).write_text(
            json.dumps(manifest, indent=1, allow_nan=False), encoding="utf-8"
        )
        _check_target_folder(path, overwrite, where)  # still free, or still a bundle
        publish_folder(staged, path, overwrite=overwrite, arg="path", where=where)
    finally:
        if staged.exists():
            shutil.rmtree(staged)
    return path


def load_model(
    path: str | os.PathLike, *, device: Any = "cpu", memory_budget: int | None = None
) -> Explainer:
    """Read a bundle written by :func:`save_model` into an :class:`~survinng_py.Explainer`.

    The explainer's gradients, predictions and labels are those of the saved one; its
    data (if stored) serves ``instance=`` and as background data. The bundle is checked
    as described in :mod:`survinng_py.bundle` before the network is built.

    Parameters
    ----------
    path : str or Path
        The bundle folder.
    device : str or torch.device
        Where to compute.
    memory_budget : int, optional
        Bytes per batch of points (default: the saved explainer's).

    Returns
    -------
    Explainer

    Raises
    ------
    SurvinngError
        For a folder that is not a complete, unchanged bundle of this format version, or
        whose head its family refuses.

    Examples
    --------
    >>> import numpy as np, torch, tempfile, os, survinng_py as sv
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    >>> exp = sv.explain(net, np.random.default_rng(0).normal(size=(10, 2)), model_type="deepsurv",
    ...                  baseline_hazard=([1.0, 2.0], [0.1, 0.2]))
    >>> path = sv.save_model(exp, os.path.join(tempfile.mkdtemp(), "bundle"), dynamo=False)
    >>> back = sv.load_model(path)
    >>> sv.surv_grad(back, instance=[0]).equals(sv.surv_grad(exp, instance=[0]))
    True
    """
    where = "load_model()"
    torch_device = check_device(device, where)
    if memory_budget is not None:
        check_int(memory_budget, "memory_budget", where)
    with Folder(path, arg="path", where=where, what="a model bundle folder") as folder:
        manifest, record = _read_sidecar(folder, where)
        members = _read_members(folder, manifest, where)
    dtype = getattr(torch, manifest["dtype"])
    net = load_program(members[NETWORK_FILE], where, name=NETWORK_FILE)  # the hashed bytes
    net = net.to(torch_device)  # no eval(): the mode is part of the exported graph
    for p in net.parameters():
        p.requires_grad_(False)
    adapter = models.from_record(
        record, net, dtype=dtype, device=torch_device, source=manifest["source"], where=where
    )
    data = _read_data(members, manifest, dtype, torch_device, where)
    rows = data or [
        torch.zeros(1, *shape, dtype=dtype, device=torch_device)
        for shape in manifest["input_shapes"]
    ]
    check_fits(adapter, rows, "path", where)
    n_risks = adapter.num_risks(rows)
    if manifest["event_names"] != {t: adapter.event_names(t, n_risks) for t in manifest["targets"]}:
        fail(
            "path",
            where,
            f"a bundle whose event names ({BUNDLE_FILE}) are its model's",
            f"{BUNDLE_FILE} names other events",
            as_text=True,
        )
    budget = manifest["memory_budget"] if memory_budget is None else memory_budget
    return Explainer(adapter, data, manifest["feature_names"], manifest["input_names"], budget)


def bundle_info(path: str | os.PathLike, where: str = "bundle_info()") -> dict:
    """The sidecar of a bundle, after checking it, its head and every file's sha256.

    Parameters
    ----------
    path : str or Path
        The bundle folder.
    where : str
        The function named in errors.

    Returns
    -------
    dict
        The parsed ``bundle.json``.

    Raises
    ------
    SurvinngError
        As :func:`load_model`, for everything that can be checked without building the
        network.

    Examples
    --------
    >>> import survinng_py as sv
    >>> sv.bundle_info("no/such/folder")
    Traceback (most recent call last):
    ...
    survinng_py._validation.SurvinngError: `path` of bundle_info() must be a model bundle folder; got 'no/such/folder'
    """
    with Folder(path, arg="path", where=where, what="a model bundle folder") as folder:
        manifest, _ = _read_sidecar(folder, where)
        _read_members(folder, manifest, where)
    return manifest


def versions() -> dict:
    """Versions of the packages a bundle was written with."""
    return {
        "survinng_py": _package_version(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "onnx": version("onnx"),
        "onnxruntime": version("onnxruntime"),
        "pyarrow": version("pyarrow"),
    }


# -- the head: a family's spec <-> JSON ----------------------------------------------------
_ARRAY_DTYPES = {
    "float16",
    "float32",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
}
_HEAD_KEYS = ("family", "spec", "interpolate", "scheme", "event_names")


def _encode_head(record: dict, where: str) -> dict:
    """A head record as JSON; arrays keep their dtype and exact values."""
    spec: dict[str, Any] = {}
    for key, value in record["spec"].items():
        if isinstance(value, np.ndarray) and value.dtype.name in _ARRAY_DTYPES:
            # float -> float64 -> JSON (shortest repr) is exact for float16/32/64
            flat = value.astype(np.float64 if value.dtype.kind == "f" else value.dtype)
            spec[key] = {
                "$array": value.dtype.name,
                "shape": list(value.shape),
                "data": flat.ravel().tolist(),
            }
        elif isinstance(value, (np.integer, np.floating)):
            spec[key] = value.item()
        elif value is None or isinstance(value, (bool, int, float, str)):
            spec[key] = value
        else:
            fail(
                "model",
                where,
                "a family whose spec holds numbers, strings and numeric arrays",
                f"{key!r} of type {type(value).__name__}",
                as_text=True,
            )
    return {**record, "spec": spec}


def _decode_head(head: Any, where: str) -> dict:
    """The head record of a sidecar, with its arrays rebuilt (values not yet checked)."""
    if not isinstance(head, dict) or sorted(head) != sorted(_HEAD_KEYS):
        _bad("head", "an object with the keys " + ", ".join(_HEAD_KEYS), where)
    _text(head["family"], "head.family", where)
    if head["interpolate"] is not None and not _is_int(head["interpolate"]):
        _bad("head.interpolate", "null or an integer", where)
    if head["scheme"] is not None:
        _text(head["scheme"], "head.scheme", where)
    if head["event_names"] is not None:
        _texts(head["event_names"], "head.event_names", where)
    if not isinstance(head["spec"], dict) or len(head["spec"]) > 64:
        _bad("head.spec", "an object of at most 64 head parameters", where)
    spec: dict[str, Any] = {}
    for key, value in head["spec"].items():
        if isinstance(value, dict):
            spec[key] = _decode_array(value, f"head.spec.{key[:40]}", where)
        elif (
            value is None
            or isinstance(value, (bool, int, float))
            or (isinstance(value, str) and len(value) <= MAX_TEXT)
        ):
            spec[key] = value
        else:
            _bad(f"head.spec.{key[:40]}", "a number, a short string, null or an array", where)
    return {**head, "spec": spec}


def _decode_array(entry: dict, key: str, where: str) -> np.ndarray:
    shape, data = entry.get("shape"), entry.get("data")
    if (
        sorted(entry) != ["$array", "data", "shape"]
        or not isinstance(entry["$array"], str)
        or entry["$array"] not in _ARRAY_DTYPES
        or not isinstance(shape, list)
        or len(shape) > MAX_DIMS
        or not all(_is_int(s) and 0 <= s <= MAX_DATA_VALUES for s in shape)
        or not isinstance(data, list)
        or len(data) != int(np.prod(shape, dtype=np.float64))
    ):
        _bad(
            key,
            'an array ({"$array": dtype, "shape": [...], "data": [...]} with as '
            "many values as its shape holds)",
            where,
        )
    dtype = np.dtype(entry["$array"])
    floating = dtype.kind == "f"
    if not all(_is_number(v) if floating else _is_int(v) for v in data):
        _bad(key, f"an array of {dtype.name} values", where)
    try:  # JSON numbers are float64; each was written from a value of this dtype
        values = np.asarray(data, dtype=np.float64 if floating else np.int64)
        if not floating and np.any(values.astype(dtype).astype(np.int64) != values):
            raise OverflowError
        return values.astype(dtype).reshape(shape)
    except (OverflowError, ValueError):
        _bad(key, f"an array of {dtype.name} values", where)


# -- the sidecar -----------------------------------------------------------------------------
_SIDECAR_KEYS = (
    "format",
    "format_version",
    "sha256",
    "model_class",
    "source",
    "dtype",
    "head",
    "targets",
    "onnx",
    "time",
    "event_names",
    "input_names",
    "input_shapes",
    "feature_names",
    "data",
    "memory_budget",
    "versions",
    "files",
)
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _digest(manifest: dict) -> str:
    """sha256 of the sidecar's canonical JSON without its own ``sha256`` field."""
    body = {k: v for k, v in manifest.items() if k != "sha256"}
    text = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _read_sidecar(folder: Folder, where: str) -> tuple[dict, dict]:
    """``bundle.json`` of ``folder`` checked: format, version, own sha256, every field,
    and the head by its family. Returns the sidecar and the decoded head record."""
    if not folder.exists(BUNDLE_FILE):
        fail(
            "path",
            where,
            f"a model bundle folder holding {BUNDLE_FILE}",
            repr(str(folder.path)),
            as_text=True,
        )
    manifest = strict_json(
        folder.read(BUNDLE_FILE, MAX_JSON_BYTES), arg="path", where=where, what=BUNDLE_FILE
    )
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        fail(
            "path",
            where,
            f"a survinng_py model bundle ({BUNDLE_FILE} with format {FORMAT!r})",
            f"{BUNDLE_FILE} of another format",
            as_text=True,
        )
    got = manifest.get("format_version")
    if got != FORMAT_VERSION or isinstance(got, bool):
        writer = manifest.get("versions")
        writer = writer.get("survinng_py") if isinstance(writer, dict) else None
        older = _is_int(got) and got < FORMAT_VERSION
        fail(
            "path",
            where,
            f"a bundle of format version {FORMAT_VERSION} (this survinng_py {_package_version()})",
            f"format version {str(got)[:20]}, written by survinng_py "
            f"{str(writer)[:20]}"
            + ("; re-export the model with save_model() or survinng-py export" if older else ""),
            as_text=True,
        )
    if manifest.get("sha256") != _digest(manifest):
        fail(
            "path",
            where,
            f"a bundle whose {BUNDLE_FILE} is as written (its sha256 field)",
            f"{BUNDLE_FILE} has been edited",
            as_text=True,
        )
    absent = [key for key in _SIDECAR_KEYS if key not in manifest]
    unknown = sorted(set(manifest) - set(_SIDECAR_KEYS))
    if absent or unknown:
        fail(
            "path",
            where,
            f"a bundle whose {BUNDLE_FILE} has the keys " + ", ".join(_SIDECAR_KEYS),
            f"no {absent[0]!r}" if absent else f"unknown key {unknown[0][:40]!r}",
            as_text=True,
        )
    record = _decode_head(manifest["head"], where)
    model = models.check_record(record, "path", where)
    _check_fields(manifest, model, where)
    return manifest, record


def _check_fields(m: dict, model: dict, where: str) -> None:
    """Every field of the sidecar ``m`` against the format and the head's ``model``
    (:func:`survinng_py.models.check_record`), before any other file is read."""
    if m["model_class"] != model["model_class"]:
        _bad("model_class", f"{model['model_class']!r} (its head's)", where)
    _text(m["source"], "source", where)
    if m["dtype"] not in ("float32", "float64"):
        _bad("dtype", "'float32' or 'float64'", where)
    head_targets = list(model["targets"])
    targets = m["targets"]
    # a family appends new targets: a bundle written before lists the first ones
    if not isinstance(targets, list) or not targets or targets != head_targets[: len(targets)]:
        _bad(
            "targets",
            "its head's targets " + ", ".join(head_targets) + " (or the first of them)",
            where,
        )
    onnx = m["onnx"]
    if (
        not isinstance(onnx, list)
        or len(set(map(str, onnx))) != len(onnx)
        or not all(isinstance(t, str) and t in targets for t in onnx)
    ):
        _bad("onnx", "a list of distinct targets of its head", where)
    time = m["time"]
    if (
        not isinstance(time, list)
        or not all(_is_number(t) for t in time)
        or time != [float(t) for t in model["time"]]
    ):
        _bad("time", "its head's time grid", where)
    events = m["event_names"]
    if not isinstance(events, dict) or sorted(events) != sorted(targets):
        _bad("event_names", "an object of event names per target", where)
    for target in targets:
        _texts(events[target], f"event_names.{target}", where)
    shapes = m["input_shapes"]
    if (
        not isinstance(shapes, list)
        or not 1 <= len(shapes) <= MAX_INPUTS
        or not all(
            isinstance(s, list)
            and len(s) <= MAX_DIMS
            and all(_is_int(d) and 1 <= d <= MAX_ROW_VALUES for d in s)
            for s in shapes
        )
    ):
        _bad(
            "input_shapes",
            f"a list of 1 to {MAX_INPUTS} per-row shapes of positive integers",
            where,
        )
    sizes = [int(np.prod(s, dtype=np.float64)) for s in shapes]
    if max(sizes) > MAX_ROW_VALUES:
        _bad("input_shapes", f"per-row shapes of at most {MAX_ROW_VALUES} values", where)
    _texts(m["input_names"], "input_names", where, count=len(shapes))
    names = m["feature_names"]
    if names is not None:
        if not isinstance(names, list) or len(names) != len(shapes):
            _bad("feature_names", f"null or {len(shapes)} lists of names (one per input)", where)
        for k, (group, size) in enumerate(zip(names, sizes)):
            _texts(group, f"feature_names[{k}]", where, count=size)
            if len(set(group)) != len(group):
                _bad(f"feature_names[{k}]", "distinct names", where)
    data = m["data"]
    if data is not None and (
        not isinstance(data, dict)
        or sorted(data) != ["rows"]
        or not _is_int(data["rows"])
        or not 1 <= data["rows"] <= MAX_DATA_VALUES // sum(sizes)
        or names is None
    ):
        _bad(
            "data",
            f'null or {{"rows": n}} with at most {MAX_DATA_VALUES} values in all '
            "(and feature_names given)",
            where,
        )
    if not _is_int(m["memory_budget"]) or not 1 <= m["memory_budget"] <= 2**62:
        _bad("memory_budget", "a positive integer", where)
    written = m["versions"]
    if (
        not isinstance(written, dict)
        or len(written) > 16
        or not all(
            isinstance(v, (str, type(None))) and len(str(v)) <= MAX_TEXT for v in written.values()
        )
    ):
        _bad("versions", "an object of package versions", where)
    files = m["files"]
    expected = _member_names(m)
    if not isinstance(files, dict) or sorted(files) != sorted(expected):
        _bad("files", "the bundle's files " + ", ".join(expected), where)
    for name in expected:
        entry = files[name]
        if (
            not isinstance(entry, dict)
            or sorted(entry) != ["bytes", "sha256"]
            or not isinstance(entry["sha256"], str)
            or not _SHA256.fullmatch(entry["sha256"])
            or not _is_int(entry["bytes"])
            or not 0 <= entry["bytes"] <= MAX_MEMBER_BYTES
        ):
            _bad(f"files.{name}", f"its sha256 and size (at most {MAX_MEMBER_BYTES} bytes)", where)


def _member_names(manifest: dict) -> list[str]:
    """The bundle's files, named from its fields (never names read from the sidecar)."""
    names = [NETWORK_FILE] + [f"{target}.onnx" for target in manifest["onnx"]]
    if manifest["data"] is not None:
        names += [f"data_{k + 1}.parquet" for k in range(len(manifest["input_shapes"]))]
    return names


def _read_members(folder: Folder, manifest: dict, where: str) -> dict[str, bytes]:
    """Every file of the (checked) sidecar, read once and compared with its size and sha256."""
    members = {}
    for name in _member_names(manifest):
        entry = manifest["files"][name]
        raw = folder.read(name, entry["bytes"])
        if len(raw) != entry["bytes"] or _file_entry(raw) != entry:
            fail(
                "path",
                where,
                f"a bundle whose files are as written (sha256 in {BUNDLE_FILE})",
                f"{name} has changed or is truncated",
                as_text=True,
            )
        members[name] = raw
    return members


def _bad(key: str, rule: str, where: str) -> NoReturn:
    fail(
        "path",
        where,
        f"a bundle whose {BUNDLE_FILE} has `{key}` as {rule}",
        "something else",
        as_text=True,
    )


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    """A finite JSON number that a float64 holds (a huge integer does not)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _text(value: Any, key: str, where: str) -> None:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        _bad(key, f"a string of at most {MAX_TEXT} characters", where)


def _texts(values: Any, key: str, where: str, count: int | None = None) -> None:
    if (
        not isinstance(values, list)
        or (count is not None and len(values) != count)
        or len(values) > MAX_ROW_VALUES
    ):
        _bad(key, "a list of " + (f"{count} " if count is not None else "") + "names", where)
    for value in values:
        _text(value, key, where)


# -- files -------------------------------------------------------------------------------
def _check_target_folder(path: Path, overwrite: bool, where: str) -> None:
    """``path`` is free, or (with ``overwrite``) a bundle folder holding nothing else."""
    if not path.exists() and not path.is_symlink():
        return
    if not overwrite:
        fail(
            "path",
            where,
            "a folder that does not exist yet (pass overwrite=True to replace it)",
            repr(str(path)),
            as_text=True,
        )
    try:
        if path.is_symlink() or not path.is_dir():
            raise SurvinngError
        with Folder(path, arg="path", where=where, what="a bundle folder") as folder:
            manifest = strict_json(
                folder.read(BUNDLE_FILE, MAX_JSON_BYTES), arg="path", where=where, what=BUNDLE_FILE
            )
        listed = set(manifest["files"]) | {BUNDLE_FILE}
        if manifest["format"] != FORMAT or {p.name for p in path.iterdir()} - listed:
            raise SurvinngError
    except (SurvinngError, OSError, KeyError, TypeError):
        fail(
            "path",
            where,
            "a survinng_py bundle folder to be replaced (nothing else is ever overwritten)",
            repr(str(path)),
            as_text=True,
        )


def _check_targets(targets: Any, adapter: SurvivalModel, where: str) -> list[str]:
    if targets is None:
        return list(adapter.targets)
    chosen = [targets] if isinstance(targets, str) else list(targets)
    if not chosen:
        fail("targets", where, "None or at least one target", targets)
    for t in chosen:
        adapter.check_target(t, where)
    return list(dict.fromkeys(chosen))


def _write_data(explainer: Explainer, folder: Path) -> None:
    import pyarrow.parquet as pq

    assert explainer.data is not None and explainer.feature_names is not None  # caller checks
    from .exchange import data_table

    for k, (x, names) in enumerate(zip(explainer.data, explainer.feature_names)):
        table = data_table(x.cpu().numpy().reshape(x.shape[0], -1), names)
        with open(folder / f"data_{k + 1}.parquet", "xb") as handle:  # a new file, never a link
            pq.write_table(table, handle)


def _read_data(
    members: dict[str, bytes], manifest: dict, dtype: torch.dtype, device: torch.device, where: str
) -> list[torch.Tensor] | None:
    """The stored data, from the bytes read (and hashed) by :func:`_read_members`."""
    if manifest["data"] is None:
        return None
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows, tensors = manifest["data"]["rows"], []
    for k, (names, shape) in enumerate(zip(manifest["feature_names"], manifest["input_shapes"])):
        name = f"data_{k + 1}.parquet"
        try:
            table = pq.read_table(pa.BufferReader(members[name]))
            columns = table.column_names  # decoded only now: a damaged name fails here
        except (pa.ArrowException, OSError, ValueError) as err:
            fail(
                "path",
                where,
                f"a bundle whose {name} is a Parquet file",
                f"{name} ({_first_line(err)})",
                as_text=True,
            )
        if (
            columns != names
            or table.num_rows != rows
            or not all(pa.types.is_floating(c.type) and c.null_count == 0 for c in table.columns)
        ):
            fail(
                "path",
                where,
                f"a bundle whose {name} holds {rows} rows of the numeric "
                "feature columns of its bundle.json",
                f"{name} holds other columns or rows",
                as_text=True,
            )
        flat = np.column_stack([table.column(n).to_numpy() for n in names])
        tensors.append(torch.as_tensor(flat.reshape(-1, *shape)).to(device=device, dtype=dtype))
    return tensors


def _file_entry(raw: bytes) -> dict:
    return {"sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw)}


def _package_version() -> str:
    from . import __version__

    return __version__


__all__ = ["save_model", "load_model", "bundle_info", "load_program"]
