"""Hessian(t) and Integrated Hessians(t): cost against first-order methods and a loop.

Design: bare MLPs (p -> 32 -> 32 -> out, softplus, random weights: timing is the point)
with T = 100 time points, for p in {10, 20, 40}: DeepHit (single risk, 100 bins) and
DeepSurv (one log-risk, a baseline hazard on 100 times). On the same 20 rows, timed
(median of ``--repeats`` interleaved rounds after a warm-up): ``surv_grad``,
``surv_hessian``, ``surv_intgrad(n=10)`` and ``surv_inthess(n=10)`` (42 distinct path
points, the paper's 100-term double sum), and the per-time, per-feature loop a direct
implementation would run: for each time t, the gradient of the target with a graph,
then one backward pass per feature i for row i of the Hessian (all rows at once). The
loop is timed on 10 of the 100 times and scaled by 10; its Hessian rows are compared
with ``surv_hessian``'s (largest absolute difference).

    python benchmarks/bench_interactions.py            # full, writes its RESULTS.md section
    python benchmarks/bench_interactions.py --quick    # p = 10, 5 rows, prints only
"""
from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    add_run_options,
    environment_block,
    fmt_s,
    median_times,
    publish,
    set_threads,
    table,
    timed,
    wants_write,
)

import survinng_py as sv

SECTION = "bench_interactions"
T = 100
LOOP_TIMES = 10


def explainer(model: str, p: int, rows: int, seed: int):
    torch.manual_seed(seed)
    out = T if model == "DeepHit" else 1
    net = torch.nn.Sequential(torch.nn.Linear(p, 32), torch.nn.Softplus(), torch.nn.Linear(32, 32),
                              torch.nn.Softplus(), torch.nn.Linear(32, out))
    data = np.random.default_rng(seed).normal(size=(rows, p)).astype(np.float32)
    time = np.linspace(0.1, 10, T)
    if model == "DeepHit":
        return sv.explain(net, data, model_type="deephit", time_bins=time)
    return sv.explain(net, data, model_type="deepsurv",
                      baseline_hazard=(time.tolist(), np.full(T, 0.02).tolist()))


def loop_hessian(exp, times: np.ndarray) -> np.ndarray:
    """Hessian rows at ``times`` by one gradient per time and one backward pass per feature:
    ``(rows, p, p, len(times))``."""
    x = exp.data[0].clone().requires_grad_(True)
    out = []
    for t in times:
        target = exp.model.forward([x], "survival")[:, 0, t].sum()
        (grad,) = torch.autograd.grad(target, x, create_graph=True)
        rows = [torch.autograd.grad(grad[:, i].sum(), x, retain_graph=True)[0]
                for i in range(x.shape[1])]
        out.append(torch.stack(rows, dim=1))
    return torch.stack(out, dim=-1).detach().numpy()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="p = 10, 5 rows, 2 repeats")
    parser.add_argument("--repeats", type=int, default=5)
    add_run_options(parser)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    sizes = [10] if args.quick else [10, 20, 40]
    n_rows = 5 if args.quick else 20
    repeats = 2 if args.quick else args.repeats
    rows = []
    for model in ("DeepHit", "DeepSurv"):
        for p in sizes:
            exp = explainer(model, p, n_rows, args.seed)
            everything = range(n_rows)
            times = median_times({
                name: functools.partial(method, exp, instance=everything, **kwargs)
                for name, method, kwargs in (("grad", sv.surv_grad, {}),
                                             ("hessian", sv.surv_hessian, {}),
                                             ("intgrad", sv.surv_intgrad, {"n": 10}),
                                             ("inthess", sv.surv_inthess, {"n": 10}))
            }, repeats)
            picks = np.linspace(0, T - 1, LOOP_TIMES).astype(int)
            looped, seconds = timed(functools.partial(loop_hessian, exp, picks))
            hess = sv.surv_hessian(exp, instance=everything).values[0][:, :, :, 0][..., picks]
            gap = float(np.abs(looped - hess).max() / max(np.abs(hess).max(), 1e-30))
            loop_s = seconds * T / LOOP_TIMES
            med = {k: v["median"] for k, v in times.items()}
            rows.append([model, p, fmt_s(med["grad"]), fmt_s(med["hessian"]),
                         f"{med['hessian'] / med['grad']:.1f}x", fmt_s(loop_s),
                         f"{loop_s / med['hessian']:.0f}x", f"{gap:.1e}",
                         fmt_s(med["intgrad"]), fmt_s(med["inthess"]),
                         f"{med['inthess'] / med['intgrad']:.1f}x"])
            print(rows[-1], flush=True)
    body = f"""## Hessian(t) and Integrated Hessians(t) (`bench_interactions.py`)

{environment_block({"mode": "quick" if args.quick else "full",
                    "design": f"bare softplus MLPs, T = {T}, {n_rows} rows, median of "
                              f"{repeats} interleaved rounds; loop timed on {LOOP_TIMES} "
                              f"of {T} times and scaled"})}

{table(["model", "p", "Grad(t)", "Hessian(t)", "Hessian / Grad", "loop (per time, per feature)",
        "loop / Hessian", "max rel. diff loop", "IntGrad(t) n=10", "IntHess(t) n=10",
        "IntHess / IntGrad"], rows)}

Hessian(t) carries p times the numbers of Grad(t) (p^2 T per row); IntHess(t) with n = 10
evaluates the Hessian at 42 distinct path points (the paper's 100-term double sum)
against IntGrad(t)'s 10 gradients. DeepSurv goes through the head's second-order chain
rule (the network's Hessian once, for all times); DeepHit by forward-over-forward, one
pass per feature pair for all 100 times.
"""
    publish(SECTION, body, wants_write(args))


if __name__ == "__main__":
    main()
