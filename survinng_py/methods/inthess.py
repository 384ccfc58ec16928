"""Integrated Hessians(t) (Janizek, Sturmfels & Lee, "Explaining explanations: axiomatic
feature interactions for deep networks", JMLR 2021) at every time point."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .registry import BATCH_SIZE_HELP, GIVEN_HELP, register_method

if TYPE_CHECKING:
    from ..explainer import Explainer
    from ..result import SurvResult

#: most steps per path integral: the paper's double sum has n^2 terms
MAX_STEPS = 1000


def surv_inthess(
    explainer: Explainer,
    x: Any = None,
    *,
    instance: Any = None,
    target: str = "survival",
    given: float | None = None,
    n: int = 10,
    x_ref: Any = None,
    input: int | str = 0,
    batch_size: int | None = None,
    progress: bool | None = None,
) -> SurvResult:
    """Integrated Hessians(t): the interaction ``Gamma_ij(t)`` of every pair of features.

    With reference ``r``, ``Delta = x - r`` and ``f = target(t)``, the paper's double path
    integral

        Gamma_ij = Delta_i Delta_j  int int  a b  d^2 f / dx_i dx_j (r + a b Delta)  da db
                   + [i = j] Delta_i  int int  d f / dx_i (r + a b Delta)  da db

    is taken as its Riemann sum over ``a, b`` in ``{1/n, ..., 1}`` (``n^2`` terms; each
    distinct product ``a b`` is evaluated once, weighted by how often it occurs). The
    diagonal is feature ``i``'s main effect. Completeness: ``sum_j Gamma_ij(t)`` is
    IntGrad_i(t) (same reference, ``n`` steps) up to O(1/n), and ``sum_ij Gamma_ij(t)``
    is ``pred_diff = f(x) - f(r)`` up to O(1/n).

    The survival head is part of ``f``: a non-linear head creates interactions even
    between features that the network keeps apart (a Cox model with an additive log-risk
    ``g = a(x1) + b(x2)`` has ``d^2 S / dx1 dx2 = S''(g) a'(x1) b'(x2)``).

    Differences from survinng's unfinished ``surv_inthess``: the result keeps the full
    symmetric ``p x p`` matrix (survinng lists the ``p`` diagonal entries, then each pair
    ``i < j`` once as ``2 Gamma_ij``), so that rows sum to IntGrad(t) and the layout is
    that of :func:`surv_hessian`; the second derivative is that of the target itself
    (survinng's omits the ``S grad L grad L^T`` term of the survival curve); there is no
    ``times_input``: the factors ``Delta`` belong to the definition (without them the
    diagonal would add a gradient to a curvature).

    Parameters
    ----------
    explainer : Explainer
        From :func:`survinng_py.explain`.
    x : array, DataFrame, tensor or list of them, optional
        New rows to explain. Give exactly one of ``x`` and ``instance``.
    instance : int or sequence of int, optional
        0-based rows of the explainer data.
    target : str
        A target of the model family.
    given : float, optional
        The time ``s`` of a conditional target (``"conditional_survival"``,
        ``"conditional_cif"``), as in :func:`surv_grad`.
    n : int
        Steps per path integral (1 to 1000); the double sum has ``n^2`` terms.
    x_ref : array, DataFrame, tensor or list of them, optional
        Reference: one row (shared) or one per instance, in the format of ``x``; by
        default the element-wise mean of the explainer data. For a model with several
        inputs only the reference of ``input`` is used: the other inputs are held at the
        explained rows (so the rows of Gamma sum to IntGrad(t) with that reference).
    input : int or str
        The input whose features are paired: its position or its name.
    batch_size : int, optional
        Points per batch; by default as many as the memory budget allows. Results do not
        depend on it beyond rounding.
    progress : bool, optional
        Accepted for the common method signature; no progress bar is shown.

    Returns
    -------
    SurvResult
        ``values[0]`` of shape ``(instance, feature, feature, event, time)``, symmetric,
        labelled ``"a:b"``; ``pred``, ``pred_ref`` and ``pred_diff``.

    Raises
    ------
    SurvinngError
        For bad arguments (as :func:`surv_intgrad`), ``n`` outside [1, 1000] or an
        unknown ``input``.

    Examples
    --------
    >>> import numpy as np, torch, survinng_py as sv
    >>> torch.manual_seed(0) and None
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    >>> exp = sv.explain(net, np.random.default_rng(1).normal(size=(20, 3)),
    ...                  model_type="deepsurv", dtype="float64",
    ...                  baseline_hazard=([1.0, 2.0], [0.1, 0.2]))
    >>> res = sv.surv_inthess(exp, instance=[0, 1], n=40)
    >>> gap = res.values[0].sum(axis=(1, 2)) - res.pred_diff
    >>> bool(abs(gap).max() < 1e-3)
    True
    """
    import numpy as np
    import torch

    from .. import _second_order as so
    from .._validation import check_int, fail
    from ._core import background, build_pair_result, for_target, predict, prepare

    where = "surv_inthess()"
    explainer = for_target(explainer, target, where, given=given)
    inputs, ids, names = prepare(explainer, x, instance, target, batch_size, where, progress)
    n = check_int(n, "n", where, maximum=MAX_STEPS)
    k = so.choose_input(explainer, inputs, input, where)
    if x_ref is None:  # the mean in float64: a float32 sum can overflow
        data = background(explainer, "x_ref", where)[k]
        ref = data.mean(dim=0, keepdim=True, dtype=torch.float64).to(data.dtype)
    else:
        ref = explainer.to_inputs(x_ref, "x_ref", where)[k]
    n_inst = len(ids)
    if ref.shape[0] not in (1, n_inst):
        fail(
            "x_ref",
            where,
            f"one row or {n_inst} rows (one per instance)",
            f"{ref.shape[0]} rows",
            as_text=True,
        )
    ref = ref.expand(n_inst, *ref.shape[1:])
    delta = inputs[k] - ref
    # the distinct products a*b = kl/n^2 of the double sum and the share of terms of each
    counts = np.bincount(np.outer(np.arange(1, n + 1), np.arange(1, n + 1)).ravel())
    products = np.flatnonzero(counts)
    gamma = torch.as_tensor(products / n**2, dtype=ref.dtype, device=ref.device)
    weight = torch.as_tensor(counts[products] / n**2, dtype=ref.dtype, device=ref.device)

    def make_points(rows, reps):
        g = gamma[reps].reshape(-1, *[1] * (ref.dim() - 1))
        points = [x.index_select(0, rows) for x in inputs]
        points[k] = ref.index_select(0, rows) + g * delta.index_select(0, rows)
        return points

    grad, hess = so.accumulate(
        explainer.model,
        inputs,
        k,
        target,
        n_reps=len(products),
        make_points=make_points,
        grad_weight=lambda reps: weight[reps],
        hess_weight=lambda reps: weight[reps] * gamma[reps],
        batch_size=batch_size,
        memory_budget=explainer.memory_budget,
    )
    assert grad is not None  # asked for with grad_weight
    d = delta.reshape(n_inst, -1)
    gamma_ij = hess * (d[:, :, None] * d[:, None, :]).reshape(*hess.shape[:3], 1, 1)
    diagonal = torch.diagonal(gamma_ij, dim1=1, dim2=2)  # a view: (n, E, T, p)
    diagonal += (grad * d.reshape(*d.shape, 1, 1)).movedim(1, -1)
    pred = predict(explainer, inputs, target)
    at_ref = [x if j != k else ref.contiguous() for j, x in enumerate(inputs)]
    pred_ref = predict(explainer, at_ref, target)
    return build_pair_result(
        explainer,
        inputs,
        ids,
        names,
        k,
        gamma_ij.cpu().numpy(),
        method=METHOD.id,
        target=target,
        args={
            "target": target,
            "instance": ids.tolist(),
            "n": n,
            "x_ref": "mean" if x_ref is None else "given",
            "input": k,
        },
        pred=pred,
        pred_ref=pred_ref,
        pred_diff=pred - pred_ref,
    )


METHOD = register_method(
    surv_inthess,
    name="inthess",
    id="Surv_IntHessian",
    labels="IntHess(t)",
    long_labels="Integrated Hessians",
    r_function="surv_inthess",
    options={
        "n": "steps per path integral (the double sum has n^2 terms)",
        "x_ref": "reference: one row, or one per instance (default: the data's mean)",
        "given": GIVEN_HELP,
        "batch_size": BATCH_SIZE_HELP,
    },
)
