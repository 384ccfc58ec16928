"""Multimodal survival: digit images + tabular covariates + a vitals-like sequence.

Semi-synthetic data that ships offline. Each patient has

- an **image**: an 8x8 handwritten digit of scikit-learn's bundled ``load_digits()``
  (1,797 images, grey levels scaled to [0, 1]), drawn at random; in 30% of the patients
  a "lesion" is burnt in: pixels (row 3, col 0) and (row 4, col 0), blank in every digit,
  are set to 1;
- a **tabular** row: ``age``, ``biomarker``, ``noise_1``, ``noise_2``, independent N(0, 1);
- a **sequence** of 12 steps and 2 channels (vitals): ``heart_rate`` = level + slope * s
  + noise, ``resp_rate`` = level' + slope' * s + noise, with s from -1 to 1 over the
  steps, levels and slopes N(0, 1), noise sd 0.3.

Ground truth. The hazard is ``h(t | x) = 0.1 exp(eta + g(t) * 0.6 biomarker)`` with

    eta = 0.8 (digit - 4.5) / 2.87 + 0.8 lesion + 1.4 age + 0.5 slope(heart_rate)

and ``g(t) = +1`` before ``t = 2`` and ``-1`` after: risk rises with the digit's class
and with the lesion (image), with ``age`` (tabular), and with the trend of the heart rate
(sequence; its level, ``resp_rate`` and the noise covariates have no effect), and the
biomarker raises the hazard early and lowers it late (a time-varying effect, which
DeepHit can learn and a proportional-hazards Cox head cannot). Censoring: exponential
with mean 15, administrative at t = 10; durations are recorded in quarter units (ceil
to 0.25), so the Cox baseline has at most 40 time points. The true modality shares are
the exact Shapley values of the true survival S(t | x) over the three modalities'
latent variables (digit and lesion; age and biomarker; the heart-rate slope), i.e. the
same computation (:func:`survinng_py.modality_shapley`) on the data-generating model,
with the same reference patients as for the networks. Simulated order of the modalities:
tabular > image > sequence.

Model: a fusion network, a small CNN (two 3x3 convolutions, ELU, average pooling) for the
image, an MLP layer for the table and a GRU for the sequence, concatenated into a
two-layer head; trained with a DeepHit head (pycox ``DeepHitSingle``, 20 cut points) and
a Cox head (pycox ``CoxPH``, "DeepSurv"), tuple inputs through torchtuples, with early
stopping. Explained on the test rows (also the background data) with GradSHAP(t)
(feature level, and summed per modality), IntGrad(t) (DeepHit) and exact modality Shapley
values (sampled reference patients; the mean patient as the one reference for
comparison); checked against the ground truth: the lesion pixels rank first in the
image, the risk follows the digit's class, the true tabular features rank above the
noise, the heart-rate channel and the ends of the sequence (which carry its trend)
dominate the sequence, the modality shares are ordered as the true ones, and DeepHit's
Grad(t) of the biomarker turns from negative to positive as the true derivative does,
while the Cox head's cannot.

    python vignettes/multimodal.py            # full: 4,000 patients
    python vignettes/multimodal.py --quick    # CI: 2,000 patients (well under a minute)
"""
from __future__ import annotations

import time as _time
from typing import Sequence

import numpy as np
import torch

import survinng_py as sv
from survinng_py.plot import plot_image, plot_modality, plot_sequence
from _common import (VALIDATION_FRACTION, figure_links, fit_early_stopping, ibs_times,
                     model_grid, parse_args, performance, performance_table, progress,
                     run_info, save, sign_change_time, single_thread, table, write_section)

NAME = "multimodal"
MODELS = ("DeepHit", "DeepSurv")
INPUT_NAMES = ["image", "tabular", "sequence"]
TABULAR = ["age", "biomarker", "noise_1", "noise_2"]
CHANNELS = ["heart_rate", "resp_rate"]
STEPS = 12
LESION = [(3, 0), (4, 0)]
#: log-hazard effects: per SD of the digit class, lesion, age, biomarker (sign flips at
#: SWITCH), heart-rate slope
EFFECTS = {"digit": 0.8, "lesion": 0.8, "age": 1.4, "biomarker": 0.6, "slope": 0.5}
BASE_HAZARD, SWITCH, LESION_RATE = 0.1, 2.0, 0.3
CENSOR_MEAN, FOLLOW_UP, RECORDED = 15.0, 10.0, 0.25
CUTS = 20
#: times of the share table (nearest grid points)
TABLE_TIMES = (1.0, 2.0, 4.0, 6.0, 8.0)
FULL = {"n": 4000, "n_test": 1000, "max_epochs": 100, "explain": 200, "shap_n": 50,
        "shap_samples": 20, "shapley_refs": 50, "ig_n": 50, "min_spearman": 0.6,
        "min_ends": 0.6, "min_heart_rate": 0.65, "min_changed": 0.7}
QUICK = {"n": 2000, "n_test": 300, "max_epochs": 25, "explain": 100, "shap_n": 10,
         "shap_samples": 10, "shapley_refs": 20, "ig_n": 20, "min_spearman": 0.4,
         "min_ends": 0.55, "min_heart_rate": 0.55, "min_changed": 0.5}


# -- data ---------------------------------------------------------------------------------------
def simulate(n: int, seed: int) -> dict:
    """The semi-synthetic cohort of the module docstring.

    Returns
    -------
    dict
        ``inputs``: ``[image (n, 1, 8, 8), tabular (n, 4), sequence (n, 12, 2)]`` float32;
        ``time``, ``event`` (float32); ``latent``: the variables behind the hazard
        (``digit`` class, ``lesion`` 0/1, ``age``, ``biomarker``, ``slope``) and the
        digit ``label``.
    """
    from sklearn.datasets import load_digits

    rng = np.random.default_rng(seed)
    digits = load_digits()
    rows = rng.choice(len(digits.target), n, replace=n > len(digits.target))
    image = (digits.images[rows] / 16.0)[:, None].astype(np.float32)
    lesion = rng.uniform(size=n) < LESION_RATE
    for r, c in LESION:
        image[lesion, 0, r, c] = 1.0
    tabular = rng.normal(size=(n, len(TABULAR))).astype(np.float32)
    s = np.linspace(-1.0, 1.0, STEPS)
    level, slope = rng.normal(size=(2, n, len(CHANNELS)))
    sequence = (level[:, None] + slope[:, None] * s[None, :, None]
                + 0.3 * rng.normal(size=(n, STEPS, len(CHANNELS)))).astype(np.float32)
    latent = {"digit": digits.target[rows].astype(np.float64), "lesion": lesion.astype(float),
              "age": tabular[:, 0].astype(float), "biomarker": tabular[:, 1].astype(float),
              "slope": slope[:, 0]}
    # inverse of the piecewise cumulative hazard (the biomarker's sign flips at SWITCH)
    early, late = (BASE_HAZARD * np.exp(_eta(latent) + sign * EFFECTS["biomarker"]
                                        * latent["biomarker"]) for sign in (1, -1))
    draw = rng.exponential(size=n)
    event_time = np.where(draw < early * SWITCH, draw / early,
                          SWITCH + (draw - early * SWITCH) / late)
    censor = np.minimum(rng.exponential(CENSOR_MEAN, size=n), FOLLOW_UP)
    time = np.ceil(np.minimum(event_time, censor) / RECORDED) * RECORDED
    return {"inputs": [image, tabular, sequence], "time": time.astype(np.float32),
            "event": (event_time <= censor).astype(np.float32), "latent": latent}


def _eta(latent: dict) -> np.ndarray:
    """The time-constant part of the log hazard."""
    return (EFFECTS["digit"] * (latent["digit"] - 4.5) / 2.87 + EFFECTS["lesion"] * latent["lesion"]
            + EFFECTS["age"] * latent["age"] + EFFECTS["slope"] * latent["slope"])


def _cum_hazard_parts(t: np.ndarray, latent: dict) -> tuple[np.ndarray, np.ndarray]:
    """The cumulative hazard accrued before and after ``SWITCH``, each ``(rows, times)``."""
    t = np.asarray(t, np.float64)[None, :]
    b = EFFECTS["biomarker"] * np.asarray(latent["biomarker"], np.float64)[:, None]
    scale = BASE_HAZARD * np.exp(_eta(latent))[:, None]
    return scale * np.exp(b) * np.minimum(t, SWITCH), scale * np.exp(-b) * np.maximum(t - SWITCH, 0)


def true_cum_hazard(t: np.ndarray, latent: dict) -> np.ndarray:
    """``H(t | x)`` of the simulation, ``(rows, times)``."""
    return sum(_cum_hazard_parts(t, latent))


def true_flip_time(latent: dict) -> np.ndarray:
    """Where the true ``d S(t | x) / d biomarker`` turns from - to +, per row:
    ``SWITCH * (1 + exp(2 * 0.6 * biomarker))`` (where the early and late parts of
    ``d H / d biomarker`` cancel)."""
    return SWITCH * (1 + np.exp(2 * EFFECTS["biomarker"] * np.asarray(latent["biomarker"])))


def true_grad_biomarker(t: np.ndarray, latent: dict) -> np.ndarray:
    """``d S(t | x) / d biomarker = -S dH/d biomarker``, ``(rows, times)``."""
    early, late = _cum_hazard_parts(t, latent)
    return -np.exp(-(early + late)) * EFFECTS["biomarker"] * (early - late)


class TrueSurvival(torch.nn.Module):
    """The data-generating survival as a module of the modalities' latent variables:
    inputs ``(digit, lesion)``, ``(age, biomarker)``, ``(slope,)``; output
    ``logit S(t_j | x)`` on ``grid``, so that a BCESurv head (``S_j = sigmoid(phi_j)``)
    gives back the true survival and ``modality_shapley`` its true modality Shapley values.
    Forward only (through numpy): modality Shapley values need no gradients.
    """

    def __init__(self, grid: np.ndarray):
        super().__init__()
        self.grid = np.asarray(grid, np.float64)

    def forward(self, image, tabular, sequence):
        columns = {"digit": image[:, 0], "lesion": image[:, 1], "age": tabular[:, 0],
                   "biomarker": tabular[:, 1], "slope": sequence[:, 0]}
        latent = {k: v.detach().cpu().numpy() for k, v in columns.items()}
        survival = np.exp(-true_cum_hazard(self.grid, latent)).clip(1e-12, 1 - 1e-12)
        return torch.as_tensor(np.log(survival) - np.log1p(-survival), dtype=image.dtype)


# -- models ---------------------------------------------------------------------------------------
class FusionNet(torch.nn.Module):
    """CNN (image) + MLP (table) + GRU (sequence), concatenated into a two-layer head."""

    def __init__(self, out_features: int, width: int = 16):
        super().__init__()
        act = torch.nn.ELU
        self.cnn = torch.nn.Sequential(
            torch.nn.Conv2d(1, 8, 3, padding=1), act(), torch.nn.AvgPool2d(2),
            torch.nn.Conv2d(8, 16, 3, padding=1), act(), torch.nn.AvgPool2d(2),
            torch.nn.Flatten(), torch.nn.Linear(64, width), act())
        self.mlp = torch.nn.Sequential(torch.nn.Linear(len(TABULAR), width), act())
        self.gru = torch.nn.GRU(len(CHANNELS), width, batch_first=True)
        self.head = torch.nn.Sequential(torch.nn.Linear(3 * width, 32), act(),
                                        torch.nn.Dropout(0.1), torch.nn.Linear(32, out_features))

    def forward(self, image, tabular, sequence):
        return self.head(torch.cat([self.cnn(image), self.mlp(tabular),
                                    self.gru(sequence)[0][:, -1]], dim=1))


def fit_models(data: dict, n_train: int, max_epochs: int, seed: int) -> tuple[dict, dict]:
    """Fit the fusion network with a DeepHit head (``DeepHitSingle``, ``CUTS`` cut points,
    alpha 0.2, sigma 0.1) and a Cox head (``CoxPH``; Breslow baseline on the fitting rows)
    on the first ``n_train`` rows: Adam(0.005), equal batches of at most 128 rows, at most
    ``max_epochs`` epochs with early stopping (torchtuples' default: patience 10, best
    weights restored) on a random ``VALIDATION_FRACTION`` of them, as ``_common.fit_models``
    does for the tabular vignettes.

    Returns
    -------
    models : dict
        ``"DeepHit"`` and ``"DeepSurv"``: fitted pycox models.
    epochs : dict
        Model name -> epochs run.
    """
    import torchtuples as tt
    from pycox.models import CoxPH, DeepHitSingle

    order = np.random.default_rng(seed).permutation(n_train)
    val_rows, fit_rows = np.split(order, [round(VALIDATION_FRACTION * n_train)])
    x_fit, x_val = (tuple(a[rows] for a in data["inputs"]) for rows in (fit_rows, val_rows))
    y_fit, y_val = ((data["time"][rows], data["event"][rows]) for rows in (fit_rows, val_rows))
    # equal batches of at most 128: a small last batch without events makes the Cox
    # partial likelihood 0/0 and the weights NaN
    batch_size = -(-len(fit_rows) // -(-len(fit_rows) // 128))

    def build(name: str):
        if name == "DeepHit":
            labtrans = DeepHitSingle.label_transform(CUTS)
            target_fit, target_val = labtrans.fit_transform(*y_fit), labtrans.transform(*y_val)
            model = DeepHitSingle(FusionNet(labtrans.out_features), tt.optim.Adam(0.005),
                                  alpha=0.2, sigma=0.1, duration_index=labtrans.cuts)
            return model, target_fit, target_val
        return CoxPH(FusionNet(1), tt.optim.Adam(0.005)), y_fit, y_val

    return fit_early_stopping(build, MODELS, x_fit, x_val, seed=seed, batch_size=batch_size,
                              max_epochs={name: max_epochs for name in MODELS})


def feature_names() -> list[list[str]]:
    """Per input: ``pixel[row,col]``, the tabular names, ``<channel>[step]`` (1-based)."""
    return [[f"pixel[{r},{c}]" for r in range(8) for c in range(8)], list(TABULAR),
            [f"{ch}[{s + 1}]" for s in range(STEPS) for ch in CHANNELS]]


def explainers(models: dict, inputs: list) -> dict:
    """One explainer per model on ``inputs`` (the explained and background rows)."""
    return {name: sv.explain(model, inputs, input_names=INPUT_NAMES,
                             feature_names=feature_names()) for name, model in models.items()}


def true_explainer(latent: dict, grid: np.ndarray):
    """The data-generating survival (:class:`TrueSurvival`) on the latent variables of
    ``latent``'s rows (the explainer data)."""
    x = [np.stack([latent["digit"], latent["lesion"]], 1),
         np.stack([latent["age"], latent["biomarker"]], 1), latent["slope"][:, None]]
    return sv.explain(TrueSurvival(grid), x, model_type="bcesurv", time_bins=grid,
                      dtype="float64", input_names=INPUT_NAMES)


# -- the vignette ---------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> dict:
    """Run the vignette; returns its numbers (see the module docstring).

    Returns
    -------
    dict
        ``performance``, ``epochs``, ``shares`` (source -> cohort mean share per modality
        over the grid times > 0), ``recovery`` (model -> the numbers behind the checks),
        ``flips`` (model -> the biomarker's sign changes), ``checks`` (check name -> bool),
        ``timing`` (stage -> seconds), ``figures``, ``results``.
    """
    from scipy.stats import spearmanr

    args = parse_args(__doc__, argv)
    cfg = QUICK if args.quick else FULL
    log = progress()
    timing = {}
    with single_thread():
        data = simulate(cfg["n"], args.seed)
        n_train = cfg["n"] - cfg["n_test"]
        test = slice(n_train, None)
        x_test = [a[test] for a in data["inputs"]]
        y_train = (data["time"][:n_train], data["event"][:n_train])
        y_test = (data["time"][test], data["event"][test])
        log(f"fitting DeepHit and DeepSurv fusion networks on {n_train} patients")
        (models, epochs), timing["fit (both models)"] = _timed(
            lambda: fit_models(data, n_train, cfg["max_epochs"], args.seed))

        log(f"explaining {cfg['explain']} test patients")
        exps = explainers(models, x_test)
        rows = np.arange(cfg["explain"])
        latent = {k: v[test] for k, v in data["latent"].items()}
        shown = {k: v[rows] for k, v in latent.items()}
        refs = {"num_samples": cfg["shapley_refs"], "seed": args.seed}
        gradshap, shapley, grad, cohort = {}, {}, {}, {}
        for name, exp in exps.items():
            gradshap[name], timing[f"GradSHAP(t) {name}, {len(rows)} patients"] = _timed(
                lambda: sv.surv_gradshap(exp, instance=rows, n=cfg["shap_n"],
                                         num_samples=cfg["shap_samples"], seed=args.seed))
            # exact and cheap: on every test patient (the digit check); the table takes the
            # explained ones (the references depend on the seed only, not on the patients)
            cohort[name], timing[f"modality Shapley {name}, {cfg['n_test']} patients"] = _timed(
                lambda: sv.modality_shapley(exp, instance=np.arange(cfg["n_test"]), **refs))
            shapley[name] = cohort[name].isel(instance=rows)
            grad[name] = sv.surv_grad(exp, instance=rows)
        intgrad, timing[f"IntGrad(t) DeepHit, {len(rows)} patients"] = _timed(
            lambda: sv.surv_intgrad(exps["DeepHit"], instance=rows, n=cfg["ig_n"]))
        # the same reference patients as the networks' (same pool size and seed)
        truth_exp = true_explainer(latent, gradshap["DeepHit"].time)
        sources = {"truth": sv.modality_shapley(truth_exp, instance=rows, **refs),
                   "DeepHit Shapley": shapley["DeepHit"],
                   "DeepHit GradSHAP(t) totals": sv.modality_totals(gradshap["DeepHit"]),
                   "DeepSurv Shapley": shapley["DeepSurv"],
                   "DeepSurv GradSHAP(t) totals": sv.modality_totals(gradshap["DeepSurv"]),
                   # the mean patient as the one reference (not checked, see the report)
                   "truth, mean ref": sv.modality_shapley(truth_exp, instance=rows),
                   "DeepHit Shapley, mean ref": sv.modality_shapley(exps["DeepHit"],
                                                                    instance=rows),
                   "DeepHit IntGrad(t) totals, mean ref": sv.modality_totals(intgrad),
                   "DeepSurv Shapley, mean ref": sv.modality_shapley(exps["DeepSurv"],
                                                                     instance=rows)}
        shares = {name: _mean_shares(res) for name, res in sources.items()}
        recovery = {name: _recovery(gradshap[name], cohort[name], shown, latent, spearmanr)
                    for name in MODELS}
        true_flip = true_flip_time(shown)
        flips = {name: _flip_summary(g, true_flip) for name, g in grad.items()}
        checks = _checks(recovery, shares, flips, cfg)

        # scored last: pycox's concordance_td (numba) resets torch's thread count
        t_star = float(np.median(y_train[0][y_train[1] == 1]))
        perf = {name: performance(m, tuple(x_test), y_test, y_train, t_star, ibs_times(*y_test))
                for name, m in models.items()}
        log("drawing")
        example = _example_row(shown)
        figures = [
            save(_image_figure(gradshap, x_test[0][example], example), args.out,
                 "multimodal_image.png"),
            save(_modality_figure(sources), args.out, "multimodal_modality_share.png"),
            save(_sequence_figure(gradshap, example), args.out, "multimodal_sequence.png"),
            save(model_grid(gradshap, "contr", aggregate=True, input="tabular",
                            title="Tabular features: share of the mean |GradSHAP(t)| over the "
                                  f"{len(rows)} explained patients"),
                 args.out, "multimodal_tabular_contr.png"),
            save(_biomarker_figure(grad, shown), args.out, "multimodal_biomarker.png")]
    seconds = log(f"figures in {args.out}; writing {args.results}")
    body = _report(args, cfg, n_train, float(data["event"].mean()), perf, epochs, sources,
                   shares, recovery, flips, checks, timing, example, shown, figures, seconds)
    write_section(args.results, NAME, body)
    return {"performance": perf, "epochs": epochs, "shares": shares, "recovery": recovery,
            "flips": flips, "checks": checks, "timing": timing, "figures": figures,
            "results": args.results}


def _timed(fn):
    start = _time.perf_counter()
    value = fn()
    return value, _time.perf_counter() - start


def _flip_summary(grad, true_flip: np.ndarray) -> dict:
    """Per patient, where Grad(t) of the biomarker turns from - to +: the share of patients
    with such a change, and over them the median estimated and true times."""
    found = np.array([sign_change_time(grad.time, g, before=-1) for g in grad.values[1][:, 1, 0]])
    hit = ~np.isnan(found)

    def median(values):
        return float(np.median(values[hit])) if hit.any() else float("nan")
    return {"changed": float(hit.mean()), "median_estimate": median(found),
            "median_true": median(true_flip), "median_abs_error": median(np.abs(found - true_flip))}


def _mean_shares(result) -> dict[str, float]:
    """Cohort share (%) per modality, averaged over the grid times > 0."""
    frame = sv.modality_shares(result, cohort=True)
    frame = frame[frame["time"] > 0]
    return frame.groupby("modality", sort=False)["share"].mean().to_dict()


def _recovery(gradshap, cohort, shown: dict, latent: dict, spearmanr) -> dict:
    """The numbers behind the checks for one model (see :func:`_checks`): from GradSHAP(t)
    of the explained patients, and the digit's rank correlation with the image modality's
    Shapley value (``cohort``: all test patients) over the patients without the lesion."""
    image = np.abs(gradshap.values[0][:, 0, :, :, 0]).mean(-1)  # (rows, 8, 8), mean over time
    lesion_map = image[shown["lesion"] == 1].mean(0).ravel()
    ranking = np.argsort(-lesion_map)
    lesion_pixels = [r * 8 + c for r, c in LESION]
    lesion_ranks = sorted(int(np.flatnonzero(ranking == p)[0]) + 1 for p in lesion_pixels)
    # image modality's Shapley value on S, averaged over time: negative = raises the risk
    plain = latent["lesion"] == 0
    image_effect = -cohort.values[0][:, 0, 0].mean(-1)
    tab = np.abs(gradshap.values[1][:, :, 0]).mean((0, 2))
    seq = np.abs(gradshap.values[2][:, :, :, 0]).mean((0, 3))  # (steps, channels)
    quarter = STEPS // 4
    heart = seq[:, 0]
    image_total = np.abs(gradshap.values[0].sum((1, 2, 3))).mean()
    noise_total = np.abs(gradshap.values[1][:, 2:]).sum(1).mean()
    return {"lesion_ranks": lesion_ranks,
            "lesion_share": float(lesion_map[lesion_pixels].sum() / lesion_map.sum()),
            "digit_spearman": float(spearmanr(latent["digit"][plain], image_effect[plain])[0]),
            "tabular": dict(zip(TABULAR, tab.round(5).tolist())),
            "heart_rate_share": float(heart.sum() / seq.sum()),
            "ends_share": float((heart[:quarter].sum() + heart[-quarter:].sum()) / heart.sum()),
            "steps": heart / heart.sum(),
            "image_over_noise": float(image_total / noise_total)}


def _checks(recovery: dict, shares: dict, flips: dict, cfg: dict) -> dict[str, bool]:
    """The recovery checks (thresholds: ``cfg``; quick mode is looser)."""
    order = sorted(INPUT_NAMES, key=lambda m: -shares["truth"][m])
    out = {}
    for name, r in recovery.items():
        tab = r["tabular"]
        # a proportional-hazards head averages the biomarker's flipping effect out
        true = ["age"] if name == "DeepSurv" else ["age", "biomarker"]
        out.update({
            f"{name}: lesion pixels rank 1 and 2 in the image": r["lesion_ranks"] == [1, 2],
            f"{name}: risk rises with the digit (Spearman > {cfg['min_spearman']})":
                r["digit_spearman"] > cfg["min_spearman"],
            f"{name}: {' and '.join(true)} above the noise covariates":
                min(tab[f] for f in true) > max(tab["noise_1"], tab["noise_2"]),
            f"{name}: image modality above the noise covariates": r["image_over_noise"] > 1,
            f"{name}: heart rate carries > {cfg['min_heart_rate']:.0%} of the sequence":
                r["heart_rate_share"] > cfg["min_heart_rate"],
            f"{name}: first and last quarter of the steps > {cfg['min_ends']:.0%} of the "
            "heart rate": r["ends_share"] > cfg["min_ends"]})
    for source, share in shares.items():
        if source != "truth" and "mean ref" not in source:
            out[f"{source}: modality shares ordered as the truth ({' > '.join(order)})"] = \
                sorted(INPUT_NAMES, key=lambda m: -share[m]) == order
    deephit = flips["DeepHit"]
    out[f"DeepHit: biomarker's Grad(t) turns from - to + for > {cfg['min_changed']:.0%} of the "
        f"patients, at a median t > {SWITCH:g}"] = \
        deephit["changed"] > cfg["min_changed"] and deephit["median_estimate"] > SWITCH
    out["DeepSurv (proportional hazards): no patient's Grad(t) changes sign"] = \
        flips["DeepSurv"]["changed"] == 0
    return out


def _example_row(shown: dict) -> int:
    """A lesion patient with a high digit class (both image effects present)."""
    candidates = np.flatnonzero((shown["lesion"] == 1) & (shown["digit"] >= 7))
    return int(candidates[0]) if len(candidates) else int(np.flatnonzero(shown["lesion"])[0])


def _image_figure(gradshap: dict, image: np.ndarray, row: int):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10.5, 6.6), layout="constrained")
    axes = fig.subplots(len(gradshap), 3)
    for axis_row, (name, res) in zip(axes, gradshap.items()):
        plot_image(res, input="image", instance=row, times=[1.5, 4.0, 7.0], image=image,
                   ax=axis_row)
        for axis in axis_row:
            axis.set_title(f"{name} | {axis.get_title()}", fontsize="medium")
    fig.suptitle(f"GradSHAP(t) of the survival over the image of patient {row} (digit with a "
                 f"lesion at pixels {LESION})")
    return fig


def _modality_figure(sources: dict):
    from matplotlib.figure import Figure

    picked = ["truth", "DeepHit Shapley", "DeepHit GradSHAP(t) totals", "DeepSurv Shapley",
              "DeepHit Shapley, mean ref"]
    fig = Figure(figsize=(16, 4.2), layout="constrained")
    axes = fig.subplots(1, len(picked), sharey=True)
    for axis, name in zip(axes, picked):
        plot_modality(sources[name], cohort=True, ax=axis)
        axis.get_legend().remove()
        axis.set_title(name)
        axis.set_ylabel("")
    axes[0].set_ylabel("% of the mean |contribution| to S(t)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, title="Modality", loc="outside lower center", ncols=3)
    fig.suptitle("Share of each modality in the mean |contribution| to the survival, over time "
                 "(explained test patients)")
    return fig


def _sequence_figure(gradshap: dict, row: int):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.2), layout="constrained")
    for axis, (name, res) in zip(fig.subplots(1, len(gradshap)), gradshap.items()):
        plot_sequence(res, input="sequence", instance=row, ax=axis)
        axis.set_title(f"{name} | {axis.get_title()}")
    fig.suptitle("GradSHAP(t) of the survival over the vitals sequence (heart rate + respiratory "
                 "rate)")
    return fig


def _biomarker_figure(grad: dict, shown: dict):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.5), layout="constrained")
    axis = fig.subplots()
    t = np.linspace(0, FOLLOW_UP, 200)
    axis.plot(t, true_grad_biomarker(t, shown).mean(0), color="black", linewidth=1.6,
              label="truth: mean dS/d biomarker")
    for k, (name, res) in enumerate(grad.items()):
        axis.plot(res.time, res.values[1][:, 1, 0].mean(0), marker="o", markersize=3,
                  color=f"C{k}", label=f"{name}: mean Grad(t)")
    axis.axhline(0, color="black", linewidth=0.6)
    axis.axvline(SWITCH, color="dimgrey", linestyle=":", label="the hazard effect's switch")
    axis.set_xlabel("Time")
    axis.set_ylabel("d S(t | x) / d biomarker (mean over patients)")
    axis.legend(fontsize="small")
    axis.set_title(f"Time-varying effect: the biomarker raises the hazard before t = {SWITCH:g} "
                   "and lowers it after", fontsize="medium")
    return fig


def _report(args, cfg, n_train, event_rate, perf, epochs, sources, shares, recovery, flips,
            checks, timing, example, shown, figures, seconds) -> str:
    grid = sources["truth"].time
    picks = [int(np.abs(grid - t).argmin()) for t in TABLE_TIMES]
    share_rows = []
    for name, res in sources.items():
        frame = sv.modality_shares(res, cohort=True)
        for modality in INPUT_NAMES:
            sub = frame[frame["modality"] == modality]
            at = [sub["share"].to_numpy()[np.abs(sub["time"].to_numpy() - grid[p]).argmin()]
                  for p in picks]
            share_rows.append([name, modality, *(f"{v:.1f}" for v in at),
                               f"**{shares[name][modality]:.1f}**"])
    gaps = {name: res.args["completeness_gap_max"] for name, res in sources.items()
            if "completeness_gap_max" in res.args}
    rec_rows = [[name, r["lesion_ranks"], f"{100 * r['lesion_share']:.0f}%",
                 f"{r['digit_spearman']:.2f}",
                 ", ".join(f"{k} {v:.3f}" for k, v in r["tabular"].items()),
                 f"{r['image_over_noise']:.1f}", f"{100 * r['heart_rate_share']:.0f}%",
                 f"{100 * r['ends_share']:.0f}%"] for name, r in recovery.items()]

    def num(value):  # no sign change found: no time to report
        return "-" if np.isnan(value) else f"{value:.2f}"
    flip_rows = [[name, f"{100 * f['changed']:.0f}%", num(f["median_estimate"]),
                  num(f["median_true"]), num(f["median_abs_error"])] for name, f in flips.items()]
    check_rows = [[name, "yes" if ok else "**NO**"] for name, ok in checks.items()]
    time_rows = [[stage, f"{s:.2f} s"] for stage, s in timing.items()]
    refs = cfg["shapley_refs"]
    return f"""## Multimodal: digit images + tabular + vitals sequence (`{NAME}.py`)

{run_info(NAME + ".py", args, seconds)}
- **data**: `simulate(n={cfg['n']}, seed={args.seed})` (ground truth in the script's
  docstring): {n_train} training and {cfg['n_test']} test patients, {100 * event_rate:.0f}%
  events; the test patients are the explainer (background) data, the first
  {len(shown['digit'])} of them are explained ({int(shown['lesion'].sum())} with the lesion)
- **models**: fusion network (CNN 8-16 channels + MLP 16 + GRU 16, head 32, ELU, dropout
  0.1), Adam(0.005), batches of at most 128, at most {cfg['max_epochs']} epochs with early
  stopping (patience 10) on {VALIDATION_FRACTION:.0%} of the training patients; DeepHit
  ({CUTS} cut points, alpha 0.2, sigma 0.1) and DeepSurv (pycox CoxPH, Breslow baseline on
  {len(sources['DeepSurv Shapley'].time)} times)
- **methods** (all of the survival): GradSHAP(t) n = {cfg['shap_n']} with
  {cfg['shap_samples']} references; exact modality Shapley values (2^3 = 8 subsets) with
  {refs} reference patients drawn from the test patients (`num_samples={refs}`), and with
  the mean patient as the one reference; IntGrad(t) n = {cfg['ig_n']} from the mean
  patient (DeepHit); Grad(t) for the biomarker's sign change; seed {args.seed} throughout

### Performance (test patients)

{performance_table(perf, epochs)}

### Modality shares over time

Share (%) of each modality in the mean |contribution| to the survival over the explained
patients (`modality_shares(..., cohort=True)`), at the grid points nearest to t =
{', '.join(f'{t:g}' for t in TABLE_TIMES)} (DeepHit's grid; DeepSurv's nearest points),
and averaged over each grid's times > 0 (bold). "truth" is the exact modality Shapley
decomposition of the data-generating survival over the latent variables, with the same
{refs} reference patients (or the mean patient). Largest completeness gap
|pred_diff - sum| of the gradient totals: {', '.join(f'{k} {v:.3g}' for k, v in gaps.items())};
the Shapley values are exact (efficiency to rounding). The mean-reference rows are
reported, not checked: the mean of the digit images is a blur no patient has, and the
networks' prediction there is not that of an average patient, which shifts the image's
share (compare each with its truth row).

{table(["source", "modality", *(f"t = {grid[p]:.2f}" for p in picks), "mean over t > 0"],
       share_rows)}

### Recovery of the ground truth (GradSHAP(t), mean |value| over patients and times)

{table(["model", "ranks of the 2 lesion pixels", "their share of the image",
        "Spearman(digit, image Shapley), test patients without lesion", "tabular mean abs GradSHAP",
        "image / noise covariates", "heart-rate share of the sequence",
        "first + last quarter of the heart-rate steps"], rec_rows)}

Where each patient's Grad(t) of the biomarker turns from - to + (zero of the line between
the last negative and the next positive value; values within 1% of the patient's largest
|Grad(t)| count as 0), against the true time
{SWITCH:g} (1 + exp({2 * EFFECTS['biomarker']:g} biomarker)); in truth
{100 * np.mean(true_flip_time(shown) < FOLLOW_UP):.0f}% of these patients have their
change before t = {FOLLOW_UP:g}:

{table(["model", "patients with a - to + change", "median estimated time",
        "median true time", "median abs. error"], flip_rows)}

No DeepSurv patient's curve can change sign (proportional hazards); its mean over the
patients in `multimodal_biomarker.png` can still cross 0, because the sign of the fitted
effect differs between patients.

{table(["check", "passed"], check_rows)}

### Runtime (one torch thread)

{table(["stage", "seconds"], time_rows)}

### Figures

Patient {example} of the explained rows (digit {int(shown['digit'][example])} with the
lesion) in the image and sequence figures.

{figure_links(figures, args.results)}
"""


if __name__ == "__main__":
    main()
