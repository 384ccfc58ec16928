"""An interactive, self-contained HTML report of one or several results.

:func:`report` writes one HTML file that opens offline in any browser: the numbers travel
inside it as base64 little-endian floats (exact, about 1.33 bytes per stored byte), the
viewer is a small hand-written script drawing SVG (no chart library, no network request),
and everything a reader sees is linked by a patient selector, an event selector (competing
risks) and a time slider.

Views are registered in two halves, so a new kind of result adds a view without touching
the others:

* Python: a function ``section(result) -> dict | None`` in :data:`SECTIONS` whose answer
  (JSON with arrays packed by :func:`pack`) lands in the result's payload under its name,
  ``None`` where the view does not apply;
* JavaScript: ``SurvReport.addView({id, title, applies(r), render(body, r, state)})`` in
  an asset file listed in :data:`ASSETS` (``r.sections[<name>]`` holds the payload).

For example, a view of the top feature pairs of an interaction result adds a function
returning ``{"pairs": [...], "values": pack(...)}`` under ``"interactions"`` and a script
``interactions.js`` registering its renderer.
"""

from __future__ import annotations

import base64
import html
import json
import os
from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ._files import atomic_write, check_write_path
from ._validation import ResultLike, check_flag, check_int, fail, is_result

#: at most this many instances by default (each is a full set of curves in the file)
DEFAULT_MAX_INSTANCES = 200
#: at most this many bytes of packed numbers: larger files load slowly in browsers
MAX_DATA_BYTES = 64 * 2**20
#: the viewer's files, inlined in this order (package data in ``_report_assets``)
ASSETS = ("report.css", "report.js")
_WHERE = "report()"


def report(
    result_or_results: Any,
    path: str | os.PathLike,
    *,
    explainer: Any = None,
    title: str | None = None,
    max_instances: int = DEFAULT_MAX_INSTANCES,
    overwrite: bool = False,
) -> Path:
    """Write an interactive, self-contained HTML report of one or several results.

    The file needs no network and no Python to be read: the patient's predicted curve
    (survival, CIF per event, ...) beside the cohort mean and, for methods with a
    reference (IntGrad(t), GradSHAP(t), SurvSHAP(t), modality Shapley), the reference
    curve; every feature's attribution over time; a waterfall at the selected time from
    the reference to the prediction with the completeness gap; the cohort's mean
    |attribution| per feature and time as a heatmap and ranking; modality shares over time
    (several inputs) and a heatmap of image-like inputs at the selected time; and the
    run's metadata. Inputs with two or more feature dimensions (images, sequences) enter
    the other views as one total per input.

    Parameters
    ----------
    result_or_results : SurvResult, list of SurvResult or dict of str to SurvResult
        What to show; several results (e.g. two methods on the same patients) get a
        result selector, named by their labels or by the dict's keys.
    path : str or path-like
        The ``.html`` file to write.
    explainer : Explainer, optional
        When given, the cohort mean curve is the model's mean prediction over the
        explainer data (otherwise over the explained instances) and the model is
        described in the metadata table.
    title : str, optional
        The page title (default: the first result's label and target).
    max_instances : int
        Results with more instances are refused (each instance adds its curves to the
        file; about 1.3 MB per 100 instances x 20 features x 100 times in float32).
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    SurvinngError
        For something other than results, a result with more than ``max_instances``
        instances or more than 64 MiB of numbers, an explainer whose grid or events do
        not match a result, or an existing ``path`` without ``overwrite=True``.

    Examples
    --------
    >>> import numpy as np, torch, tempfile, os, survinng_py as sv
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 5))
    >>> exp = sv.explain(net, np.eye(3), model_type="deephit", time_bins=np.arange(5.0))
    >>> res = sv.surv_intgrad(exp, instance=[0, 1], n=4)
    >>> out = sv.report(res, os.path.join(tempfile.mkdtemp(), "report.html"))
    >>> out.read_text().count("<script")
    2
    """
    named = _named_results(result_or_results)
    max_instances = check_int(max_instances, "max_instances", _WHERE)
    check_flag(overwrite, "overwrite", _WHERE)
    if title is not None and not isinstance(title, str):
        fail("title", _WHERE, "a string or None", title)
    for name, result in named:
        if len(result.instance) == 0:
            fail(
                "result",
                _WHERE,
                "a result of at least one instance",
                f"none in {name!r}",
                as_text=True,
            )
        if len(result.instance) > max_instances:
            fail(
                "result",
                _WHERE,
                f"a result of at most max_instances={max_instances} instances (raise "
                "max_instances= or pick rows with res.isel(instance=...))",
                f"{len(result.instance)} instances in {name!r}",
                as_text=True,
            )
    if explainer is not None:
        from .explainer import Explainer

        if not isinstance(explainer, Explainer) or explainer.data is None:
            fail("explainer", _WHERE, "an Explainer built with data, or None", explainer)
    check_write_path(path, overwrite=overwrite, arg="path", where=_WHERE)
    payload = {
        "title": title if title is not None else f"{named[0][1].label} of {named[0][1].target}",
        "results": [_result_payload(name, result, explainer) for name, result in named],
    }
    page = render_html(payload).encode("utf-8")

    def write(handle: BinaryIO) -> None:
        handle.write(page)

    atomic_write(path, write, overwrite=overwrite, where=_WHERE)
    return Path(path)


def _named_results(value: Any) -> list[tuple[str, ResultLike]]:
    rule = "a SurvResult, a non-empty list of them or a dict of names to them"
    if is_result(value):
        return [(value.label, value)]
    if isinstance(value, Mapping):
        items = list(value.items())
        if not all(isinstance(k, str) for k, _ in items):
            fail("result_or_results", _WHERE, rule + " (names are strings)", list(value))
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        items = [(getattr(r, "label", ""), r) for r in value]
        seen: dict[str, int] = {}
        for k, (name, r) in enumerate(items):  # two results of one method stay apart
            seen[name] = seen.get(name, 0) + 1
            items[k] = (name if seen[name] == 1 else f"{name} ({seen[name]})", r)
    else:
        fail("result_or_results", _WHERE, rule, type(value).__name__, as_text=True)
    if not items or not all(is_result(r) for _, r in items):
        fail("result_or_results", _WHERE, rule, [type(r).__name__ for _, r in items])
    return items


# -- payload --------------------------------------------------------------------------------
def pack(array: np.ndarray) -> dict:
    """An array as ``{"dtype": "f4" | "f8", "shape": [...], "b64": ...}`` (little-endian,
    row-major): float32 stays float32, everything else becomes float64, both exact."""
    a = np.asarray(array)
    dtype = "<f4" if a.dtype == np.float32 else "<f8"
    raw = np.ascontiguousarray(a, dtype=dtype).tobytes()
    return {"dtype": dtype[1:], "shape": list(a.shape), "b64": base64.b64encode(raw).decode()}


def _players(result: ResultLike) -> tuple[list[str], np.ndarray]:
    """The rows of the feature views: each feature of a one-dimensional input, one total
    per input of higher rank (image, sequence), in input order; ``(instance, player,
    event, time)``."""
    several = len(result.values) > 1
    names: list[str] = []
    blocks = []
    for values, input_name, features, shape in zip(
        result.values, result.input_names, result.feature_names, result.feature_shapes
    ):
        n = values.shape[0]
        flat = values.reshape(n, -1, *values.shape[-2:])
        if len(shape) == 1:
            names += [f"{input_name}:{f}" if several else f for f in features]
            blocks.append(flat)
        else:
            names.append(f"{input_name} (total)")
            blocks.append(flat.sum(1, keepdims=True))
    return names, np.concatenate(blocks, axis=1)


def _modalities(result: ResultLike) -> dict | None:
    """Totals per input for a result with several inputs (shares are drawn from them)."""
    if len(result.values) < 2:
        return None
    totals = np.stack([v.reshape(v.shape[0], -1, *v.shape[-2:]).sum(1) for v in result.values], 1)
    return {"names": list(result.input_names), "values": pack(totals)}


def _images(result: ResultLike) -> dict | None:
    """Per input with two or more feature dims, the attributions over its last two dims
    (leading dims, e.g. colour channels, summed)."""
    out = []
    for values, name, shape in zip(result.values, result.input_names, result.feature_shapes):
        if len(shape) < 2:
            continue
        n, rows, cols = values.shape[0], shape[-2], shape[-1]
        grid = values.reshape(n, -1, rows, cols, *values.shape[-2:]).sum(1)
        out.append(
            {
                "input": name,
                "rows": rows,
                "cols": cols,
                "values": pack(grid.reshape(n, rows * cols, *grid.shape[-2:])),
            }
        )
    return {"inputs": out} if out else None


#: optional views: name -> payload of a result (None where the view does not apply)
SECTIONS: dict[str, Callable[[ResultLike], dict | None]] = {
    "modalities": _modalities,
    "images": _images,
}


def _result_payload(name: str, result: ResultLike, explainer: Any) -> dict:
    players, values = _players(result)
    cohort, source = _cohort_curve(result, explainer)
    importance = np.abs(values.astype(np.float64)).mean(0)  # (player, event, time)
    modality_result = result.method == "Modality_Shapley" or "aggregated_from" in result.args
    sections = {key: build(result) for key, build in SECTIONS.items()}
    if modality_result:  # its features are the modalities
        sections["modalities"] = {"names": players, "values": pack(values)}
    out = {
        "name": name,
        "label": result.label,
        "target": result.target,
        "instances": [int(i) for i in result.instance],
        "events": list(result.event_names),
        "players": players,
        "time": pack(result.time),
        "values": pack(values),
        "pred": pack(result.pred),
        "pred_ref": None if result.pred_ref is None else pack(result.pred_ref),
        "pred_diff": None if result.pred_diff is None else pack(result.pred_diff),
        "cohort": {"curve": pack(cohort), "source": source},
        "importance": pack(importance),
        "sections": {k: v for k, v in sections.items() if v is not None},
        "meta": _metadata(result, explainer),
    }
    size = _packed_bytes(out)
    if size > MAX_DATA_BYTES:
        fail(
            "result",
            _WHERE,
            f"a result whose numbers fit in {MAX_DATA_BYTES // 2**20} MiB (pass fewer "
            "instances, e.g. max_instances= with res.isel(instance=...), or fewer times)",
            f"{size / 2**20:.1f} MiB for {name!r}",
            as_text=True,
        )
    return out


def _packed_bytes(value: Any) -> int:
    if isinstance(value, dict):
        return len(value.get("b64", "")) + sum(_packed_bytes(v) for v in value.values())
    if isinstance(value, list):
        return sum(_packed_bytes(v) for v in value)
    return 0


def _cohort_curve(result: ResultLike, explainer: Any) -> tuple[np.ndarray, str]:
    """The mean predicted curve ``(event, time)`` and what it is the mean of."""
    if explainer is None:
        return result.pred.astype(np.float64).mean(0), (
            f"mean of the {len(result.instance)} explained instances"
        )
    from .methods._core import for_target, predict

    # a conditional target's curve comes from the model cut at the result's `given`
    explainer = for_target(explainer, result.target, _WHERE, given=result.args.get("given"))
    model = explainer.model
    model.check_target(result.target, _WHERE)
    pred = predict(explainer, explainer.data, result.target)  # (rows, event, time)
    events = model.event_names(result.target, pred.shape[1])
    grid = np.asarray(model.time, dtype=np.float64)
    where_t = np.searchsorted(grid, result.time).clip(0, len(grid) - 1)
    if not np.array_equal(grid[where_t], result.time) or not set(result.event_names) <= set(events):
        fail(
            "explainer",
            _WHERE,
            "the explainer of the results (their times and events are on its grid)",
            f"a model with {len(grid)} times and events {events}",
            as_text=True,
        )
    rows = [events.index(e) for e in result.event_names]
    curve = pred.astype(np.float64).mean(0)[rows][:, where_t]
    return curve, f"mean over the {pred.shape[0]} rows of the explainer data"


def _metadata(result: ResultLike, explainer: Any) -> list[list[str]]:
    from . import __version__

    time = result.time
    rows = [
        ["method", f"{result.label} ({result.method})"],
        ["target", result.target],
        ["model", result.model_class if explainer is None else repr(explainer)],
        ["instances", f"{len(result.instance)} (ids {_ids(result.instance)})"],
        [
            "inputs",
            ", ".join(f"{n} {tuple(s)}" for n, s in zip(result.input_names, result.feature_shapes)),
        ],
        ["events", ", ".join(result.event_names)],
        ["time grid", f"{len(time)} times in [{time.min():.6g}, {time.max():.6g}]"],
        ["attribution dtype", str(result.values[0].dtype)],
        ["package", f"survinng_py {__version__}"],
    ]
    args = {k: v for k, v in result.args.items() if k != "instance"}
    rows += [[f"argument {k}", _shortened(json.dumps(v, default=str))] for k, v in args.items()]
    return rows


def _shortened(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _ids(ids: np.ndarray) -> str:
    shown = ", ".join(str(i) for i in ids[:10])
    return shown + (", ..." if len(ids) > 10 else "")


# -- page -----------------------------------------------------------------------------------
def _asset(name: str) -> str:
    return resources.files(__package__).joinpath("_report_assets").joinpath(name).read_text("utf-8")


def render_html(payload: dict) -> str:
    """The page: the viewer's CSS and script inlined, the payload as a JSON data block."""
    # "</" cannot appear in a script element's text: a name holding "</script>" stays data
    data = json.dumps(payload, allow_nan=False, separators=(",", ":")).replace("</", "<\\/")
    styles = "\n".join(_asset(a) for a in ASSETS if a.endswith(".css"))
    scripts = "\n".join(_asset(a) for a in ASSETS if a.endswith(".js"))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        # the page may run only its own inline script and make no request at all
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n"
        f"<title>{html.escape(payload['title'])}</title>\n<style>\n{styles}\n</style>\n"
        "</head>\n<body>\n"
        f'<script type="application/json" id="survinng-data">{data}</script>\n'
        f"<script>\n{scripts}\n</script>\n</body>\n</html>\n"
    )
