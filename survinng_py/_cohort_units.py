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

WHERE = "explain_dataset()"


def run_unit(explainer, unit: dict, spec: dict) -> dict:
    """Explain one unit's rows and write its part; returns its manifest entry and sums."""
    import pyarrow.parquet as pq

    from . import exchange
    from .methods.registry import get_method

    path, first, n_rows = unit["path"], unit["first_row"], unit["n_rows"]
    rows = f"rows {first}-{first + n_rows - 1} ({os.path.basename(path)})"
    try:
        table = pq.ParquetFile(path).read_row_groups(unit["row_groups"])
        if table.num_rows < unit["skip"] + n_rows:
            raise ValueError(f"{table.num_rows} rows in its row groups, planned more")
        frame = table.slice(unit["skip"], n_rows).to_pandas()
        function = get_method(name=spec["method"]).function  # type: ignore[union-attr]
        result = function(explainer, frame, progress=False, **spec["arguments"])
    except Exception as err:
        message = first_line(err, limit=400)
        fail("source", WHERE, "rows the method accepts", f"{path} {rows}: {message}", as_text=True)
    ids = np.arange(first, first + n_rows)
    result = result.replace(instance=ids, args={**result.args, "instance": ids.tolist()})
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


def sums(result) -> dict:
    """Sums over the rows of one part: |attribution| per input, and the prediction."""
    return {
        "abs": [np.abs(v.astype(np.float64)).sum(axis=0) for v in result.values],
        "pred": result.pred.astype(np.float64).sum(axis=0),
        "labels": {
            "input_names": result.input_names,
            "feature_names": result.feature_names,
            "event_names": result.event_names,
            "time": result.time,
        },
    }
