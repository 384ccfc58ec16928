"""Autograd helpers shared by the engine and the survival heads' default
Jacobian-vector product: stacked vector-Jacobian products and forward products by
reverse over reverse."""

from __future__ import annotations

import warnings

import torch


def push_forward(fn, primal: torch.Tensor, tangents: torch.Tensor):
    """``fn(primal)`` and its Jacobian-vector products for ``D`` stacked tangents.

    ``tangents`` has shape ``(D, *primal.shape)``; returns the value and the products,
    shape ``(D, *value.shape)``. The vector-Jacobian product ``u -> J^T u`` is linear in
    ``u``; its derivative along ``v`` with respect to ``u`` is ``J v``.
    """
    with torch.enable_grad():
        x = primal.detach().requires_grad_(True)
        out = fn(x)
        u = torch.zeros_like(out, requires_grad=True)
        (grad,) = torch.autograd.grad(out, [x], u, create_graph=True, allow_unused=True)
        if grad is None or not grad.requires_grad:  # the output does not depend on it
            return out.detach(), out.new_zeros((tangents.shape[0], *out.shape))
        jv = vjps([grad], [u], [tangents])[0]
    return out.detach(), jv


def vjps(
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
