"""Model bundles as untrusted files: a bundle loads into the saved explainer or fails with
one line; names never come from bundle.json, links and outside files are refused alike,
every field is checked (the head by its family), and saving is all or nothing."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import example, HealthCheck, given, settings
from hypothesis import strategies as st

import survinng_py as sv
from fuzz_tally import record
from survinng_py.bundle import _digest

from catalogue import data, net

pytest.importorskip("onnxruntime")
HAZARD = ([1.0, 2.0, 3.0], [0.1, 0.2, 0.3])
ROWS = [0, 3, 7]


def explainer():
    return sv.explain(net(), data(), model_type="deepsurv", baseline_hazard=HAZARD)


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    """A small bundle (with data) and its explainer's Grad(t), written once."""
    folder = tmp_path_factory.mktemp("original") / "bundle"
    exp = explainer()
    sv.save_model(exp, folder, targets="survival", dynamo=False)
    return folder, sv.surv_grad(exp, instance=ROWS).values[0]


@pytest.fixture
def bundle(original, tmp_path):
    """A fresh copy of the bundle, inside a folder of its own."""
    return Path(shutil.copytree(original[0], tmp_path / "inside" / "bundle"))


def sidecar(folder):
    return json.loads((folder / "bundle.json").read_text())


def resign(folder, edit):
    """Apply ``edit(manifest)`` to bundle.json and update its sha256 (as a forger would)."""
    manifest = sidecar(folder)
    edit(manifest)
    manifest["sha256"] = _digest(manifest)
    (folder / "bundle.json").write_text(json.dumps(manifest))


def error(folder, function=sv.load_model):
    with pytest.raises(sv.SurvinngError) as info:
        function(folder)
    message = str(info.value)
    assert "\n" not in message and type(info.value) is sv.SurvinngError
    return message


def load_error(folder):
    """The one-line error of load_model; bundle_info gives the same one."""
    message = error(folder)
    assert error(folder, sv.bundle_info) == message.replace("load_model()", "bundle_info()")
    return message


MISSING = ("`path` of load_model() must be a model bundle folder holding {!r} as a regular "
           "file; got missing, a link, outside the folder or not a plain file")


# -- names and links ------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["../outside.onnx", "/etc/passwd", "sub/survival.onnx"])
def test_file_names_in_bundle_json_are_never_used(bundle, name):
    resign(bundle, lambda m: m["files"].update({name: m["files"].pop("survival.onnx")}))
    assert load_error(bundle) == (
        "`path` of load_model() must be a bundle whose bundle.json has `files` as the bundle's "
        "files network.pt2, survival.onnx, data_1.parquet; got something else")
    (bundle / "bundle.json").write_text(json.dumps({**sidecar(bundle), "onnx": [name]}))
    resign(bundle, lambda m: None)
    assert load_error(bundle) == ("`path` of load_model() must be a bundle whose bundle.json has "
                                  "`onnx` as a list of distinct targets of its head; got "
                                  "something else")


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_links_to_outside_files_are_refused_whatever_they_point_to(bundle, link):
    outside = bundle.parent.parent / "outside.parquet"
    shutil.copy(bundle / "data_1.parquet", outside)  # the very bytes listed: only the link is wrong
    (bundle / "data_1.parquet").unlink()
    (os.symlink if link == "symlink" else os.link)(outside, bundle / "data_1.parquet")
    assert load_error(bundle) == MISSING.format("data_1.parquet")
    # a link to nothing gives the same message: it tells nothing about the outside
    (bundle / "data_1.parquet").unlink()
    os.symlink(bundle.parent / "no_such_file", bundle / "data_1.parquet")
    assert load_error(bundle) == MISSING.format("data_1.parquet")


def test_a_linked_bundle_json_is_refused(bundle):
    (bundle / "bundle.json").rename(bundle.parent / "elsewhere.json")
    os.symlink(bundle.parent / "elsewhere.json", bundle / "bundle.json")
    assert load_error(bundle) == ("`path` of load_model() must be a model bundle folder holding "
                                  f"bundle.json; got {str(bundle)!r}")


def test_checksum_message_tells_nothing_about_outside_files(bundle, tmp_path):
    (bundle.parent / "exists.onnx").write_bytes(b"x")
    messages = set()
    for name in ("../exists.onnx", "../missing.onnx"):
        manifest = sidecar(bundle)
        manifest["files"][name] = manifest["files"]["survival.onnx"]
        (bundle / "bundle.json").write_text(json.dumps(manifest))  # not re-signed
        messages.add(load_error(bundle))
        resign(bundle, lambda m: None)
        messages.add(load_error(bundle).replace("`files`", "X"))
        (bundle / "bundle.json").write_text(json.dumps({k: v for k, v in manifest.items()}))
    assert messages == {
        "`path` of load_model() must be a bundle whose bundle.json is as written (its sha256 "
        "field); got bundle.json has been edited",
        "`path` of load_model() must be a bundle whose bundle.json has X as the bundle's files "
        "network.pt2, survival.onnx, data_1.parquet; got something else"}


# -- checksums, sizes, truncation -----------------------------------------------------------
def test_an_edit_without_the_checksum_is_detected(bundle):
    manifest = sidecar(bundle)
    manifest["memory_budget"] += 1  # harmless, but not as written
    (bundle / "bundle.json").write_text(json.dumps(manifest))
    assert load_error(bundle) == ("`path` of load_model() must be a bundle whose bundle.json is "
                                  "as written (its sha256 field); got bundle.json has been edited")
    resign(bundle, lambda m: None)
    assert sv.load_model(bundle).memory_budget == manifest["memory_budget"]


def test_a_swapped_network_is_detected(bundle, tmp_path):
    other = sv.explain(net(seed=1), data(), model_type="deepsurv", baseline_hazard=HAZARD)
    sv.save_model(other, tmp_path / "other", targets="survival", dynamo=False)
    shutil.copy(tmp_path / "other" / "network.pt2", bundle / "network.pt2")
    assert load_error(bundle) == ("`path` of load_model() must be a bundle whose files are as "
                                  "written (sha256 in bundle.json); got network.pt2 has changed "
                                  "or is truncated")


@pytest.mark.parametrize("name", ["network.pt2", "survival.onnx", "data_1.parquet"])
def test_truncated_files_are_detected(bundle, name):
    raw = (bundle / name).read_bytes()
    (bundle / name).write_bytes(raw[:len(raw) // 2])
    assert load_error(bundle) == ("`path` of load_model() must be a bundle whose files are as "
                                  f"written (sha256 in bundle.json); got {name} has changed or "
                                  "is truncated")


def test_a_truncated_or_grown_bundle_json_is_refused(bundle):
    raw = (bundle / "bundle.json").read_bytes()
    (bundle / "bundle.json").write_bytes(raw[:-20])
    assert load_error(bundle).startswith("`path` of load_model() must be a valid bundle.json "
                                         "(JSON); got ")
    with open(bundle / "data_1.parquet", "ab") as handle:
        handle.write(b"more")
    (bundle / "bundle.json").write_bytes(raw)
    assert load_error(bundle) == (
        "`path` of load_model() must be a model bundle folder whose data_1.parquet has at most "
        f"{sidecar(bundle)['files']['data_1.parquet']['bytes']} bytes; got "
        f"{sidecar(bundle)['files']['data_1.parquet']['bytes'] + 4} bytes")


def test_huge_declared_sizes_are_refused_before_reading(bundle):
    resign(bundle, lambda m: m["files"]["network.pt2"].update(bytes=2**40))
    assert load_error(bundle) == ("`path` of load_model() must be a bundle whose bundle.json has "
                                  "`files.network.pt2` as its sha256 and size (at most 2147483648 "
                                  "bytes); got something else")
    resign(bundle, lambda m: m.update(input_shapes=[[4096, 4096, 4096]]))
    assert load_error(bundle) == ("`path` of load_model() must be a bundle whose bundle.json has "
                                  "`input_shapes` as per-row shapes of at most 16777216 values; "
                                  "got something else")


def test_data_rows_and_columns_must_agree_with_the_sidecar(bundle):
    resign(bundle, lambda m: m["data"].update(rows=11))
    assert error(bundle) == ("`path` of load_model() must be a bundle whose data_1.parquet holds "
                             "11 rows of the numeric feature columns of its bundle.json; got "
                             "data_1.parquet holds other columns or rows")
    resign(bundle, lambda m: (m["data"].update(rows=12), m.update(feature_names=[["a", "b"]])))
    assert load_error(bundle) == ("`path` of load_model() must be a bundle whose bundle.json has "
                                  "`feature_names[0]` as a list of 4 names; got something else")


# -- strict JSON ------------------------------------------------------------------------------
@pytest.mark.parametrize("text,message", [
    ("[" * 40 + "]" * 40, "a bundle.json nested at most 32 levels deep; got deeper nesting"),
    ('{"format": "survinng_py.bundle", "format": "x"}',
     "a valid bundle.json (JSON); got duplicate key 'format'"),
    ('{"format": "survinng_py.bundle", "time": [NaN]}',
     "a valid bundle.json (JSON); got NaN is not allowed"),
    ("\xff\xfe", "a bundle.json in UTF-8; got undecodable bytes")])
def test_bundle_json_is_parsed_strictly(bundle, text, message):
    (bundle / "bundle.json").write_bytes(text.encode("latin-1"))
    assert load_error(bundle) == f"`path` of load_model() must be {message}"


def test_bundles_of_another_format_version_say_to_re_export(bundle):
    resign(bundle, lambda m: m.update(format_version=1))
    assert load_error(bundle) == (
        f"`path` of load_model() must be a bundle of format version 2 (this survinng_py "
        f"{sv.__version__}); got format version 1, written by survinng_py {sv.__version__}; "
        "re-export the model with save_model() or survinng-py export")


# -- the head is checked by its family ------------------------------------------------------
def set_spec(key, index, value):
    return lambda m: m["head"]["spec"][key]["data"].__setitem__(index, value)


@pytest.mark.parametrize("edit,message", [
    (set_spec("baseline_hazard", 1, -0.2),
     "`baseline_hazard` of {where} must be 3 finite non-negative hazard jumps (one per time "
     "point); got [0.1, -0.2, 0.3]"),
    (set_spec("time", 2, 1.5), "`baseline_hazard` of {where} must be strictly increasing; got "
     "[1.0, 2.0, 1.5]"),
    (lambda m: m["head"]["spec"]["baseline_hazard"].update(shape=[2], data=[0.1, 0.2]),
     "`baseline_hazard` of {where} must be 3 finite non-negative hazard jumps (one per time "
     "point); got [0.1, 0.2]"),
    (lambda m: m["head"]["spec"]["time"].update(data=[1.0, 2.0, "3"]),
     "`path` of {where} must be a bundle whose bundle.json has `head.spec.time` as an array of "
     "float64 values; got something else"),
    (lambda m: m["head"]["spec"].pop("time"), "`head` of {where} must be the head parameters of "
     "a DeepSurv model (time, baseline_hazard); got no 'time'"),
    (lambda m: m["head"].update(family="weibull"), "`path` of {where} must be a known model "
     "family (deepsurv, coxtime, logistichazard, bcesurv, deephit, mtlr, pchazard); got "
     "'weibull'"),
    (lambda m: m["head"].update(interpolate=2), "`interpolate` of {where} must be left out for "
     "a DeepSurv model (pycox interpolates LogisticHazard, PMF, DeepHitSingle, MTLR and "
     "BCESurv); got 2"),
    (lambda m: m.update(time=[1.0, 2.0, 3.5]), "`path` of {where} must be a bundle whose "
     "bundle.json has `time` as its head's time grid; got something else"),
    (lambda m: m.update(targets=["survival", "hazard"]), "`path` of {where} must be a bundle "
     "whose bundle.json has `targets` as its head's targets survival, cum_hazard, hazard, "
     "log_risk (or the first of them); got something else")])
def test_an_edited_head_is_checked_as_a_new_model(bundle, edit, message):
    resign(bundle, edit)
    assert error(bundle) == message.format(where="load_model()")
    assert error(bundle, sv.bundle_info) == message.format(where="bundle_info()")


def test_the_same_head_given_to_explain_fails_alike(bundle):
    resign(bundle, set_spec("baseline_hazard", 1, -0.2))
    with pytest.raises(sv.SurvinngError) as info:
        sv.explain(net(), data(), model_type="deepsurv",
                   baseline_hazard=([1.0, 2.0, 3.0], [0.1, -0.2, 0.3]))
    assert str(info.value).replace("explain()", "load_model()") == error(bundle)


def test_event_names_must_be_the_models(bundle):
    resign(bundle, lambda m: m["event_names"].update(survival=["death"]))
    assert error(bundle) == ("`path` of load_model() must be a bundle whose event names "
                             "(bundle.json) are its model's; got bundle.json names other events")


# -- writing ----------------------------------------------------------------------------------
def test_a_failed_save_leaves_no_folder_and_the_old_bundle_intact(bundle):
    class DataDependent(torch.nn.Module):  # torch.export cannot capture it
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(4, 1)

        def forward(self, x):
            return self.lin(x) if x.sum() > 0 else -self.lin(x)
    bad = sv.explain(DataDependent(), data(), model_type="deepsurv", baseline_hazard=HAZARD)
    before = {p.name: p.read_bytes() for p in bundle.iterdir()}
    for target, overwrite in ((bundle.parent / "new", False), (bundle, True)):
        with pytest.raises(sv.SurvinngError, match="could not be captured by torch.export"):
            sv.save_model(bad, target, overwrite=overwrite, dynamo=False)
    assert sorted(p.name for p in bundle.parent.iterdir()) == ["bundle"]  # no staging left
    assert {p.name: p.read_bytes() for p in bundle.iterdir()} == before


def test_what_load_model_would_refuse_is_not_written(tmp_path):
    exp = sv.explain(net(), data(), model_type="deepsurv", baseline_hazard=HAZARD,
                     feature_names=["a", "b", "c", "x" * 1001])
    with pytest.raises(sv.SurvinngError) as info:
        sv.save_model(exp, tmp_path / "bundle", dynamo=False)
    assert str(info.value) == ("`path` of save_model() must be a bundle whose bundle.json has "
                               "`feature_names[0]` as a string of at most 1000 characters; got "
                               "something else")
    assert list(tmp_path.iterdir()) == []


def test_overwrite_replaces_only_a_bundle(bundle, original):
    exp = sv.explain(net(seed=1), data(), model_type="deepsurv", baseline_hazard=HAZARD)
    sv.save_model(exp, bundle, targets="survival", overwrite=True, dynamo=False)
    assert sorted(p.name for p in bundle.parent.iterdir()) == ["bundle"]
    np.testing.assert_array_equal(sv.surv_grad(sv.load_model(bundle), instance=ROWS).values[0],
                                  sv.surv_grad(exp, instance=ROWS).values[0])
    (bundle / "notes.txt").write_text("mine")
    for target in (bundle, bundle.parent / "empty"):
        target.mkdir(exist_ok=True)
        with pytest.raises(sv.SurvinngError, match="must be a survinng_py bundle folder to be "
                           r"replaced \(nothing else is ever overwritten\)"):
            sv.save_model(exp, target, overwrite=True, dynamo=False)
    assert (bundle / "notes.txt").read_text() == "mine"
    os.symlink(original[0], bundle.parent / "link")  # a link to a bundle is not replaced
    with pytest.raises(sv.SurvinngError, match="must be a survinng_py bundle folder to be replaced"):
        sv.save_model(exp, bundle.parent / "link", overwrite=True, dynamo=False)


# -- mutation fuzzing -------------------------------------------------------------------------
EXAMPLES = int(os.environ.get("SURVINNG_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize="SURVINNG_FUZZ_EXAMPLES"
                not in os.environ, suppress_health_check=list(HealthCheck))
FILES = ["bundle.json", "data_1.parquet", "network.pt2", "survival.onnx"]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.text(max_size=6) |
    st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3), max_leaves=6)


def paths(value, prefix=()):
    """Every path into a JSON value (keys and list positions)."""
    yield prefix
    items = value.items() if isinstance(value, dict) else \
        enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        yield from paths(item, (*prefix, key))


def replace(value, path, new):
    if not path:
        return new
    value[path[0]] = replace(value[path[0]], path[1:], new)
    return value


def loads_or_fails_in_one_line(folder, original):
    """One-line SurvinngError, or an explainer; returns its Grad(t) values then."""
    try:
        exp = sv.load_model(folder)
        values = sv.surv_grad(exp, instance=ROWS).values[0]
    except sv.SurvinngError as err:
        assert "\n" not in str(err) and type(err) is sv.SurvinngError
        record("model bundles", "refused in one line")
        return None
    record("model bundles", "loaded, attributions checked")
    return values


def mutated_copy(original, mutate):
    tmp = Path(tempfile.mkdtemp())
    folder = Path(shutil.copytree(original[0], tmp / "bundle"))
    mutate(folder)
    return tmp, folder


@FUZZ
@given(name=st.sampled_from(FILES), where=st.floats(0, 1, exclude_max=True),
       action=st.sampled_from(["flip", "set", "truncate", "insert"]), byte=st.integers(0, 255))
def test_fuzz_accidents_are_detected(original, name, where, action, byte):
    """Byte edits and truncation of any file: an error, or (an edit JSON ignores, such as
    whitespace) the original attributions."""
    def mutate(folder):
        raw = bytearray((folder / name).read_bytes())
        at = int(where * len(raw))
        if action == "flip":
            raw[at] ^= 1 << (byte % 8)
        elif action == "set":
            raw[at] = byte
        elif action == "truncate":
            del raw[at:]
        else:
            raw.insert(at, byte)
        (folder / name).write_bytes(bytes(raw))
    tmp, folder = mutated_copy(original, mutate)
    try:
        values = loads_or_fails_in_one_line(folder, original)
        assert values is None or np.array_equal(values, original[1])
    finally:
        shutil.rmtree(tmp)


@FUZZ
@given(st.data())
def test_fuzz_field_edits(original, draw):
    """Any field replaced (or removed) in bundle.json. Without the checksum updated: an
    error or the original attributions; with it (a forger's edit): an error or a model
    that explains (finite attributions of the original's shape)."""
    manifest = sidecar(original[0])
    path = draw.draw(st.sampled_from([p for p in paths(manifest) if p and p[0] != "sha256"]))
    remove = draw.draw(st.booleans()) and isinstance(path[-1], str)
    resigned = draw.draw(st.booleans())
    if remove:
        parent = manifest
        for key in path[:-1]:
            parent = parent[key]
        del parent[path[-1]]
    else:
        manifest = replace(manifest, path, draw.draw(JSON_VALUES))
    if resigned:
        manifest["sha256"] = _digest(manifest)
    tmp, folder = mutated_copy(
        original, lambda f: (f / "bundle.json").write_text(json.dumps(manifest)))
    try:
        values = loads_or_fails_in_one_line(folder, original)
        if values is not None and not resigned:
            assert np.array_equal(values, original[1])
        elif values is not None:
            assert values.shape == original[1].shape and np.isfinite(values).all()
    finally:
        shutil.rmtree(tmp)


@FUZZ
@given(where=st.floats(0, 1, exclude_max=True), byte=st.integers(0, 255),
       cut=st.booleans())
@example(where=0.4140625, byte=128, cut=False)  # a column name that is not UTF-8 (found so)
def test_fuzz_forged_data_file(original, where, byte, cut):
    """A data file edited and its sha256 and size updated: the Parquet reader and the
    checks behind it still give one line or a model that explains."""
    def mutate(folder):
        raw = bytearray((folder / "data_1.parquet").read_bytes())
        at = int(where * len(raw))
        if cut:
            del raw[at:]
        else:
            raw[at] = byte
        (folder / "data_1.parquet").write_bytes(bytes(raw))
        resign(folder, lambda m: m["files"]["data_1.parquet"].update(
            sha256=__import__("hashlib").sha256(raw).hexdigest(), bytes=len(raw)))
    tmp, folder = mutated_copy(original, mutate)
    try:
        values = loads_or_fails_in_one_line(folder, original)
        assert values is None or (values.shape == original[1].shape and np.isfinite(values).all())
    finally:
        shutil.rmtree(tmp)
