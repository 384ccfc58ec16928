"""A fitted scikit-survival estimator, through its ``predict_survival_function``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import fail
from .curves import CurvePredictor, SurvivalCurves
from .registry import register_family


@register_family
class SkSurv(SurvivalCurves):
    """A fitted scikit-survival estimator (e.g. ``RandomSurvivalForest``,
    ``CoxPHSurvivalAnalysis``): ``predict_survival_function(x, return_array=True)`` on
    its ``unique_times_`` grid; it is only predicted. Rows reach it as a DataFrame with
    its ``feature_names_in_`` when it was fitted on one.

    Examples
    --------
    >>> import numpy as np, survinng_py as sv
    >>> from sksurv.linear_model import CoxPHSurvivalAnalysis
    >>> from sksurv.util import Surv
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(40, 3))
    >>> cox = CoxPHSurvivalAnalysis().fit(x, Surv.from_arrays(rng.random(40) < 0.7,
    ...                                                          rng.exponential(size=40)))
    >>> exp = sv.explain(cox, x, model_type="sksurv", dtype="float64")
    >>> sv.surv_shap(exp, instance=0).values[0].shape
    (1, 3, 1, 40)
    """

    family = "sksurv"
    aliases = ("scikit_survival",)
    model_class = "SkSurv"

    @classmethod
    def wrap(cls, model: Any, head: dict, where: str):
        times = getattr(model, "unique_times_", None)
        if not callable(getattr(model, "predict_survival_function", None)) or times is None:
            fail(
                "model",
                where,
                "a fitted scikit-survival estimator (with "
                "predict_survival_function and unique_times_) for model_type 'sksurv'",
                type(model).__name__,
                as_text=True,
            )
        spec = cls.validate_spec({"time": np.asarray(times)}, where)
        columns = getattr(model, "feature_names_in_", None)

        def predict(rows: np.ndarray) -> np.ndarray:
            if columns is not None:
                import pandas as pd

                rows = pd.DataFrame(rows, columns=columns)
            return model.predict_survival_function(rows, return_array=True)

        return CurvePredictor(predict, len(spec["time"]), type(model).__name__), spec
