"""Autograd helpers shared by the engine and the survival heads' default
Jacobian-vector product: stacked vector-Jacobian products and forward products by
reverse over reverse."""

from __future__ import annotations

import warnings

import torch


def push_forward(fn, primals: list[torch.Tensor], tangents: list[torch.Tensor]):
    """``fn(primals)`` and, per primal, its Jacobian-vector products along that primal's
    own stacked tangents (the other primals held fixed).

    ``tangents[k]`` has shape ``(D_k, *primals[k].shape)``; returns the value and, per
    primal, the products of shape ``(D_k, *value.shape)``. The vector-Jacobian product
    ``u -> J_k^T u`` is linear in ``u``; its derivative along ``v`` with respect to ``u``
    is ``J_k v``. One backward graph serves every primal, and each primal's tangents
    pass only through the part of it that depends on that primal.
    """
    with torch.enable_grad():
        xs = [p.detach().requires_grad_(True) for p in primals]
        out = fn(xs)
        u = torch.zeros_like(out, requires_grad=True)
        grads = torch.autograd.grad(out, xs, u, create_graph=True, allow_unused=True)
        products = [
            vjps([g], [u], [t])[0]
            if g is not None and g.requires_grad
            else out.new_zeros((t.shape[0], *out.shape))  # the output does not depend on it
            for g, t in zip(grads, tangents)
        ]
    return out.detach(), products


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
