"""Cohort-scale explanations: rows/s of ``explain_dataset`` in-process vs a LocalCluster.

Simulated patients (p = 20 features) are written to Parquet (files of 50,000 rows, row
groups of 5,000); bare torch networks, MLP [32, 32] in float32 with T = 10 time points
(the output, p x T values per row and risk, and writing it dominate the time: T = 10
lets the 1M-row runs finish on a small shared machine):
DeepSurv (one output, Breslow-style baseline hazard) and competing-risks DeepHit (output
(B, 2, T)). Grad(t) and GradSHAP(t) (n = 5 path points on each of num_samples = 2
references: 10 gradient points per row) of the survival / CIF target, ``rows_per_task`` =
5,000 (250 with ``--quick``):

(a) in-process (``client=None``, one torch thread; warmed up with one small run), up to
    ``--max-in-process`` rows;
(b) a ``distributed.LocalCluster`` of ``--workers`` single-threaded worker processes
    (started before the clock and warmed up with one small run; the model bundle is
    shipped to the workers inside the timed call).

GradSHAP(t) runs up to ``--max-gradshap`` rows. Per size: rows/s of each, the output
folder's size on disk (long layout), the peak RSS of each worker (a fresh cluster per
size, so the peak belongs to that size: it should stay flat as the cohort grows, since a
unit holds at most ``rows_per_task`` rows) and the machine's load average around the
measurement. One timed run per configuration (these are long runs). The section is
rewritten after each measurement, so an interrupted run keeps what it measured. A last table
extrapolates the measured per-worker throughput to a 10M-patient cohort on N workers.

Run ``python benchmarks/bench_cohort.py`` (full: 10k, 100k and 1M rows; long) or
``--quick`` (1,000 rows, under a minute).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from functools import partial
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    add_run_options,
    environment_block,
    fmt_s,
    publish,
    set_threads,
    table,
    timed,
    wants_write,
)

SECTION = "bench_cohort"
P, T, HIDDEN = 20, 10, 32
FILE_ROWS, GROUP_ROWS = 50_000, 5_000
METHODS = {"grad": {}, "gradshap": {"n": 5, "num_samples": 2, "seed": 1}}
COHORT = 10_000_000  # the cohort of the extrapolation
CLUSTER_WORKERS = (8, 64, 512)


class CompetingRisks(torch.nn.Module):
    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        return self.body(x).view(x.shape[0], 2, T)


def mlp(out: int) -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Linear(P, HIDDEN),
        torch.nn.ReLU(),
        torch.nn.Linear(HIDDEN, HIDDEN),
        torch.nn.ReLU(),
        torch.nn.Linear(HIDDEN, out),
    )


def explainers(seed: int) -> dict:
    import survinng_py as sv

    torch.manual_seed(seed)
    background = np.random.default_rng(seed).normal(size=(200, P)).astype("float32")
    names = [f"x{j}" for j in range(P)]
    times = np.linspace(0.1, 5.0, T)
    return {
        "DeepSurv": (
            sv.explain(
                mlp(1).eval(),
                background,
                model_type="deepsurv",
                feature_names=names,
                baseline_hazard=(times.tolist(), np.linspace(0.01, 1.0, T).tolist()),
            ),
            "survival",
        ),
        "DeepHit (2 risks)": (
            sv.explain(
                CompetingRisks(mlp(2 * T)).eval(),
                background,
                model_type="deephit",
                feature_names=names,
                time_bins=times.tolist(),
            ),
            "cif",
        ),
    }


def write_source(folder: Path, rows: int, seed: int) -> None:
    """``rows`` simulated patients in Parquet files of FILE_ROWS rows (written in slices)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir()
    rng = np.random.default_rng(seed)
    for number, start in enumerate(range(0, rows, FILE_ROWS)):
        n = min(FILE_ROWS, rows - start)
        x = rng.normal(size=(n, P)).astype("float32")
        table_ = pa.table({f"x{j}": x[:, j] for j in range(P)})
        pq.write_table(table_, folder / f"part{number:04d}.parquet", row_group_size=GROUP_ROWS)


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def peak_rss_mib() -> float:
    """This process's peak resident set (Linux ``VmHWM``), in MiB.

    Not ``getrusage``'s ``ru_maxrss``: Linux carries that over fork and exec, so a worker
    process would report at least the RSS its parent had when it started it.
    """
    with open("/proc/self/status", encoding="ascii") as status:
        kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    return kib / 1024


def reset_peak_rss() -> None:
    """Start this process's ``VmHWM`` again from its current RSS (Linux ``clear_refs``)."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
        refs.write("5")


def load() -> float:
    """The 1-minute load average (other work on the machine)."""
    return os.getloadavg()[0]


def run(sizes: list[int], args, rows_per_task: int, report) -> list[dict]:
    """Every measurement, as a record; ``report(records)`` after each one."""
    import survinng_py as sv

    workers, seed = args.workers, args.seed
    records: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        bundles = {}
        for model, (exp, target) in explainers(seed).items():
            bundles[model] = (sv.save_model(exp, tmp_path / f"bundle{len(bundles)}"), target)
        warm_source = tmp_path / "warm_source"
        write_source(warm_source, 2 * workers, seed)
        for size in sizes:
            source = tmp_path / f"src{size}"
            write_source(source, size, seed)
            for model, (bundle, target) in bundles.items():
                for method, options in METHODS.items():
                    if method == "gradshap" and size > args.max_gradshap:
                        continue
                    call = {"method": method, "target": target, "rows_per_task": rows_per_task}
                    call.update(options)
                    in_process = size <= args.max_in_process
                    start_load = load()
                    t_here, here_peak, t_there, disk, peaks = measure(
                        bundle, source, warm_source, tmp_path, workers, call, in_process
                    )
                    records.append(
                        {
                            "size": size,
                            "model": model,
                            "method": method,
                            "here": t_here,
                            "there": t_there,
                            "disk": disk,
                            "peaks": peaks,
                            "here_peak": here_peak,
                            "load": (start_load, load()),
                        }
                    )
                    print(" | ".join(row(records[-1], workers)), flush=True)
                    report(records)
            shutil.rmtree(source)
    return records


def row(record: dict, workers: int) -> list[str]:
    size, here, there = record["size"], record["here"], record["there"]
    return [
        f"{size:,}",
        record["model"],
        record["method"],
        "not run" if here is None else f"{size / here:,.0f} ({fmt_s(here)})",
        "" if here is None else f"{record['here_peak']:,.0f}",
        f"{size / there:,.0f} ({fmt_s(there)})",
        "" if here is None else f"{here / there:.2f}",
        f"{record['disk'] / 2**20:,.1f}",
        " / ".join(f"{p:,.0f}" for p in record["peaks"]),
        "{:.1f} → {:.1f}".format(*record["load"]),
    ]


def measure(bundle, source, warm_source, tmp_path: Path, workers: int, call: dict,
            in_process: bool):
    """Seconds and peak RSS in-process (``None`` if not run), seconds on a fresh
    LocalCluster, output bytes, the workers' peak RSS."""
    import distributed

    import survinng_py as sv

    here, there, warm = tmp_path / "here", tmp_path / "there", tmp_path / "warm"
    t_here = here_peak = None
    if in_process:
        sv.explain_dataset(bundle, warm_source, warm, **call)  # imports, as on the workers
        shutil.rmtree(warm)
        reset_peak_rss()
        _, t_here = timed(partial(sv.explain_dataset, bundle, source, here, **call))
        here_peak = peak_rss_mib()
        shutil.rmtree(here)
    with (
        distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        sv.explain_dataset(bundle, warm_source, warm, client=client, **call)  # imports, bundle
        shutil.rmtree(warm)
        _, t_there = timed(
            partial(sv.explain_dataset, bundle, source, there, client=client, **call)
        )
        peaks = sorted(client.run(peak_rss_mib).values())
    disk = folder_bytes(there)
    shutil.rmtree(there)
    return t_here, here_peak, t_there, disk, peaks


def at_cluster_scale(records: list[dict], workers: int) -> str:
    """10M patients on N workers, from the largest measured size of each configuration."""
    largest: dict = {}  # per configuration: the largest size, and the largest in-process
    in_process: dict = {}
    for record in records:
        largest[(record["model"], record["method"])] = record
        if record["here"] is not None:
            in_process[(record["model"], record["method"])] = record
    rows = []
    for (model, method), record in largest.items():
        per_worker = record["size"] / record["there"] / workers
        alone = in_process.get((model, method))
        per_core = None if alone is None else alone["size"] / alone["here"]
        bytes_per_row = record["disk"] / record["size"]
        rows.append(
            [
                model,
                method,
                f"{per_worker:,.0f}" + ("" if per_core is None else f" ({per_core:,.0f})"),
                f"{bytes_per_row * COHORT / 2**30:,.0f}",
                *(fmt_hours(COHORT / (n * per_worker)) for n in CLUSTER_WORKERS),
                f"{n_for_an_hour(per_worker):,}",
            ]
        )
    return "\n".join(
        [
            "### At cluster scale: 10M patients",
            "",
            f"Extrapolated from the largest measured size of each row above: the throughput "
            f"of one LocalCluster worker (cluster rows/s / {workers}; in brackets the "
            "in-process rate of one core at the largest size run in-process). Assumptions: one single-threaded "
            "worker per core, each as fast as one worker here (same CPU, same share of "
            "it: this machine was shared, see the load column); units are independent "
            "(no data moves between workers), so the time is the cohort over N times the "
            "per-worker rate, plus the scheduler's ~1 ms per task (2,000 tasks of "
            "5,000 rows: seconds) and the cluster's start-up; the shared storage takes "
            "every worker's writes at full speed (N × rows/s × bytes per row); the client "
            "plans from Parquet footers only (Grad(t) and GradSHAP(t) draw nothing per "
            "row). Output size: the bytes per row measured here (long layout) times 10M.",
            "",
            table(
                [
                    "model",
                    "method",
                    "rows/s per worker (per core in-process)",
                    "output GiB",
                    *(f"{n} workers" for n in CLUSTER_WORKERS),
                    "workers for 1 hour",
                ],
                rows,
            ),
        ]
    )


def fmt_hours(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:,.1f} h"
    return f"{seconds / 60:,.0f} min" if seconds >= 60 else f"{seconds:,.0f} s"


def n_for_an_hour(per_worker: float) -> int:
    return -(-COHORT // int(per_worker * 3600))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 rows only (under a minute)")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    parser.add_argument("--max-in-process", type=int, default=100_000,
                        help="largest size also run in-process (default 100,000)")
    parser.add_argument("--max-gradshap", type=int, default=100_000,
                        help="largest size GradSHAP(t) runs at (default 100,000)")
    add_run_options(parser)
    args = parser.parse_args()
    set_threads(args.threads)
    sizes = [1_000] if args.quick else [10_000, 100_000, 1_000_000]
    rows_per_task = 250 if args.quick else 5_000
    start_load = os.getloadavg()

    def report(records: list[dict]) -> None:
        body = "\n".join(
            [
                "## Cohort-scale explanations: explain_dataset in-process vs LocalCluster",
                "",
                f"p = {P} features, T = {T} times, MLP [{HIDDEN}, {HIDDEN}] float32; Parquet "
                f"files of {FILE_ROWS:,} rows in row groups of {GROUP_ROWS:,}; rows_per_task "
                f"= {rows_per_task:,}; GradSHAP(t) n = {METHODS['gradshap']['n']}, "
                f"num_samples = {METHODS['gradshap']['num_samples']} (10 gradient points per "
                f"row), run up to {args.max_gradshap:,} rows; in-process runs up to "
                f"{args.max_in_process:,} rows. One run each; the cluster "
                f"({args.workers} single-threaded worker processes) is started before the "
                "clock; both are warmed up with one small run (imports); the model is loaded "
                "from its bundle inside each timed call. Output: long layout, float32, on "
                "local disk. Peak RSS (Linux VmHWM): of the process during the timed call "
                "in-process; of each worker process, a fresh cluster per measurement. Load: the machine's 1-minute "
                "load average before → after the measurement (the 2 cores were shared with "
                "other jobs; the script ran under `nice -n 10`).",
                "",
                table(
                    [
                        "rows",
                        "model",
                        "method",
                        "in-process rows/s (time)",
                        "in-process peak RSS, MiB",
                        f"LocalCluster({args.workers}) rows/s (time)",
                        "speed-up",
                        "output MiB",
                        "peak RSS per worker, MiB",
                        "load (1 min)",
                    ],
                    [row(r, args.workers) for r in records],
                ),
                "",
                at_cluster_scale(records, args.workers),
                "",
                environment_block(
                    {"load average at start (1/5/15 min)": " / ".join(
                        f"{v:.2f}" for v in start_load)}
                ),
            ]
        )
        publish(SECTION, body, wants_write(args))

    run(sizes, args, rows_per_task, report)


if __name__ == "__main__":
    main()
