"""Attribution methods, one per module, all on the shared engine."""
from .grad import surv_grad
from .gradshap import surv_gradshap
from .intgrad import surv_intgrad
from .smoothgrad import surv_smoothgrad

__all__ = ["surv_grad", "surv_smoothgrad", "surv_intgrad", "surv_gradshap"]
