"""Vectorised Jacobians of a survival target over the whole time grid.

For a batch of points the engine returns d target(event, t) / d input for every event
and time at once, with the chain rule J = J_head . J_net:

* **reverse mode** (``K`` = network outputs per network row is small, e.g. 1 for
  DeepSurv and CoxTime): one backward pass per network output column (vectorised with
  ``is_grads_batched``) gives J_net for all rows; CoxTime's rows ``(x, tau_j)`` are
  separate network rows, so one pass serves every time point;
* **forward mode** (``D`` = input elements per instance < ``K``, e.g. tabular DeepHit):
  ``D`` Jacobian-vector products through network and head, vectorised with ``vmap``.

The head's contribution is always pushed forward with ``jvp``, so its Jacobian is never
materialised. There is no loop over time points. Rows are independent (the network is
in eval mode), so results do not depend on how points are batched.
"""
from __future__ import annotations

import math
import warnings
from typing import Literal

import torch
from torch.func import jvp, vmap

from .models.base import SurvivalModel

Mode = Literal["auto", "forward", "reverse"]
DEFAULT_MEMORY_BUDGET = 256 * 2**20  # bytes per batch of points


def predict(model: SurvivalModel, inputs: list[torch.Tensor], target: str,
            memory_budget: int = DEFAULT_MEMORY_BUDGET) -> torch.Tensor:
    """Target ``(N, event, time)`` at ``inputs``, without gradients, in batches."""
    n = inputs[0].shape[0]
    step = max(1, memory_budget // _profile(model, inputs)["bytes_forward"])
    with torch.no_grad():
        parts = [model.forward([x[i:i + step] for x in inputs], target) for i in range(0, n, step)]
    return torch.cat(parts) if parts else torch.empty(0)


def jacobian(model: SurvivalModel, inputs: list[torch.Tensor], target: str,
             mode: Mode = "auto") -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Target and its Jacobian at every point.

    Returns ``value`` of shape ``(B, E, T)`` and, per input ``k``, an array of shape
    ``(B, *dims_k, E, T)``.
    """
    profile = _profile(model, inputs)
    if mode == "auto":
        mode = "forward" if profile["n_in"] < profile["width"] and model.forward_ad_ok else "reverse"
    if mode == "forward":
        try:
            value, tangents = _forward(model, inputs, target)
        except NotImplementedError:  # an op of the network has no forward-mode AD
            model.forward_ad_ok = False
            value, tangents = _reverse(model, inputs, target)
    else:
        value, tangents = _reverse(model, inputs, target)
    return value, _split(tangents, inputs)


def rows_per_batch(model: SurvivalModel, inputs: list[torch.Tensor], target: str,
                   memory_budget: int = DEFAULT_MEMORY_BUDGET) -> int:
    """How many points fit in ``memory_budget`` bytes during :func:`jacobian`."""
    p = _profile(model, inputs)
    n_out = max(len(model.time), p["width"])  # events x times of the target, at most
    fan = min(p["n_in"], p["width"])  # tangents carried through the network
    elems = (3 * p["n_in"] * n_out + 2 * p["n_in"] * p["width"] * model.rows_per_instance
             + (1 + fan) * p["activations"])
    return max(1, memory_budget // (elems * p["itemsize"]))


def _forward(model, inputs, target):
    sizes = [x[0].numel() for x in inputs]
    eye = torch.eye(sum(sizes), dtype=inputs[0].dtype, device=inputs[0].device)
    basis = tuple(eye[:, off:off + s].reshape(-1, 1, *x.shape[1:]).expand(-1, *x.shape)
                  for off, s, x in zip(_offsets(sizes), sizes, inputs))

    def push(*tangent):
        return jvp(lambda *xs: model.forward(list(xs), target), tuple(inputs), tangent)

    value, tangents = vmap(push, out_dims=(None, 0))(*basis)
    return value, tangents


def _reverse(model, inputs, target):
    n, m = inputs[0].shape[0], model.rows_per_instance
    with torch.enable_grad():
        rows = [x.detach().requires_grad_(True) for x in model.expand(inputs)]
        out = model.net_forward(rows)
        width = out.shape[1]
        if width == 1:
            grads = torch.autograd.grad(out.sum(), rows, allow_unused=True)
            grads = [None if g is None else g.unsqueeze(0) for g in grads]
        else:
            cotangent = torch.eye(width, dtype=out.dtype, device=out.device)[:, None, :]
            with warnings.catch_warnings():  # vmap fallbacks are slow but correct
                warnings.simplefilter("ignore", UserWarning)
                grads = torch.autograd.grad(out, rows, cotangent.expand(width, *out.shape),
                                            is_grads_batched=True, allow_unused=True)
    # d phi[b, j*width + k] / d x[b, d]  as tangents (D, B, M*width) of the head's input
    phi = out.detach().reshape(n, m * width)
    net_tangents = []
    for g, x in zip(grads, inputs):
        size = x[0].numel()
        if g is None:
            net_tangents.append(phi.new_zeros(size, n, m * width))
            continue
        g = g.reshape(width, n, m, size).permute(3, 1, 2, 0)
        net_tangents.append(g.reshape(size, n, m * width))
    head = lambda p: model.head(p, target)  # noqa: E731
    value = head(phi)
    tangents = vmap(lambda t: jvp(head, (phi,), (t,))[1])(torch.cat(net_tangents))
    return value, tangents


def _split(tangents: torch.Tensor, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    """(D, B, E, T) -> per input (B, *dims, E, T)."""
    sizes = [x[0].numel() for x in inputs]
    out = []
    for off, size, x in zip(_offsets(sizes), sizes, inputs):
        part = tangents[off:off + size].movedim(0, 1)  # (B, size, E, T)
        out.append(part.reshape(*x.shape, *tangents.shape[-2:]))
    return out


def _offsets(sizes):
    return [sum(sizes[:k]) for k in range(len(sizes))]


def _profile(model: SurvivalModel, inputs: list[torch.Tensor]) -> dict:
    """Network output width, input size and activation count per instance (cached)."""
    key = tuple(tuple(x.shape[1:]) for x in inputs)
    cache = model.profiles
    if key not in cache:
        activations = []
        hooks = [mod.register_forward_hook(lambda _m, _i, o: activations.append(
            o.numel() if isinstance(o, torch.Tensor) else 0)) for mod in model.net.modules()]
        try:
            with torch.no_grad():
                out = model.net_forward(model.expand([x[:1] for x in inputs]))
        finally:
            for h in hooks:
                h.remove()
        m = model.rows_per_instance
        n_in = sum(math.prod(k) for k in key)
        act = sum(activations) + m * n_in
        itemsize = inputs[0].element_size()
        cache[key] = {"width": out.shape[1], "n_in": n_in, "activations": act,
                      "itemsize": itemsize,
                      "bytes_forward": itemsize * (act + 4 * m * out.shape[1] + 4 * len(model.time))}
    return cache[key]
