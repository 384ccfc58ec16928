"""Any Python function ``f(x) -> (n, T)`` survival curves on a declared time grid."""

from __future__ import annotations

from typing import Any

from .._validation import fail
from .base import HeadParam
from .curves import CurvePredictor, SurvivalCurves
from .registry import register_family


@register_family
class CurveFunction(SurvivalCurves):
    """A function from numpy rows ``(n, p)`` (float64) to survival curves ``(n, T)`` on
    the grid ``time_bins`` given to :func:`~survinng_py.explain`; it is only predicted.

    Examples
    --------
    >>> import numpy as np, survinng_py as sv
    >>> def weibull(x):
    ...     return np.exp(-(np.array([1.0, 2.0, 3.0]) * np.exp(x[:, :1])) ** 1.5)
    >>> exp = sv.explain(weibull, np.random.default_rng(0).normal(size=(20, 2)),
    ...                  model_type="callable", time_bins=[1.0, 2.0, 3.0], dtype="float64")
    >>> sv.surv_shap(exp, instance=0).values[0].shape
    (1, 2, 1, 3)
    """

    family = "callable"
    aliases = ("function",)
    head_params = (HeadParam("time_bins", "the time grid of the curves", required=True),)
    model_class = "SurvivalFunction"

    @classmethod
    def wrap(cls, model: Any, head: dict, where: str):
        if not callable(model):
            fail(
                "model",
                where,
                "a callable f(x) -> survival curves for model_type 'callable'",
                model,
            )
        spec = cls.validate_spec({"time": head["time_bins"]}, where)
        name = getattr(model, "__name__", type(model).__name__)
        return CurvePredictor(model, len(spec["time"]), f"{name}()"), spec
