"""Cohort-scale explanations: rows/s of ``explain_dataset`` in-process vs a LocalCluster.

Simulated patients (p = 20 features) are written to Parquet (files of 50,000 rows, row
groups of 5,000); bare torch networks, MLP [32, 32] in float32 with T = 50 time points:
DeepSurv (one output, Breslow-style baseline hazard) and competing-risks DeepHit (output
(B, 2, T)). Grad(t) and GradSHAP(t) (n = 10, num_samples = 5) of the survival / CIF
target, ``rows_per_task`` = 5,000 (250 with ``--quick``):

(a) in-process (``client=None``, one torch thread);
(b) a ``distributed.LocalCluster`` of ``--workers`` single-threaded worker processes
    (started before the clock and warmed up with one small run; the model bundle is
    shipped to the workers inside the timed call).

Per size: rows/s of each, the output folder's size on disk, and the peak RSS of each
worker (a fresh cluster per size, so the peak belongs to that size: it should stay flat
as the cohort grows, since a unit holds at most ``rows_per_task`` rows). One timed run
per configuration (these are long runs; see the README of this folder).

Run ``python benchmarks/bench_cohort.py`` (full: 10k, 100k and 1M rows; long) or
``--quick`` (1,000 rows, under a minute).
"""

from __future__ import annotations

import argparse
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
P, T, HIDDEN = 20, 50, 32
FILE_ROWS, GROUP_ROWS = 50_000, 5_000
METHODS = {"grad": {}, "gradshap": {"n": 10, "num_samples": 5, "seed": 1}}


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


def peak_rss_mib(client) -> list[float]:
    import resource

    peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return sorted(kib / 1024 for kib in peaks.values())  # ru_maxrss is in KiB on Linux


def run(sizes: list[int], workers: int, rows_per_task: int, seed: int) -> list[list[str]]:
    import survinng_py as sv

    rows_out = []
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
                    call = {"method": method, "target": target, "rows_per_task": rows_per_task}
                    call.update(options)
                    t_here, t_there, disk, peaks = measure(
                        bundle, source, warm_source, tmp_path, workers, call
                    )
                    rows_out.append(
                        [
                            f"{size:,}",
                            model,
                            method,
                            f"{size / t_here:,.0f} ({fmt_s(t_here)})",
                            f"{size / t_there:,.0f} ({fmt_s(t_there)})",
                            f"{t_here / t_there:.2f}",
                            f"{disk / 2**20:,.1f}",
                            " / ".join(f"{p:,.0f}" for p in peaks),
                        ]
                    )
                    print(" | ".join(rows_out[-1]), flush=True)
            shutil.rmtree(source)
    return rows_out


def measure(bundle, source, warm_source, tmp_path: Path, workers: int, call: dict):
    """Seconds in-process and on a fresh LocalCluster, output bytes, workers' peak RSS."""
    import distributed

    import survinng_py as sv

    here, there, warm = tmp_path / "here", tmp_path / "there", tmp_path / "warm"
    _, t_here = timed(partial(sv.explain_dataset, bundle, source, here, **call))
    disk = folder_bytes(here)
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
        peaks = peak_rss_mib(client)
    shutil.rmtree(there)
    return t_here, t_there, disk, peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 rows only (under a minute)")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    add_run_options(parser)
    args = parser.parse_args()
    set_threads(args.threads)
    sizes = [1_000] if args.quick else [10_000, 100_000, 1_000_000]
    rows_per_task = 250 if args.quick else 5_000
    rows = run(sizes, args.workers, rows_per_task, args.seed)
    body = "\n".join(
        [
            "## Cohort-scale explanations: explain_dataset in-process vs LocalCluster",
            "",
            f"p = {P} features, T = {T} times, MLP [{HIDDEN}, {HIDDEN}] float32; Parquet "
            f"files of {FILE_ROWS:,} rows in row groups of {GROUP_ROWS:,}; rows_per_task = "
            f"{rows_per_task:,}; GradSHAP(t) n = 10, num_samples = 5. One run each; the "
            f"cluster ({args.workers} single-threaded worker processes) is started before "
            "the clock. Peak RSS: each worker process, a fresh cluster per size.",
            "",
            table(
                [
                    "rows",
                    "model",
                    "method",
                    "in-process rows/s (time)",
                    f"LocalCluster({args.workers}) rows/s (time)",
                    "speed-up",
                    "output MiB (long)",
                    "peak RSS per worker, MiB",
                ],
                rows,
            ),
            "",
            environment_block(),
        ]
    )
    publish(SECTION, body, wants_write(args))


if __name__ == "__main__":
    main()
