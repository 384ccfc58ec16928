"""Crafted torch.export programs and ONNX files: each must be refused with one line.

Every crafted file is a real saved program (a small network with batch norm and dropout,
``torch.export.save`` of ``torch.export.export`` with a dynamic batch axis) or a real
exported ONNX model with one thing changed, the way an attacker would change it.
"""
from __future__ import annotations

import functools
import io
import json
import struct
import tempfile
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Callable

import torch

from catalogue import Case, data, explainer

#: rows the crafted programs are run on
ROWS = 5
N_IN = 4


def network() -> torch.nn.Module:
    """Linear, BatchNorm1d (eval, non-trivial statistics), Tanh, Dropout (eval), Linear."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(N_IN, 8), torch.nn.BatchNorm1d(8),
                                  torch.nn.Tanh(), torch.nn.Dropout(0.2), torch.nn.Linear(8, 2))
        net[1].running_mean.uniform_(-1, 1)
        net[1].running_var.uniform_(0.5, 2)
    return net.eval()


def save_program(net: torch.nn.Module, args: tuple, dynamic: bool = True) -> bytes:
    """``torch.export.save`` of ``net`` with one dynamic batch axis (or none), as bytes."""
    batch = torch.export.Dim("batch")
    program = torch.export.export(net, args, dynamic_shapes=tuple(
        {0: batch} if dynamic else None for _ in args))
    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    return buffer.getvalue()


@functools.lru_cache(maxsize=None)
def program_bytes() -> bytes:
    """The real program every crafted one starts from (saved once)."""
    return save_program(network(), (torch.ones(2, N_IN),))


def members(raw: bytes) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        return [(info, archive.read(info)) for info in archive.infolist()]


def rezip(entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> bytes:
    """A stored (uncompressed) zip of ``(name, bytes)`` in this order, duplicates kept."""
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as archive:
        warnings.simplefilter("ignore")  # "Duplicate name": on purpose
        for name, raw in entries:
            name = name if isinstance(name, str) else name.filename
            archive.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), raw)
    return buffer.getvalue()


def edit_member(suffix: str, edit: Callable[[bytes], bytes], raw: bytes | None = None) -> bytes:
    """The program with the member whose name ends in ``suffix`` passed through ``edit``."""
    return rezip([(info, edit(body) if info.filename.endswith(suffix) else body)
                  for info, body in members(raw or program_bytes())])


def edit_json(suffix: str, edit: Callable[[dict], None]) -> bytes:
    """The program with the JSON member ending in ``suffix`` changed in place by ``edit``."""
    def change(body: bytes) -> bytes:
        document = json.loads(body)
        edit(document)
        return json.dumps(document).encode()
    return edit_member(suffix, change)


def edit_graph(edit: Callable[[dict], None]) -> bytes:
    return edit_json("models/model.json", edit)


def nodes(graph: dict) -> list[dict]:
    return graph["graph_module"]["graph"]["nodes"]


def first_node(graph: dict, target: str) -> dict:
    return next(n for n in nodes(graph) if n["target"] == "torch.ops.aten." + target)


def retarget(target: str) -> bytes:
    """The program with its tanh node calling ``target`` instead."""
    return edit_graph(lambda g: first_node(g, "tanh.default").update(target=target))


def first_expression(graph: dict) -> dict:
    meta = graph["graph_module"]["graph"]["tensor_values"]
    return next(s["as_expr"] for m in meta.values() for s in m["sizes"] if "as_expr" in s)


def symbol(graph: dict) -> str:
    return next(iter(graph["range_constraints"]))


def set_flag(graph: dict) -> None:
    node = first_node(graph, "dropout.default")
    next(i for i in node["inputs"] if i["name"] == "train")["arg"] = {"as_bool": True}


def importing_spec(graph: dict) -> None:
    """An output spec whose context torch decodes with a hook that imports a module."""
    context = json.dumps({"__enum__": True, "fqn": "this:x", "name": "x"})
    spec = [1, {"type": "builtins.dict", "context": context, "children_spec": []}]
    graph["graph_module"]["module_call_graph"][0]["signature"]["out_spec"] = json.dumps(spec)


def rebind_weight(graph: dict) -> None:
    """The first layer's weight bound to the last layer's weight file."""
    graph["graph_module"]["signature"]["input_specs"][0]["parameter"]["parameter_name"] = \
        "4.weight"


def drop_argument_name(graph: dict) -> None:
    """The first linear layer's bias passed under a name its operator does not have (torch
    would pass the default, no bias, instead)."""
    node = first_node(graph, "linear.default")
    next(i for i in node["inputs"] if i["name"] == "bias")["name"] = "bias_"


def weight_config(edit: Callable[[dict], None]) -> bytes:
    return edit_json("model_weights_config.json", lambda c: edit(c["config"]["0.weight"]))


def pickled_constant() -> bytes:
    """The program with a tensor constant stored as a pickle (``use_pickle``)."""
    meta = json.loads(next(body for info, body in members(program_bytes())
                           if info.filename.endswith("model_weights_config.json")))
    entry = {**meta["config"]["0.weight"], "path_name": "tensor_0", "is_param": False,
             "use_pickle": True}
    raw = edit_member("model_constants_config.json", lambda _: json.dumps(
        {"config": {"lifted_tensor_0": entry}}).encode())
    root = members(raw)[0][0].filename.split("/")[0]
    return rezip([*members(raw), (f"{root}/data/constants/tensor_0", b"\x80\x04N.")])


def resize_weight(change: int) -> bytes:
    """The first weight file ``change`` bytes shorter or longer than its tensor."""
    return edit_member("data/weights/weight_0",
                       lambda b: b[:change] if change < 0 else b + bytes(change))


def extra_member(name: str, body: bytes) -> bytes:
    root = members(program_bytes())[0][0].filename.split("/")[0]
    return rezip([*members(program_bytes()), (f"{root}/{name}", body)])


@functools.lru_cache(maxsize=None)
def zip_bomb() -> bytes:
    """The program plus a deflated member that inflates to 1 GiB of zeros."""
    size, block = 2**30, bytes(2**20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)  # the same each time
    stream = chunk * (size // len(block)) + deflate.flush()
    crc = 0
    for _ in range(size // len(block)):
        crc = zlib.crc32(block, crc)
    raw = bytearray(extra_member("data/weights/weight_99", stream))
    # the member was stored: mark it deflated, with its inflated size and checksum
    local = zipfile.ZipFile(io.BytesIO(bytes(raw))).getinfo(
        members(bytes(raw))[-1][0].filename).header_offset
    struct.pack_into("<H", raw, local + 8, zipfile.ZIP_DEFLATED)
    struct.pack_into("<LLL", raw, local + 14, crc, len(stream), size)
    central = struct.unpack_from("<L", raw, raw.rfind(b"PK\x05\x06") + 16)[0]
    while raw[central:central + 4] == b"PK\x01\x02":
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", raw, central + 28)
        if struct.unpack_from("<L", raw, central + 42)[0] == local:
            struct.pack_into("<H", raw, central + 10, zipfile.ZIP_DEFLATED)
            struct.pack_into("<LLL", raw, central + 16, crc, len(stream), size)
        central += 46 + name_len + extra_len + comment_len
    return bytes(raw)


def write(tmp: Path, name: str, raw: bytes) -> Path:
    (tmp / name).write_bytes(raw)
    return tmp / name


def load(name: str, make: Callable[[], bytes]) -> Callable[[Path], object]:
    """A case call: write the crafted program to ``name`` and load it."""
    from survinng_py.bundle import load_program
    return lambda tmp: load_program(write(tmp, name, make()))


# -- ONNX ------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def onnx_bytes() -> bytes:
    """A real ONNX export (network and survival head) of a small DeepSurv explainer."""
    import survinng_py as sv
    with tempfile.TemporaryDirectory() as folder:
        path = sv.export_onnx(explainer("deepsurv"), Path(folder) / "m.onnx", dynamo=False)
        return path.read_bytes()


def edit_onnx(edit: Callable) -> bytes:
    import onnx
    model = onnx.load_model_from_string(onnx_bytes())
    edit(model)
    return model.SerializeToString()


def external(tensor) -> None:
    """Point ``tensor``'s data at a file outside (what onnxruntime would then read)."""
    import onnx
    tensor.ClearField("raw_data")
    tensor.data_location = onnx.TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "../../../../etc/hostname"


def external_constant(model) -> None:
    import onnx
    node = onnx.helper.make_node("Constant", [], ["c"], value=onnx.numpy_helper.from_array(
        data(1, 1), "c"))
    external(node.attribute[0].t)
    model.graph.node.insert(0, node)


def foreign_node(model, domain: str, op_type: str) -> None:
    import onnx
    model.graph.node.insert(0, onnx.helper.make_node(op_type, [], ["c"], domain=domain))


def foreign_domain(model) -> None:
    model.opset_import.add(domain="com.microsoft", version=1)
    foreign_node(model, "com.microsoft", "Gelu")


def predict(name: str, make: Callable[[], bytes]) -> Callable[[Path], object]:
    import survinng_py as sv
    return lambda tmp: sv.predict_onnx(write(tmp, name, make()), data(3))


# -- the cases --------------------------------------------------------------------------------
_OPS = "must be a program calling only the ATen operators survinng_py allows"


def _op(name: str, target: str, description: str) -> Case:
    return Case("files", f"program_{name}", load(f"{name}.pt2", lambda: retarget(target)),
                f"{_OPS}; got {name}.pt2 calls {target!r}", description)


CASES = [
    _op("from_file", "torch.ops.aten.from_file.default",
        "a program whose node reads a file (aten.from_file)"),
    _op("save", "torch.ops.aten.save.default", "a program whose node writes a file (aten.save)"),
    _op("set_storage", "torch.ops.aten.set_.source_Storage",
        "a program that swaps a tensor's storage (aten.set_)"),
    _op("manual_seed", "torch.ops.aten.manual_seed.default",
        "a program that reseeds the global random generator"),
    _op("rng", "torch.ops.aten.randn.default", "a program drawing random numbers (aten.randn)"),
    _op("c10d", "torch.ops.c10d.allreduce_.default", "a program calling a c10d collective"),
    _op("higher_order", "torch.ops.higher_order.cond", "a program calling a higher-order op"),
    _op("prims", "torch.ops.prims.copy_to.default", "a program calling prims.copy_to"),
    _op("torch_attribute", "torch.load", "a program whose node target is torch.load"),
    Case("files", "program_dropout_training", load("train.pt2", lambda: edit_graph(set_flag)),
         "must be a program whose dropout, batch norm and recurrent layers are in eval mode",
         "a program whose dropout layer draws random numbers (train=True)"),
    Case("files", "program_power_tower", load("tower.pt2", lambda: edit_graph(
        lambda g: first_expression(g).update(expr_str="9**9**9**9"))),
         "size expressions are a symbol", "a program with the size expression 9**9**9**9"),
    Case("files", "program_unbacked_symbol", load("symbol.pt2", lambda: edit_graph(
        lambda g: first_expression(g).update(
            expr_str="Symbol('u99999999999', positive=True, integer=True)"))),
         "size expressions are a symbol", "a program with a size symbol u99999999999"),
    Case("files", "program_huge_range", load("range.pt2", lambda: edit_graph(
        lambda g: g["range_constraints"][symbol(g)].update(max_val=2**62))),
         "whose shape ranges are its size symbols", "a program whose batch range ends at 2**62"),
    Case("files", "program_argument_name", load("names.pt2", lambda: edit_graph(
        lambda g: g["graph_module"]["module_call_graph"][0]["signature"].update(
            forward_arg_names=["x, _=print('code ran')"]))),
         "must be a program whose names are plain identifiers",
         "a program whose argument name is Python code (torch compiles it)"),
    Case("files", "program_enum_import", load("spec.pt2", lambda: edit_graph(importing_spec)),
         "must be a program whose calling convention is forward(*tensors)",
         "a program whose output spec makes torch import a module"),
    Case("files", "program_buffer_mutation", load("mutation.pt2", lambda: edit_graph(
        lambda g: g["graph_module"]["signature"]["output_specs"].insert(0, {"buffer_mutation": {
            "arg": {"name": "tanh"}, "buffer_name": "1.running_mean"}}))),
         "must be a program that returns tensors and changes no state",
         "a program that overwrites a buffer on each call"),
    Case("files", "program_weight_rebound", load("rebound.pt2", lambda: edit_graph(
        rebind_weight)), "must be a program binding each weight once",
         "a program binding one weight file to two layers"),
    Case("files", "program_unknown_argument", load("argument.pt2", lambda: edit_graph(
        drop_argument_name)), "named as in the operator's schema",
         "a program passing an argument under a name its operator lacks"),
    Case("files", "program_static_batch", load("static.pt2", lambda: save_program(
        network(), (torch.ones(2, N_IN),), dynamic=False)),
         "must be a program with a dynamic batch axis",
         "a program exported with a fixed number of rows"),
    Case("files", "program_zip_bomb", load("bomb.pt2", zip_bomb),
         "whose members are stored uncompressed",
         "a program with a member that inflates to 1 GiB"),
    Case("files", "program_duplicate_member", load("twice.pt2", lambda: rezip(
        members(program_bytes()) + [m for m in members(program_bytes())
                                    if m[0].filename.endswith("models/model.json")])),
         "without duplicate members", "a program archive with two models/model.json"),
    Case("files", "program_native_code", load("aoti.pt2", lambda: extra_member(
        "data/aotinductor/model/model.so", b"\x7fELF")),
         "holding only a program's graph and raw weights",
         "a program archive carrying a compiled library (AOTInductor .so)"),
    Case("files", "program_pickled_weight", load("pickled.pt2", lambda: weight_config(
        lambda w: w.update(use_pickle=True))), "pickled payloads are never read",
         "a program whose weight is pickled"),
    Case("files", "program_pickled_constant", load("constant.pt2", pickled_constant),
         "pickled payloads are never read", "a program whose tensor constant is pickled"),
    Case("files", "program_custom_object", load("custom.pt2", lambda: extra_member(
        "data/constants/custom_obj_0", b"\x80\x04N.")),
         "holding only a program's graph and raw weights",
         "a program archive with a pickled custom object"),
    Case("files", "program_short_weight", load("short.pt2", lambda: resize_weight(-4)),
         "whose weight files hold exactly the bytes their tensors need",
         "a program whose weight file is 4 bytes short"),
    Case("files", "program_long_weight", load("long.pt2", lambda: resize_weight(4)),
         "whose weight files hold exactly the bytes their tensors need",
         "a program whose weight file has 4 bytes too many"),
    Case("files", "program_huge_tensor", load("huge.pt2", lambda: weight_config(
        lambda w: w["tensor_meta"].update(sizes=[{"as_int": 2**16}, {"as_int": 2**16}]))),
         "whose tensors have at most", "a program declaring a 16 GiB weight"),
    Case("files", "program_truncated", load("cut.pt2", lambda: program_bytes()[:3000]),
         "must be a complete torch.export program file (.pt2)", "a truncated program file"),
    Case("files", "onnx_external_initializer", predict("external.onnx", lambda: edit_onnx(
        lambda m: external(m.graph.initializer[0]))), "holding all its data",
         "an ONNX file whose weights point at a file outside"),
    Case("files", "onnx_external_constant", predict("constant.onnx", lambda: edit_onnx(
        external_constant)), "holding all its data",
         "an ONNX file whose Constant node points at a file outside"),
    Case("files", "onnx_foreign_domain", predict("foreign.onnx", lambda: edit_onnx(
        foreign_domain)), "imports 'com.microsoft'",
         "an ONNX file importing the com.microsoft operators"),
    Case("files", "onnx_ep_context", predict("context.onnx", lambda: edit_onnx(
        lambda m: foreign_node(m, "", "EPContext"))), "calls ::EPContext",
         "an ONNX file with an EPContext node (a path to a compiled model)"),
    Case("files", "onnx_not_onnx", predict("rows.onnx", lambda: b"\x00" * 3 + b"time,x\n1,2\n"),
         "must be an ONNX model file", "a file that is not ONNX"),
]
