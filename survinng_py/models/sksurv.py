"""A fitted scikit-survival estimator, through its ``predict_survival_function``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_choice, fail
from .curves import CurvePredictor, SurvivalCurves
from .registry import register_family


@register_family
class SkSurv(SurvivalCurves):
    """A fitted scikit-survival estimator (e.g. ``RandomSurvivalForest``,
    ``CoxPHSurvivalAnalysis``) on its ``unique_times_`` grid: target ``"survival"`` is
    its ``predict_survival_function(x, return_array=True)``, ``"cum_hazard"`` its
    ``predict_cumulative_hazard_function``. It is only predicted. Rows reach it as a
    DataFrame with its ``feature_names_in_`` when it was fitted on one.

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
    targets = ("survival", "cum_hazard")

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

        def curves(function: str):
            def predict(rows: np.ndarray) -> np.ndarray:
                if columns is not None:
                    import pandas as pd

                    rows = pd.DataFrame(rows, columns=columns)
                return getattr(model, function)(rows, return_array=True)

            return predict

        by_target = {}
        if callable(getattr(model, "predict_cumulative_hazard_function", None)):
            by_target["cum_hazard"] = curves("predict_cumulative_hazard_function")
        predictor = CurvePredictor(
            curves("predict_survival_function"),
            len(spec["time"]),
            type(model).__name__,
            by_target=by_target,
        )
        return predictor, spec

    def check_target(self, target: str, where: str) -> str:
        # cum_hazard only for estimators that predict it
        predictor: CurvePredictor = self.net  # type: ignore[assignment]
        own = ("survival", *predictor.by_target)
        return check_choice(target, own, "target", f"{where} for this {self.source} model")
