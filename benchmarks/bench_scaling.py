"""Scaling and memory: Grad(t) and GradSHAP(t) from 1,000 to 100,000 instances.

At a fixed memory budget (``explain(..., memory_budget=...)``, default 64 MiB; the
engine's default is 256 MiB) each call runs in a fresh subprocess, which times it and
takes its exact peak resident memory: it resets the peak (writes ``5`` to
``/proc/self/clear_refs``), reads ``VmRSS`` (before), makes the call and reads ``VmHWM``
(peak) from ``/proc/self/status``. The result of N instances holds N x p x T
attributions, so it grows with N by design; what must stay flat is the memory the call
needs on top of it:

    working memory = peak VmHWM - VmRSS before - bytes the result holds

(its arrays: values, pred, pred_ref, pred_diff, quartiles, instance ids; and the ids that
``args`` lists as Python ints). Per size and run, two subprocesses make the same call:
one with glibc's default malloc settings (time, throughput, working memory for
information) and one with ``MALLOC_MMAP_THRESHOLD_=1048576`` (live working memory, which
the flatness verdict uses). With the default settings glibc's mmap threshold is dynamic:
freeing an mmapped block raises it, so later batch-sized blocks come from the heap, which
is trimmed only from its top; RSS then includes freed blocks glibc keeps, an amount that
varies from run to run. A fixed threshold keeps blocks >= 1 MiB mmapped and unmaps them
when freed, so RSS follows live memory; it also makes calls slower, so times come from
the default runs only. Models: pycox DeepHit (p = 20, 30 cuts; the engine's forward
mode, per-point Jacobians) and DeepSurv (p = 20, 50 baseline times; the factored path),
MLP [32, 32], one epoch; their weights saved once and loaded into rebuilt bare networks
by every subprocess. Throughput counts attributions (instances x p x T values) per second.

Run ``python benchmarks/bench_scaling.py`` (sizes 1k, 10k, 100k) or ``--quick``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_run_options, wants_write, environment_block, fmt_s, set_threads, table, publish  # noqa: E402

warnings.filterwarnings("ignore", category=UserWarning, module="torchtuples")
SECTION = "bench_scaling"
P = 20
MiB = 2**20
#: the live runs' fixed mmap threshold: blocks of this size and more are unmapped when freed
MMAP_THRESHOLD = 2**20


# -- parent: fit once, run two subprocesses per (model, method, size) and run ----------------
def mlp(out_features: int) -> torch.nn.Module:
    """The network ``bench_engine.fit_deephit`` / ``fit_deepsurv`` build, untrained."""
    import torchtuples as tt
    from bench_engine import HIDDEN

    return tt.practical.MLPVanilla(P, HIDDEN, out_features, batch_norm=True, dropout=0.1)


def rebuilt(spec: dict) -> torch.nn.Module:
    net = mlp(spec["out_features"])
    net.load_state_dict(spec["state"])
    return net.eval()


def save_models(path: Path, names: list[str], seed: int) -> None:
    """Weights, output width and head parameters (plain lists) of the fitted networks, for
    ``explain(net, model_type=..., **head)``: all loadable with ``weights_only=True``."""
    from bench_engine import fit_deephit, fit_deepsurv

    specs = {}
    if "DeepHit" in names:
        model = fit_deephit(P, 30, seed)
        specs["DeepHit"] = {"model": model, "model_type": "deephit",
                            "head": {"time_bins": np.asarray(model.duration_index).tolist()}}
    if "DeepSurv" in names:
        model = fit_deepsurv(P, 50, seed)
        hazard = model.baseline_hazards_
        specs["DeepSurv"] = {"model": model, "model_type": "deepsurv",
                             "head": {"baseline_hazard": (hazard.index.to_numpy(float).tolist(),
                                                          hazard.to_numpy(float).tolist())}}
    x = torch.randn(64, P)
    for name, spec in specs.items():
        net = spec.pop("model").net
        spec.update(state=net.state_dict(), out_features=net(x[:1]).shape[1])
        # the subprocesses rebuild the network from mlp(): it must compute what was fitted
        with torch.no_grad():
            if not torch.equal(rebuilt(spec)(x), net(x)):
                sys.exit(f"bench_scaling: the rebuilt {name} network differs from the fitted one")
    torch.save(specs, path)


def run_child(models: Path, name: str, method: str, size: int, live: bool, args) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(models), name,
           method, str(size), "--budget-mib", str(args.budget_mib), "--threads",
           str(args.threads), "--seed", str(args.seed)]
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    env.pop("MALLOC_MMAP_THRESHOLD_", None)
    if live:
        env["MALLOC_MMAP_THRESHOLD_"] = str(MMAP_THRESHOLD)
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"bench_scaling: child {name} {method} {size}"
                 f"{' (live)' if live else ''} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- child: one call, measured ---------------------------------------------------------------
def _status(key: str) -> int:
    """A memory line of ``/proc/self/status`` (``VmRSS``, ``VmHWM``), bytes."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {key} in /proc/self/status")


def reset_peak() -> int:
    """Reset the peak resident set (VmHWM) to the current one; return that (VmRSS)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError as err:
        sys.exit(f"bench_scaling: cannot reset the peak resident memory by writing 5 to "
                 f"/proc/self/clear_refs ({err}); the exact peak needs Linux >= 4.0 and a "
                 f"writable /proc/self/clear_refs")
    return _status("VmRSS")


def child(models: str, name: str, method: str, size: int, args) -> dict:
    import survinng_py as sv
    from survinng_py import engine

    spec = torch.load(models, weights_only=True)[name]
    x = np.random.default_rng(args.seed).normal(size=(size, P)).astype(np.float32)
    pool = np.random.default_rng(args.seed + 1).normal(size=(100, P)).astype(np.float32)
    exp = sv.explain(rebuilt(spec), pool, model_type=spec["model_type"],
                     memory_budget=args.budget_mib * MiB, **spec["head"])
    if method == "grad":
        call, n_reps = (lambda rows: sv.surv_grad(exp, rows)), 1
    else:
        call, n_reps = (lambda rows: sv.surv_gradshap(exp, rows, n=5, num_samples=2, seed=0)), 10
    # warm-up: one-time set-up, and the libraries' pages resident before the peak is reset
    # (VmHWM counts file-backed pages too)
    call(x[:3])
    chunk = engine.rows_per_batch(exp.model, exp.data, "survival", exp.memory_budget)
    chunk -= chunk % n_reps if chunk >= n_reps else 0
    before = reset_peak()
    start = time.perf_counter()
    res = call(x)
    seconds = time.perf_counter() - start
    peak, after = _status("VmHWM"), _status("VmRSS")
    n_times = len(exp.model.time)
    return {"model": name, "method": method, "size": size, "seconds": seconds, "T": n_times,
            "before": before, "peak": peak, "after": after, "result": result_bytes(res),
            "points": size * n_reps, "batches": -(-size * n_reps // chunk),
            "attributions": size * P * n_times}


def result_bytes(res) -> int:
    """What the result holds: its arrays, and the instance ids it lists in ``args``."""
    arrays = [*res.values, res.pred, res.pred_ref, res.pred_diff, res.pred_diff_q1,
              res.pred_diff_q3, res.time, res.instance]
    ids = res.args.get("instance", [])
    return (sum(a.nbytes for a in arrays if a is not None)
            + sys.getsizeof(ids) + sum(sys.getsizeof(i) for i in ids))


# -- report ----------------------------------------------------------------------------------
def working(r: dict) -> int:
    return r["peak"] - r["before"] - r["result"]


def summarise(default: list[dict], live: list[dict]) -> dict:
    """One record: median time and median working memory (range kept) of the default runs,
    median live working memory (range kept) and time of the live runs."""
    out = dict(default[len(default) // 2])
    out["seconds"] = float(np.median([r["seconds"] for r in default]))
    out["live_seconds"] = float(np.median([r["seconds"] for r in live]))
    for key, runs in (("working", default), ("live", live)):
        mem = sorted(working(r) for r in runs)
        out[key], out[key + "_range"] = int(np.median(mem)), (mem[0], mem[-1])
    out["live_above_end"] = int(np.median([r["peak"] - r["after"] for r in live]))
    out["runs"] = len(default)
    return out


def mib(r: dict, key: str) -> str:
    """Median (range) in MiB; the range only over several runs."""
    lo, hi = r[key + "_range"]
    return f"{r[key] / MiB:.1f}" + ("" if r["runs"] == 1 else f" ({lo / MiB:.0f}-{hi / MiB:.0f})")


def flatness(rows: list[dict], budget: int) -> list[str]:
    """Growth of the live working memory from the smallest size whose batches are full
    (more than one batch) to the largest."""
    lines = []
    for key in sorted({(r["model"], r["method"]) for r in rows}):
        series = sorted((r for r in rows if (r["model"], r["method"]) == key),
                        key=lambda r: r["size"])
        ref = next((r for r in series if r["batches"] > 1), series[0])
        hi = series[-1]
        growth = hi["live"] / ref["live"] - 1
        peak = max(r["live"] for r in series)
        verdict = ("does not grow: meets the target" if growth <= 0.10
                   else f"**grows by {growth:.0%}: misses the target**; at most "
                        f"{peak / budget:.0%} of the {budget / MiB:.0f} MiB budget")
        partial = [r for r in series if r["size"] < ref["size"]]
        sizes = ", ".join(f"{r['size']:,}" for r in partial)
        mems = ", ".join(f"{r['live'] / MiB:.1f}" for r in partial)
        note = f" ({sizes} instances fill less than one batch: {mems} MiB)" if partial else ""
        lines.append(f"- {key[0]} {label(key[1])}: live working memory {ref['live'] / MiB:.1f} "
                     f"MiB at {ref['size']:,} instances, {hi['live'] / MiB:.1f} MiB at "
                     f"{hi['size']:,} ({growth:+.0%}; {verdict}){note}; default allocator "
                     f"{ref['working'] / MiB:.1f} and {hi['working'] / MiB:.1f} MiB; the result "
                     f"grew from {ref['result'] / MiB:.1f} to {hi['result'] / MiB:.1f} MiB.")
    return lines


def label(method: str) -> str:
    return "Grad(t)" if method == "grad" else "GradSHAP(t) (n = 5, 2 references)"


def render(rows: list[dict], args) -> str:
    body = [[r["model"], label(r["method"]), f"{r['size']:,}", f"{r['points']:,}", r["batches"],
             fmt_s(r["seconds"]), f"{r['size'] / r['seconds']:,.0f}",
             f"{r['attributions'] / r['seconds'] / 1e6:,.1f} M",
             f"{r['before'] / MiB:.0f}", f"{r['result'] / MiB:.1f}", mib(r, "working"),
             f"**{mib(r, 'live')}**", f"{r['live_above_end'] / MiB:.1f}"]
            for r in rows]
    slow = max(rows, key=lambda r: r["live_seconds"] / r["seconds"])
    return "\n".join([
        "## Scaling and memory: 1k to 100k instances (`bench_scaling.py`)",
        "",
        environment_block({
            "mode": f"{'quick' if args.quick else 'full'}; per size {rows[0]['runs']} run(s) "
                    "of two fresh subprocesses (default allocator; "
                    f"`MALLOC_MMAP_THRESHOLD_={MMAP_THRESHOLD}`), one call each after a 3-row "
                    "warm-up call of the same method; medians",
            "memory budget": f"`explain(..., memory_budget={args.budget_mib} MiB)`",
            "models": f"pycox DeepHit (p = {P}, 30 cuts) and DeepSurv (p = {P}, 50 baseline "
                      "times), MLP [32, 32], batch norm, 1 epoch; weights loaded into rebuilt "
                      "bare networks in the subprocesses; float32",
            "calls": "`surv_grad(exp, x)`; `surv_gradshap(exp, x, n=5, num_samples=2, seed=0)` "
                     "with the explainer's 100-row pool",
        }),
        "",
        "Memory in MiB: resident set from `/proc/self/status`. Right before the call the "
        "subprocess resets its peak (writes `5` to `/proc/self/clear_refs`) and reads "
        "`VmRSS` (*before*); right after it, it reads `VmHWM`, the exact peak. `VmHWM` "
        "counts file-backed pages too; the warm-up call has made the libraries' pages "
        "resident before the reset. *Working memory* = peak - before - the bytes the result "
        "holds (arrays and instance ids), median (range) over the runs. The result's arrays "
        "are allocated up front and filled batch by batch (pages not yet written are not "
        "resident), so working memory is what the call holds on top of its result at its "
        "peak. The input rows (N x p) are resident before the call; the result grows "
        "linearly by design (N x p x T values).",
        "",
        "Two subprocesses make each call. With glibc's default malloc settings (*default "
        "allocator*), the mmap threshold is dynamic: freeing an mmapped block raises the "
        "threshold to its size, so later batch-sized blocks come from the heap, and the heap "
        "is returned to the system only from its top. RSS then includes freed batch blocks "
        "that glibc keeps, an amount that varies from run to run; that column is for "
        f"information. With `MALLOC_MMAP_THRESHOLD_={MMAP_THRESHOLD}` in the environment the "
        "threshold is fixed: blocks of 1 MiB or more are mmapped and unmapped when freed, so "
        "RSS follows the memory the call holds (*live working memory*); the verdict below "
        "uses it. That setting slows calls down (here up to "
        f"{slow['live_seconds'] / slow['seconds']:.1f}x: {slow['model']} {label(slow['method'])}, "
        f"{slow['size']:,} instances, {fmt_s(slow['live_seconds'])} vs {fmt_s(slow['seconds'])}), "
        "so times, throughput and *before* come from the default-allocator runs only. The "
        "last column is how far the live peak lies above the resident set right after the "
        "call: where it is about 0 the peak came at the end of the call, when the result is "
        "complete; the batches' temporaries came earlier and fitted under result pages not "
        "yet written, so the working memory there is what the call holds beside its "
        "finished result, not a batch's footprint.",
        "",
        table(["model", "method", "instances", "points", "batches", "time",
               "instances / s", "attributions / s", "VmRSS before", "result",
               "working memory, default allocator", "live working memory",
               "live: peak above the RSS after the call"], body),
        "",
        "**Target: memory flat within 10 % from 1k to 100k instances**, here: "
        "live working memory grows by at most 10 % from the smallest size whose batches are "
        "full (more than one batch) to the largest; smaller calls need less. Batch sizes "
        "follow from `memory_budget`, not from N.",
        "",
        *flatness(rows, args.budget_mib * MiB),
    ])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="DeepHit GradSHAP(t) at 1k and 4k instances (seconds); does not write "
                             "RESULTS.md unless --write is given")
    parser.add_argument("--sizes", type=int, nargs="+", default=None,
                        help="instance counts (default 1000 10000 100000; quick 1000 4000)")
    parser.add_argument("--runs", type=int, default=None,
                        help="runs per size, two subprocesses each, medians reported "
                             "(default 3; quick 1)")
    parser.add_argument("--budget-mib", type=int, default=64,
                        help="explain(memory_budget=...) in MiB")
    add_run_options(parser)
    parser.add_argument("--child", nargs=4, metavar=("MODELS", "MODEL", "METHOD", "SIZE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    if args.child:
        models, name, method, size = args.child
        print(json.dumps(child(models, name, method, int(size), args)))
        return

    write = wants_write(args)
    runs = args.runs or (1 if args.quick else 3)
    sizes = args.sizes or ([1000, 4000] if args.quick else [1000, 10000, 100000])
    names = ["DeepHit"] if args.quick else ["DeepHit", "DeepSurv"]
    methods = ["gradshap"] if args.quick else ["grad", "gradshap"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        models = Path(tmp) / "models.pt"
        save_models(models, names, args.seed)
        for name in names:
            for method in methods:
                for size in sizes:
                    pairs = [(run_child(models, name, method, size, False, args),
                              run_child(models, name, method, size, True, args))
                             for _ in range(runs)]
                    r = summarise(*map(list, zip(*pairs)))
                    rows.append(r)
                    print(f"{name} {label(method)} {size:,} instances: {fmt_s(r['seconds'])} "
                          f"({fmt_s(r['live_seconds'])} with the fixed mmap threshold), "
                          f"{r['attributions'] / r['seconds'] / 1e6:.1f} M attributions/s, "
                          f"{r['batches']} batches; VmRSS before {r['before'] / MiB:.0f} MiB, "
                          f"result {r['result'] / MiB:.1f} MiB, working memory "
                          f"{r['working'] / MiB:.1f} MiB (default allocator), "
                          f"{r['live'] / MiB:.1f} MiB live", flush=True)
    body = render(rows, args)
    publish(SECTION, body, write)


if __name__ == "__main__":
    main()
