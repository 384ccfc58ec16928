"""Bad command lines: each must end with one line ``survinng-py <command>: error: ...``
(usage errors too) and a non-zero exit status; see ``tests/catalogue.py``."""
from __future__ import annotations

import atexit
import functools
import json
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from catalogue import Case, data, explainer

NAMES = ["X1", "X2", "X3", "X4"]  # the catalogue explainer's feature names
_CACHE = Path(tempfile.mkdtemp(prefix="survinng-cases-cli-"))
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)


@functools.lru_cache(maxsize=None)
def base() -> Path:
    """A DeepSurv bundle of the catalogue's small network, rows to explain as CSV, its
    weights and spec (built once, shared by the cases, never written by them)."""
    import torch

    import survinng_py as sv
    exp = explainer("deepsurv")
    sv.save_model(exp, _CACHE / "bundle", targets=["survival"], dynamo=False)
    pd.DataFrame(data(n=5, seed=1), columns=NAMES).to_csv(_CACHE / "rows.csv", index=False)
    torch.save(exp.model.net.state_dict(), _CACHE / "weights.pt")
    (_CACHE / "spec.json").write_text(json.dumps({
        "model_type": "deepsurv", "feature_names": NAMES,
        "baseline_hazard": {"time": [1.0, 2.0, 3.0], "hazard": [0.1, 0.2, 0.3]}}))
    return _CACHE


def explain(tmp: Path, *options: str, out: str = "out.parquet") -> list[str]:
    return ["explain", str(base() / "bundle"), str(base() / "rows.csv"), "--out",
            str(tmp / out), *options]


def export(tmp: Path, *options: str) -> list[str]:
    return ["export", "--out", str(tmp / "new_bundle"), *options]


def written(tmp: Path, name: str, content: str | bytes) -> str:
    path = tmp / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return str(path)


def existing(tmp: Path, name: str) -> str:
    (tmp / name).write_text("keep me")
    return name


def edited_bundle(tmp: Path, **changes) -> str:
    copy = tmp / "bundle"
    shutil.copytree(base() / "bundle", copy)
    sidecar = json.loads((copy / "bundle.json").read_text())
    (copy / "bundle.json").write_text(json.dumps({**sidecar, **changes}))
    return str(copy)


CASES = [
    # usage errors (exit status 2)
    Case("cli", "no_command", lambda tmp: [],
         "survinng-py: error: the following arguments are required: COMMAND",
         "no command at all"),
    Case("cli", "unknown_command", lambda tmp: ["frobnicate"],
         "argument COMMAND: invalid choice: 'frobnicate'", "a command that does not exist"),
    Case("cli", "missing_method", lambda tmp: explain(tmp),
         "the following arguments are required: --method", "explain without --method"),
    Case("cli", "unknown_method", lambda tmp: explain(tmp, "--method", "lime"),
         "argument --method: invalid choice: 'lime'", "a method name that is not in the table"),
    Case("cli", "modality_not_a_cli_method",
         lambda tmp: explain(tmp, "--method", "modality_shapley"),
         "argument --method: invalid choice: 'modality_shapley'",
         "modality Shapley, which the command line does not offer"),
    Case("cli", "option_not_an_int", lambda tmp: explain(tmp, "--method", "intgrad", "--n", "ten"),
         "argument --n: invalid int value: 'ten'", "a word where a count belongs"),
    Case("cli", "option_not_a_float",
         lambda tmp: explain(tmp, "--method", "smoothgrad", "--noise-level", "high"),
         "argument --noise-level: invalid float value: 'high'", "a word where a number belongs"),
    Case("cli", "unknown_flag", lambda tmp: explain(tmp, "--method", "grad", "--bogus"),
         "unrecognized arguments: --bogus", "a flag no command has"),
    Case("cli", "bad_layout", lambda tmp: explain(tmp, "--method", "grad", "--layout", "tall"),
         "argument --layout: invalid choice: 'tall'", "a table layout that does not exist"),
    Case("cli", "export_without_spec", lambda tmp: export(tmp, "--weights", "w.pt"),
         "the following arguments are required: --spec", "export without --spec"),
    Case("cli", "predict_batch_not_int",
         lambda tmp: ["predict", "b", "d", "--out", "p.parquet", "--batch-size", "1.5"],
         "argument --batch-size: invalid int value: '1.5'", "a fractional batch size"),
    # the command fails (exit status 1)
    Case("cli", "info_not_a_bundle", lambda tmp: ["info", str(tmp)],
         "must be a model bundle folder holding bundle.json", "a folder that is no bundle"),
    Case("cli", "info_future_bundle", lambda tmp: ["info", edited_bundle(tmp, format_version=99)],
         "must be a bundle of format version 2", "a bundle written by a newer format"),
    Case("cli", "explain_out_exists",
         lambda tmp: explain(tmp, "--method", "grad", out=existing(tmp, "taken.parquet")),
         "must be a file that does not exist yet (pass --overwrite to replace it)",
         "an output file that exists, without --overwrite"),
    Case("cli", "explain_out_folder_missing",
         lambda tmp: explain(tmp, "--method", "grad", out="no/such/folder/out.parquet"),
         "`--out` of survinng-py explain must be a file in an existing folder",
         "an output file in a folder that does not exist"),
    Case("cli", "explain_out_bad_suffix",
         lambda tmp: explain(tmp, "--method", "grad", out="out.txt"),
         "`--out` of survinng-py explain must be a file ending in .parquet, .pq, .feather",
         "an output file of unknown format"),
    Case("cli", "option_not_taken", lambda tmp: explain(tmp, "--method", "intgrad",
                                                        "--noise-level", "0.2"),
         "`--noise-level` of survinng-py explain must be left out for --method intgrad; got 0.2",
         "an option the chosen method does not take"),
    Case("cli", "option_out_of_range", lambda tmp: explain(tmp, "--method", "smoothgrad",
                                                           "--n", "0"),
         "`n` of surv_smoothgrad() must be an integer >= 1; got 0", "zero noisy copies"),
    Case("cli", "target_of_other_family", lambda tmp: explain(tmp, "--method", "grad",
                                                              "--target", "cif"),
         "`target` of surv_grad() for a DeepSurv model must be one of 'survival', "
         "'cum_hazard', 'hazard', 'log_risk'; got 'cif'", "a DeepHit target for a Cox model"),
    Case("cli", "data_missing_column",
         lambda tmp: ["explain", str(base() / "bundle"),
                      written(tmp, "rows.csv", "X1,X2,X3\n1,2,3\n"),
                      "--out", str(tmp / "o.parquet"), "--method", "grad"],
         "must be a table with the model's feature columns ['X1', 'X2', 'X3', 'X4']; got \"missing "
         "['X4']\"",
         "rows without one of the model's columns"),
    Case("cli", "data_bad_suffix",
         lambda tmp: ["predict", str(base() / "bundle"), written(tmp, "rows.txt", "1,2,3,4\n"),
                      "--out", str(tmp / "p.parquet")],
         "`DATA` of survinng-py predict must be a file ending in .csv", "rows in a .txt file"),
    Case("cli", "data_missing_file",
         lambda tmp: ["predict", str(base() / "bundle"), str(tmp / "absent.csv"),
                      "--out", str(tmp / "p.parquet")],
         "`DATA` of survinng-py predict must be an existing file", "rows file that is not there"),
    Case("cli", "data_empty_csv",
         lambda tmp: ["predict", str(base() / "bundle"), written(tmp, "rows.csv", ""),
                      "--out", str(tmp / "p.parquet")],
         "`DATA` of survinng-py predict must be a readable CSV file with a header row",
         "an empty CSV file"),
    Case("cli", "data_truncated_parquet",
         lambda tmp: ["predict", str(base() / "bundle"), written(tmp, "rows.parquet", b"PAR1xx"),
                      "--out", str(tmp / "p.parquet")],
         "must be a complete Parquet, Feather or Arrow IPC file", "a truncated Parquet file"),
    Case("cli", "predict_out_not_parquet",
         lambda tmp: ["predict", str(base() / "bundle"), str(base() / "rows.csv"),
                      "--out", str(tmp / "p.csv")],
         "`--out` of survinng-py predict must be a .parquet file", "predictions to a CSV name"),
    Case("cli", "predict_batch_zero",
         lambda tmp: ["predict", str(base() / "bundle"), str(base() / "rows.csv"),
                      "--out", str(tmp / "p.parquet"), "--batch-size", "0"],
         "`--batch-size` of survinng-py predict must be an integer >= 1; got 0",
         "a batch of zero rows"),
    Case("cli", "spec_not_json",
         lambda tmp: export(tmp, "--spec", written(tmp, "spec.json", "{model_type: deepsurv"),
                            "--weights", str(base() / "weights.pt"), "--arch", "x:y"),
         "`--spec` of survinng-py export must be a readable JSON file", "a spec that is not JSON"),
    Case("cli", "spec_without_model_type",
         lambda tmp: export(tmp, "--spec", written(tmp, "spec.json", '{"dtype": "float32"}'),
                            "--weights", str(base() / "weights.pt"), "--arch", "x:y"),
         "must be a JSON object with at least model_type", "a spec without model_type"),
    Case("cli", "weights_without_arch",
         lambda tmp: export(tmp, "--spec", str(base() / "spec.json"),
                            "--weights", str(base() / "weights.pt")),
         "`--arch` of survinng-py export must be given together with --weights",
         "weights without the architecture that reads them"),
    Case("cli", "arch_not_importable",
         lambda tmp: export(tmp, "--spec", str(base() / "spec.json"),
                            "--weights", str(base() / "weights.pt"), "--arch",
                            "survinng_no_such_module:net"),
         "`--arch` of survinng-py export must be an importable callable",
         "an architecture factory that cannot be imported"),
    Case("cli", "pickle_without_trust",
         lambda tmp: export(tmp, "--spec", str(base() / "spec.json"),
                            "--net", str(base() / "weights.pt")),
         "`--net` of survinng-py export must be used with --trust-pickle",
         "a pickled network without --trust-pickle"),
    Case("cli", "export_out_exists",
         lambda tmp: ["export", "--out", str(base() / "bundle"), "--spec",
                      str(base() / "spec.json"), "--weights", str(base() / "weights.pt"),
                      "--arch", "x:y"],
         "`--out` of survinng-py export must be a folder that does not exist yet (pass "
         "--overwrite to replace it)", "a bundle folder that exists, without --overwrite"),
]
