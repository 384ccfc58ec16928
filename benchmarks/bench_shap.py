"""surv_shap against the survshap package's SurvSHAP(t), and GradSHAP(t) against surv_shap.

The survinng paper's Fig. 5 design (``bench_gradshap.simulate``, ``fit_models``): x ~
N(0, 1)^p, 1000 training and 100 test rows; pycox DeepSurv (and DeepHit, 10 cuts; CoxTime
on request), MLP 32-32. Both SurvSHAP(t) implementations explain the 100 test rows against
the same 25 background rows, drawn once without replacement from them (the paper's
``N = 25``):

- ``survinng_py.surv_shap(exp, instance=range(100), background=those rows)``: exact for
  p <= 12 (all 2^p coalitions), above that Kernel SHAP with shap KernelExplainer's default
  budget (2p + 2048 coalitions), so both see the same number of coalitions;
- survshap's ``ModelSurvSHAP(calculation_method="shap_kernel")`` through the wrapper of
  ``bench_survshap.py`` (pycox's ``predict_surv_df`` as sksurv step functions). It takes
  seconds per instance, so it explains the first ``--survshap-instances`` rows and its
  time for 100 instances is extrapolated linearly, as in ``bench_survshap.py``.

Agreement on the rows survshap explained: the largest absolute difference of the values
and the Spearman correlation of the global rankings (mean |value| over rows and time);
the error of each against the exact values (p <= 12) or, above, against surv_shap's
Kernel SHAP with 16x the coalitions and another seed. The floor: a bare batched forward
pass over as many model rows as surv_shap evaluates (coalitions x 25 x 100).
Local accuracy (``survinng_py.local_accuracy``) of each with the same pred_diff (f(x)
minus the mean over the shared background). GradSHAP(t) (n = 25, 25 references) on the
same models: its time and the Spearman agreement of its global ranking with surv_shap's
(all 100 rows).

Run ``python benchmarks/bench_shap.py`` (full: p in {5, 10, 20, 40}, a few minutes) or
``--quick`` (p = 5, seconds).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")  # shap and survshap draw per-instance bars

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (add_run_options, environment_block, fmt_s, median_times, publish,  # noqa: E402
                     set_threads, table, version, wants_write)
from bench_gradshap import N_TEST, N_TRAIN, fit_models, simulate  # noqa: E402
from bench_survshap import BACKGROUND, CUTS, SurvSHAP, coalitions, replaced, spearman  # noqa: E402

warnings.filterwarnings("ignore", category=UserWarning, module="torchtuples")
warnings.filterwarnings("ignore", category=FutureWarning)
SECTION = "bench_shap"
GRADSHAP = (25, 25)  # GradSHAP(t) (n, num_samples)
TARGET_RATIO = 100  # surv_shap vs survshap, at equal accuracy
EXACT_MAX_P = 12  # surv_shap's exact enumeration limit (methods.shap.MAX_EXACT_PLAYERS)
REFERENCE_FACTOR = 16  # above EXACT_MAX_P: the reference is Kernel SHAP with this many
# times the coalitions (another seed), on the rows survshap explained
FLOOR_ROWS = 100 * N_TEST  # rows of the forward pass timed for the floor (then scaled)


def forward_floor(exp, x: np.ndarray, network_rows: int, repeats: int) -> float:
    """Seconds a bare batched forward pass takes for ``network_rows`` rows (timed on
    :data:`FLOOR_ROWS` rows, scaled linearly): what any SurvSHAP(t) that evaluates that
    many model rows must spend at least."""
    from survinng_py import engine

    inputs = exp.to_inputs(np.tile(x, (FLOOR_ROWS // len(x), 1)), "x", "forward_floor()")
    times = median_times({"forward": lambda: engine.predict(exp.model, inputs, "survival")},
                         repeats)
    return times["forward"]["median"] * network_rows / FLOOR_ROWS


def run_model(name: str, model, data, p: int, k: int, args) -> dict:
    import survinng_py as sv

    x_test, d_test, e_test = data
    exp = sv.explain(model, x_test)
    inst = range(N_TEST)
    survshap = SurvSHAP(model, exp.model.time, x_test, d_test, e_test, args.seed)
    background = x_test[survshap.background]
    num_coalitions = None if p <= EXACT_MAX_P else coalitions(p)
    results = {}
    fns = {
        "surv_shap": lambda: results.__setitem__("surv_shap", sv.surv_shap(
            exp, instance=inst, background=background, num_background=None,
            num_coalitions=num_coalitions, seed=args.seed)),
        "gradshap": lambda: results.__setitem__("gradshap", sv.surv_gradshap(
            exp, instance=inst, n=GRADSHAP[0], num_samples=GRADSHAP[1], replace=False,
            seed=args.seed)),
    }
    # survshap on the first k rows, at most BACKGROUND rows per call (survshap 0.4.2's
    # shap_kernel path fails with more), in slices between the timing rounds
    slices = np.array_split(np.arange(k), min(k, max(args.repeats, -(-k // BACKGROUND))))
    ss_values: list = [None] * len(slices)
    ss_time = [0.0]

    def survshap_slice(i):
        start = time.perf_counter()
        ss_values[i] = survshap.explain(x_test[slices[i]])
        ss_time[0] += time.perf_counter() - start

    times = median_times(fns, args.repeats, warmup=1,
                         between=lambda r: [survshap_slice(i) for i in
                                            range(r, len(slices), args.repeats)])
    for i, done in enumerate(ss_values):
        if done is None:
            survshap_slice(i)
    ss = np.concatenate(ss_values)

    ours, grad = results["surv_shap"], results["gradshap"]
    sub = ours.isel(instance=list(range(k)))
    mine = sub.values[0]
    t_ours = times["surv_shap"]["median"]
    survshap_100 = ss_time[0] / k * N_TEST
    if ours.args["exact"]:
        reference = mine
    else:
        reference = sv.surv_shap(exp, instance=range(k), background=background,
                                 num_background=None, seed=args.seed + 1,
                                 num_coalitions=REFERENCE_FACTOR * num_coalitions).values[0]
    floor = forward_floor(exp, x_test, ours.args["num_coalitions"] * BACKGROUND * N_TEST,
                          args.repeats)
    return {
        "model": name, "p": p, "T": len(exp.model.time), "k": k,
        "exact": ours.args["exact"], "coalitions": ours.args["num_coalitions"],
        "survshap_coalitions": coalitions(p),
        "surv_shap_s": t_ours, "floor_s": floor, "survshap_100": survshap_100,
        "ratio": survshap_100 / t_ours,
        "max_abs_diff": float(np.abs(mine - ss).max()),
        "error_ours": float(np.abs(mine - reference).max()),
        "error_survshap": float(np.abs(ss - reference).max()),
        "scale": float(np.abs(mine).max()),
        "rho": spearman(mine, ss),
        "locacc_ours": sv.local_accuracy(ours)["overall"],
        "locacc_survshap": sv.local_accuracy(replaced(
            sub, values=[ss.astype(mine.dtype)]))["overall"],
        "gradshap_s": times["gradshap"]["median"],
        "gradshap_rho": spearman(grad.values[0], ours.values[0]),
        "gradshap_locacc": sv.local_accuracy(grad)["overall"],
    }


def runtime_table(rows) -> str:
    out = []
    for r in rows:
        extra = "" if r["k"] == N_TEST else " (extrapolated)"
        out.append([r["model"], r["p"], r["T"],
                    f"{'exact' if r['exact'] else 'Kernel SHAP'}, {r['coalitions']:,}",
                    fmt_s(r["surv_shap_s"]), fmt_s(r["floor_s"]),
                    f"{r['survshap_100'] / r['floor_s']:,.0f}x", f"{r['k']}{extra}",
                    r["survshap_coalitions"],
                    fmt_s(r["survshap_100"]), f"**{r['ratio']:,.0f}x**",
                    f"{r['max_abs_diff']:.1e} (of {r['scale']:.2f})",
                    "exact" if r["exact"] else f"{REFERENCE_FACTOR}x coalitions",
                    f"{r['error_ours']:.1e}", f"{r['error_survshap']:.1e}", f"{r['rho']:.3f}",
                    f"{r['locacc_ours']:.1e}", f"{r['locacc_survshap']:.1e}"])
    return table(["model", "p", "T", "surv_shap mode, distinct coalitions",
                  "surv_shap 100 instances", "forward-only floor", "survshap / floor",
                  "survshap rows timed", "survshap coalitions drawn", "survshap 100 instances",
                  "survshap / surv_shap", "max abs difference (max abs value)", "reference",
                  "max abs error surv_shap", "max abs error survshap",
                  "Spearman, global ranking", "local accuracy surv_shap",
                  "local accuracy survshap"], out)


def gradshap_table(rows) -> str:
    out = [[r["model"], r["p"], fmt_s(r["surv_shap_s"]), fmt_s(r["gradshap_s"]),
            f"{r['gradshap_s'] / r['surv_shap_s']:.2f}", f"{r['gradshap_rho']:.3f}",
            f"{r['locacc_ours']:.1e}", f"{r['gradshap_locacc']:.4f}"] for r in rows]
    n, s = GRADSHAP
    return table(["model", "p", "surv_shap", f"GradSHAP(t) ({n}, {s})",
                  "GradSHAP(t) / surv_shap time", "Spearman vs surv_shap, global ranking",
                  "local accuracy surv_shap", "local accuracy GradSHAP(t)"], out)


def verdict(rows) -> list[str]:
    lines = []
    for r in rows:
        met = r["ratio"] >= TARGET_RATIO
        accuracy = ("at least as accurate" if r["error_ours"] <= r["error_survshap"]
                    else "**less accurate**")
        lines.append(f"- {r['model']}, p = {r['p']}: {r['ratio']:,.0f}x "
                     f"({'meets' if met else '**misses**'} >= {TARGET_RATIO}x), surv_shap "
                     f"{accuracy} (max abs error {r['error_ours']:.1e} vs "
                     f"{r['error_survshap']:.1e}).")
    return lines


def floor_summary(rows) -> list[str]:
    """How close surv_shap is to the floor, and what its accuracy at equal budget means."""
    to_floor = [r["surv_shap_s"] / r["floor_s"] for r in rows]
    lines = [f"surv_shap takes {min(to_floor):.1f}-{max(to_floor):.1f}x the floor's time."]
    sampled = [r for r in rows if not r["exact"]]
    if sampled:
        gain = [r["error_survshap"] / max(r["error_ours"], 1e-300) for r in sampled]
        lines[0] += (f" Where both sample coalitions (p > {EXACT_MAX_P}), surv_shap's largest "
                     f"error is {min(gain):.0f}-{max(gain):.0f}x smaller at the same budget "
                     "(it draws coalitions in complementary pairs and keeps every feature), so "
                     "at equal accuracy it would need "
                     "fewer coalitions than survshap; that speed-up is not measured here.")
    return lines


def render(rows, args, epochs) -> str:
    n, s = GRADSHAP
    return "\n".join([
        "## SurvSHAP(t): surv_shap vs the survshap package (`bench_shap.py`)",
        "",
        environment_block({
            "mode": f"{'quick' if args.quick else 'full'}; surv_shap and GradSHAP(t): median "
                    f"of {args.repeats} interleaved rounds after one warm-up; survshap: one "
                    "pass over its rows, timed in slices between those rounds",
            "data": f"x ~ N(0, 1)^p, {N_TRAIN} train / {N_TEST} test rows (the paper's "
                    "`sim_runtime.R`, as `bench_gradshap.py`)",
            "models": f"pycox MLP [32, 32], batch norm, dropout 0.1, {epochs} epoch(s); Cox "
                      f"baseline hazards on 50 time points; DeepHit {CUTS} cuts; float32",
            "background": f"{BACKGROUND} rows drawn once without replacement from the "
                          f"{N_TEST} test rows, the same for both SurvSHAP(t)s",
            "surv_shap": f"`surv_shap(exp, instance=range({N_TEST}), background, "
                         f"num_background=None)`: exact for p <= {EXACT_MAX_P}, else "
                         "`num_coalitions = 2p + 2048`",
            "survshap": f"survshap {version('survshap')} `ModelSurvSHAP(calculation_method="
                        f"\"shap_kernel\")` (shap {version('shap')} KernelExplainer, default "
                        "nsamples = 2p + 2048, all 2^p - 2 coalitions when fewer, default "
                        "l1_reg), via `bench_survshap.SurvSHAP`",
            "GradSHAP(t)": f"`surv_gradshap(n={n}, num_samples={s}, replace=False)`",
        }),
        "",
        "### surv_shap vs survshap (100 instances)",
        "",
        "Seconds for 100 instances; survshap's is its measured per-instance time x 100 "
        "where it explained fewer rows (**extrapolated**). Difference, ranking and "
        "survshap's local accuracy on the rows survshap explained; local accuracy with "
        "pred_diff = f(x) - mean over the shared background for both. Errors against the "
        f"exact values for p <= {EXACT_MAX_P} (surv_shap's own, so its error is 0); above, "
        f"against surv_shap's Kernel SHAP with {REFERENCE_FACTOR}x the coalitions and "
        "another seed (an estimate of the exact values). There survshap also keeps at "
        "most 10 non-zero values per instance and time (shap's default `l1_reg`).",
        "",
        runtime_table(rows),
        "",
        f"**Target: surv_shap >= {TARGET_RATIO}x faster than survshap at equal accuracy.**",
        "",
        *verdict(rows),
        "",
        "Both evaluate the model on every coalition x background row (survshap in one "
        "pycox prediction per instance, surv_shap in batches over all instances), so no "
        "implementation of either can beat a bare batched forward pass over those rows: "
        f"*forward-only floor* is that pass (timed on {FLOOR_ROWS:,} rows, scaled to "
        "surv_shap's distinct coalitions x 25 x 100 rows) and *survshap / floor* the "
        "largest ratio the arithmetic allows. Where that is below the target, reaching it "
        "needs fewer model rows (fewer coalitions or background rows), not a faster "
        "implementation.",
        "",
        *floor_summary(rows),
        "",
        "### GradSHAP(t) vs surv_shap (100 instances)",
        "",
        "GradSHAP(t)'s local accuracy is against its own pred_diff (f(x) - mean over the "
        "explainer data); surv_shap's against its background mean.",
        "",
        gradshap_table(rows),
    ])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="p = 5, DeepSurv, 1 epoch, survshap on 5 rows (seconds); does not "
                             "write RESULTS.md unless --write is given")
    parser.add_argument("--p", type=int, nargs="+", default=None,
                        help="numbers of features (default 5 10 20 40; quick 5)")
    parser.add_argument("--models", nargs="+", default=None,
                        choices=["DeepSurv", "CoxTime", "DeepHit"],
                        help="models (default DeepSurv DeepHit; quick DeepSurv)")
    parser.add_argument("--survshap-instances", type=int, default=None,
                        help="rows survshap explains (default 25 for p <= 10, else 5; "
                             "quick 5)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="training epochs (default 10; quick 1)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed rounds of surv_shap and GradSHAP(t) (default 3; quick 1)")
    add_run_options(parser)
    args = parser.parse_args(argv)
    write = wants_write(args)
    ps = args.p or ([5] if args.quick else [5, 10, 20, 40])
    names = args.models or (["DeepSurv"] if args.quick else ["DeepSurv", "DeepHit"])
    epochs = args.epochs or (1 if args.quick else 10)
    args.repeats = args.repeats or (1 if args.quick else 3)
    set_threads(args.threads)

    rows = []
    for p in ps:
        k = args.survshap_instances or (5 if args.quick or p > 10 else 25)
        k = min(N_TEST, k)
        models, x_test = fit_models(p, epochs, 50, args.seed, cuts=CUTS)
        _, duration, event = simulate(N_TRAIN + N_TEST, p, args.seed)  # fit_models' data
        data = (x_test, duration[N_TRAIN:], event[N_TRAIN:])
        for name in names:
            row = run_model(name, models[name], data, p, k, args)
            rows.append(row)
            print(f"p={p:2d} {name:8s}: surv_shap {fmt_s(row['surv_shap_s'])}, survshap "
                  f"{fmt_s(row['survshap_100'])} (100, from {k} rows): survshap / surv_shap "
                  f"= {row['ratio']:,.0f}x; max |diff| {row['max_abs_diff']:.1e}, rho "
                  f"{row['rho']:.3f}; GradSHAP(t) {fmt_s(row['gradshap_s'])}, rho "
                  f"{row['gradshap_rho']:.3f}", flush=True)
    publish(SECTION, render(rows, args, epochs), write)


if __name__ == "__main__":
    main()
