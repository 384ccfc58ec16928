"""Prediction throughput: onnxruntime on the exported graph (network + head) versus torch.

DeepSurv (pycox ``CoxPH``), CoxTime (baseline grid binned to ~100 times) and DeepHit
(``DeepHitSingle``, 50 time bins), each ``MLP [32, 32]`` with batch norm and dropout
(eval mode) on p = 10 simulated features, trained one epoch. For a batch of 10,000 rows
and the survival target, interleaved and warmed up once:

(a) onnxruntime: ``InferenceSession.run`` on the graph written by
    ``survinng_py.export_onnx`` (numpy float32 in, ``(rows, 1, T)`` out);
(b) torch: ``explainer.model.forward([x], "survival")`` under ``torch.no_grad()`` (the
    adapter the attribution methods use; tensor in, tensor out);
(c) torch on a loaded bundle (``survinng_py.load_model``: the ``torch.export`` program);
(d) pycox's own ``predict_surv`` (numpy in, numpy out; for reference).

Both runtimes get the same number of intra-op threads (``--threads``, default 1). The
outputs are compared (max abs difference of (a), (c) and (d) against (b)).

Run ``python benchmarks/bench_onnx.py`` (full, about a minute) or ``--quick``.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (add_run_options, wants_write, environment_block, fmt_s, median_times, set_threads, table,  # noqa: E402
                     publish)
from bench_engine import HIDDEN, fit_coxtime, fit_deephit, simulate  # noqa: E402

warnings.filterwarnings("ignore", category=UserWarning, module="torchtuples")
SECTION = "bench_onnx"
P = 10


def fit_deepsurv(p: int, seed: int):
    import torchtuples as tt
    from pycox.models import CoxPH

    torch.manual_seed(seed)
    x, duration, event = simulate(1000, p, seed)
    net = tt.practical.MLPVanilla(p, HIDDEN, 1, batch_norm=True, dropout=0.1, output_bias=False)
    model = CoxPH(net, tt.optim.Adam(0.01))
    model.fit(x, (duration, event), batch_size=256, epochs=1, verbose=False)
    model.compute_baseline_hazards()
    model.net.eval()
    return model


def bench(name: str, model, rows: int, repeats: int, threads: int, seed: int) -> dict:
    import onnxruntime as ort

    import survinng_py as sv

    x = simulate(rows, P, seed + 1)[0]
    xt = torch.as_tensor(x)
    explainer = sv.explain(model, x[:200])
    with tempfile.TemporaryDirectory() as tmp:
        bundle = sv.save_model(explainer, Path(tmp) / "bundle", targets="survival")
        options = ort.SessionOptions()
        if threads > 0:  # 0: onnxruntime's default, as torch's default for --threads 0
            options.intra_op_num_threads = options.inter_op_num_threads = threads
        session = ort.InferenceSession(str(bundle / "survival.onnx"), options,
                                       providers=["CPUExecutionProvider"])
        loaded = sv.load_model(bundle)

    def torch_forward(adapter):
        with torch.no_grad():
            return adapter.forward([xt], "survival")

    def pycox():
        out = np.asarray(model.predict_surv(x))
        model.net.eval()  # pycox leaves the net in train mode
        return out

    fns = {"onnxruntime": lambda: session.run(None, {"input_1": x})[0],
           "torch": lambda: torch_forward(explainer.model),
           "bundle": lambda: torch_forward(loaded.model),
           "pycox": pycox}
    times = median_times(fns, repeats)
    reference = torch_forward(explainer.model).numpy()[:, 0]
    diffs = {"onnxruntime": fns["onnxruntime"]()[:, 0], "bundle": fns["bundle"]().numpy()[:, 0],
             "pycox": pycox()}
    return {"model": name, "rows": rows, "T": reference.shape[1], "times": times,
            "net_rows": rows * explainer.model.rows_per_instance,
            "diff": {k: float(np.abs(v - reference).max()) for k, v in diffs.items()}}


def render(results: list[dict], repeats: int, args) -> str:
    rows = []
    for r in results:
        t = {k: v["median"] for k, v in r["times"].items()}
        rows.append([r["model"], r["T"], f"{r['rows']:,}", f"{r['net_rows']:,}",
                     fmt_s(t["onnxruntime"]), fmt_s(t["torch"]), fmt_s(t["bundle"]),
                     fmt_s(t["pycox"]), f"{r['rows'] / t['onnxruntime']:,.0f}",
                     f"{r['rows'] / t['torch']:,.0f}", f"**{t['torch'] / t['onnxruntime']:.2f}x**",
                     f"{r['diff']['onnxruntime']:.1e}", f"{r['diff']['bundle']:.1e}",
                     f"{r['diff']['pycox']:.1e}"])
    mode = "quick" if args.quick else "full"
    return "\n".join([
        "## Prediction throughput: onnxruntime vs torch (`bench_onnx.py`)",
        "",
        environment_block({
            "mode": f"{mode}; {repeats} timed rounds per model, interleaved, after one warm-up; "
                    "medians",
            "models": f"p = {P} features; MLP {HIDDEN} with batch norm and dropout 0.1 (eval "
                      "mode), trained 1 epoch; survival target",
            "threads": f"{args.threads} intra-op thread(s) for torch and onnxruntime alike "
                       "(0: each runtime's default)",
            "onnxruntime": _version("onnxruntime") + ", graph from `export_onnx` (dynamo "
                           "exporter, torch's default opset)"}),
        "",
        "(a) onnxruntime `InferenceSession.run` on the exported graph (network + survival "
        "head, numpy float32 in); (b) torch: the explainer's adapter `forward` under "
        "`no_grad` (what the attribution methods run); (c) torch on the same model loaded "
        "back from a bundle (`load_model`, torch.export program); (d) pycox's own "
        "`predict_surv`. Rows/s = batch rows / median time. The last three columns are the "
        "largest absolute differences of (a), (c), (d) from (b). CoxTime evaluates the "
        "network once per (row, baseline time) pair: the network rows column.",
        "",
        table(["model", "times", "batch rows", "network rows", "(a) onnxruntime",
               "(b) torch", "(c) torch, loaded bundle", "(d) pycox predict_surv",
               "onnxruntime rows/s", "torch rows/s", "torch / onnxruntime",
               "max diff (a) vs (b)", "(c) vs (b)", "(d) vs (b)"], rows),
    ])


def _version(dist: str) -> str:
    from survinng_py._report import version
    return f"{dist} {version(dist)}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="2,000 rows and 3 rounds (seconds); does not write RESULTS.md "
                             "unless --write is given")
    parser.add_argument("--rows", type=int, default=None, help="batch rows (default 10000)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed rounds per model (default 15, quick 3)")
    add_run_options(parser, threads_help="intra-op threads of torch and onnxruntime")
    args = parser.parse_args(argv)
    write = wants_write(args)
    repeats = args.repeats or (3 if args.quick else 15)
    rows = args.rows or (2000 if args.quick else 10000)
    set_threads(args.threads)

    models = {"DeepSurv": fit_deepsurv(P, args.seed),
              "CoxTime": fit_coxtime(P, 100, args.seed),
              "DeepHit": fit_deephit(P, 50, args.seed)}
    results = []
    for name, model in models.items():
        r = bench(name, model, rows, repeats, args.threads, args.seed)
        results.append(r)
        t = r["times"]
        print(f"{name} ({r['T']} times, {rows} rows): onnxruntime "
              f"{fmt_s(t['onnxruntime']['median'])}, torch {fmt_s(t['torch']['median'])}, "
              f"loaded bundle {fmt_s(t['bundle']['median'])}, pycox "
              f"{fmt_s(t['pycox']['median'])}; max abs diff vs torch: "
              + ", ".join(f"{k} {v:.1e}" for k, v in r["diff"].items()), flush=True)
    body = render(results, repeats, args)
    publish(SECTION, body, write)


if __name__ == "__main__":
    main()
