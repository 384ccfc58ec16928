"""survinng_py: time-resolved gradient attributions for deep survival models.

Grad(t), GxI(t), SmoothGrad(t), IntGrad(t) and GradSHAP(t) for fitted pycox models
(DeepSurv/CoxPH/CoxCC, CoxTime, DeepHit incl. competing risks, PMF, MTLR, LogisticHazard,
PCHazard, BCESurv) and bare torch modules with one or several inputs; modality-level
Shapley values; an Arrow exchange layer; ONNX export of network + survival head and model
bundles that load without pickle; a Python reimplementation of the R package survinng.

Names are imported on first use, so that the command line starts (``--help``, argument
errors) without loading torch.
"""

import importlib
from typing import Any

__version__ = "0.1.0.dev0"
__all__ = [
    "explain",
    "Explainer",
    "surv_grad",
    "surv_smoothgrad",
    "surv_intgrad",
    "surv_gradshap",
    "surv_shap",
    "surv_hessian",
    "surv_inthess",
    "local_accuracy",
    "compare",
    "modality_shapley",
    "modality_totals",
    "modality_shares",
    "SurvResult",
    "SurvinngError",
    "exchange",
    "export_onnx",
    "predict_onnx",
    "save_model",
    "load_model",
    "bundle_info",
    "explain_dataset",
    "report",
]
#: public name -> the submodule that defines it (other names: submodules)
_EXPORTS = {
    "explain": "explainer",
    "Explainer": "explainer",
    "surv_grad": "methods",
    "surv_smoothgrad": "methods",
    "surv_intgrad": "methods",
    "surv_gradshap": "methods",
    "surv_shap": "methods",
    "surv_hessian": "methods",
    "surv_inthess": "methods",
    "local_accuracy": "metrics",
    "compare": "metrics",
    "modality_shapley": "modality",
    "modality_totals": "modality",
    "modality_shares": "modality",
    "SurvResult": "result",
    "SurvinngError": "_validation",
    "export_onnx": "onnx_export",
    "predict_onnx": "onnx_export",
    "save_model": "bundle",
    "load_model": "bundle",
    "bundle_info": "bundle",
    "explain_dataset": "cohort",
    "report": "html_report",
}


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    else:  # a submodule, as `survinng_py.bundle` after `import survinng_py`
        try:
            value = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
