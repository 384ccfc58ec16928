"""DeepHit (pycox ``DeepHitSingle``/``PMF`` and competing-risks ``DeepHit``) and ``MTLR``."""

from __future__ import annotations

import math

import torch

from .._validation import fail
from ._jvp import identity_jvp, softmax_jvp, tangent_out
from .discrete import LINEAR, DiscreteTime, single_risk
from .registry import register_family


@register_family
class DeepHit(DiscreteTime):
    """Logits ``(B, R*T)`` (risk-major) plus one zero logit, softmax, drop the padding:
    pmf ``(B, R, T)``; cif = cumulative sum over time; survival = 1 - sum_r cif. The
    target ``logits`` is the network output itself, ``(B, R, T)``.

    The number of competing risks ``R`` comes from the network's output shape
    ``(B, R, T)``; a flat output ``(B, R*T)`` with ``R > 1`` is read as ``R`` risks only
    when ``event_names`` names them (``R`` names), never guessed from its width.
    """

    family = "deephit"
    aliases: tuple[str, ...] = ("deephitsingle", "pmf")
    pycox_classes: tuple[str, ...] = ("DeepHit", "DeepHitSingle", "PMF")
    schemes = LINEAR
    targets = ("survival", "cif", "pmf", "logits")
    per_event_targets = ("cif", "pmf", "logits")
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
        if target == "logits":
            return self._per_event(phi)
        return self._from_pmf(self._probs(phi), target)

    def _per_event(self, values: torch.Tensor) -> torch.Tensor:
        """``(B, R*T)`` (risk-major) as ``(B, R, T)``."""
        return values.reshape(values.shape[0], -1, len(self.time))

    def _probs(self, logits: torch.Tensor) -> torch.Tensor:
        """Softmax over the logits and one zero logit, without the zero's: ``(B, R*T)``."""
        return torch.softmax(torch.nn.functional.pad(logits, (0, 1)), dim=-1)[:, :-1]

    def _from_pmf(self, probs: torch.Tensor, target: str) -> torch.Tensor:
        pmf = self._per_event(probs)
        if target == "pmf":
            return pmf
        cif = pmf.cumsum(-1)
        if target == "cif":
            return cif
        return 1.0 - cif.sum(1, keepdim=True)

    def head_jvp(self, phi, dphi, target, out=None, overwrite_dphi=False):
        """Closed form: d pmf = pmf (dphi - <pmf, dphi>) (the padding logit is fixed),
        cumulated over time for cif; d survival = -sum over risks of d cif."""
        if target == "logits":
            return identity_jvp(self.head(phi, target), dphi, out)
        if target not in PMF_TARGETS:
            return super().head_jvp(phi, dphi, target, out)
        return self._pmf_jvp(phi, dphi, target, out, overwrite_dphi)

    def _pmf_jvp(self, logits, dlogits, target, out, overwrite_dlogits):
        """:meth:`head_jvp` of the softmax head for ``logits`` ``(B, R*T)``."""
        probs = self._probs(logits)
        value = self._from_pmf(probs, target)
        n, d, n_times = dlogits.shape[0], dlogits.shape[1], len(self.time)
        out = tangent_out(out, dlogits, value.shape[1], n_times)
        flat = out.view(n, d, -1)
        risks = logits.shape[1] // n_times
        survival = target == "survival"
        if survival and risks > 1:  # the risks' d pmf are summed: an array R times larger
            work = dlogits if overwrite_dlogits else dlogits.new_empty(dlogits.shape)
            dpmf = softmax_jvp(probs, dlogits, work, True)
            torch.sum(dpmf.view(n, d, risks, n_times), 2, out=flat)
        elif overwrite_dlogits and target != "pmf":  # out written once, by the cumsum
            dpmf = softmax_jvp(probs, dlogits, dlogits, survival)
            torch.cumsum(dpmf.view(out.shape), -1, out=out)
            return value, out
        else:
            softmax_jvp(probs, dlogits, flat, negate=survival)
        if target != "pmf":
            out.cumsum_(-1)
        return value, out


#: the targets whose head Jacobian-vector products have a closed form (softmax heads)
PMF_TARGETS = ("survival", "cif", "pmf")


@register_family
class MTLR(DeepHit):
    """pycox ``MTLR``: reverse cumulative sum of the logits, ``psi_j = sum_{l>=j} phi_l``,
    then the PMF head of :class:`DeepHit` (targets survival, cif, pmf); the target
    ``logits`` is the network output ``phi`` (before the reverse sum).

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
        if target == "logits":
            return self._per_event(phi)
        return super().head(self._reverse_sum(phi), target)

    @staticmethod
    def _reverse_sum(phi: torch.Tensor) -> torch.Tensor:
        exclusive = torch.nn.functional.pad(phi, (1, 0)).cumsum(-1)[:, :-1]
        return phi.sum(-1, keepdim=True) - exclusive

    def head_jvp(self, phi, dphi, target, out=None, overwrite_dphi=False):
        """Closed form: the reverse sum is linear (``sum - cumsum + dphi``), then the
        softmax head's (in the reverse sum's own fresh array)."""
        if target == "logits":
            return identity_jvp(self.head(phi, target), dphi, out)
        if target not in PMF_TARGETS:
            return super().head_jvp(phi, dphi, target, out)
        cumulated = dphi.cumsum(-1)
        total = cumulated[..., -1:].clone()
        dpsi = cumulated.neg_().add_(dphi).add_(total)
        return self._pmf_jvp(self._reverse_sum(phi), dpsi, target, out, True)
