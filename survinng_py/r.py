"""The Python half of the R bridge (``r-bridge/``) and rpy2 helpers for Python users.

Numbers cross the R/Python boundary as raw little-endian float64 bytes plus a shape, in
column-major (R) order: a ``bytearray`` becomes an R raw vector under every reticulate
version, and ``readBin``/``writeBin`` are exact to the last bit. reticulate's own numpy
conversion is never needed (reticulate 1.28 cannot convert numpy >= 2 arrays).
"""

from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ._files import _MEMBER_NAME
from ._validation import SurvinngError, fail
from .explainer import Explainer, explain
from .methods.registry import describe, get_method, method_label, methods  # noqa: F401 (R reads describe here)
from .result import SurvResult


def to_raw(array: Any) -> dict:
    """An array as ``{"raw": bytearray of little-endian float64 in R order, "dim": [...]}``.

    Parameters
    ----------
    array : array-like
        Numbers of any shape.

    Returns
    -------
    dict
        ``raw`` (a bytearray, which reticulate turns into an R raw vector) and ``dim``.

    Examples
    --------
    >>> import numpy as np
    >>> from survinng_py.r import from_raw, to_raw
    >>> payload = to_raw(np.arange(6.0).reshape(2, 3))
    >>> payload["dim"], len(payload["raw"])
    ([2, 3], 48)
    >>> from_raw(payload["raw"], payload["dim"]).tolist()
    [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    """
    a = np.asarray(array, dtype="<f8")
    return {"raw": bytearray(a.tobytes(order="F")), "dim": [int(d) for d in a.shape]}


def from_raw(raw: Any, dim: Any) -> np.ndarray:
    """The inverse of :func:`to_raw` (``raw`` from R's ``writeBin(as.double(x), raw())``).

    Parameters
    ----------
    raw : bytes-like
        Little-endian float64 values in column-major order.
    dim : int or list of int
        The array's shape.

    Returns
    -------
    numpy.ndarray
        A float64 array of shape ``dim``.

    Raises
    ------
    SurvinngError
        When the number of bytes does not match ``dim``.

    Examples
    --------
    >>> import struct
    >>> from survinng_py.r import from_raw
    >>> from_raw(struct.pack("<4d", 1, 2, 3, 4), [2, 2]).tolist()  # R's matrix(1:4, 2)
    [[1.0, 3.0], [2.0, 4.0]]
    """
    dim = [int(d) for d in (dim if isinstance(dim, (list, tuple)) else [dim])]
    flat = np.frombuffer(bytes(raw), dtype="<f8")
    if flat.size != int(np.prod(dim)):
        fail(
            "raw",
            "from_raw()",
            f"{int(np.prod(dim))} doubles for dim {dim}",
            f"{flat.size} doubles",
            as_text=True,
        )
    return flat.reshape(dim, order="F").copy()


def explainer_for_r(
    model: Any,
    data_raw: Any,
    data_dim: Any,
    feature_names: list[str],
    dtype: str = "float32",
    baseline_sample: int | None = None,
) -> tuple[Explainer, str]:
    """An explainer for a pycox model held by R (e.g. a survivalmodels fit's ``$model``).

    A Cox model whose baseline hazards were never computed (survivalmodels computes them
    inside every ``predict()``) gets them from its own training data, as survivalmodels
    does (or, always, from ``baseline_sample`` random training rows: pycox's ``sample``), on a
    copy: the user's model object is left as it was. Returns the explainer and a note
    saying where the baseline hazards came from.
    """
    data = from_raw(data_raw, data_dim).astype(np.float32)
    note = "model"
    if hasattr(model, "compute_baseline_hazards") and (
        baseline_sample is not None or getattr(model, "baseline_hazards_", None) is None
    ):
        training = model.net.training
        try:
            hazards = model.compute_baseline_hazards(sample=baseline_sample, set_hazards=False)
        finally:
            model.net.train(training)
        model = copy.copy(model)  # shares the net; only the copy gets the hazards
        model.baseline_hazards_ = hazards
        model.baseline_cumulative_hazards_ = hazards.cumsum()
        note = (
            "computed on the fit's training data (as survivalmodels' predict() does)"
            if baseline_sample is None
            else f"computed on {int(baseline_sample)} random rows of the fit's training data"
        )
    return explain(model, data, dtype=dtype, feature_names=[str(f) for f in feature_names]), note


def run_for_r(
    explainer: Explainer,
    method: str,
    instance: Any = None,
    newdata_raw: Any = None,
    newdata_dim: Any = None,
    args: dict | None = None,
) -> dict:
    """Run a method and return the pieces of survinng's ``surv_result`` for R.

    ``instance`` is 0-based here (the R side converts); arrays come as :func:`to_raw`
    payloads in survinng's axis order ``(instance, features..., [event], time)``, the
    event axis only when there are competing events. ``method`` is a method id of the
    method table, which :func:`describe` (imported here for R) gives as plain data.
    """
    entry = get_method(id=method) if isinstance(method, str) else None
    if entry is None:
        fail(
            "method",
            "run_for_r()",
            "a method id, one of " + ", ".join(m.id for m in methods()),
            method,
        )
    x = None if newdata_raw is None else from_raw(newdata_raw, newdata_dim)
    args = {
        k: from_raw(v["raw"], v["dim"]) if isinstance(v, dict) and "raw" in v else v
        for k, v in (args or {}).items()
    }  # x_ref / data_ref arrive as raw payloads
    if instance is not None:
        instance = [
            int(i) for i in (instance if isinstance(instance, (list, tuple)) else [instance])
        ]
    result = entry.function(explainer, x, instance=instance, **args)
    return result_for_r(result)


def result_for_r(result: SurvResult) -> dict:
    """A result's fields as plain Python values and raw-byte arrays (see :func:`to_raw`)."""
    drop_event = len(result.event_names) == 1

    def r_array(a):
        return to_raw(a[..., 0, :] if drop_event else a)

    preds = {
        f: r_array(getattr(result, f))
        for f in ("pred", "pred_diff", "pred_diff_q1", "pred_diff_q3")
        if getattr(result, f) is not None
    }
    return {
        "res": [r_array(v) for v in result.values],
        "feature_names": result.feature_names,
        "feature_shapes": [list(s) for s in result.feature_shapes],
        "feature_pairs": result.feature_pairs,
        "event_names": result.event_names,
        "competing_risks": not drop_event,
        "time": to_raw(result.time),
        "instance": [int(i) for i in result.instance],
        "method": result.method,
        "model_class": result.model_class,
        "labels": [
            result.label,
            method_label(result.method, bool(result.args.get("times_input")), long=True),
        ],
        "target": result.target,
        "args": result.args,
        **preds,
    }


def compare_for_r(results: list, names: list | None = None) -> dict:
    """:func:`~survinng_py.compare` of results held by R, its table as named columns.

    Each result is a dict of its arrays as :func:`to_raw` payloads (``values``,
    ``pred``, ``pred_diff`` or None, ``time``; the event axis only with
    ``competing_risks``) and its labels (``feature_names`` per input, ``event_names``,
    ``instance``, ``method``, ``model_class``, ``target``, ``args``).
    """
    from .metrics import compare

    def result(r: dict) -> SurvResult:
        def array(payload):
            a = from_raw(payload["raw"], payload["dim"])
            return a if r["competing_risks"] else a[..., None, :]

        return SurvResult(
            values=[array(v) for v in r["values"]],
            pred=array(r["pred"]),
            pred_diff=None if r.get("pred_diff") is None else array(r["pred_diff"]),
            time=from_raw(r["time"]["raw"], r["time"]["dim"]),
            feature_names=[list(n) for n in r["feature_names"]],
            input_names=[f"input_{k + 1}" for k in range(len(r["values"]))],
            event_names=list(r["event_names"]),
            instance=np.asarray(r["instance"], dtype=np.int64),
            method=r["method"],
            model_class=r["model_class"],
            target=r["target"],
            args=dict(r["args"] or {}),
        )

    table = compare(*[result(r) for r in results], names=names)
    return {column: table[column].tolist() for column in table.columns}


# -- extracted models: a bundle as bytes, for R's extract_model() and explain() ---------
def bundle_for_r(explainer: Explainer) -> dict:
    """The model bundle of ``explainer`` (see :func:`~survinng_py.save_model`) as file bytes.

    The bundle is written to a temporary folder (without the explainer data, with the
    ONNX graph of the first target only) and read back; R keeps the bytes as raw
    vectors, so the model survives ``saveRDS()`` and process boundaries.

    Returns
    -------
    dict
        ``files`` (name -> bytearray) and the sidecar's ``model_class``, ``source``,
        ``dtype``, ``targets``, ``n_times`` and ``versions``.
    """
    from .bundle import bundle_info, save_model

    with tempfile.TemporaryDirectory(prefix="survinngpy-") as tmp:
        path = save_model(
            explainer,
            Path(tmp) / "bundle",
            targets=explainer.model.targets[0],
            include_data=False,
            dynamo=False,
        )
        manifest = bundle_info(path)
        files = {p.name: bytearray(p.read_bytes()) for p in sorted(path.iterdir())}
    return {
        "files": files,
        "model_class": manifest["model_class"],
        "source": manifest["source"],
        "dtype": manifest["dtype"],
        "targets": manifest["targets"],
        "n_times": len(manifest["time"]),
        "versions": manifest["versions"],
    }


def explainer_from_bundle(files: dict, data_raw: Any, data_dim: Any) -> Explainer:
    """The explainer of a bundle given as file bytes (from :func:`bundle_for_r`) on new data.

    The files are written to a temporary folder under their plain names and loaded with
    :func:`~survinng_py.load_model` (sha256-checked, nothing unpickled).
    """
    from .bundle import load_model

    where = "explain()"
    with tempfile.TemporaryDirectory(prefix="survinngpy-") as tmp:
        for name, content in files.items():
            if not isinstance(name, str) or not _MEMBER_NAME.fullmatch(name) or name in (".", ".."):
                fail(
                    "model",
                    where,
                    "an extracted model whose files have plain names",
                    repr(name)[:40],
                    as_text=True,
                )
            with open(Path(tmp) / name, "xb") as handle:
                handle.write(bytes(content))
        try:
            loaded = load_model(tmp)
        except SurvinngError as err:  # "`path` of load_model() must be <rule>; got <value>"
            rule = str(err).split(" must be ", 1)[-1]
            raise SurvinngError(
                f"`model` of {where} must be an extracted model holding {rule}"
            ) from None
    # rows are checked against the network alone (R matched the columns by name)
    unlabelled = Explainer(loaded.model, None, None, loaded.input_names, loaded.memory_budget)
    inputs = unlabelled.to_inputs(from_raw(data_raw, data_dim), "data", where)
    return Explainer(
        loaded.model, inputs, loaded.feature_names, loaded.input_names, loaded.memory_budget
    )


# -- rpy2: results as R objects, .rds files ---------------------------------------------
def _rpy2():
    library_path = os.environ.get("LD_LIBRARY_PATH")
    try:
        import rpy2.robjects as ro
    except ImportError as err:
        raise ImportError("rpy2 (and R) are needed: pip install 'survinng-py[r]'") from err
    # Starting R points LD_LIBRARY_PATH at the system's libraries for the whole process;
    # R is loaded by then, and a subprocess (another Python, say) must not load those.
    if library_path is None:
        os.environ.pop("LD_LIBRARY_PATH", None)
    else:
        os.environ["LD_LIBRARY_PATH"] = library_path
    return ro


def to_r(result: SurvResult):
    """The result as an R ``surv_result`` list (survinng's structure) through rpy2.

    Parameters
    ----------
    result : SurvResult
        Any attribution result.

    Returns
    -------
    rpy2.robjects.ListVector
        An R list of class ``c("survinngpy_result", "surv_result", "list")`` with
        survinng's fields (``res``, ``time``, ``pred``, ``method``, ``method_args``, ...).

    Raises
    ------
    ImportError
        When rpy2 or R is not installed (``pip install "survinng-py[r]"``).

    Examples
    --------
    >>> import numpy as np, torch, survinng_py as sv
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    >>> exp = sv.explain(net, np.random.default_rng(1).normal(size=(30, 2)), model_type="deepsurv",
    ...                  baseline_hazard=([1.0, 2.0], [0.1, 0.2]))
    >>> res = sv.surv_grad(exp, instance=[0, 1])
    >>> sv.r.to_r(res).rclass[0]  # doctest: +SKIP
    'survinngpy_result'
    """
    ro = _rpy2()
    payload = result_for_r(result)

    def r_array(p, dimnames=None):
        values = ro.FloatVector(np.frombuffer(bytes(p["raw"]), "<f8"))
        arr = ro.r["array"](values, dim=ro.IntVector(p["dim"]))
        if dimnames is not None:
            arr = ro.r["structure"](arr, dimnames=dimnames)
        return arr

    def names(values):
        return ro.StrVector([str(v) for v in values])

    time = np.frombuffer(bytes(payload["time"]["raw"]), "<f8")
    time_names = names(ro.r["format"](ro.FloatVector(time), digits=15))
    res = []
    for p, feats, shape in zip(payload["res"], payload["feature_names"], payload["feature_shapes"]):
        dn = [ro.NULL] + ([names(feats)] if len(shape) == 1 else [ro.NULL] * len(shape))
        if payload["competing_risks"]:
            dn.append(names(f"Event {k + 1}" for k in range(len(payload["event_names"]))))
        dn.append(time_names)
        res.append(r_array(p, ro.r["list"](*dn)))
    fields = {
        "res": ro.r["list"](*res),
        "time": ro.FloatVector(time),
        "competing_risks": ro.BoolVector([payload["competing_risks"]]),
    }
    for f in ("pred", "pred_diff", "pred_diff_q1", "pred_diff_q3"):
        if f in payload:
            fields[f] = r_array(payload[f])
    fields["model_class"] = ro.StrVector([payload["model_class"]])
    fields["method"] = ro.StrVector([payload["method"]])
    args = dict(payload["args"])
    args["instance"] = [i + 1 for i in payload["instance"]]
    fields["method_args"] = ro.ListVector({k: _r_scalar(ro, v) for k, v in args.items()})
    out = ro.ListVector(fields)
    out.rclass = ro.StrVector(["survinngpy_result", "surv_result", "list"])
    return out


def _r_scalar(ro, value):
    if value is None:
        return ro.NULL
    if isinstance(value, bool):
        return ro.BoolVector([value])
    if isinstance(value, (int, np.integer)):
        return ro.IntVector([int(value)])
    if isinstance(value, float):
        return ro.FloatVector([value])
    if isinstance(value, (list, tuple)):
        return (
            ro.IntVector(value)
            if all(isinstance(v, (int, np.integer)) for v in value)
            else ro.StrVector([str(v) for v in value])
        )
    return ro.StrVector([str(value)])


def save_rds(result: SurvResult, path: str) -> None:
    """Write the result as an ``.rds`` file that R reads with ``readRDS()``, no Python needed.

    Parameters
    ----------
    result : SurvResult
        Any attribution result.
    path : str or PathLike
        The ``.rds`` file to write.

    Returns
    -------
    None

    Raises
    ------
    ImportError
        When rpy2 or R is not installed (``pip install "survinng-py[r]"``).

    Examples
    --------
    >>> import numpy as np, torch, survinng_py as sv
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    >>> exp = sv.explain(net, np.random.default_rng(1).normal(size=(30, 2)), model_type="deepsurv",
    ...                  baseline_hazard=([1.0, 2.0], [0.1, 0.2]))
    >>> res = sv.surv_grad(exp, instance=[0, 1])
    >>> sv.r.save_rds(res, "grad.rds")  # doctest: +SKIP
    """
    ro = _rpy2()
    ro.r["saveRDS"](to_r(result), file=str(path))


def read_rds(path: str):
    """Read an ``.rds`` holding a data.frame into a pandas DataFrame.

    Parameters
    ----------
    path : str or PathLike
        An ``.rds`` file holding a data.frame.

    Returns
    -------
    pandas.DataFrame
        The data frame, columns converted by rpy2's pandas converter.

    Raises
    ------
    ImportError
        When rpy2 or R is not installed (``pip install "survinng-py[r]"``).

    Examples
    --------
    >>> from survinng_py.r import read_rds
    >>> frame = read_rds("data.rds")  # doctest: +SKIP
    """
    ro = _rpy2()
    from rpy2.robjects import pandas2ri
    from rpy2.robjects.conversion import localconverter

    obj = ro.r["readRDS"](str(path))
    with localconverter(ro.default_converter + pandas2ri.converter) as converter:
        return converter.rpy2py(obj)
