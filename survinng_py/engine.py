"""Vectorised Jacobians of a survival target over the whole time grid.

For a batch of points the engine returns d target(event, t) / d input for every event
and time at once, with the chain rule J = J_head . J_net:

* **reverse mode** (``K`` = network outputs per network row is small, e.g. 1 for
  DeepSurv and CoxTime): one backward pass per network output column (vectorised with
  ``torch.func.vmap``) gives J_net for all rows; CoxTime's rows ``(x, tau_j)`` are
  separate network rows, so one pass serves every time point. The head's input per
  instance has ``MK`` = (network rows per instance) x ``K`` elements. If ``MK`` is below
  the input size ``D``, the head's own Jacobian ``H`` (``MK`` columns) is taken and
  ``J = J_net . H`` is one batched matrix product -- or, for methods that average over
  many points per instance, never formed at all (:func:`jacobian_factors`); otherwise
  the ``D`` columns of J_net are pushed through the head;
* **forward mode** (``D`` < ``K``, e.g. tabular DeepHit): ``D`` Jacobian-vector products
  through network and head.

Jacobian-vector products are taken as the derivative of a vector-Jacobian product with
respect to its cotangent (reverse over reverse): one backward pass that keeps its graph,
then the ``D`` products in one vectorised pass. On small networks this is several times
faster than torch's forward-mode AD, whose per-op overhead dominates. There is no loop
over time points. Rows are independent (the network is in eval mode), so results do not
depend on how points are batched.
"""

from __future__ import annotations

import math
import warnings
import weakref
from typing import Literal

import torch

from .models.base import SurvivalModel

Mode = Literal["auto", "forward", "reverse"]
DEFAULT_MEMORY_BUDGET = 256 * 2**20  # bytes per batch of points
#: most rows per no-grad batch: beyond a few thousand rows a batch only loses cache
#: locality (modality Shapley on 400k rows: ~2x slower in 30k-200k-row batches than in
#: 6k-row ones, for an MLP and for a CNN + GRU network alike)
PREDICT_ROWS_MAX = 8192


def predict(
    model: SurvivalModel,
    inputs: list[torch.Tensor],
    target: str,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> torch.Tensor:
    """Target ``(N, event, time)`` at ``inputs``, without gradients, in batches."""
    n = inputs[0].shape[0]
    step = predict_rows(model, inputs, memory_budget)
    out = None
    with torch.no_grad():
        for i in range(0, n, step):
            part = model.forward([x[i : i + step] for x in inputs], target)
            if step >= n:
                return part
            if out is None:  # filled batch by batch rather than concatenated: no 2nd copy
                out = part.new_empty((n, *part.shape[1:]))
            out[i : i + len(part)] = part
    return out if out is not None else torch.empty(0)


def predict_rows(
    model: SurvivalModel, inputs: list[torch.Tensor], memory_budget: int = DEFAULT_MEMORY_BUDGET
) -> int:
    """How many rows :func:`predict` runs at once within ``memory_budget`` bytes."""
    return max(1, min(PREDICT_ROWS_MAX, memory_budget // _profile(model, inputs)["bytes_forward"]))


def jacobian(
    model: SurvivalModel, inputs: list[torch.Tensor], target: str, mode: Mode = "auto"
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Target and its Jacobian at every point.

    Returns ``value`` of shape ``(B, E, T)`` and, per input ``k``, an array of shape
    ``(B, *dims_k, E, T)``.
    """
    mode = _choose_mode(model, inputs, target, mode)
    if mode == "forward":
        value, tangents = _forward(model, inputs, target)
        return value, _split(tangents, inputs)
    phi, nets = _net_jacobian(model, inputs)
    if _narrow_head(model, inputs):
        value, head = _head_jacobian(model, phi, target)
        return value, [_contract(g, head, value.shape[1:]) for g in nets]
    tangents = torch.cat([g.reshape(g.shape[0], -1, phi.shape[1]).movedim(1, 0) for g in nets])
    value, tangents = push_forward(lambda ps: model.head(ps[0], target), [phi], [tangents])
    return value, _split(tangents, inputs)


def factored(model: SurvivalModel, inputs: list[torch.Tensor], target: str) -> bool:
    """Whether :func:`jacobian` builds J from :func:`jacobian_factors` at these inputs."""
    return _choose_mode(model, inputs, target, "auto") == "reverse" and _narrow_head(model, inputs)


def _narrow_head(model, inputs) -> bool:
    """The head takes fewer numbers per instance (MK) than the inputs hold (D)."""
    prof = _profile(model, inputs)
    return model.rows_per_instance * prof["width"] < prof["n_in"]


def jacobian_factors(
    model: SurvivalModel, inputs: list[torch.Tensor], target: str
) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """The target and its Jacobian in factors, ``J_k = G_k . H``.

    Returns ``value`` ``(B, E, T)``, the head's Jacobian ``H`` of shape ``(B, MK, E*T)``
    and, per input, the network's ``G_k`` of shape ``(B, *dims_k, MK)``: d (head input) /
    d input. Cheaper than :func:`jacobian` when ``MK`` is small (DeepSurv: 1), since a
    method can contract the factors over its points without forming J.
    """
    phi, nets = _net_jacobian(model, inputs)
    value, head = _head_jacobian(model, phi, target)
    return value, head, nets


def rows_per_batch(
    model: SurvivalModel,
    inputs: list[torch.Tensor],
    target: str,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> int:
    """How many points fit in ``memory_budget`` bytes during :func:`jacobian`."""
    p = _profile(model, inputs)
    n_out = max(len(model.time), p["width"])  # events x times of the target, at most
    mk = model.rows_per_instance * p["width"]
    if factored(model, inputs, target):  # the chunk's J (at most), J_net, H, their graphs
        elems = (
            p["n_in"] * n_out + 3 * (p["n_in"] + n_out) * mk + (1 + p["width"]) * p["activations"]
        )
    else:
        fan = min(p["n_in"], p["width"])  # tangents carried through the network
        elems = (
            3 * p["n_in"] * n_out
            + 2 * p["n_in"] * p["width"] * model.rows_per_instance
            + (1 + fan) * p["activations"]
        )
    return max(1, memory_budget // (elems * p["itemsize"]))


def num_risks(model: SurvivalModel, inputs: list[torch.Tensor]) -> int:
    """``model.num_risks(inputs)``, cached with the network profile (it runs the network)."""
    prof = _profile(model, inputs)
    if "num_risks" not in prof:
        prof["num_risks"] = model.num_risks(inputs)
    return prof["num_risks"]


def _choose_mode(model, inputs, target, mode: Mode) -> Mode:
    if mode != "auto":
        return mode
    prof = _profile(model, inputs)
    if prof["n_in"] >= prof["width"]:
        return "reverse"
    cache = _cache(model)
    if cache["forward_mode_ok"] is None:
        cache["forward_mode_ok"] = _forward_mode_agrees(model, inputs, target)
    return "forward" if cache["forward_mode_ok"] else "reverse"


def forward_mode_ok(model: SurvivalModel) -> bool | None:
    """Whether reverse-over-reverse was found to work for ``model`` (None: not checked yet)."""
    return _cache(model)["forward_mode_ok"]


def _forward_mode_agrees(model, inputs, target) -> bool:
    """Check once per model, on two rows, that reverse-over-reverse works for its network.

    Ops without a double backward (custom ``once_differentiable`` kernels, some fused
    RNNs) either raise or, worse, silently return zeros; reverse mode needs neither.
    """
    rows = [x[:2] for x in inputs]
    try:
        forward = _split(_forward(model, rows, target)[1], rows)
    except (NotImplementedError, RuntimeError):
        return False
    reverse = jacobian(model, rows, target, mode="reverse")[1]
    scale = max(float(r.abs().max()) for r in reverse) or torch.finfo(reverse[0].dtype).tiny
    gap = max(float((f - r).abs().max()) for f, r in zip(forward, reverse))
    return gap / scale < 1e-3


def _forward(model, inputs, target):
    sizes = [x[0].numel() for x in inputs]
    eye = torch.eye(sum(sizes), dtype=inputs[0].dtype, device=inputs[0].device)
    basis = [
        eye[:, off : off + s].reshape(-1, 1, *x.shape[1:]).expand(-1, *x.shape)
        for off, s, x in zip(_offsets(sizes), sizes, inputs)
    ]
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
            jv = _vjps([g for g, _ in used], [u], [t for _, t in used])[0]
    if jv is None:  # the output does not depend on the inputs
        jv = out.new_zeros((tangents[0].shape[0], *out.shape))
    return out.detach(), jv


def _vjps(
    outputs: list[torch.Tensor], inputs: list[torch.Tensor], cotangents: list[torch.Tensor]
) -> tuple[torch.Tensor, ...]:
    """``autograd.grad(outputs, inputs, c)`` for each leading slice ``c`` of the cotangents,
    stacked along a new first axis (zeros for inputs the outputs do not reach).

    ``torch.func.vmap`` rather than ``is_grads_batched``: the latter runs on the legacy
    vmap, which loops and stacks for ops without a legacy batching rule (cumsum, flip,
    pad, softmax backward: every DeepHit head).
    """

    def vjp(*cots):
        return torch.autograd.grad(
            outputs, inputs, list(cots), retain_graph=True, materialize_grads=True
        )

    if cotangents[0].shape[0] == 1:  # no vmap set-up for a single product; a dense
        # cotangent (not a stride-0 expansion) keeps the backward matmuls on the fast path
        return tuple(g.unsqueeze(0) for g in vjp(*[c[0].contiguous() for c in cotangents]))
    with warnings.catch_warnings():  # ops without a batching rule loop: slow but correct
        warnings.filterwarnings("ignore", message="There is a performance drop")
        return torch.func.vmap(vjp)(*cotangents)


def _net_jacobian(model, inputs):
    """Head input ``phi`` ``(B, MK)`` and, per input, d phi / d input ``(B, *dims, MK)``."""
    n, m = inputs[0].shape[0], model.rows_per_instance
    with torch.enable_grad():
        rows = [x.detach().requires_grad_(True) for x in model.expand(inputs)]
        out = model.net_forward(rows)
        width = out.shape[1]
        cotangent = torch.eye(width, dtype=out.dtype, device=out.device)[:, None, :]
        grads = _vjps([out], rows, [cotangent.expand(width, *out.shape)])
    nets = []
    for g, x in zip(grads, inputs):  # (K, B*M, *dims) -> (B, *dims, M*K)
        g = g.reshape(width, n, m, -1).permute(1, 3, 2, 0)
        nets.append(g.reshape(*x.shape, m * width))
    return out.detach().reshape(n, m * width), nets


def _head_jacobian(model, phi, target):
    """Target and d target / d phi as ``(B, MK, E*T)``: one unit tangent per column of phi."""
    mk = phi.shape[1]
    eye = torch.eye(mk, dtype=phi.dtype, device=phi.device)[:, None, :].expand(mk, *phi.shape)
    value, head = push_forward(lambda ps: model.head(ps[0], target), [phi], [eye])
    return value, head.reshape(mk, phi.shape[0], -1).movedim(0, 1)


def _contract(net: torch.Tensor, head: torch.Tensor, value_shape) -> torch.Tensor:
    """``(B, *dims, MK)`` . ``(B, MK, E*T)`` -> ``(B, *dims, E, T)``."""
    flat = net.reshape(net.shape[0], -1, net.shape[-1])
    return batched_matmul(flat, head).reshape(*net.shape[:-1], *value_shape)


def batched_matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``torch.bmm``; an outer product (inner size 1, e.g. DeepSurv) as a broadcast
    multiply, which is several times faster than bmm's tiny matrix products."""
    return a * b if a.shape[-1] == 1 else torch.bmm(a, b)


def _split(tangents: torch.Tensor, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    """(D, B, E, T) -> per input (B, *dims, E, T)."""
    sizes = [x[0].numel() for x in inputs]
    out = []
    for off, size, x in zip(_offsets(sizes), sizes, inputs):
        part = tangents[off : off + size].movedim(0, 1)  # (B, size, E, T)
        out.append(part.reshape(*x.shape, *tangents.shape[-2:]))
    return out


def _offsets(sizes):
    return [sum(sizes[:k]) for k in range(len(sizes))]


def _profile(model: SurvivalModel, inputs: list[torch.Tensor]) -> dict:
    """Network output width, input size and activation count per instance (cached)."""
    key = tuple(tuple(x.shape[1:]) for x in inputs)
    cache = _cache(model)["profiles"]
    if key not in cache:
        activations = []
        hooks = [
            mod.register_forward_hook(
                lambda _m, _i, o: activations.append(
                    o.numel() if isinstance(o, torch.Tensor) else 0
                )
            )
            for mod in model.net.modules()
        ]
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
        cache[key] = {
            "width": out.shape[1],
            "n_in": n_in,
            "activations": act,
            "itemsize": itemsize,
            "bytes_forward": itemsize * (act + 4 * m * out.shape[1] + 4 * len(model.time)),
        }
    return cache[key]


#: what the engine learns about each adapter (its network profile per input shape, whether
#: reverse-over-reverse works), kept here rather than on the adapter and dropped with it
_CACHES: weakref.WeakKeyDictionary[SurvivalModel, dict] = weakref.WeakKeyDictionary()


def _cache(model: SurvivalModel) -> dict:
    if model not in _CACHES:
        _CACHES[model] = {"profiles": {}, "forward_mode_ok": None}
    return _CACHES[model]
