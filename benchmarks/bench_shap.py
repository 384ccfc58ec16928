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
Kernel SHAP with 16x the coalitions and another seed.

Equal accuracy: surv_shap's coalition budgets (powers of two) are tried upwards on the
rows survshap explained until the worst error over three seeds is at most survshap's;
that setting (or exact enumeration) is timed for 100 instances side by side with the
equal-budget one. The floor: a bare batched forward pass over as many model rows as
surv_shap evaluates (coalitions x 25 x 100) in its batch size, timed in the same rounds;
CPU seconds (``time.process_time``) of every timed call are reported next to wall time,
and one instrumented call splits surv_shap's CPU time into model predictions and the rest.
Local accuracy (``survinng_py.local_accuracy``) of each with the same pred_diff (f(x)
minus the mean over the shared background). GradSHAP(t) (n = 25, 25 references) on the
same models: its time and the Spearman agreement of its global ranking with surv_shap's
(all 100 rows).

Run ``python benchmarks/bench_shap.py`` (full: p in {5, 10, 20, 40}, about 15 minutes) or
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
LADDER_SEEDS = 3  # a budget reaches survshap's accuracy when it does with every one of
# these seeds (none of them the reference's)


def max_error(values: np.ndarray, reference: np.ndarray) -> float:
    return float(np.abs(values - reference).max())


def ladder(p: int) -> list[int]:
    """Coalition budgets tried for equal accuracy: powers of two from the first above p
    up to below survshap's budget (for p <= EXACT_MAX_P, below 2^p: above it exact
    enumeration is cheaper)."""
    top = 2 ** p if p <= EXACT_MAX_P else REFERENCE_FACTOR // 2 * coalitions(p)
    budget = 1 << p.bit_length()
    out = []
    while budget < top:
        out.append(budget)
        budget *= 2
    return out


def equal_accuracy(explain_rows, reference: np.ndarray, target: float, p: int, seed: int):
    """The smallest setting of surv_shap whose largest error against ``reference`` is at
    most ``target`` (survshap's) with each of :data:`LADDER_SEEDS` seeds: ``(budget,
    worst error, tried)``; budget None means exact enumeration, and ``(None, nan, tried)``
    above EXACT_MAX_P means no budget on the ladder reached it. ``explain_rows(budget,
    seed)`` gives surv_shap's values on the rows survshap explained."""
    tried = []
    for budget in ladder(p):
        worst = max(max_error(explain_rows(budget, seed + 100 + i), reference)
                    for i in range(LADDER_SEEDS))
        tried.append((budget, worst))
        if worst <= target:
            return budget, worst, tried
    if p <= EXACT_MAX_P:
        return None, max_error(explain_rows(None, seed), reference), tried
    return None, float("nan"), tried


def floor_call(exp, x: np.ndarray, network_rows: int):
    """A bare batched forward pass over ``network_rows`` rows in surv_shap's batch size
    (``engine.predict_rows``): what any SurvSHAP(t) that evaluates that many model rows
    must spend at least."""
    from survinng_py import engine

    step = engine.predict_rows(exp.model, exp.to_inputs(x, "x", "floor"), exp.memory_budget)
    batch = exp.to_inputs(np.resize(x, (step, x.shape[1])), "x", "floor")
    full, rest = divmod(network_rows, step)
    last = [b[:rest] for b in batch]

    def run():
        for _ in range(full):
            engine.predict(exp.model, batch, "survival", exp.memory_budget)
        if rest:
            engine.predict(exp.model, last, "survival", exp.memory_budget)
    return run


def cpu_split(call, floor) -> dict:
    """Process (CPU) seconds of one surv_shap call, of its model predictions, and of the
    floor: unlike wall-clock time, not inflated by other processes on shared cores."""
    from survinng_py import engine

    spent = [0.0]
    predict = engine.predict

    def counted(*args, **kwargs):
        start = time.process_time()
        try:
            return predict(*args, **kwargs)
        finally:
            spent[0] += time.process_time() - start

    engine.predict = counted
    try:
        start = time.process_time()
        call()
        total = time.process_time() - start
    finally:
        engine.predict = predict
    start = time.process_time()
    floor()
    return {"cpu_total": total, "cpu_predict": spent[0], "cpu_floor": time.process_time() - start}


def with_cpu(fns: dict, cpu: dict) -> dict:
    """``fns`` that also record their process (CPU) seconds per call in ``cpu[name]``."""
    def timed(name, fn):
        def run():
            start = time.process_time()
            fn()
            cpu.setdefault(name, []).append(time.process_time() - start)
        return run
    return {name: timed(name, fn) for name, fn in fns.items()}


def cpu_median(cpu: dict, name: str, repeats: int) -> float:
    return float(np.median(cpu[name][-repeats:]))  # the timed rounds, not the warm-up


def run_model(name: str, model, data, p: int, k: int, args) -> dict:
    import survinng_py as sv

    x_test, d_test, e_test = data
    exp = sv.explain(model, x_test)
    inst = range(N_TEST)
    survshap = SurvSHAP(model, exp.model.time, x_test, d_test, e_test, args.seed)
    background = x_test[survshap.background]
    num_coalitions = None if p <= EXACT_MAX_P else coalitions(p)

    def ours(instances, budget, seed):
        return sv.surv_shap(exp, instance=instances, background=background,
                            num_background=None, num_coalitions=budget, seed=seed)

    results = {}
    default_rows = ours(range(1), num_coalitions, args.seed).args["num_coalitions"]
    floor = floor_call(exp, x_test, default_rows * BACKGROUND * N_TEST)
    fns = {
        "surv_shap": lambda: results.__setitem__("surv_shap", ours(inst, num_coalitions,
                                                                   args.seed)),
        "floor": floor,
        "gradshap": lambda: results.__setitem__("gradshap", sv.surv_gradshap(
            exp, instance=inst, n=GRADSHAP[0], num_samples=GRADSHAP[1], replace=False,
            seed=args.seed)),
    }
    # survshap on the first k rows, at most BACKGROUND rows per call (survshap 0.4.2's
    # shap_kernel path fails with more), in slices between the timing rounds
    slices = np.array_split(np.arange(k), min(k, max(args.repeats, -(-k // BACKGROUND))))
    ss_values: list = [None] * len(slices)
    ss_time, ss_cpu = [0.0], [0.0]

    def survshap_slice(i):
        start, start_cpu = time.perf_counter(), time.process_time()
        ss_values[i] = survshap.explain(x_test[slices[i]])
        ss_time[0] += time.perf_counter() - start
        ss_cpu[0] += time.process_time() - start_cpu

    cpu: dict = {}
    times = median_times(with_cpu(fns, cpu), args.repeats, warmup=1,
                         between=lambda r: [survshap_slice(i) for i in
                                            range(r, len(slices), args.repeats)])
    for i, done in enumerate(ss_values):
        if done is None:
            survshap_slice(i)
    ss = np.concatenate(ss_values)

    mine_all, grad = results["surv_shap"], results["gradshap"]
    sub = mine_all.isel(instance=list(range(k)))
    mine = sub.values[0]
    t_ours = times["surv_shap"]["median"]
    survshap_100 = ss_time[0] / k * N_TEST
    survshap_cpu_100 = ss_cpu[0] / k * N_TEST
    cpu_ours = cpu_median(cpu, "surv_shap", args.repeats)
    # the reference on the k rows: exact, or Kernel SHAP with REFERENCE_FACTOR x budget
    reference = mine if mine_all.args["exact"] else ours(
        range(k), REFERENCE_FACTOR * num_coalitions, args.seed + 1).values[0]
    error_survshap = max_error(ss, reference)
    budget, equal_error, tried = equal_accuracy(
        lambda b, s: ours(range(k), b, s).values[0], reference, error_survshap, p, args.seed)
    reached = not (budget is None and p > EXACT_MAX_P)
    equal = {"equal_budget": budget, "equal_error": equal_error, "equal_reached": reached,
             "tried": tried, "equal_coalitions": None, "equal_s": float("nan"),
             "equal_ratio": float("nan"), "equal_cpu_ratio": float("nan")}
    if budget == num_coalitions:  # the equal-budget setting itself
        equal.update(equal_coalitions=mine_all.args["num_coalitions"], equal_s=t_ours,
                     equal_ratio=survshap_100 / t_ours,
                     equal_cpu_ratio=survshap_cpu_100 / cpu_ours)
    elif reached:
        # the setting found, timed side by side with the default one; survshap's time
        # was taken side by side with the default: the ratio chains the two
        both = {"surv_shap": lambda: ours(inst, num_coalitions, args.seed),
                "equal": lambda: results.__setitem__("equal", ours(inst, budget, args.seed))}
        cpu_again: dict = {}
        again = median_times(with_cpu(both, cpu_again), args.repeats, warmup=1)
        speedup = again["surv_shap"]["median"] / again["equal"]["median"]
        cpu_speedup = (cpu_median(cpu_again, "surv_shap", args.repeats)
                       / cpu_median(cpu_again, "equal", args.repeats))
        equal.update(equal_coalitions=results["equal"].args["num_coalitions"],
                     equal_s=again["equal"]["median"],
                     equal_ratio=survshap_100 / t_ours * speedup,
                     equal_cpu_ratio=survshap_cpu_100 / cpu_ours * cpu_speedup)
    split = cpu_split(lambda: ours(inst, num_coalitions, args.seed), floor)
    return {
        "model": name, "p": p, "T": len(exp.model.time), "k": k,
        "exact": mine_all.args["exact"], "coalitions": mine_all.args["num_coalitions"],
        "survshap_coalitions": coalitions(p),
        "surv_shap_s": t_ours, "floor_s": times["floor"]["median"],
        "survshap_100": survshap_100, "ratio": survshap_100 / t_ours,
        "survshap_cpu_100": survshap_cpu_100, "cpu_ratio": survshap_cpu_100 / cpu_ours,
        "max_abs_diff": float(np.abs(mine - ss).max()),
        "error_ours": max_error(mine, reference), "error_survshap": error_survshap,
        "scale": float(np.abs(mine).max()),
        "rho": spearman(mine, ss),
        "locacc_ours": sv.local_accuracy(mine_all)["overall"],
        "locacc_survshap": sv.local_accuracy(replaced(
            sub, values=[ss.astype(mine.dtype)]))["overall"],
        "gradshap_s": times["gradshap"]["median"],
        "gradshap_rho": spearman(grad.values[0], mine_all.values[0]),
        "gradshap_locacc": sv.local_accuracy(grad)["overall"],
        **equal, **split,
    }


def runtime_table(rows) -> str:
    out = []
    for r in rows:
        extra = "" if r["k"] == N_TEST else " (extrapolated)"
        out.append([r["model"], r["p"], r["T"],
                    f"{'exact' if r['exact'] else 'Kernel SHAP'}, {r['coalitions']:,}",
                    fmt_s(r["surv_shap_s"]), f"{r['k']}{extra}",
                    r["survshap_coalitions"],
                    fmt_s(r["survshap_100"]), f"**{r['ratio']:,.0f}x**",
                    f"{r['max_abs_diff']:.1e} (of {r['scale']:.2f})",
                    "exact" if r["exact"] else f"{REFERENCE_FACTOR}x coalitions",
                    f"{r['error_ours']:.1e}", f"{r['error_survshap']:.1e}", f"{r['rho']:.3f}",
                    f"{r['locacc_ours']:.1e}", f"{r['locacc_survshap']:.1e}"])
    return table(["model", "p", "T", "surv_shap mode, distinct coalitions",
                  "surv_shap 100 instances",
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


def setting(budget, coalitions_used) -> str:
    if budget is None:
        return "exact"
    return f"Kernel SHAP, {budget:,} drawn ({coalitions_used:,} distinct)"


def equal_table(rows) -> str:
    out = []
    for r in rows:
        tried = ", ".join(f"{b:,}: {e:.1e}" for b, e in r["tried"]) or "none"
        found = (setting(r["equal_budget"], r["equal_coalitions"]) if r["equal_reached"]
                 else "not reached on the ladder")
        out.append([r["model"], r["p"], f"{r['error_survshap']:.1e}", tried, found,
                    f"{r['equal_error']:.1e}", fmt_s(r["equal_s"]), fmt_s(r["survshap_100"]),
                    f"**{r['equal_ratio']:,.0f}x** ({r['equal_cpu_ratio']:,.0f}x)",
                    f"{r['ratio']:,.0f}x ({r['cpu_ratio']:,.0f}x)"])
    return table(["model", "p", "survshap max abs error (its default)",
                  f"surv_shap budgets tried: worst max abs error over {LADDER_SEEDS} seeds",
                  "surv_shap setting at equal accuracy", "its worst error",
                  "surv_shap 100 instances", "survshap 100 instances",
                  "survshap / surv_shap at equal accuracy, wall (CPU)",
                  "survshap / surv_shap at equal budget, wall (CPU)"], out)


def verdict(rows) -> list[str]:
    lines = []
    for r in rows:
        if not r["equal_reached"]:
            lines.append(f"- {r['model']}, p = {r['p']}: no surv_shap budget on the ladder "
                         "reached survshap's error.")
            continue
        # met only if both clocks say so: wall time on shared cores is noisy
        met = min(r["equal_ratio"], r["equal_cpu_ratio"]) >= TARGET_RATIO
        lines.append(f"- {r['model']}, p = {r['p']}: {r['equal_ratio']:,.0f}x at equal "
                     f"accuracy, {r['equal_cpu_ratio']:,.0f}x in CPU time "
                     f"({'meets' if met else '**misses**'} >= {TARGET_RATIO}x "
                     f"{'in both' if met else 'in at least one'}; "
                     f"surv_shap {setting(r['equal_budget'], r['equal_coalitions'])}; "
                     "at equal budget the forward-pass floor allows at most "
                     f"{r['survshap_cpu_100'] / r['cpu_floor']:,.0f}x in CPU time).")
    return lines


def cpu_table(rows) -> str:
    out = [[r["model"], r["p"], fmt_s(r["surv_shap_s"]), fmt_s(r["floor_s"]),
            f"{r['surv_shap_s'] / r['floor_s']:.2f}", fmt_s(r["cpu_total"]),
            fmt_s(r["cpu_predict"]),
            f"{100 * (1 - r['cpu_predict'] / r['cpu_total']):.0f}%", fmt_s(r["cpu_floor"]),
            f"{r['cpu_total'] / r['cpu_floor']:.2f}"] for r in rows]
    return table(["model", "p", "surv_shap wall", "floor wall", "wall ratio",
                  "surv_shap CPU", "of which model predictions",
                  "rest (masks, mixing, averaging, solve)", "floor CPU", "CPU ratio"], out)


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
        "### surv_shap vs survshap at equal budget (100 instances)",
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
        "### At equal accuracy",
        "",
        "survshap's error is its largest absolute error against the reference on the rows "
        "it explained, at its default budget. surv_shap's budgets are tried upwards "
        f"(powers of two, {LADDER_SEEDS} seeds other than the reference's; the worst error "
        "counts) on the same rows; the first that is at least as accurate is timed for 100 "
        "instances, side by side with the equal-budget run (median of interleaved rounds). "
        "The ratio is survshap's time / the equal-budget time x (equal-budget time / "
        "equal-accuracy time), each factor measured side by side; in brackets the same "
        "ratio of CPU seconds (`time.process_time` of the same calls), which other "
        "processes on the shared cores do not inflate. Up to 12 features exact "
        "enumeration is the fallback (the reference itself).",
        "",
        equal_table(rows),
        "",
        f"**Target: surv_shap >= {TARGET_RATIO}x faster than survshap at equal accuracy.**",
        "",
        *verdict(rows),
        "",
        "### Where surv_shap's time goes",
        "",
        "*floor*: a bare batched forward pass (`engine.predict`, surv_shap's batch size) over "
        "as many model rows as surv_shap evaluates at equal budget (distinct coalitions x "
        f"{BACKGROUND} x {N_TEST}), timed in the same interleaved rounds; no implementation "
        "that evaluates those rows can be faster. CPU seconds (`time.process_time`, one "
        "call each) are not inflated by other processes on the shared cores, unlike wall "
        "time; *of which model predictions* is the CPU time inside `engine.predict` during "
        "the surv_shap call.",
        "",
        cpu_table(rows),
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
