"""What every method shares: choose points, take Jacobians there, combine with weights.

A method describes its points with ``make_points(instance_rows, replicate_ids)``, which
returns, for a chunk of (instance, replicate) pairs, the points where the Jacobian is
taken and the factor that multiplies it when ``times_input`` is set. The loop below
walks the flattened (instance, replicate) pairs in chunks sized by the memory budget and
averages over replicates, so results do not depend on the chunk size.
"""

from __future__ import annotations

import copy
import numbers
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import engine
from .._validation import check_choice, check_flag, check_int, fail
from ..explainer import Explainer
from ..models.base import CONDITIONAL_TARGETS, Conditional
from ..result import SurvResult

#: the name of the time input's attribution (survinng's): the last feature of a single
#: tabular input, else an input of its own
TIME_FEATURE = "time"

PointsFn = Callable[[torch.Tensor, torch.Tensor], tuple[list[torch.Tensor], list[torch.Tensor]]]


def for_target(
    explainer: Any, target: Any, where: str, *, given: Any = None, include_time: Any = False
) -> Explainer:
    """The explainer whose model gives ``target`` and takes the inputs attributed: the
    one place where a method's ``given`` and ``include_time`` arguments take effect.

    ``given`` (a time ``s``) goes with a conditional target (``"conditional_survival"``,
    ``"conditional_cif"``): the model becomes :class:`~survinng_py.models.base.Conditional`,
    its grid cut at ``s``. ``include_time=True`` adds the model's time input (CoxTime) as
    one more input, named ``"time"``. Otherwise the explainer itself is returned.
    Methods call it first and use what it returns in place of the explainer; results
    record ``given`` and ``include_time`` in their arguments (:func:`build_result`)."""
    _check_explainer(explainer, where)
    include_time = check_flag(include_time, "include_time", where)
    model = explainer.model
    conditional = isinstance(target, str) and target in CONDITIONAL_TARGETS
    if given is not None and not conditional:
        fail(
            "given",
            where,
            "left out unless the target is conditional ("
            + ", ".join(repr(t) for t in model.conditional_targets or CONDITIONAL_TARGETS)
            + ")",
            f"{given!r} with target {target!r}",
            as_text=True,
        )
    if conditional:
        if target not in model.conditional_targets:
            choices = (*filter(model.accepts, model.targets), *model.conditional_targets)
            check_choice(target, choices, "target", f"{where} for a {model.model_class} model")
        if given is None:
            fail("given", where, f"a time s for target {target!r} (explained given T > s)", None)
    if include_time:
        model = model.with_time_input(where)
    if conditional:
        model = Conditional(model, target, given, where)
    if include_time:
        return TimeInputExplainer(explainer, model, where)
    if model is explainer.model:
        return explainer
    view = copy.copy(explainer)  # the same data and names, the derived model
    view.model = model
    return view


class TimeInputExplainer(Explainer):
    """An explainer whose rows carry one more input: the model's time handle ``(B, 1)``,
    named ``"time"``.

    The handle is 1 for every row (instances, references, background), so methods with
    a reference give the time no attribution with ``times_input`` (the time does not
    move along the path, as in survinng); :func:`build_result` multiplies the time's
    attribution by the time the network sees at each grid point where ``times_input``
    is set (survinng's GxI(t)).
    """

    def __init__(self, base: Explainer, model: Any, where: str):
        if base.feature_names is not None:
            _check_no_time_feature(base.feature_names, where)
        super().__init__(
            model,
            None if base.data is None else self._with_handle(base.data),
            None if base.feature_names is None else [*base.feature_names, [TIME_FEATURE]],
            [*base.input_names, TIME_FEATURE],
            base.memory_budget,
        )
        self.base = base

    def _with_handle(self, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
        return [*inputs, inputs[0].new_ones((inputs[0].shape[0], 1))]

    def points(self, x: Any, instance: Any, where: str):
        inputs, ids, names = self.base.points(x, instance, where)
        _check_no_time_feature(names, where)  # names of new rows' columns
        return self._with_handle(inputs), ids, [*names, [TIME_FEATURE]]

    def to_inputs(
        self, value: Any, arg: str, where: str, allow_empty: bool = False
    ) -> list[torch.Tensor]:
        return self._with_handle(self.base.to_inputs(value, arg, where, allow_empty))

    def report(
        self, values: list[np.ndarray], names: list[list[str]], times_input: bool
    ) -> tuple[list[np.ndarray], list[list[str]], list[str]]:
        """Values, feature names and input names in survinng's layout: the time joins a
        single tabular input as its last feature (else it stays an input of its own),
        multiplied by the network's time at each grid point where ``times_input`` is set."""
        *values, time = values
        network_time = self.model.time_input_values
        assert network_time is not None  # with_time_input() made the model
        if times_input:
            time = time * network_time.astype(time.dtype)
        if len(values) == 1 and values[0].ndim == 4:  # (instance, feature, event, time)
            return (
                [np.concatenate([values[0], time], axis=1)],
                [[*names[0], TIME_FEATURE]],
                [_input_names(self.base, 1)[0]],
            )
        return [*values, time], names, _input_names(self, len(values) + 1)


def _check_no_time_feature(names: list[list[str]], where: str) -> None:
    if any(TIME_FEATURE in input_names for input_names in names):
        fail(
            "include_time",
            where,
            f"used with no feature named {TIME_FEATURE!r} (the time input's name)",
            f"a feature {TIME_FEATURE!r}",
            as_text=True,
        )


def _check_explainer(explainer: Any, where: str) -> None:
    if not isinstance(explainer, Explainer):
        fail(
            "explainer",
            where,
            "an Explainer built by survinng_py.explain()",
            type(explainer).__name__,
        )


def prepare(
    explainer: Any,
    x: Any,
    instance: Any,
    target: Any,
    batch_size: Any,
    where: str,
    progress: Any = None,
    *,
    gradients: bool = True,
):
    """Shared argument checks; returns the rows to explain, their ids and feature names.

    A method that takes ``gradients`` refuses models without them (``differentiable``)."""
    _check_explainer(explainer, where)
    if gradients and not explainer.model.differentiable:
        fail(
            "explainer",
            where,
            "a model with gradients (explain this one with surv_shap(), which only predicts)",
            f"a {explainer.model.model_class} model",
            as_text=True,
        )
    explainer.model.check_target(target, where)
    if batch_size is not None:
        check_int(batch_size, "batch_size", where)
    if progress is not None:
        check_flag(progress, "progress", where)
    return explainer.points(x, instance, where)


def attribute(
    explainer: Explainer,
    inputs: list[torch.Tensor],
    *,
    target: str,
    n_reps: int,
    make_points: PointsFn,
    times_input: bool,
    batch_size: int | None,
    progress: bool | None,
) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Mean over replicates of J(point) (times the method's factor if ``times_input``).

    Also returns the target at the points, ``(N, E, T)``, when every instance is one point
    (``n_reps == 1``: the prediction itself, at no extra cost), else ``None`` (methods
    with replicates predict at the instances themselves). Where the engine gives J in
    factors (narrow heads such as DeepSurv's), the sum over an instance's replicates is
    one matrix product and the per-point Jacobians are never formed.
    """
    model = explainer.model
    n = inputs[0].shape[0]
    total = n * n_reps
    chunk = batch_size or engine.rows_per_batch(model, inputs, target, explainer.memory_budget)
    if batch_size is None and n_reps > 1:
        # a batch's points all have their Jacobians (or factors) formed before the sums
        # over replicates: beyond one of the engine's chunks they only fall out of cache
        chunk = min(chunk, engine.jacobian_rows(model, inputs))
    if chunk >= n_reps:
        chunk -= chunk % n_reps  # whole instances per batch: their sums are contiguous
    n_batches = _batch_count(n, chunk, n_reps)
    show = progress if progress is not None else (sys.stderr.isatty() and n_batches > 1)
    batches = tqdm(
        _batches(total, chunk, n_reps),
        total=n_batches,
        disable=not show,
        desc="points",
        unit="batch",
    )
    if n_reps == 1:  # the engine writes each batch's rows into the result: no copy of it
        # (and forms J from factors itself where that is faster, chunk by chunk)
        shape = engine.target_shape(model, inputs, target)
        result = [inputs[0].new_empty((n, *shape))]
        result += [x.new_empty((*x.shape, *shape)) for x in inputs]
        for start, stop in batches:
            rows = torch.arange(start, stop, device=model.device)
            points, factors = make_points(rows, torch.zeros_like(rows))
            rows_out = [m[start:stop] for m in result]
            _point_sums(model, points, factors, target, times_input, False, 1, rows_out)
        return [m.cpu().numpy() for m in result[1:]], result[0].cpu().numpy()
    factored = engine.factored(model, inputs, target)
    means = None  # per input: sums over replicates, (n, ...), filled batch by batch
    for start, stop in batches:
        flat = torch.arange(start, stop, device=model.device)
        points, factors = make_points(flat // n_reps, flat % n_reps)
        first, per = start // n_reps, min(stop - start, n_reps)  # per: points per instance
        sums = _point_sums(model, points, factors, target, times_input, factored, per)[1:]
        if n_batches == 1:
            means = sums
            break
        if means is None:
            new = torch.Tensor.new_empty if chunk >= n_reps else torch.Tensor.new_zeros
            means = [new(q, (n, *q.shape[1:])) for q in sums]
        for total_k, part in zip(means, sums):
            if per == n_reps:
                total_k[first : first + len(part)] = part
            else:  # one instance's replicates span several batches
                total_k[first] += part[0]
    assert means is not None  # prepare() refuses zero rows: there was a batch
    return [m.div_(n_reps).cpu().numpy() for m in means], None


def _point_sums(model, points, factors, target, times_input, factored, per, out=None):
    """``[value, *per input]``: the target at ``points`` and, per input, the sums over runs
    of ``per`` points of its Jacobian (times ``factors`` if ``times_input``), contracted
    from the engine's factors if ``factored``. With ``out`` (``per`` = 1, not factored:
    rows of the result, one array per quantity) written there."""
    if factored:
        value, head, nets = engine.jacobian_factors(model, points, target)
        sums = [
            _sum_factors(g * f.unsqueeze(-1) if times_input else g, head, per, value.shape[1:])
            for g, f in zip(nets, factors)
        ]
        return [value, *sums]
    value, jacobians = engine.jacobian(
        model, points, target, out=None if out is None else (out[0], out[1:])
    )
    if times_input:  # the engine's arrays are fresh (or the result's rows): multiplied in place
        for j, f in zip(jacobians, factors):
            j.mul_(f.reshape(*f.shape, 1, 1))
    return [value, *(_sum_points(j, per) for j in jacobians)]


def _batches(total: int, chunk: int, n_reps: int):
    """``[start, stop)`` of each batch of points: whole instances, or, when an instance's
    replicates do not fit in one batch, parts of one instance (never two). A generator:
    memory does not grow with the number of points."""
    start = 0
    while start < total:
        stop = min(
            total, start + chunk, (start // n_reps + 1) * n_reps if chunk < n_reps else total
        )
        yield start, stop
        start = stop


def _batch_count(n: int, chunk: int, n_reps: int) -> int:
    """How many batches :func:`_batches` yields for ``n`` instances."""
    if chunk >= n_reps:
        return -(-n * n_reps // chunk)
    return n * -(-n_reps // chunk)


def _sum_points(contrib: torch.Tensor, per: int) -> torch.Tensor:
    """Sums over consecutive runs of ``per`` points (one instance's replicates)."""
    return contrib if per == 1 else contrib.reshape(-1, per, *contrib.shape[1:]).sum(1)


def _sum_factors(net: torch.Tensor, head: torch.Tensor, per: int, value_shape) -> torch.Tensor:
    """Sum over runs of ``per`` points of ``net . head``, as one product per instance:
    ``(k*per, *dims, MK)``, ``(k*per, MK, E*T)`` -> ``(k, *dims, E, T)``."""
    k, mk, dims = net.shape[0] // per, net.shape[-1], net.shape[1:-1]
    left = net.reshape(k, per, -1, mk).transpose(1, 2).reshape(k, -1, per * mk)
    product = engine.batched_matmul(left, head.reshape(k, per * mk, -1))
    return product.reshape(k, *dims, *value_shape)


def predict(explainer: Explainer, inputs: list[torch.Tensor], target: str) -> np.ndarray:
    return engine.predict(explainer.model, inputs, target, explainer.memory_budget).cpu().numpy()


#: largest integer seed: results record it among their arguments as a 64-bit integer
SEED_MAX = 2**63 - 1
#: most points per instance (``n``; GradSHAP: ``n x num_samples``), far above any useful
#: number; the points are made batch by batch, so memory does not grow with ``n``
MAX_POINTS = 2**32


def make_rng(seed: Any, where: str) -> np.random.Generator:
    """A generator from ``None``, an integer in ``[0, SEED_MAX]`` or a Generator (used as is)."""
    if seed is None or isinstance(seed, np.random.Generator):
        return np.random.default_rng(seed)
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        fail("seed", where, "None, an integer or a numpy.random.Generator", seed)
    if not 0 <= int(seed) <= SEED_MAX:
        fail(
            "seed",
            where,
            "an integer in [0, 2**63 - 1] (or None, or a numpy.random.Generator)",
            seed,
        )
    return np.random.default_rng(int(seed))


def seed_label(seed: Any) -> Any:
    """How a seed is recorded in a result's arguments."""
    return (
        None if seed is None else int(seed) if isinstance(seed, numbers.Integral) else "Generator"
    )


def path_points(xs: list[torch.Tensor], refs: list[torch.Tensor], alpha: torch.Tensor):
    """Points ``r + alpha (x - r)`` and factors ``x - r`` for rows of x and their references."""
    points, deltas = [], []
    for x, r in zip(xs, refs):
        delta = x - r
        points.append(r + alpha.reshape(-1, *[1] * (x.dim() - 1)) * delta)
        deltas.append(delta)
    return points, deltas


def build_pair_result(
    explainer: Any,
    inputs: list,
    ids: Any,
    names: list[list[str]],
    k: int,
    values: np.ndarray,
    **fields: Any,
) -> SurvResult:
    """A second-order result (:func:`build_result`'s ``fields``): the pairs of input
    ``k``'s features, labelled ``"a:b"``, as its one feature axis."""
    from .._second_order import pair_labels

    labels, pairs = pair_labels(names[k])
    result = build_result(explainer, inputs, ids, [labels], [values], **fields)
    return result.replace(input_names=[result.input_names[k]], feature_pairs=[pairs])


def build_result(
    explainer: Explainer,
    inputs: list[torch.Tensor],
    ids: np.ndarray,
    names: list[list[str]],
    values: list[np.ndarray],
    *,
    method: str,
    target: str,
    args: dict,
    pred: np.ndarray,
    **preds: Any,  # pred_ref, pred_diff, pred_diff_q1, pred_diff_q3
) -> SurvResult:
    model = explainer.model
    num_risks = engine.num_risks(model, inputs)
    input_names = _input_names(explainer, len(inputs))
    if isinstance(model, Conditional):
        args = {**args, "given": model.given}
    if isinstance(explainer, TimeInputExplainer):
        if len(values) == len(inputs):  # else the time is already a feature (Hessian pairs)
            times_input = bool(args.get("times_input"))
            values, names, input_names = explainer.report(values, names, times_input)
        args = {**args, "include_time": True}
    return SurvResult(
        values,
        pred=pred,
        time=model.time,
        feature_names=names,
        input_names=input_names,
        event_names=model.event_names(target, num_risks),
        instance=ids,
        method=method,
        model_class=model.model_class,
        target=target,
        args={"dtype": str(model.dtype).replace("torch.", ""), **args},
        **preds,
    )


def _input_names(explainer: Explainer, n_inputs: int) -> list[str]:
    names = explainer.input_names
    return names if len(names) == n_inputs else [f"input_{k + 1}" for k in range(n_inputs)]


def background(explainer: Explainer, arg: str, where: str) -> list[torch.Tensor]:
    if explainer.data is None:
        fail(arg, where, "given when the explainer has no `data` (explain(model, data))", None)
    return explainer.data


def reference_rows(explainer: Explainer, given: Any, arg: str, where: str) -> list[torch.Tensor]:
    """The rows ``arg`` gives (checked like ``x``, at least one), else the explainer data."""
    return (
        background(explainer, arg, where)
        if given is None
        else explainer.to_inputs(given, arg, where)
    )


__all__ = [
    "for_target",
    "TimeInputExplainer",
    "prepare",
    "attribute",
    "predict",
    "make_rng",
    "check_flag",
    "build_result",
    "background",
    "reference_rows",
    "check_choice",
    "seed_label",
    "path_points",
    "MAX_POINTS",
]
