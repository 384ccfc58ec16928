"""SG(t) and SGxI(t): gradients averaged over noisy copies of each instance."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .registry import BATCH_SIZE_HELP, GIVEN_HELP, INCLUDE_TIME_HELP, register_method

if TYPE_CHECKING:
    import numpy as np

    from ..explainer import Explainer
    from ..result import SurvResult


def surv_smoothgrad(
    explainer: Explainer,
    x: Any = None,
    *,
    instance: Any = None,
    target: str = "survival",
    given: float | None = None,
    include_time: bool = False,
    n: int = 10,
    noise_level: float = 0.1,
    times_input: bool = False,
    batch_size: int | None = None,
    seed: int | np.random.Generator | None = None,
    progress: bool | None = None,
) -> SurvResult:
    """SmoothGrad(t): mean of Grad(t) at ``n`` noisy copies ``x + eps``.

    ``eps_j ~ N(0, sigma_j^2)`` with ``sigma_j = noise_level * sd_j``, ``sd_j`` the sample
    standard deviation (ddof 1) of feature ``j`` over the explainer data (element-wise for
    tensor inputs). With ``times_input`` (SGxI(t)) each gradient is multiplied by its
    noisy input, as survinng does. Other arguments as in :func:`surv_grad`; ``seed``
    (int or ``numpy.random.Generator``) makes the noise reproducible, whatever the batch
    size or device.

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
        Number of noisy copies per instance.
    noise_level : float
        Noise standard deviation as a fraction of each feature's standard deviation.
    times_input : bool
        Multiply each gradient by its noisy input (SGxI(t)).
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
        ``values[k]`` of shape ``(instance, *feature_dims_k, event, time)``, ``pred``.

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
    ...                  baseline_hazard=([1.0, 2.0], [0.1, 0.2]))
    >>> sv.surv_smoothgrad(exp, instance=[0, 1], n=5, seed=1).values[0].shape
    (2, 2, 1, 2)
    """
    import torch

    from .._validation import check_float, check_int, fail
    from ._core import (
        MAX_POINTS,
        attribute,
        background,
        build_result,
        check_flag,
        for_target,
        make_rng,
        predict,
        prepare,
        seed_label,
    )

    where = "surv_smoothgrad()"
    explainer = for_target(explainer, target, where, given=given, include_time=include_time)
    inputs, ids, names = prepare(explainer, x, instance, target, batch_size, where, progress)
    n = check_int(n, "n", where, maximum=MAX_POINTS)
    noise_level = check_float(noise_level, "noise_level", where)
    times_input = check_flag(times_input, "times_input", where)
    data = background(explainer, "explainer", where)
    if data[0].shape[0] < 2:
        fail(
            "explainer",
            where,
            "built with at least 2 rows of data (for the feature sd)",
            data[0].shape[0],
        )
    # sd in float64 (float32 squares overflow from |x| ~ 1e19), then in the model's dtype
    sds = [(noise_level * d.double().std(dim=0, correction=1)).to(d.dtype) for d in data]
    if not all(bool(torch.isfinite(sd).all()) for sd in sds):
        fail(
            "noise_level",
            where,
            "small enough that noise_level x the feature sd is finite "
            f"in {str(data[0].dtype).replace('torch.', '')}",
            noise_level,
        )
    # One stream per input, drawn in (instance, copy) order: chunking cannot change it.
    streams = make_rng(seed, where).spawn(len(inputs))

    def make_points(rows, _reps):
        points = []
        for x, sd, rng in zip(inputs, sds, streams):
            eps = rng.standard_normal((len(rows), *x.shape[1:]))
            points.append(x.index_select(0, rows) + torch.as_tensor(eps).to(x) * sd)
        return points, points

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
            "noise_level": noise_level,
            "seed": seed_label(seed),
        },
        pred=predict(explainer, inputs, target),
    )


METHOD = register_method(
    surv_smoothgrad,
    name="smoothgrad",
    id="Surv_SmoothGrad",
    labels=("SG(t)", "SGxI(t)"),
    long_labels=("SmoothGrad", "SmoothGrad x Input"),
    r_function="surv_smoothgrad",
    options={
        "times_input": "multiply each gradient by its noisy input (SGxI(t))",
        "n": "noisy copies of each instance",
        "noise_level": "noise sd as a multiple of each feature's sd",
        "seed": "seed of the noise",
        "given": GIVEN_HELP,
        "include_time": INCLUDE_TIME_HELP,
        "batch_size": BATCH_SIZE_HELP,
    },
    seed_option="seed",
)
