"""Python half of the mixed R/Python vignette: fit a pycox DeepHit model on the
time-independent simulation of the ICML paper (x3 has no effect)."""
import numpy as np
import torch
import torchtuples as tt
from pycox.models import DeepHitSingle

from survinng_py.datasets import simulate_time_independent, split

torch.manual_seed(1)
np.random.seed(1)
train, test = split(simulate_time_independent(n=3000, seed=42), n_test=300, seed=42)
features = ["x1", "x2", "x3"]
x_train = train[features].to_numpy("float32")
x_test = test[features].to_numpy("float32")
labtrans = DeepHitSingle.label_transform(30)
y_train = labtrans.fit_transform(train["time"].to_numpy("float32"),
                                 train["status"].to_numpy("float32"))
net = tt.practical.MLPVanilla(3, [32, 32], labtrans.out_features, batch_norm=True, dropout=0.1)
model = DeepHitSingle(net, tt.optim.Adam(0.01), alpha=0.2, sigma=0.1,
                      duration_index=labtrans.cuts)
model.fit(x_train, y_train, batch_size=256, epochs=30, verbose=False)
