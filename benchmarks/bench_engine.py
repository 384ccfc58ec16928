"""Grad(t) through the vectorised engine versus survinng's (R) per-time-point backward loop.

DeepHit (pycox ``DeepHitSingle``, ``MLPVanilla(p, [32, 32], T, batch_norm=True,
dropout=0.1)`` trained one epoch on simulated data, explained in eval mode) on 500 rows,
for T output times and p features. Per configuration, interleaved and warmed up once:

(a) ``survinng_py.surv_grad(explainer, x)`` end to end (numpy rows in, SurvResult out);
(b) ``survinng_py.engine.jacobian(explainer.model, [x_tensor], "survival")`` alone;
(b') the same with ``mode="reverse"`` (for information);
(c) the loop survinng (R) runs for DeepHit: one forward pass of the eval-mode network and
    an inline DeepHit head (pad a zero logit, softmax, drop the pad, S = 1 - cumsum) on
    ``x`` with ``requires_grad``, then T calls ``torch.autograd.grad(S[:, t].sum(), x,
    retain_graph=True)``, stacked;
(d) one plain forward pass (no grad) of network + head: the floor of any method;
(f) one forward pass with grad plus one backward pass of ``S.sum()``: one ordinary
    gradient, the cost unit of (c).

(a) and (b) are checked against (c) (max abs difference printed) and the inline head
against pycox's own ``predict_surv``. Target: at T = 100 and 500 rows, Grad(t)
>= 20x faster than the loop. DeepSurv (pycox ``CoxPH``, baseline hazards on 50 times)
gets the same columns at p in {5, 20, 160}; target: Grad(t) <= 3x a forward+backward
pass. A cProfile and a torch-profiler breakdown of (a) at T = 100, p = 5 follow. CoxTime
(pycox ``CoxTime``, ``MLPVanillaCoxTime``, baseline hazards on a grid of ~150 times) is
compared with a per-time-point loop and with survinng R's own CoxTime strategy (one
backward pass of the hazard for all (row, time) pairs, then the chain rule through the
cumulative sum).

Run ``python benchmarks/bench_engine.py`` (full, a few minutes) or ``--quick`` (< 1 min).
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (add_run_options, wants_write, environment_block, fmt_s, median_times, block_times, set_threads, table,  # noqa: E402
                     publish)

warnings.filterwarnings("ignore", category=UserWarning, module="torchtuples")
SECTION = "bench_engine"
DEFAULT_THREADS = torch.get_num_threads()  # torch's own choice, before --threads
N_ROWS = 500
HIDDEN = [32, 32]


# -- data and models -----------------------------------------------------------------------
def simulate(n: int, p: int, seed: int):
    """x ~ N(0, 1)^p; exponential times, log-hazard linear in x1..x3; exponential censoring."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p)).astype(np.float32)
    beta = np.zeros(p)
    beta[:3] = [0.8, -0.6, 0.4][:p]
    event_time = rng.exponential(1.0 / (0.1 * np.exp(x @ beta)))
    censor_time = rng.exponential(1.0 / 0.05, size=n)
    duration = np.minimum(event_time, censor_time).astype(np.float32)
    event = (event_time <= censor_time).astype(np.float32)
    return x, duration, event


def fit_deephit(p: int, n_times: int, seed: int):
    import torchtuples as tt
    from pycox.models import DeepHitSingle

    torch.manual_seed(seed)
    x, duration, event = simulate(1000, p, seed)
    labtrans = DeepHitSingle.label_transform(n_times)
    y = labtrans.fit_transform(duration, event)
    if labtrans.out_features != n_times:
        raise RuntimeError(f"label transform gave {labtrans.out_features} bins, not {n_times}")
    net = tt.practical.MLPVanilla(p, HIDDEN, labtrans.out_features, batch_norm=True, dropout=0.1)
    model = DeepHitSingle(net, tt.optim.Adam(0.01), alpha=0.2, sigma=0.1,
                          duration_index=labtrans.cuts)
    model.fit(x, y, batch_size=256, epochs=1, verbose=False)
    model.net.eval()
    return model


def fit_coxtime(p: int, n_grid: int, seed: int):
    """CoxTime fitted one epoch; durations binned to ``n_grid`` quantile bins first, so the
    Breslow baseline hazard (``compute_baseline_hazards``) lives on <= n_grid times."""
    import torchtuples as tt
    from pycox.models import CoxTime
    from pycox.models.cox_time import MLPVanillaCoxTime

    torch.manual_seed(seed)
    np.random.seed(seed)  # pycox draws CoxTime's control rows with numpy's global RNG
    x, duration, event = simulate(1000, p, seed)
    edges = np.quantile(duration, np.linspace(0, 1, n_grid + 1)[1:])
    duration = edges[np.minimum(np.searchsorted(edges, duration), n_grid - 1)].astype(np.float32)
    labtrans = CoxTime.label_transform()
    y = labtrans.fit_transform(duration, event)
    net = MLPVanillaCoxTime(p, HIDDEN, batch_norm=True, dropout=0.1)
    model = CoxTime(net, tt.optim.Adam(0.01), labtrans=labtrans)
    model.fit(x, y, batch_size=256, epochs=1, verbose=False)
    model.compute_baseline_hazards()
    model.net.eval()
    return model


def fit_deepsurv(p: int, n_grid: int, seed: int):
    """CoxPH (DeepSurv) fitted one epoch; Breslow baseline on <= n_grid times (binned as
    in :func:`fit_coxtime`)."""
    import torchtuples as tt
    from pycox.models import CoxPH

    torch.manual_seed(seed)
    x, duration, event = simulate(1000, p, seed)
    edges = np.quantile(duration, np.linspace(0, 1, n_grid + 1)[1:])
    duration = edges[np.minimum(np.searchsorted(edges, duration), n_grid - 1)].astype(np.float32)
    net = tt.practical.MLPVanilla(p, HIDDEN, 1, batch_norm=True, dropout=0.1)
    model = CoxPH(net, tt.optim.Adam(0.01))
    model.fit(x, (duration, event), batch_size=256, epochs=1, verbose=False)
    model.compute_baseline_hazards()
    model.net.eval()
    return model


# -- the baselines ---------------------------------------------------------------------------
def deephit_survival(net, x):
    """pycox's DeepHitSingle head, inline: pad a zero logit, softmax, drop it, 1 - cumsum."""
    phi = net(x)
    pmf = torch.softmax(torch.nn.functional.pad(phi, (0, 1)), dim=1)[:, :-1]
    return 1.0 - pmf.cumsum(1)


def deephit_loop(net, xt):
    """survinng (R)'s DeepHit strategy: one forward, one backward per time point."""
    return per_time_loop(lambda x: deephit_survival(net, x), xt)


def per_time_loop(survival, xt):
    """One forward, then one backward of ``S[:, t].sum()`` per time point, stacked."""
    x = xt.detach().clone().requires_grad_(True)
    surv = survival(x)
    grads = [torch.autograd.grad(surv[:, t].sum(), x, retain_graph=True)[0]
             for t in range(surv.shape[1])]
    return torch.stack(grads, dim=-1)  # (N, p, T)


def forward_backward(survival, xt):
    """One ordinary gradient: a forward pass with grad and one backward of ``S.sum()``."""
    x = xt.detach().clone().requires_grad_(True)
    return torch.autograd.grad(survival(x).sum(), x)[0]


def deephit_forward(net, xt):
    with torch.no_grad():
        return deephit_survival(net, xt)


class CoxTimeInline:
    """pycox's CoxTime prediction, inline: hazard_j = h0_j exp(g(x, tau_j)), S = exp(-cumsum)."""

    def __init__(self, model):
        hazards = model.baseline_hazards_
        self.net = model.net
        self.tau = torch.as_tensor(hazards.index.to_numpy(np.float32)).reshape(-1, 1)
        self.h0 = torch.as_tensor(hazards.to_numpy(np.float32))
        self.n_times = len(self.h0)

    def hazard_rows(self, x):
        """(N*T,) hazard of every (row, time) pair, instance-major; x_rep for the gradient."""
        n = x.shape[0]
        rows = x.repeat_interleave(self.n_times, dim=0)
        g = self.net(rows, self.tau.repeat(n, 1)).reshape(n, self.n_times)
        return rows, self.h0 * torch.exp(g)

    def survival(self, x):
        _, hazard = self.hazard_rows(x)
        return torch.exp(-hazard.cumsum(1))

    def loop(self, xt):
        """One backward per time point of S[:, t].sum() (the DeepHit strategy applied here)."""
        return per_time_loop(self.survival, xt)

    def r_style(self, xt):
        """survinng (R)'s CoxTime strategy: (row, time) pairs are separate network rows, so
        one backward of sum(hazard) gives d hazard_j / d x for all j; then
        d S_t / d x = -S_t * cumsum_j<=t (d hazard_j / d x)."""
        n = xt.shape[0]
        rows = xt.detach().repeat_interleave(self.n_times, dim=0).requires_grad_(True)
        g = self.net(rows, self.tau.repeat(n, 1)).reshape(n, self.n_times)
        hazard = self.h0 * torch.exp(g)
        (grad_rows,) = torch.autograd.grad(hazard.sum(), rows)
        grad_h = grad_rows.reshape(n, self.n_times, -1)  # (N, T, p)
        surv = torch.exp(-hazard.detach().cumsum(1))
        return (-grad_h.cumsum(1) * surv.unsqueeze(-1)).permute(0, 2, 1)  # (N, p, T)

    def forward(self, xt):
        with torch.no_grad():
            return self.survival(xt)


# -- one configuration -----------------------------------------------------------------------
def check_pycox_deephit(model, x) -> float:
    """Max |inline head - pycox predict_surv| (pycox puts the net back in train mode)."""
    ref = model.predict_surv(x)
    model.net.eval()
    ours = deephit_forward(model.net, torch.as_tensor(x)).numpy()
    return float(np.abs(ours - np.asarray(ref)).max())


def time_grad(explainer, x, survival, repeats: int, reverse: bool = False) -> dict:
    """(a), (b), [(b')], (c), (d), (f) for one model, interleaved; max |diff| vs (c)."""
    import survinng_py as sv
    from survinng_py import engine

    xt = torch.as_tensor(x)
    fns = {"surv_grad": lambda: sv.surv_grad(explainer, x),
           "jacobian": lambda: engine.jacobian(explainer.model, [xt], "survival")}
    if reverse:
        fns["jacobian_rev"] = lambda: engine.jacobian(explainer.model, [xt], "survival",
                                                      mode="reverse")
    fns.update({"loop": lambda: per_time_loop(survival, xt),
                "forward": lambda: _no_grad(survival, xt),
                "fwd_bwd": lambda: forward_backward(survival, xt)})
    times = median_times(fns, repeats)
    loop = per_time_loop(survival, xt).numpy()
    diffs = {"surv_grad": np.abs(sv.surv_grad(explainer, x).values[0][:, :, 0, :] - loop).max()}
    for key in ("jacobian", "jacobian_rev"):
        if key in fns:
            diffs[key] = np.abs(fns[key]()[1][0][:, :, 0, :].numpy() - loop).max()
    return {"times": times, "diff": {k: float(v) for k, v in diffs.items()},
            "loop_scale": float(np.abs(loop).max())}


def _no_grad(fn, xt):
    with torch.no_grad():
        return fn(xt)


def bench_deephit(p: int, n_times: int, repeats: int, seed: int, rows: int = N_ROWS) -> dict:
    import survinng_py as sv

    model = fit_deephit(p, n_times, seed)
    x = simulate(rows, p, seed + 1)[0]
    explainer = sv.explain(model, x)
    head_gap = check_pycox_deephit(model, x)
    out = time_grad(explainer, x, lambda xx: deephit_survival(model.net, xx), repeats,
                    reverse=True)
    return {"model": "DeepHit", "p": p, "T": n_times, "rows": rows, "head_gap": head_gap,
            **out}


def bench_deepsurv(p: int, n_grid: int, repeats: int, seed: int) -> dict:
    """DeepSurv: S_t = exp(-H0_t exp(g(x))), inline (checked against pycox)."""
    import survinng_py as sv

    model = fit_deepsurv(p, n_grid, seed)
    x = simulate(N_ROWS, p, seed + 1)[0]
    explainer = sv.explain(model, x)
    cum_h0 = torch.tensor(model.baseline_cumulative_hazards_.to_numpy(np.float32))

    def survival(xx):
        return torch.exp(-torch.exp(model.net(xx)) * cum_h0)
    ref = np.asarray(model.predict_surv(x))  # puts the net back in train mode
    model.net.eval()
    head_gap = float(np.abs(_no_grad(survival, torch.as_tensor(x)).numpy() - ref).max())
    out = time_grad(explainer, x, survival, repeats)
    return {"model": "DeepSurv", "p": p, "T": len(cum_h0), "rows": N_ROWS,
            "head_gap": head_gap, **out}


def bench_coxtime(p: int, n_grid: int, repeats: int, seed: int) -> dict:
    import survinng_py as sv
    from survinng_py import engine

    model = fit_coxtime(p, n_grid, seed)
    x = simulate(N_ROWS, p, seed + 1)[0]
    xt = torch.as_tensor(x)
    explainer = sv.explain(model, x)
    inline = CoxTimeInline(model)
    ref = np.asarray(model.predict_surv(x))  # (N, T); puts the net back in train mode
    model.net.eval()
    head_gap = float(np.abs(inline.forward(xt).numpy() - ref).max())
    fns = {
        "surv_grad": lambda: sv.surv_grad(explainer, x),
        "jacobian": lambda: engine.jacobian(explainer.model, [xt], "survival"),
        "r_style": lambda: inline.r_style(xt),
        "loop": lambda: inline.loop(xt),
        "forward": lambda: inline.forward(xt),
    }
    times = median_times(fns, repeats)
    loop = inline.loop(xt).numpy()
    diffs = {
        "surv_grad": np.abs(sv.surv_grad(explainer, x).values[0][:, :, 0, :] - loop).max(),
        "jacobian": np.abs(engine.jacobian(explainer.model, [xt], "survival")[1][0][:, :, 0, :]
                           .numpy() - loop).max(),
        "r_style": np.abs(inline.r_style(xt).numpy() - loop).max(),
    }
    active = int((model.baseline_hazards_.to_numpy() > 0).sum())
    return {"model": "CoxTime", "p": p, "T": inline.n_times, "active": active, "times": times,
            "diff": {k: float(v) for k, v in diffs.items()}, "head_gap": head_gap,
            "loop_scale": float(np.abs(loop).max())}


# -- Grad(t) against the forward pass, before / after ---------------------------------------
#: largest Jacobian (rows x p x T float32 values) a configuration may make: rows are cut so
#: that the result fits beside everything else on a shared machine
RESULT_BYTES_MAX = 512 * 2**20
LIMIT_T = 100
#: the models of the GradSHAP(t) rate table
GRADSHAP_MODELS = ["DeepSurv", "CoxTime", "DeepHit", "MTLR", "PCHazard"]
LIMIT_MODELS = ["DeepSurv", "CoxTime", "DeepHit", "DeepHit T=300", "MTLR", "PCHazard", "CNN+GRU"]


class FusionNet(torch.nn.Module):
    """CNN (8x8 image) + GRU (12-step, 2-channel sequence), fused by a two-layer head."""

    def __init__(self, out_features: int):
        super().__init__()
        self.cnn = torch.nn.Sequential(
            torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ELU(), torch.nn.AvgPool2d(2),
            torch.nn.Flatten(), torch.nn.Linear(128, 16), torch.nn.ELU())
        self.gru = torch.nn.GRU(2, 16, batch_first=True)
        self.head = torch.nn.Sequential(torch.nn.Linear(32, 32), torch.nn.ELU(),
                                        torch.nn.Linear(32, out_features))

    def forward(self, image, sequence):
        return self.head(torch.cat([self.cnn(image), self.gru(sequence)[0][:, -1]], dim=1))


def mlp(p: int, out: int) -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(p, 32), torch.nn.ReLU(), torch.nn.Linear(32, 32),
                               torch.nn.ReLU(), torch.nn.Linear(32, out))


class CoxTimeMLP(torch.nn.Module):
    def __init__(self, p: int):
        super().__init__()
        self.body = mlp(p + 1, 1)

    def forward(self, x, tau):
        return self.body(torch.cat([x, tau], dim=1))


def limit_model(name: str, p: int, seed: int):
    """An explainer of a bare eval-mode network with the family's head (the cost of a
    Jacobian does not depend on the weights), its inputs' row shapes and T."""
    import survinng_py as sv

    torch.manual_seed(seed)
    n_times = 300 if name == "DeepHit T=300" else LIMIT_T
    grid = np.linspace(0.1, 10.0, n_times)
    hazard = (grid, np.full(n_times, 0.01))
    shapes = [(p,)]
    if name == "DeepSurv":
        net, head = mlp(p, 1), {"model_type": "deepsurv", "baseline_hazard": hazard}
    elif name == "CoxTime":
        net, head = CoxTimeMLP(p), {"model_type": "coxtime", "baseline_hazard": hazard}
    elif name.startswith("DeepHit"):
        net, head = mlp(p, n_times), {"model_type": "deephit", "time_bins": grid}
    elif name == "MTLR":
        net, head = mlp(p, n_times), {"model_type": "mtlr", "time_bins": grid}
    elif name == "PCHazard":
        net, head = mlp(p, n_times - 1), {"model_type": "pchazard", "time_bins": grid}
    else:  # the multimodal CNN + GRU network, DeepHit head
        net, head = FusionNet(n_times), {"model_type": "deephit", "time_bins": grid}
        shapes = [(1, 8, 8), (12, 2)]
    rng = np.random.default_rng(seed)
    data = [rng.normal(size=(64, *s)).astype(np.float32) for s in shapes]
    exp = sv.explain(net, data if len(data) > 1 else data[0], **head)
    return exp, shapes, len(exp.model.time)


def load_before(revision: str):
    """The engine, its automatic-differentiation helpers and the methods' shared core
    (``methods/_core.py``: how batches reach the engine) of ``revision`` (``git show``),
    importable beside the current ones, as ``(engine, core)``; None where git or the
    revision is missing."""
    import importlib.util
    import subprocess
    import tempfile

    root = Path(__file__).resolve().parent.parent
    folder = Path(tempfile.mkdtemp())
    modules = []
    for path, name in (("survinng_py/_autodiff.py", "survinng_py._autodiff_before"),
                       ("survinng_py/engine.py", "survinng_py._engine_before"),
                       ("survinng_py/methods/_core.py", "survinng_py.methods._core_before")):
        try:
            source = subprocess.run(["git", "-C", str(root), "show", f"{revision}:{path}"],
                                    capture_output=True, text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            return None
        file = folder / Path(path).name
        file.write_text(source)
        spec = importlib.util.spec_from_file_location(name, file)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        modules.append(module)
    autodiff, engine, core = modules
    engine.push_forward, engine.vjps = autodiff.push_forward, autodiff.vjps
    core.engine = engine
    return engine, core


class engine_of:
    """Run the methods on ``before`` (``(engine, core)`` of :func:`load_before`): the
    before/after switch."""

    def __init__(self, before):
        self.engine, self.core = before

    def __enter__(self):
        from survinng_py.methods import _core
        self.saved = _core.engine, _core.attribute
        _core.engine, _core.attribute = self.engine, self.core.attribute

    def __exit__(self, *exc):
        from survinng_py.methods import _core
        _core.engine, _core.attribute = self.saved


def on_before(before, call):
    """``call`` run on ``before``'s engine (:class:`engine_of`)."""
    def run():
        with engine_of(before):
            return call()
    return run


def bench_limit(names, ps, rows_grid, before, repeats: int, seed: int) -> list[dict]:
    """Grad(t) (``surv_grad`` end to end) with the current engine and with ``before``,
    and the package's no-grad prediction (``engine.predict``: forward + head), interleaved."""
    import survinng_py as sv
    from survinng_py import engine

    out = []
    for name in names:
        for p in ([None] if name == "CNN+GRU" else ps):
            exp, shapes, n_times = limit_model(name, p or 0, seed)
            n_in = sum(int(np.prod(s)) for s in shapes)
            done = set()
            for rows in rows_grid:
                n = int(min(rows, RESULT_BYTES_MAX // (4 * n_in * n_times)))
                if n in done:  # capped to the rows already measured
                    continue
                done.add(n)
                rng = np.random.default_rng(seed + 1)
                xs = [rng.normal(size=(n, *s)).astype(np.float32) for s in shapes]
                x = xs if len(xs) > 1 else xs[0]
                ts = [torch.as_tensor(a) for a in xs]
                fns = {"after": lambda: sv.surv_grad(exp, x),
                       "forward": lambda: engine.predict(exp.model, ts, "survival")}
                if before is not None:
                    fns["before"] = on_before(before, fns["after"])
                gap = None
                if before is not None and n <= 5000:  # checked where it is cheap
                    a, b = fns["after"]().values, fns["before"]().values
                    gap = max(float(np.abs(u - v).max() / max(np.abs(v).max(), 1e-30))
                              for u, v in zip(a, b))
                times = median_times(fns, repeats, budget_s=60, clock=time.process_time)
                plan = engine.plan(exp.model, ts, "survival", rows=min(n, engine.jacobian_rows(
                    exp.model, ts)))
                how = "factored" if engine.factored(exp.model, ts, "survival") else (
                    f"{plan.scheme}{' compiled' if plan.compiled else ''}")
                r = {"model": name, "p": n_in, "T": n_times, "rows": n, "asked": rows,
                     "times": times, "gap": gap, "plan": how}
                out.append(r)
                print(limit_line(r), flush=True)
    return out


def paired(t: dict, name: str) -> float:
    """Median over rounds of ``name``'s time over the forward pass's in the same round: a
    round's two calls run seconds apart, so a slow spell of the machine that spans a
    round cancels in its ratio (a ratio of medians would take them from different
    rounds)."""
    return float(np.median(np.divide(t[name]["samples"], t["forward"]["samples"])))


def limit_line(r: dict) -> str:
    t = r["times"]
    f, a = t["forward"]["median"], t["after"]["median"]
    text = (f"{r['model']} p={r['p']} T={r['T']} rows={r['rows']}: forward {fmt_s(f)}, "
            f"Grad(t) {fmt_s(a)} = {paired(t, 'after'):.1f}x")
    if "before" in t:
        text += f" (before {fmt_s(t['before']['median'])} = {paired(t, 'before'):.1f}x)"
    return text + f" [{r['plan']}]"


def limit_table(results: list[dict]) -> str:
    rows = []
    for r in results:
        t = r["times"]
        f, a = t["forward"]["median"], t["after"]["median"]
        b = t["before"]["median"] if "before" in t else None
        after, before = paired(t, "after"), paired(t, "before") if b else None
        goal = r["p"] + 1
        largest = r["asked"] >= 50_000 or r["rows"] < r["asked"]  # 50k rows, or capped
        verdict = "" if r["p"] >= r["T"] or not largest else (
            " (meets)" if after <= goal else " (**misses**)")
        rows.append([r["model"], r["p"], r["T"],
                     f"{r['rows']}" + ("" if r["rows"] == r["asked"] else " (capped)"),
                     fmt_s(f), fmt_s(b) if b else "-", fmt_s(a),
                     f"{before:.1f}x" if b else "-", f"**{after:.1f}x**{verdict}",
                     f"{goal}x", f"{b / a:.1f}x" if b else "-", r["plan"],
                     "-" if r["gap"] is None else f"{r['gap']:.0e}"])
    return table(["model", "p", "T", "rows", "forward + head", "Grad(t) before", "Grad(t) after",
                  "before / forward", "after / forward", "goal (p + 1)", "speed-up",
                  "plan (after)", "max rel. diff"], rows)


def bench_loop(before, repeats: int, seed: int, rows: int = 500, p: int = 4) -> dict:
    """The tight per-time-point loop (one forward, T backward passes with retain_graph)
    against Grad(t) (``surv_grad`` end to end, and the engine's ``jacobian`` alone), on the
    same DeepHit (T = 100) network and rows, timed in interleaved blocks."""
    import survinng_py as sv
    from survinng_py import engine

    exp, _, _ = limit_model("DeepHit", p, seed)
    x = np.random.default_rng(seed + 1).normal(size=(rows, p)).astype(np.float32)
    xt = torch.as_tensor(x)
    model = exp.model

    def loop():
        return per_time_loop(lambda xx: model.forward([xx], "survival")[:, 0], xt)

    fns = {"after": lambda: sv.surv_grad(exp, x),
           "jacobian": lambda: engine.jacobian(model, [xt], "survival")}
    if before is not None:
        fns["before"] = on_before(before, fns["after"])
    gap = float(np.abs(fns["after"]().values[0][:, :, 0] - loop().numpy()).max())
    # each against the loop, whose time is taken again in each pair: "cold" is right
    # after the loop's block
    pairs = {name: block_times({"loop": loop, name: fn}, max(repeats, 5))
             for name, fn in fns.items()}
    # control: the same pairing with a pure-Python busy loop as long as the loop (no torch,
    # little memory), which shows how much of the cold penalty is the machine's
    start = time.process_time()
    loop()
    took = time.process_time() - start
    start = time.process_time()
    sum(range(10**6))
    spin = int(10**6 * took / (time.process_time() - start))
    pairs["control"] = block_times({"python": lambda: sum(range(spin)), "after": fns["after"]},
                                   max(repeats, 5))
    return {"pairs": pairs, "gap": gap, "rows": rows, "p": p}


def loop_verdict(r: dict, target: float = 20) -> str:
    pairs = r["pairs"]

    def ratio(name: str, kind: str) -> float:
        return pairs[name]["loop"][kind] / pairs[name][name][kind]

    def time_of(name: str, kind: str) -> str:
        return fmt_s(pairs[name][name][kind])

    lines = []
    for kind, what in (("warm", "steady state (each block's calls after its first)"),
                       ("cold", "cold (each block's first call, right after the loop's block)")):
        text = (f"- {what}: loop {fmt_s(pairs['after']['loop'][kind])}, Grad(t) "
                f"{time_of('after', kind)}: loop / Grad(t) = **{ratio('after', kind):.1f}x** "
                f"({'meets' if ratio('after', kind) >= target else '**misses**'} the >= "
                f"{target:g}x goal); `engine.jacobian` {time_of('jacobian', kind)}, "
                f"{ratio('jacobian', kind):.1f}x")
        if "before" in pairs:
            text += f"; before: {time_of('before', kind)}, {ratio('before', kind):.1f}x"
        lines.append(text + ".")
    control = pairs["control"]
    lines.append(f"- control: Grad(t) right after a pure-Python busy loop of about the loop's "
                 f"length ({fmt_s(control['python']['warm'])}) instead: cold "
                 f"{fmt_s(control['after']['cold'])}, steady state "
                 f"{fmt_s(control['after']['warm'])}; the first call after any other work "
                 "pays this machine's penalty, whatever that work was.")
    head = (f"DeepHit p = {r['p']}, T = {LIMIT_T}, {r['rows']} rows, max abs diff "
            f"{r['gap']:.1e}; each candidate against the loop in alternating blocks of "
            f"back-to-back calls (at least 3, 0.25 s), medians over "
            f"{pairs['after']['loop']['n']} rounds of CPU time; each ratio uses the loop's "
            "time from its own pair:")
    return "\n".join([head, "", *lines])


def bench_gradshap_rate(names, before, repeats: int, seed: int, instances: int = 50,
                        n: int = 10, num_samples: int = 10) -> list[list]:
    """GradSHAP(t) points per second (instances x n x num_samples points), before/after."""
    import survinng_py as sv

    rows = []
    for name in names:
        exp, shapes, n_times = limit_model(name, 20, seed)
        kwargs = dict(instance=list(range(min(instances, 64))), n=n, num_samples=num_samples,
                      seed=0)
        points = len(kwargs["instance"]) * n * num_samples
        fns = {"after": lambda: sv.surv_gradshap(exp, **kwargs)}
        if before is not None:
            fns["before"] = on_before(before, fns["after"])
        t = median_times(fns, repeats, budget_s=60, clock=time.process_time)
        a = t["after"]["median"]
        b = t["before"]["median"] if before is not None else None
        rows.append([name, 20, n_times, points, f"{points / b:,.0f}" if b else "-",
                     f"{points / a:,.0f}", f"{b / a:.1f}x" if b else "-"])
        print(f"GradSHAP(t) {name}: {points} points, after {fmt_s(a)}"
              + (f", before {fmt_s(b)}" if b else ""), flush=True)
    return rows


# -- profiling -------------------------------------------------------------------------------
def profile_deephit(p: int, n_times: int, seed: int, calls: int) -> str:
    import survinng_py as sv
    from survinng_py import engine

    model = fit_deephit(p, n_times, seed)
    x = simulate(N_ROWS, p, seed + 1)[0]
    xt = torch.as_tensor(x)
    explainer = sv.explain(model, x)
    sv.surv_grad(explainer, x)  # warm-up

    # where surv_grad's time goes, by stage (timed separately, medians)
    from survinng_py.methods import _core
    stages = median_times({
        "surv_grad (all)": lambda: sv.surv_grad(explainer, x),
        "explainer.points (checks, numpy -> tensor)": lambda: explainer.points(x, None, "bench"),
        "engine.rows_per_batch": lambda: engine.rows_per_batch(explainer.model, [xt], "survival"),
        "engine.jacobian (forward mode)": lambda: engine.jacobian(explainer.model, [xt],
                                                                  "survival"),
        "engine.predict (no grad)": lambda: _core.predict(explainer, [xt], "survival"),
        "network forward only (no grad)": lambda: deephit_forward(model.net, xt),
    }, repeats=max(5, calls))
    stage_rows = [[k, fmt_s(v["median"])] for k, v in stages.items()]

    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        sv.surv_grad(explainer, x)
    prof.disable()
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats("tottime").print_stats(14)
    tottime = _trim_pstats(buf.getvalue())
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats("cumulative").print_stats(r"survinng_py|functorch|_refs|_prims|batchnorm|"
                                               r"linear|functional", 22)
    cumulative = _trim_pstats(buf.getvalue())

    from torch.profiler import ProfilerActivity, profile
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with profile(activities=[ProfilerActivity.CPU]) as tprof:
            for _ in range(calls):
                engine.jacobian(explainer.model, [xt], "survival")
    ops = tprof.key_averages().table(sort_by="self_cpu_time_total", row_limit=14)
    ops = "\n".join(line for line in ops.splitlines() if line.strip())

    return (f"Stages of `surv_grad` at p = {p}, T = {n_times}, {N_ROWS} rows (medians, timed "
            f"separately):\n\n" + table(["stage", "median"], stage_rows) +
            f"\n\ncProfile of {calls} calls of `surv_grad` (cProfile adds overhead to every "
            "Python call, so absolute times are inflated), by own time:\n\n```text\n" + tottime +
            "\n```\n\nSame profile, cumulative time, survinng_py / torch.func / decomposition "
            "frames:\n\n```text\n" + cumulative + "\n```\n\n"
            f"torch.profiler, {calls} calls of `engine.jacobian` (aten ops by self CPU "
            "time):\n\n```text\n" + ops + "\n```\n\n"
            f"One eval-mode layer on ({N_ROWS}, 32) float32, medians:\n\n" + layer_costs() +
            "\n\nOther ways to take the same Jacobian (all checked against the engine's), "
            "medians:\n\n" + jacobian_strategies(explainer.model, xt, max(5, calls)) + "\n")


def jacobian_strategies(model, xt: torch.Tensor, repeats: int) -> str:
    """The engine's forward mode (its measured scheme) against torch's own forward-mode
    AD (``torch.func.jvp`` under ``vmap``; dual numbers with the p tangents folded into
    the batch) and plain reverse mode, on the same points."""
    import torch.autograd.forward_ad as fwAD
    from torch.func import jvp, vmap

    from survinng_py import engine

    n, p = xt.shape
    basis = torch.eye(p)[:, None, :].expand(p, n, p)

    def survival(x):
        return model.forward([x], "survival")

    def func_jvp():
        return vmap(lambda v: jvp(survival, (xt,), (v,))[1])(basis)

    def dual_numbers():
        with fwAD.dual_level():
            dual = fwAD.make_dual(xt.repeat(p, 1), torch.eye(p).repeat_interleave(n, 0))
            tangent = fwAD.unpack_dual(survival(dual)).tangent
        return tangent.reshape(p, n, *tangent.shape[1:])

    scheme = engine.plan(model, [xt], "survival", "forward", rows=n).scheme
    how = ("reverse over reverse" if scheme == "rr" else "closed-form layer derivatives"
           if engine.layer_chain(model, [xt]) is not None else "torch.func.jvp")
    default = f"engine, forward mode ({how}, as measured; the default here)"
    fns = {default: lambda: engine.jacobian(model, [xt], "survival", mode="forward")[1][0],
           "engine, reverse mode (vmap over T cotangents)":
           lambda: engine.jacobian(model, [xt], "survival", mode="reverse")[1][0],
           "torch.func.jvp under vmap over p tangents": lambda: func_jvp().movedim(0, 1),
           "dual numbers, p tangents folded into the batch": lambda: dual_numbers().movedim(0, 1)}
    reference = fns[default]()
    gaps = {k: float((fn().reshape(reference.shape) - reference).abs().max())
            for k, fn in fns.items()}
    times = median_times(fns, repeats)
    return table(["strategy", "median", "max abs diff vs the default"],
                 [[k, fmt_s(times[k]["median"]), f"{gaps[k]:.1e}"] for k in fns])


def layer_costs(rows: int = N_ROWS, width: int = 32, tangents: int = 5, repeats: int = 30) -> str:
    """Per-layer cost of one eval-mode layer on (rows, width): forward, one backward
    (vector-Jacobian product, graph kept) and forward-mode AD (jvp, and vmap over
    ``tangents`` jvps as the engine does) -- the building blocks of (b) and (c)."""
    from torch.func import jvp, vmap

    x = torch.randn(rows, width)
    tang = torch.randn(tangents, rows, width)
    linear, norm = torch.nn.Linear(width, width), torch.nn.BatchNorm1d(width)
    for layer in (linear, norm):
        layer.eval()
        for par in layer.parameters():
            par.requires_grad_(False)
    out_rows = []
    for name, layer in [("Linear(32, 32)", linear), ("BatchNorm1d(32), eval", norm),
                        ("ReLU", torch.relu)]:
        xg = x.clone().requires_grad_(True)
        out = layer(xg)
        cot = torch.randn_like(out)
        res = median_times({
            "forward": lambda layer=layer: layer(x),
            "backward": lambda out=out, xg=xg, cot=cot: torch.autograd.grad(out, xg, cot,
                                                                            retain_graph=True),
            "jvp": lambda layer=layer: jvp(layer, (x,), (tang[0],)),
            "vmap_jvp": lambda layer=layer: vmap(lambda t: jvp(layer, (x,), (t,)),
                                                 out_dims=(None, 0))(tang),
        }, repeats)
        out_rows.append([name] + [fmt_s(res[k]["median"]) for k in
                                  ("forward", "backward", "jvp", "vmap_jvp")])
    return table(["layer", "forward", "one backward (vjp)", "one jvp",
                  f"vmap of {tangents} jvps"], out_rows)


def _trim_pstats(text: str) -> str:
    keep, started = [], False
    for line in text.splitlines():
        if line.strip().startswith("ncalls"):
            started = True
        if started and line.strip():
            keep.append(line.replace(str(Path(torch.__file__).parent.parent) + "/", "")
                        .replace(str(Path(__file__).resolve().parent.parent) + "/", ""))
    return "\n".join(keep)


# -- report ----------------------------------------------------------------------------------
def grad_table(results: list[dict]) -> str:
    """DeepHit or DeepSurv rows: (a)-(f), ratios to the loop, to forward and forward+backward."""
    reverse = "jacobian_rev" in results[0]["times"]
    rows = []
    for r in results:
        t = r["times"]
        a, b = t["surv_grad"]["median"], t["jacobian"]["median"]
        c, d, f = t["loop"]["median"], t["forward"]["median"], t["fwd_bwd"]["median"]
        rows.append([r["rows"], r["p"], r["T"], fmt_s(a), fmt_s(b)]
                    + ([fmt_s(t["jacobian_rev"]["median"])] if reverse else [])
                    + [fmt_s(c), fmt_s(d), fmt_s(f), f"**{c / a:.1f}x**", f"{c / b:.1f}x",
                       f"{a / d:.1f}x", f"**{a / f:.1f}x**", f"{b / f:.1f}x",
                       f"{max(r['diff'].values()):.1e}"])
    return table(["rows", "p", "T", "(a) surv_grad", "(b) jacobian"]
                 + (["(b') jacobian reverse"] if reverse else [])
                 + ["(c) loop", "(d) forward", "(f) forward+backward", "loop / (a)",
                    "loop / (b)", "(a) / (d)", "(a) / (f)", "(b) / (f)",
                    "max abs diff vs loop"], rows)


def coxtime_table(results: list[dict]) -> str:
    rows = []
    for r in results:
        t = r["times"]
        a, b, rs = t["surv_grad"]["median"], t["jacobian"]["median"], t["r_style"]["median"]
        c, d = t["loop"]["median"], t["forward"]["median"]
        rows.append([r["p"], f"{r['T']} ({r['active']} active)", fmt_s(a), fmt_s(b), fmt_s(rs),
                     fmt_s(c), fmt_s(d), f"**{c / a:.1f}x**", f"{c / b:.1f}x", f"{a / rs:.1f}x",
                     f"{a / d:.0f}x",
                     f"{max(r['diff'].values()):.1e}"])
    return table(["p", "times", "(a) surv_grad", "(b) jacobian", "(c2) R-style one backward",
                  "(c) per-time loop", "(d) forward", "loop / (a)", "loop / (b)",
                  "(a) / (c2)", "(a) / forward", "max abs diff vs loop"], rows)


def verdict(results: list[dict], target_t: int, target: float = 20) -> str:
    """The issue's loop target for DeepHit at T = ``target_t`` and 500 rows."""
    lines = []
    for r in results:
        if r["T"] != target_t or r["rows"] != N_ROWS:
            continue
        t = r["times"]
        c = t["loop"]["median"]
        ra, rb = c / t["surv_grad"]["median"], c / t["jacobian"]["median"]
        lines.append(f"- p = {r['p']}, T = {target_t}: loop / surv_grad = {ra:.1f}x "
                     f"({'meets' if ra >= target else '**misses**'} the >= {target:g}x target); "
                     f"loop / engine.jacobian = {rb:.1f}x "
                     f"({'meets' if rb >= target else '**misses**'} it).")
    return "\n".join(lines) if lines else f"- (T = {target_t} was not run in this mode)"


def deepsurv_verdict(results: list[dict], target: float = 3) -> str:
    lines = []
    for r in results:
        t = r["times"]
        ra = t["surv_grad"]["median"] / t["fwd_bwd"]["median"]
        rb = t["jacobian"]["median"] / t["fwd_bwd"]["median"]
        lines.append(f"- p = {r['p']} (T = {r['T']}): surv_grad / (forward+backward) = "
                     f"{ra:.1f}x ({'meets' if ra <= target else '**misses**'} the <= {target:g}x "
                     f"target); engine.jacobian / (forward+backward) = {rb:.1f}x.")
    return "\n".join(lines)


def compare_with(path: str, repeats: int, seed: int) -> str:
    """Before/after: the package at ``path`` (e.g. ``git archive HEAD survinng_py | tar -x
    -C /tmp/before``, then ``/tmp/before/survinng_py``) against this one, interleaved."""
    import importlib
    import inspect
    import shutil
    import tempfile

    import survinng_py as sv
    from bench_gradshap import fit_models

    tmp = Path(tempfile.mkdtemp())
    shutil.copytree(path, tmp / "survinng_before")  # importable beside survinng_py
    sys.path.insert(0, str(tmp))
    old = importlib.import_module("survinng_before")
    cases = []
    for p, n_times in [(5, 100), (20, 100)]:
        model = fit_deephit(p, n_times, seed)
        x = simulate(N_ROWS, p, seed + 1)[0]
        cases.append((f"DeepHit Grad(t), p = {p}, T = {n_times}, {N_ROWS} rows", "surv_grad",
                      model, x, {}, {}))
    for p in (5, 160):
        cases.append((f"DeepSurv Grad(t), p = {p}, T = 50, {N_ROWS} rows", "surv_grad",
                      fit_deepsurv(p, 50, seed), simulate(N_ROWS, p, seed + 1)[0], {}, {}))
    cases.append((f"CoxTime Grad(t), p = 5, T = 150, {N_ROWS} rows", "surv_grad",
                  fit_coxtime(5, 150, seed), simulate(N_ROWS, 5, seed + 1)[0], {}, {}))
    models, x_test = fit_models(160, 1, 50, seed, cuts=10)
    # the same alpha draws as the earlier package, where the current one can: same numbers
    same_draws = ({"stratified": False} if "stratified" in
                  inspect.signature(sv.surv_gradshap).parameters else {})
    for name, model in models.items():
        cases.append((f"{name} GradSHAP(t) (25, 25), p = 160, 100 instances", "surv_gradshap",
                      model, x_test, dict(n=25, num_samples=25, replace=False, seed=0),
                      same_draws))
    rows = []
    for label, method, model, x, kwargs, after_kwargs in cases:
        before, after = old.explain(model, x), sv.explain(model, x)
        calls = {"before": lambda: getattr(old, method)(before, x, **kwargs),
                 "after": lambda: getattr(sv, method)(after, x, **kwargs, **after_kwargs)}
        diff = float(np.abs(calls["before"]().values[0] - calls["after"]().values[0]).max())
        slow = method == "surv_gradshap"
        t = median_times(calls, max(3, repeats // 7) if slow else repeats,
                         warmup=0 if slow else 1)
        b, a = t["before"]["median"], t["after"]["median"]
        rows.append([label, fmt_s(b), fmt_s(a), f"**{b / a:.1f}x**", f"{diff:.1e}"])
        print(f"before/after {label}: {fmt_s(b)} -> {fmt_s(a)} ({b / a:.1f}x)", flush=True)
    return table(["call", "before", "after", "speed-up", "max abs diff"], rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer sizes and repeats (seconds); does not write RESULTS.md "
                             "unless --write is given")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed rounds per configuration (default 21, quick 3)")
    parser.add_argument("--before", default="main", metavar="REV",
                        help="git revision whose engine is the 'before' of the Grad(t) / "
                             "forward table (default main; 'none' to leave it out)")
    parser.add_argument("--compare-with", default=None, metavar="DIR",
                        help="a copy of an earlier survinng_py package directory: adds a "
                             "before/after table (interleaved)")
    parser.add_argument("--limit-models", nargs="+", default=None, metavar="NAME",
                        choices=LIMIT_MODELS,
                        help="models of the Grad(t) / forward table (default: all; quick: "
                             "DeepHit DeepSurv)")
    parser.add_argument("--limit-rows", nargs="+", type=int, default=None, metavar="N",
                        help="row counts of the Grad(t) / forward table (default 500 5000 "
                             "50000; quick: 500)")
    parser.add_argument("--limit-ps", nargs="+", type=int, default=None, metavar="P",
                        help="input sizes p of the Grad(t) / forward table (default 4 20 160; "
                             "quick: 4)")
    add_run_options(parser)
    args = parser.parse_args(argv)
    write = wants_write(args)
    repeats = args.repeats or (3 if args.quick else 21)
    set_threads(args.threads)
    torch.manual_seed(args.seed)

    if args.quick:
        deephit_grid = [(5, 100, N_ROWS)]
        deepsurv_grid = [5]
        coxtime_grid = [(5, 50)]
        profile_calls = 3
    else:
        deephit_grid = [(p, t, N_ROWS) for p in (5, 20) for t in (10, 30, 100, 300)]
        deephit_grid.append((5, 100, 10 * N_ROWS))  # fixed per-call costs vs rows
        deepsurv_grid = [5, 20, 160]
        coxtime_grid = [(5, 150), (20, 150)]
        profile_calls = 20

    print(f"torch threads: {torch.get_num_threads()}, repeats: {repeats}", flush=True)
    before = None if args.before == "none" else load_before(args.before)
    if args.quick:
        limit = bench_limit(args.limit_models or ["DeepHit", "DeepSurv"], args.limit_ps or [4],
                            args.limit_rows or [500], before, repeats, args.seed)
        shap_names = [m for m in args.limit_models or ["DeepSurv"] if m in GRADSHAP_MODELS]
    else:
        limit = bench_limit(args.limit_models or LIMIT_MODELS, args.limit_ps or [4, 20, 160],
                            args.limit_rows or [500, 5000, 50000], before, repeats, args.seed)
        shap_names = GRADSHAP_MODELS
    loop = bench_loop(before, repeats, args.seed)
    print(loop_verdict(loop), flush=True)
    shap = bench_gradshap_rate(shap_names, before, max(3, repeats // 3), args.seed)
    deephit = []
    for p, n_times, rows in deephit_grid:
        r = bench_deephit(p, n_times, repeats if rows == N_ROWS else max(3, repeats // 3),
                          args.seed, rows)
        deephit.append(r)
        print(grad_line(r), flush=True)
    deepsurv = []
    for p in deepsurv_grid:
        r = bench_deepsurv(p, 50, repeats, args.seed)
        deepsurv.append(r)
        print(grad_line(r), flush=True)
    coxtime = []
    for p, n_grid in coxtime_grid:
        r = bench_coxtime(p, n_grid, max(3, repeats // 4), args.seed)
        coxtime.append(r)
        t = r["times"]
        print(f"CoxTime p={p:3d} T={r['T']:3d} ({r['active']} active): surv_grad "
              f"{fmt_s(t['surv_grad']['median'])}, jacobian {fmt_s(t['jacobian']['median'])}, "
              f"R-style {fmt_s(t['r_style']['median'])}, loop {fmt_s(t['loop']['median'])}, "
              f"forward {fmt_s(t['forward']['median'])}; loop/surv_grad "
              f"{t['loop']['median'] / t['surv_grad']['median']:.1f}x; max abs diff "
              f"{max(r['diff'].values()):.1e}; inline head vs pycox {r['head_gap']:.1e}",
              flush=True)
    print("profiling surv_grad at T = 100, p = 5 ...", flush=True)
    prof = profile_deephit(5, 100, args.seed, profile_calls)

    default_threads = None
    if not args.quick and args.threads != 0:
        # the target point once more with torch's default thread count, for reference
        set_threads(DEFAULT_THREADS)
        default_threads = bench_deephit(5, 100, repeats, args.seed)
        set_threads(args.threads)
    before_after = None
    if args.compare_with:
        before_after = compare_with(args.compare_with, repeats, args.seed)

    body = render(deephit, deepsurv, coxtime, prof, default_threads, before_after, repeats,
                  args, (limit, loop, shap, before is not None))
    publish(SECTION, body, write)


def render_limit(results, loop, shap, has_before, args) -> list[str]:
    before = f"`{args.before}`'s engine" if has_before else "(not measured)"
    return [
        "### Grad(t) against one forward pass, before / after",
        "",
        "`surv_grad(explainer, x)` end to end against the package's own prediction "
        "(`engine.predict`: network + head, no gradients, in its row batches) on the same "
        f"rows, survival target, float32; bare eval-mode networks (MLP 32-32 ReLU; CoxTime's "
        f"with the time column; the CNN + GRU network takes an 8x8 image and a 12 x 2 "
        f"sequence, p = 88) with the family's head on T = {LIMIT_T} times (300 where named). "
        f"Before: {before}, run through the same methods (the engine module swapped in). "
        "Interleaved medians of this process's CPU time (`time.process_time`, one torch "
        "thread: the two cores are shared with other jobs, whose time wall-clock would "
        f"count), {args.repeats or (3 if args.quick else 21)} rounds (fewer where a configuration's rounds "
        "pass 60 s), "
        "after a warm-up that also measures the engine's plan; the ratios to the forward pass are medians over rounds of each round's own ratio (the two calls run seconds apart, so a slow spell of the shared machine cancels). Rows are capped where the result (rows x p x T float32) would pass "
        f"{RESULT_BYTES_MAX // 2**20} MiB. Plan: how the engine took the Jacobian (factored: "
        "J = G . H, G by reverse mode; otherwise the network part's scheme, measured, and the "
        "head's closed-form JVPs). The last column is the largest difference between before "
        "and after, relative to the largest value (up to 5k rows). **Goal: Grad(t) <= (p + 1) x the forward "
        "pass at 50k rows (the capped count where capped) wherever p < T.**",
        "",
        limit_table(results),
        "",
        "**The per-time-point loop** (one forward, T backward passes with `retain_graph`, "
        "stacked) on the same network and rows; goal >= 20x at p = 4, T = 100, 500 rows. "
        "Both figures are given: a call of a few milliseconds that follows other work pays "
        "a warm-up (caches, branch predictors, clock), as the control with a pure-Python "
        "busy loop in place of the torch loop shows, a fixed cost that the much longer loop "
        "hides in its own time; the steady state is the engine's throughput, the cold figure "
        "what one isolated call sees.",
        "",
        loop_verdict(loop),
        "",
        f"**GradSHAP(t) points per second** (p = 20, 50 instances x n = 10 x num_samples = "
        f"10 points, interleaved medians of CPU time), before: {before}:",
        "",
        table(["model", "p", "T", "points", "before (points/s)", "after (points/s)",
               "speed-up"], shap),
        "",
        "GPU: not measured (no GPU was available to this run).",
        "",
    ]


def grad_line(r: dict) -> str:
    t = r["times"]
    med = {k: v["median"] for k, v in t.items()}
    return (f"{r['model']} rows={r['rows']} p={r['p']:3d} T={r['T']:3d}: surv_grad "
            f"{fmt_s(med['surv_grad'])}, jacobian {fmt_s(med['jacobian'])}, loop "
            f"{fmt_s(med['loop'])}, forward {fmt_s(med['forward'])}, forward+backward "
            f"{fmt_s(med['fwd_bwd'])}; loop/surv_grad {med['loop'] / med['surv_grad']:.1f}x, "
            f"surv_grad/(forward+backward) {med['surv_grad'] / med['fwd_bwd']:.1f}x; max abs "
            f"diff vs loop {max(r['diff'].values()):.1e}; inline head vs pycox "
            f"{r['head_gap']:.1e}")


def render(deephit, deepsurv, coxtime, prof, default_threads, before_after, repeats,
           args, limit) -> str:
    mode = "quick" if args.quick else "full"
    parts = [
        "## Grad(t): vectorised engine vs per-time-point loop (`bench_engine.py`)",
        "",
        environment_block({"mode": f"{mode}; {repeats} timed rounds per DeepHit and DeepSurv "
                                   f"configuration ({max(3, repeats // 4)} for CoxTime), "
                                   "interleaved, after one warm-up; medians",
                           "rows": f"{N_ROWS} explained rows; networks MLP {HIDDEN} with batch "
                                   "norm and dropout 0.1 (eval mode), trained 1 epoch",
                           "dtype": "float32 everywhere"}),
        "",
        *render_limit(*limit, args),
        "### DeepHit (`DeepHitSingle`), survival target",
        "",
        "(a) `surv_grad(explainer, x)` end to end (numpy in, SurvResult out, includes the "
        "prediction it reports); (b) `engine.jacobian(explainer.model, [x], \"survival\")` "
        "(automatic mode = forward mode here, since p < T); (b') the same with "
        "`mode=\"reverse\"`; (c) survinng R's loop: one forward of network + inline head, "
        "then T `autograd.grad(S[:, t].sum(), x, retain_graph=True)` calls, stacked; "
        "(d) one no-grad forward of network + head (the floor of any method); (f) one "
        "forward with grad and one backward of `S.sum()` (one ordinary gradient, the unit "
        "of (c)'s cost). The last column is the largest |(a) - (c)| or |(b) - (c)|; the "
        "inline head matches pycox's `predict_surv` to "
        f"{max(r['head_gap'] for r in deephit):.1e}.",
        "",
        grad_table(deephit),
        "",
        "**Target: at T = 100 and 500 rows, Grad(t) >= 20x faster than the "
        "per-time loop.**",
        "",
        verdict(deephit, 100),
        "",
        "Why the ratio is bounded here: forward mode pushes p tangents through network and "
        "head, and each costs about what one of the loop's T backward passes costs (the "
        "head's work per tangent is O(rows x T) either way: softmax, cumulative sum and "
        "their derivatives). The ratio therefore grows like T / p (see T = 300, and p = 20 "
        "against p = 5) on top of a fixed share for the forward pass and the graph that "
        "reverse-over-reverse needs ((b) is about 4-6 forward passes). Every other way "
        "torch offers to take this Jacobian (its forward-mode AD, with or without vmap, "
        "and reverse mode) is slower: see the last table of the profile section below.",
        "",
    ]
    if default_threads is not None:
        t = default_threads["times"]
        parts += [
            f"Same point (p = 5, T = 100) with torch's default thread count "
            f"({DEFAULT_THREADS} threads) on this shared machine: surv_grad "
            f"{fmt_s(t['surv_grad']['median'])} (IQR {fmt_s(t['surv_grad']['q1'])} - "
            f"{fmt_s(t['surv_grad']['q3'])}), jacobian {fmt_s(t['jacobian']['median'])}, "
            f"loop {fmt_s(t['loop']['median'])}, forward {fmt_s(t['forward']['median'])}; "
            f"loop / surv_grad = {t['loop']['median'] / t['surv_grad']['median']:.1f}x. "
            "(Multi-threaded kernels wait for a second core that other processes occupy, "
            "which is why the tables use one thread.)",
            "",
        ]
    parts += [
        "### DeepSurv (`CoxPH`), survival target",
        "",
        "Durations binned to 50 quantile bins before fitting, so the Breslow baseline has "
        "<= 50 times; inline S_t = exp(-H0_t exp(g(x))) (matches pycox's `predict_surv` to "
        f"{max(r['head_gap'] for r in deepsurv):.1e}). Columns as above. The engine takes "
        "the network's gradient (one backward: one output per row) and the head's "
        "derivative along one direction, and forms J as their product (`jacobian_factors`).",
        "",
        grad_table(deepsurv),
        "",
        "**Target: Grad(t) for DeepSurv <= 3x a forward+backward pass.**",
        "",
        deepsurv_verdict(deepsurv),
        "",
        "At large p the result itself (rows x p x T values, 35x the size of one gradient "
        "at T = 35) is what costs: writing it is a memory-bound outer product.",
        "",
        "### CoxTime, survival target",
        "",
        "Durations binned to quantile bins before fitting, so pycox's Breslow baseline "
        "hazard has few times (the network sees every (row, time) pair: 500 x T rows). "
        "(c) one backward per time point of `S[:, t].sum()`; (c2) what survinng R does for "
        "CoxTime: one backward of the summed hazard over all (row, time) rows, then "
        "dS_t/dx = -S_t cumsum_j<=t dh_j/dx. (a), (b), (d) as above. The inline head matches "
        f"pycox's `predict_surv` to {max(r['head_gap'] for r in coxtime):.1e}.",
        "",
        coxtime_table(coxtime),
        "",
    ]
    if before_after is not None:
        parts += [
            "### Before / after the engine optimisations",
            "",
            f"`--compare-with {args.compare_with}` (the package before the change, e.g. "
            "`git archive <revision> survinng_py | tar -x -C DIR`): the same calls on the "
            "same fitted models, interleaved; GradSHAP(t) models as in `bench_survshap.py` "
            "(1 epoch), the current package with `stratified=False` (the earlier package's "
            "alpha draws), so both compute the same numbers.",
            "",
            before_after,
            "",
            "What the profiles showed and what changed (`engine.py`, `methods/_core.py`):",
            "",
            "- `aten::stack` / `aten::cat` were the largest self-time items of "
            "`engine.jacobian` for DeepHit: `autograd.grad(..., is_grads_batched=True)` runs on "
            "torch's legacy vmap, which has no batching rule for cumsum, flip, pad and the "
            "softmax backward and loops over the tangents, then stacks. The batched "
            "vector-Jacobian products now use `torch.func.vmap` over `autograd.grad` (one "
            "plain call when there is a single product).",
            "- Narrow heads (the head takes MK numbers per instance, fewer than the D inputs; "
            "DeepSurv: MK = 1): the network's Jacobian G (one backward) and the head's H (MK "
            "directions) give J = G . H as one batched product (a broadcast multiply for "
            "MK = 1) instead of pushing D tangents through the head; methods that average "
            "over points (GradSHAP(t), IntGrad(t), SmoothGrad(t)) contract the factors over "
            "each instance's replicates in one matrix product and never form the per-point "
            "Jacobians.",
            "- Per call: no zero-filled accumulators, no `+=` and no `/ n_reps` copy for a "
            "single batch (the batch result is the result; several batches are written into "
            "one preallocated array); the target at the points is kept only where it is the "
            "prediction (Grad(t)); `num_risks` (a network run) is cached with the network "
            "profile; `engine.predict` fills one array instead of concatenating.",
            "",
        ]
    parts += [
        "### Where the time of (a) goes (DeepHit, p = 5, T = 100)",
        "",
        prof,
    ]
    return "\n".join(parts)


if __name__ == "__main__":
    main()
