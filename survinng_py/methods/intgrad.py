"""IntGrad(t): integrated gradients along the straight path from a reference."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .registry import BATCH_SIZE_HELP, GIVEN_HELP, INCLUDE_TIME_HELP, register_method

if TYPE_CHECKING:
    from ..explainer import Explainer
    from ..result import SurvResult


def surv_intgrad(
    explainer: Explainer,
    x: Any = None,
    *,
    instance: Any = None,
    target: str = "survival",
    given: float | None = None,
    include_time: bool = False,
    n: int = 10,
    x_ref: Any = None,
    times_input: bool = True,
    batch_size: int | None = None,
    progress: bool | None = None,
) -> SurvResult:
    """IntGrad(t) = (x - r) * mean_k grad f_t(r + alpha_k (x - r)), alpha_k = k/n, k = 1..n.

    ``x_ref`` is one row (shared by all instances) or one row per instance, in the same
    format as ``x``; by default the element-wise mean of the explainer data. The result
    has ``pred_ref = f(r)`` and ``pred_diff = pred - pred_ref``: with ``times_input``
    the attributions of each instance sum to ``pred_diff`` up to O(1/n).

    Parameters
    ----------
    explainer : Explainer
        From :func:`survinng_py.explain`.
    x : array, DataFrame, tensor or list of them, optional
        New rows to explain (a list gives one array per network input).
    instance : int or sequence of int, optional
        0-based rows of the explainer data. Give exactly one of ``x`` and ``instance``.
    target : str
        A target of the model family (see :func:`surv_grad`).
    n : int
        Number of points on the straight path from the reference to the instance.
    x_ref : array, DataFrame, tensor or list of them, optional
        The reference: one row, or one row per instance (default: the mean of the
        explainer data).
    times_input : bool
        Multiply the mean gradient by ``x - x_ref`` (IntGrad(t) proper); ``False`` gives
        the mean gradient along the path.
    batch_size : int, optional
        Points per batch; by default as many as the explainer's memory budget allows,
        at most one of the engine's chunks (their Jacobians stay in cache until they
        are summed). Results do not depend on it.
    progress : bool, optional
        Show a progress bar (default: only in a terminal, for more than one batch).

    Returns
    -------
    SurvResult
        ``values[k]`` of shape ``(instance, *feature_dims_k, event, time)``, ``pred``,
        ``pred_ref`` and ``pred_diff``.

    Raises
    ------
    SurvinngError
        One line naming the argument, before any gradient is taken: an explainer not
        built by :func:`~survinng_py.explain`, both or neither of ``x`` and ``instance``,
        rows out of range or not shaped like the model's inputs, a target the model family
        does not have, an option out of its range, or a model without gradients (use
        :func:`~survinng_py.surv_shap`).

    Examples
    --------
    >>> import numpy as np, torch, survinng_py as sv
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    >>> exp = sv.explain(net, np.random.default_rng(1).normal(size=(30, 2)), model_type="deepsurv",
    ...                  baseline_hazard=([1.0, 2.0], [0.1, 0.2]), dtype="float64")
    >>> res = sv.surv_intgrad(exp, instance=[0, 1], n=500)
    >>> gap = res.values[0].sum(axis=1) - res.pred_diff
    >>> bool(abs(gap).max() < 1e-3)
    True
    """
    import torch

    from .._validation import check_int, fail
    from ._core import (
        MAX_POINTS,
        attribute,
        background,
        build_result,
        check_flag,
        for_target,
        path_points,
        predict,
        prepare,
    )

    where = "surv_intgrad()"
    explainer = for_target(explainer, target, where, given=given, include_time=include_time)
    inputs, ids, names = prepare(explainer, x, instance, target, batch_size, where, progress)
    n = check_int(n, "n", where, maximum=MAX_POINTS)
    times_input = check_flag(times_input, "times_input", where)
    if x_ref is None:  # the mean in float64: a float32 sum can overflow
        refs = [
            d.mean(dim=0, keepdim=True, dtype=torch.float64).to(d.dtype)
            for d in background(explainer, "x_ref", where)
        ]
    else:
        refs = explainer.to_inputs(x_ref, "x_ref", where)
    n_inst = inputs[0].shape[0]
    if refs[0].shape[0] not in (1, n_inst):
        fail(
            "x_ref",
            where,
            f"one row or {n_inst} rows (one per instance)",
            f"{refs[0].shape[0]} rows",
            as_text=True,
        )
    refs = [r.expand(n_inst, *r.shape[1:]) for r in refs]

    def make_points(rows, reps):  # alpha per point: nothing of size n is held
        alphas = (reps + 1).to(inputs[0].dtype) / n
        return path_points(
            [x.index_select(0, rows) for x in inputs],
            [r.index_select(0, rows) for r in refs],
            alphas,
        )

    values, _ = attribute(
        explainer,
        inputs,
        target=target,
        n_reps=n,
        make_points=make_points,
        times_input=times_input,
        batch_size=batch_size,
        progress=progress,
    )
    pred = predict(explainer, inputs, target)
    pred_ref = predict(explainer, [r.contiguous() for r in refs], target)
    return build_result(
        explainer,
        inputs,
        ids,
        names,
        values,
        method=METHOD.id,
        target=target,
        args={
            "target": target,
            "instance": ids.tolist(),
            "times_input": times_input,
            "n": n,
            "x_ref": "mean" if x_ref is None else "given",
        },
        pred=pred,
        pred_ref=pred_ref,
        pred_diff=pred - pred_ref,
    )


METHOD = register_method(
    surv_intgrad,
    name="intgrad",
    id="Surv_IntGrad",
    labels="IntGrad(t)",
    long_labels="IntGrad",
    r_function="surv_intgrad",
    options={
        "times_input": "multiply by x - reference (off: the mean gradient on the path)",
        "n": "points on the path from the reference",
        "x_ref": "reference: one row, or one per instance (default: the data's mean)",
        "given": GIVEN_HELP,
        "include_time": INCLUDE_TIME_HELP,
        "batch_size": BATCH_SIZE_HELP,
    },
)
