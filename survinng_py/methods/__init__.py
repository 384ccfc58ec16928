"""Attribution methods, one per module, all on the shared engine, each registered in the
method table (:mod:`survinng_py.methods.registry`).

A method module imports torch inside its function: the command line reads the table
(names, options) for ``--help`` without loading torch.
"""

# imported in the order the table lists them
# isort: off
from .grad import surv_grad
from .smoothgrad import surv_smoothgrad
from .intgrad import surv_intgrad
from .gradshap import surv_gradshap
from .shap import surv_shap
from .hessian import surv_hessian
from .inthess import surv_inthess

# isort: on
from .registry import (
    Method,
    Option,
    describe,
    get_method,
    method_label,
    methods,
    register_method,
    unregister_method,
)

__all__ = [
    "surv_grad",
    "surv_smoothgrad",
    "surv_intgrad",
    "surv_gradshap",
    "surv_shap",
    "surv_hessian",
    "surv_inthess",
    "Method",
    "Option",
    "register_method",
    "unregister_method",
    "methods",
    "get_method",
    "method_label",
    "describe",
]
