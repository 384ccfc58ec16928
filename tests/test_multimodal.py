"""Multimodal networks: image/sequence/modality plots, GradSHAP's shared alpha, modality
Shapley on image + tabular + sequence inputs, and the digits vignette."""
import importlib
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: tests must not need a display

import numpy as np
import pytest
import torch
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure

import survinng_py as sv
from survinng_py import SurvinngError
from survinng_py.plot import plot, plot_image, plot_modality, plot_sequence

VIGNETTES = Path(__file__).resolve().parents[1] / "vignettes"
PNG = b"\x89PNG\r\n\x1a\n"
BINS = np.linspace(0, 4, 6)


class ImageTableSequenceNet(torch.nn.Module):
    """Conv image (1, 4, 4) + table (3,) + GRU sequence (5, 2) [+ a second image through the
    same conv], fused additively before a DeepHit head."""

    def __init__(self, use_sequence=True, image_copy=False):
        super().__init__()
        self.conv = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Tanh(),
                                        torch.nn.Flatten(), torch.nn.Linear(8, 6))
        self.tab = torch.nn.Linear(3, 6)
        self.gru = torch.nn.GRU(2, 6, batch_first=True)
        self.out = torch.nn.Linear(6, len(BINS))
        self.seq_weight = 1.0 if use_sequence else 0.0
        self.image_copy = image_copy

    def forward(self, image, table, sequence, *copy):
        hidden = self.conv(image) + self.tab(table) + \
            self.seq_weight * self.gru(sequence)[0][:, -1]
        if self.image_copy:
            hidden = hidden + self.conv(copy[0])
        return self.out(torch.tanh(hidden))


def make_data(n=24, seed=0, image_copy=False):
    rng = np.random.default_rng(seed)
    data = [rng.uniform(size=(n, 1, 4, 4)), rng.normal(size=(n, 3)), rng.normal(size=(n, 5, 2))]
    return data + [data[0].copy()] if image_copy else data


def make_explainer(dtype="float64", **net_args):
    torch.manual_seed(0)
    names = ["image", "tabular", "sequence"] + (["image_copy"] if net_args.get("image_copy")
                                                else [])
    return sv.explain(ImageTableSequenceNet(**net_args).eval(),
                      make_data(image_copy=net_args.get("image_copy", False)),
                      model_type="deephit", time_bins=BINS, dtype=dtype, input_names=names)


@pytest.fixture(scope="module")
def explained():
    exp = make_explainer()
    return {"exp": exp, "data": make_data(),
            "shap": sv.surv_gradshap(exp, instance=[2, 5], n=6, num_samples=4, seed=1),
            "shapley": sv.modality_shapley(exp, instance=[2, 5, 7])}


# -- modality Shapley on image + tabular + sequence ---------------------------------------------
def test_modality_shapley_three_modalities_is_exact_and_labelled():
    exp = make_explainer(dtype="float32")
    res = sv.modality_shapley(exp, instance=np.arange(10))
    assert res.values[0].shape == (10, 3, 1, len(BINS))
    assert res.input_names == ["modalities"] and res.feature_names == [["image", "tabular",
                                                                        "sequence"]]
    np.testing.assert_allclose(res.values[0].sum(1), res.pred_diff, atol=1e-6)
    assert np.abs(res.values[0]).max() > 1e-3  # not trivially efficient
    assert set(res.to_pandas()["input"]) == {"modalities"}
    sampled = sv.modality_shapley(exp, instance=[0, 1], num_samples=6, seed=2)
    np.testing.assert_allclose(sampled.values[0].sum(1), sampled.pred_diff, atol=1e-6)


def test_modality_shapley_symmetry_and_ignored_sequence():
    res = sv.modality_shapley(make_explainer(image_copy=True), instance=[0, 3, 9])
    values = res.values[0]  # modalities: image, tabular, sequence, image_copy
    np.testing.assert_allclose(values[:, 0], values[:, 3], atol=1e-12)
    assert np.abs(values[:, 2]).max() > 1e-4  # the sequence is used here ...
    ignored = sv.modality_shapley(make_explainer(use_sequence=False), instance=[0, 3, 9])
    assert (ignored.values[0][:, 2] == 0).all()  # ... and not here: exactly 0
    np.testing.assert_allclose(ignored.values[0].sum(1), ignored.pred_diff, atol=1e-12)


# -- GradSHAP(t): one alpha per point, shared by all inputs ---------------------------------------
class Core(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(13, 8), torch.nn.Tanh(),
                                        torch.nn.Linear(8, len(BINS)))

    def forward(self, x):
        return self.body(x)


class Split(torch.nn.Module):
    """The same function of an image (1, 3, 3) and a table (4,) as ``core`` of their
    concatenation."""

    def __init__(self, core):
        super().__init__()
        self.core = core

    def forward(self, image, table):
        return self.core(torch.cat([image.flatten(1), table], dim=1))


def test_gradshap_alpha_is_shared_across_inputs():
    torch.manual_seed(3)
    core = Core().eval()
    rng = np.random.default_rng(4)
    image, table = rng.normal(size=(30, 1, 3, 3)), rng.normal(size=(30, 4))
    joined = np.concatenate([image.reshape(30, -1), table], axis=1)
    split_exp = sv.explain(Split(core), [image, table], model_type="deephit", time_bins=BINS,
                           dtype="float64")
    joined_exp = sv.explain(core, joined, model_type="deephit", time_bins=BINS, dtype="float64")

    def attributions(seed):
        split = sv.surv_gradshap(split_exp, instance=[0, 4, 9], n=7, num_samples=5, seed=seed)
        whole = sv.surv_gradshap(joined_exp, instance=[0, 4, 9], n=7, num_samples=5, seed=seed)
        per_input = np.concatenate([split.values[0].reshape(3, 9, 1, len(BINS)),
                                    split.values[1]], axis=1)
        np.testing.assert_allclose(split.pred_diff, whole.pred_diff, atol=1e-12)
        return per_input, whole.values[0]

    per_input, whole = attributions(seed=11)
    np.testing.assert_allclose(per_input, whole, rtol=1e-10, atol=1e-12)
    assert not np.allclose(attributions(seed=12)[0], whole, atol=1e-6)  # the draws matter


# -- plots -----------------------------------------------------------------------------------------
def test_plot_image_draws_summed_attributions_on_one_scale(explained):
    res, image = explained["shap"], explained["data"][0][5]
    fig = plot_image(res, input="image", instance=1, times=[0.9, 2.5, 3.9], image=image)
    assert isinstance(fig, Figure)
    panels, colorbar = fig.axes[:3], fig.axes[3]
    assert [a.get_title() for a in panels] == ["t = 0.8", "t = 2.4", "t = 4"]
    assert fig.get_suptitle() == "Instance ID: 5 | image"
    assert colorbar.get_ylabel() == "Attribution survival: GradSHAP(t)"
    maps = res.values[0][1, 0, :, :, 0][..., [1, 3, 5]]  # (H, W, the 3 grid times)
    limit = np.abs(maps).max()
    shown = (image[0] - image.min()) / (image.max() - image.min())
    assert colorbar.get_ylim() == pytest.approx((-limit, limit))
    for k, axis in enumerate(panels):
        background, heat = axis.get_images()
        np.testing.assert_allclose(background.get_array(), shown)
        # opacity follows |attribution| on the figure's one scale
        np.testing.assert_allclose(heat.get_array()[..., 3], 0.85 * np.abs(maps[..., k]) / limit)
    plain = plot_image(res, input=0, instance=1, times=[2.5], overlay=False)
    np.testing.assert_allclose(plain.axes[0].get_images()[0].get_array(), maps[..., 1])
    fig.savefig(io.BytesIO(), format="png")  # draws without errors


def test_plot_sequence_sums_channels_per_step(explained):
    res = explained["shap"]
    fig = plot(res, type="sequence", input="sequence", instance=0)
    axis = fig.axes[0]
    mesh = [c for c in axis.collections if isinstance(c, QuadMesh)][0]
    expected = res.values[2][0, :, :, 0].sum(axis=1)  # (steps, time)
    np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(5, len(BINS)), expected)
    assert axis.get_title() == "Instance ID: 2"
    assert axis.get_ylabel() == "Step of sequence (channels summed)"
    low, high = mesh.get_clim()
    assert low == -high == pytest.approx(-np.abs(expected).max())


def test_plot_modality_stacks_the_shares_and_accepts_every_form(explained):
    res = explained["shapley"]
    fig = plot_modality(res)
    assert [a.get_title() for a in fig.axes] == ["Instance ID: 2", "Instance ID: 5",
                                                  "Instance ID: 7"]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["image", "tabular",
                                                                  "sequence"]
    values = np.abs(res.values[0][1, :, 0])  # instance 5
    tops = 100 * np.cumsum(values[::-1], axis=0)[::-1] / values.sum(axis=0)
    lines = fig.axes[1].get_lines()
    for j in range(3):
        np.testing.assert_allclose(lines[j].get_xdata(), BINS)
        np.testing.assert_allclose(lines[j].get_ydata(), tops[j], rtol=1e-5)
    shares = sv.modality_shares(res)
    shares.loc[shares["time"] == 0, "share"] = 0.0  # as where nothing is attributed
    line = plot_modality(shares).axes[1].get_lines()[0]
    np.testing.assert_allclose(line.get_xdata(), BINS[1:])  # no share at t = 0: left out
    np.testing.assert_allclose(line.get_ydata(), tops[0, 1:], rtol=1e-5)
    cohort = plot_modality(res, cohort=True)
    assert [a.get_title() for a in cohort.axes] == ["Global"]
    # a gradient result of a multi-input model is summed per input first
    shap = explained["shap"]
    direct = plot(shap, type="modality", cohort=True).axes[0].get_lines()[0].get_ydata()
    summed = plot_modality(sv.modality_totals(shap), cohort=True).axes[0].get_lines()[0]
    np.testing.assert_allclose(direct, summed.get_ydata())


@pytest.mark.parametrize("call, arg", [
    (lambda r: plot_image(r["shap"], input="image", times=[1.0]), "image"),  # no image given
    (lambda r: plot_image(r["shap"], image=np.zeros((4, 4))), "image"),  # wrong shape
    (lambda r: plot_image(r["shap"], input="tabular", overlay=False), "input"),
    (lambda r: plot_image(r["shap"], instance=2, overlay=False), "instance"),
    (lambda r: plot_image(r["shap"], event="death", overlay=False), "event"),
    (lambda r: plot_image(r["shap"], times=[], overlay=False), "times"),
    (lambda r: plot_image(r["shap"], times=["soon"], overlay=False), "times"),
    (lambda r: plot_image(r["shap"], overlay="yes"), "overlay"),
    (lambda r: plot_image(r["shap"], overlay=False, times=[1, 2], ax=Figure().subplots(1, 3)),
     "ax"),
    (lambda r: plot_sequence(r["shap"], input=5), "input"),
    (lambda r: plot_sequence(r["shap"], instance=-1), "instance"),
    (lambda r: plot_modality(r["shapley"].to_pandas()), "result"),
    (lambda r: plot_modality(sv.modality_shares(r["shapley"]), cohort=True), "cohort"),
    (lambda r: plot_modality(sv.surv_grad(sv.explain(
        torch.nn.Linear(3, len(BINS)), np.ones((4, 3)), model_type="deephit", time_bins=BINS),
        instance=[0])), "result"),  # one input: no modalities to compare
])
def test_bad_multimodal_plot_arguments_raise_one_line_errors(explained, call, arg):
    with pytest.raises(SurvinngError, match=f"^`{arg}` of plot_") as err:
        call(explained)
    assert "\n" not in str(err.value)


# -- the digits vignette ------------------------------------------------------------------------
@pytest.mark.slow
def test_vignette_multimodal_quick(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(VIGNETTES))
    summary = importlib.import_module("multimodal").main(["--quick", "--out", str(tmp_path)])
    failed = [name for name, ok in summary["checks"].items() if not ok]
    assert not failed, failed
    assert {name.split(":")[0] for name in summary["checks"]} >= {"DeepHit", "DeepSurv"}
    assert all(Path(p).parent == tmp_path and Path(p).read_bytes()[:8] == PNG
               for p in summary["figures"])
    text = Path(summary["results"]).read_text()
    assert "<!-- multimodal:start -->" in text and "--quick" in text
    truth = summary["shares"]["truth"]
    assert truth["tabular"] > truth["image"] > truth["sequence"]  # the simulated order
    for name, r in summary["recovery"].items():
        assert r["lesion_ranks"] == [1, 2], name


def test_vignette_multimodal_truth(monkeypatch):
    # the stated sign change of dS/d biomarker is the zero of the closed-form derivative,
    # which matches finite differences of the simulated survival; the truth module used for
    # the true modality shares gives back that survival
    monkeypatch.syspath_prepend(str(VIGNETTES))
    mm = importlib.import_module("multimodal")
    latent = {"digit": np.array([2.0, 7.0, 3.0]), "lesion": np.array([0.0, 1.0, 0.0]),
              "age": np.array([0.3, -1.0, -0.5]), "biomarker": np.array([-0.8, 0.0, 0.7]),
              "slope": np.array([0.2, -0.4, 1.1])}
    t = np.linspace(0.01, 10, 2001)
    step = 1e-6
    up, down = (dict(latent, biomarker=latent["biomarker"] + s) for s in (step, -step))
    numeric = (np.exp(-mm.true_cum_hazard(t, up)) - np.exp(-mm.true_cum_hazard(t, down))) / 2e-6
    grad = mm.true_grad_biomarker(t, latent)
    np.testing.assert_allclose(grad, numeric, atol=1e-7)
    common = importlib.import_module("_common")
    found = [common.sign_change_time(t, g, before=-1) for g in grad]
    np.testing.assert_allclose(found, mm.true_flip_time(latent), atol=1e-2)
    grid = np.linspace(0, 10, 6)
    exp = mm.true_explainer(latent, grid)
    survival = sv.modality_shapley(exp, instance=[0, 1, 2]).pred
    np.testing.assert_allclose(survival[:, 0], np.exp(-mm.true_cum_hazard(grid, latent)),
                               atol=1e-11)
