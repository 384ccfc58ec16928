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

    Parameters
    ----------
    result : SurvResult
        A gradient attribution result of a model with one or several inputs.

    Returns
    -------
    SurvResult
        ``values[0]`` of shape ``(instance, modality, event, time)``, the modalities named
        after the inputs; predictions as in ``result``.

    Raises
    ------
    SurvinngError
        For anything but a result of this package.

    Examples
    --------
    >>> import numpy as np, torch, survinng_py as sv
    >>> class Net(torch.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.a, self.b = torch.nn.Linear(3, 4), torch.nn.Linear(2, 4)
    ...     def forward(self, u, v):
    ...         return torch.tanh(self.a(u)) * torch.tanh(self.b(v))
    >>> rng = np.random.default_rng(0)
    >>> exp = sv.explain(Net(), [rng.normal(size=(20, 3)), rng.normal(size=(20, 2))],
    ...                  model_type="deephit", time_bins=np.arange(4.0), dtype="float64",
    ...                  input_names=["image", "table"])
    >>> totals = sv.modality_totals(sv.surv_intgrad(exp, instance=[0, 1], n=50))
    >>> totals.values[0].shape, totals.feature_names
    ((2, 2, 1, 4), [['image', 'table']])
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
    ``cohort=True`` averages the absolute contributions over instances first (the global
    summary).

    Parameters
    ----------
    result : SurvResult
        From :func:`~survinng_py.modality_shapley` or :func:`modality_totals`.
    cohort : bool
        Average the absolute contributions over instances first.

    Returns
    -------
    pandas.DataFrame
        Columns ``instance`` (absent with ``cohort=True``), ``modality``, ``event``,
        ``time`` and ``share`` (percent).

    Raises
    ------
    SurvinngError
        For anything but a result of this package with one value per modality.

    Examples
    --------
    >>> import numpy as np, torch, survinng_py as sv
    >>> class Net(torch.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.a, self.b = torch.nn.Linear(3, 4), torch.nn.Linear(2, 4)
    ...     def forward(self, u, v):
    ...         return torch.tanh(self.a(u)) * torch.tanh(self.b(v))
    >>> rng = np.random.default_rng(0)
    >>> exp = sv.explain(Net(), [rng.normal(size=(20, 3)), rng.normal(size=(20, 2))],
    ...                  model_type="deephit", time_bins=np.arange(4.0), dtype="float64",
    ...                  input_names=["image", "table"])
    >>> shares = sv.modality_shares(sv.modality_shapley(exp, instance=[0, 1]), cohort=True)
    >>> list(shares.columns), bool(np.allclose(shares.groupby("time")["share"].sum(), 100))
    (['modality', 'event', 'time', 'share'], True)
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
