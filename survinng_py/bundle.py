"""Model bundles: a survival model as a folder that loads and explains without pickle or pycox.

A bundle is a folder::

    bundle.json        the sidecar: format version, model class, head parameters (the
                       adapter's state; float arrays written exactly), time grid, dtype,
                       input/feature/event names, input shapes, package versions and the
                       sha256 of every other file
    network.pt2        the network as a torch.export program (differentiable again)
    <target>.onnx      network + survival head as one ONNX graph per target
                       (see :func:`~survinng_py.export_onnx`), for onnxruntime anywhere
    data_<k>.parquet   optional: the explainer data, one column per feature of input k

Loading never unpickles: the sidecar is JSON, the data Parquet, and ``network.pt2`` is
read by :func:`load_program`, which takes the graph (JSON) and the raw weight bytes from
the archive and refuses every pickled payload (``torch.export.load`` would unpickle
those). A changed, truncated or missing file, or a foreign one, gives a one-line
:class:`~survinng_py.SurvinngError`.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import models
from ._report import version
from ._torch_program import load_program
from ._validation import SurvinngError, check_device, check_int, fail
from .explainer import Explainer, check_fits
from .models.base import SurvivalModel
from .onnx_export import (_first_line, _quiet, as_explainer, capture, export_onnx, input_names,
                          network_args, sample_inputs)

BUNDLE_FILE = "bundle.json"
NETWORK_FILE = "network.pt2"
FORMAT, FORMAT_VERSION = "survinng_py.bundle", 1
#: engine caches on the adapter: not saved, reset on load
_TRANSIENT = {"profiles": dict, "forward_mode_ok": lambda: None}
_MANIFEST_KEYS = ("model_class", "source", "dtype", "targets", "onnx", "time", "event_names",
                  "input_names", "input_shapes", "feature_names", "network", "head", "data",
                  "memory_budget", "versions", "files")


def save_model(model: Any, path: str | os.PathLike, *, targets: Any = None, data: Any = None,
               include_data: bool = True, opset: int | None = None, dynamo: bool = True,
               overwrite: bool = False, **explain_kwargs: Any) -> Path:
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
        Replace an existing bundle (a folder holding anything else is never replaced).

    Returns
    -------
    Path
        The bundle folder.

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
                fail("feature_names", where, "unique within each input (they name the stored "
                     "data's columns)", names)
    head = _encode(adapter, "model", where)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        args = network_args(explainer, inputs)
        program = capture(adapter.net, args, where)
        with _quiet():
            torch.export.save(program, str(tmp / NETWORK_FILE))
        onnx = {t: f"{t}.onnx" for t in targets}
        for target, name in onnx.items():
            export_onnx(explainer, tmp / name, target=target, data=inputs,
                        opset=opset, dynamo=dynamo)
        data_files = _write_data(explainer, tmp) if include_data else None
        n_risks = adapter.num_risks(inputs)
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "model_class": adapter.model_class, "source": adapter.source,
            "dtype": str(adapter.dtype).replace("torch.", ""),
            "targets": list(adapter.targets), "onnx": onnx,
            "time": adapter.time.tolist(),
            "event_names": {t: adapter.event_names(t, n_risks) for t in adapter.targets},
            "input_names": input_names(explainer, len(inputs)),
            "input_shapes": [list(x.shape[1:]) for x in inputs],
            "feature_names": feature_names,
            "network": {"file": NETWORK_FILE, "arguments": len(args)},
            "head": head, "data": data_files, "memory_budget": explainer.memory_budget,
            "versions": versions(),
        }
        manifest["files"] = {p.name: _file_entry(p) for p in sorted(tmp.iterdir())}
        (tmp / BUNDLE_FILE).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        if path.exists():
            shutil.rmtree(path)  # checked above: a bundle, and overwrite was asked for
        tmp.rename(path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return path


def load_model(path: str | os.PathLike, *, device: Any = "cpu",
               memory_budget: int | None = None) -> Explainer:
    """Read a bundle written by :func:`save_model` into an :class:`~survinng_py.Explainer`.

    The explainer's gradients, predictions and labels are those of the saved one; its
    data (if stored) serves ``instance=`` and as background data.

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
    """
    where = "load_model()"
    torch_device = check_device(device, where)
    manifest = bundle_info(path, where)
    path = Path(path)
    net = load_program(path / manifest["network"]["file"], where)
    net = net.to(torch_device)  # no eval(): the mode is part of the exported graph
    for p in net.parameters():
        p.requires_grad_(False)
    try:
        adapter = _decode(manifest["head"], net, torch_device, where)
    except SurvinngError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        fail("path", where, f"a bundle whose head parameters ({BUNDLE_FILE}) can be read",
             _first_line(err), as_text=True)
    data = _read_data(path, manifest, adapter.dtype, torch_device, where)
    budget = manifest["memory_budget"] if memory_budget is None else memory_budget
    check_int(budget, "memory_budget", where)
    explainer = Explainer(adapter, data, manifest["feature_names"], manifest["input_names"], budget)
    if data is not None:
        check_fits(adapter, data, "path", where)
    return explainer


def bundle_info(path: str | os.PathLike, where: str = "bundle_info()") -> dict:
    """The sidecar of a bundle, after checking the format and every file's sha256.

    Examples
    --------
    >>> import survinng_py as sv
    >>> sv.bundle_info("no/such/folder")
    Traceback (most recent call last):
    ...
    survinng_py._validation.SurvinngError: `path` of bundle_info() must be a model bundle folder holding bundle.json; got 'no/such/folder'
    """
    path = Path(path)
    sidecar = path / BUNDLE_FILE
    if not sidecar.is_file():
        fail("path", where, f"a model bundle folder holding {BUNDLE_FILE}", repr(str(path)),
             as_text=True)
    try:
        manifest = json.loads(sidecar.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        fail("path", where, f"a bundle whose {BUNDLE_FILE} is valid JSON",
             f"{BUNDLE_FILE}: {_first_line(err)}", as_text=True)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        fail("path", where, f"a survinng_py model bundle ({BUNDLE_FILE} with format {FORMAT!r})",
             f"{BUNDLE_FILE} of another format", as_text=True)
    got = manifest.get("format_version")
    if got != FORMAT_VERSION:
        fail("path", where, f"a bundle of format version {FORMAT_VERSION} (this survinng_py "
             f"{_package_version()})", f"format version {got!r}, written by survinng_py "
             f"{manifest.get('versions', {}).get('survinng_py')}", as_text=True)
    for name, entry in (manifest.get("files") or {}).items():
        file = path / name
        if not file.is_file():
            fail("path", where, f"a complete bundle (its {BUNDLE_FILE} lists {name})",
                 f"{name} is missing", as_text=True)
        if _file_entry(file) != entry:
            fail("path", where, "a bundle whose files are as written (sha256 in "
                 f"{BUNDLE_FILE})", f"{name} has changed or is truncated", as_text=True)
    absent = [key for key in _MANIFEST_KEYS if key not in manifest]
    if absent:
        fail("path", where, f"a bundle whose {BUNDLE_FILE} has the keys " +
             ", ".join(_MANIFEST_KEYS), f"no {absent[0]!r}", as_text=True)
    missing = [n for n in _required_files(manifest) if n not in manifest["files"]]
    if missing:
        fail("path", where, f"a bundle whose {BUNDLE_FILE} lists every file it uses",
             f"{missing[0]} not listed", as_text=True)
    return manifest


def versions() -> dict:
    """Versions of the packages a bundle was written with."""
    return {"survinng_py": _package_version(), "python": platform.python_version(),
            "torch": torch.__version__, "numpy": np.__version__, "onnx": version("onnx"),
            "onnxruntime": version("onnxruntime"), "pyarrow": version("pyarrow")}


# -- adapter state <-> JSON ---------------------------------------------------------------
def _encode(value: Any, key: str, where: str) -> Any:
    """The adapter's attributes as JSON; tensors and arrays keep dtype and exact values."""
    if isinstance(value, SurvivalModel):
        state = {k: _encode(v, k, where) for k, v in vars(value).items() if k not in _TRANSIENT}
        return {"$adapter": type(value).__name__, "state": state}
    if isinstance(value, torch.nn.Module):
        return {"$network": True}
    if isinstance(value, torch.Tensor):
        return _array_entry("$tensor", value.detach().cpu().numpy(), str(value.dtype)[6:])
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiub":
        return _array_entry("$array", value, value.dtype.name)
    if isinstance(value, torch.dtype):
        return {"$dtype": str(value)[6:]}
    if isinstance(value, torch.device):
        return {"$device": True}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float)) for v in value):
        return list(value)
    fail("model", where, "an adapter whose head parameters are tensors, arrays, numbers or "
         "strings", f"attribute {key!r} of type {type(value).__name__}", as_text=True)


def _array_entry(tag: str, array: np.ndarray, dtype: str) -> dict:
    # float -> float64 -> JSON (shortest repr) is exact for float16/32/64
    flat = array.astype(np.float64 if array.dtype.kind == "f" else array.dtype).ravel().tolist()
    return {tag: dtype, "shape": list(array.shape), "data": flat}


def _decode(value: Any, net: torch.nn.Module, device: torch.device, where: str) -> Any:
    if isinstance(value, list):
        return list(value)
    if not isinstance(value, dict):
        return value
    if "$adapter" in value:
        cls = _ADAPTER_CLASSES.get(value["$adapter"])
        if cls is None:
            fail("path", where, "a bundle of a known model adapter (" +
                 ", ".join(sorted(_ADAPTER_CLASSES)) + ")", value["$adapter"])
        adapter = cls.__new__(cls)  # the saved state is complete; no constructor re-run
        vars(adapter).update({k: _decode(v, net, device, where) for k, v in value["state"].items()})
        vars(adapter).update({k: make() for k, make in _TRANSIENT.items()})
        return adapter
    if "$network" in value:
        return net
    if "$device" in value:
        return device
    if "$dtype" in value:
        return _torch_dtype(value["$dtype"], where)
    if "$tensor" in value:
        dtype = _torch_dtype(value["$tensor"], where)
        exact = torch.float64 if dtype.is_floating_point else dtype  # JSON floats are float64
        return torch.tensor(value["data"], dtype=exact).to(dtype).reshape(value["shape"]).to(device)
    if "$array" in value:
        return np.asarray(value["data"], dtype=np.dtype(value["$array"])).reshape(value["shape"])
    fail("path", where, "a bundle whose head entries are known", sorted(value)[:3])


def _torch_dtype(name: str, where: str) -> torch.dtype:
    dtype = getattr(torch, str(name), None)
    if not isinstance(dtype, torch.dtype):
        fail("path", where, "a bundle with torch dtypes in its head", name)
    return dtype


_ADAPTER_CLASSES = {name: getattr(models, name) for name in models.__all__
                    if isinstance(getattr(models, name), type)
                    and issubclass(getattr(models, name), SurvivalModel)}


# -- files -------------------------------------------------------------------------------
def _check_target_folder(path: Path, overwrite: bool, where: str) -> None:
    if not path.exists():
        return
    if not overwrite:
        fail("path", where, "a folder that does not exist yet (pass overwrite=True to replace it)",
             repr(str(path)), as_text=True)
    try:
        listed = set(json.loads((path / BUNDLE_FILE).read_text(encoding="utf-8"))["files"])
    except (OSError, ValueError, KeyError, TypeError):
        listed = None
    if listed is None or not path.is_dir() or \
            {p.name for p in path.iterdir()} - listed - {BUNDLE_FILE}:
        fail("path", where, "a survinng_py bundle folder to be replaced (nothing else is ever "
             "overwritten)", repr(str(path)), as_text=True)


def _check_targets(targets: Any, adapter: SurvivalModel, where: str) -> list[str]:
    if targets is None:
        return list(adapter.targets)
    chosen = [targets] if isinstance(targets, str) else list(targets)
    if not chosen:
        fail("targets", where, "None or at least one target", targets)
    for t in chosen:
        adapter.check_target(t, where)
    return list(dict.fromkeys(chosen))


def _write_data(explainer: Explainer, folder: Path) -> dict | None:
    if explainer.data is None:
        return None
    import pyarrow.parquet as pq

    from .exchange import data_table
    files = []
    for k, (x, names) in enumerate(zip(explainer.data, explainer.feature_names)):
        name = f"data_{k + 1}.parquet"
        pq.write_table(data_table(x.cpu().numpy().reshape(x.shape[0], -1), names), folder / name)
        files.append(name)
    return {"files": files, "rows": int(explainer.data[0].shape[0])}


def _read_data(path: Path, manifest: dict, dtype: torch.dtype, device: torch.device,
               where: str) -> list[torch.Tensor] | None:
    if not manifest.get("data"):
        return None
    from .exchange import read_table
    tensors = []
    for file, names, shape in zip(manifest["data"]["files"], manifest["feature_names"],
                                  manifest["input_shapes"]):
        table = read_table(path / file)
        if table.column_names != names:
            fail("path", where, f"a bundle whose {file} has the feature columns",
                 table.column_names)
        flat = np.column_stack([table.column(n).to_numpy() for n in names])
        tensors.append(torch.as_tensor(flat.reshape(-1, *shape)).to(device=device, dtype=dtype))
    return tensors


def _required_files(manifest: dict) -> list[str]:
    return [manifest["network"]["file"], *manifest["onnx"].values(),
            *(manifest["data"] or {}).get("files", [])]


def _file_entry(path: Path) -> dict:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"sha256": digest.hexdigest(), "bytes": path.stat().st_size}


def _package_version() -> str:
    from . import __version__
    return __version__


__all__ = ["save_model", "load_model", "bundle_info", "load_program"]
