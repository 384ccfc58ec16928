"""Reading ONNX files someone hands us: checked before onnxruntime sees them.

Below both :mod:`survinng_py.onnx_export` (which writes and predicts) and the ``onnx``
model family (which explains a file), so neither imports the other.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from ._files import read_file, strict_json
from ._validation import SurvinngError, fail
from ._validation import first_line as _first_line

#: key of the JSON labels in the ONNX file's metadata_props
METADATA_KEY = "survinng_py"
NETWORK = "network"
#: what to run when a module of the ONNX extra is missing
ONNX_EXTRA = 'pip install "survinng-py[onnx]"'
#: protobuf's own limit for one message
MAX_ONNX_BYTES = 2**31 - 1
#: operator domains a loaded file may use: the standard ONNX operators only
_ONNX_DOMAINS = {"", "ai.onnx"}


def onnx_session(path: Any, where: str, threads: int | None = None, arg: str = "path"):
    """An onnxruntime CPU session of the file ``path`` (one-line errors naming ``arg``).

    The file is read once and handed to onnxruntime as bytes, after :func:`check_onnx`:
    it can refer to no other file and call no operator outside the standard ONNX set.
    """
    require_onnx(where)
    import onnxruntime as ort

    raw = read_file(path, MAX_ONNX_BYTES, arg=arg, where=where, what="an existing ONNX file")
    shown = Path(path).name[:60]
    check_onnx(raw, shown, arg, where)
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = int(threads)
    try:
        return ort.InferenceSession(raw, options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime's own exception types are not importable by name
        fail(arg, where, "an ONNX model file", f"{shown} ({_first_line(err)})", as_text=True)


def require_onnx(where: str, *, exporter: bool = False) -> None:
    """Refuse in one line naming the extra, before any work, when onnx or onnxruntime (and
    for torch's dynamo exporter, onnxscript) cannot be imported."""
    needed = ("onnx", "onnxruntime", "onnxscript") if exporter else ("onnx", "onnxruntime")
    missing = []
    for name in needed:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        *others, last = missing
        names = f"{', '.join(others)} and {last}" if others else last
        raise SurvinngError(f"{where} needs {names}, not installed: {ONNX_EXTRA}")


def check_onnx(raw: bytes, shown: str, arg: str, where: str) -> None:
    """Refuse an ONNX model (bytes) that is not one self-contained graph of standard ONNX
    operators: external data (a path to any file, which onnxruntime would read), foreign
    operator domains (custom kernels, ``com.microsoft`` ...), ``EPContext`` nodes, local
    functions and training graphs. ``shown`` names the file in errors."""
    import onnx
    from google.protobuf.message import DecodeError

    model = onnx.ModelProto()
    try:
        model.ParseFromString(raw)
    except (DecodeError, RecursionError, ValueError) as err:
        fail(arg, where, "an ONNX model file", f"{shown} ({_first_line(err)})", as_text=True)
    if not model.HasField("graph") or not model.opset_import:
        fail(arg, where, "an ONNX model file", f"{shown} (no graph)", as_text=True)
    foreign = sorted({o.domain for o in model.opset_import} - _ONNX_DOMAINS)
    if foreign or model.functions or model.training_info:
        fail(
            arg,
            where,
            "an ONNX model of standard ONNX operators only (no other operator "
            "domains, local functions or training graphs)",
            f"{shown} imports {(foreign or ['functions'])[0][:40]!r}",
            as_text=True,
        )
    graphs, tensors = [model.graph], []
    while graphs:
        graph = graphs.pop()
        tensors += graph.initializer
        for sparse in graph.sparse_initializer:
            tensors += [sparse.values, sparse.indices]
        for node in graph.node:
            if node.domain not in _ONNX_DOMAINS or node.op_type == "EPContext":
                fail(
                    arg,
                    where,
                    "an ONNX model of standard ONNX operators only (no other "
                    "operator domains, local functions or training graphs)",
                    f"{shown} calls {node.domain[:40]}::{node.op_type[:40]}",
                    as_text=True,
                )
            for attribute in node.attribute:
                tensors += [attribute.t] if attribute.HasField("t") else []
                tensors += attribute.tensors
                for sparse in [attribute.sparse_tensor] * attribute.HasField(
                    "sparse_tensor"
                ) + list(attribute.sparse_tensors):
                    tensors += [sparse.values, sparse.indices]
                graphs += [attribute.g] if attribute.HasField("g") else []
                graphs += attribute.graphs
    for tensor in tensors:
        if tensor.data_location == onnx.TensorProto.EXTERNAL or tensor.external_data:
            fail(
                arg,
                where,
                "an ONNX model holding all its data (no external data files)",
                f"{shown}: tensor {tensor.name[:40]!r} refers to external data",
                as_text=True,
            )


def session_labels(session, path: Any, where: str, arg: str = "path") -> dict:
    """The labels :func:`export_onnx` stored in the file's metadata."""
    raw = session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
    try:
        meta = strict_json(raw, arg=arg, where=where, what="metadata") if raw else None
    except SurvinngError:
        meta = None
    if not (
        isinstance(meta, dict)
        and _is_list(meta.get("input_names"), str)
        and _is_list(meta.get("input_shapes"), list)
        and all(_is_list(s, int) for s in meta["input_shapes"])
        and len(meta["input_shapes"]) == len(meta["input_names"])
        and (meta.get("feature_names") is None or _is_list(meta["feature_names"], list))
    ):
        fail(
            arg,
            where,
            "an ONNX file written by survinng_py (metadata key 'survinng_py')",
            Path(path).name,
        )
    return meta


def _is_list(value: Any, kind: type) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, kind) and not isinstance(v, bool) for v in value
    )
