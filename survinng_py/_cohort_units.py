"""One unit of :func:`survinng_py.explain_dataset`: its rows explained and its part written.

Below both the in-process driver (:mod:`survinng_py.cohort`) and the Dask workers
(:mod:`survinng_py._cohort_dask`), which run the same function.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ._errors import fail, first_line
from ._files import file_sha256
from ._shares import modality_totals

WHERE = "explain_dataset()"


class NoiseStreams(np.random.Generator):
    """The seed of one unit's SmoothGrad(t): its per-input noise streams, already at the
    unit's first row.

    :func:`~survinng_py.surv_smoothgrad` spawns one stream per input from its seed and
    draws from them in (row, copy) order; given this seed, its ``spawn`` hands out
    streams at the states the whole call's streams have at the unit's first row, so the
    unit draws the noise that one call on all rows gives its rows.
    """

    def __init__(self, states: list[dict]):
        super().__init__(np.random.PCG64())
        self.states = states

    def spawn(self, n_children: int) -> list[np.random.Generator]:
        assert n_children == len(self.states)  # one stream per input
        streams = []
        for state in self.states:
            stream = np.random.Generator(np.random.PCG64())
            stream.bit_generator.state = state
            streams.append(stream)
        return streams


def run_unit(explainer, unit: dict, spec: dict) -> dict:
    """Explain one unit's rows and write its part; returns its manifest entry and sums."""
    import pyarrow.parquet as pq

    from . import exchange
    from .methods.registry import get_method

    path, first, n_rows = unit["path"], unit["first_row"], unit["n_rows"]
    rows = f"rows {first}-{first + n_rows - 1} ({os.path.basename(path)})"
    arguments = dict(spec["arguments"])
    if "noise" in unit:  # SmoothGrad(t): the streams of the whole call, at this unit
        arguments["seed"] = NoiseStreams(unit["noise"])
    try:
        table = pq.ParquetFile(path).read_row_groups(unit["row_groups"])
        if table.num_rows < unit["skip"] + n_rows:
            raise ValueError(f"{table.num_rows} rows in its row groups, planned more")
        frame = table.slice(unit["skip"], n_rows).to_pandas()
        function = get_method(name=spec["method"]).function  # type: ignore[union-attr]
        result = function(explainer, model_rows(explainer, frame), progress=False, **arguments)
    except Exception as err:
        message = first_line(err, limit=400)
        fail("source", WHERE, "rows the method accepts", f"{path} {rows}: {message}", as_text=True)
    ids = np.arange(first, first + n_rows)
    args = {**result.args, "instance": ids.tolist()}
    if "noise" in unit:
        args["seed"] = spec["arguments"]["seed"]  # recorded as in the one call
    result = result.replace(instance=ids, args=args)
    name = f"part-{unit['unit']:05d}.parquet"
    target = Path(spec["out"]) / name
    exchange.write(result, target, layout=spec["layout"], overwrite=True)
    part = {
        "unit": unit["unit"],
        "file": name,
        "first_row": first,
        "n_rows": n_rows,
        "sha256": file_sha256(target),
    }
    return {"part": part, **sums(result)}


def model_rows(explainer, frame):
    """The rows of a table for the model: the table itself for a one-input model (columns
    matched by name), else one block per input, its features' columns by name (a tensor
    input's element columns, row-major, reshaped to its shape)."""
    if len(explainer.input_names) == 1:
        return frame
    shapes = explainer.feature_shapes
    if shapes is None:
        raise ValueError("a model of several inputs needs an explainer built with data")
    return [
        frame[names] if len(shape) == 1 else frame[names].to_numpy().reshape(-1, *shape)
        for names, shape in zip(explainer.feature_names, shapes)
    ]


def sums(result) -> dict:
    """Sums over the rows of one part: |attribution| per input, the prediction and, for
    several inputs, |sum of an input's attributions| (the cohort modality shares)."""
    record = {
        "abs": [np.abs(v.astype(np.float64)).sum(axis=0) for v in result.values],
        "pred": result.pred.astype(np.float64).sum(axis=0),
        "labels": {
            "input_names": result.input_names,
            "feature_names": result.feature_names,
            "event_names": result.event_names,
            "time": result.time,
        },
    }
    if len(result.values) > 1:
        totals = modality_totals(result).values[0]  # (row, input, event, time)
        record["modality_abs"] = np.abs(totals.astype(np.float64)).sum(axis=0)
    return record
