"""Hessian(t): second derivatives of the target w.r.t. pairs of features, at every time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .registry import BATCH_SIZE_HELP, GIVEN_HELP, INCLUDE_TIME_HELP, register_method

if TYPE_CHECKING:
    from ..explainer import Explainer
    from ..result import SurvResult


def surv_hessian(
    explainer: Explainer,
    x: Any = None,
    *,
    instance: Any = None,
    target: str = "survival",
    given: float | None = None,
    times_input: bool = False,
    include_time: bool = False,
    input: int | str = 0,
    batch_size: int | None = None,
    progress: bool | None = None,
) -> SurvResult:
    """Hessian(t): d^2 target(t | x) / d x_i d x_j for every pair of features and time point.

    For a model with several inputs, the pairs are the features of one input (``input``);
    the other inputs are held at the explained rows. An input with several feature axes
    (an image) is flattened. Every (event, time) of the target is differentiated at once,
    by nested automatic differentiation (forward over forward, one pass per feature pair,
    or forward over reverse, whichever is cheaper) or, where the survival head reads few
    numbers (DeepSurv: one log-risk ``g``), through the head's own second-order chain
    rule ``S'(g) Hess g + S''(g) grad g grad g^T``.

    Parameters
    ----------
    explainer : Explainer
        From :func:`survinng_py.explain`.
    x : array, DataFrame, tensor or list of them, optional
        New rows to explain (a list gives one array per network input).
    instance : int or sequence of int, optional
        0-based rows of the explainer data. Give exactly one of ``x`` and ``instance``.
    target : str
        A target of the model family (``"survival"``, ``"cum_hazard"``, ``"hazard"`` for
        Cox types; ``"survival"``, ``"cif"``, ``"pmf"`` for DeepHit), or the network
        output: ``"log_risk"`` (DeepSurv) or ``"logits"`` (DeepHit, MTLR), whose
        interactions are the network's alone, without those the survival head adds.
    given : float, optional
        The time ``s`` of a conditional target (``"conditional_survival"``,
        ``"conditional_cif"``), as in :func:`surv_grad`.
    times_input : bool
        Multiply entry ``(i, j)`` by ``x_i x_j`` (as survinng's ``times_input``).
    include_time : bool
        CoxTime: pair the time the network sees with the features of ``input``, as one
        more, last feature named ``"time"`` (the shift of every network time together,
        as in :func:`surv_grad`). With ``times_input`` its factor is the network's time
        at each grid point.
    input : int or str
        The input whose features are paired: its position or its name.
    batch_size : int, optional
        Points per batch; by default as many as the explainer's memory budget allows.
        Results do not depend on it beyond rounding.
    progress : bool, optional
        Accepted for the common method signature; the Hessian shows no progress bar.

    Returns
    -------
    SurvResult
        ``values[0]`` of shape ``(instance, feature, feature, event, time)``, symmetric in
        the two feature axes, labelled ``"a:b"`` (``feature_pairs`` holds the pairs);
        ``pred`` is the target at the rows.

    Raises
    ------
    SurvinngError
        For bad arguments (as :func:`surv_grad`) or an unknown ``input``.

    Examples
    --------
    >>> import numpy as np, torch, survinng_py as sv
    >>> torch.manual_seed(0) and None
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    >>> exp = sv.explain(net, np.eye(3), model_type="deepsurv",
    ...                  baseline_hazard=([1.0, 2.0], [0.1, 0.2]), dtype="float64")
    >>> res = sv.surv_hessian(exp, instance=[0, 1])
    >>> res.values[0].shape, res.feature_names[0][1]
    ((2, 3, 3, 1, 2), 'X1:X2')
    >>> bool(np.array_equal(res.values[0], res.values[0].transpose(0, 2, 1, 3, 4)))
    True
    """
    import torch

    from .. import _second_order as so
    from ._core import (
        TimeInputExplainer,
        build_pair_result,
        check_flag,
        for_target,
        predict,
        prepare,
    )

    where = "surv_hessian()"
    explainer = for_target(explainer, target, where, given=given, include_time=include_time)
    inputs, ids, names = prepare(explainer, x, instance, target, batch_size, where, progress)
    times_input = check_flag(times_input, "times_input", where)
    model: Any = explainer.model
    if isinstance(explainer, TimeInputExplainer):  # the handle joins the paired input
        *names, time_name = names
        k = so.choose_input(explainer.base, inputs[:-1], input, where)
        model = so.TimeJoined(model, k, inputs[k].shape[1:])
        inputs = model.join(inputs)
        names[k] = [*names[k], *time_name]
    else:
        k = so.choose_input(explainer, inputs, input, where)
    _, hess = so.accumulate(
        model,
        inputs,
        k,
        target,
        n_reps=1,
        make_points=lambda rows, _reps: [x.index_select(0, rows) for x in inputs],
        grad_weight=None,
        hess_weight=lambda reps: reps.new_ones(reps.shape, dtype=inputs[0].dtype),
        batch_size=batch_size,
        memory_budget=explainer.memory_budget,
    )
    if times_input:
        factor = inputs[k].reshape(len(ids), -1, 1).expand(-1, -1, hess.shape[-1])
        if isinstance(model, so.TimeJoined):  # the time's: the network's time per grid point
            network_time = factor.new_tensor(model.time_input_values)
            factor = torch.cat([factor[:, :-1], network_time.expand(len(ids), 1, -1)], 1)
        hess = hess * (factor[:, :, None] * factor[:, None, :]).unsqueeze(3)
    if isinstance(model, so.TimeJoined):
        inputs = model.split(inputs)
    return build_pair_result(
        explainer,
        inputs,
        ids,
        names,
        k,
        hess.cpu().numpy(),
        method=METHOD.id,
        target=target,
        args={
            "target": target,
            "instance": ids.tolist(),
            "times_input": times_input,
            "input": k,
        },
        pred=predict(explainer, inputs, target),
    )


METHOD = register_method(
    surv_hessian,
    name="hessian",
    id="Surv_Hessian",
    labels=("Hessian(t)", "Hessian x Input(t)"),
    long_labels=("Hessian", "Hessian x Input"),
    r_function="surv_hessian",
    options={
        "times_input": "multiply entry (i, j) by x_i x_j",
        "given": GIVEN_HELP,
        "include_time": INCLUDE_TIME_HELP,
        "batch_size": BATCH_SIZE_HELP,
    },
)
