"""What every method shares: choose points, take Jacobians there, combine with weights.

A method describes its points with ``make_points(instance_rows, replicate_ids)``, which
returns, for a chunk of (instance, replicate) pairs, the points where the Jacobian is
taken and the factor that multiplies it when ``times_input`` is set. The loop below
walks the flattened (instance, replicate) pairs in chunks sized by the memory budget and
averages over replicates, so results do not depend on the chunk size.
"""
from __future__ import annotations

import sys
from typing import Any, Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import engine
from .._validation import check_choice, check_int, fail
from ..explainer import Explainer
from ..result import SurvResult

PointsFn = Callable[[torch.Tensor, torch.Tensor], tuple[list[torch.Tensor], list[torch.Tensor]]]


def prepare(explainer: Any, x: Any, instance: Any, target: Any, batch_size: Any, where: str):
    """Shared argument checks; returns the rows to explain, their ids and feature names."""
    if not isinstance(explainer, Explainer):
        fail("explainer", where, "an Explainer built by survinng_py.explain()", type(explainer).__name__)
    explainer.model.check_target(target, where)
    if batch_size is not None:
        check_int(batch_size, "batch_size", where)
    return explainer.points(x, instance, where)


def attribute(explainer: Explainer, inputs: list[torch.Tensor], *, target: str, n_reps: int,
              make_points: PointsFn, times_input: bool, batch_size: int | None,
              progress: bool | None) -> tuple[list[np.ndarray], np.ndarray]:
    """Mean over replicates of J(point) (times the method's factor if ``times_input``).

    Also returns the mean over replicates of the target at the points, ``(N, E, T)``
    (the prediction itself when the points are the instances).
    """
    model = explainer.model
    n = inputs[0].shape[0]
    total = n * n_reps
    chunk = batch_size or engine.rows_per_batch(model, inputs, target, explainer.memory_budget)
    if chunk >= n_reps:
        chunk -= chunk % n_reps  # whole instances per batch: their sums are contiguous
    sums, value_sum = None, None
    starts = range(0, total, chunk)
    show = progress if progress is not None else (sys.stderr.isatty() and len(starts) > 1)
    for start in tqdm(starts, disable=not show, desc="points", unit="batch"):
        flat = torch.arange(start, min(total, start + chunk), device=model.device)
        rows, reps = flat // n_reps, flat % n_reps
        points, factors = make_points(rows, reps)
        value, jacobians = engine.jacobian(model, points, target)
        if sums is None:
            sums = [j.new_zeros((n, *j.shape[1:])) for j in jacobians]
            value_sum = value.new_zeros((n, *value.shape[1:]))
        _add_by_instance(value_sum, value, rows, reps, n_reps)
        for total_k, jac, factor in zip(sums, jacobians, factors):
            if times_input:
                jac = jac * factor.reshape(*factor.shape, 1, 1)
            _add_by_instance(total_k, jac, rows, reps, n_reps)
    return [(s / n_reps).cpu().numpy() for s in sums], (value_sum / n_reps).cpu().numpy()


def _add_by_instance(total: torch.Tensor, contrib: torch.Tensor, rows: torch.Tensor,
                     reps: torch.Tensor, n_reps: int) -> None:
    """``total[rows] += contrib`` for a chunk of consecutive (instance, replicate) pairs."""
    if int(reps[0]) == 0 and len(rows) % n_reps == 0:  # whole instances: reshape and slice
        first = int(rows[0])
        per_instance = contrib if n_reps == 1 else contrib.reshape(
            -1, n_reps, *contrib.shape[1:]).sum(1)
        total[first:first + len(rows) // n_reps] += per_instance
    else:
        total.index_add_(0, rows, contrib)


def predict(explainer: Explainer, inputs: list[torch.Tensor], target: str) -> np.ndarray:
    return engine.predict(explainer.model, inputs, target, explainer.memory_budget).cpu().numpy()


def make_rng(seed: Any, where: str) -> np.random.Generator:
    if seed is None or isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng(seed)
    if isinstance(seed, np.random.Generator):
        return seed
    fail("seed", where, "None, an integer or a numpy.random.Generator", seed)


def seed_label(seed: Any) -> Any:
    """How a seed is recorded in a result's arguments."""
    return seed if seed is None or isinstance(seed, (int, np.integer)) else "Generator"


def path_points(xs: list[torch.Tensor], refs: list[torch.Tensor], alpha: torch.Tensor):
    """Points ``r + alpha (x - r)`` and factors ``x - r`` for rows of x and their references."""
    points, deltas = [], []
    for x, r in zip(xs, refs):
        delta = x - r
        points.append(r + alpha.reshape(-1, *[1] * (x.dim() - 1)) * delta)
        deltas.append(delta)
    return points, deltas


def check_flag(value: Any, arg: str, where: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        fail(arg, where, "True or False", value)
    return bool(value)


def build_result(explainer: Explainer, inputs: list[torch.Tensor], ids: np.ndarray,
                 names: list[list[str]], values: list[np.ndarray], *, method: str, target: str,
                 args: dict, pred: np.ndarray, **preds: np.ndarray | None) -> SurvResult:
    model = explainer.model
    num_risks = model.num_risks(inputs)
    return SurvResult(values, pred=pred, time=model.time, feature_names=names,
                      input_names=_input_names(explainer, len(inputs)),
                      event_names=model.event_names(target, num_risks), instance=ids,
                      method=method, model_class=model.model_class, target=target,
                      args={"dtype": str(model.dtype).replace("torch.", ""), **args}, **preds)


def _input_names(explainer: Explainer, n_inputs: int) -> list[str]:
    names = explainer.input_names
    return names if len(names) == n_inputs else [f"input_{k + 1}" for k in range(n_inputs)]


def background(explainer: Explainer, arg: str, where: str) -> list[torch.Tensor]:
    if explainer.data is None:
        fail(arg, where, "given when the explainer has no `data` (explain(model, data))", None)
    return explainer.data


__all__ = ["prepare", "attribute", "predict", "make_rng", "check_flag", "build_result",
           "background", "check_choice", "seed_label", "path_points"]
