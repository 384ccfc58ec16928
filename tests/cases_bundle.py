"""Bad-input cases for model bundles (``load_model``, ``bundle_info``, ``save_model``) and
for the model checks of ``explain()`` that a bundle's head goes through as well."""
from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from catalogue import Case, data, net

HAZARD = ([1.0, 2.0, 3.0], [0.1, 0.2, 0.3])


@functools.lru_cache(maxsize=None)
def _original() -> Path:
    """A small DeepSurv bundle with data, written once per process."""
    import survinng_py as sv
    exp = sv.explain(net(), data(), model_type="deepsurv", baseline_hazard=HAZARD)
    folder = Path(tempfile.mkdtemp()) / "bundle"
    return sv.save_model(exp, folder, targets="survival", dynamo=False)


def _copy(tmp: Path) -> Path:
    return Path(shutil.copytree(_original(), tmp / "bundle"))


def _load(edit: Callable[[Path], Any]) -> Callable[[Path], Any]:
    """A case: ``edit`` a copy of the bundle, then load it."""
    def call(tmp: Path):
        import survinng_py as sv
        folder = _copy(tmp)
        edit(folder)
        return sv.load_model(folder)
    return call


def _write(text: str | bytes) -> Callable[[Path], Any]:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return _load(lambda folder: (folder / "bundle.json").write_bytes(raw))


def _sidecar(folder: Path) -> dict:
    return json.loads((folder / "bundle.json").read_text())


def _resign(edit: Callable[[dict], Any]) -> Callable[[Path], Any]:
    """Edit bundle.json and update its checksum, as someone rewriting both would."""
    def apply(folder: Path):
        from survinng_py.bundle import _digest
        manifest = _sidecar(folder)
        edit(manifest)
        manifest["sha256"] = _digest(manifest)
        (folder / "bundle.json").write_text(json.dumps(manifest))
    return _load(apply)


def _edit_only(edit: Callable[[dict], Any]) -> Callable[[Path], Any]:
    def apply(folder: Path):
        manifest = _sidecar(folder)
        edit(manifest)
        (folder / "bundle.json").write_text(json.dumps(manifest))
    return _load(apply)


def _spec(key: str, index: int, value: Any) -> Callable[[dict], Any]:
    return lambda m: m["head"]["spec"][key]["data"].__setitem__(index, value)


def _link(kind: str) -> Callable[[Path], Any]:
    def apply(folder: Path):
        outside = folder.parent / "outside.parquet"
        (folder / "data_1.parquet").rename(outside)
        (os.symlink if kind == "symlink" else os.link)(outside, folder / "data_1.parquet")
    return _load(apply)


def _swap_network(folder: Path):
    import survinng_py as sv
    other = sv.explain(net(seed=1), data(), model_type="deepsurv", baseline_hazard=HAZARD)
    sv.save_model(other, folder.parent / "other", targets="survival", dynamo=False)
    shutil.copy(folder.parent / "other" / "network.pt2", folder / "network.pt2")


def _truncate(name: str) -> Callable[[Path], Any]:
    def apply(folder: Path):
        raw = (folder / name).read_bytes()
        (folder / name).write_bytes(raw[:len(raw) // 2])
    return apply


def _forged_data(folder: Path):
    """Data rows dropped, the file's sha256 and size updated: only the row count is off."""
    import pyarrow.parquet as pq
    table = pq.read_table(folder / "data_1.parquet").slice(0, 5)
    pq.write_table(table, folder / "data_1.parquet")
    raw = (folder / "data_1.parquet").read_bytes()
    from survinng_py.bundle import _digest
    manifest = _sidecar(folder)
    manifest["files"]["data_1.parquet"] = {"sha256": hashlib.sha256(raw).hexdigest(),
                                           "bytes": len(raw)}
    manifest["sha256"] = _digest(manifest)
    (folder / "bundle.json").write_text(json.dumps(manifest))


def _save_over(make: Callable[[Path], Path], overwrite: bool) -> Callable[[Path], Any]:
    def call(tmp: Path):
        import survinng_py as sv
        exp = sv.explain(net(), data(), model_type="deepsurv", baseline_hazard=HAZARD)
        return sv.save_model(exp, make(tmp), overwrite=overwrite, dynamo=False)
    return call


def _folder_with_notes(tmp: Path) -> Path:
    folder = _copy(tmp)
    (folder / "notes.txt").write_text("mine")
    return folder


def _explain(model: Any = None, **kwargs: Any) -> Callable[[Path], Any]:
    def call(tmp: Path):
        import survinng_py as sv
        return sv.explain(net() if model is None else model(), data(), **kwargs)
    return call


class _CoxTimeNet(torch.nn.Module):
    """A CoxTime network (``net(x, t)``) with two outputs per row."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(5, 2)

    def forward(self, x, t):
        return self.lin(torch.cat([x, t], dim=1))


_FILES = "`path` of load_model() must be a bundle whose bundle.json has "
CASES = [
    Case("files", "bundle_no_folder", lambda tmp: __import__("survinng_py").load_model(
        tmp / "none"), "must be a model bundle folder; got", "a bundle folder that does not exist"),
    Case("files", "bundle_no_sidecar", lambda tmp: __import__("survinng_py").load_model(tmp),
         "must be a model bundle folder holding bundle.json", "a folder without bundle.json"),
    Case("files", "bundle_json_invalid", _write("{not json"), "must be a valid bundle.json (JSON)",
         "a bundle.json that is not JSON"),
    Case("files", "bundle_json_deep", _write("[" * 40 + "]" * 40), "nested at most 32 levels",
         "a bundle.json nested 40 levels deep"),
    Case("files", "bundle_json_duplicate_key",
         _write('{"format": "survinng_py.bundle", "format": "x"}'), "duplicate key 'format'",
         "a bundle.json with a duplicated key"),
    Case("files", "bundle_json_nan", _write('{"format": "survinng_py.bundle", "time": [NaN]}'),
         "NaN is not allowed", "a bundle.json holding NaN"),
    Case("files", "bundle_json_not_utf8", _write(b"\xff\xfe{}"), "in UTF-8",
         "a bundle.json that is not UTF-8"),
    Case("files", "bundle_json_huge", _write(b" " * (9 * 2**20)), "bundle.json has at most",
         "a bundle.json of 9 MiB"),
    Case("files", "bundle_other_format", _write('{"format": "other"}'),
         "with format 'survinng_py.bundle'", "a JSON file of another format"),
    Case("files", "bundle_old_version", _resign(lambda m: m.update(format_version=1)),
         "re-export the model", "a bundle of an older format version"),
    Case("files", "bundle_edited", _edit_only(lambda m: m.update(memory_budget=1)),
         "got bundle.json has been edited", "a bundle.json edited by hand (checksum not updated)"),
    Case("files", "bundle_missing_key", _resign(lambda m: m.pop("input_shapes")),
         "got no 'input_shapes'", "a bundle.json without input_shapes"),
    Case("files", "bundle_unknown_family", _resign(lambda m: m["head"].update(family="weibull")),
         "must be a known model family", "a bundle of a family that is not registered"),
    Case("files", "bundle_negative_hazard", _resign(_spec("baseline_hazard", 1, -0.2)),
         "`baseline_hazard` of load_model() must be 3 finite non-negative hazard jumps",
         "a bundle head with a negative baseline hazard"),
    Case("files", "bundle_unsorted_time", _resign(_spec("time", 2, 1.5)),
         "`baseline_hazard` of load_model() must be strictly increasing",
         "a bundle head whose times are not increasing"),
    Case("files", "bundle_grid_length", _resign(lambda m: m["head"]["spec"]["baseline_hazard"]
                                                .update(shape=[2], data=[0.1, 0.2])),
         "must be 3 finite non-negative hazard jumps (one per time point); got [0.1, 0.2]",
         "a bundle head with fewer hazards than times"),
    Case("files", "bundle_time_field", _resign(lambda m: m.update(time=[1.0, 2.0, 4.0])),
         _FILES + "`time` as its head's time grid", "a time grid that is not its head's"),
    Case("files", "bundle_traversal_name", _resign(lambda m: m["files"].update(
        {"../survival.onnx": m["files"].pop("survival.onnx")})),
        _FILES + "`files` as the bundle's files", "a bundle.json listing ../survival.onnx"),
    Case("files", "bundle_absolute_target", _resign(lambda m: m.update(onnx=["/etc/passwd"])),
         _FILES + "`onnx` as a list of distinct targets", "an ONNX target named /etc/passwd"),
    Case("files", "bundle_symlink_out", _link("symlink"),
         "holding 'data_1.parquet' as a regular file; got missing, a link, outside the folder",
         "a data file that is a symlink out of the folder"),
    Case("files", "bundle_hardlink", _link("hardlink"),
         "holding 'data_1.parquet' as a regular file; got missing, a link, outside the folder",
         "a data file hard-linked to a file outside"),
    Case("files", "bundle_missing_member", _load(lambda f: (f / "survival.onnx").unlink()),
         "holding 'survival.onnx' as a regular file; got missing, a link, outside the folder",
         "a bundle without one of its files"),
    Case("files", "bundle_swapped_network", _load(_swap_network),
         "got network.pt2 has changed or is truncated", "network.pt2 of another bundle"),
    Case("files", "bundle_truncated_data", _load(_truncate("data_1.parquet")),
         "got data_1.parquet has changed or is truncated", "a truncated data file"),
    Case("files", "bundle_huge_file", _resign(lambda m: m["files"]["network.pt2"].update(
        bytes=2**40)), "`files.network.pt2` as its sha256 and size (at most 2147483648 bytes)",
        "a bundle.json declaring a 1 TiB network"),
    Case("files", "bundle_huge_shape", _resign(lambda m: m.update(input_shapes=[[4096] * 3])),
         "per-row shapes of at most 16777216 values", "a bundle.json declaring a huge input"),
    Case("files", "bundle_data_rows", _load(_forged_data),
         "data_1.parquet holds other columns or rows", "data rows that disagree with bundle.json"),
    Case("files", "bundle_event_names", _resign(lambda m: m["event_names"].update(
        survival=["death"])), "whose event names (bundle.json) are its model's",
        "event names that are not the model's"),
    Case("files", "bundle_overwrite_other_folder", _save_over(_folder_with_notes, True),
         "nothing else is ever overwritten", "save_model(overwrite=True) onto a folder holding "
         "another file"),
    Case("files", "bundle_exists", _save_over(_copy, False),
         "must be a folder that does not exist yet (pass overwrite=True to replace it)",
         "save_model onto an existing bundle without overwrite"),

    Case("api", "cox_several_outputs", _explain(lambda: net(n_out=2), model_type="deepsurv",
                                                baseline_hazard=HAZARD),
         "`model` of explain() must be a network with one output per row",
         "a DeepSurv network with two outputs per row"),
    Case("api", "coxtime_several_outputs", _explain(_CoxTimeNet, model_type="coxtime",
                                                    baseline_hazard=HAZARD),
         "`model` of explain() must be a network with one output per row",
         "a CoxTime network with two outputs per row"),
    Case("api", "deephit_flat_risks", _explain(lambda: net(n_out=10), model_type="deephit",
                                               time_bins=np.arange(5.0)),
         "`event_names` of explain() must be 2 names to read the network's flat output",
         "a flat DeepHit output twice the time grid, without event names"),
    Case("api", "hazard_two_numbers", _explain(model_type="deepsurv", baseline_hazard=[1.0, 0.5]),
         "`baseline_hazard` of explain() must be a pandas Series indexed by time",
         "a baseline hazard given as two numbers"),
    Case("api", "hazard_unequal_pair", _explain(model_type="deepsurv",
                                                baseline_hazard=([1.0, 2.0], [0.5])),
         "or a (time, hazard) pair of arrays of equal length",
         "a (time, hazard) pair of unequal lengths"),
    Case("api", "time_bins_strings", _explain(lambda: net(n_out=3), model_type="logistichazard",
                                              time_bins=["0", "1", "2"]),
         "`time_bins` of explain() must be a vector of numbers", "time bins given as strings"),
    Case("api", "hazard_times_objects", _explain(model_type="deepsurv", baseline_hazard=(
        np.array([1.0, "2", 3.0], dtype=object), [0.1, 0.2, 0.3])),
        "`baseline_hazard` of explain() must be a vector of numbers",
        "baseline hazard times in an object array"),
    Case("api", "interpolate_huge", _explain(lambda: net(n_out=5), model_type="logistichazard",
                                             time_bins=np.linspace(0, 4, 5), interpolate=10**9),
         "`interpolate` of explain() must be at most 24999 (a grid of at most 100000 points",
         "interpolate=10**9 (a grid too large for memory)"),
    Case("api", "pchazard_sub_huge", _explain(lambda: net(n_out=4), model_type="pchazard",
                                              time_bins=np.linspace(0, 4, 5), sub=10**6),
         "`sub` of explain() must be at most 24999", "PCHazard with sub=10**6"),
]
