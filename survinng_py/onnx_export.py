"""ONNX export of a whole survival model (network and survival head) and onnxruntime prediction.

One generic path serves every model family: a wrapper module whose ``forward(*inputs)``
is the adapter's own ``forward(inputs, target)`` (network, Cox baseline hazards as
constants, CoxTime's time input, DeepHit's padding/softmax/cumsum ...) is captured once
by ``torch.export`` with a dynamic batch axis and translated to ONNX. The graph has one
named input per network input and one output, the target as ``(batch, event, time)``;
the labels (time grid, event and feature names) travel in the model's metadata
(``metadata_props`` key ``survinng_py``, JSON), so a file is self-contained. Running it
needs onnxruntime only (:func:`predict_onnx`, or any onnxruntime binding, e.g. from R).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import _torch_internals
from ._onnx_files import METADATA_KEY, NETWORK, onnx_session, require_onnx, session_labels
from ._validation import SurvinngError, check_int, fail, to_tensor_list
from ._validation import first_line as _first_line
from .explainer import Explainer, explain


def export_onnx(
    model: Any,
    path: str | os.PathLike,
    *,
    target: str = "survival",
    opset: int | None = None,
    data: Any = None,
    dynamo: bool = True,
    overwrite: bool = False,
    **explain_kwargs: Any,
) -> Path:
    """Write a survival model as one ONNX graph: network **and** survival head.

    Parameters
    ----------
    model : Explainer, pycox model or torch.nn.Module
        An :class:`~survinng_py.Explainer`, or anything :func:`~survinng_py.explain`
        accepts (then with its keyword arguments, e.g. ``model_type`` and the head).
    path : str or Path
        The ``.onnx`` file to write.
    target : str
        A target of the model (``"survival"``, ``"cum_hazard"``, ``"hazard"``, ``"cif"``,
        ``"pmf"``), output ``(batch, event, time)``; or ``"network"`` for the bare network
        (``net(*inputs)``; CoxTime's network has a second input ``time``, net scale).
    opset : int, optional
        ONNX opset version (default: torch's).
    data : array, DataFrame, tensor or list of them, optional
        Rows to trace the network with; default the explainer's data.
    dynamo : bool
        Use torch's ``torch.export``-based exporter (needs ``onnxscript``); ``False`` uses
        the legacy TorchScript exporter (faster, deprecated by torch).
    overwrite : bool
        Replace an existing file.
    **explain_kwargs
        Passed to :func:`~survinng_py.explain` when ``model`` is not an explainer.

    Returns
    -------
    Path
        The written file. The input names are the explainer's ``input_names``; the
        output is named after the target; the batch axis is dynamic.

    Raises
    ------
    SurvinngError
        Without onnx, onnxruntime (or, for ``dynamo=True``, onnxscript): one line saying
        ``pip install "survinng-py[onnx]"``; for bad arguments, a path that is taken, or
        a network that cannot be exported or whose graph onnxruntime does not reproduce.

    Examples
    --------
    >>> import numpy as np, torch, tempfile, os, survinng_py as sv
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 5))
    >>> exp = sv.explain(net, np.random.default_rng(0).normal(size=(20, 3)), model_type="deephit",
    ...                  time_bins=np.linspace(0, 4, 5))
    >>> path = sv.export_onnx(exp, os.path.join(tempfile.mkdtemp(), "m.onnx"), dynamo=False)
    >>> pred = sv.predict_onnx(path, exp.data[0].numpy())
    >>> pred.shape, bool(np.allclose(pred, exp.model.forward(exp.data, "survival")))
    ((20, 1, 5), True)
    """
    where = "export_onnx()"
    require_onnx(where, exporter=dynamo is True)
    explainer = as_explainer(model, data, explain_kwargs, where)
    path = Path(path)
    check_new_file(path, overwrite, where)
    if not isinstance(dynamo, bool):
        fail("dynamo", where, "True or False", dynamo)
    if opset is not None and (isinstance(opset, bool) or not isinstance(opset, int) or opset < 7):
        fail("opset", where, "None or an ONNX opset version (an integer >= 7)", opset)
    if target != NETWORK:
        explainer.model.check_target(target, where)
    inputs = sample_inputs(explainer, data, where)
    proto = _to_onnx(explainer, inputs, target, opset, dynamo, where)
    _verify(proto, explainer, inputs, target, where)
    _set_metadata(proto, labels(explainer, inputs, target))
    import onnx

    onnx.save_model(proto, str(path))
    return path


def predict_onnx(path: str | os.PathLike, x: Any, *, threads: int | None = None) -> np.ndarray:
    """Run an exported model with onnxruntime: the target as ``(batch, event, time)``.

    Parameters
    ----------
    path : str or Path
        A file written by :func:`export_onnx` (or a bundle's ``<target>.onnx``).
    x : array, DataFrame or list of them
        Rows to predict; a DataFrame is matched to the model's feature names by column.
    threads : int, optional
        onnxruntime intra-op threads (default: onnxruntime's).

    Returns
    -------
    ndarray
        onnxruntime's output (float32 for a float32 model). See :func:`export_onnx` for
        an example.

    Raises
    ------
    SurvinngError
        Without onnx or onnxruntime (one line saying ``pip install "survinng-py[onnx]"``),
        for a file that is not an ONNX model of this package, or rows that do not fit it.

    Examples
    --------
    >>> import numpy as np, torch, tempfile, os, survinng_py as sv
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    >>> exp = sv.explain(net, np.random.default_rng(0).normal(size=(10, 2)), model_type="deepsurv",
    ...                  baseline_hazard=([1.0, 2.0, 3.0], [0.1, 0.2, 0.1]))
    >>> path = sv.export_onnx(exp, os.path.join(tempfile.mkdtemp(), "m.onnx"), dynamo=False)
    >>> sv.predict_onnx(path, np.zeros((4, 2), dtype=np.float32)).shape  # (rows, event, time)
    (4, 1, 3)
    """
    where = "predict_onnx()"
    if threads is not None:
        check_int(threads, "threads", where)
    session = onnx_session(path, where, threads)
    meta = session_labels(session, path, where)
    if meta.get("target") == NETWORK:
        fail(
            "path",
            where,
            "a file with a survival head (run a bare network's file with onnxruntime directly)",
            Path(path).name,
        )
    if [i.name for i in session.get_inputs()] != meta["input_names"]:
        fail(
            "path",
            where,
            "an ONNX file whose metadata names its graph's inputs",
            f"{Path(path).name[:60]}: {meta['input_names']}"[:100],
            as_text=True,
        )
    # x checked against the file's inputs: count, per-row shape, feature columns by name
    shapes = [tuple(s) for s in meta["input_shapes"]]
    names = meta.get("feature_names")
    columns = None if names is None else [n if len(s) == 1 else None for n, s in zip(names, shapes)]
    dtype = torch.float64 if meta.get("dtype") == "float64" else torch.float32
    tensors = to_tensor_list(
        x,
        "x",
        where,
        dtype=dtype,
        device=torch.device("cpu"),
        feature_shapes=shapes,
        feature_names=columns,
    )
    return session.run(None, {n: t.numpy() for n, t in zip(meta["input_names"], tensors)})[0]


# -- shared with bundle.py and the CLI ---------------------------------------------------
def as_explainer(model: Any, data: Any, explain_kwargs: dict, where: str) -> Explainer:
    """``model`` itself if it is an explainer, else ``explain(model, data, **explain_kwargs)``."""
    if isinstance(model, Explainer):
        if explain_kwargs:
            name = sorted(explain_kwargs)[0]
            fail(
                name,
                where,
                "left out when the model is an Explainer (it is built already)",
                explain_kwargs[name],
            )
        explainer = model
    else:
        explainer = explain(model, data, **explain_kwargs)
    if not explainer.model.torch_network:
        fail(
            "model",
            where,
            "a model that runs as a torch network (a pycox model or a torch module)",
            f"a {explainer.model.model_class} model, which is only predicted",
            as_text=True,
        )
    if explainer.model.device.type != "cpu":  # exported files must run on any machine
        fail(
            "model",
            where,
            "an explainer on the CPU (explain(..., device='cpu'))",
            str(explainer.model.device),
        )
    return explainer


def check_new_file(path: Path, overwrite: bool, where: str, arg: str = "path") -> None:
    if path.exists() and not overwrite:
        fail(
            arg,
            where,
            "a file that does not exist yet (pass overwrite=True to replace it)",
            repr(str(path)),
            as_text=True,
        )


def sample_inputs(explainer: Explainer, data: Any, where: str) -> list[torch.Tensor]:
    """Two rows to trace with: a batch of 1 would let torch.export fix the batch size."""
    if data is not None:
        rows = explainer.to_inputs(data, "data", where)
    elif explainer.data is not None:
        rows = explainer.data
    else:
        fail(
            "data",
            where,
            "given (rows to trace the network with) when the explainer has no data",
            None,
        )
    rows = [x[:2] for x in rows]
    return [x.repeat(2, *[1] * (x.dim() - 1)) if x.shape[0] == 1 else x for x in rows]


def network_args(explainer: Explainer, inputs: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """The arguments the adapter passes to its network (CoxTime adds the time column)."""
    seen = []
    hook = explainer.model.net.register_forward_pre_hook(lambda _m, args: seen.append(args))
    try:
        with torch.no_grad():
            explainer.model.net_forward(explainer.model.expand(inputs))
    finally:
        hook.remove()
    return tuple(seen[0])


def capture(module: torch.nn.Module, args: tuple, where: str, *, varargs: bool = False):
    """``torch.export`` of ``module(*args)`` with one dynamic batch axis shared by all args."""
    batch = torch.export.Dim("batch")
    shapes = tuple({0: batch} for _ in args)
    try:
        with _quiet():
            return torch.export.export(
                module, args, dynamic_shapes=(shapes,) if varargs else shapes
            )
    except Exception as err:  # torch raises many types; one line names the cause
        raise SurvinngError(
            f"`model` of {where} could not be captured by torch.export "
            f"(with a dynamic batch axis): {_first_line(err)}"
        ) from None


def labels(explainer: Explainer, inputs: list[torch.Tensor], target: str) -> dict:
    """What a reader needs besides the graph: names, time grid, output layout."""
    from . import __version__

    model = explainer.model
    meta = {
        "format_version": 1,
        "package_version": __version__,
        "target": target,
        "model_class": model.model_class,
        "dtype": str(model.dtype).replace("torch.", ""),
        "input_names": input_names(explainer, len(inputs)),
        "input_shapes": [list(x.shape[1:]) for x in inputs],
        "feature_names": explainer.feature_names,
    }
    if target == NETWORK:
        return meta
    return {
        **meta,
        "output": "(batch, event, time)",
        "time": model.time.tolist(),
        "event_names": model.event_names(target, model.num_risks(inputs)),
    }


def input_names(explainer: Explainer, n_inputs: int) -> list[str]:
    """The explainer's input names (``input_1..`` when it was built without data)."""
    names = explainer.input_names
    return names if len(names) == n_inputs else [f"input_{k + 1}" for k in range(n_inputs)]


# -- internals -------------------------------------------------------------------------------
class _WholeModel(torch.nn.Module):
    """Network + head of an adapter as one module: ``forward(*inputs)`` -> ``(B, E, T)``."""

    def __init__(self, adapter, target: str):
        super().__init__()
        self.net = adapter.net  # registered, so its parameters become graph initializers
        self.adapter, self.target = adapter, target
        # the wrapper's own flag, not eval(): a network loaded from a bundle refuses
        # train()/eval(). The legacy exporter restores this flag afterwards, recursively: a
        # wrapper left in train mode would switch the adapter's network to train mode
        self.training = False

    def forward(self, *inputs):
        return self.adapter.forward(list(inputs), self.target)


def _to_onnx(
    explainer: Explainer,
    inputs: list[torch.Tensor],
    target: str,
    opset: int | None,
    dynamo: bool,
    where: str,
):
    import onnx

    if target == NETWORK:
        module, args, varargs = explainer.model.net, network_args(explainer, inputs), False
        extra = len(args) - len(inputs)
        names = input_names(explainer, len(inputs)) + (
            ["time"] if extra == 1 else [f"extra_{k + 1}" for k in range(extra)]
        )
    else:
        module, args, varargs = _WholeModel(explainer.model, target), tuple(inputs), True
        names = input_names(explainer, len(inputs))
    output = "phi" if target == NETWORK else target
    if dynamo:
        program = capture(module, args, where, varargs=varargs)
        try:
            with _quiet(), _cached_torchlib():
                onnx_program = torch.onnx.export(
                    program,
                    args,
                    input_names=names,
                    output_names=[output],
                    opset_version=opset,
                    dynamo=True,
                    verbose=False,
                )
        except Exception as err:
            raise SurvinngError(
                f"`model` of {where} could not be translated to ONNX: {_first_line(err)}"
            ) from None
        if onnx_program is None:  # dynamo=True always returns a program
            raise SurvinngError(f"`model` of {where} could not be translated to ONNX")
        return onnx_program.model_proto
    buffer = io.BytesIO()
    axes = {name: {0: "batch"} for name in [*names, output]}
    try:
        with _quiet():
            torch.onnx.export(
                module,
                args,
                buffer,  # type: ignore[arg-type]  # stubs omit file objects
                input_names=names,
                output_names=[output],
                dynamic_axes=axes,
                opset_version=opset,
                dynamo=False,
            )
    except Exception as err:
        raise SurvinngError(
            f"`model` of {where} could not be exported to ONNX by the legacy "
            f"exporter: {_first_line(err)}"
        ) from None
    return onnx.load_model_from_string(buffer.getvalue())


def _verify(
    proto, explainer: Explainer, inputs: list[torch.Tensor], target: str, where: str
) -> None:
    """onnxruntime must reproduce torch on 3 rows: a batch size the trace did not see, so
    that an exporter which froze the batch axis is caught here, not by the user."""
    import onnxruntime as ort

    rows = [torch.cat([x, x[:1]]) for x in inputs]
    with torch.no_grad():
        if target == NETWORK:
            args = list(network_args(explainer, rows))
            expected = explainer.model.net(*args)
        else:
            args, expected = rows, explainer.model.forward(rows, target)
    try:
        session = ort.InferenceSession(
            proto.SerializeToString(), providers=["CPUExecutionProvider"]
        )
        feed = {i.name: a.cpu().numpy() for i, a in zip(session.get_inputs(), args)}
        got = session.run(None, feed)[0]
    except Exception as err:  # onnxruntime's exception types are not importable by name
        raise SurvinngError(
            f"`model` of {where} gave an ONNX graph that onnxruntime cannot run "
            f"on a batch of 3 rows: {_first_line(err)}"
        ) from None
    expected = expected.cpu().numpy()
    gap = float(np.abs(got - expected).max()) if got.shape == expected.shape else np.inf
    if not gap <= 1e-4 * max(1.0, float(np.abs(expected).max())):
        raise SurvinngError(
            f"`model` of {where} gave an ONNX graph that differs from torch on a "
            f"batch of 3 rows (max abs difference {gap:.3g})"
        )


def _set_metadata(proto, meta: dict) -> None:
    for prop in [p for p in proto.metadata_props if p.key == METADATA_KEY]:
        proto.metadata_props.remove(prop)
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(meta)


@contextlib.contextmanager
def _quiet():
    """torch's exporters print progress lines to stdout and log notes (torchvision ops
    skipped, ...) at warning level; keep the caller's output clean."""
    import logging
    import warnings

    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


_TORCHLIB = {"lock": threading.Lock(), "users": 0, "original": None, "tables": {}}


@contextlib.contextmanager
def _cached_torchlib():
    """Reuse torch's table of ATen -> ONNX functions between our exports.

    torch rebuilds it on every dynamo export by reading the source of ~500 onnxscript
    functions (most of an export's time). Inside this context (entered only by our own
    export call) ``ONNXRegistry.from_torchlib`` returns a copy of a table built once, so
    whoever changes the table they got (torch does, for a custom translation table) changes
    only their copy. The first thread to enter installs the patch and the last to leave
    restores the original function, so overlapping exports never leave it patched.
    """
    registry = _torch_internals.internal("onnx_registry")
    state = _TORCHLIB
    with state["lock"]:
        if state["users"] == 0:
            state["original"] = registry.__dict__["from_torchlib"]
            registry.from_torchlib = classmethod(_torchlib_copy)
        state["users"] += 1
    try:
        yield
    finally:
        with state["lock"]:
            state["users"] -= 1
            if state["users"] == 0:
                registry.from_torchlib = state["original"]


def _torchlib_copy(cls, *args, **kwargs):
    key = (cls, args, tuple(sorted(kwargs.items())))
    table = _TORCHLIB["tables"].get(key)
    if table is None:  # two threads may both build it; either result serves
        table = _TORCHLIB["original"].__func__(cls, *args, **kwargs)
        _TORCHLIB["tables"][key] = table
    clone = copy.copy(table)
    clone.functions = {target: list(metas) for target, metas in table.functions.items()}
    return clone


__all__ = ["export_onnx", "predict_onnx"]
