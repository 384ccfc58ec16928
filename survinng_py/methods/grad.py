"""Grad(t) and GxI(t): the gradient of the target at every time point."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .registry import BATCH_SIZE_HELP, GIVEN_HELP, INCLUDE_TIME_HELP, register_method

if TYPE_CHECKING:
    from ..explainer import Explainer
    from ..result import SurvResult


def surv_grad(
    explainer: Explainer,
    x: Any = None,
    *,
    instance: Any = None,
    target: str = "survival",
    given: float | None = None,
    include_time: bool = False,
    times_input: bool = False,
    batch_size: int | None = None,
    progress: bool | None = None,
) -> SurvResult:
    """Grad(t): d target(t | x) / d x for every time point; GxI(t) with ``times_input``.

    Parameters
    ----------
    explainer : Explainer
        From :func:`survinng_py.explain`.
    x : array, DataFrame, tensor or list of them, optional
        New rows to explain (a list gives one array per network input).
    instance : int or sequence of int, optional
        0-based rows of the explainer data (survinng's ``instance``, minus one).
        Give exactly one of ``x`` and ``instance``.
    target : str
        ``"survival"``, ``"cum_hazard"`` or ``"hazard"`` (Cox types); ``"survival"``,
        ``"cif"`` or ``"pmf"`` (DeepHit); ``"conditional_survival"`` (every family) or
        ``"conditional_cif"`` (families with ``"cif"``) with ``given``.
    given : float, optional
        The time ``s`` of a conditional target: ``S(t | T > s) = S(t) / S(s)``, or the
        CIF given no event by ``s``, ``(F_k(t) - F_k(s)) / S(s)``, on the grid times
        ``t >= s`` (recorded in the result's ``args``).
    include_time : bool
        Also attribute the time the network takes as an input (CoxTime): the last
        feature ``"time"`` of a single tabular input (else an input of its own). With
        ``times_input`` it is multiplied by the network's time at each grid point.
    times_input : bool
        Multiply the gradient by the input (GxI(t)).
    batch_size : int, optional
        Points per batch; by default as many as the explainer's memory budget allows.
        Results do not depend on it.
    progress : bool, optional
        Show a progress bar (default: only in a terminal, for more than one batch).

    Returns
    -------
    SurvResult
        ``values[k]`` of shape ``(instance, *feature_dims_k, event, time)``, ``pred``.

    Raises
    ------
    SurvinngError
        One line naming the argument, before any gradient is taken: an explainer not
        built by :func:`~survinng_py.explain`, both or neither of ``x`` and ``instance``,
        rows out of range or not shaped like the model's inputs, a target the model family
        does not have, an option out of its range, ``given`` outside the time grid or
        without a conditional target, ``include_time`` for a model without a time input,
        or a model without gradients (use :func:`~survinng_py.surv_shap`).

    Examples
    --------
    >>> import numpy as np, torch, survinng_py as sv
    >>> torch.manual_seed(0) and None
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    >>> exp = sv.explain(net, np.eye(2), model_type="deepsurv",
    ...                  baseline_hazard=([1.0, 2.0, 3.0], [0.1, 0.2, 0.3]))
    >>> res = sv.surv_grad(exp, instance=0, times_input=True)
    >>> res.label, res.values[0].shape
    ('GxI(t)', (1, 2, 1, 3))
    >>> sv.surv_grad(exp, instance=0, target="conditional_survival", given=2.0).time
    array([2., 3.])
    """
    from ._core import attribute, build_result, check_flag, for_target, prepare

    where = "surv_grad()"
    explainer = for_target(explainer, target, where, given=given, include_time=include_time)
    inputs, ids, names = prepare(explainer, x, instance, target, batch_size, where, progress)
    times_input = check_flag(times_input, "times_input", where)

    def make_points(rows, _reps):
        points = [x.index_select(0, rows) for x in inputs]
        return points, points

    values, pred = attribute(
        explainer,
        inputs,
        target=target,
        n_reps=1,
        make_points=make_points,
        times_input=times_input,
        batch_size=batch_size,
        progress=progress,
    )
    assert pred is not None  # one point per instance: attribute() returns its prediction
    return build_result(
        explainer,
        inputs,
        ids,
        names,
        values,
        method=METHOD.id,
        target=target,
        args={"target": target, "instance": ids.tolist(), "times_input": times_input},
        pred=pred,
    )


METHOD = register_method(
    surv_grad,
    name="grad",
    id="Surv_Gradient",
    labels=("Grad(t)", "GxI(t)"),
    long_labels=("Gradient", "Grad x Input"),
    r_function="surv_grad",
    options={
        "times_input": "multiply the gradient by the input (GxI(t))",
        "given": GIVEN_HELP,
        "include_time": INCLUDE_TIME_HELP,
        "batch_size": BATCH_SIZE_HELP,
    },
)
