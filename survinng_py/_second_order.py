"""Second derivatives of a survival target over the whole time grid (Hessian(t), Integrated
Hessians(t)).

For a batch of points and one chosen input ``x`` (``p`` features, flattened) this module
returns d target(event, t) / d x_i and d^2 target(event, t) / d x_i d x_j for every event
and time at once. It uses only the model's public contract (``forward``, and
``expand``/``net_forward``/``head`` for the factored form) and ``torch.func``:

* **forward** (forward-over-forward): one pair of Jacobian-vector products per feature
  pair ``(i, j)``, each giving every event and time of the target; the cheapest where
  there are fewer features than outputs (CoxTime, DeepHit);
* **reverse** (forward-over-reverse): ``jvp`` of ``jacrev`` along unit tangents, one
  backward pass per output and feature; for many features and few outputs;
* **factored**, where the head takes few numbers per instance (``MK^2 <= E*T``, e.g.
  DeepSurv, whose head reads one log-risk ``g``): with ``phi`` the network output per
  instance and ``h`` the head, the chain rule of second order is

      d^2 f / dx^2 = sum_a dh/dphi_a d^2 phi_a / dx^2 + J^T (d^2 h / dphi^2) J,  J = dphi/dx,

  so second derivatives go through the network only ``MK`` times (DeepSurv:
  ``dS/dg * Hess g + d^2S/dg^2 * grad g grad g^T``) and the head's small Hessian is
  taken once per point.

All are vectorised with ``vmap`` over points and over the tangents of a block of rows.
Points are walked in chunks sized by the explainer's memory budget; where one point's
second derivatives do not fit, the rows ``i`` of the Hessian are taken in blocks. There is
no Python loop over time points or feature pairs. Rows are independent (the network is in
eval mode), so results do not depend on the batching beyond rounding.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Literal

import torch
from torch.func import jacfwd, jacrev, jvp, vmap

from . import engine
from .models.base import SurvivalModel

#: (instance rows, replicate ids) -> the points of the chosen input and of the others
PointsFn = Callable[[torch.Tensor, torch.Tensor], list[torch.Tensor]]


Mode = Literal["factored", "forward", "reverse"]


def choose_mode(
    model: SurvivalModel | TimeJoined, inputs: list[torch.Tensor], k: int, n_out: int
) -> Mode:
    """The cheapest way to the second derivatives, by the work per point:

    * ``"factored"`` where the head's Hessian (``n_out x MK x MK``) is no larger than the
      target's Jacobian per head input would be (DeepSurv: ``MK = 1``);
    * ``"forward"`` (forward-over-forward: one forward pass per feature pair, each giving
      every time point) where there are fewer features than outputs, ``p <= n_out``;
    * ``"reverse"`` (forward-over-reverse: one backward pass per output and feature)
      otherwise."""
    with torch.no_grad():
        mk = model.net_forward(model.expand([x[:1] for x in inputs])).numel()
    if mk * mk <= n_out:
        return "factored"
    return "forward" if inputs[k][0].numel() <= n_out else "reverse"


def derivatives(
    model: SurvivalModel | TimeJoined,
    points: list[torch.Tensor],
    k: int,
    target: str,
    rows: torch.Tensor,
    mode: Mode,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradient ``(N, p, E, T)`` and Hessian rows ``rows`` ``(N, len(rows), p, E, T)`` of the
    target w.r.t. the (flattened) input ``k`` at ``points``."""
    shape = points[k].shape[1:]
    p = math.prod(shape)
    eye = torch.eye(p, dtype=points[k].dtype, device=points[k].device)
    basis = eye.index_select(0, rows)

    def with_input(xk: torch.Tensor, others: tuple) -> list[torch.Tensor]:
        xs = [o.unsqueeze(0) for o in others]
        xs.insert(k, xk.reshape(1, *shape))
        return xs

    def target_fn(z, rest):
        return model.forward(with_input(z, rest), target)[0]

    def grad_and_rows(fn, xk, others):
        """fn's Jacobian w.r.t. xk, (*out, p), and its rows' derivatives, (blk, *out, p)."""

        def along(v):
            return jvp(lambda z: jacrev(fn)(z, others), (xk,), (v,))

        grads, second = vmap(along)(basis)
        return grads[0], second

    def forward_pairs(xk, others):
        """Forward over forward, one pair (i in rows, j) per tangent pair: the gradient from
        the inner products along e_j, the Hessian rows from the outer ones along e_i."""

        def pair(u, v):
            return jvp(lambda z: jvp(lambda w: target_fn(w, others), (z,), (v,))[1], (xk,), (u,))

        first, second = vmap(vmap(pair, (None, 0)), (0, None))(basis, eye)  # (blk, p, *out)
        return first[0].movedim(0, -1), second.movedim(1, -1)

    def one_point(xk, *others):
        if mode == "forward":
            return forward_pairs(xk, others)
        if mode == "reverse":
            return grad_and_rows(target_fn, xk, others)

        def phi_fn(z, rest):
            return model.net_forward(model.expand(with_input(z, rest))).reshape(-1)

        def head_fn(phi):
            return model.head(phi.unsqueeze(0), target)[0]

        g_phi, h_phi = grad_and_rows(phi_fn, xk, others)  # (MK, p), (blk, MK, p)
        phi = phi_fn(xk, others)
        head = jacrev(head_fn)(phi)  # (*out, MK)
        curvature = jacfwd(jacrev(head_fn))(phi)  # (*out, MK, MK)
        grad = torch.tensordot(head, g_phi, dims=1)  # (*out, p)
        # sum_a head_a Hphi_a + (J^T G J) restricted to the rows
        first = torch.einsum("...a,bap->b...p", head, h_phi)
        left = g_phi.index_select(1, rows)  # (MK, blk)
        second = torch.einsum("ab,...ac,cp->b...p", left, curvature, g_phi)
        return grad, first + second

    others = [x for j, x in enumerate(points) if j != k]
    with torch.enable_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="There is a performance drop")
        grad, second = vmap(one_point)(points[k].reshape(-1, p), *others)
    # (N, *out, p) -> (N, p, *out); (N, blk, *out, p) -> (N, blk, p, *out)
    return grad.movedim(-1, 1), second.movedim(-1, 2)


def block_sizes(
    model: SurvivalModel, inputs: list[torch.Tensor], target: str, p: int, memory_budget: int
) -> tuple[int, int]:
    """(points per chunk, Hessian rows per block) within ``memory_budget`` bytes.

    A point with a block of ``b`` rows costs about ``4 b`` first-order points, sized by
    :func:`engine.rows_per_batch`: a first-order point carries about ``p`` tangents through
    the network, a block ``b p`` pairs of them, each with a primal, two tangents and their
    product."""
    first_order = engine.rows_per_batch(model, inputs, target, memory_budget)
    rows = max(1, min(p, first_order // 4))
    return max(1, first_order // (4 * rows)), rows


def accumulate(
    model: SurvivalModel | TimeJoined,
    inputs: list[torch.Tensor],
    k: int,
    target: str,
    *,
    n_reps: int,
    make_points: PointsFn,
    grad_weight: Callable[[torch.Tensor], torch.Tensor] | None,
    hess_weight: Callable[[torch.Tensor], torch.Tensor],
    batch_size: int | None,
    memory_budget: int,
) -> tuple[torch.Tensor | None, torch.Tensor]:
    """Weighted sums over each instance's ``n_reps`` points of the gradient and the
    Hessian w.r.t. input ``k``: ``(n, p, E, T)`` (None without ``grad_weight``) and
    ``(n, p, p, E, T)``, the latter symmetrised (forward-over-reverse is symmetric up to
    rounding; the mean of both halves is exactly so).

    ``make_points(instance_rows, replicate_ids)`` gives the points, ``*_weight(replicate_ids)``
    the weight of each point's term."""
    n = inputs[0].shape[0]
    p = inputs[k][0].numel()
    with torch.no_grad():
        out_shape = model.forward([x[:1] for x in inputs], target).shape[1:]
    mode = choose_mode(model, inputs, k, math.prod(out_shape))
    if isinstance(model, TimeJoined):  # sized as the model's own inputs (one feature less)
        chunk, block = block_sizes(model.model, model.split(inputs), target, p, memory_budget)
    else:
        chunk, block = block_sizes(model, inputs, target, p, memory_budget)
    if batch_size is not None:
        chunk = batch_size
    dtype, device = inputs[0].dtype, inputs[0].device
    hess = torch.zeros((n, p, p, *out_shape), dtype=dtype, device=device)
    grad = (
        None if grad_weight is None else torch.zeros((n, p, *out_shape), dtype=dtype, device=device)
    )
    total = n * n_reps
    for start in range(0, total, chunk):
        flat = torch.arange(start, min(total, start + chunk), device=device)
        owner, reps = flat // n_reps, flat % n_reps
        points = make_points(owner, reps)
        w_h = hess_weight(reps).reshape(-1, 1, 1, *[1] * len(out_shape))
        for first in range(0, p, block):
            rows = torch.arange(first, min(p, first + block), device=device)
            g, h = derivatives(model, points, k, target, rows, mode)
            hess[:, first : first + len(rows)].index_add_(0, owner, h * w_h)
            if grad is not None and grad_weight is not None and first == 0:
                w_g = grad_weight(reps).reshape(-1, 1, *[1] * len(out_shape))
                grad.index_add_(0, owner, g * w_g)
    return grad, (hess + hess.transpose(1, 2)) / 2


class TimeJoined:
    """A model with a time handle (its last input, made by ``with_time_input``) seen with
    the handle joined to input ``k`` as one more, last feature, so that the time pairs
    with that input's features in the Hessian. Everything else is the model's own."""

    def __init__(self, model: SurvivalModel, k: int, shape: torch.Size):
        self.model, self.k, self.shape = model, k, shape

    def __getattr__(self, name: str):
        return getattr(self.model, name)

    def join(self, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
        """The inputs with the handle (last) joined to input ``k`` (flattened)."""
        *inputs, handle = inputs
        flat = inputs[self.k].reshape(len(handle), -1)
        return [*inputs[: self.k], torch.cat([flat, handle], 1), *inputs[self.k + 1 :]]

    def split(self, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
        """The model's own inputs from joined ones (the inverse of :meth:`join`)."""
        joined = inputs[self.k]
        xk = joined[:, :-1].reshape(len(joined), *self.shape)
        return [*inputs[: self.k], xk, *inputs[self.k + 1 :], joined[:, -1:]]

    def expand(self, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
        return self.model.expand(self.split(inputs))

    def forward(self, inputs: list[torch.Tensor], target: str) -> torch.Tensor:
        return self.model.forward(self.split(inputs), target)


def choose_input(explainer, inputs: list[torch.Tensor], input, where: str) -> int:
    """The position of the input whose features are paired (an index or an input name)."""
    from ._validation import fail

    names = explainer.input_names if len(explainer.input_names) == len(inputs) else []
    if isinstance(input, str) and input in names:
        return names.index(input)
    if isinstance(input, int) and not isinstance(input, bool) and 0 <= input < len(inputs):
        return input
    fail(
        "input",
        where,
        f"an input index below {len(inputs)}" + (f" or one of {names}" if names else ""),
        input,
    )


def pair_labels(names: list[str]) -> tuple[list[str], list[list[str]]]:
    """Row-major labels ``"a:b"`` of the (feature, feature) axes and their pairs."""
    pairs = [[a, b] for a in names for b in names]
    return [f"{a}:{b}" for a, b in pairs], pairs
