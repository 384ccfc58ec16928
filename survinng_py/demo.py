"""End-to-end demo: fit DeepSurv, CoxTime and DeepHit on time-dependent data and explain them.

Run it with ``python -m survinng_py demo`` (or ``survinng-py demo``). It needs the
``demo`` extra (pycox, torchtuples, pyarrow, matplotlib), runs on the CPU in well under a
minute and downloads nothing.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np

from ._validation import check_int

FEATURES = ["x1", "x2", "x3", "x4"]
#: x1 values of the explained test rows: the rows closest to (x1, x2 = 0, x3 = 0) are taken,
#: so that their survival curves fall inside the follow-up and the sign change is visible
X1_TARGETS = (0.2, 0.5, 0.8)
MODELS = ("DeepSurv", "CoxTime", "DeepHit")
PARQUET_STEM, PNG_NAME = "demo_attributions", "demo_attributions.png"


def run_demo(out, n: int = 3000, seed: int = 42, epochs: int = 30, overwrite: bool = False) -> dict:
    """Simulate, fit three pycox models, explain a few test rows, write the results and a figure.

    Each model's Grad(t) and GxI(t) go to their own Parquet file in the exchange schema
    (:mod:`survinng_py.exchange`): ``demo_attributions_<model>_<method>.parquet``, read
    back by :func:`survinng_py.exchange.read` or shown by ``survinng-py info FILE``.

    Parameters
    ----------
    out : str or Path
        Output folder (created if missing).
    n : int
        Rows of :func:`~survinng_py.datasets.simulate_time_dependent`; 20% are test rows.
    seed : int
        Seed of the data, the split and the network training.
    epochs : int
        Most epochs per model (early stopping on a validation split may stop sooner).
    overwrite : bool
        Replace existing output files instead of refusing.

    Returns
    -------
    dict
        ``parquet`` (the written result files, a list), ``png`` (the figure's path) and
        ``summary`` (lines to print).

    Raises
    ------
    FileExistsError
        If an output file exists and ``overwrite`` is false (checked before any work).
    """
    import torch

    from . import explain, surv_grad
    from .datasets import simulate_time_dependent, split
    from .exchange import write

    n = check_int(n, "n", "run_demo()", minimum=100)
    epochs = check_int(epochs, "epochs", "run_demo()")
    out = Path(out)
    results = {
        (model, gxi): out / f"{PARQUET_STEM}_{model.lower()}_{'gxi' if gxi else 'grad'}.parquet"
        for model in MODELS
        for gxi in (False, True)
    }
    png = out / PNG_NAME
    for path in [*results.values(), png]:
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; pass --overwrite to replace it")

    np.random.seed(seed)  # pycox draws CoxTime's control samples with numpy's global RNG
    torch.manual_seed(seed)
    train, test = split(simulate_time_dependent(n=n, seed=seed), n_test=n // 5, seed=seed)
    x_test = test[FEATURES].to_numpy(np.float32)  # pycox needs float32
    instances = [_closest_row(test, x1) for x1 in X1_TARGETS]
    threads = torch.get_num_threads()
    # the networks are tiny: more intra-op threads gain nothing and stall badly when the
    # cores are busy (about 100 s instead of 20 s on two loaded cores)
    torch.set_num_threads(1)
    try:
        explained, grads = {}, {}
        for name, model in _fit_models(train, seed, epochs).items():
            exp = explain(model, x_test, feature_names=FEATURES)
            for gxi in (False, True):
                explained[name, gxi] = surv_grad(
                    exp, instance=instances, target="survival", times_input=gxi
                )
            grads[name] = explained[name, False]
    finally:
        torch.set_num_threads(threads)
    out.mkdir(parents=True, exist_ok=True)
    for key, path in results.items():
        write(explained[key], path, overwrite=overwrite)

    shown = 0  # low x1: the early positive effect on survival is largest
    x1 = float(test["x1"].iloc[instances[shown]])
    flip = _true_flip_time(x1)
    fig = _figure(grads, shown, x1, flip)
    try:
        fig.savefig(png, dpi=110)
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)
    summary = [
        f"wrote {len(results)} results (Grad(t) and GxI(t) of {', '.join(MODELS)}) as "
        f"{out / PARQUET_STEM}_<model>_<method>.parquet, and {png}",
        f"Grad(t) of S(t) w.r.t. x1, test row {instances[shown]} (x1 = {x1:.2f}); true sign "
        f"change: t = 1.65 for the hazard, t = {flip:.2f} for survival:",
    ]
    summary += [_sign_line(name, res, shown) for name, res in grads.items()]
    return {"parquet": [str(p) for p in results.values()], "png": str(png), "summary": summary}


def _fit_models(train, seed: int, epochs: int) -> dict:
    """DeepSurv (CoxPH), CoxTime and DeepHitSingle, early-stopped on 20% of ``train``."""
    import torchtuples as tt
    from pycox.models import CoxPH, CoxTime, DeepHitSingle
    from pycox.models.cox_time import MLPVanillaCoxTime

    fit_part, val_part = _val_split(train, seed)
    x_fit, x_val = (d[FEATURES].to_numpy(np.float32) for d in (fit_part, val_part))
    y_fit, y_val = (
        (d["time"].to_numpy(np.float32), d["status"].to_numpy(np.float32))
        for d in (fit_part, val_part)
    )
    hidden, width = [32, 32], len(FEATURES)
    fit_args = {"batch_size": 256, "epochs": epochs, "verbose": False}
    models = {}
    # checkpoints of early stopping go to a temporary folder, not the working directory
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        # torchtuples' own deprecated tensor idioms; nothing the user can act on
        warnings.filterwarnings("ignore", category=UserWarning, module="torchtuples")

        def fit(model, y_fit_, y_val_, name):
            stop = tt.callbacks.EarlyStopping(file_path=str(Path(tmp) / f"{name}.pt"))
            model.fit(x_fit, y_fit_, callbacks=[stop], val_data=(x_val, y_val_), **fit_args)
            return model

        net = tt.practical.MLPVanilla(width, hidden, 1, batch_norm=True, dropout=0.1)
        deepsurv = fit(CoxPH(net, tt.optim.Adam(0.01)), y_fit, y_val, "deepsurv")
        deepsurv.compute_baseline_hazards()
        models[MODELS[0]] = deepsurv

        labtrans = CoxTime.label_transform()
        y_fit_ct = labtrans.fit_transform(*y_fit)
        net = MLPVanillaCoxTime(width, hidden, batch_norm=True, dropout=0.1)
        coxtime = fit(
            CoxTime(net, tt.optim.Adam(0.01), labtrans=labtrans),
            y_fit_ct,
            labtrans.transform(*y_val),
            "coxtime",
        )
        coxtime.compute_baseline_hazards()
        models[MODELS[1]] = coxtime

        labtrans = DeepHitSingle.label_transform(30)
        y_fit_dh = labtrans.fit_transform(*y_fit)
        net = tt.practical.MLPVanilla(
            width, hidden, labtrans.out_features, batch_norm=True, dropout=0.1
        )
        deephit = DeepHitSingle(
            net, tt.optim.Adam(0.01), alpha=0.2, sigma=0.1, duration_index=labtrans.cuts
        )
        models[MODELS[2]] = fit(deephit, y_fit_dh, labtrans.transform(*y_val), "deephit")
    return models


def _val_split(train, seed: int):
    order = np.random.default_rng(seed + 1).permutation(len(train))
    n_val = len(train) // 5
    return train.iloc[order[n_val:]], train.iloc[order[:n_val]]


def _closest_row(test, x1: float) -> int:
    # x1 lives on [0, 1], x2 and x3 on N(0, 1): weight x1 so all three count alike
    distance = (4 * (test["x1"] - x1)) ** 2 + test["x2"] ** 2 + test["x3"] ** 2
    return int(np.argmin(distance.to_numpy()))


def _true_flip_time(x1: float) -> float:
    """Where d S(t | x) / d x1 changes sign in the simulation: d H / d x1 = 0.

    With ``a = 1.5 + 6 x1``, ``d H(t) / d x1`` is proportional to
    ``t**a / a * (6 log t - 3 - 6 / a)``, which is 0 at ``t = exp(0.5 + 1 / a)``.
    """
    return float(np.exp(0.5 + 1 / (1.5 + 6 * x1)))


def _figure(grads: dict, shown: int, x1: float, flip: float):
    """Grad(t) of one instance, one panel per model, with the true sign change marked."""
    from .plot import new_figure, plot_attr

    fig = new_figure((13, 4.2))
    axes = fig.subplots(1, len(grads), sharey=False)
    for axis, (name, res) in zip(axes, grads.items()):
        plot_attr(res.isel(instance=shown), ax=axis)
        axis.axvline(flip, color="grey", linestyle=":", linewidth=1)
        axis.set_title(f"{name}: instance {res.instance[shown]}")
    fig.suptitle(
        f"Grad(t) of the survival probability (x1 = {x1:.2f}); dotted: where x1's "
        f"true effect on survival changes sign, t = {flip:.2f}"
    )
    return fig


def _sign_line(name: str, res, shown: int) -> str:
    """Mean x1 gradient before t = 1 and after t = 4, and where it turns negative for good."""
    grad = res.values[0][shown, FEATURES.index("x1"), 0]
    early, late = grad[res.time < 1].mean(), grad[res.time > 4].mean()
    # values within 0.1% of the largest are rounding noise (the curves vanish at t = 0 and
    # again once survival reaches 0), not a sign
    positive = np.flatnonzero(grad > 1e-3 * np.abs(grad).max())
    negative = np.flatnonzero(grad < -1e-3 * np.abs(grad).max())
    flips = positive.size and negative.size and negative[-1] > positive[-1]
    where = (
        f"turns negative at t = {res.time[positive[-1] + 1]:.2f}"
        if flips
        else "no sign change from + to -"
    )
    return f"  {name:8s} mean early (t<1) {early:+.4f}, late (t>4) {late:+.4f}; {where}"
