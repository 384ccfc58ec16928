"""Paper Section 5.1.2: a time-dependent effect that CoxTime and DeepHit find and DeepSurv cannot.

Data: :func:`survinng_py.datasets.simulate_time_dependent`, where
``log h(t | x) = log h0(t) - 3 x1 + 1.7 x2 - 2.4 x3 + 6 x1 log(t)`` (x4 has no effect,
Weibull baseline with shape 1.5, censoring at t = 7), 500 test rows.

Where x1's effect changes sign:

- on the hazard, d log h / d x1 = 6 log(t) - 3 is 0 at ``t = exp(0.5) = 1.649`` for
  every row;
- on the survival, ``S = exp(-H)`` with ``H(t | x) = 0.15 exp(eta) t**a / a``,
  ``a = 1.5 + 6 x1``, ``eta = -3 x1 + 1.7 x2 - 2.4 x3``, so
  ``d S / d x1 = -S H (6 log(t) - 3 - 6 / a)``: positive (x1 protects) before
  ``t = exp(0.5 + 1 / (1.5 + 6 x1))`` and negative after. That time lies between 1.88
  (x1 = 1) and 3.21 (x1 = 0): later than the hazard's, because the survival integrates
  the early protection.

The vignette fits the paper's three pycox models, compares C-index and IBS with the
paper, computes Grad(t) of the survival of x1 for every test row and finds where it
turns from positive to negative (:func:`_common.sign_change_time`), against the exact
time above, on the rows whose true survival at that time is between 0.1 and 0.9 (below,
the gradient has faded; above, hardly anything has happened yet). DeepSurv's Grad(t) is
its log-risk gradient times a negative factor of t, so it cannot change sign. For
CoxTime the Grad(t) of the hazard must change sign at 1.649. Figures show Grad(t) and
GradSHAP(t) for two test rows near (x1, x2, x3) = (0.2, 0, 0) and (0.8, 0, 0) (the
paper's rows 79 and 428 are not reused: with this data their survival at the change is
0.998 and 0.026) with the true change marked, and estimated against true times.

    python vignettes/sim_time_dependent.py            # full: N = 10,000 (70 s on 2 idle cores)
    python vignettes/sim_time_dependent.py --quick    # CI: N = 3,000 (under a minute)
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

import survinng_py as sv
from survinng_py.datasets import simulate_time_dependent
from _common import (MODELS, PAPER_EPOCHS, PAPER_NOTE, figure_links, fit_and_explain,
                     model_grid, parse_args, performance_table, progress, run_info,
                     save, setup_lines, sign_change_time, single_thread, table, write_section)

NAME = "sim_time_dependent"
FEATURES = ["x1", "x2", "x3", "x4"]
N_TEST = 500
#: where x1's effect on the hazard changes sign, for every row
HAZARD_FLIP = float(np.exp(0.5))
#: (x1, x2, x3) near which the two figure rows are taken
SHOWN = ((0.2, 0.0, 0.0), (0.8, 0.0, 0.0))
#: C-index / IBS in the paper (Section 5.1.2)
PAPER = {"CoxTime": (0.846, 0.058), "DeepHit": (0.806, 0.096), "DeepSurv": (0.860, 0.060)}
#: the paper draws 100 GradSHAP(t) references; 20 keep CoxTime's 5,000-point grid affordable
FULL = {"n": 10_000, "batch_size": 1024, "max_epochs": PAPER_EPOCHS, "shap_n": 50,
        "shap_samples": 20}
QUICK = {"n": 3000, "batch_size": 256, "max_epochs": dict.fromkeys(MODELS, 40), "shap_n": 10,
         "shap_samples": 10}
#: (result key, plot kind, plot arguments, file name) of the figures
FIGURES = [("grad", "attr", {}, "sim_td_grad.png"),
           ("gradshap", "attr", {"add_comp": "pred_diff"}, "sim_td_gradshap.png"),
           ("gradshap", "force", {}, "sim_td_gradshap_force.png")]


def survival_flip_time(x1: np.ndarray) -> np.ndarray:
    """Where the true d S(t | x) / d x1 changes sign: ``exp(0.5 + 1 / (1.5 + 6 x1))``."""
    return np.exp(0.5 + 1 / (1.5 + 6 * np.asarray(x1)))


def true_cum_hazard(t: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``H(t | x) = 0.15 exp(eta) t**a / a`` of the simulation for rows ``x`` (columns
    x1..x4); ``t`` is one time per row, or a row of times giving ``(rows, times)``."""
    a = 1.5 + 6 * x[:, 0]
    eta = -3 * x[:, 0] + 1.7 * x[:, 1] - 2.4 * x[:, 2]
    if np.ndim(t) == 2:
        a, eta = a[:, None], eta[:, None]
    return 0.1 * 1.5 * np.exp(eta) * t ** a / a


def true_survival(t: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``S(t | x) = exp(-H(t | x))``, shaped as :func:`true_cum_hazard`."""
    return np.exp(-true_cum_hazard(t, x))


def true_grad_x1(t: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``d S(t | x) / d x1 = -S H (6 log t - 3 - 6 / a)``, ``(rows, times)``."""
    t = np.asarray(t)[None, :]
    a = (1.5 + 6 * x[:, 0])[:, None]
    cum_hazard = true_cum_hazard(t, x)
    return -np.exp(-cum_hazard) * cum_hazard * (6 * np.log(t) - 3 - 6 / a)


def main(argv: Sequence[str] | None = None) -> dict:
    """Run the vignette; returns its numbers (see the module docstring).

    Returns
    -------
    dict
        ``performance``, ``epochs``, ``flip`` (model -> ``rows`` evaluated, ``changed``
        (share of them whose Grad(t) of x1 changes from + to -), ``median_estimate``,
        ``median_true``, ``median_abs_error``), ``hazard_flip`` (the same for CoxTime's
        d log h / d x1 on all test rows, changing from - to +, against exp(0.5)),
        ``shown`` (the figure rows),
        ``figures`` and ``results``.
    """
    args = parse_args(__doc__, argv)
    cfg = QUICK if args.quick else FULL
    log = progress()
    with single_thread():
        train, x_test, t_star, times, perf, epochs, explainers = fit_and_explain(
            simulate_time_dependent(n=cfg["n"], seed=args.seed), FEATURES, N_TEST, cfg, args.seed, log)

        x = x_test.astype(np.float64)
        true_flip = survival_flip_time(x[:, 0])
        s_at_flip = true_survival(true_flip, x)
        rows = np.flatnonzero((s_at_flip > 0.1) & (s_at_flip < 0.9))
        # how large the early positive part is in truth, relative to the whole curve: the
        # sign-change detector ignores values below 1% of it
        truth = true_grad_x1(np.linspace(1e-3, 7, 2000), x[rows])
        true_positive_share = float((truth.max(axis=1) / np.abs(truth).max(axis=1)).min())
        estimates = {name: _survival_sign_changes(exp, rows) for name, exp in explainers.items()}
        flip = {name: _summary(est, true_flip[rows]) for name, est in estimates.items()}
        slopes = {name: _log_hazard_slope(explainers[name]) for name in ("CoxTime", "DeepSurv")}
        t_hazard, slope = slopes["CoxTime"]
        hazard_flip = _summary(np.array([sign_change_time(t_hazard, row, before=-1)
                                         for row in slope]), np.full(len(slope), HAZARD_FLIP))

        log("explaining the figure rows and drawing")
        shown = [_closest_row(x, target) for target in SHOWN]
        results = {
            "grad": {n: sv.surv_grad(e, instance=shown) for n, e in explainers.items()},
            "gradshap": {n: sv.surv_gradshap(e, instance=shown, n=cfg["shap_n"],
                                             num_samples=cfg["shap_samples"], seed=args.seed)
                         for n, e in explainers.items()}}
        marks = [[true_flip[i]] for i in shown]
        figures = [save(model_grid(results[key], kind, marks=marks,
                                   title=_title(results[key], kind, x[shown], true_flip[shown]),
                                   **kw), args.out, file)
                   for key, kind, kw, file in FIGURES]
        figures.append(save(_flip_figure(estimates, true_flip[rows]), args.out,
                            "sim_td_flip_times.png"))
        figures.append(save(_slope_figure(slopes), args.out, "sim_td_log_hazard_slope.png"))
    seconds = log(f"figures in {args.out}; writing {args.results}")
    body = _report(args, cfg, len(train), t_star, times, perf, epochs, flip, hazard_flip,
                   shown, x, true_flip, s_at_flip, true_positive_share, figures, seconds)
    write_section(args.results, NAME, body)
    return {"performance": perf, "epochs": epochs, "flip": flip, "hazard_flip": hazard_flip,
            "shown": shown, "figures": figures, "results": args.results}


def _survival_sign_changes(explainer, rows: np.ndarray) -> np.ndarray:
    """Per row, where Grad(t) of the survival w.r.t. x1 turns from + to - (NaN: never)."""
    grad = sv.surv_grad(explainer, instance=rows)
    return np.array([sign_change_time(grad.time, curve) for curve in grad.values[0][:, 0, 0]])


def _summary(estimate: np.ndarray, truth: np.ndarray) -> dict:
    """Share of rows with a sign change and medians over those rows."""
    found = ~np.isnan(estimate)

    def median(values):
        return float(np.median(values[found])) if found.any() else float("nan")
    return {"rows": len(estimate), "changed": float(found.mean()),
            "median_estimate": median(estimate), "median_true": median(truth),
            "median_abs_error": median(np.abs(estimate - truth))}


def _log_hazard_slope(explainer) -> tuple[np.ndarray, np.ndarray]:
    """d log h(t | x) / d x1 of every test row: Grad(t) of the hazard over the hazard.

    Returns the times with a non-zero baseline jump (elsewhere the hazard is 0 and has no
    log) and the slopes, ``(row, time)``.
    """
    hazard = sv.surv_grad(explainer, instance=range(N_TEST), target="hazard")
    active = (hazard.pred[:, 0] > 0).all(axis=0)
    slope = hazard.values[0][:, 0, 0, active] / hazard.pred[:, 0, active]
    return hazard.time[active], slope.astype(np.float64)


def _closest_row(x: np.ndarray, target: tuple) -> int:
    # x1 lives on [0, 1], x2 and x3 on N(0, 1): weight x1 so that all three count alike
    distance = (4 * (x[:, 0] - target[0])) ** 2 + (x[:, 1] - target[1]) ** 2 \
        + (x[:, 2] - target[2]) ** 2
    return int(np.argmin(distance))


def _title(results: dict, kind: str, x_shown: np.ndarray, flips: np.ndarray) -> str:
    label = next(iter(results.values())).label
    what = label if kind == "attr" else f"{label} force plot"
    rows = "; ".join(f"x1 = {x[0]:.2f}: t = {t:.2f}" for x, t in zip(x_shown, flips))
    return (f"Time-dependent simulation: {what} of the survival\n"
            f"dotted: where x1's true effect on the survival changes sign ({rows})")


def _flip_figure(estimates: dict, truth: np.ndarray):
    """Estimated against true sign-change times of Grad(t) of x1, one panel per model."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 4.2), layout="constrained")
    axes = fig.subplots(1, len(estimates), sharex=True, sharey=True)
    lo = truth.min() - 0.3
    hi = max(truth.max(), *(np.nanmax(e, initial=0) for e in estimates.values())) + 0.3
    for axis, (name, est) in zip(axes, estimates.items()):
        found = ~np.isnan(est)
        axis.scatter(truth[found], est[found], s=9, alpha=0.6, color="C0")
        axis.plot([lo, hi], [lo, hi], color="black", linewidth=0.8, label="estimate = truth")
        axis.set_title(f"{name}: + to - change in {found.sum()} of {len(est)} rows")
        if not found.any():
            axis.text(0.5, 0.5, "no sign change\n(proportional hazards)", ha="center",
                      va="center", transform=axis.transAxes)
        axis.set_xlabel("True time of the sign change of dS/dx1")
        axis.set_xlim(lo, hi)
        axis.set_ylim(0, hi)
    axes[0].set_ylabel("Where Grad(t) of x1 changes sign")
    axes[0].legend(loc="upper left", fontsize="small")
    fig.suptitle("Time-dependent simulation: sign change of x1's Grad(t) of the survival, "
                 "test rows with true S(t) in (0.1, 0.9) at the change")
    return fig


def _slope_figure(slopes: dict):
    """Median and quartiles over the test rows of d log h / d x1 against the truth."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.5), layout="constrained")
    axis = fig.subplots()
    t_max = max(t.max() for t, _ in slopes.values())
    t_true = np.linspace(0.05, t_max, 200)
    axis.plot(t_true, 6 * np.log(t_true) - 3, color="black", linewidth=1.5,
              label="truth: 6 log(t) - 3")
    for k, (name, (t, slope)) in enumerate(slopes.items()):
        q1, median, q3 = np.quantile(slope, [0.25, 0.5, 0.75], axis=0)
        axis.fill_between(t, q1, q3, color=f"C{k}", alpha=0.25, linewidth=0)
        axis.plot(t, median, color=f"C{k}", linewidth=1.3,
                  label=f"{name} (median and quartiles over {len(slope)} test rows)")
    axis.axhline(0, color="black", linewidth=0.6)
    axis.axvline(HAZARD_FLIP, color="dimgrey", linestyle=":", linewidth=1.2)
    axis.set_ylim(-8, 10)
    axis.set_xlabel("Time")
    axis.set_ylabel("d log h(t | x) / d x1")
    axis.legend(fontsize="small", loc="upper left")
    axis.set_title("Time-dependent simulation: x1's effect on the log hazard "
                   "(Grad(t) of the hazard / hazard)\ndotted: t = exp(0.5), where it changes "
                   "sign; DeepHit has no hazard target", fontsize="medium")
    return fig


def _report(args, cfg, n_train, t_star, times, perf, epochs, flip, hazard_flip, shown, x,
            true_flip, s_at_flip, true_positive_share, figures, seconds) -> str:
    def num(value):  # no sign change found: no time to report
        return "-" if np.isnan(value) else f"{value:.2f}"
    flip_rows = [[name, f["rows"], f"{100 * f['changed']:.0f}%", num(f["median_estimate"]),
                  num(f["median_true"]), num(f["median_abs_error"])] for name, f in flip.items()]
    shown_rows = [[i, *(f"{v:.2f}" for v in x[i]), f"{true_flip[i]:.2f}", f"{s_at_flip[i]:.2f}"]
                  for i in shown]
    setup = setup_lines(f"simulate_time_dependent(n={cfg['n']}, seed={args.seed})", n_train,
                        N_TEST, cfg["batch_size"], cfg["max_epochs"], t_star, times)
    return f"""## Time-dependent effects (paper Section 5.1.2): `{NAME}.py`

{run_info(NAME + ".py", args, seconds)}
{setup}
- **methods**: Grad(t) of the survival (sign changes, all rows below); GradSHAP(t)
  n = {cfg['shap_n']} with {cfg['shap_samples']} references from the test rows (figures)

### Performance

{performance_table(perf, epochs, PAPER)}

{PAPER_NOTE}

### Where x1's effect changes sign

True: on the hazard at t = e^0.5 = {HAZARD_FLIP:.3f} for every row; on the survival at
t = exp(0.5 + 1 / (1.5 + 6 x1)) (from d S / d x1 = -S H (6 log t - 3 - 6 / (1.5 + 6 x1))).
Evaluated on the test rows whose true survival at that time is in (0.1, 0.9). Estimate: the
zero between the last positive and the next negative value of the row's Grad(t) of x1
(values within 1% of the row's largest |Grad(t)| count as 0; in truth the positive part
reaches at least {100 * true_positive_share:.1f}% of the largest |dS/dx1| on these rows, so
a model that misses the change has too weak an early effect, not one below the threshold).

{table(["model", "rows", "+ to - change found", "median estimated time", "median true time",
        "median abs. error"], flip_rows)}

On the hazard (CoxTime; the slope d log h / d x1 = Grad(t) of the hazard divided by the
hazard, at the {hazard_flip['rows']} test rows' grid points with a non-zero baseline jump):
a - to + change in {100 * hazard_flip['changed']:.0f}% of the rows, at a median
t = {hazard_flip['median_estimate']:.3f} (true: {HAZARD_FLIP:.3f}; median absolute error
{hazard_flip['median_abs_error']:.3f}). DeepSurv's slope is constant in t by construction
(figure `sim_td_log_hazard_slope.png`).

Rows in the figures (0-based test positions):

{table(["row", *FEATURES, "true change of dS/dx1", "true S there"], shown_rows)}

### Figures

{figure_links(figures, args.results)}
"""


if __name__ == "__main__":
    main()
