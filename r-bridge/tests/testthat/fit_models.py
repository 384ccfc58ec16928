"""Tiny fitted pycox models for the R tests (the R side wraps them like survivalmodels)."""
import numpy as np
import torch
import torchtuples as tt
from pycox.models import CoxPH, CoxTime, DeepHit, DeepHitSingle
from pycox.models.cox_time import MLPVanillaCoxTime

from survinng_py.r import from_raw


class CauseSpecificNet(torch.nn.Module):
    def __init__(self, n_features, n_risks, n_times):
        super().__init__()
        self.body = tt.practical.MLPVanilla(n_features, [16], n_risks * n_times)
        self.shape = (n_risks, n_times)

    def forward(self, x):
        return self.body(x).view(x.shape[0], *self.shape)


def fit_model(kind, x_raw, x_dim, time_raw, event_raw, seed=1):
    torch.manual_seed(int(seed))
    np.random.seed(int(seed))
    x = from_raw(x_raw, x_dim).astype("float32")
    time = from_raw(time_raw, [x.shape[0]]).astype("float32")
    event = from_raw(event_raw, [x.shape[0]])
    p = x.shape[1]

    def mlp(out, bias=True):
        return tt.practical.MLPVanilla(p, [16, 16], out, batch_norm=True, dropout=0.1, output_bias=bias)

    if kind == "deepsurv":
        model, target = CoxPH(mlp(1, False), tt.optim.Adam(0.01)), (time, event.astype("float32"))
    elif kind == "coxtime":
        model = CoxTime(MLPVanillaCoxTime(p, [16, 16], True, 0.1), tt.optim.Adam(0.01))
        target = (time, event.astype("float32"))
    elif kind == "deephit":
        labtrans = DeepHitSingle.label_transform(10)
        target = labtrans.fit_transform(time, (event > 0).astype("float32"))
        model = DeepHitSingle(mlp(labtrans.out_features), tt.optim.Adam(0.01), alpha=0.2,
                              sigma=0.1, duration_index=labtrans.cuts)
    else:  # competing risks
        cuts = np.linspace(0, time.max(), 8)
        idx = np.searchsorted(cuts, time).clip(max=len(cuts) - 1).astype("int64")
        model = DeepHit(CauseSpecificNet(p, 2, len(cuts)), tt.optim.Adam(0.01), alpha=0.2,
                        sigma=0.1, duration_index=cuts)
        target = (idx, event.astype("int64"))
    model.fit(x, target, batch_size=64, epochs=2, verbose=False)
    return model
