"""Models known only by their predicted survival curves (no network, no gradients).

A family of this kind wraps a foreign model (a Python function, a scikit-survival
estimator) in :class:`CurvePredictor`, a torch module that converts rows to numpy, asks
the model for survival curves on the family's time grid and checks them. The engine
predicts through it like through any network; gradient methods refuse it
(``differentiable = False``) and point to :func:`~survinng_py.surv_shap`, which only
predicts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .._validation import fail, first_line
from .base import SurvivalModel


class CurvePredictor(torch.nn.Module):
    """``rows (n, p) -> curves (n, E * T)`` through ``predict(numpy rows)``, checked.

    Parameters
    ----------
    predict : callable
        Numpy rows ``(n, p)`` in float64 to curves ``(n, E, T)`` (``(n, T)`` for one
        event).
    n_times : int
        ``T``, the length of the time grid.
    name : str
        How the model is named in errors.
    n_events : int
        ``E``, the number of curves per row.
    by_target : dict of str to callable, optional
        Functions like ``predict`` for other targets (e.g. ``"cum_hazard"``), used when
        the call names that target.
    """

    def __init__(
        self,
        predict: Callable[[np.ndarray], Any],
        n_times: int,
        name: str,
        n_events: int = 1,
        by_target: dict[str, Callable[[np.ndarray], Any]] | None = None,
    ):
        super().__init__()
        self.predict = predict
        self.by_target = dict(by_target or {})
        self.n_times, self.n_events = n_times, n_events
        self.name = name

    def forward(self, rows: torch.Tensor, target: str | None = None) -> torch.Tensor:
        where = f"the {target or 'survival'} curves of {self.name}"
        predict = self.by_target.get(target or "survival", self.predict)
        if rows.dim() != 2:
            fail(
                "x",
                where,
                "rows of one table (a 2-d array)",
                f"shape {tuple(rows.shape)}",
                as_text=True,
            )
        try:
            curves = np.asarray(predict(rows.detach().cpu().numpy().astype(np.float64)))
        except Exception as err:  # the foreign model's own failure, quoted in one line
            fail(
                "model",
                where,
                "a model that predicts these rows",
                f"{type(err).__name__}: {first_line(err)}",
                as_text=True,
            )
        expected = (rows.shape[0], self.n_events, self.n_times)
        if self.n_events == 1 and curves.shape == (expected[0], expected[2]):
            curves = curves[:, None]
        if curves.shape != expected or curves.dtype.kind not in "fiu":
            shown = expected if self.n_events > 1 else (expected[0], expected[2])
            fail(
                "model",
                where,
                f"numbers of shape {shown} (rows x {'events x ' * (self.n_events > 1)}time points)",
                f"{curves.dtype} of shape {curves.shape}",
                as_text=True,
            )
        if not np.all(np.isfinite(curves)):
            fail(
                "model",
                where,
                "finite predictions",
                "NaN or infinite values",
                as_text=True,
            )
        flat = curves.reshape(rows.shape[0], -1)
        return torch.as_tensor(flat).to(dtype=rows.dtype, device=rows.device)


class SurvivalCurves(SurvivalModel):
    """Base of the families that predict survival curves and have no gradients.

    A subclass sets ``family``, implements :meth:`wrap` (the foreign model and the
    head parameters to a :class:`CurvePredictor` and a spec with ``time``) and, if its
    spec has more than ``time``, :meth:`check_spec`.
    """

    differentiable = False
    torch_network = False
    targets: tuple[str, ...] = ("survival",)
    model_class = "SurvivalCurves"

    @classmethod
    def check_spec(cls, where, *, time) -> dict:
        from .base import check_time_grid

        return {"time": check_time_grid(time, "time_bins", where)}

    @classmethod
    def grid(cls, spec: dict) -> np.ndarray:
        return spec["time"]

    @classmethod
    def network(cls, model: Any, head: dict, where: str):
        return cls.wrap(model, head, where)

    @classmethod
    def wrap(cls, model: Any, head: dict, where: str):  # pragma: no cover
        raise NotImplementedError

    def __init__(self, net, spec, **kwargs):
        # the predictor holds a foreign model: used as it is (its predictions do not
        # depend on torch's dtype or device), never deep-copied
        kwargs["copy_network"] = False
        super().__init__(net, spec, **kwargs)

    def forward(self, inputs: list[torch.Tensor], target: str) -> torch.Tensor:
        # the predictor is asked for the target itself (a model may predict several)
        return self.head(self.net(*inputs, target), target)

    def head(self, phi: torch.Tensor, target: str) -> torch.Tensor:
        return phi.reshape(phi.shape[0], -1, len(self.time))  # (B, E*T) -> (B, E, T)
