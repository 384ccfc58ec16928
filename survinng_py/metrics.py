"""Quality measures of attribution results."""

from __future__ import annotations

import numpy as np

from ._validation import ResultLike, fail, is_result


def local_accuracy(result: ResultLike) -> dict:
    """The paper's local accuracy: how far the attributions are from summing to pred_diff.

    For each event and time, ``sqrt(mean_i (pred_diff_i - sum_j attr_ij)^2) /
    sqrt(mean_i pred_i^2)`` over instances ``i`` and all features ``j`` of all inputs.

    Parameters
    ----------
    result : SurvResult
        A result with ``pred_diff``: IntGrad(t) or GradSHAP(t) with ``times_input=True``,
        SurvSHAP(t) or modality Shapley values.

    Returns
    -------
    dict
        ``per_time`` (array ``(event, time)``), ``overall`` (its mean) and ``max_gap``
        (the largest absolute gap of one instance, event and time).

    Raises
    ------
    SurvinngError
        For anything but a result of this package with ``pred_diff``.

    Examples
    --------
    >>> import numpy as np, torch, survinng_py as sv
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    >>> exp = sv.explain(net, np.random.default_rng(1).normal(size=(30, 2)), model_type="deepsurv",
    ...                  baseline_hazard=([1.0, 2.0], [0.1, 0.2]), dtype="float64")
    >>> res = sv.surv_intgrad(exp, instance=[0, 1], n=50)
    >>> la = sv.local_accuracy(res)
    >>> la["per_time"].shape, bool(la["overall"] < 1e-2)
    ((1, 2), True)
    """
    if not is_result(result) or result.pred_diff is None:
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


#: what :func:`compare` reports for each pair of results
COMPARE_COLUMNS = (
    "method_a",
    "method_b",
    "spearman_global",
    "spearman_time_mean",
    "instance_spearman_mean",
    "top1_agreement",
    "local_accuracy_a",
    "local_accuracy_b",
)


def compare(*results: ResultLike, names: list[str] | None = None):
    """Agreement of attribution methods on the same instances, one row per pair.

    Each result's importance of a feature is its mean absolute value over instances,
    events and time points (the global ranking); per time point, over instances and
    events; per instance, over events and time points. Rank agreement is Spearman's
    correlation (average ranks; NaN where a ranking is constant).

    Parameters
    ----------
    *results : SurvResult
        At least two results for the same instances, features, target, events and time
        grid (e.g. ``surv_shap`` and ``surv_gradshap`` of one explainer).
    names : list of str, optional
        One name per result (default: their labels, numbered where labels repeat).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COMPARE_COLUMNS`: the pair's names, Spearman of the global
        rankings, the mean over time points of Spearman per time point, the mean over
        instances of Spearman per instance, the share of instances whose most important
        feature is the same, and each result's local accuracy (``overall`` of
        :func:`local_accuracy`; NaN without ``pred_diff``).

    Raises
    ------
    SurvinngError
        Fewer than two results, or results that do not describe the same explanations.

    Examples
    --------
    >>> import numpy as np, torch, survinng_py as sv
    >>> torch.manual_seed(0) and None
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    >>> exp = sv.explain(net, np.random.default_rng(0).normal(size=(30, 3)),
    ...                  model_type="deepsurv", baseline_hazard=([1.0, 2.0], [0.1, 0.2]))
    >>> shap = sv.surv_shap(exp, instance=range(10), seed=0)
    >>> grad = sv.surv_gradshap(exp, instance=range(10), seed=0)
    >>> table = sv.compare(shap, grad)
    >>> table[["method_a", "method_b"]].values.tolist()
    [['SurvSHAP(t)', 'GradSHAP(t)']]
    """
    import itertools

    import pandas as pd

    where = "compare()"
    labels = _comparable(results, names, where)
    magnitudes = [np.abs(_flat_values(r)) for r in results]  # (N, F, E, T) each
    accuracy = [np.nan if r.pred_diff is None else local_accuracy(r)["overall"] for r in results]
    rows = []
    for a, b in itertools.combinations(range(len(results)), 2):
        ma, mb = magnitudes[a], magnitudes[b]
        per_time = _spearman(ma.mean(axis=(0, 2)).T, mb.mean(axis=(0, 2)).T)  # (T,)
        per_instance = _spearman(ma.mean(axis=(2, 3)), mb.mean(axis=(2, 3)))  # (N,)
        top = ma.mean(axis=(2, 3)).argmax(1) == mb.mean(axis=(2, 3)).argmax(1)
        rows.append(
            {
                "method_a": labels[a],
                "method_b": labels[b],
                "spearman_global": float(
                    _spearman(ma.mean(axis=(0, 2, 3))[None], mb.mean(axis=(0, 2, 3))[None])[0]
                ),
                "spearman_time_mean": float(np.mean(per_time)),
                "instance_spearman_mean": float(np.mean(per_instance)),
                "top1_agreement": float(top.mean()),
                "local_accuracy_a": accuracy[a],
                "local_accuracy_b": accuracy[b],
            }
        )
    return pd.DataFrame(rows, columns=list(COMPARE_COLUMNS))


def _comparable(results, names, where: str) -> list[str]:
    """Check that ``results`` (at least two) describe the same explanations; their names."""
    if len(results) < 2:
        fail("results", where, "at least two results", f"{len(results)}", as_text=True)
    for k, result in enumerate(results):
        if not is_result(result):
            fail(f"results[{k}]", where, "a SurvResult", type(result).__name__)
    labels = _compare_names(results, names, where)
    first = results[0]
    for k, result in enumerate(results[1:], start=1):
        for what, same in (
            ("instances", np.array_equal(result.instance, first.instance)),
            ("features", _flat_names(result) == _flat_names(first)),
            ("target", result.target == first.target),
            ("events", result.event_names == first.event_names),
            ("time grid", np.array_equal(result.time, first.time)),
        ):
            if not same:
                fail(
                    f"results[{k}]",
                    where,
                    f"a result with the {what} of results[0]",
                    f"other {what}",
                    as_text=True,
                )
    return labels


def _compare_names(results, names, where: str) -> list[str]:
    if names is None:
        labels = [r.label for r in results]
        return [
            f"{label} #{k + 1}" if labels.count(label) > 1 else label
            for k, label in enumerate(labels)
        ]
    if (
        not isinstance(names, (list, tuple))
        or len(names) != len(results)
        or not all(isinstance(n, str) and n for n in names)
        or len(set(names)) != len(names)
    ):
        fail("names", where, f"{len(results)} distinct non-empty names", names)
    return list(names)


def _flat_names(result: ResultLike) -> list[str]:
    return [name for names in result.feature_names for name in names]


def _flat_values(result: ResultLike) -> np.ndarray:
    """All inputs' values as ``(instance, feature, event, time)``."""
    return np.concatenate(
        [v.reshape(v.shape[0], -1, *v.shape[-2:]) for v in result.values], axis=1
    ).astype(np.float64)


def _spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman's correlation of the rows of ``a`` and ``b`` (average ranks over the
    last axis); NaN where a row's ranking is constant."""
    import pandas as pd

    ra, rb = (pd.DataFrame(m).rank(axis=1).to_numpy() for m in (a, b))
    ra, rb = ra - ra.mean(axis=1, keepdims=True), rb - rb.mean(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (ra * rb).sum(1) / np.sqrt((ra**2).sum(1) * (rb**2).sum(1))
