"""survinng_py: time-resolved gradient attributions for deep survival models.

Grad(t), GxI(t), SmoothGrad(t), IntGrad(t) and GradSHAP(t) for fitted pycox models
(DeepSurv/CoxPH/CoxCC, CoxTime, DeepHit incl. competing risks, PMF, MTLR, LogisticHazard,
PCHazard, BCESurv) and bare torch modules with one or several inputs; modality-level
Shapley values; an Arrow exchange layer; ONNX export of network + survival head and model
bundles that load without pickle; a Python reimplementation of the R package survinng.
"""
from . import exchange
from ._validation import SurvinngError
from .explainer import Explainer, explain
from .methods import surv_grad, surv_gradshap, surv_intgrad, surv_smoothgrad
from .metrics import local_accuracy
from .modality import modality_shapley, modality_shares, modality_totals
from .onnx_export import export_onnx, predict_onnx
from .bundle import bundle_info, load_model, save_model
from .result import SurvResult

__version__ = "0.1.0.dev0"
__all__ = ["explain", "Explainer", "surv_grad", "surv_smoothgrad", "surv_intgrad",
           "surv_gradshap", "local_accuracy", "modality_shapley", "modality_totals",
           "modality_shares", "SurvResult", "SurvinngError", "exchange", "export_onnx",
           "predict_onnx", "save_model", "load_model", "bundle_info"]
