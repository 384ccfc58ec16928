"""Helpers shared by the benchmark scripts: timing, environment, RESULTS.md sections."""
from __future__ import annotations

import datetime as _dt
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from survinng_py import _report
from survinng_py._report import git_revision, table, version  # noqa: F401 (table: re-export)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
HEADER = """# survinng_py benchmarks

Results written by the scripts in this folder (see `README.md`). Each script replaces only
its own section, between its `<!-- name:start -->` and `<!-- name:end -->` markers.
Timings are medians of repeated runs (`time.perf_counter`, after one warm-up run) unless a
section says otherwise.
"""


def set_threads(threads: int) -> None:
    """``threads`` > 0: use that many intra-op threads; 0: keep torch's default."""
    if threads > 0:
        torch.set_num_threads(threads)


def median_times(fns: dict[str, Callable[[], object]], repeats: int,
                 warmup: int = 1, budget_s: float | None = None,
                 between: Callable[[int], object] | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> dict[str, dict[str, float]]:
    """Run every function ``warmup`` times, then ``repeats`` rounds, interleaved.

    Interleaving (round robin) exposes all candidates to the same background load, so
    their ratios are taken side by side; each round runs them in a new random order (a
    fixed seed), so no candidate always runs right after the same one (whose freed memory
    and evicted caches the next call pays for; a rotation would keep that neighbour). With ``budget_s``, no new round starts once that
    many seconds have been spent (at least one round runs). ``between(round)``, if given,
    runs after each round (untimed here: e.g. a slice of a slow baseline timed by the
    caller). ``clock``: wall-clock by default; ``time.process_time`` counts only this
    process's CPU time, which other jobs on a loaded machine do not inflate. Returns per
    name: median, min, q1, q3 (seconds), n (rounds) and the samples in round order.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    spent = 0.0
    order = np.random.default_rng(0)
    for round_ in range(repeats):
        if budget_s is not None and round_ > 0 and spent > budget_s:
            break
        for name in order.permutation(list(fns)):
            start = clock()
            fns[name]()
            samples[name].append(clock() - start)
            spent += samples[name][-1]
        if between is not None:
            between(round_)
    out = {}
    for name, ts in samples.items():
        arr = np.asarray(ts)
        out[name] = {"median": float(np.median(arr)), "min": float(arr.min()),
                     "q1": float(np.quantile(arr, 0.25)), "q3": float(np.quantile(arr, 0.75)),
                     "n": len(ts), "samples": [float(t) for t in ts]}
    return out


def block_times(fns: dict[str, Callable[[], object]], rounds: int, block_s: float = 0.25,
                clock: Callable[[], float] = time.process_time) -> dict[str, dict[str, float]]:
    """Two functions run in alternating blocks of back-to-back calls (as ``timeit`` does),
    after one warm-up call each. Per name, the medians over rounds of the block's first
    call (``"cold"``: on the caches and branch predictors the other function's block
    left) and of the mean of its other calls (``"warm"``: the steady state); a block lasts
    ``block_s`` seconds, at least three calls.
    """
    assert len(fns) == 2, "blocks alternate between two functions"
    for fn in fns.values():
        fn()
    cold: dict[str, list[float]] = {name: [] for name in fns}
    warm: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            calls: list[float] = []
            while len(calls) < 3 or sum(calls) < block_s:
                start = clock()
                fn()
                calls.append(clock() - start)
            cold[name].append(calls[0])
            warm[name].append(float(np.mean(calls[1:])))
    return {name: {"cold": float(np.median(cold[name])), "warm": float(np.median(warm[name])),
                   "n": rounds} for name in fns}


def timed(fn: Callable[[], object]) -> tuple[object, float]:
    """One call of ``fn``: its value and its wall-clock seconds."""
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def _load_average() -> str:
    try:
        return " / ".join(f"{v:.2f}" for v in os.getloadavg())
    except (AttributeError, OSError):
        return "n/a"


def environment() -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    try:  # the model name is more telling than platform.processor() on Linux
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            names = [line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")]
        if names:
            cpu = names[0]
    except OSError:
        pass
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.platform()}; {cpu}; os.cpu_count()={os.cpu_count()}",
        "torch threads": f"torch.get_num_threads()={torch.get_num_threads()}",
        "load average at end (1/5/15 min)": _load_average(),
        "versions": (f"Python {platform.python_version()}, torch {torch.__version__}, "
                     f"numpy {np.__version__}, pandas {version('pandas')}, "
                     f"pycox {version('pycox')}, torchtuples {version('torchtuples')}, "
                     f"survinng_py {version('survinng_py')}"),
        "survinng_py revision": git_revision(),
    }


def command_line() -> str:
    script = Path(sys.argv[0])
    try:
        script = script.resolve().relative_to(HERE.parent)
    except ValueError:
        pass
    return " ".join(["python", shlex.quote(str(script)), *map(shlex.quote, sys.argv[1:])])


def environment_block(extra: dict[str, str] | None = None) -> str:
    lines = [f"- **command**: `{command_line()}`"]
    lines += [f"- **{k}**: {v}" for k, v in environment().items()]
    lines += [f"- **{k}**: {v}" for k, v in (extra or {}).items()]
    return "\n".join(lines)


def write_section(name: str, body: str, path: Path = RESULTS) -> Path:
    """Put ``body`` between this section's markers in ``path`` (other sections kept)."""
    return _report.write_section(path, name, body, HEADER)


def add_write_option(parser) -> None:
    """``--write`` / ``--no-write``: record the RESULTS.md section (default: full mode only)."""
    parser.add_argument("--write", dest="write", action="store_true", default=None,
                        help="write the section of benchmarks/RESULTS.md (default: full mode)")
    parser.add_argument("--no-write", dest="write", action="store_false")


def add_run_options(parser, threads_help: str = "torch intra-op threads") -> None:
    """``--threads`` (default 1), ``--seed`` (default 0) and ``--write`` / ``--no-write``."""
    parser.add_argument("--threads", type=int, default=1,
                        help=f"{threads_help} (0 = the library's default). Default 1: on a "
                             "small shared machine, multi-threaded kernels spend most of their "
                             "time waiting for a busy core")
    parser.add_argument("--seed", type=int, default=0)
    add_write_option(parser)


def publish(name: str, body: str, write: bool) -> None:
    """Print a section; with ``write``, also put it in RESULTS.md."""
    print(body)
    if write:
        path = write_section(name, body)
        print(f"wrote section {name!r} of {path}")


def wants_write(args) -> bool:
    """Whether to write RESULTS.md: as asked, else only in full mode (a quick run never
    replaces recorded results)."""
    return (not args.quick) if args.write is None else args.write


def fmt_s(seconds: float) -> str:
    """Seconds with 3 significant digits (ms below 1 s)."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"
