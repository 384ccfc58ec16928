"""Reading ``torch.export`` programs (``.pt2``) from files nobody vouches for.

``torch.export.load`` unpickles parts of the archive, resolves every operator name in the
graph by ``getattr`` from the ``torch`` module (so ``aten.from_file`` reads any file),
hands size expressions to ``sympy.sympify`` (that is, to ``eval``) and compiles names
from the file into Python source. :func:`load_program` checks the archive and the graph
against fixed rules first, and lets torch see only what passed:

* the zip: size-capped, at most :data:`MAX_MEMBERS` members, no duplicate names, only the
  members ``torch.export.save`` writes for a plain program (no native code, no pickled
  objects), each stored uncompressed, so nothing inflates;
* the graph (JSON): typed strictly against torch's schema; operators only from the frozen
  :data:`ALLOWED_TARGETS`, those with a training flag (dropout, batch norm, recurrent
  layers) only with the flag off; every size expression a single batch symbol or an
  integer; names plain identifiers; no state changes; node metadata and the stored guard
  code dropped;
* the weights: raw bytes whose length matches the tensors declared on them exactly.

The sample inputs (a pickle) are never read.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import functools
import io
import keyword
import math
import operator
import os
import re
import struct
import sys
import types
import typing
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import _torch_internals
from ._files import read_file, strict_json
from ._validation import SurvinngError, fail, first_line

MAX_ARCHIVE_BYTES = 2**31
#: torch writes 9 fixed members plus one per weight and constant tensor
MAX_MEMBERS = 1024
MAX_GRAPH_BYTES = 16 * 2**20
MAX_CONFIG_BYTES = 8 * 2**20
MAX_NODES = 100_000
#: bytes of one tensor, with every symbolic (batch) size counted as 1
MAX_TENSOR_BYTES = 2**33
#: sizes, strides, offsets, hints and range bounds; and elements of a literal size list
_DIM_LIMIT = 2**31
_CHUNK = 1 << 16
_LIST_LIMIT = 4096

# -- operators ------------------------------------------------------------------------------
# The Core ATen opset: overloads tagged `core` in aten/src/ATen/native/native_functions.yaml
# (torch.Tag.core at run time; the table at docs.pytorch.org/docs/stable/torch.compiler_ir.html),
# as of torch 2.13, less CORE_EXCLUDED. tests/test_torch_program.py fails when that set changes.
_CORE_OPS = frozenset(
    """
_adaptive_avg_pool2d.default _adaptive_avg_pool3d.default _cdist_forward.default
_embedding_bag.default _fft_c2r.default _fft_r2c.default _log_softmax.default
_native_batch_norm_legit_no_training.default _pdist_forward.default _softmax.default
_to_copy.default abs.default acos.default acosh.default adaptive_avg_pool1d.default
add.Scalar add.Tensor addmm.default alias.default amax.default amin.default any.default
any.dim any.dims argmax.default argmin.default asin.default asinh.default atan.default
atan2.default atanh.default avg_pool1d.default avg_pool2d.default avg_pool3d.default
bitwise_and.Scalar bitwise_and.Tensor bitwise_not.default bitwise_or.Scalar bitwise_or.Tensor
bitwise_xor.Scalar bitwise_xor.Tensor bmm.default cat.default ceil.default clamp.Tensor
clamp.default clone.default col2im.default constant_pad_nd.default convolution.default
copy.default cos.default cosh.default cumsum.default diagonal.default div.Scalar
div.Scalar_mode div.Tensor div.Tensor_mode elu.default embedding.default eq.Scalar eq.Tensor
erf.default exp.default expand.default expm1.default fill.Scalar flip.default floor.default
fmod.Scalar fmod.Tensor full.default full_like.default gather.default ge.Scalar ge.Tensor
gelu.default grid_sampler_2d.default gt.Scalar gt.Tensor hardtanh.default index.Tensor
index_put.default index_select.default isinf.default isnan.default le.Scalar le.Tensor
leaky_relu.default log.default log10.default log1p.default log2.default logical_and.default
logical_not.default logical_or.default logical_xor.default lt.Scalar lt.Tensor
masked_scatter.default max.dim max_pool2d_with_indices.default max_pool3d_with_indices.default
maximum.default mean.default mean.dim min.dim minimum.default mm.default mul.Scalar mul.Tensor
native_group_norm.default native_layer_norm.default ne.Scalar ne.Tensor neg.default
permute.default pow.Scalar pow.Tensor_Scalar pow.Tensor_Tensor prod.default prod.dim_int
reciprocal.default reflection_pad1d.default reflection_pad2d.default reflection_pad3d.default
relu.default remainder.Scalar remainder.Tensor repeat.default replication_pad2d.default
replication_pad3d.default round.default rsqrt.default scalar_tensor.default scatter.src
scatter.value scatter_add.default scatter_reduce.two select.int select_scatter.default
sigmoid.default sign.default sin.default sinh.default slice.Tensor slice_scatter.default
sort.default split_with_sizes.default sqrt.default squeeze.dim squeeze.dims sub.Scalar
sub.Tensor sum.dim_IntList sym_is_contiguous.default sym_numel.default sym_size.int
sym_storage_offset.default sym_stride.int tan.default tanh.default topk.default trunc.default
unsqueeze.default upsample_bilinear2d.vec upsample_nearest2d.vec var.correction var.dim
view.default where.self
""".split()
)
#: core overloads left out, and why
CORE_EXCLUDED = {
    "_native_batch_norm_legit.default": "mutable (updates running statistics)",
    "atan2.out": "mutable (out= variant)",
    "resize_.default": "mutable",
    "_native_batch_norm_legit.no_stats": "training-mode batch norm",
    "native_dropout.default": "random (nondeterministic_seeded)",
    "rand.default": "random (nondeterministic_seeded)",
    "randn.default": "random (nondeterministic_seeded)",
    "randperm.default": "random (nondeterministic_seeded)",
    "empty.memory_format": "uninitialized memory",
    "empty_strided.default": "uninitialized memory",
    "arange.start_step": "factory sized by scalars from the file",
    "as_strided.default": "reads storage outside the tensor's view",
    "_local_scalar_dense.default": "data-dependent (a tensor's value as a size)",
    "nonzero.default": "data-dependent output size",
    "_adaptive_avg_pool2d_backward.default": "backward pass",
    "avg_pool2d_backward.default": "backward pass",
    "convolution_backward.default": "backward pass",
    "embedding_dense_backward.default": "backward pass",
    "max_pool2d_with_indices_backward.default": "backward pass",
    "native_group_norm_backward.default": "backward pass",
    "native_layer_norm_backward.default": "backward pass",
}
# What torch.export emits for standard layers before decomposition (the programs it saves
# by default, e.g. for Linear, BatchNorm1d, Dropout, Conv2d, GRU/LSTM, Softplus): not core,
# but functional. Listed rather than decomposed at save time so that programs users save
# with a plain ``torch.export.save`` load as they are.
_EXPORT_OPS = frozenset(
    """
linear.default conv1d.default conv2d.default conv3d.default batch_norm.default
layer_norm.default group_norm.default dropout.default alpha_dropout.default
feature_dropout.default flatten.using_ints unflatten.int gru.input lstm.input rnn_tanh.input
rnn_relu.input softmax.int log_softmax.int softplus.default selu.default silu.default
mish.default hardswish.default hardsigmoid.default log_sigmoid.default celu.default
relu6.default zeros.default ones.default zeros_like.default ones_like.default
new_zeros.default new_ones.default reshape.default t.default transpose.int matmul.default
contiguous.default to.dtype _assert_tensor_metadata.default stack.default split.Tensor
chunk.default unbind.int max_pool1d.default max_pool2d.default adaptive_avg_pool2d.default
square.default clamp_min.default clamp_max.default cumprod.default logsumexp.default
rsub.Scalar masked_fill.Scalar masked_fill.Tensor type_as.default detach.default
""".split()
)
#: ops that draw random numbers or update running statistics when a flag is on: allowed
#: only with that flag literally False
MODE_FLAGS = {
    "dropout.default": "train",
    "alpha_dropout.default": "train",
    "feature_dropout.default": "train",
    "batch_norm.default": "training",
    "gru.input": "train",
    "lstm.input": "train",
    "rnn_tanh.input": "train",
    "rnn_relu.input": "train",
}
#: every operator a program may call, as written in the graph JSON
ALLOWED_TARGETS = frozenset(
    {"torch.ops.aten." + op for op in _CORE_OPS | _EXPORT_OPS} | {"_operator.getitem"}
)

# -- shapes, names, dtypes -----------------------------------------------------------------
#: the size expressions a program may hold: a batch symbol, a multiple of it (strides and
#: offsets of tensors whose batch axis is not the first, as GRU/LSTM layers make) or an integer
_SYMBOL = re.compile(
    r"(?P<k>Mul\(Integer\(\d{1,10}\), )?"
    r"Symbol\('(?P<s>s\d{1,6})', positive=True, integer=True\)(?(k)\))"
)
_INTEGER = re.compile(r"-?\d{1,10}")
_SYMBOL_NAME = re.compile(r"s\d{1,6}")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,199}")
_FQN = re.compile(r"[A-Za-z0-9_]{1,200}(\.[A-Za-z0-9_]{1,200}){0,31}")
_MODEL_NAME = r"[A-Za-z0-9_-]{1,64}"
#: ScalarType codes of torch's export schema -> dtype (plain dtypes only)
_DTYPES = {
    1: torch.uint8,
    2: torch.int8,
    3: torch.int16,
    4: torch.int32,
    5: torch.int64,
    6: torch.float16,
    7: torch.float32,
    8: torch.float64,
    12: torch.bool,
    13: torch.bfloat16,
}
_STRIDED = 7  # Layout.Strided
_INPUT_KINDS = {"user_input", "parameter", "buffer", "tensor_constant"}
_WEIGHT_NAME_KEYS = {
    "parameter": "parameter_name",
    "buffer": "buffer_name",
    "tensor_constant": "tensor_constant_name",
}
#: a pytree spec of one leaf (a tensor), as torch writes it
_LEAF: dict[str, Any] = {"type": None, "context": None, "children_spec": []}
_ARGUMENT_KINDS = {
    "as_none",
    "as_tensor",
    "as_tensors",
    "as_int",
    "as_ints",
    "as_float",
    "as_floats",
    "as_string",
    "as_sym_int",
    "as_sym_ints",
    "as_scalar_type",
    "as_memory_format",
    "as_layout",
    "as_device",
    "as_bool",
    "as_bools",
    "as_sym_bool",
    "as_sym_float",
    "as_optional_tensors",
    "as_optional_tensor",
}
#: members of a torch.export archive that are never read
_UNREAD = {"archive_version", ".data/version", ".data/serialization_id"}
#: rules shown in errors, by short name
_RULES = {
    "archive": "a complete torch.export program file (.pt2)",
    "members": "a torch.export program archive holding only a program's graph and raw weights",
    "schema": "a torch.export program whose graph follows torch's schema",
    "ops": "a program calling only the ATen operators survinng_py allows",
    "pickle": "a program whose weights and constants are plain tensors stored raw (pickled "
    "payloads are never read)",
}


def load_program(
    source: str | os.PathLike | bytes,
    where: str = "load_program()",
    arg: str = "path",
    *,
    name: str | None = None,
) -> torch.nn.Module:
    """The module of a ``torch.export`` program (``.pt2``), read without unpickling.

    The program must be one ``torch.export.save`` writes for a plain network exported
    with a dynamic batch axis: tensors in (rows first), tensors out, weights stored raw,
    operators from :data:`ALLOWED_TARGETS` (dropout, batch norm and recurrent layers in
    eval mode). Everything else is refused before torch reads the file.

    Parameters
    ----------
    source : str, Path or bytes
        The ``.pt2`` file, or its bytes.
    where, arg : str
        The function and argument named in errors.
    name : str, optional
        The file's name in errors (default: the path's last part, or "the program").

    Returns
    -------
    torch.nn.Module
        The program's module (``ExportedProgram.module()``).

    Raises
    ------
    SurvinngError
        One line for anything else: a file that is not such a program, a refused
        operator, member or expression, weights that do not match, or a torch whose
        private export interfaces this reader does not know.

    Examples
    --------
    >>> import io, torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Tanh())
    >>> program = torch.export.export(net, (torch.ones(2, 3),),
    ...                               dynamic_shapes=({0: torch.export.Dim("batch")},))
    >>> buffer = io.BytesIO()
    >>> torch.export.save(program, buffer)
    >>> module = load_program(buffer.getvalue())
    >>> bool(torch.equal(module(torch.ones(5, 3)), net(torch.ones(5, 3))))
    True
    """
    schema = _torch_internals.serde_schema()
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
        shown = name or "the program"
        if len(raw) > MAX_ARCHIVE_BYTES:
            fail(
                arg,
                where,
                f"a torch.export program of at most {MAX_ARCHIVE_BYTES} bytes",
                f"{len(raw)} bytes",
                as_text=True,
            )
    else:
        raw = read_file(
            source,
            MAX_ARCHIVE_BYTES,
            arg=arg,
            where=where,
            what="an existing torch.export program file (.pt2)",
        )
        shown = name or Path(source).name[:60]
    return _Reader(schema, shown, arg, where).read(raw)


class _Reader:
    """One archive being read: what errors name, and the checks."""

    def __init__(self, schema: Any, shown: str, arg: str, where: str):
        self.schema, self.shown, self.arg, self.where = schema, shown, arg, where

    def refuse(self, rule: str, detail: str) -> typing.NoReturn:
        fail(self.arg, self.where, _RULES.get(rule, rule), detail, as_text=True)

    def read(self, raw: bytes) -> torch.nn.Module:
        try:
            archive = _open_zip(raw)
            members, model = self.members(archive, len(raw))
            read = functools.partial(self.member, archive, members)
            order = read("byteorder", 16) if "byteorder" in members else sys.byteorder.encode()
            if order != sys.byteorder.encode():
                self.refuse(
                    f"a program with {sys.byteorder}-endian weights",
                    f"{self.shown}: byte order {order!r}",
                )
            if "archive_format" in members and read("archive_format", 16) != b"pt2":
                self.refuse("archive", f"{self.shown} (archive format is not pt2)")
            graph = self.json(
                read(f"models/{model}.json", MAX_GRAPH_BYTES), "the graph", allow_nan=True
            )
            symbols = self.check_graph(graph)
            self.check_ranges(graph, symbols)
            state = self.payloads(read, members, model, "weights")
            constants = self.payloads(read, members, model, "constants")
            self.check_bindings(graph, state, constants)
        except SurvinngError:
            raise
        except (
            zipfile.BadZipFile,
            zipfile.LargeZipFile,
            EOFError,
            OSError,
            ValueError,
            NotImplementedError,
            RuntimeError,
            struct.error,
        ) as err:
            self.refuse("archive", f"{self.shown} ({first_line(err)})")
        return self.build(graph, state, constants)

    # -- the zip --------------------------------------------------------------------------
    def members(self, archive: zipfile.ZipFile, size: int) -> tuple[dict, str]:
        """The archive's members by name below its root folder, checked; and the model."""
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            self.refuse(
                f"a torch.export program archive with at most {MAX_MEMBERS} members",
                f"{self.shown} ({len(infos)} members)",
            )
        root = infos[0].filename.split("/", 1)[0] + "/" if infos else ""
        members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = info.filename
            if not name.startswith(root):
                self.refuse("members", f"{self.shown} holds {name[:60]!r}")
            rest = name[len(root) :]
            if rest in members:
                self.refuse(
                    "a torch.export program archive without duplicate members",
                    f"{self.shown} holds {rest[:60]!r} twice",
                )
            members[rest] = info
        models = [n for n in members if n.startswith("models/")]
        found = re.fullmatch(f"models/({_MODEL_NAME})\\.json", models[0]) if models else None
        if len(models) != 1 or found is None:
            self.refuse(
                "a torch.export program archive with one model",
                f"{self.shown} ({len(models)} models)",
            )
        model = found.group(1)
        expected = re.compile(
            f"models/{model}\\.json|data/weights/{model}_weights_config\\.json|"
            f"data/constants/{model}_constants_config\\.json|data/sample_inputs/{model}\\.pt|"
            r"data/weights/weight_\d{1,6}|data/constants/tensor_\d{1,6}|archive_format|"
            r"byteorder|" + "|".join(re.escape(n) for n in _UNREAD)
        )
        declared = 0
        for rest, info in members.items():
            if not expected.fullmatch(rest):
                self.refuse("members", f"{self.shown} holds {rest[:60]!r}")
            if (
                info.compress_type != zipfile.ZIP_STORED
                or info.file_size != info.compress_size
                or info.flag_bits & 0x1
            ):
                self.refuse(
                    "a torch.export program archive whose members are stored "
                    "uncompressed (as torch writes them)",
                    f"{self.shown}: {rest[:60]!r} is compressed or encrypted",
                )
            declared += info.file_size
        if declared > size:  # the total read budget: members overlapping each other
            self.refuse("archive", f"{self.shown} (members overlap)")
        return members, model

    def member(self, archive: zipfile.ZipFile, members: dict, name: str, max_bytes: int) -> bytes:
        """Member ``name``, read in chunks, at most its declared size and ``max_bytes``."""
        info = members.get(name)
        if info is None:
            self.refuse("archive", f"{self.shown} (no {name[:60]!r})")
        if info.file_size > max_bytes:
            self.refuse(
                f"a torch.export program whose {name[:60]!r} has at most {max_bytes} bytes",
                f"{info.file_size} bytes",
            )
        chunks, total = [], 0
        with archive.open(info) as handle:
            while block := handle.read(min(_CHUNK, info.file_size + 1 - total)):
                chunks.append(block)
                total += len(block)
                if total > info.file_size:
                    self.refuse("archive", f"{self.shown} ({name[:60]!r} is longer than declared)")
        return b"".join(chunks)

    def json(self, raw: bytes, what: str, allow_nan: bool = False) -> Any:
        return strict_json(
            raw,
            arg=self.arg,
            where=self.where,
            what=f"program ({what})",
            max_bytes=len(raw),
            allow_nan=allow_nan,
        )

    # -- the graph ------------------------------------------------------------------------
    def check_graph(self, graph: Any) -> set[str]:
        """Check the program's JSON in place (dropping metadata and guard code); the
        names of the size symbols it uses."""
        found = self.typed(graph, self.schema.ExportedProgram, "program")
        version = graph["schema_version"]
        if version["major"] != _torch_internals.SCHEMA_MAJOR:
            self.refuse(
                f"a torch.export program this torch ({torch.__version__}) can read",
                f"{self.shown} (schema version {version['major']}.{version['minor']}, "
                f"this torch reads {_torch_internals.SCHEMA_MAJOR}.x)",
            )
        if not set(graph["verifiers"]) <= {"ATEN", "TRAINING"} or not set(
            graph["opset_version"]
        ) <= {"aten"}:
            self.refuse(
                "schema",
                f"{self.shown}: verifiers {graph['verifiers'][:3]}, opsets "
                f"{sorted(graph['opset_version'])[:3]}",
            )
        module = graph["graph_module"]
        nodes = module["graph"]["nodes"]
        if len(nodes) > MAX_NODES:
            self.refuse(f"a program of at most {MAX_NODES} nodes", f"{len(nodes)} nodes")
        for node in nodes:
            self.check_node(node)
        for kind in ("CustomObjArgument", "GraphArgument", "NamedTupleDef", "TokenArgument"):
            if found.get(kind):
                self.refuse(
                    "a program of plain tensors and operators (no custom objects, "
                    "subgraphs, named tuples or tokens)",
                    f"{self.shown}: {kind}",
                )
        for argument in found.get("Argument", []):
            self.check_argument(argument)
        for meta in found.get("TensorMeta", []):
            self.tensor_meta(meta, symbolic=True)
        for device in found.get("Device", []):
            self.check_device(device)
        for names in (
            module["graph"]["tensor_values"],
            module["graph"]["sym_int_values"],
            module["graph"]["sym_bool_values"],
            module["graph"]["sym_float_values"],
        ):
            for value_name in names:
                self.check_name(value_name)
        for kind in ("TensorArgument", "SymIntArgument", "SymBoolArgument", "SymFloatArgument"):
            for argument in found.get(kind, []):
                self.check_name(argument.get("name", argument.get("as_name", "x")))
        symbols = set()
        for expression in found.get("SymExpr", []):
            symbols |= self.check_expression(expression)
        self.check_signature(module)
        module["metadata"] = {}
        graph["guards_code"] = []
        return symbols

    def typed(self, value: Any, hint: Any, path: str) -> dict[str, list]:
        """Check ``value`` against torch's schema type ``hint`` (strictly: no unknown keys,
        bool is not int, int is not float); the schema objects met, by class name."""
        found: dict[str, list] = {}
        union = _torch_internals.internal("serde_union")
        self._typed(value, hint, path, found, union)
        return found

    def _typed(self, value: Any, hint: Any, path: str, found: dict, union: type) -> None:
        def wrong(expected: str) -> typing.NoReturn:
            self.refuse("schema", f"{self.shown}: {path[-80:]} is not {expected}")

        origin = typing.get_origin(hint)
        if origin in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(hint) if a is not type(None)]
            if value is None and len(options) < len(typing.get_args(hint)):
                return
            hint, origin = options[0], typing.get_origin(options[0])
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            fields = _fields(hint, self.schema)
            # torch writes every field of a record and one of a union
            if (
                not isinstance(value, dict)
                or (len(value) != 1 if issubclass(hint, union) else len(value) != len(fields))
                or not set(value) <= set(fields)
            ):
                wrong(f"a {hint.__name__} ({', '.join(sorted(fields))[:60]})")
            found.setdefault(hint.__name__, []).append(value)
            for key, item in value.items():
                self._typed(item, fields[key], f"{path}.{key}", found, union)
        elif origin is list:
            if not isinstance(value, list):
                wrong("a list")
            for k, item in enumerate(value):
                self._typed(item, typing.get_args(hint)[0], f"{path}[{k}]", found, union)
        elif origin is dict:
            if not isinstance(value, dict):
                wrong("an object")
            for key, item in value.items():
                self._typed(item, typing.get_args(hint)[1], f"{path}[{key[:20]!r}]", found, union)
        elif isinstance(hint, type) and issubclass(hint, enum.IntEnum):
            if type(value) is not int or value not in {m.value for m in hint}:
                wrong(f"a {hint.__name__} code")
        elif hint in (int, float, str, bool):
            if type(value) is not hint:
                wrong(f"a {hint.__name__}")
        else:  # a construct this reader does not know: a newer schema
            self.refuse(
                f"a torch.export program this torch ({torch.__version__}) can read",
                f"{self.shown} (unknown schema type at {path[-60:]})",
            )

    def check_node(self, node: dict) -> None:
        target = node["target"]
        if target not in ALLOWED_TARGETS:
            self.refuse("ops", f"{self.shown} calls {target[:80]!r}")
        flag = MODE_FLAGS.get(target[len("torch.ops.aten.") :])
        if flag is not None and not any(
            i["name"] == flag and i["arg"] == {"as_bool": False} for i in node["inputs"]
        ):
            self.refuse(
                "a program whose dropout, batch norm and recurrent layers are in eval mode",
                f"{self.shown} calls {target[len('torch.ops.') :]} with {flag} not False",
            )
        if target != "_operator.getitem":  # torch passes an unknown name's default instead
            names = collections.Counter(i["name"] for i in node["inputs"])
            unknown = sorted(set(names) - _argument_names(target)) or sorted(
                n for n, count in names.items() if count > 1
            )
            if unknown:
                self.refuse(
                    "a program whose operator arguments are named as in the "
                    "operator's schema, once each",
                    f"{self.shown} calls {target[len('torch.ops.') :]} with {unknown[0][:40]!r}",
                )
        self.check_name(node.get("name") or "x")
        node["metadata"] = {}  # stack traces and module paths: not needed, not trusted

    def check_argument(self, argument: dict) -> None:
        ((kind, value),) = argument.items()
        if kind not in _ARGUMENT_KINDS:
            self.refuse(
                "a program whose operator arguments are tensors, numbers, sizes and dtypes",
                f"{self.shown}: argument {kind}",
            )
        if isinstance(value, list) and len(value) > _LIST_LIMIT:
            self.refuse(
                f"a program whose argument lists have at most {_LIST_LIMIT} items",
                f"{self.shown}: {len(value)} items",
            )
        literal = (
            [value]
            if kind == "as_int"
            else [v["as_int"] for v in [value] if "as_int" in v]
            if kind == "as_sym_int"
            else []
        )
        if any(abs(v) >= 2**63 for v in literal):
            self.refuse(
                "a program whose integer arguments fit in 64 bits", f"{self.shown}: {literal[0]}"
            )
        sizes = (
            value
            if kind == "as_ints"
            else [v["as_int"] for v in value if "as_int" in v]
            if kind == "as_sym_ints"
            else []
        )
        if (
            any(abs(v) >= _DIM_LIMIT for v in sizes)
            or math.prod(abs(v) for v in sizes if v) >= _DIM_LIMIT
        ):
            self.refuse(
                f"a program whose size arguments stay below {_DIM_LIMIT} elements",
                f"{self.shown}: sizes {str(sizes)[:60]}",
            )
        if kind == "as_string" and len(value) > 64:
            self.refuse(
                "a program whose string arguments have at most 64 characters",
                f"{self.shown}: {value[:40]!r}",
            )
        if (kind == "as_scalar_type" and value not in _DTYPES) or (
            kind == "as_layout" and value != _STRIDED
        ):
            self.refuse(
                "a program of strided tensors of plain dtypes (float, int, bool)",
                f"{self.shown}: {kind} {value}",
            )

    def check_device(self, device: dict) -> None:
        if device.get("type") != "cpu" or device.get("index") not in (None, 0):
            self.refuse(
                "a program saved on the CPU", f"{self.shown}: device {device.get('type')!r}"
            )

    def check_name(self, name: str) -> None:
        if not _IDENTIFIER.fullmatch(name) or keyword.iskeyword(name):
            self.refuse(
                "a program whose names are plain identifiers", f"{self.shown}: {name[:40]!r}"
            )

    def check_fqn(self, name: str) -> None:
        if not _FQN.fullmatch(name):
            self.refuse(
                "a program whose parameter names are dotted identifiers",
                f"{self.shown}: {name[:40]!r}",
            )

    def check_expression(self, expression: dict) -> set[str]:
        """The symbol of a size expression (none for an integer); anything else refused
        unparsed (torch would hand it to sympy's eval)."""
        text = expression["expr_str"]
        symbol = _SYMBOL.fullmatch(text) if len(text) <= 80 else None
        if symbol is None and not (len(text) <= 11 and _INTEGER.fullmatch(text)):
            self.refuse(
                "a program whose size expressions are a symbol "
                "(Symbol('sN', positive=True, integer=True)), an integer multiple of "
                "one or an integer",
                f"{self.shown}: {text[:40]!r}",
            )
        hint = (expression.get("hint") or {}).get("as_int", 0)
        if not 0 <= hint < _DIM_LIMIT:
            self.refuse(
                f"a program whose size hints are integers in [0, {_DIM_LIMIT})",
                f"{self.shown}: {hint}",
            )
        return {symbol.group("s")} if symbol else set()

    def check_ranges(self, graph: dict, symbols: set[str]) -> None:
        for symbol, bounds in graph["range_constraints"].items():
            low, high = bounds.get("min_val"), bounds.get("max_val", None)
            if not (
                _SYMBOL_NAME.fullmatch(symbol)
                and symbol in symbols
                and isinstance(low, int)
                and 0 <= low < _DIM_LIMIT
                and (high is None or low <= high < _DIM_LIMIT)
            ):
                self.refuse(
                    f"a program whose shape ranges are its size symbols sN with "
                    f"integer bounds in [0, {_DIM_LIMIT})",
                    f"{self.shown}: {symbol[:20]!r} in [{low}, {high}]",
                )

    def check_signature(self, module: dict) -> None:
        """Inputs: tensors with a dynamic first (batch) axis, then weights, each named once;
        outputs: tensors, no state written back; the calling convention torch rebuilds
        (pytree specs, argument names) exactly that of ``forward(*tensors)``."""
        signature, values = module["signature"], module["graph"]["tensor_values"]
        inputs, weights = [], []
        for spec in signature["input_specs"]:
            ((kind, value),) = spec.items()
            if kind not in _INPUT_KINDS or (
                kind == "user_input" and "as_tensor" not in value["arg"]
            ):
                self.refuse(
                    "a program whose inputs are tensors",
                    f"{self.shown} takes {kind} {str(value.get('arg', ''))[:40]}",
                )
            if kind == "user_input":
                inputs.append(value["arg"]["as_tensor"]["name"])
            else:
                weights.append(value[_WEIGHT_NAME_KEYS[kind]])
                self.check_fqn(weights[-1])
        twice = [w for w, count in collections.Counter(weights).items() if count > 1]
        if twice:
            self.refuse(
                "a program binding each weight once", f"{self.shown}: {twice[0][:40]!r} twice"
            )
        for name in inputs:
            rows = values[name]["sizes"][0] if values.get(name, {}).get("sizes") else {}
            batch = _SYMBOL.fullmatch(rows["as_expr"]["expr_str"]) if "as_expr" in rows else None
            if batch is None or batch.group("k"):
                self.refuse(
                    "a program with a dynamic batch axis (the first axis of every "
                    "input, torch.export.Dim)",
                    f"{self.shown}: input {name!r}",
                )
        outputs = signature["output_specs"]
        for spec in outputs:
            ((kind, value),) = spec.items()
            if kind != "user_output" or "as_tensor" not in value["arg"]:
                self.refuse(
                    "a program that returns tensors and changes no state",
                    f"{self.shown}: {kind} output",
                )
        if module["treespec_namedtuple_fields"]:
            self.refuse(
                "a program whose inputs and outputs are tensors, tuples and lists",
                f"{self.shown}: named tuples",
            )
        calls = module["module_call_graph"]
        root = calls[0]["signature"] if calls and calls[0]["fqn"] == "" else None
        if (
            root is None
            or root["inputs"]
            or root["outputs"]
            or any(entry["signature"] is not None for entry in calls[1:])
        ):
            self.refuse(
                "a program whose calling convention is forward(*tensors)",
                f"{self.shown}: module call signatures",
            )
        self.check_spec(
            root["in_spec"], [_spec(tuple, [_spec(tuple, [_LEAF] * len(inputs)), _spec(dict, [])])]
        )
        self.check_spec(
            root["out_spec"],
            [_LEAF]
            if len(outputs) == 1
            else [_spec(kind, [_LEAF] * len(outputs)) for kind in (tuple, list)],
        )
        for entry in calls[1:]:
            self.check_fqn(entry["fqn"])
        names = root["forward_arg_names"]
        if names is not None:
            for name in names:
                self.check_name(name)
            if len(names) != len(inputs) or len(set(names)) != len(names) or "self" in names:
                self.refuse(
                    "a program whose calling convention is forward(*tensors)",
                    f"{self.shown}: arguments {names[:4]}",
                )

    def check_spec(self, text: str, allowed: list) -> None:
        """A pytree spec (JSON, which torch decodes with a hook that imports modules named
        in it): one of ``allowed``, compared as parsed JSON."""
        spec = self.json(text.encode(), "an input or output spec")
        if spec not in [[1, a] for a in allowed]:
            self.refuse(
                "a program whose calling convention is forward(*tensors)",
                f"{self.shown}: spec {text[:40]!r}",
            )

    def check_bindings(self, graph: dict, state: dict, constants: dict) -> None:
        """Every weight the graph binds is one from the archive, of the shape and dtype the
        graph declares for it, and every weight in the archive is bound once."""
        module = graph["graph_module"]
        values, bound = module["graph"]["tensor_values"], []
        for spec in module["signature"]["input_specs"]:
            ((kind, value),) = spec.items()
            if kind == "user_input":
                continue
            fqn = value[_WEIGHT_NAME_KEYS[kind]]
            stored = state if kind == "parameter" or value.get("persistent") else constants
            tensor, meta = stored.get(fqn), values.get(value["arg"]["name"])
            if (
                tensor is None
                or meta is None
                or (kind == "parameter") != isinstance(tensor, torch.nn.Parameter)
                or self.tensor_meta(meta, symbolic=False)[:3]
                != (tensor.dtype, list(tensor.shape), list(tensor.stride()))
            ):
                self.refuse(
                    "a program whose weights are the archive's, as the graph declares them",
                    f"{self.shown}: {fqn[:40]!r}",
                )
            bound.append(fqn)
        unused = sorted((set(state) | set(constants)) - set(bound))
        if unused:
            self.refuse(
                "a program whose weights are the archive's, as the graph declares them",
                f"{self.shown}: {unused[0][:40]!r} is not used",
            )

    def tensor_meta(self, meta: dict, symbolic: bool) -> tuple[torch.dtype, list, list, int]:
        """dtype, sizes, strides and offset of a tensor (symbolic sizes as None)."""
        dtype = _DTYPES.get(meta["dtype"])
        if dtype is None or meta["layout"] != _STRIDED:
            self.refuse(
                "a program of strided tensors of plain dtypes (float, int, bool)",
                f"{self.shown}: dtype code {meta['dtype']}, layout {meta['layout']}",
            )
        self.check_device(meta["device"])
        values = []
        for part in (meta["sizes"], meta["strides"], [meta["storage_offset"]]):
            ints = [s.get("as_int") for s in part]
            if (any(v is None for v in ints) and not symbolic) or any(
                v is not None and not 0 <= v < _DIM_LIMIT for v in ints
            ):
                self.refuse(
                    f"a program whose tensor sizes and strides are integers in [0, {_DIM_LIMIT})",
                    f"{self.shown}: {str(ints)[:60]}",
                )
            values.append(ints)
        sizes, strides, (offset,) = values
        nbytes = math.prod(s for s in sizes if s is not None) * dtype.itemsize
        if nbytes > MAX_TENSOR_BYTES:
            self.refuse(
                f"a program whose tensors have at most {MAX_TENSOR_BYTES} bytes",
                f"{self.shown}: a tensor of shape {str(sizes)[:60]}",
            )
        return dtype, sizes, strides, offset

    # -- weights --------------------------------------------------------------------------
    def payloads(self, read: Any, members: dict, model: str, kind: str) -> dict:
        """The weights (or constants) as tensors on the exact bytes of their files."""
        config_name = f"data/{kind}/{model}_{kind}_config.json"
        config = self.json(read(config_name, MAX_CONFIG_BYTES), f"its {kind} list")
        self.typed(config, self.schema.PayloadConfig, kind)
        prefix = "weight_" if kind == "weights" else "tensor_"
        files: dict[str, list] = {}
        for fqn, entry in config["config"].items():
            self.check_fqn(fqn)
            if (
                entry["use_pickle"]
                or entry["tensor_meta"] is None
                or not re.fullmatch(prefix + r"\d{1,6}", entry["path_name"])
            ):
                self.refuse("pickle", f"{self.shown} pickles {fqn!r}")
            layout = self.tensor_meta(entry["tensor_meta"], symbolic=False)
            files.setdefault(entry["path_name"], []).append((fqn, entry["is_param"], layout))
        out = {}
        for file, entries in files.items():
            dtype = entries[0][2][0]
            if any(layout[0] != dtype for _, _, layout in entries):
                self.refuse(
                    "a program whose tensors sharing a file share a dtype",
                    f"{self.shown}: {file!r}",
                )
            need = max(_extent(*layout[1:]) for _, _, layout in entries) * dtype.itemsize
            name = f"data/{kind}/{file}"
            declared = members[name].file_size if name in members else None
            if declared != need:
                self.refuse(
                    "a program whose weight files hold exactly the bytes their tensors need",
                    f"{self.shown}: {file!r} has {declared} bytes, its tensors need {need}",
                )
            raw = read(name, need)
            if dtype == torch.bool and raw.translate(None, b"\x00\x01"):
                self.refuse("a program whose bool tensors hold 0 or 1", f"{self.shown}: {file!r}")
            # copied into memory torch allocates, aligned as every tensor's (BLAS kernels
            # may round differently on unaligned data)
            storage = torch.empty(len(raw), dtype=torch.uint8)
            storage.numpy()[:] = np.frombuffer(raw, dtype=np.uint8)
            storage = storage.view(dtype)
            for fqn, is_param, (_, sizes, strides, offset) in entries:
                tensor = torch.as_strided(storage, sizes, strides, offset)
                out[fqn] = torch.nn.Parameter(tensor, requires_grad=False) if is_param else tensor
        return out

    # -- torch ----------------------------------------------------------------------------
    def build(self, graph: dict, state: dict, constants: dict) -> torch.nn.Module:
        from .onnx_export import _quiet

        deserializer = _torch_internals.internal("deserializer")
        to_dataclass = _torch_internals.internal("dict_to_dataclass")
        try:
            with _quiet():
                program = deserializer().deserialize(
                    to_dataclass(self.schema.ExportedProgram, graph), state, constants, None
                )
                module = program.module()  # no sample inputs: no guard function is made
        except Exception as err:  # torch's SerializeError, AssertionError, KeyError ...
            self.refuse(
                f"a torch.export program this torch ({torch.__version__}) can read",
                f"{self.shown} ({first_line(err)})",
            )
        allowed = _allowed_callables()
        for node in module.graph.nodes:
            if node.op not in ("placeholder", "get_attr", "output") and not (
                node.op == "call_function" and node.target in allowed
            ):
                self.refuse("ops", f"{self.shown} calls {str(node.target)[:80]!r}")
        return module


def _open_zip(raw: bytes) -> zipfile.ZipFile:
    """The zip of ``raw``, after bounding its central directory (which ``zipfile`` would
    otherwise parse whole into memory, however large it claims to be)."""
    size = _central_directory_size(raw)
    if size is None:
        raise zipfile.BadZipFile("File is not a zip file")
    if size > MAX_MEMBERS * 1024:
        raise zipfile.BadZipFile(f"central directory of {size} bytes")
    return zipfile.ZipFile(io.BytesIO(raw))


def _central_directory_size(raw: bytes) -> int | None:
    """The central directory size the end records of a zip declare (the larger of the
    classic and the zip64 record); None without an end record."""
    end = raw.rfind(b"PK\x05\x06", max(0, len(raw) - 22 - 65535))
    if end < 0 or end + 22 > len(raw):
        return None
    size = int.from_bytes(raw[end + 12 : end + 16], "little")
    record = end - 20 - 56  # zipfile reads a zip64 record just before the zip64 locator
    if (
        record >= 0
        and raw[end - 20 : end - 16] == b"PK\x06\x07"
        and raw[record : record + 4] == b"PK\x06\x06"
    ):
        size = max(size, int.from_bytes(raw[record + 40 : record + 48], "little"))
    return size


def _spec(kind: type, children: list) -> dict:
    """A pytree spec node of a tuple, list or (string-keyed, empty) dict, as torch writes it."""
    return {
        "type": f"builtins.{kind.__name__}",
        "context": "[]" if kind is dict else "null",
        "children_spec": children,
    }


def _extent(sizes: list[int], strides: list[int], offset: int) -> int:
    """Elements of storage a strided tensor reaches (0 for an empty tensor)."""
    if 0 in sizes:
        return 0
    return offset + sum((n - 1) * s for n, s in zip(sizes, strides)) + 1


@functools.cache
def _fields(cls: type, schema: Any) -> dict[str, Any]:
    return typing.get_type_hints(cls, globalns=vars(schema))


def _resolve(target: str) -> Any:
    """The operator object of an allowed ``torch.ops.aten...`` target."""
    return functools.reduce(getattr, target.split(".")[1:], torch)


@functools.lru_cache(maxsize=1)
def _allowed_callables() -> frozenset:
    """The operator objects of :data:`ALLOWED_TARGETS` (for the graph torch built)."""
    return frozenset(
        {operator.getitem}
        | {_resolve(target) for target in ALLOWED_TARGETS if target != "_operator.getitem"}
    )


@functools.cache
def _argument_names(target: str) -> frozenset:
    return frozenset(_torch_internals.argument_names(_resolve(target)))


__all__ = [
    "load_program",
    "ALLOWED_TARGETS",
    "CORE_EXCLUDED",
    "MODE_FLAGS",
    "MAX_MEMBERS",
    "MAX_ARCHIVE_BYTES",
    "MAX_TENSOR_BYTES",
]
