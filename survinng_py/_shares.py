"""Shares of the contributions per modality: sums per input and percentage shares.

Pure functions of a result's arrays (no model, no engine), on any object with a result's
fields (:func:`survinng_py._validation.is_result`), so the plots use them without importing
:mod:`survinng_py.result`; :mod:`survinng_py.modality` exports them with modality Shapley.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ._validation import ResultLike, fail, is_result

if TYPE_CHECKING:
    import pandas as pd


def modality_totals(result: ResultLike) -> ResultLike:
    """Sum a gradient result's attributions per input: ``(instance, modality, event, time)``.

    With ``pred_diff`` (IntGrad(t), GradSHAP(t)) the completeness gap per instance and
    time is ``pred_diff - values.sum(1)``, stored in ``args["completeness_gap_max"]``.
    """
    if not is_result(result):
        fail("result", "modality_totals()", "a SurvResult", type(result).__name__)
    totals = np.stack([v.reshape(v.shape[0], -1, *v.shape[-2:]).sum(1) for v in result.values], 1)
    args = dict(result.args, aggregated_from=result.method)
    if result.pred_diff is not None:
        args["completeness_gap_max"] = float(np.abs(result.pred_diff - totals.sum(1)).max())
    return result.replace(
        values=[totals], feature_names=[result.input_names], input_names=["modalities"], args=args
    )


def modality_shares(result: ResultLike, cohort: bool = False) -> pd.DataFrame:
    """Percentage shares of the absolute contributions per modality over time.

    ``result`` comes from :func:`~survinng_py.modality_shapley` or :func:`modality_totals`.
    Returns a pandas DataFrame with columns ``instance`` (absent with ``cohort=True``), ``event``,
    ``time``, ``modality``, ``share`` (percent; the shares of one row group sum to 100).
    ``cohort=True`` averages the absolute contributions over instances first (the global
    summary).
    """
    import pandas as pd

    if not is_result(result) or len(result.values) != 1 or result.values[0].ndim != 4:
        fail(
            "result",
            "modality_shares()",
            "a result of modality_shapley() or modality_totals()",
            type(result).__name__,
        )
    absolute = np.abs(result.values[0])  # (instance, modality, event, time)
    if cohort:
        absolute = absolute.mean(0, keepdims=True)
    total = absolute.sum(1, keepdims=True)
    share = 100 * np.divide(absolute, total, out=np.zeros_like(absolute), where=total > 0)
    n, m, e, t = share.shape
    frame = pd.DataFrame(
        {
            "instance": np.repeat(result.instance if not cohort else [-1], m * e * t),
            "modality": np.tile(np.repeat(result.feature_names[0], e * t), n),
            "event": np.tile(np.repeat(result.event_names, t), n * m),
            "time": np.tile(result.time, n * m * e),
            "share": share.reshape(-1),
        }
    )
    return frame.drop(columns="instance") if cohort else frame
