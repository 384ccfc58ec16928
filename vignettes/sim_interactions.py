"""Time-resolved interactions: a treatment x age interaction that acts only before t0.

Data: ``treat`` ~ Bernoulli(1/2), ``age``, ``x3``, ``x4`` ~ N(0, 1) (standardised), and a
piecewise-constant hazard

    log h(t | x) = log 0.15 + 0.6 age - 0.4 treat + 1.5 treat age [t < t0],   t0 = 3,

so the treatment helps the young (age < 0) and harms the old, but only before t0; x3
and x4 have no effect. Exponential censoring (rate 0.05), administrative at t = 8.

The vignette fits DeepHit (pycox ``DeepHitSingle``, 30 cut points: it can learn effects
that change over time) with the paper's MLP but softplus activations: a ReLU network is
piecewise linear, so its second derivatives vanish almost everywhere and Integrated
Hessians would see only the head's curvature (Janizek et al. use softplus for the same
reason) and computes Integrated Hessians(t)
(:func:`survinng_py.surv_inthess`, Janizek, Sturmfels & Lee, JMLR 2021) of the survival
for test rows, with the data mean as reference, beside the same quantity of the true
survival function (the same double Riemann sum, second derivatives by torch autograd).

What the interaction of the survival should look like: the early term enters the
cumulative hazard as ``0.15 t e^(... + 1.5 treat age)`` up to t0 and stays there, frozen,
after t0; its share of S(t) grows until t0 and afterwards only shrinks with S(t). So the
treat:age interaction rises to a peak near t0 and then fades. Checks: the true pair ranks
first among the 6 pairs (mean |Gamma_ij(t)| over rows and times before t0), its mean
|Gamma| peaks near t0, and by the last time it has fallen well below its peak.

    python vignettes/sim_interactions.py            # full: N = 6,000
    python vignettes/sim_interactions.py --quick    # CI: N = 2,500 (under a minute)
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from _common import (
    VALIDATION_FRACTION,
    figure_links,
    fit_early_stopping,
    parse_args,
    progress,
    run_info,
    save,
    single_thread,
    table,
    write_section,
)

import survinng_py as sv

NAME = "sim_interactions"
FEATURES = ["treat", "age", "x3", "x4"]
T0, T_MAX, BASE, CENSOR_RATE = 3.0, 8.0, 0.15, 0.05
BETA = {"age": 0.6, "treat": -0.4, "treat:age": 1.5}
FULL = {"n": 6000, "n_test": 200, "batch_size": 256, "max_epochs": {"DeepHit": 200}, "ih_n": 24}
QUICK = {"n": 2500, "n_test": 60, "batch_size": 256, "max_epochs": {"DeepHit": 60}, "ih_n": 12}


def simulate(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows ``(treat, age, x3, x4)``, durations and event indicators (1 event, 0 censored)."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.integers(0, 2, n), rng.normal(size=(n, 3))]).astype(np.float32)
    early, late = (BASE * np.exp(_eta(x.astype(np.float64), on)) for on in (True, False))
    # inverse of the piecewise-linear cumulative hazard at an Exp(1) draw
    draw = rng.exponential(size=n)
    event_time = np.where(draw < early * T0, draw / early, T0 + (draw - early * T0) / late)
    censor = np.minimum(rng.exponential(1 / CENSOR_RATE, size=n), T_MAX)
    return x, np.minimum(event_time, censor).astype(np.float32), (event_time <= censor).astype(np.float32)


def _eta(x, interaction_on):
    """The log relative hazard, with or without the interaction term (numpy or torch)."""
    treat, age = x[..., 0], x[..., 1]
    return (BETA["age"] * age + BETA["treat"] * treat
            + (BETA["treat:age"] * treat * age if interaction_on else 0.0))


def true_survival(x: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
    """S(t | x) of the simulation for one row ``x`` at ``time``, differentiable in ``x``."""
    early = BASE * torch.exp(_eta(x, True)) * torch.clamp(time, max=T0)
    late = BASE * torch.exp(_eta(x, False)) * torch.clamp(time - T0, min=0.0)
    return torch.exp(-early - late)


def true_inthess(x: np.ndarray, ref: np.ndarray, time: np.ndarray, n: int) -> np.ndarray:
    """Integrated Hessians of the true survival, ``(rows, p, p, time)``, by the same double
    Riemann sum over a, b in {1/n, ..., 1} as surv_inthess()."""
    t = torch.as_tensor(time, dtype=torch.float64)
    x, ref = torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(ref, dtype=torch.float64)
    delta = x - ref
    grid = torch.arange(1, n + 1, dtype=torch.float64) / n
    products = (grid[:, None] * grid[None, :]).reshape(-1)

    def surv(z):
        return true_survival(z, t)

    hess_fn = torch.func.vmap(torch.func.jacfwd(torch.func.jacrev(surv)))
    grad_fn = torch.func.vmap(torch.func.jacrev(surv))
    hess, grad = 0.0, 0.0
    for c in products:  # n^2 small batched calls (the truth is cheap)
        point = ref + c * delta
        hess = hess + c * hess_fn(point) / n**2  # (rows, time, p, p)
        grad = grad + grad_fn(point) / n**2  # (rows, time, p)
    gamma = hess * (delta[:, None, :, None] * delta[:, None, None, :])
    gamma = gamma + torch.diag_embed(grad * delta[:, None, :])
    return gamma.permute(0, 2, 3, 1).numpy()


def fit_deephit(x, duration, event, seed: int, cfg: dict):
    """DeepHitSingle with the paper's MLP (32-32, batch norm, dropout 0.1) and softplus
    activations, early stopping on a 33% validation split; returns the model and epochs."""
    import torchtuples as tt
    from pycox.models import DeepHitSingle

    order = np.random.default_rng(seed).permutation(len(x))
    n_val = round(VALIDATION_FRACTION * len(x))
    fit_rows, val_rows = order[n_val:], order[:n_val]

    def build(_name):
        labtrans = DeepHitSingle.label_transform(30)
        target_fit = labtrans.fit_transform(duration[fit_rows], event[fit_rows])
        net = tt.practical.MLPVanilla(x.shape[1], [32, 32], labtrans.out_features, batch_norm=True,
                                      dropout=0.1, activation=torch.nn.Softplus)
        model = DeepHitSingle(net, tt.optim.Adam(0.01), alpha=0.2, sigma=0.1,
                              duration_index=labtrans.cuts)
        return model, target_fit, labtrans.transform(duration[val_rows], event[val_rows])

    models, epochs = fit_early_stopping(build, ["DeepHit"], x[fit_rows], x[val_rows], seed=seed,
                                        batch_size=cfg["batch_size"],
                                        max_epochs=cfg["max_epochs"])
    return models["DeepHit"], epochs


def main(argv: Sequence[str] | None = None) -> dict:
    """Run the vignette; returns its numbers (see the module docstring).

    Returns
    -------
    dict
        ``epochs``, ``ranking`` (pairs by mean |Gamma| before t0, model and truth),
        ``peak_time`` and ``end_over_peak`` of the treat:age curve (model and truth),
        ``completeness`` (largest gaps over the largest |pred_diff|: rows of Gamma against
        IntGrad(t), all of Gamma and IntGrad(t) against pred_diff),
        ``figures`` and ``results``.
    """
    args = parse_args(__doc__, argv)
    cfg = QUICK if args.quick else FULL
    log = progress()
    with single_thread():
        x, duration, event = simulate(cfg["n"], args.seed)
        n_test = cfg["n_test"]
        x_train, x_test = x[n_test:], x[:n_test]
        log(f"fitting DeepHit on {len(x_train)} rows")
        model, epochs = fit_deephit(x_train, duration[n_test:], event[n_test:], args.seed, cfg)
        exp = sv.explain(model, x_test, feature_names=FEATURES, dtype="float64")
        started = log(f"Integrated Hessians(t) of {n_test} test rows, n = {cfg['ih_n']}")
        ih = sv.surv_inthess(exp, instance=range(n_test), n=cfg["ih_n"])
        seconds_ih = log("the truth") - started
        ref = x_test.astype(np.float64).mean(axis=0)
        truth = true_inthess(x_test.astype(np.float64), ref, ih.time, cfg["ih_n"])
        model_gamma = ih.values[0][:, :, :, 0]  # (rows, p, p, time)
        summary = {"model": _summary(model_gamma, ih.time), "truth": _summary(truth, ih.time)}
        # completeness against IntGrad(t) on the same reference and n: both gaps are
        # Riemann-sum errors, O(1/n)
        ig = sv.surv_intgrad(exp, instance=range(n_test), n=cfg["ih_n"])
        scale = np.abs(ih.pred_diff).max()
        completeness = {
            "rows_vs_intgrad": float(np.abs(ih.values[0].sum(axis=2) - ig.values[0]).max() / scale),
            "inthess_vs_pred_diff": float(np.abs(ih.values[0].sum(axis=(1, 2)) - ih.pred_diff).max() / scale),
            "intgrad_vs_pred_diff": float(np.abs(ig.values[0].sum(axis=1) - ig.pred_diff).max() / scale)}
        shown = int(np.argmax(np.abs(model_gamma[:, 0, 1]).max(axis=1)))
        figures = [save(_curves_figure(ih.time, summary), args.out, "sim_ih_pairs.png"),
                   save(sv.plot.plot_interactions(ih, times=[1.0, T0, 6.0], instance=shown),
                        args.out, "sim_ih_heatmap.png")]
    seconds = log(f"figures in {args.out}; writing {args.results}")
    body = _report(args, cfg, epochs, summary, completeness, ih, shown, seconds_ih, figures,
                   seconds)
    write_section(args.results, NAME, body)
    return {"epochs": epochs,
            "ranking": {k: v["ranking"] for k, v in summary.items()},
            "peak_time": {k: v["peak_time"] for k, v in summary.items()},
            "end_over_peak": {k: v["end_over_peak"] for k, v in summary.items()},
            "completeness": completeness, "figures": figures, "results": args.results}


def _summary(gamma: np.ndarray, time: np.ndarray) -> dict:
    """Pairs ranked by mean |Gamma_ij(t)| over rows and times before t0; the mean
    |treat:age| curve, its peak time and its last value over the peak."""
    rows, cols = np.triu_indices(len(FEATURES), k=1)
    strength = np.abs(gamma[:, rows, cols]).mean(axis=0)  # (pairs, time)
    early = strength[:, time < T0].mean(axis=1)
    order = np.argsort(-early)
    curve = strength[list(zip(rows, cols)).index((0, 1))]
    return {"ranking": [f"{FEATURES[rows[k]]}:{FEATURES[cols[k]]}" for k in order],
            "strength": {f"{FEATURES[r]}:{FEATURES[c]}": s for r, c, s in zip(rows, cols, strength)},
            "curve": curve, "peak_time": float(time[np.argmax(curve)]),
            "end_over_peak": float(curve[-1] / curve.max())}


def _curves_figure(time: np.ndarray, summary: dict):
    """Mean |Gamma_ij(t)| of every pair, fitted DeepHit beside the truth."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for axis, (source, s) in zip(axes, summary.items()):
        for k, (pair, curve) in enumerate(s["strength"].items()):
            axis.plot(time, curve, color=f"C{k}", label=pair, linewidth=2 if k == 0 else 1)
        axis.axvline(T0, color="black", linestyle=":", linewidth=1)
        axis.set_title("DeepHit" if source == "model" else "Truth")
        axis.set_xlabel("Time")
    axes[0].set_ylabel("mean |IntHess(t)| over test rows")
    axes[1].legend(title="Pair", fontsize="small")
    fig.suptitle(f"Integrated Hessians(t) of the survival; dotted: t0 = {T0:g}, where the "
                 "treat:age term stops")
    return fig


def _report(args, cfg, epochs, summary, completeness, ih, shown, seconds_ih, figures,
            seconds) -> str:
    rows = [[source, ", ".join(s["ranking"][:3]), f"{s['peak_time']:.2f}",
             f"{s['end_over_peak']:.2f}"] for source, s in summary.items()]
    checks = [
        ["DeepHit ranks treat:age first (before t0)", summary["model"]["ranking"][0] == "treat:age"],
        ["the truth ranks treat:age first (before t0)", summary["truth"]["ranking"][0] == "treat:age"],
        ["DeepHit's treat:age peaks within 1.5 of t0", abs(summary["model"]["peak_time"] - T0) < 1.5],
        ["DeepHit's treat:age has faded below half its peak by the last time",
         summary["model"]["end_over_peak"] < 0.5],
    ]
    return f"""## Time-resolved interactions (`sim_interactions.py`)

{run_info("sim_interactions.py", args, seconds)}
- **data**: {cfg['n']} rows of the simulation in the script's docstring (treatment x age
  interaction before t0 = {T0:g}), {cfg['n_test']} test rows explained (and used as the
  reference mean); DeepHit fitted on the rest ({epochs['DeepHit']} epochs, early stopping)
- **method**: `surv_inthess(n={cfg['ih_n']})` of the survival, reference = mean of the test
  rows; {seconds_ih:.1f} s for all test rows; the truth by the same double sum on the true S(t | x)

{table(["source", "pairs by mean abs. interaction before t0", "peak of treat:age",
        "last / peak"], rows)}

Completeness, as the largest gap over rows, events and times in % of the largest
|pred_diff|: rows of Gamma against IntGrad(t) (same reference and n)
{completeness['rows_vs_intgrad']:.2%}; all of Gamma against `pred_diff`
{completeness['inthess_vs_pred_diff']:.2%}; IntGrad(t) against `pred_diff`
{completeness['intgrad_vs_pred_diff']:.2%}. All three are Riemann-sum errors that halve
when n doubles.

{table(["check", "passed"], [[c, "yes" if ok else "no"] for c, ok in checks])}

The heatmap shows test row {int(ih.instance[shown])} (the row with the strongest
treat:age interaction) at t = 1, t0 and t = 6.

{figure_links(figures, args.results)}
"""


if __name__ == "__main__":
    main()
