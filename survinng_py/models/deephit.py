"""DeepHit (pycox ``DeepHitSingle``/``PMF`` and competing-risks ``DeepHit``) and ``MTLR``."""

from __future__ import annotations

import math

import torch

from .._validation import fail
from .discrete import LINEAR, DiscreteTime, single_risk
from .registry import register_family


@register_family
class DeepHit(DiscreteTime):
    """Logits ``(B, R*T)`` (risk-major) plus one zero logit, softmax, drop the padding:
    pmf ``(B, R, T)``; cif = cumulative sum over time; survival = 1 - sum_r cif.

    The number of competing risks ``R`` comes from the network's output shape
    ``(B, R, T)``; a flat output ``(B, R*T)`` with ``R > 1`` is read as ``R`` risks only
    when ``event_names`` names them (``R`` names), never guessed from its width.
    """

    family = "deephit"
    aliases: tuple[str, ...] = ("deephitsingle", "pmf")
    pycox_classes: tuple[str, ...] = ("DeepHit", "DeepHitSingle", "PMF")
    schemes = LINEAR
    targets = ("survival", "cif", "pmf")
    per_event_targets = ("cif", "pmf")
    model_class = "DeepHit"

    def num_risks(self, inputs: list[torch.Tensor]) -> int:
        with torch.no_grad():
            shape = tuple(self.net(*[x[:1] for x in inputs]).shape[1:])
        n_times = len(self.time)
        if len(shape) == 2 and shape[1] == n_times:  # (B, R, T)
            return shape[0]
        width = math.prod(shape)
        if len(shape) > 1 or width % n_times:
            output = f"output shape {shape}" if len(shape) > 1 else f"output width {width}"
            fail(
                "time_bins",
                "explain()",
                f"as long as the network's output per risk ({output})",
                f"{n_times} time bins",
                as_text=True,
            )
        risks = width // n_times
        if risks > 1 and (self._event_names is None or len(self._event_names) != risks):
            fail(
                "event_names",
                "explain()",
                f"{risks} names to read the network's flat output "
                f"of {width} values as {risks} competing risks of {n_times} times (or an "
                "output shaped (batch, risks, times))",
                self._event_names,
            )
        return risks

    def head(self, phi: torch.Tensor, target: str) -> torch.Tensor:
        n_times = len(self.time)
        padded = torch.nn.functional.pad(phi, (0, 1))
        pmf = torch.softmax(padded, dim=-1)[:, :-1].reshape(phi.shape[0], -1, n_times)
        if target == "pmf":
            return pmf
        cif = pmf.cumsum(-1)
        if target == "cif":
            return cif
        return 1.0 - cif.sum(1, keepdim=True)


@register_family
class MTLR(DeepHit):
    """pycox ``MTLR``: reverse cumulative sum of the logits, ``psi_j = sum_{l>=j} phi_l``,
    then the PMF head of :class:`DeepHit` (targets survival, cif, pmf).

    The reverse sum is pycox's ``cumsum_reverse`` (the total minus the exclusive
    cumulative sum), not a flip/cumsum/flip, so that float32 predictions match pycox's.
    """

    family = "mtlr"
    aliases = ()
    pycox_classes = ("MTLR",)
    model_class = "MTLR"

    def num_risks(self, inputs: list[torch.Tensor]) -> int:
        return single_risk(self, inputs, n_bins=len(self.time), n_outputs=len(self.time))

    def head(self, phi: torch.Tensor, target: str) -> torch.Tensor:
        exclusive = torch.nn.functional.pad(phi, (1, 0)).cumsum(-1)[:, :-1]
        return super().head(phi.sum(-1, keepdim=True) - exclusive, target)
