"""GradSHAP(t) and exact modality Shapley values for 100 patients of the multimodal digits model.

The model is the one of ``vignettes/multimodal.py`` (imported, not copied): an 8x8 digit
image, 4 tabular covariates and a 12-step, 2-channel vitals sequence, fused by a CNN +
MLP + GRU network and trained with a DeepHit head (``DeepHitSingle``, 20 cut points) and a
Cox head (``CoxPH``, Breslow baseline on at most 40 times). Timing is the point, not fit
quality, so training is short by default (``--epochs``). The explainer data are the test
patients (the background pool); the first ``--instances`` (100) of them are explained.

Timed, median of ``--repeats`` rounds after one warm-up round, the calls interleaved
(``_common.median_times``):

- ``surv_gradshap(exp, instance=range(100), n=50, num_samples=10, seed=0)``: 50,000 points;
- ``modality_shapley(exp, instance=range(100))``: mean reference, 2^3 = 8 modality subsets,
  800 network rows;
- ``modality_shapley(exp, instance=range(100), num_samples=10, seed=0)``: 10 sampled
  references, 8,000 rows;
- ``surv_grad(exp, instance=range(100))`` and a plain forward pass over the 100 patients,
  for scale.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (add_run_options, wants_write, HERE, environment_block, fmt_s, median_times, set_threads,  # noqa: E402
                     table, publish)

SECTION = "bench_multimodal"
VIGNETTES = HERE.parent / "vignettes"


def load_vignette():
    """``vignettes/multimodal.py``, imported with the vignettes' ``_common`` (this folder
    has its own module of that name)."""
    ours = sys.modules.pop("_common")
    sys.path.insert(0, str(VIGNETTES))
    try:
        return importlib.import_module("multimodal")
    finally:
        sys.path.remove(str(VIGNETTES))
        sys.modules["_common"] = ours


def run_model(name: str, exp, instances: int, n: int, num_samples: int, repeats: int) -> dict:
    import survinng_py as sv
    from survinng_py import engine

    rows = range(instances)
    inputs = [d[:instances] for d in exp.data]
    calls = {
        "gradshap": lambda: sv.surv_gradshap(exp, instance=rows, n=n, num_samples=num_samples,
                                             seed=0),
        "shapley_mean": lambda: sv.modality_shapley(exp, instance=rows),
        "shapley_sampled": lambda: sv.modality_shapley(exp, instance=rows,
                                                       num_samples=num_samples, seed=0),
        "grad": lambda: sv.surv_grad(exp, instance=rows),
        "forward": lambda: engine.predict(exp.model, inputs, "survival", exp.memory_budget),
    }
    times = median_times(calls, repeats)
    gradshap, mean, sampled = (calls[k]() for k in ("gradshap", "shapley_mean",
                                                      "shapley_sampled"))
    return {"model": name, "times": len(exp.model.time),
            **{f"{k}_s": t["median"] for k, t in times.items()},
            "gradshap_locacc": sv.local_accuracy(gradshap)["overall"],
            "efficiency_gap": max(float(np.abs(r.values[0].sum(1) - r.pred_diff).max())
                                  for r in (mean, sampled))}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="20 instances, n = 10, 600 patients, 1 epoch, 1 repeat (seconds); "
                             "does not write RESULTS.md unless --write is given")
    parser.add_argument("--instances", type=int, default=None,
                        help="explained patients (default 100; quick 20)")
    parser.add_argument("--n", type=int, default=None,
                        help="GradSHAP integration points per reference (default 50; quick 10)")
    parser.add_argument("--num-samples", type=int, default=10,
                        help="GradSHAP references, and sampled Shapley references (default 10)")
    parser.add_argument("--patients", type=int, default=None,
                        help="simulated patients, 3/4 for training (default 2000; quick 600)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="most training epochs (default 5; quick 1)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed rounds, median reported (default 3; quick 1)")
    add_run_options(parser)
    args = parser.parse_args(argv)
    write = wants_write(args)
    instances = args.instances or (20 if args.quick else 100)
    n = args.n or (10 if args.quick else 50)
    patients = args.patients or (600 if args.quick else 2000)
    epochs = args.epochs or (1 if args.quick else 5)
    repeats = args.repeats or (1 if args.quick else 3)
    set_threads(args.threads)

    mm = load_vignette()
    n_train = patients * 3 // 4
    data = mm.simulate(patients, args.seed)
    models, _ = mm.fit_models(data, n_train, epochs, args.seed)
    explainers = mm.explainers(models, [a[n_train:] for a in data["inputs"]])
    rows = []
    for name, exp in explainers.items():
        row = run_model(name, exp, instances, n, args.num_samples, repeats)
        rows.append(row)
        print(f"{name:8s} ({row['times']} times): GradSHAP {fmt_s(row['gradshap_s'])} (local "
              f"accuracy {row['gradshap_locacc']:.4f}), modality Shapley "
              f"{fmt_s(row['shapley_mean_s'])} (mean ref) / {fmt_s(row['shapley_sampled_s'])} "
              f"({args.num_samples} refs), Grad {fmt_s(row['grad_s'])}, forward "
              f"{fmt_s(row['forward_s'])}", flush=True)
    body = render(rows, args, instances, n, patients, n_train, epochs, repeats)
    publish(SECTION, body, write)


def render(rows: list[dict], args, instances: int, n: int, patients: int, n_train: int,
           epochs: int, repeats: int) -> str:
    k = args.num_samples
    table_rows = [[r["model"], r["times"], f"**{fmt_s(r['gradshap_s'])}**",
                   f"{r['gradshap_locacc']:.4f}", f"**{fmt_s(r['shapley_mean_s'])}**",
                   fmt_s(r["shapley_sampled_s"]), f"{r['efficiency_gap']:.1e}",
                   fmt_s(r["grad_s"]), fmt_s(r["forward_s"])] for r in rows]
    return "\n".join([
        f"## Multimodal digits model: GradSHAP(t) and modality Shapley for {instances} patients "
        "(`bench_multimodal.py`)",
        "",
        environment_block({
            "mode": f"{'quick' if args.quick else 'full'}; median of {repeats} interleaved "
                    "round(s) after one warm-up round",
            "data": f"`vignettes/multimodal.py` `simulate({patients}, seed={args.seed})`: image "
                    "(1, 8, 8) from `load_digits`, tabular (4,), sequence (12, 2); "
                    f"{n_train} training patients, the other {patients - n_train} are the "
                    f"explainer data, the first {instances} of them explained",
            "models": f"the vignette's `fit_models`: CNN + MLP + GRU fusion network, at most "
                      f"{epochs} epoch(s), DeepHit (20 cut points) and DeepSurv (CoxPH); "
                      "float32",
            "calls": f"`surv_gradshap(exp, instance=range({instances}), n={n}, "
                     f"num_samples={k}, seed=0)` ({instances * n * k:,} points); "
                     f"`modality_shapley(exp, instance=...)` (mean reference, 8 subsets: "
                     f"{instances * 8:,} network rows) and with `num_samples={k}, seed=0` "
                     f"({instances * 8 * k:,} rows); `surv_grad`; a forward pass "
                     "(`engine.predict`) over the explained patients",
        }),
        "",
        table(["model", "times", f"GradSHAP(t) n={n}, {k} refs", "its local accuracy",
               "modality Shapley (mean ref)", f"modality Shapley ({k} sampled refs)",
               "Shapley efficiency gap (max)", "Grad(t)", "forward pass"], table_rows),
        "",
        "Exact modality Shapley values need only forward passes (2^M subsets x references per "
        "patient), so they cost a few forward passes where GradSHAP(t) costs "
        f"{n * k} Jacobians per patient; they decompose the prediction over the modalities "
        "only, while GradSHAP(t) also gives every pixel, covariate and sequence cell. The "
        "efficiency gap is |sum over modalities - (pred - pred_ref)|, float32 rounding.",
    ])


if __name__ == "__main__":
    main()
