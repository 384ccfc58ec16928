"""GradSHAP(t): expected gradients over references drawn from a background pool."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .registry import BATCH_SIZE_HELP, GIVEN_HELP, INCLUDE_TIME_HELP, register_method

if TYPE_CHECKING:
    import numpy as np

    from ..explainer import Explainer
    from ..result import SurvResult


def surv_gradshap(
    explainer: Explainer,
    x: Any = None,
    *,
    instance: Any = None,
    target: str = "survival",
    given: float | None = None,
    include_time: bool = False,
    n: int = 50,
    num_samples: int = 10,
    data_ref: Any = None,
    replace: bool = True,
    stratified: bool = True,
    times_input: bool = True,
    batch_size: int | None = None,
    seed: int | np.random.Generator | None = None,
    progress: bool | None = None,
) -> SurvResult:
    """GradSHAP(t) = mean_{s,k} (x - r_s) * grad f_t(r_s + alpha_sk (x - r_s)).

    ``num_samples`` references ``r_s`` are drawn once per call from ``data_ref`` (default:
    the explainer data), with replacement unless ``replace=False``, and shared by all
    instances; ``n`` values of ``alpha`` per reference are drawn once per call and shared
    by all instances and inputs (first the reference rows, then alpha, from ``seed``).
    With ``stratified=True`` (default) a reference's ``alpha`` values fall one in each
    of ``n`` equal parts of [0, 1) (``(k + U(0, 1)) / n``): still unbiased, but the
    path integral's error shrinks like ``n^-1.5`` instead of ``n^-0.5`` for smooth
    models; ``stratified=False`` draws them independently from ``U(0, 1)`` as survinng
    does (identical for ``n = 1``). ``args["reference_rows"]`` lists the drawn rows
    (0-based rows of the pool). ``pred_ref`` is the mean prediction over the pool, ``pred_diff = pred -
    pred_ref`` and ``pred_diff_q1``/``pred_diff_q3`` use the pool's quartiles; with
    ``num_samples=1``, ``pred_ref`` is the prediction at the one reference.

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
        Path positions per reference.
    num_samples : int
        Number of references drawn from the pool.
    data_ref : array, DataFrame, tensor or list of them, optional
        The pool of references (default: the explainer data).
    replace : bool
        Draw the references with replacement.
    stratified : bool
        One path position in each ``n``-th of [0, 1) (default); ``False`` draws them
        independently, as survinng does.
    times_input : bool
        Multiply each gradient by ``x - r_s`` (GradSHAP(t) proper).
    batch_size : int, optional
        Points per batch; by default as many as the explainer's memory budget allows,
        at most one of the engine's chunks (their Jacobians stay in cache until they
        are summed). Results do not depend on it.
    seed : int or numpy.random.Generator, optional
        Makes the draws reproducible, whatever the batch size or device.
    progress : bool, optional
        Show a progress bar (default: only in a terminal, for more than one batch).

    Returns
    -------
    SurvResult
        ``values[k]`` of shape ``(instance, *feature_dims_k, event, time)``, ``pred``,
        ``pred_ref``, ``pred_diff``, ``pred_diff_q1`` and ``pred_diff_q3``.

    Raises
    ------
    SurvinngError
        One line naming the argument, before any gradient is taken: an explainer not
        built by :func:`~survinng_py.explain`, both or neither of ``x`` and ``instance``,
        rows out of range or not shaped like the model's inputs, a target the model family
        does not have, an option out of its range, or a model without gradients (use
        :func:`~survinng_py.surv_shap`). ``num_samples`` above the pool size with
        ``replace=False`` is refused too.

    Examples
    --------
    >>> import numpy as np, torch, survinng_py as sv
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    >>> exp = sv.explain(net, np.random.default_rng(1).normal(size=(30, 2)), model_type="deepsurv",
    ...                  baseline_hazard=([1.0, 2.0], [0.1, 0.2]))
    >>> res = sv.surv_gradshap(exp, instance=[0, 1], n=20, num_samples=5, seed=0)
    >>> res.values[0].shape, res.pred_diff.shape
    ((2, 2, 1, 2), (2, 1, 2))
    """
    import numpy as np
    import torch

    from .._validation import check_int, fail
    from ._core import (
        MAX_POINTS,
        attribute,
        build_result,
        check_flag,
        for_target,
        make_rng,
        path_points,
        predict,
        prepare,
        reference_rows,
        seed_label,
    )

    where = "surv_gradshap()"
    explainer = for_target(explainer, target, where, given=given, include_time=include_time)
    inputs, ids, names = prepare(explainer, x, instance, target, batch_size, where, progress)
    n = check_int(n, "n", where, maximum=MAX_POINTS)
    num_samples = check_int(num_samples, "num_samples", where)
    _check_draws(explainer, n, num_samples, where)
    replace = check_flag(replace, "replace", where)
    stratified = check_flag(stratified, "stratified", where)
    times_input = check_flag(times_input, "times_input", where)
    pool = reference_rows(explainer, data_ref, "data_ref", where)
    pool_size = pool[0].shape[0]
    if not replace and num_samples > pool_size:
        fail(
            "num_samples",
            where,
            f"at most the pool size ({pool_size}) when replace=False",
            num_samples,
        )
    rng = make_rng(seed, where)
    ref_rows = rng.choice(pool_size, size=num_samples, replace=replace)
    device, dtype = inputs[0].device, inputs[0].dtype
    draws = rng.uniform(size=(num_samples, n))
    if stratified:
        draws = (np.arange(n) + draws) / n
    alphas = torch.as_tensor(draws.reshape(-1)).to(device=device, dtype=dtype)
    ref_index = torch.as_tensor(ref_rows, device=device)

    def make_points(rows, reps):
        refs = ref_index[reps // n]
        return path_points(
            [x.index_select(0, rows) for x in inputs],
            [p.index_select(0, refs) for p in pool],
            alphas[reps],
        )

    values, _ = attribute(
        explainer,
        inputs,
        target=target,
        n_reps=n * num_samples,
        make_points=make_points,
        times_input=times_input,
        batch_size=batch_size,
        progress=progress,
    )
    pred = predict(explainer, inputs, target)
    if num_samples == 1:
        pred_ref = predict(explainer, [p.index_select(0, ref_index) for p in pool], target)
        quartiles = {}
    else:
        pool_pred = predict(explainer, pool, target)
        pred_ref = pool_pred.mean(axis=0, keepdims=True)
        q1, q3 = np.quantile(pool_pred, [0.25, 0.75], axis=0, keepdims=True).astype(pred.dtype)
        quartiles = {"pred_diff_q1": pred - q1, "pred_diff_q3": pred - q3}
    pred_ref = np.broadcast_to(pred_ref, pred.shape).copy()
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
            "num_samples": num_samples,
            "replace": replace,
            "stratified": stratified,
            "reference_rows": ref_rows.tolist(),
            "data_ref": "explainer data" if data_ref is None else "given",
            "seed": seed_label(seed),
        },
        pred=pred,
        pred_ref=pred_ref,
        pred_diff=pred - pred_ref,
        **quartiles,
    )


def _check_draws(explainer, n: int, num_samples: int, where: str) -> None:
    """The ``n x num_samples`` path positions are drawn up front (a float64 draw and its
    copy in the model's dtype: at most 16 bytes each): refuse counts whose draws do not
    fit in the explainer's memory budget rather than exhausting memory."""
    from .._validation import fail

    limit = max(1, explainer.memory_budget // 16)
    budget = f"the explainer's memory_budget of {explainer.memory_budget} bytes"
    if num_samples > limit:
        fail(
            "num_samples",
            where,
            f"at most {limit} (its path positions are drawn up front, "
            f"16 bytes each, within {budget})",
            num_samples,
        )
    if n * num_samples > limit:
        fail(
            "n",
            where,
            f"at most {limit // num_samples} with num_samples={num_samples} (the "
            f"n x num_samples path positions are drawn up front, 16 bytes each, within "
            f"{budget})",
            n,
        )


METHOD = register_method(
    surv_gradshap,
    name="gradshap",
    id="Surv_GradSHAP",
    labels="GradSHAP(t)",
    long_labels="GradSHAP",
    r_function="surv_gradSHAP",
    options={
        "times_input": "multiply by x - reference (off: the mean gradient on the paths)",
        "n": "points on each reference's path",
        "num_samples": "references drawn from the pool",
        "data_ref": "the reference pool (default: the explainer data)",
        "replace": "draw the references with replacement",
        "stratified": "one path point in each of n equal parts of [0, 1)",
        "seed": "seed of the references and path points",
        "given": GIVEN_HELP,
        "include_time": INCLUDE_TIME_HELP,
        "batch_size": BATCH_SIZE_HELP,
    },
    seed_option="seed",
)
