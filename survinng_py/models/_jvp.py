"""Building blocks of the heads' closed-form Jacobian-vector products.

Every head's :meth:`~.base.SurvivalModel.head_jvp` takes ``phi`` ``(B, MK)`` and ``D``
directions ``dphi`` ``(B, D, MK)`` and writes the derivatives ``(B, D, E, T)`` into one
contiguous array: the first operation that makes an array of that size writes into it
and the rest work in place, so no other array of the result's size is made.
"""

from __future__ import annotations

import torch


def tangent_out(
    out: torch.Tensor | None, dphi: torch.Tensor, events: int, times: int
) -> torch.Tensor:
    """``out``, or a new contiguous ``(B, D, events, times)`` array like ``dphi``."""
    if out is None:
        return dphi.new_empty((dphi.shape[0], dphi.shape[1], events, times))
    return out


def softmax_jvp(
    probs: torch.Tensor, dphi: torch.Tensor, out: torch.Tensor, negate: bool = False
) -> torch.Tensor:
    """``d softmax = p * (dphi - <p, dphi>)`` (or its negative) into ``out`` ``(B, D, n)``.

    ``probs`` ``(B, n)`` are the probabilities of the logits that move (padding logits
    that stay fixed contribute nothing to the inner product).
    """
    inner = torch.bmm(dphi, probs.unsqueeze(-1))  # (B, D, 1)
    if negate:
        torch.sub(inner, dphi, out=out)
    else:
        torch.sub(dphi, inner, out=out)
    return out.mul_(probs.unsqueeze(1))


def scaled(dphi: torch.Tensor, weight: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``dphi * weight`` (weight ``(B, n)``, one factor per instance and element) into ``out``."""
    return torch.mul(dphi, weight.unsqueeze(1), out=out)


def identity_jvp(
    value: torch.Tensor, dphi: torch.Tensor, out: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The JVP of a target that is the network output itself, laid out as ``value``
    ``(B, E, T)``: ``dphi`` ``(B, D, E*T)`` reshaped, or ``(B, D, 1)`` repeated over the
    grid (a log-risk, one value at every time)."""
    out = tangent_out(out, dphi, value.shape[1], value.shape[2])
    flat = out.view(dphi.shape[0], dphi.shape[1], -1)
    flat.copy_(dphi.expand_as(flat))
    return value, out
