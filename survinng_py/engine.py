"""Vectorised Jacobians of a survival target over the whole time grid.

For a batch of points the engine returns d target(event, t) / d input for every event
and time at once, with the chain rule J = J_head . J_net:

* **reverse mode** (``K`` = network outputs per network row is small, e.g. 1 for
  DeepSurv and CoxTime): one backward pass per network output column (vectorised with
  ``is_grads_batched``) gives J_net for all rows; CoxTime's rows ``(x, tau_j)`` are
  separate network rows, so one pass serves every time point;
* **forward mode** (``D`` = input elements per instance < ``K``, e.g. tabular DeepHit):
  ``D`` Jacobian-vector products through network and head.

Jacobian-vector products are taken as the derivative of a vector-Jacobian product with
respect to its cotangent (reverse over reverse): one backward pass that keeps its graph,
then the ``D`` products in one vectorised pass. On small networks this is several times
faster than torch's forward-mode AD, whose per-op overhead dominates. The head's
contribution is pushed forward the same way, so its Jacobian is never materialised.
There is no loop over time points. Rows are independent (the network is in eval mode),
so results do not depend on how points are batched.
"""
from __future__ import annotations

import math
import warnings
from typing import Literal

import torch

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
        mode = "forward" if profile["n_in"] < profile["width"] else "reverse"
        if mode == "forward" and model.forward_mode_ok is None:
            model.forward_mode_ok = _forward_mode_agrees(model, inputs, target)
        if not model.forward_mode_ok:
            mode = "reverse"
    value, tangents = (_forward if mode == "forward" else _reverse)(model, inputs, target)
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


def _forward_mode_agrees(model, inputs, target) -> bool:
    """Check once per model, on two rows, that reverse-over-reverse works for its network.

    Ops without a double backward (custom ``once_differentiable`` kernels, some fused
    RNNs) either raise or, worse, silently return zeros; reverse mode needs neither.
    """
    rows = [x[:2] for x in inputs]
    try:
        forward = _forward(model, rows, target)[1]
    except (NotImplementedError, RuntimeError):
        return False
    reverse = _reverse(model, rows, target)[1]
    scale = reverse.abs().max().clamp_min(torch.finfo(reverse.dtype).tiny)
    return bool(((forward - reverse).abs().max() / scale) < 1e-3)


def _forward(model, inputs, target):
    sizes = [x[0].numel() for x in inputs]
    eye = torch.eye(sum(sizes), dtype=inputs[0].dtype, device=inputs[0].device)
    basis = [eye[:, off:off + s].reshape(-1, 1, *x.shape[1:]).expand(-1, *x.shape)
             for off, s, x in zip(_offsets(sizes), sizes, inputs)]
    return push_forward(lambda xs: model.forward(xs, target), inputs, basis)


def push_forward(fn, primals: list[torch.Tensor], tangents: list[torch.Tensor]):
    """``fn(primals)`` and its Jacobian-vector products for ``D`` stacked tangents.

    ``tangents[k]`` has shape ``(D, *primals[k].shape)``; returns the value and the
    products, shape ``(D, *value.shape)``. The vector-Jacobian product ``u -> J^T u`` is
    linear in ``u``; its derivative along ``v`` with respect to ``u`` is ``J v``.
    """
    with torch.enable_grad():
        xs = [p.detach().requires_grad_(True) for p in primals]
        out = fn(xs)
        u = torch.zeros_like(out, requires_grad=True)
        vjps = torch.autograd.grad(out, xs, u, create_graph=True, allow_unused=True)
        used = [(g, t) for g, t in zip(vjps, tangents) if g is not None and g.requires_grad]
        jv = None
        if used:
            jv = torch.autograd.grad([g for g, _ in used], u, [t for _, t in used],
                                     is_grads_batched=True, allow_unused=True)[0]
    if jv is None:  # the output does not depend on the inputs
        jv = out.new_zeros((tangents[0].shape[0], *out.shape))
    return out.detach(), jv


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
    return push_forward(lambda ps: model.head(ps[0], target), [phi], [torch.cat(net_tangents)])


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
