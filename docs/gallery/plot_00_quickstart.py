"""
Quick start: Grad(t) and GradSHAP(t) of a DeepSurv model
========================================================

The README's quick start: the paper's time-dependent simulation, a DeepSurv model fitted
with pycox, and its attributions over time. A high ``x1`` protects early and harms late,
which a proportional-hazards model such as DeepSurv cannot represent: its Grad(t) of
``x1`` keeps one sign, as the figures show.
"""

# %%
# Data and model
# --------------
import numpy as np
import torchtuples as tt
from pycox.models import CoxPH

import survinng_py as sv
from survinng_py.datasets import simulate_time_dependent, split

train, test = split(simulate_time_dependent(n=1000, seed=1), n_test=100)
features = ["x1", "x2", "x3", "x4"]
x_train, x_test = (d[features].to_numpy(np.float32) for d in (train, test))
y_train = (train["time"].to_numpy(np.float32), train["status"].to_numpy(np.float32))

model = CoxPH(tt.practical.MLPVanilla(4, [32, 32], 1), tt.optim.Adam(0.01))
model.fit(x_train, y_train, batch_size=256, epochs=20, verbose=False)
model.compute_baseline_hazards()

# %%
# Grad(t): the gradient of the survival curve
# --------------------------------------------
exp = sv.explain(model, x_test, feature_names=features)
grad = sv.surv_grad(exp, instance=[0, 1])
print(grad)
grad.to_pandas(layout="long").head()

# %%
# GradSHAP(t): attributions against reference patients
# ------------------------------------------------------
shap = sv.surv_gradshap(exp, instance=[0, 1], n=50, num_samples=10, seed=1)
print(shap.values[0].shape, shap.pred_diff.shape)  # attributions; pred - pred_ref
figures = [grad.plot(type="attr"), shap.plot(type="attr"), shap.plot(type="force")]
