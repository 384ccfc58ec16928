"""The model layer: a survival model is a network plus a survival head.

An adapter turns instance rows into network rows (``expand``), runs the private
eval-mode copy of the network (``net_forward``, output ``(rows, K)``) and maps the
network output of each instance, ``phi`` of shape ``(B, M*K)``, to a target over the
time grid (``head``, output ``(B, event, time)``). ``M`` is the number of network rows
per instance (the active baseline times for CoxTime, 1 otherwise). The engine relies
only on this contract; adapters know nothing about attribution methods.
"""
from __future__ import annotations

import copy
from typing import Callable, Sequence

import numpy as np
import torch

from .._validation import check_choice, fail


class SurvivalModel:
    """Base class of the adapters (one subclass per model family).

    Subclasses set :attr:`targets`, :attr:`model_class` and implement :meth:`head`;
    the default :meth:`expand` and :meth:`net_forward` call ``net(*inputs)`` once per
    instance row.
    """

    targets: tuple[str, ...] = ()
    model_class: str = "SurvivalModel"
    #: targets with one curve per competing event (the others have one curve)
    per_event_targets: tuple[str, ...] = ()

    def __init__(self, net: torch.nn.Module, time: np.ndarray, *, dtype: torch.dtype,
                 device: torch.device, source: str | None = None,
                 event_names: Sequence[str] | None = None):
        if not isinstance(net, torch.nn.Module):
            fail("model", "explain()", "a torch.nn.Module or a fitted pycox model", net)
        self.net = _private_copy(net, dtype, device)
        self.time = np.asarray(time, dtype=np.float64)
        self.dtype = dtype
        self.device = device
        self.source = source or type(net).__name__
        self._event_names = None if event_names is None else [str(e) for e in event_names]
        self.forward_mode_ok: bool | None = None  # engine checks once if reverse-over-reverse works
        self.profiles: dict = {}  # engine's per-input-shape network profile, filled on first use

    # -- the contract used by the engine -------------------------------------------
    @property
    def rows_per_instance(self) -> int:
        return 1

    def expand(self, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
        """Repeat every instance row ``rows_per_instance`` times (instance-major)."""
        m = self.rows_per_instance
        return inputs if m == 1 else [x.repeat_interleave(m, dim=0) for x in inputs]

    def net_forward(self, rows: list[torch.Tensor]) -> torch.Tensor:
        out = self.net(*rows)
        return out.reshape(out.shape[0], -1)

    def head(self, phi: torch.Tensor, target: str) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def forward(self, inputs: list[torch.Tensor], target: str) -> torch.Tensor:
        """Target over the time grid, ``(B, event, time)``."""
        out = self.net_forward(self.expand(inputs))
        return self.head(out.reshape(inputs[0].shape[0], -1), target)

    # -- labels ---------------------------------------------------------------------
    def check_target(self, target: str, where: str) -> str:
        return check_choice(target, self.targets, "target", f"{where} for a {self.model_class} model")

    def num_risks(self, inputs: list[torch.Tensor]) -> int:
        return 1

    def event_names(self, target: str, num_risks: int) -> list[str]:
        if target in self.per_event_targets and num_risks > 1:
            names = self._event_names or [f"event_{r + 1}" for r in range(num_risks)]
            if len(names) != num_risks:
                fail("event_names", "explain()", f"{num_risks} names (one per competing event)",
                     names)
            return names
        return ["any_event"] if num_risks > 1 else ["event"]

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(model_class={self.model_class!r}, source={self.source!r}, "
                f"times={len(self.time)}, dtype={self.dtype}, device={self.device})")


def _private_copy(net: torch.nn.Module, dtype: torch.dtype, device: torch.device) -> torch.nn.Module:
    """An eval-mode copy of ``net`` in ``dtype`` on ``device``; the user's net is untouched."""
    private = copy.deepcopy(net).to(device=device, dtype=dtype)
    private.eval()
    for p in private.parameters():
        p.requires_grad_(False)
    return private


def check_time_grid(time: np.ndarray, arg: str, where: str) -> np.ndarray:
    grid = np.asarray(time, dtype=np.float64).reshape(-1)
    if grid.size == 0 or not np.all(np.isfinite(grid)):
        fail(arg, where, "a non-empty vector of finite time points", time)
    if np.any(np.diff(grid) <= 0):
        fail(arg, where, "strictly increasing", time)
    return grid


def as_buffer(values: np.ndarray, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(np.asarray(values, dtype=np.float64)).to(device=device, dtype=dtype)


TransformInv = Callable[[np.ndarray], np.ndarray]
