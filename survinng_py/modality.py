"""Modality-level contributions over time for multi-input (multimodal) models.

Two views, both returned as a :class:`SurvResult` whose single "input" is the set of
modalities (feature names = the network's input names), so tables, Arrow files and plots
work as for any result:

* :func:`modality_shapley` — exact Shapley values of the modalities: the target is
  evaluated with every subset of modalities taken from ``x`` and the others from a
  reference (2^M subsets for M inputs, all in batched forward passes, all time points at
  once). Efficiency is exact: the values sum to ``pred - pred_ref``.
* :func:`modality_totals` — a gradient result (e.g. GradSHAP(t), IntGrad(t)) summed per
  input; the completeness gap is what remains of ``pred_diff``.

:func:`modality_shares` turns either into percentage shares of the absolute
contributions, per instance or averaged over a cohort (the figure of the hip-fracture
study, seed 003).
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from . import engine
from ._shares import modality_shares as modality_shares
from ._shares import modality_totals as modality_totals
from ._validation import check_int, fail
from .methods._core import _input_names, build_result, make_rng, prepare, reference_rows, seed_label
from .methods.registry import register_method
from .result import SurvResult

if TYPE_CHECKING:
    from .explainer import Explainer


def modality_shapley(
    explainer: Explainer,
    x: Any = None,
    *,
    instance: Any = None,
    target: str = "survival",
    data_ref: Any = None,
    num_samples: int | None = None,
    seed: int | np.random.Generator | None = None,
) -> SurvResult:
    """Exact Shapley values of the network's inputs (modalities) over time.

    The value of a subset S of modalities is the target with the modalities in S taken
    from the instance and the others from a reference row, averaged over references:
    by default the single mean row of the explainer data (element-wise mean per input);
    with ``num_samples`` that many rows drawn from ``data_ref`` (default: the explainer
    data) without replacement (with replacement if the pool is smaller), shared by all
    instances.

    Parameters
    ----------
    explainer : Explainer
        From :func:`survinng_py.explain`; each network input is one modality.
    x : array, DataFrame, tensor or list of them, optional
        New rows to explain, one array per input.
    instance : int or sequence of int, optional
        0-based rows of the explainer data. Give exactly one of ``x`` and ``instance``.
    target : str
        A target of the model family.
    data_ref : array, DataFrame, tensor or list of them, optional
        The pool of reference rows (default: the explainer data).
    num_samples : int, optional
        Reference rows drawn from the pool; by default the pool's mean row is the one
        reference.
    seed : int or numpy.random.Generator, optional
        Seed of the reference draws.

    Returns
    -------
    SurvResult
        ``values[0]`` of shape ``(instance, modality, event, time)`` with feature names
        = input names; ``pred``, ``pred_ref`` (all modalities at the reference) and
        ``pred_diff``; ``sum over modalities == pred_diff`` up to rounding.

    Raises
    ------
    SurvinngError
        One line naming the argument, before any prediction: as the gradient methods
        (rows, target), and for a ``num_samples`` below 1.

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
    >>> res = sv.modality_shapley(exp, instance=[0, 1])
    >>> res.feature_names, bool(np.allclose(res.values[0].sum(1), res.pred_diff))
    ([['image', 'table']], True)
    """
    where = "modality_shapley()"
    inputs, ids, _ = prepare(explainer, x, instance, target, None, where, gradients=False)
    n_inputs = len(inputs)
    if n_inputs > 12:
        fail(
            "explainer",
            where,
            "a model with at most 12 inputs (2^M subsets are evaluated)",
            n_inputs,
        )
    pool = reference_rows(explainer, data_ref, "data_ref", where)
    if num_samples is None:
        refs = [p.mean(dim=0, keepdim=True) for p in pool]
    else:
        num_samples = check_int(num_samples, "num_samples", where)
        size = pool[0].shape[0]
        rows = make_rng(seed, where).choice(size, num_samples, replace=num_samples > size)
        index = torch.as_tensor(rows, device=inputs[0].device)
        refs = [p.index_select(0, index) for p in pool]
    subsets = np.array(list(itertools.product([0, 1], repeat=n_inputs)), dtype=bool)  # (2^M, M)
    values = _subset_values(explainer, inputs, refs, subsets, target)  # (N, 2^M, E, T)
    shapley = exact_shapley(subsets)(values).numpy()
    full, empty = values[:, -1].numpy(), values[:, 0].numpy()
    args = {
        "target": target,
        "instance": ids.tolist(),
        "reference": "mean" if num_samples is None else "sampled",
        "num_samples": num_samples,
        "seed": seed_label(seed),
    }
    result = build_result(
        explainer,
        inputs,
        ids,
        [_input_names(explainer, n_inputs)],
        [shapley],
        method=SHAPLEY.id,
        target=target,
        args=args,
        pred=full,
        pred_ref=empty,
        pred_diff=full - empty,
    )
    result.input_names = ["modalities"]  # one "input" whose features are the modalities
    return result


# in the method table for its label and the R bridge; not a gradient method, so not offered
# by the command line's explain
SHAPLEY = register_method(
    modality_shapley,
    name="modality_shapley",
    id="Modality_Shapley",
    labels="modality Shapley(t)",
    long_labels="Modality Shapley",
    cli=False,
    options={
        "data_ref": "the reference pool (default: the explainer data)",
        "num_samples": "references drawn from the pool (default: its mean row)",
        "seed": "seed of the reference draws",
    },
    seed_option="seed",
)


def _subset_values(explainer, inputs, refs, subsets, target) -> torch.Tensor:
    """Mean over references of the target for every instance and subset: (N, 2^M, E, T).

    The rows of an instance (subsets x references) are built for as many instances at
    once as one prediction batch holds."""
    n, n_sub, n_ref = inputs[0].shape[0], len(subsets), refs[0].shape[0]
    per_instance = n_sub * n_ref
    model, budget = explainer.model, explainer.memory_budget
    chunk = max(1, engine.predict_rows(model, inputs, budget) // per_instance)
    takes = [
        torch.as_tensor(subsets[:, k], device=x.device)
        .repeat_interleave(n_ref)
        .reshape(1, per_instance, *[1] * (x.dim() - 1))
        for k, x in enumerate(inputs)
    ]
    ref_rows = [r.repeat(n_sub, *[1] * (r.dim() - 1)).unsqueeze(0) for r in refs]
    out = []
    for start in range(0, n, chunk):
        rows = [x[start : start + chunk].unsqueeze(1) for x in inputs]
        mixed = [torch.where(take, x, r).flatten(0, 1) for take, x, r in zip(takes, rows, ref_rows)]
        pred = engine.predict(model, mixed, target, budget)
        out.append(pred.reshape(-1, n_sub, n_ref, *pred.shape[1:]).mean(2))
    return torch.cat(out).cpu()


def exact_shapley(subsets: np.ndarray):
    """A function from the values of all subsets of players, ``(n, 2^M, E, T)`` with rows
    in ``itertools.product([0, 1], repeat=M)`` order, to their Shapley values
    ``(n, M, E, T)``: sums of weighted marginal contributions v(S + i) - v(S), exactly 0
    where adding i changes nothing (an ignored player, or S(0) = 1), which +/- weights on
    v(S) are not; one player at a time keeps the differences at half the size of the
    values. Used for modalities here and for features by SurvSHAP(t).

    Parameters
    ----------
    subsets : numpy.ndarray
        Boolean ``(2^M, M)``: the players in each subset, in ``itertools.product`` order.

    Returns
    -------
    callable
        Maps subset values ``(n, 2^M, E, T)`` (a torch tensor) to Shapley values
        ``(n, M, E, T)``.

    Examples
    --------
    >>> import itertools, numpy as np, torch
    >>> from survinng_py.modality import exact_shapley
    >>> subsets = np.array(list(itertools.product([0, 1], repeat=2)), dtype=bool)
    >>> v = torch.tensor([0.0, 1.0, 2.0, 4.0], dtype=torch.float64).reshape(1, 4, 1, 1)
    >>> exact_shapley(subsets)(v).flatten().tolist()  # v({}), v({2}), v({1}), v({1, 2})
    [2.5, 1.5]
    """
    without, with_, weights = _marginal_pairs(subsets)

    def combine(values: torch.Tensor) -> torch.Tensor:
        return torch.stack(
            [
                torch.einsum(
                    "s,nset->net",
                    torch.as_tensor(w, dtype=values.dtype),
                    values[:, on] - values[:, off],
                )
                for off, on, w in zip(without, with_, weights)
            ],
            dim=1,
        )

    return combine


def _marginal_pairs(subsets: np.ndarray):
    """Per modality i, the subsets S without i, the same subsets with i, and the Shapley
    weights ``|S|! (M - |S| - 1)! / M!``: three ``(M, 2^(M-1))`` arrays. Subset rows are
    ``itertools.product([0, 1], repeat=M)``, so adding i adds ``2^(M-1-i)`` to the row."""
    n_inputs = subsets.shape[1]
    without = np.stack([np.flatnonzero(~subsets[:, i]) for i in range(n_inputs)])
    with_ = without + (2 ** (n_inputs - 1 - np.arange(n_inputs)))[:, None]
    sizes = subsets[without].sum(-1)
    weights = np.array(
        [[math.factorial(k) * math.factorial(n_inputs - k - 1) for k in row] for row in sizes]
    ) / math.factorial(n_inputs)
    return without, with_, weights
