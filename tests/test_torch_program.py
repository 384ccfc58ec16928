"""The torch.export program reader and the ONNX loader on files nobody vouches for.

Every crafted file of ``tests/cases_program.py`` is refused with one line, quickly and
without side effects; the original programs of the networks the package exports load
and compute what the networks compute; the operator allow-list is checked against
torch's own tags; every private torch name the package uses is present; the ONNX
exporter's registry patch is undone after each export.

The mutation fuzz test (byte flips, truncation, member renames and edits of the graph's
JSON values) runs 600 examples by default (about 10 s); set ``SURVINNG_FUZZ_EXAMPLES`` for a longer
run, e.g. ``SURVINNG_FUZZ_EXAMPLES=5000 python -m pytest tests/test_torch_program.py -k
fuzz``.
"""
from __future__ import annotations

import json
import os
import threading
import time

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import survinng_py as sv
from fuzz_tally import record
from survinng_py import _torch_internals, _torch_program
from survinng_py._torch_program import (ALLOWED_TARGETS, CORE_EXCLUDED, MODE_FLAGS,
                                        load_program)

import cases_program as crafted

FUZZ_EXAMPLES = int(os.environ.get("SURVINNG_FUZZ_EXAMPLES", "600"))
X = torch.linspace(-2, 2, crafted.ROWS * crafted.N_IN).reshape(crafted.ROWS, crafted.N_IN)


@pytest.fixture(scope="module")
def expected():
    with torch.no_grad():
        return crafted.network()(X)


# -- crafted files -------------------------------------------------------------------------
@pytest.mark.parametrize("case", crafted.CASES, ids=lambda c: c.name)
def test_crafted_file_is_refused_quickly_with_one_line(case, tmp_path, expected):
    start = time.perf_counter()
    with pytest.raises(sv.SurvinngError) as info:
        case.call(tmp_path)
    assert time.perf_counter() - start < 5  # loose: catches a hang, not a slow machine
    message = str(info.value)
    assert type(info.value) is sv.SurvinngError and "\n" not in message
    assert case.message in message and str(tmp_path) not in message
    # the original program still loads and computes what the network computes
    with torch.no_grad():
        assert torch.equal(load_program(crafted.program_bytes())(X), expected)


def test_code_in_the_graph_never_runs(tmp_path):
    """Names and specs from the file reach code torch compiles or imports: refused first."""
    marker = tmp_path / "ran"
    touch = f"__import__('pathlib').Path({str(marker)!r}).touch()"

    def inject(graph):
        signature = graph["graph_module"]["module_call_graph"][0]["signature"]
        signature["forward_arg_names"] = [f"x, _={touch}"]
    for edit in (inject, lambda g: crafted.first_expression(g).update(
            expr_str=f"{touch} or Symbol('s0', positive=True, integer=True)")):
        with pytest.raises(sv.SurvinngError):
            load_program(crafted.edit_graph(edit))
    assert not marker.exists()


def test_guard_code_and_node_metadata_are_dropped(tmp_path):
    marker = tmp_path / "ran"

    def guard(graph):
        graph["guards_code"] = [f"__import__('pathlib').Path({str(marker)!r}).touch() is None"]
        crafted.nodes(graph)[0]["metadata"]["source_fn_stack"] = "x,torch.nn.modules.Linear"
    module = load_program(crafted.edit_graph(guard))
    module(X)
    assert not marker.exists()
    assert all(node.meta.get("source_fn_stack") is None for node in module.graph.nodes)


@pytest.mark.parametrize("flag_op", sorted(MODE_FLAGS))
def test_training_flags_must_be_literally_false(flag_op):
    """A flag given as anything but JSON false (true, 1, missing) is refused."""
    op = "torch.ops.aten." + flag_op
    for value in ({"as_bool": True}, {"as_int": 0}, None):
        def edit(graph):
            node = crafted.first_node(graph, "dropout.default")
            node["target"] = op
            node["inputs"] = [{"name": MODE_FLAGS[flag_op], "arg": value, "kind": 1}] \
                if value is not None else []
        with pytest.raises(sv.SurvinngError, match="in eval mode"):
            load_program(crafted.edit_graph(edit))


def test_bytes_and_path_give_the_same_module(tmp_path, expected):
    path = tmp_path / "net.pt2"
    path.write_bytes(crafted.program_bytes())
    with torch.no_grad():
        assert torch.equal(load_program(path)(X), expected)
        assert torch.equal(load_program(crafted.program_bytes(), name="network.pt2")(X),
                           expected)
    with pytest.raises(sv.SurvinngError, match=r"^`path` of load_program\(\) must be an "
                       r"existing torch.export program file \(.pt2\); got 'none.pt2'$"):
        load_program(tmp_path / "none.pt2")
    with pytest.raises(sv.SurvinngError, match=r"; got network.pt2 \(File is not a zip"):
        load_program(b"not a zip", name="network.pt2")


# -- what our own exports emit ------------------------------------------------------------------
class _LSTMNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm, self.out = torch.nn.LSTM(2, 5, batch_first=True), torch.nn.Linear(5, 3)

    def forward(self, x):
        return self.out(self.lstm(x)[0][:, -1])


class _Activations(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 6)

    def forward(self, x):
        h = self.lin(x)
        return torch.cat([torch.nn.functional.softplus(h), torch.relu(h), torch.sigmoid(h),
                          torch.nn.functional.selu(h), torch.log_softmax(h, 1),
                          torch.softmax(h, 1).cumsum(1)], 1)


def _networks():
    from conftest import TwoInputNet, mlp
    from pycox.models.cox_time import MLPVanillaCoxTime
    from test_multimodal import ImageTableSequenceNet

    def rows(*shape):
        return torch.linspace(-1, 1, 3 * int(np.prod(shape))).reshape(3, *shape)
    return {
        "mlp_batchnorm_dropout": (mlp(3), (rows(4),)),
        "coxtime_time_column": (MLPVanillaCoxTime(4, [8], batch_norm=True, dropout=0.1),
                                (rows(4), rows(1))),
        "conv_and_table": (TwoInputNet(21), (rows(1, 3, 3), rows(4))),
        "conv_table_gru": (ImageTableSequenceNet(), (rows(1, 4, 4), rows(3), rows(5, 2))),
        "lstm": (_LSTMNet(), (rows(5, 2),)),
        "activations": (_Activations(), (rows(4),)),
    }


@pytest.mark.parametrize("name", list(_networks()))
def test_the_programs_our_exports_write_load_and_compute_alike(name):
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net, args = _networks()[name]
    net.eval()
    module = load_program(crafted.save_program(net, args))
    bigger = tuple(torch.cat([a, a.flip(0)]) for a in args)  # a batch size not traced
    with torch.no_grad():
        # a recurrent kernel may round in the last bit differently from call to call
        torch.testing.assert_close(module(*bigger), net(*bigger), rtol=0, atol=1e-6)
        if "gru" not in name and "lstm" not in name:
            assert torch.equal(module(*bigger), net(*bigger))


# -- the allow-list against torch's tags ----------------------------------------------------------
def _operator(target: str):
    """The aten overload ``name.overload``, or None (a schema only TorchScript knows)."""
    name, overload = target.split(".")
    try:
        return getattr(getattr(torch.ops.aten, name), overload)
    except (AttributeError, RuntimeError):
        return None


def test_allow_list_follows_the_core_aten_tags():
    """Fails when torch's core opset changes: an op gained or lost the tag, or one we allow
    became mutable or random. Each such change needs a decision here."""
    core = set()
    for schema in torch._C._jit_get_all_schemas():
        if schema.name.startswith("aten::"):
            name = f"{schema.name[6:]}.{schema.overload_name or 'default'}"
            if _operator(name) is not None and torch.Tag.core in _operator(name).tags:
                core.add(name)
    ours = {t[len("torch.ops.aten."):] for t in ALLOWED_TARGETS if t.startswith("torch.ops.")}
    listed_core = ours & core
    assert core == listed_core | set(CORE_EXCLUDED), "torch's core opset changed"
    assert listed_core == set(_torch_program._CORE_OPS)
    for name in ours:
        op = _operator(name)
        assert not op._schema.is_mutable, name
        random = torch.Tag.nondeterministic_seeded in op.tags
        assert random == (name in MODE_FLAGS) or name == "batch_norm.default", name
    for name, flag in MODE_FLAGS.items():  # the flag exists and is a plain bool
        argument = next(a for a in _operator(name)._schema.arguments if a.name == flag)
        assert str(argument.type) == "bool", name
    # nothing outside aten but getitem, and every name torch resolves to an aten overload
    assert ALLOWED_TARGETS - {"torch.ops.aten." + n for n in ours} == {"_operator.getitem"}
    assert all(_operator(name) is not None for name in ours)


def test_refused_operators_stay_refused():
    """The file, storage, global-state and random ops of torch 2.13 (found by scanning the
    schemas for file-name and Storage arguments and the nondeterministic_seeded tag)."""
    refused = {"from_file.default", "from_file.out", "save.default", "set_.source_Storage",
               "set_.source_Storage_storage_offset", "set.source_Storage",
               "set.source_Storage_storage_offset", "set_data.default", "manual_seed.default",
               "seed.default", "initial_seed.default", "_print.default", "warn.default",
               "record_stream.default", "empty.memory_format", "resize_.default"}
    for schema in torch._C._jit_get_all_schemas():
        name = f"{schema.name[6:]}.{schema.overload_name or 'default'}"
        if not schema.name.startswith("aten::") or name in MODE_FLAGS:
            continue
        types = {str(a.type) for a in schema.arguments}
        if "Storage" in types or any("file" in a.name or "path" in a.name
                                     for a in schema.arguments if str(a.type) == "str") or \
                schema.is_mutable or name.startswith("_foreach") or \
                torch.Tag.nondeterministic_seeded in getattr(_operator(name), "tags", ()):
            refused.add(name)
    assert not {"torch.ops.aten." + n for n in refused} & ALLOWED_TARGETS


# -- private torch names ------------------------------------------------------------------------
def test_every_private_torch_name_we_use_is_there():
    for key in _torch_internals.INTERNALS:
        assert _torch_internals.internal(key) is not None
    assert _torch_internals.argument_names(torch.ops.aten.addmm.default) == [
        "self", "mat1", "mat2", "beta", "alpha"]
    schema = _torch_internals.serde_schema()
    assert schema.SCHEMA_VERSION[0] == _torch_internals.SCHEMA_MAJOR
    # what the reader hard-codes agrees with torch
    from torch._export.serde.serialize import _SERIALIZE_TO_TORCH_DTYPE
    for code, dtype in _torch_program._DTYPES.items():
        assert _SERIALIZE_TO_TORCH_DTYPE[schema.ScalarType(code)] == dtype
    assert schema.Layout.Strided == _torch_program._STRIDED
    from torch.export.pt2_archive import constants as pt2
    assert (pt2.MODELS_FILENAME_FORMAT, pt2.WEIGHTS_CONFIG_FILENAME_FORMAT,
            pt2.CONSTANTS_CONFIG_FILENAME_FORMAT, pt2.SAMPLE_INPUTS_FILENAME_FORMAT,
            pt2.WEIGHT_FILENAME_PREFIX, pt2.TENSOR_CONSTANT_FILENAME_PREFIX,
            pt2.ARCHIVE_FORMAT_PATH, pt2.ARCHIVE_FORMAT_VALUE) == (
        "models/{}.json", "data/weights/{}_weights_config.json",
        "data/constants/{}_constants_config.json", "data/sample_inputs/{}.pt", "weight_",
        "tensor_", "archive_format", "pt2")


def test_a_torch_without_them_fails_with_one_line(monkeypatch):
    version = ".".join(torch.__version__.split(".")[:2])
    monkeypatch.setitem(_torch_internals.INTERNALS, "deserializer",
                        ("torch._export.serde.serialize", "Gone", "the program reader"))
    with pytest.raises(sv.SurvinngError, match=rf"^this torch \({version}\) is not supported by "
                       r"the program reader of survinng_py: torch\._export\.serde\.serialize"
                       r"\.Gone is missing$"):
        load_program(crafted.program_bytes())
    monkeypatch.setattr(_torch_internals, "SCHEMA_MAJOR", 99)
    with pytest.raises(sv.SurvinngError, match=rf"^this torch \({version}\) is not supported "
                       r"by the program reader of survinng_py: export schema \d+\.x "
                       r"\(supported: 99\.x\)$"):
        load_program(crafted.program_bytes())


# -- fuzzing ----------------------------------------------------------------------------------
def _paths(value, path=()):
    """Every (path, value) below a JSON document."""
    yield path, value
    items = value.items() if isinstance(value, dict) else \
        enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        yield from _paths(item, (*path, key))


_OTHER_VALUES = [None, True, False, 0, -1, 2**40, 0.5, "", "x", [], {}, [0], {"as_int": 1}]


@st.composite
def _mutants(draw):
    raw = crafted.program_bytes()
    # graph edits reach furthest (past the zip and into torch), so they come most often
    kind = draw(st.sampled_from(["json"] * 5 + ["flip"] * 2 + ["rename"] * 2 + ["truncate"]))
    if kind == "flip":
        mutant = bytearray(raw)
        for _ in range(draw(st.integers(1, 3))):
            mutant[draw(st.integers(0, len(raw) - 1))] ^= draw(st.integers(1, 255))
        return bytes(mutant)
    if kind == "truncate":
        return raw[:draw(st.integers(0, len(raw) - 1))]
    entries = crafted.members(raw)
    if kind == "rename":
        k = draw(st.integers(0, len(entries) - 1))
        names = [info.filename for info, _ in entries]
        new = draw(st.sampled_from(names) | st.text(min_size=1, max_size=30))
        entries[k] = (new, entries[k][1])
        return crafted.rezip(entries)
    graph = json.loads(next(body for info, body in entries
                            if info.filename.endswith("models/model.json")))
    paths = [p for p, _ in _paths(graph) if p]
    path = draw(st.sampled_from(paths))
    parent = graph
    for key in path[:-1]:
        parent = parent[key]
    old = parent[path[-1]]
    # values of another type, new text, bool flips, deletions. Never a number of the same
    # type or a string the graph holds (which names another tensor): those can make another
    # valid program, which no reader can tell from the author's (a different eps, an edge
    # from another layer of the same shape)
    choices = [v for v in _OTHER_VALUES if type(v) is not type(old)]
    held = {v for _, v in _paths(graph) if isinstance(v, str)}
    new = draw(st.sampled_from(choices) | st.text(max_size=12).filter(lambda t: t not in held)
               if isinstance(old, str)
               else st.sampled_from(choices + ([not old] if isinstance(old, bool) else [])))
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    body = json.dumps(graph).encode()
    return crafted.rezip([(info, body if info.filename.endswith("models/model.json") else b)
                          for info, b in entries])


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(mutant=_mutants())
def test_fuzzed_program_is_refused_with_one_line_or_loads_unchanged(mutant):
    start = time.perf_counter()
    try:
        module = load_program(mutant)
    except sv.SurvinngError as err:
        assert type(err) is sv.SurvinngError and "\n" not in str(err)
        record("network programs (.pt2)", "refused in one line")
    else:
        with torch.no_grad():
            assert torch.equal(module(X), crafted.network()(X))
        record("network programs (.pt2)", "loaded, outputs equal")
    assert time.perf_counter() - start < 5


# -- ONNX -------------------------------------------------------------------------------------
def test_onnx_subgraph_with_external_data_is_refused(tmp_path):
    """Tensors inside a subgraph (an If branch) are checked as the main graph's are."""
    import onnx

    def branch_with_external(model):
        then = onnx.helper.make_graph([onnx.helper.make_node("Identity", ["w"], ["y"])], "then",
                                      [], [onnx.helper.make_tensor_value_info("y", 1, [1])],
                                      [onnx.numpy_helper.from_array(np.ones(1, "float32"), "w")])
        crafted.external(then.initializer[0])
        node = onnx.helper.make_node("If", ["cond"], ["out"], then_branch=then, else_branch=then)
        model.graph.node.insert(0, node)
    path = crafted.write(tmp_path, "if.onnx", crafted.edit_onnx(branch_with_external))
    with pytest.raises(sv.SurvinngError, match=r"^`path` of predict_onnx\(\) must be an ONNX "
                       r"model holding all its data \(no external data files\); got if\.onnx: "
                       r"tensor 'w' refers to external data$"):
        sv.predict_onnx(path, crafted.data(3))


def test_original_onnx_file_still_predicts(tmp_path):
    path = crafted.write(tmp_path, "m.onnx", crafted.onnx_bytes())
    exp = crafted.explainer("deepsurv")
    rows = crafted.data(3)
    with torch.no_grad():
        expected = exp.model.forward([torch.as_tensor(rows)], "survival").numpy()
    np.testing.assert_allclose(sv.predict_onnx(path, rows), expected, rtol=0, atol=1e-5)


def test_onnx_registry_patch_lives_only_inside_our_export(tmp_path):
    """The exporter's table cache is installed for our export call only, undone after it
    (also when exports overlap in threads), and hands out copies nobody shares."""
    from survinng_py import onnx_export
    registry = _torch_internals.internal("onnx_registry")
    original = registry.__dict__["from_torchlib"]
    sv.export_onnx(crafted.explainer("deepsurv"), tmp_path / "m.onnx")
    assert registry.__dict__["from_torchlib"] is original

    inside, leave = threading.Barrier(3), threading.Event()

    def export_like():
        with onnx_export._cached_torchlib():
            inside.wait()
            leave.wait()
    threads = [threading.Thread(target=export_like) for _ in range(2)]
    for thread in threads:
        thread.start()
    inside.wait()
    assert registry.__dict__["from_torchlib"] is not original  # patched while they run
    first, second = registry.from_torchlib(), registry.from_torchlib()
    assert first is not second and first.functions.keys() == second.functions.keys()
    first.functions.clear()  # one caller changing its table leaves the others' alone
    assert registry.from_torchlib().functions.keys() == second.functions.keys()
    leave.set()
    for thread in threads:
        thread.join()
    assert registry.__dict__["from_torchlib"] is original


def test_onnx_errors_never_show_the_folder(tmp_path):
    for name, raw in [("a.onnx", b"junk"), ("b.onnx", crafted.edit_onnx(
            lambda m: crafted.external(m.graph.initializer[0])))]:
        with pytest.raises(sv.SurvinngError) as info:
            sv.predict_onnx(crafted.write(tmp_path, name, raw), crafted.data(3))
        assert str(tmp_path) not in str(info.value) and name in str(info.value)


def test_internals_resolve_in_a_fresh_process():
    """A private submodule nobody imported yet is found too (not reported as missing)."""
    import subprocess
    import sys

    code = ("from survinng_py._torch_internals import INTERNALS, internal\n"
            "for key in INTERNALS: internal(key)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
