"""Command line ``survinng-py`` (also ``python -m survinng_py``).

Commands: ``export`` (network weights or program + a JSON spec -> model bundle),
``info`` (what a bundle holds), ``predict`` (bundle + CSV/Parquet rows -> predictions),
``explain`` (bundle + rows + method -> attributions in the exchange schema) and ``demo``.
Bad input ends with one line ``survinng-py <command>: error: ...`` and exit status 1.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import json
import sys
from pathlib import Path
from typing import Any

from ._validation import SurvinngError, check_int, fail, first_line
from .models.registry import SpecKeys

PROG = "survinng-py"
#: spec keys read by ``export``: model_type, every registered family's head parameters,
#: then the rest of explain()'s keyword arguments (read from the registry when used)
SPEC_KEYS = SpecKeys(before=("model_type",), after=(
    "feature_names", "input_names", "event_names", "dtype", "input_shapes", "arch_kwargs"))
METHODS = {"grad": "surv_grad", "smoothgrad": "surv_smoothgrad", "intgrad": "surv_intgrad",
           "gradshap": "surv_gradshap"}
#: method options of ``explain``: (flag, keyword argument of the method)
METHOD_OPTIONS = [("--times-input", "times_input"), ("--n", "n"), ("--noise-level", "noise_level"),
                  ("--num-samples", "num_samples"), ("--seed", "seed"),
                  ("--batch-size", "batch_size")]
DATA_SUFFIXES = (".csv", ".parquet", ".pq", ".feather", ".arrow", ".arrows", ".ipc")


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: the command line) and run the chosen command.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name, e.g. ``["info", "bundle"]``.

    Returns
    -------
    int
        Exit status 0; errors exit through :class:`SystemExit` (status 1) with a one-line
        message.

    Examples
    --------
    >>> from survinng_py.cli import main
    >>> main(["info", "no_such_bundle"])  # prints the one-line error to stderr
    Traceback (most recent call last):
    ...
    SystemExit: 1
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        lines = args.run(args)
    except (FileExistsError, SurvinngError) as err:
        parser.exit(1, f"{PROG} {args.command}: error: {err}\n")
    if lines:
        print("\n".join(lines))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Time-resolved gradient attributions for deep survival models: "
        "portable model bundles (ONNX + torch.export) and the demo.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    export = commands.add_parser(
        "export", help="write a model bundle from network weights (or a program) and a spec",
        description="Write a model bundle (folder): the network as a torch.export program, "
        "network + survival head as ONNX graphs, a JSON sidecar and optionally the data. The "
        "network comes from --weights + --arch, from a torch.export program (--program), or "
        "from a pickled module (--net, only with --trust-pickle).",
        epilog="spec keys: " + ", ".join(SPEC_KEYS) + ". baseline_hazard is {\"time\": [...], "
        "\"hazard\": [...]}; labtrans (CoxTime) is {\"time\": [...]}, the original time of "
        "each baseline time; input_shapes (per-row shapes, e.g. [[4]]) is needed without "
        "--data; arch_kwargs are passed to the --arch factory.")
    export.add_argument("--spec", required=True, metavar="JSON",
                        help="model_type and head parameters (see below)")
    source = export.add_argument_group("network (give one)")
    source.add_argument("--weights", metavar="FILE", help="a state_dict saved with torch.save "
                        "(e.g. pycox's model.save_model_weights); read with weights_only=True")
    source.add_argument("--arch", metavar="MODULE:FACTORY",
                        help="importable callable that builds the network for --weights")
    source.add_argument("--program", metavar="FILE.pt2", help="a torch.export program "
                        "(torch.export.save); read without unpickling")
    source.add_argument("--net", metavar="FILE", help="a whole pickled module (pycox's "
                        "model.save_net); UNSAFE: unpickling runs code, needs --trust-pickle")
    source.add_argument("--trust-pickle", action="store_true",
                        help="allow --net (only for files you trust)")
    export.add_argument("--data", metavar="FILE", help="CSV/Parquet rows stored as explainer "
                        "data (instance ids and background of SmoothGrad/IntGrad/GradSHAP)")
    export.add_argument("--out", required=True, metavar="DIR", help="the bundle folder")
    export.add_argument("--targets", metavar="T,T", help="targets exported as ONNX "
                        "(default: all of the model's)")
    export.add_argument("--opset", type=int, help="ONNX opset (default: torch's)")
    export.add_argument("--legacy-exporter", action="store_true",
                        help="torch's TorchScript ONNX exporter (faster, deprecated)")
    export.add_argument("--overwrite", action="store_true", help="replace an existing bundle")
    export.set_defaults(run=run_export)

    info = commands.add_parser("info", help="what a bundle contains",
                               description="Check a bundle (format, sha256 of every file) and "
                               "print what it contains.")
    info.add_argument("bundle", metavar="BUNDLE")
    info.add_argument("--json", action="store_true", help="print the whole sidecar as JSON")
    info.set_defaults(run=run_info)

    predict = commands.add_parser(
        "predict", help="predictions of a bundle for CSV/Parquet rows",
        description="Predict the target for every row of DATA (columns matched to the "
        "feature names) and write `instance, event, time, <target>` to --out.")
    _rows_arguments(predict, "output .parquet")
    predict.add_argument("--batch-size", type=int, default=10000, metavar="N",
                         help="rows per batch (default: %(default)s)")
    predict.set_defaults(run=run_predict)

    explain = commands.add_parser(
        "explain", help="attributions of a bundle's model for CSV/Parquet rows",
        description="Explain every row of DATA with a method and write the attributions in "
        "the survinng_py exchange schema (long or wide). Options a method does not take are "
        "refused.")
    _rows_arguments(explain, "output .parquet (or .feather, .arrows)")
    explain.add_argument("--method", required=True, choices=sorted(METHODS))
    explain.add_argument("--times-input", action=argparse.BooleanOptionalAction, default=None,
                         help="multiply by the input (default: the method's)")
    explain.add_argument("--n", type=int, help="noisy copies / path points / points per reference")
    explain.add_argument("--noise-level", type=float, help="SmoothGrad noise (x feature sd)")
    explain.add_argument("--num-samples", type=int, help="GradSHAP references")
    explain.add_argument("--seed", type=int, help="random seed (SmoothGrad, GradSHAP)")
    explain.add_argument("--batch-size", type=int, metavar="N", help="points per batch")
    explain.add_argument("--layout", choices=("long", "wide"), default="long",
                         help="table layout (default: %(default)s)")
    explain.set_defaults(run=run_explain)

    demo = commands.add_parser(
        "demo", help="fit DeepSurv, CoxTime and DeepHit on simulated data and explain them",
        description="Simulate time-dependent survival data, fit three pycox models on the CPU "
                    "and write their Grad(t)/GxI(t) attributions (parquet) and a figure (PNG).")
    demo.add_argument("--out", default="demo_output", help="output folder (default: %(default)s)")
    demo.add_argument("--n", type=int, default=3000, help="simulated rows (default: %(default)s)")
    demo.add_argument("--seed", type=int, default=42, help="random seed (default: %(default)s)")
    demo.add_argument("--epochs", type=int, default=30,
                      help="most training epochs per model (default: %(default)s)")
    demo.add_argument("--overwrite", action="store_true", help="replace existing output files")
    demo.set_defaults(run=run_demo)
    return parser


def _rows_arguments(parser: argparse.ArgumentParser, out_help: str) -> None:
    parser.add_argument("bundle", metavar="BUNDLE", help="a bundle folder (survinng-py export)")
    parser.add_argument("data", metavar="DATA", help="rows: .csv, .parquet, .feather or .arrow")
    parser.add_argument("--out", required=True, metavar="FILE", help=out_help)
    parser.add_argument("--target", default="survival", help="default: %(default)s")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bar (default: in a terminal)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")


# -- commands ---------------------------------------------------------------------------------
def run_export(args) -> list[str]:
    from .bundle import save_model
    from .explainer import explain

    where = f"{PROG} export"
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
                fail("--data", where, f"a table with the spec's feature columns {names}",
                     f"missing {missing}", as_text=True)
            data = data[names]
    elif shapes is None:
        fail("--spec", where, "holding input_shapes (per-row shapes) when --data is not given",
             "no input_shapes", as_text=True)
    else:
        import numpy as np
        example = [np.zeros((2, *shape), dtype="float32") for shape in shapes]
    explainer = explain(net, data, **spec)
    targets = None if args.targets is None else [t.strip() for t in args.targets.split(",")]
    path = save_model(explainer, args.out, targets=targets, data=example, opset=args.opset,
                      dynamo=not args.legacy_exporter, overwrite=args.overwrite)
    return [f"wrote bundle {path}"] + _summary(path)


def run_info(args) -> list[str]:
    from .bundle import bundle_info
    manifest = bundle_info(args.bundle, f"{PROG} info")
    if args.json:
        return [json.dumps(manifest, indent=1)]
    return _summary(args.bundle, manifest)


def run_predict(args) -> list[str]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    from tqdm.auto import tqdm

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
    try:
        for start in tqdm(starts, disable=not show, desc="rows", unit="batch"):
            table = predictions_table(explainer, rows[start:start + args.batch_size],
                                      target=args.target)
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
    writer.close()
    return [f"wrote {out}: {args.target} of {len(rows)} rows on {len(explainer.model.time)} "
            "time points"]


def run_explain(args) -> list[str]:
    from . import exchange, methods

    where = f"{PROG} explain"
    out = _check_out(args, where)
    fn = getattr(methods, METHODS[args.method])
    accepted = inspect.signature(fn).parameters
    kwargs = {"target": args.target, "progress": args.progress}
    for flag, name in METHOD_OPTIONS:
        value = getattr(args, name)
        if value is None:
            continue
        if name not in accepted:
            fail(flag, where, f"left out for --method {args.method}", value)
        kwargs[name] = value
    explainer, rows = _bundle_and_rows(args, where)
    result = fn(explainer, rows, **kwargs)
    exchange.write(result, out, layout=args.layout, overwrite=args.overwrite)
    shape = " x ".join(str(s) for s in result.values[0].shape)
    return [f"wrote {out}: {result.label} of {result.target}, {args.layout} layout "
            f"(instance x feature x event x time = {shape})"]


def run_demo(args) -> list[str]:
    from .demo import run_demo as demo
    return demo(args.out, n=args.n, seed=args.seed, epochs=args.epochs,
                overwrite=args.overwrite)["summary"]


# -- helpers ------------------------------------------------------------------------------------
def read_rows(path: str, arg: str, where: str):
    """A CSV, Parquet, Feather or Arrow IPC file as a pandas DataFrame."""
    import pandas as pd

    from ._validation import as_frame
    file = Path(path)
    if file.suffix.lower() not in DATA_SUFFIXES:
        fail(arg, where, "a file ending in " + ", ".join(DATA_SUFFIXES), repr(str(file)),
             as_text=True)
    if not file.is_file():
        fail(arg, where, "an existing file", repr(str(file)), as_text=True)
    if file.suffix.lower() != ".csv":
        return as_frame(str(file))
    try:
        return pd.read_csv(file)
    except (ValueError, OSError, UnicodeDecodeError) as err:
        first = first_line(err)
        fail(arg, where, "a readable CSV file with a header row", f"{file.name} ({first})",
             as_text=True)


def _bundle_and_rows(args, where: str):
    """The bundle's explainer and the rows of DATA, columns matched to its feature names."""
    import torch

    from ._validation import to_tensor_list
    from .bundle import bundle_info, load_model
    manifest = bundle_info(args.bundle, where)
    shapes = [tuple(s) for s in manifest["input_shapes"]]
    if len(shapes) != 1 or len(shapes[0]) != 1:
        fail("BUNDLE", where, "a bundle with one tabular input (use the Python API for other "
             "inputs)", f"input shapes {shapes}", as_text=True)
    rows = to_tensor_list(read_rows(args.data, "DATA", where), "DATA", where,
                          dtype=torch.float64, device=torch.device("cpu"), feature_shapes=shapes,
                          feature_names=manifest["feature_names"])[0].numpy()
    return load_model(args.bundle), rows


def _check_out(args, where: str) -> Path:
    out = Path(args.out)
    if out.exists() and not args.overwrite:
        fail("--out", where, "a file that does not exist yet (pass --overwrite to replace it)",
             repr(str(out)), as_text=True)
    return out


def _read_spec(path: str, where: str) -> dict:
    import numpy as np
    import pandas as pd
    try:
        spec = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        fail("--spec", where, "a readable JSON file", f"{path} ({type(err).__name__})",
             as_text=True)
    if not isinstance(spec, dict) or "model_type" not in spec:
        fail("--spec", where, "a JSON object with at least model_type", path)
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        fail("--spec", where, "a JSON object with keys among " + ", ".join(SPEC_KEYS),
             f"unknown key {unknown[0]!r}", as_text=True)
    if isinstance(spec.get("baseline_hazard"), dict):  # explain() reads a time/hazard frame
        try:
            spec["baseline_hazard"] = pd.DataFrame(spec["baseline_hazard"])
        except ValueError:
            fail("--spec", where, "holding baseline_hazard as {\"time\": [...], \"hazard\": "
                 "[...]} of equal lengths", "lists of different lengths", as_text=True)
    if "labtrans" in spec:
        times = np.asarray((spec["labtrans"] or {}).get("time", []), dtype=np.float64)
        base = spec.get("baseline_hazard")
        if base is None or len(times) != len(base):
            fail("--spec", where, "holding labtrans as {\"time\": [...]}, one original time "
                 "per baseline_hazard time", f"{len(times)} times", as_text=True)
        spec["labtrans"] = lambda _tau: times  # CoxTime: network time -> original time
    return spec


def _network(args, arch_kwargs: dict, where: str):
    import torch
    given = [name for name, value in (("--weights", args.weights), ("--program", args.program),
                                      ("--net", args.net)) if value is not None]
    if len(given) != 1:
        fail("--weights", where, "given with --arch, or else --program or --net (exactly one "
             "network)", f"{', '.join(given) or 'none'}", as_text=True)
    if (args.arch is None) != (args.weights is None):
        fail("--arch", where, "given together with --weights", "only one of them", as_text=True)
    if args.program is not None:
        from .bundle import load_program
        return load_program(args.program, where, "--program")
    if args.net is not None:
        if not args.trust_pickle:
            fail("--net", where, "used with --trust-pickle (unpickling a module runs code from "
                 "the file: use --weights + --arch or --program for files you do not trust)",
                 repr(args.net), as_text=True)
        net = _torch_load(args.net, "--net", where, weights_only=False)
        if not isinstance(net, torch.nn.Module):
            fail("--net", where, "a pickled torch.nn.Module (pycox's model.save_net)",
                 type(net).__name__)
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
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        fail("--arch", where, "of the form package.module:factory", spec)
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
    if not Path(path).is_file():
        fail(arg, where, "an existing file", repr(path), as_text=True)
    try:
        return torch.load(path, map_location="cpu", weights_only=weights_only)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, AttributeError,
            ModuleNotFoundError) as err:
        first = first_line(err)
        rule = "a file torch.load reads with weights_only=True (a state_dict)" if weights_only \
            else "a file torch.load reads"
        fail(arg, where, rule, f"{Path(path).name} ({first})", as_text=True)


def _summary(path: Any, manifest: dict | None = None) -> list[str]:
    from .bundle import bundle_info
    m = manifest or bundle_info(path)
    time = m["time"]
    inputs = [f"{name} {tuple(shape)}" + (f" [{', '.join(names[:6])}"
                                          f"{', ...' if len(names) > 6 else ''}]" if names else "")
              for name, shape, names in zip(m["input_names"], m["input_shapes"],
                                            m["feature_names"] or [None] * len(m["input_names"]))]
    events = sorted({e for names in m["event_names"].values() for e in names})
    data = m["data"]
    versions = m["versions"]
    return [f"model: {m['model_class']} (from {m['source']}), {m['dtype']}",
            f"targets: {', '.join(m['targets'])}; as ONNX: {', '.join(m['onnx']) or 'none'}",
            f"time grid: {len(time)} points, {time[0]:g} to {time[-1]:g}",
            f"inputs: {'; '.join(inputs)}",
            f"events: {', '.join(events)}",
            f"data: {data['rows']} rows" if data else "data: none stored",
            f"written by: survinng_py {versions['survinng_py']}, torch {versions['torch']}, "
            f"onnx {versions['onnx']}",
            f"files: {len(m['files'])} plus bundle.json, sha256 verified"]
