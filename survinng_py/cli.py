"""Command line ``survinng-py`` (also ``python -m survinng_py``).

Commands: ``export`` (network weights or program + a JSON spec -> model bundle),
``info`` (what a bundle or a result file holds), ``predict`` (bundle + CSV/Parquet rows
-> predictions), ``explain`` (bundle + rows + method -> attributions in the exchange
schema), ``report`` (bundle + rows + method -> an interactive HTML report) and ``demo``.
``explain`` takes its methods and their option flags from the method table
(:mod:`survinng_py.methods.registry`), so a registered method is offered at once.

Every failure is one line on stderr and a non-zero exit status:

* 0: done;
* 1: the command failed (bad input, a file that cannot be read or written):
  ``survinng-py <command>: error: ...``;
* 2: a usage error (unknown option, missing argument, bad choice):
  ``survinng-py [<command>]: error: ... (see survinng-py [<command>] --help)``;
* 130: interrupted (Ctrl-C);
* 141: the reader of the output went away (``survinng-py ... | head -1``): the command
  stops quietly, as Unix tools do.

Warnings of the libraries underneath (torch, ONNX, pycox) are not shown: the command's
result or its one-line error says what happened. ``--help`` and usage errors do not load
torch. ``survinng-py --traceback <command> ...`` shows the traceback of an unexpected
error instead of its line.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any, NoReturn

from ._tables import FORMATS as OUT_FORMATS  # suffix -> format of explain's --out
from .methods.registry import Method, get_method, methods

PROG = "survinng-py"
#: spec keys of ``export`` besides model_type and its family's head parameters
SPEC_EXTRA_KEYS = (
    "feature_names",
    "input_names",
    "event_names",
    "dtype",
    "input_shapes",
    "arch_kwargs",
)
DATA_SUFFIXES = (".csv", ".parquet", ".pq", ".feather", ".arrow", ".arrows", ".ipc")
EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 1, 2, 130, 141
EXIT_CODES = (
    "exit status: 0 done; 1 the command failed (one line 'survinng-py <command>: "
    "error: ...'); 2 usage error; 130 interrupted; 141 the output's reader went away"
)
#: argparse types of method options (the table's "rows" options are Python/R only)
FLAG_TYPES = {"bool": None, "int": int, "float": float, "str": str}
_OPTION_DEST = "method option "  # argparse dest prefix of method options: no clash with ours


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: the command line) and run the chosen command.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name, e.g. ``["info", "bundle"]``.

    Returns
    -------
    int
        Exit status 0; failures exit through :class:`SystemExit` with a one-line message
        on stderr (status 1 for a failed command, 2 for a usage error; see the module
        docstring).

    Examples
    --------
    >>> from survinng_py.cli import main
    >>> main(["info", "no_such_bundle"])  # prints the one-line error to stderr
    Traceback (most recent call last):
    ...
    SystemExit: 1
    """
    try:
        try:
            return _main(argv)
        finally:
            sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
    except BrokenPipeError:
        # the reader left (`| head`): stop quietly; later flushes go nowhere
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        raise SystemExit(EXIT_BROKEN_PIPE) from None


def _main(argv: list[str] | None) -> int:
    try:
        parser = build_parser()
    except Exception as err:  # the method table (a registered method) cannot be read
        _exit(PROG, EXIT_ERROR, _error_line(err))
    args = parser.parse_args(argv)  # usage errors exit here, status 2 (see _Parser)
    where = f"{PROG} {args.command}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lines = args.run(args)
    except KeyboardInterrupt:
        _exit(where, EXIT_INTERRUPTED, "interrupted")
    except Exception as err:
        if args.traceback:
            raise
        _exit(where, EXIT_ERROR, _error_line(err))
    if lines:
        sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _exit(where: str, status: int, message: str) -> NoReturn:
    sys.stderr.write(f"{where}: error: {message}\n")
    raise SystemExit(status)


def _error_line(err: Exception) -> str:
    """One line for a failure: our own message, or a foreign error quoted with its type."""
    validation = sys.modules.get(f"{__package__}._validation")
    if validation is not None and isinstance(err, validation.SurvinngError):
        return " ".join(str(err).splitlines())  # one line by construction; made sure
    from ._validation import first_line

    if isinstance(err, OSError) and err.errno:
        return (
            f"could not use {err.filename!r}: {_os_reason(err)}"
            if err.filename
            else _os_reason(err)
        )
    return (
        f"unexpected {type(err).__name__}: {first_line(err)} (`{PROG} --traceback "
        "<command> ...` shows where)"
    )


def _os_reason(err: OSError) -> str:
    """The system's reason, without the ``[Errno N]`` (pyarrow puts its own text in
    ``strerror``; the errno names the reason)."""
    from ._validation import first_line

    return os.strerror(err.errno) if err.errno else first_line(err)


class _Parser(argparse.ArgumentParser):
    """argparse with its usage errors on one line (argparse prints the usage first)."""

    def error(self, message: str) -> NoReturn:
        _exit(self.prog, EXIT_USAGE, f"{message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Time-resolved gradient attributions for deep survival models: "
        "portable model bundles (ONNX + torch.export) and the demo.",
        epilog=EXIT_CODES,
    )
    parser.add_argument(
        "--traceback",
        action="store_true",
        help="show the traceback of an unexpected error (for bug reports)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    export = commands.add_parser(
        "export",
        help="write a model bundle from network weights (or a program) and a spec",
        description="Write a model bundle (folder): the network as a torch.export program, "
        "network + survival head as ONNX graphs, a JSON sidecar and optionally the data. The "
        "network comes from --weights + --arch, from a torch.export program (--program), or "
        "from a pickled module (--net, only with --trust-pickle).",
        epilog="spec keys: model_type, its family's head parameters (e.g. baseline_hazard, "
        "time_bins, interpolate), "
        + ", ".join(SPEC_EXTRA_KEYS)
        + '. baseline_hazard is {"time": [...], '
        '"hazard": [...]}; labtrans (CoxTime) is {"time": [...]}, the original time of '
        "each baseline time; input_shapes (per-row shapes, e.g. [[4]]) is needed without "
        "--data; arch_kwargs are passed to the --arch factory. " + EXIT_CODES,
    )
    export.add_argument(
        "--spec", required=True, metavar="JSON", help="model_type and head parameters (see below)"
    )
    source = export.add_argument_group("network (give one)")
    source.add_argument(
        "--weights",
        metavar="FILE",
        help="a state_dict saved with torch.save "
        "(e.g. pycox's model.save_model_weights); read with weights_only=True",
    )
    source.add_argument(
        "--arch",
        metavar="MODULE:FACTORY",
        help="importable callable that builds the network for --weights",
    )
    source.add_argument(
        "--program",
        metavar="FILE.pt2",
        help="a torch.export program (torch.export.save); read without unpickling",
    )
    source.add_argument(
        "--net",
        metavar="FILE",
        help="a whole pickled module (pycox's "
        "model.save_net); UNSAFE: unpickling runs code, needs --trust-pickle",
    )
    source.add_argument(
        "--trust-pickle", action="store_true", help="allow --net (only for files you trust)"
    )
    export.add_argument(
        "--data",
        metavar="FILE",
        help="CSV/Parquet rows stored as explainer "
        "data (instance ids and background of SmoothGrad/IntGrad/GradSHAP)",
    )
    export.add_argument("--out", required=True, metavar="DIR", help="the bundle folder")
    export.add_argument(
        "--targets", metavar="T,T", help="targets exported as ONNX (default: all of the model's)"
    )
    export.add_argument("--opset", type=int, help="ONNX opset (default: torch's)")
    export.add_argument(
        "--legacy-exporter",
        action="store_true",
        help="torch's TorchScript ONNX exporter (faster, deprecated)",
    )
    export.add_argument("--overwrite", action="store_true", help="replace an existing bundle")
    export.set_defaults(run=run_export)

    info = commands.add_parser(
        "info",
        help="what a bundle or a result file contains",
        description="Check a bundle (format, sha256 of every file) and print what it contains; "
        "or read a result file in the exchange schema (written by `explain`, the demo or "
        "survinng_py.exchange.write) and describe it.",
        epilog=EXIT_CODES,
    )
    info.add_argument(
        "bundle", metavar="BUNDLE", help="a bundle folder, or a result file (.parquet, ...)"
    )
    info.add_argument(
        "--json",
        action="store_true",
        help="print the whole sidecar (a result file: its metadata) as JSON",
    )
    info.set_defaults(run=run_info)

    predict = commands.add_parser(
        "predict",
        help="predictions of a bundle for CSV/Parquet rows",
        description="Predict the target for every row of DATA (columns matched to the "
        "feature names) and write `instance, event, time, <target>` to --out.",
        epilog=EXIT_CODES,
    )
    _rows_arguments(predict, "output .parquet")
    predict.add_argument(
        "--batch-size",
        type=int,
        default=10000,
        metavar="N",
        help="rows per batch (default: %(default)s)",
    )
    predict.set_defaults(run=run_predict)

    explain = commands.add_parser(
        "explain",
        help="attributions of a bundle's model for CSV/Parquet rows",
        description="Explain every row of DATA with a method and write the attributions in "
        "the survinng_py exchange schema (long or wide). Options a method does not take are "
        "refused.",
        epilog=_methods_epilog(),
    )
    _rows_arguments(explain, "output file (" + ", ".join(OUT_FORMATS) + ") or folder")
    _method_arguments(explain)
    explain.add_argument(
        "--format",
        choices=sorted(set(OUT_FORMATS.values())),
        help="file format of --out (default: from its suffix, " + _suffix_help() + ")",
    )
    explain.add_argument(
        "--layout",
        choices=("long", "wide"),
        default="long",
        help="table layout (default: %(default)s)",
    )
    cohort = explain.add_argument_group(
        "folder output",
        "an --out without a file suffix is a folder: DATA may then be a Parquet file, a "
        "folder or a glob of them, explained part by part into part-*.parquet files with a "
        "manifest and cohort summaries (Grad, SmoothGrad, IntGrad and GradSHAP)",
    )
    cluster = cohort.add_mutually_exclusive_group()
    cluster.add_argument(
        "--workers", type=int, metavar="N", help="run on a local Dask cluster of N processes"
    )
    cluster.add_argument(
        "--scheduler", metavar="ADDRESS", help="run on the Dask scheduler at ADDRESS (tcp://...)"
    )
    cohort.add_argument(
        "--rows-per-task",
        type=int,
        default=10000,
        metavar="N",
        help="most rows per part (default: %(default)s)",
    )
    cohort.add_argument(
        "--resume", action="store_true", help="continue an interrupted run into --out"
    )
    explain.set_defaults(run=run_explain)

    report = commands.add_parser(
        "report",
        help="an interactive HTML report of a method's attributions for CSV/Parquet rows",
        description="Explain every row of DATA with a method and write one self-contained "
        "HTML file (no network needed to read it): predicted curves, attributions over time, "
        "a waterfall at a chosen time, cohort importance and the run's metadata.",
        epilog=_methods_epilog(),
    )
    _rows_arguments(report, "output .html")
    _method_arguments(report)
    report.add_argument("--title", help="page title (default: the method and target)")
    report.add_argument(
        "--max-instances",
        type=int,
        default=200,  # html_report.DEFAULT_MAX_INSTANCES (not imported: --help stays fast)
        metavar="N",
        help="most rows of DATA (default: %(default)s; each adds its curves to the file)",
    )
    report.set_defaults(run=run_report)

    demo = commands.add_parser(
        "demo",
        help="fit DeepSurv, CoxTime and DeepHit on simulated data and explain them",
        description="Simulate time-dependent survival data, fit three pycox models on the CPU "
        "and write their Grad(t)/GxI(t) attributions (one Parquet file each, in the exchange "
        "schema: see `survinng-py info FILE`) and a figure (PNG).",
        epilog=EXIT_CODES,
    )
    demo.add_argument("--out", default="demo_output", help="output folder (default: %(default)s)")
    demo.add_argument("--n", type=int, default=3000, help="simulated rows (default: %(default)s)")
    demo.add_argument("--seed", type=int, default=42, help="random seed (default: %(default)s)")
    demo.add_argument(
        "--epochs",
        type=int,
        default=30,
        help="most training epochs per model (default: %(default)s)",
    )
    demo.add_argument("--overwrite", action="store_true", help="replace existing output files")
    demo.set_defaults(run=run_demo)
    return parser


def _rows_arguments(parser: argparse.ArgumentParser, out_help: str) -> None:
    parser.add_argument("bundle", metavar="BUNDLE", help="a bundle folder (survinng-py export)")
    parser.add_argument("data", metavar="DATA", help="rows: .csv, .parquet, .feather or .arrow")
    parser.add_argument("--out", required=True, metavar="FILE", help=out_help)
    parser.add_argument("--target", default="survival", help="default: %(default)s")
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar (default: in a terminal)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")


def _method_arguments(parser: argparse.ArgumentParser) -> None:
    """``--method`` and one flag per option of the table's command-line methods (an option
    several methods share, such as ``--n``, is one flag)."""
    table = methods(cli=True)
    parser.add_argument(
        "--method",
        required=True,
        choices=[m.name for m in table],
        metavar="METHOD",
        help="one of " + ", ".join(m.name for m in table),
    )
    group = parser.add_argument_group("method options (default: the method's)")
    uses: dict[str, list] = {}
    for method in table:
        for option in method.options:
            if option.type in FLAG_TYPES:
                uses.setdefault(option.name, []).append((method, option))
    for pairs in uses.values():
        option = pairs[0][1]
        kind = (
            {"action": argparse.BooleanOptionalAction}
            if option.type == "bool"
            else {"type": FLAG_TYPES[option.type], "metavar": option.type.upper()}
        )
        group.add_argument(
            option.flag,
            dest=_OPTION_DEST + option.flag,
            default=None,
            help=_option_help(pairs),
            **kind,
        )


def _option_help(pairs: list[tuple[Method, Any]]) -> str:
    """What an option does for each method that takes it, with the method's default."""
    texts: dict[tuple[str, str], list[str]] = {}
    for method, option in pairs:
        default = "" if option.default is None else f" (default: {option.default})"
        texts.setdefault((option.help, default), []).append(method.name)
    return "; ".join(
        f"{', '.join(names)}: {text}{default}" for (text, default), names in texts.items()
    ).replace("%", "%%")


def _suffix_help() -> str:
    """``.parquet/.pq parquet, ...``: each format with its suffixes."""
    suffixes: dict[str, list[str]] = {}
    for suffix, fmt in OUT_FORMATS.items():
        suffixes.setdefault(fmt, []).append(suffix)
    return ", ".join(f"{'/'.join(names)} {fmt}" for fmt, names in suffixes.items())


def _methods_epilog() -> str:
    return (
        "methods: "
        + "; ".join(
            f"{m.name} = {'/'.join(dict.fromkeys(m.labels))}, options "
            + (", ".join(o.flag for o in m.options if o.type in FLAG_TYPES) or "none")
            for m in methods(cli=True)
        )
        + ". "
        + EXIT_CODES
    )


# -- commands ---------------------------------------------------------------------------------
def run_export(args) -> list[str]:
    from ._validation import fail
    from .bundle import save_model
    from .explainer import explain

    where = f"{PROG} export"
    out = _check_out(args, where, "folder")
    spec = _read_spec(args.spec, where)
    net = _network(args, spec.pop("arch_kwargs", {}), where)
    shapes = spec.pop("input_shapes", None)
    data = example = None
    if args.data is not None:
        data = read_rows(args.data, "DATA", where)
        names = spec.get("feature_names")
        if names is not None:
            missing = [n for n in names if n not in data.columns]
            if missing:
                fail(
                    "--data",
                    where,
                    f"a table with the spec's feature columns {names}",
                    f"missing {missing}",
                    as_text=True,
                )
            data = data[names]
    elif shapes is None:
        fail(
            "--spec",
            where,
            "holding input_shapes (per-row shapes) when --data is not given",
            "no input_shapes",
            as_text=True,
        )
    else:
        import numpy as np

        example = [np.zeros((2, *shape), dtype="float32") for shape in shapes]
    explainer = explain(net, data, **spec)
    targets = None if args.targets is None else [t.strip() for t in args.targets.split(",")]
    with _writing(out, where, "folder"):
        path = save_model(
            explainer,
            out,
            targets=targets,
            data=example,
            opset=args.opset,
            dynamo=not args.legacy_exporter,
            overwrite=args.overwrite,
        )
    return [f"wrote bundle {path}", *_summary(path)]


def run_info(args) -> list[str]:
    from .bundle import bundle_info

    if Path(args.bundle).is_file():
        return _result_info(args.bundle, args.json)
    manifest = bundle_info(args.bundle, f"{PROG} info")
    if args.json:
        return [json.dumps(manifest, indent=1)]
    return _summary(args.bundle, manifest)


def run_predict(args) -> list[str]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    from tqdm.auto import tqdm

    from ._validation import check_int, fail
    from .exchange import predictions_table

    where = f"{PROG} predict"
    out = _check_out(args, where)
    if out.suffix.lower() not in (".parquet", ".pq"):
        fail("--out", where, "a .parquet file", repr(str(out)), as_text=True)
    check_int(args.batch_size, "--batch-size", where)
    explainer, rows = _bundle_and_rows(args, where)
    explainer.model.check_target(args.target, where)
    starts = range(0, len(rows), args.batch_size)
    show = args.progress if args.progress is not None else sys.stderr.isatty() and len(starts) > 1
    writer = None
    with _writing(out, where):
        try:
            for start in tqdm(starts, disable=not show, desc="rows", unit="batch"):
                table = predictions_table(
                    explainer, rows[start : start + args.batch_size], target=args.target
                )
                ids = table.column("instance").to_numpy() + np.int32(start)  # batch-local ids
                table = table.set_column(0, "instance", pa.array(ids, pa.int32()))
                if writer is None:
                    writer = pq.ParquetWriter(out, table.schema)
                writer.write_table(table)
        except BaseException:
            if writer is not None:  # no half-written output
                writer.close()
                out.unlink()
            raise
        assert writer is not None  # DATA has at least one row: a batch was written
        writer.close()
    return [
        f"wrote {out}: {args.target} of {len(rows)} rows on {len(explainer.model.time)} time points"
    ]


def run_explain(args) -> list[str]:
    from . import exchange
    from ._validation import fail

    where = f"{PROG} explain"
    method, kwargs = _method_call(args, where)
    if not Path(args.out).suffix:
        if args.format not in (None, "parquet"):
            fail("--format", where, "parquet for a folder as --out", args.format)
        return _explain_dataset(args, method, kwargs, where)
    for flag, value in (("--workers", args.workers), ("--scheduler", args.scheduler)):
        if value is not None:
            fail(flag, where, "used with a folder as --out", value)
    if args.resume:
        fail("--resume", where, "used with a folder as --out", "a file", as_text=True)
    out = _check_out(args, where)
    if args.format is None and out.suffix.lower() not in OUT_FORMATS:
        fail(
            "--out",
            where,
            f"a file ending in {', '.join(OUT_FORMATS)} (or give --format; a name without "
            "suffix is a folder)",
            repr(str(out)),
            as_text=True,
        )
    explainer, rows = _bundle_and_rows(args, where)
    result = method.function(explainer, rows, **kwargs)
    with _writing(out, where):
        exchange.write(
            result, out, format=args.format, layout=args.layout, overwrite=args.overwrite
        )
    shape = " x ".join(str(s) for s in result.values[0].shape)
    return [
        f"wrote {out}: {result.label} of {result.target}, {args.layout} layout "
        f"(instance x feature x event x time = {shape})"
    ]


def _method_call(args, where: str) -> tuple[Method, dict]:
    """The chosen method and its keyword arguments from the flags; a flag the method does
    not take is refused."""
    from ._validation import fail

    method = get_method(args.method)
    assert method is not None  # --method offers the table's names only
    kwargs = {"target": args.target}
    if method.takes("progress"):
        kwargs["progress"] = args.progress
    for dest, value in vars(args).items():
        if not dest.startswith(_OPTION_DEST) or value is None:
            continue
        flag = dest[len(_OPTION_DEST) :]
        option = next((o for o in method.options if o.flag == flag), None)
        if option is None:
            fail(flag, where, f"left out for --method {method.name}", value)
        kwargs[option.name] = value
    return method, kwargs


def run_report(args) -> list[str]:
    from ._validation import check_int, fail
    from .html_report import report

    where = f"{PROG} report"
    method, kwargs = _method_call(args, where)
    max_instances = check_int(args.max_instances, "--max-instances", where)
    if Path(args.out).suffix.lower() not in (".html", ".htm"):
        fail("--out", where, "a file ending in .html", repr(args.out), as_text=True)
    out = _check_out(args, where)
    explainer, rows = _bundle_and_rows(args, where)
    if len(rows) > max_instances:  # before the explanations are computed
        fail(
            "DATA",
            where,
            f"at most --max-instances={max_instances} rows (raise it or pass fewer rows)",
            f"{len(rows)} rows",
            as_text=True,
        )
    result = method.function(explainer, rows, **kwargs)
    with _writing(out, where):
        report(
            result,
            out,
            explainer=explainer if explainer.data is not None else None,
            title=args.title,
            max_instances=max_instances,
            overwrite=args.overwrite,
        )
    return [
        f"wrote {out}: {result.label} of {result.target} for {len(rows)} rows "
        f"({out.stat().st_size / 2**20:.2f} MiB)"
    ]


def _explain_dataset(args, method: Method, kwargs: dict, where: str) -> list[str]:
    """``explain`` into a folder: :func:`~survinng_py.explain_dataset`, on Dask if asked."""
    from tqdm.auto import tqdm

    from ._validation import check_int, fail
    from .cohort import explain_dataset

    kwargs.pop("progress", None)
    check_int(args.rows_per_task, "--rows-per-task", where)
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    with contextlib.ExitStack() as stack:
        client = None
        if args.workers is not None or args.scheduler is not None:
            try:
                import distributed
            except ImportError:
                fail("--workers", where, 'usable: pip install "survinng-py[dask]"', "no Dask")
            if args.workers is not None:
                check_int(args.workers, "--workers", where)
                target = stack.enter_context(
                    distributed.LocalCluster(
                        n_workers=args.workers,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=None,
                    )
                )
            else:
                target = args.scheduler
            client = stack.enter_context(distributed.Client(target))
        bar = stack.enter_context(tqdm(disable=not show, desc="parts", unit="part"))

        def advance(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        result = explain_dataset(
            args.bundle,
            args.data,
            args.out,
            method=method.name,
            client=client,
            rows_per_task=args.rows_per_task,
            layout=args.layout,
            overwrite=args.overwrite,
            resume=args.resume,
            progress=advance,
            **kwargs,
        )
    summaries = ["_importance.parquet", "_prediction.parquet"]
    if result.shares is not None:
        summaries.append("_shares.parquet")
    return [
        f"wrote {result.path}: {result.n_parts} part(s), {result.n_rows} rows of "
        f"{method.label()} of {kwargs['target']}, {args.layout} layout; summaries in "
        + ", ".join(summaries)
    ]


def run_demo(args) -> list[str]:
    from .demo import run_demo as demo

    return demo(args.out, n=args.n, seed=args.seed, epochs=args.epochs, overwrite=args.overwrite)[
        "summary"
    ]


# -- helpers ------------------------------------------------------------------------------------
def read_rows(path: str, arg: str, where: str):
    """A CSV, Parquet, Feather or Arrow IPC file as a pandas DataFrame."""
    import pandas as pd

    from ._validation import as_frame, fail, first_line

    file = Path(path)
    if file.suffix.lower() not in DATA_SUFFIXES:
        fail(
            arg,
            where,
            "a file ending in " + ", ".join(DATA_SUFFIXES),
            repr(str(file)),
            as_text=True,
        )
    if not file.is_file():
        fail(arg, where, "an existing file", repr(str(file)), as_text=True)
    if file.suffix.lower() != ".csv":
        return as_frame(str(file))
    try:
        return pd.read_csv(file)
    except (ValueError, OSError, UnicodeDecodeError) as err:
        first = first_line(err)
        fail(
            arg,
            where,
            "a readable CSV file with a header row",
            f"{file.name} ({first})",
            as_text=True,
        )


def _bundle_and_rows(args, where: str):
    """The bundle's explainer and the rows of DATA, columns matched to its feature names."""
    import torch

    from ._validation import fail, to_tensor_list
    from .bundle import bundle_info, load_model

    manifest = bundle_info(args.bundle, where)
    shapes = [tuple(s) for s in manifest["input_shapes"]]
    if len(shapes) != 1 or len(shapes[0]) != 1:
        fail(
            "BUNDLE",
            where,
            "a bundle with one tabular input (use the Python API for other inputs)",
            f"input shapes {shapes}",
            as_text=True,
        )
    rows = to_tensor_list(
        read_rows(args.data, "DATA", where),
        "DATA",
        where,
        dtype=torch.float64,
        device=torch.device("cpu"),
        feature_shapes=shapes,
        feature_names=manifest["feature_names"],
    )[0].numpy()
    return load_model(args.bundle), rows


def _check_out(args, where: str, kind: str = "file") -> Path:
    from ._validation import fail

    out = Path(args.out)
    if kind == "file" and not out.parent.is_dir():  # (a bundle's folders are made)
        fail("--out", where, "a file in an existing folder", repr(str(out)), as_text=True)
    if out.exists() and not args.overwrite:
        _taken(out, where, kind)
    return out


def _taken(out: Path, where: str, kind: str) -> NoReturn:
    """The one error for an --out that exists and may not be replaced."""
    from ._validation import fail

    fail(
        "--out",
        where,
        f"a {kind} that does not exist yet (pass --overwrite to replace it)",
        repr(str(out)),
        as_text=True,
    )


@contextlib.contextmanager
def _writing(out: Path, where: str, kind: str = "file"):
    """The system's refusal to write ``--out`` as our one line, never a raw ``[Errno ...]``."""
    from ._validation import fail

    try:
        yield
    except FileExistsError:  # appeared meanwhile
        _taken(out, where, kind)
    except OSError as err:
        fail(
            "--out",
            where,
            f"a {kind} path that can be written",
            f"{str(out)!r} ({_os_reason(err)})",
            as_text=True,
        )


def spec_keys() -> list[str]:
    """Keys ``export`` reads from a spec: model_type, every registered family's head
    parameters (read now, so later registrations count), then the rest."""
    from .models.registry import head_keys  # imports torch: not needed for --help

    return list(dict.fromkeys(["model_type", *head_keys(), *SPEC_EXTRA_KEYS]))


def _read_spec(path: str, where: str) -> dict:
    import numpy as np
    import pandas as pd

    from ._validation import fail

    try:
        spec = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        fail(
            "--spec", where, "a readable JSON file", f"{path} ({type(err).__name__})", as_text=True
        )
    if not isinstance(spec, dict) or "model_type" not in spec:
        fail("--spec", where, "a JSON object with at least model_type", path)
    keys = spec_keys()
    unknown = sorted(set(spec) - set(keys))
    if unknown:
        fail(
            "--spec",
            where,
            "a JSON object with keys among " + ", ".join(keys),
            f"unknown key {unknown[0]!r}",
            as_text=True,
        )
    if isinstance(spec.get("baseline_hazard"), dict):  # explain() reads a time/hazard frame
        try:
            spec["baseline_hazard"] = pd.DataFrame(spec["baseline_hazard"])
        except ValueError:
            fail(
                "--spec",
                where,
                'holding baseline_hazard as {"time": [...], "hazard": [...]} of equal lengths',
                "lists of different lengths",
                as_text=True,
            )
    if "labtrans" in spec:
        times = np.asarray((spec["labtrans"] or {}).get("time", []), dtype=np.float64)
        base = spec.get("baseline_hazard")
        if base is None or len(times) != len(base):
            fail(
                "--spec",
                where,
                'holding labtrans as {"time": [...]}, one original time per baseline_hazard time',
                f"{len(times)} times",
                as_text=True,
            )
        spec["labtrans"] = lambda _tau: times  # CoxTime: network time -> original time
    return spec


def _network(args, arch_kwargs: dict, where: str):
    import torch

    from ._validation import fail, first_line

    given = [
        name
        for name, value in (
            ("--weights", args.weights),
            ("--program", args.program),
            ("--net", args.net),
        )
        if value is not None
    ]
    if len(given) != 1:
        fail(
            "--weights",
            where,
            "given with --arch, or else --program or --net (exactly one network)",
            f"{', '.join(given) or 'none'}",
            as_text=True,
        )
    if (args.arch is None) != (args.weights is None):
        fail("--arch", where, "given together with --weights", "only one of them", as_text=True)
    if args.program is not None:
        from .bundle import load_program

        return load_program(args.program, where, "--program")
    if args.net is not None:
        if not args.trust_pickle:
            fail(
                "--net",
                where,
                "used with --trust-pickle (unpickling a module runs code from "
                "the file: use --weights + --arch or --program for files you do not trust)",
                repr(args.net),
                as_text=True,
            )
        net = _torch_load(args.net, "--net", where, weights_only=False)
        if not isinstance(net, torch.nn.Module):
            fail(
                "--net",
                where,
                "a pickled torch.nn.Module (pycox's model.save_net)",
                type(net).__name__,
            )
        return net
    net = _factory(args.arch, where)(**(arch_kwargs or {}))
    if not isinstance(net, torch.nn.Module):
        fail("--arch", where, "a factory returning a torch.nn.Module", type(net).__name__)
    state = _torch_load(args.weights, "--weights", where, weights_only=True)
    if not isinstance(state, dict):
        fail("--weights", where, "a state_dict (a dict of tensors)", type(state).__name__)
    try:
        net.load_state_dict(state)
    except RuntimeError as err:
        first = first_line(err)
        fail("--weights", where, "the state_dict of the --arch network", first, as_text=True)
    return net


def _factory(spec: str, where: str):
    from ._validation import fail

    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        fail("--arch", where, "of the form package.module:factory", spec)
    # the console script's sys.path lacks the working directory (`python -m` has it):
    # look there too, so both find the user's module alike
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.append(os.getcwd())
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        fail("--arch", where, "an importable callable", f"{spec} ({err})", as_text=True)
    if not callable(factory):
        fail("--arch", where, "an importable callable", spec)
    return factory


def _torch_load(path: str, arg: str, where: str, *, weights_only: bool) -> Any:
    import pickle

    import torch

    from ._validation import fail, first_line

    if not Path(path).is_file():
        fail(arg, where, "an existing file", repr(path), as_text=True)
    try:
        return torch.load(path, map_location="cpu", weights_only=weights_only)
    except (
        pickle.UnpicklingError,
        RuntimeError,
        EOFError,
        OSError,
        AttributeError,
        ModuleNotFoundError,
    ) as err:
        first = first_line(err)
        rule = (
            "a file torch.load reads with weights_only=True (a state_dict)"
            if weights_only
            else "a file torch.load reads"
        )
        fail(arg, where, rule, f"{Path(path).name} ({first})", as_text=True)


def _result_info(path: str, as_json: bool) -> list[str]:
    """What a result file in the exchange schema holds (its metadata as JSON if asked)."""
    from . import exchange

    if as_json:
        raw = (exchange.read_table(path).schema.metadata or {}).get(exchange.METADATA_KEY)
        if raw is None:
            from ._validation import fail

            fail("BUNDLE", f"{PROG} info", "a bundle or a result file", repr(path), as_text=True)
        return [json.dumps(json.loads(raw), indent=1)]
    res = exchange.read(path)  # checks the labels, the grid and the digest
    inputs = "; ".join(
        f"{name} {shape} [{', '.join(names[:6])}{', ...' if len(names) > 6 else ''}]"
        for name, shape, names in zip(res.input_names, res.feature_shapes, res.feature_names)
    )
    preds = [f for f in ("pred", "pred_ref", "pred_diff") if getattr(res, f) is not None]
    return [
        f"result: {res.label} of {res.target} (model {res.model_class})",
        f"instances: {len(res.instance)} (ids {', '.join(map(str, res.instance[:6]))}"
        f"{', ...' if len(res.instance) > 6 else ''})",
        f"time grid: {len(res.time)} points, {res.time[0]:g} to {res.time[-1]:g}",
        f"inputs: {inputs}",
        f"events: {', '.join(res.event_names)}",
        f"predictions: {', '.join(preds) or 'none'}; values {res.values[0].dtype}",
    ]


def _summary(path: Any, manifest: dict | None = None) -> list[str]:
    from .bundle import bundle_info

    m = manifest or bundle_info(path)
    time = m["time"]
    inputs = [
        f"{name} {tuple(shape)}"
        + (f" [{', '.join(names[:6])}{', ...' if len(names) > 6 else ''}]" if names else "")
        for name, shape, names in zip(
            m["input_names"],
            m["input_shapes"],
            m["feature_names"] or [None] * len(m["input_names"]),
        )
    ]
    events = sorted({e for names in m["event_names"].values() for e in names})
    data = m["data"]
    versions = m["versions"]
    return [
        f"model: {m['model_class']} (from {m['source']}), {m['dtype']}",
        f"targets: {', '.join(m['targets'])}; as ONNX: {', '.join(m['onnx']) or 'none'}",
        f"time grid: {len(time)} points, {time[0]:g} to {time[-1]:g}",
        f"inputs: {'; '.join(inputs)}",
        f"events: {', '.join(events)}",
        f"data: {data['rows']} rows" if data else "data: none stored",
        f"written by: survinng_py {versions['survinng_py']}, torch {versions['torch']}, "
        f"onnx {versions['onnx']}",
        f"files: {len(m['files'])} plus bundle.json, sha256 verified",
    ]
