"""Paper Section 5.1.1: time-independent effects, explained for DeepSurv, CoxTime and DeepHit.

Data: :func:`survinng_py.datasets.simulate_time_independent` (x1 ~ N(0, 1) raises the
hazard, x2 ~ U(0, 1) lowers it, x3 ~ U(-1, 1) has no effect; Weibull baseline,
censoring at t = 7) with 500 test rows. The paper's three pycox models are fitted, their
C-index and integrated Brier score set beside the paper's, and Grad(t), SG(t), GxI(t),
IntGrad(t) (reference 0) and GradSHAP(t) of the survival drawn for test rows 13 and 387
(1-based, as in the paper; positions 12 and 386 here). They are the paper's positions,
not its patients: the data come from numpy's generator, not R's.

Checks: x1 lowers the survival (negative attributions), x2 raises it, and x3 gets almost
none: the mean |Grad(t)| (all test rows) and |GradSHAP(t)| (the first test rows) of x3
relative to the smaller of those of x1 and x2.

    python vignettes/sim_time_independent.py            # full: N = 10,000 (70 s on 2 idle cores)
    python vignettes/sim_time_independent.py --quick    # CI: N = 4,000 (under a minute)
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

import survinng_py as sv
from survinng_py.datasets import simulate_time_independent
from _common import (MODELS, PAPER_EPOCHS, PAPER_NOTE, figure_links, fit_and_explain,
                     model_grid, parse_args, performance_table, progress, run_info,
                     save, setup_lines, single_thread, table, write_section)

NAME = "sim_time_independent"
FEATURES = ["x1", "x2", "x3"]
N_TEST = 500
INSTANCES = [12, 386]  # the paper's test rows 13 and 387 (1-based)
#: C-index / IBS in the paper (Section 5.1.1)
PAPER = {"CoxTime": (0.809, 0.099), "DeepHit": (0.809, 0.142), "DeepSurv": (0.809, 0.099)}
#: the paper draws 100 GradSHAP(t) references; 20 keep CoxTime's 5,000-point grid affordable
FULL = {"n": 10_000, "batch_size": 1024, "max_epochs": PAPER_EPOCHS, "sg_n": 50, "ig_n": 50,
        "shap_n": 50, "shap_samples": 20, "check_rows": 50, "check_n": 10,
        "check_samples": 5}
QUICK = {"n": 4000, "batch_size": 256, "max_epochs": dict.fromkeys(MODELS, 40), "sg_n": 10,
         "ig_n": 10, "shap_n": 10, "shap_samples": 10, "check_rows": 20, "check_n": 5,
         "check_samples": 5}
#: (result key, plot kind, plot arguments, file name) of the figures
FIGURES = [("grad", "attr", {}, "sim_tid_grad.png"),
           ("sg", "attr", {}, "sim_tid_smoothgrad.png"),
           ("gxi", "attr", {}, "sim_tid_gxi.png"),
           ("intgrad", "attr", {"add_comp": "pred_diff"}, "sim_tid_intgrad0.png"),
           ("gradshap", "attr", {"add_comp": "pred_diff"}, "sim_tid_gradshap.png"),
           ("gradshap", "contr", {}, "sim_tid_gradshap_contr.png"),
           ("gradshap", "force", {}, "sim_tid_gradshap_force.png")]


def main(argv: Sequence[str] | None = None) -> dict:
    """Run the vignette; returns its numbers (see the module docstring).

    Returns
    -------
    dict
        ``performance`` (model -> C(t*), C_td, IBS), ``epochs``, ``attribution`` (model ->
        method -> per-feature ``mean`` and ``mean_abs`` and ``x3_ratio``), ``figures``
        (paths) and ``results`` (the markdown file written).
    """
    args = parse_args(__doc__, argv)
    cfg = QUICK if args.quick else FULL
    log = progress()
    with single_thread():
        train, x_test, t_star, times, perf, epochs, explainers = fit_and_explain(
            simulate_time_independent(n=cfg["n"], seed=args.seed), FEATURES, N_TEST, cfg, args.seed, log)
        results = _explain_rows(explainers, cfg, args.seed)
        checks = {name: _attribution_check(exp, cfg, args.seed) for name, exp in explainers.items()}
        log("drawing")
        figures = [save(model_grid(results[key], kind, title=_title(results[key], kind), **kw),
                        args.out, file) for key, kind, kw, file in FIGURES]
    seconds = log(f"figures in {args.out}; writing {args.results}")
    body = _report(args, cfg, len(train), t_star, times, perf, epochs, checks, figures, seconds)
    write_section(args.results, NAME, body)
    return {"performance": perf, "epochs": epochs, "attribution": checks, "figures": figures,
            "results": args.results}


def _explain_rows(explainers: dict, cfg: dict, seed: int) -> dict:
    """Every method for the paper's two rows: method key -> model name -> SurvResult."""
    zero = np.zeros((1, len(FEATURES)), np.float32)  # the paper's IntGrad(t) reference
    calls = {
        "grad": lambda e: sv.surv_grad(e, instance=INSTANCES),
        "sg": lambda e: sv.surv_smoothgrad(e, instance=INSTANCES, n=cfg["sg_n"],
                                           noise_level=0.1, seed=seed),
        "gxi": lambda e: sv.surv_grad(e, instance=INSTANCES, times_input=True),
        "intgrad": lambda e: sv.surv_intgrad(e, instance=INSTANCES, n=cfg["ig_n"], x_ref=zero),
        "gradshap": lambda e: sv.surv_gradshap(e, instance=INSTANCES, n=cfg["shap_n"],
                                               num_samples=cfg["shap_samples"], seed=seed),
    }
    return {key: {name: call(exp) for name, exp in explainers.items()}
            for key, call in calls.items()}


def _attribution_check(explainer, cfg: dict, seed: int) -> dict:
    """Mean and mean absolute attribution per feature over rows and time points."""
    results = {
        "Grad(t)": sv.surv_grad(explainer, instance=range(N_TEST)),
        "GradSHAP(t)": sv.surv_gradshap(explainer, instance=range(cfg["check_rows"]),
                                        n=cfg["check_n"], num_samples=cfg["check_samples"],
                                        seed=seed),
    }
    out = {}
    for method, res in results.items():
        values = res.values[0][:, :, 0].astype(np.float64)  # (row, feature, time)
        mean_abs = np.abs(values).mean(axis=(0, 2))
        out[method] = {"rows": len(res.instance),
                       "mean": dict(zip(FEATURES, values.mean(axis=(0, 2)))),
                       "mean_abs": dict(zip(FEATURES, mean_abs)),
                       "x3_ratio": float(mean_abs[2] / mean_abs[:2].min())}
    return out


def _title(results: dict, kind: str) -> str:
    label = next(iter(results.values())).label
    what = {"attr": label, "contr": f"% contribution of {label}",
            "force": f"{label} force plot"}[kind]
    return f"Time-independent simulation: {what} of the survival, test rows 13 and 387 (1-based)"


def _report(args, cfg, n_train, t_star, times, perf, epochs, checks, figures, seconds) -> str:
    rows = []
    for name, methods in checks.items():
        for method, c in methods.items():
            rows.append([name, f"{method} ({c['rows']} rows)",
                         *(f"{c['mean'][f]:+.4f}" for f in FEATURES),
                         *(f"{c['mean_abs'][f]:.4f}" for f in FEATURES), f"{c['x3_ratio']:.3f}"])
    worst = max(c["x3_ratio"] for methods in checks.values() for c in methods.values())
    signs_ok = all(m["Grad(t)"]["mean"]["x1"] < 0 < m["Grad(t)"]["mean"]["x2"]
                   for m in checks.values())
    setup = setup_lines(f"simulate_time_independent(n={cfg['n']}, seed={args.seed})", n_train,
                        N_TEST, cfg["batch_size"], cfg["max_epochs"], t_star, times)
    return f"""## Time-independent effects (paper Section 5.1.1): `{NAME}.py`

{run_info(NAME + ".py", args, seconds)}
{setup}
- **methods**: SG(t) n = {cfg['sg_n']}, noise level 0.1; IntGrad(t) n = {cfg['ig_n']},
  reference 0; GradSHAP(t) n = {cfg['shap_n']} with {cfg['shap_samples']} references
  from the test rows (figures), n = {cfg['check_n']} with {cfg['check_samples']} (table)

### Performance

{performance_table(perf, epochs, PAPER)}

{PAPER_NOTE}

### Attributions of the survival: x1 lowers it, x2 raises it, x3 has no effect

Means over the explained test rows and all time points of each model's grid. x3 ratio =
mean |x3| / min(mean |x1|, mean |x2|). The sign of Grad(t) is the direction of the
effect; that of GradSHAP(t) also depends on where the row lies relative to the
references, so only its magnitudes are compared.

{table(["model", "method", "mean x1", "mean x2", "mean x3", "mean abs x1", "mean abs x2",
        "mean abs x3", "x3 ratio"], rows)}

Mean Grad(t) with the simulated signs (x1 < 0 < x2) for every model:
**{'yes' if signs_ok else 'no'}**; largest x3 ratio: **{worst:.3f}**.

### Figures

{figure_links(figures, args.results)}
"""


if __name__ == "__main__":
    main()
