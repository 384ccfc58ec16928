"""Shared parts of the paper-reproduction vignettes.

The paper's three pycox models and how they are fitted, their performance metrics, the
sign-change detector, model-by-instance figure grids and the sections of
``vignettes/RESULTS.md``. Each vignette is a script with a ``main(argv)`` that returns
its numbers; ``--quick`` is the small CI mode.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import os
import platform
import shlex
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch

from survinng_py import _report
from survinng_py._report import git_revision, table, version

HERE = Path(__file__).resolve().parent
FIGURES = HERE / "figures"
RESULTS = HERE / "RESULTS.md"
QUICK_OUT = Path("vignette_quick_output")
HEADER = """# survinng_py vignettes: results

Written by the scripts in this folder in full mode (`python vignettes/<script>.py`, no
`--quick`). Each script replaces only its own section, between its `<!-- name:start -->`
and `<!-- name:end -->` markers; figures are in `figures/`. Everything runs on the CPU
with one torch thread.
"""
#: the paper's order of the models in tables and figures
MODELS = ("CoxTime", "DeepHit", "DeepSurv")
#: most epochs per model in the paper (survivalmodels calls); early stopping ends sooner
PAPER_EPOCHS = {"CoxTime": 500, "DeepHit": 500, "DeepSurv": 100}
VALIDATION_FRACTION = 0.33


def parse_args(description: str, argv: Sequence[str] | None) -> argparse.Namespace:
    """The options every vignette takes: ``--quick``, ``--out``, ``--results``, ``--seed``."""
    parser = argparse.ArgumentParser(description=description.strip().splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="small data, few samples (CI, about a minute)")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"figure folder (default: vignettes/figures; with --quick "
                             f"./{QUICK_OUT})")
    parser.add_argument("--results", type=Path, default=None,
                        help="markdown file for the results section (default: "
                             "vignettes/RESULTS.md; with --quick <out>/RESULTS.md)")
    parser.add_argument("--seed", type=int, default=42,
                        help="seed of the data, the split and the training (default: 42)")
    args = parser.parse_args(argv)
    # quick runs never overwrite the committed figures or RESULTS.md unless told to
    if args.out is None:
        args.out = QUICK_OUT if args.quick else FIGURES
    if args.results is None:
        args.results = args.out / "RESULTS.md" if args.quick else RESULTS
    args.argv = list(argv) if argv is not None else None
    return args


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """One intra-op torch thread: the networks are tiny and the machine's cores are shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def progress():
    """A function ``log(message)`` that prints the message after the seconds since this call
    and returns those seconds (the stages of a run)."""
    start = time.perf_counter()

    def log(message: str) -> float:
        seconds = time.perf_counter() - start
        print(f"[{seconds:6.1f} s] {message}", flush=True)
        return seconds
    return log


# -- models -------------------------------------------------------------------------------
def fit_models(x: np.ndarray, time: np.ndarray, event: np.ndarray, *, seed: int,
               batch_size: int, max_epochs: dict[str, int], names: Sequence[str] = MODELS,
               cuts: int = 30) -> tuple[dict[str, Any], dict[str, int]]:
    """Fit the paper's pycox models on ``(x, time, event)``.

    All use an MLP with two hidden layers of 32 ReLU units, batch norm and dropout 0.1,
    Adam with learning rate 0.01 and early stopping (torchtuples' default: patience 10 on
    the validation loss, best weights restored) on a random 33% validation split, as the
    paper's survivalmodels calls do. DeepSurv is pycox ``CoxPH``, CoxTime has pycox's
    default label transform (standardised durations), DeepHit is ``DeepHitSingle`` with
    ``cuts`` equidistant cut points, ``alpha=0.2``, ``sigma=0.1``. The Cox models'
    baseline hazards are computed on the fitting part (Breslow).

    Parameters
    ----------
    x, time, event : ndarray
        Features (float32), durations and event indicators (1 event, 0 censored).
    seed : int
        Seeds the validation split and, before each model, torch and numpy's global RNG
        (pycox draws CoxTime's control samples from it), so a model does not depend on
        which others are fitted.
    batch_size : int
        Training batch size.
    max_epochs : dict
        Most epochs per model name.
    names : sequence of str
        Which of "CoxTime", "DeepHit", "DeepSurv" to fit.
    cuts : int
        DeepHit's number of cut points.

    Returns
    -------
    models : dict
        Model name -> fitted pycox model.
    epochs : dict
        Model name -> epochs run before early stopping ended training.
    """
    import torchtuples as tt
    from pycox.models import CoxPH, CoxTime, DeepHitSingle
    from pycox.models.cox_time import MLPVanillaCoxTime

    order = np.random.default_rng(seed).permutation(len(x))
    n_val = round(VALIDATION_FRACTION * len(x))
    fit_rows, val_rows = order[n_val:], order[:n_val]
    time, event = np.asarray(time, np.float32), np.asarray(event, np.float32)
    x_fit, x_val = x[fit_rows], x[val_rows]
    y_fit, y_val = (time[fit_rows], event[fit_rows]), (time[val_rows], event[val_rows])
    width = x.shape[1]

    def mlp(out_features: int, output_bias: bool = True):
        return tt.practical.MLPVanilla(width, [32, 32], out_features, batch_norm=True,
                                       dropout=0.1, output_bias=output_bias)

    def build(name: str):
        if name == "DeepSurv":  # the partial likelihood ignores an output bias
            return CoxPH(mlp(1, output_bias=False), tt.optim.Adam(0.01)), y_fit, y_val
        if name == "CoxTime":
            labtrans = CoxTime.label_transform()
            net = MLPVanillaCoxTime(width, [32, 32], batch_norm=True, dropout=0.1)
            return (CoxTime(net, tt.optim.Adam(0.01), labtrans=labtrans),
                    labtrans.fit_transform(*y_fit), labtrans.transform(*y_val))
        if name == "DeepHit":
            labtrans = DeepHitSingle.label_transform(cuts)
            target_fit = labtrans.fit_transform(*y_fit)
            model = DeepHitSingle(mlp(labtrans.out_features), tt.optim.Adam(0.01), alpha=0.2,
                                  sigma=0.1, duration_index=labtrans.cuts)
            return model, target_fit, labtrans.transform(*y_val)
        raise ValueError(f"unknown model {name!r}; expected one of {MODELS}")

    return fit_early_stopping(build, names, x_fit, x_val, seed=seed, batch_size=batch_size,
                              max_epochs=max_epochs)


def fit_early_stopping(build, names: Sequence[str], x_fit, x_val, *, seed: int,
                       batch_size: int, max_epochs: dict[str, int]
                       ) -> tuple[dict[str, Any], dict[str, int]]:
    """Fit ``build(name) -> (pycox model, fit target, validation target)`` for each name
    with early stopping (torchtuples' default: patience 10 on the validation loss, best
    weights restored); Cox models then get their Breslow baseline hazards. Torch's and
    numpy's global RNGs are seeded before each build, so a model does not depend on which
    others are fitted. Returns the models and the epochs each ran, by name."""
    import torchtuples as tt

    models, epochs = {}, {}
    # early stopping's checkpoints go to a temporary folder, not the working directory
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        # torchtuples' own deprecated tensor idioms; nothing a user can act on
        warnings.filterwarnings("ignore", category=UserWarning, module="torchtuples")
        for name in names:
            torch.manual_seed(seed)
            np.random.seed(seed)
            model, target_fit, target_val = build(name)
            stop = tt.callbacks.EarlyStopping(file_path=str(Path(tmp) / f"{name}.pt"))
            log = model.fit(x_fit, target_fit, batch_size=batch_size, epochs=max_epochs[name],
                            callbacks=[stop], verbose=False, val_data=(x_val, target_val))
            if hasattr(model, "compute_baseline_hazards"):  # the Cox models
                model.compute_baseline_hazards()
            models[name] = model
            epochs[name] = len(log.to_pandas())
    return models, epochs


def fit_and_explain(data, features: Sequence[str], n_test: int, cfg: dict, seed: int, log):
    """Split ``data``, fit the paper's three models, score them and explain the test rows.

    Returns ``train``, ``x_test``, ``t_star`` (median training event time), the IBS
    ``times``, ``perf`` and ``epochs`` per model, and one explainer per model on the test rows.
    """
    import survinng_py as sv
    from survinng_py.datasets import split

    train, test = split(data, n_test=n_test, seed=seed)
    # writable copies: torch warns about pandas' read-only views
    x_train, x_test = (np.array(d[list(features)], dtype=np.float32) for d in (train, test))
    y_train, y_test = ((d["time"].to_numpy(), d["status"].to_numpy()) for d in (train, test))
    log(f"fitting {', '.join(MODELS)} on {len(train)} rows")
    models, epochs = fit_models(x_train, *y_train, seed=seed, batch_size=cfg["batch_size"],
                                max_epochs=cfg["max_epochs"])
    t_star = float(np.median(y_train[0][y_train[1] == 1]))
    times = ibs_times(*y_test)
    perf = {name: performance(models[name], x_test, y_test, y_train, t_star, times)
            for name in MODELS}
    log("explaining")
    explainers = {name: sv.explain(models[name], x_test, feature_names=list(features))
                  for name in MODELS}
    return train, x_test, t_star, times, perf, epochs, explainers


def survival_at(surv_df, times: np.ndarray) -> np.ndarray:
    """``(n, len(times))`` survival from pycox's ``predict_surv_df`` as a right-continuous
    step function (1 before its first time point)."""
    grid = surv_df.index.to_numpy(np.float64)
    values = surv_df.to_numpy(np.float64).T
    idx = np.searchsorted(grid, times, side="right") - 1
    return np.where(idx >= 0, values[:, idx.clip(min=0)], 1.0)


def ibs_times(time: np.ndarray, event: np.ndarray, quantiles=(0.0, 1.0),
              num: int = 100) -> np.ndarray:
    """``num`` equally spaced times between two quantiles of the observed event times,
    below the largest observed time (scikit-survival's requirement)."""
    events = np.sort(np.asarray(time)[np.asarray(event) == 1])
    lo, hi = np.quantile(events, quantiles)
    hi = min(hi, np.nextafter(np.max(time), -np.inf))
    return np.linspace(lo, hi, num)


def performance(model, x_test: np.ndarray, y_test: tuple, y_train: tuple, t_star: float,
                times: np.ndarray, surv_df=None) -> dict[str, float]:
    """C-indices and integrated Brier score of a pycox model on test data.

    - ``C(t*)``: Harrell's C (scikit-survival ``concordance_index_censored``) of the risk
      score ``1 - S(t* | x)`` — the paper's choice (SurvMetrics ``Cindex`` on one column
      of the survival matrix);
    - ``C_td``: Antolini's time-dependent concordance (pycox ``EvalSurv.concordance_td``);
    - ``IBS``: scikit-survival ``integrated_brier_score`` over ``times`` with the
      censoring distribution estimated (Kaplan-Meier) on the training data.

    ``y_test``/``y_train`` are ``(time, event)`` pairs; ``surv_df`` a precomputed
    ``model.predict_surv_df(x_test)``.
    """
    from pycox.evaluation import EvalSurv
    from sksurv.metrics import concordance_index_censored, integrated_brier_score
    from sksurv.util import Surv

    surv_df = model.predict_surv_df(x_test) if surv_df is None else surv_df
    time, event = (np.asarray(a, np.float64) for a in y_test)
    risk = 1 - survival_at(surv_df, np.array([t_star]))[:, 0]
    harrell = concordance_index_censored(event.astype(bool), time, risk)[0]
    threads = torch.get_num_threads()
    antolini = EvalSurv(surv_df, time, event.astype(int)).concordance_td("antolini")
    torch.set_num_threads(threads)  # pycox's concordance_td resets torch's thread count
    ibs = integrated_brier_score(Surv.from_arrays(np.asarray(y_train[1]).astype(bool), y_train[0]),
                                 Surv.from_arrays(event.astype(bool), time),
                                 survival_at(surv_df, times), times)
    return {"C(t*)": float(harrell), "C_td": float(antolini), "IBS": float(ibs)}


def setup_lines(data_call: str, n_train: int, n_test: int, batch_size: int,
                max_epochs: dict[str, int], t_star: float, times: np.ndarray,
                cuts: int = 30) -> str:
    """Markdown bullets on the data, the models and the metrics of a vignette."""
    n_val = round(VALIDATION_FRACTION * n_train)
    epochs = ", ".join(f"{name} {e}" for name, e in max_epochs.items())
    return f"""- **data**: `{data_call}`, split into {n_train} training rows
  ({n_train - n_val} to fit, {n_val} for early stopping) and {n_test} test rows; the test
  rows are also the explainer (background) data, as in the paper
- **models**: MLP 32-32 ReLU, batch norm, dropout 0.1, Adam(0.01), batch size {batch_size},
  at most {epochs} epochs, early stopping (patience 10) on the validation rows; DeepHit
  with {cuts} equidistant cut points
- **metrics** on the test rows: C(t*) = Harrell's C of 1 - S(t* | x) with t* = {t_star:.4g}
  (the median training event time; the paper also takes one time column of the survival
  matrix), C_td = Antolini's time-dependent C-index, IBS over {len(times)} equally spaced
  times in [{times[0]:.4g}, {times[-1]:.4g}] (scikit-survival; censoring distribution by
  Kaplan-Meier on the training rows)"""


PAPER_NOTE = """The paper's numbers come from its own draw of the data (R's generator and
simsurv, not numpy's) and its C-index is SurvMetrics' `Cindex` on one time column of the
survival matrix: the two are set side by side, not expected to agree to the third
decimal."""


def performance_table(perf: dict[str, dict], epochs: dict[str, int],
                      paper: dict[str, tuple[float, float]] | None = None) -> str:
    """Markdown table of :func:`performance` per model (and the paper's C-index / IBS)."""
    header = ["model", "epochs", "C(t*)", "C_td (Antolini)", "IBS"]
    if paper:
        header += ["paper C-index", "paper IBS"]
    rows = []
    for name, p in perf.items():
        row = [name, epochs[name], f"{p['C(t*)']:.3f}", f"{p['C_td']:.3f}", f"{p['IBS']:.3f}"]
        if paper:
            row += [f"{paper[name][0]:.3f}", f"{paper[name][1]:.3f}"]
        rows.append(row)
    return table(header, rows)


# -- explanations ---------------------------------------------------------------------------
def sign_change_time(time: np.ndarray, values: np.ndarray, before: int = 1,
                     rel_tol: float = 0.01) -> float:
    """Where a curve changes sign from ``before`` (+1 or -1) to the opposite sign.

    Values within ``rel_tol`` of the curve's largest absolute value count as 0 (the
    curves vanish where the survival is 1 or 0, and rounding noise there has no sign).
    The change is taken between the last point with the early sign and the next point
    with the late sign, at the zero of the straight line through them.

    Returns
    -------
    float
        The time of the change, NaN if the curve never goes from ``before`` to
        ``-before``.
    """
    g = np.asarray(values, np.float64)
    scale = np.abs(g).max()
    if scale == 0:
        return float("nan")
    sign = np.where(g > rel_tol * scale, 1, np.where(g < -rel_tol * scale, -1, 0))
    early = np.flatnonzero(sign == before)
    if early.size == 0:
        return float("nan")
    late = np.flatnonzero(sign[early[-1]:] == -before)
    if late.size == 0:
        return float("nan")
    i, j = early[-1], early[-1] + late[0]
    return float(time[i] + (time[j] - time[i]) * g[i] / (g[i] - g[j]))


def model_grid(results: dict[str, Any], kind: str = "attr", *, title: str = "",
               marks: Sequence[Sequence[float]] | None = None, **kwargs: Any):
    """One row of panels per model: ``survinng_py.plot``'s ``plot_<kind>`` drawn into it.

    Parameters
    ----------
    results : dict
        Model name -> SurvResult (same instances and events for all).
    kind : {"attr", "contr", "force"}
        Which plot.
    title : str
        Figure title.
    marks : sequence of sequences of float, optional
        Per column, times to mark with dotted vertical lines.
    **kwargs
        Passed on to the plot function.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    from survinng_py.plot import plot_attr, plot_contr, plot_force

    plotter = {"attr": plot_attr, "contr": plot_contr, "force": plot_force}[kind]
    first = next(iter(results.values()))
    n_cols = len(first.event_names) * (1 if kwargs.get("aggregate") else len(first.instance))
    n_rows = len(results)
    width = max(4.8 * n_cols + 0.4, 8.0)  # room for the title and legend over one column
    fig = Figure(figsize=(width, 3.1 * n_rows + 1.0), layout="constrained")
    axes = fig.subplots(n_rows, n_cols, squeeze=False, sharex=True,
                        sharey=True if kind == "contr" else "row")
    for row, (name, res) in zip(axes, results.items()):
        plotter(res, ax=row, **kwargs)
        row[-1].get_legend().remove()  # one legend for the figure, below
        for col, axis in enumerate(row):
            axis.set_title(f"{name} | {axis.get_title()}", fontsize="medium")
            for t in (marks[col] if marks else ()):
                axis.axvline(t, color="dimgrey", linestyle=":", linewidth=1.3)
            if col:
                axis.set_ylabel("")
    for axis in axes[:-1].ravel():
        axis.set_xlabel("")
    handles, labels = axes[-1, -1].get_legend_handles_labels()
    fig.legend(handles, labels, title="Feature", loc="outside lower center",
               ncols=min(len(labels), int(width // 1.2)), fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


def save(fig, out: Path, name: str) -> Path:
    """Write ``fig`` as ``out/name`` (PNG, 110 dpi) and return the path."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    fig.savefig(path, dpi=110)
    return path


# -- RESULTS.md -------------------------------------------------------------------------------
def figure_links(paths: Sequence[Path], results: Path) -> str:
    """Markdown image links to ``paths``, relative to the results file."""
    return "\n\n".join(f"![{p.stem}]({Path(os.path.relpath(p, results.parent)).as_posix()})"
                       for p in paths)


def run_info(script: str, args: argparse.Namespace, seconds: float) -> str:
    """Markdown bullets: exact command, seed, date, versions, machine and run time."""
    argv = args.argv if args.argv is not None else sys.argv[1:]
    command = " ".join(["python", f"vignettes/{script}", *map(shlex.quote, argv)])
    versions = ", ".join(f"{d} {version(d)}" for d in (
        "torch", "numpy", "pandas", "pycox", "torchtuples", "scikit-survival", "matplotlib",
        "survinng-py"))
    lines = {
        "command": f"`{command}`",
        "mode": "quick (CI)" if args.quick else "full",
        "seed": f"{args.seed} (data, split, validation split and each model's "
                f"torch/numpy seeds)",
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "versions": f"Python {platform.python_version()}, {versions}",
        "machine": f"{platform.platform()}, os.cpu_count()={os.cpu_count()}, "
                   f"1 torch thread",
        "survinng_py revision": git_revision(),
        "run time": f"{seconds:.0f} s",
    }
    return "\n".join(f"- **{k}**: {v}" for k, v in lines.items())


def write_section(path: Path, name: str, body: str) -> Path:
    """Put ``body`` between the markers of section ``name`` in ``path`` (others kept)."""
    return _report.write_section(path, name, body, HEADER)
