"""Quality measures of attribution results."""

from __future__ import annotations

import numpy as np

from ._validation import fail
from .result import SurvResult


def local_accuracy(result: SurvResult) -> dict:
    """The paper's local accuracy: how far the attributions are from summing to pred_diff.

    For each event and time, ``sqrt(mean_i (pred_diff_i - sum_j attr_ij)^2) /
    sqrt(mean_i pred_i^2)`` over instances ``i`` and all features ``j`` of all inputs.

    Returns
    -------
    dict
        ``per_time`` (array ``(event, time)``), ``overall`` (its mean) and ``max_gap``
        (the largest absolute gap of one instance, event and time).
    """
    if not isinstance(result, SurvResult) or result.pred_diff is None:
        fail(
            "result",
            "local_accuracy()",
            "a SurvResult with pred_diff (IntGrad(t) or GradSHAP(t) with times_input=True)",
            type(result).__name__,
        )
    total = sum(v.reshape(v.shape[0], -1, *v.shape[-2:]).sum(axis=1) for v in result.values)
    gap = result.pred_diff - total
    with np.errstate(divide="ignore", invalid="ignore"):
        per_time = np.sqrt((gap**2).mean(axis=0)) / np.sqrt((result.pred**2).mean(axis=0))
    return {
        "per_time": per_time,
        "overall": float(np.nanmean(per_time)),
        "max_gap": float(np.abs(gap).max()),
    }
