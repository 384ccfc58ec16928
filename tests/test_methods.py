"""SmoothGrad(t), IntGrad(t), GradSHAP(t): captum agreement, completeness, seeds, batching."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import survinng_py as sv
from helpers import assert_close_rel

captum_attr = pytest.importorskip("captum.attr")

ROWS = [0, 3, 8]


@pytest.fixture(params=["coxph", "coxtime", "deephit_single"])
def explainer64(request, data):
    return sv.explain(request.getfixturevalue(request.param), data[0][:60], dtype="float64")


def scalar_target(explainer, time_index, target="survival", event=0):
    """S(t_k | x) as a function of a batch x, for captum."""
    return lambda x: explainer.model.forward([x], target)[:, event, time_index]


@pytest.mark.parametrize("family", ["coxph", "deephit_single"])
def test_intgrad_agrees_with_captum(family, request, data):
    exp = sv.explain(request.getfixturevalue(family), data[0][:60], dtype="float64")
    x = exp.data[0][ROWS]
    ref = exp.data[0].mean(0, keepdim=True)
    res = sv.surv_intgrad(exp, instance=ROWS, n=20)
    ig = captum_attr.IntegratedGradients(scalar_target(exp, 5))
    ours = res.values[0][..., 0, 5]
    theirs = ig.attribute(x, baselines=ref, n_steps=20, method="riemann_right").numpy()
    assert_close_rel(ours, theirs)


def test_intgrad_completeness_improves_with_n(explainer64):
    gaps = [sv.local_accuracy(sv.surv_intgrad(explainer64, instance=ROWS, n=n))["max_gap"]
            for n in (2, 20, 200)]
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 1e-2


def test_intgrad_with_one_step_and_zero_reference_is_gxi(explainer64):
    zero = np.zeros((1, explainer64.data[0].shape[1]))
    ig = sv.surv_intgrad(explainer64, instance=ROWS, n=1, x_ref=zero)
    gxi = sv.surv_grad(explainer64, instance=ROWS, times_input=True)
    np.testing.assert_allclose(ig.values[0], gxi.values[0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ig.pred_diff, ig.pred - ig.pred_ref)


def test_intgrad_reference_per_instance(explainer64):
    refs = explainer64.data[0][[10, 11, 12]].numpy()
    together = sv.surv_intgrad(explainer64, instance=ROWS, n=7, x_ref=refs)
    for k, row in enumerate(ROWS):
        alone = sv.surv_intgrad(explainer64, instance=[row], n=7, x_ref=refs[k:k + 1])
        np.testing.assert_allclose(together.values[0][k], alone.values[0][0], rtol=1e-12)
        np.testing.assert_allclose(together.pred_ref[k], alone.pred_ref[0], rtol=1e-12)


def test_intgrad_is_linear_in_the_target(coxtime, data):
    exp = sv.explain(coxtime, data[0][:60], dtype="float64")
    hazard = sv.surv_intgrad(exp, instance=ROWS, target="hazard", n=5).values[0]
    cum = sv.surv_intgrad(exp, instance=ROWS, target="cum_hazard", n=5).values[0]
    np.testing.assert_allclose(cum, hazard.cumsum(-1), rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("times_input", [False, True])
def test_smoothgrad_without_noise_is_grad(explainer64, times_input):
    sg = sv.surv_smoothgrad(explainer64, instance=ROWS, n=4, noise_level=0.0,
                            times_input=times_input, seed=1)
    grad = sv.surv_grad(explainer64, instance=ROWS, times_input=times_input)
    np.testing.assert_allclose(sg.values[0], grad.values[0], rtol=1e-12, atol=1e-15)
    assert sg.label == ("SGxI(t)" if times_input else "SG(t)")


def test_smoothgrad_noise_sd_is_noise_level_times_sample_sd():
    # Linear log-risk g = w.x: grad cum_hazard = H0 exp(g) w, and with Gaussian noise
    # E[exp(w.(x + eps))] = exp(g) exp(sum_i w_i^2 sigma_i^2 / 2): SG/Grad reads back sigma.
    net = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[1.0, 0.5]]))
    data = np.array([[0.0, 1.0], [1.0, -1.0], [2.0, 0.5], [-1.0, 0.0], [0.5, 2.0]])
    exp = sv.explain(net, data, model_type="deepsurv", baseline_hazard=([1.0], [0.2]),
                     dtype="float64")
    res = sv.surv_smoothgrad(exp, instance=[0], target="cum_hazard", n=40000, noise_level=0.8,
                             seed=0)
    grad = sv.surv_grad(exp, instance=[0], target="cum_hazard")
    sigma = 0.8 * data.std(axis=0, ddof=1)
    expected = np.exp(0.5 * np.sum((np.array([1.0, 0.5]) * sigma) ** 2))
    ratio = res.values[0] / grad.values[0]
    np.testing.assert_allclose(ratio, expected, rtol=0.03)  # ddof=0 would be 10 % lower


@pytest.mark.parametrize("method,kwargs", [
    (sv.surv_smoothgrad, {"n": 6, "times_input": True}),
    (sv.surv_gradshap, {"n": 4, "num_samples": 3}),
])
def test_same_seed_same_result_any_batch_size(explainer64, method, kwargs):
    base = method(explainer64, instance=ROWS, seed=11, **kwargs)
    again = method(explainer64, instance=ROWS, seed=11, **kwargs)
    np.testing.assert_array_equal(base.values[0], again.values[0])
    for batch_size in (1, 5):
        other = method(explainer64, instance=ROWS, seed=11, batch_size=batch_size, **kwargs)
        np.testing.assert_allclose(other.values[0], base.values[0], rtol=0,
                                   atol=1e-12 * np.abs(base.values[0]).max())
    different = method(explainer64, instance=ROWS, seed=12, **kwargs)
    assert not np.allclose(different.values[0], base.values[0])


def test_same_seed_float32_batches_agree(coxph, data):
    exp = sv.explain(coxph, data[0][:60])
    base = sv.surv_gradshap(exp, instance=ROWS, n=5, num_samples=4, seed=2)
    small = sv.surv_gradshap(exp, instance=ROWS, n=5, num_samples=4, seed=2, batch_size=3)
    np.testing.assert_allclose(small.values[0], base.values[0], rtol=0,
                               atol=1e-6 * np.abs(base.values[0]).max())


def test_seed_accepts_a_generator(explainer64):
    a = sv.surv_gradshap(explainer64, instance=ROWS, n=3, num_samples=2,
                         seed=np.random.default_rng(5))
    b = sv.surv_gradshap(explainer64, instance=ROWS, n=3, num_samples=2, seed=5)
    np.testing.assert_array_equal(a.values[0], b.values[0])
    assert a.args["seed"] == "Generator"


def test_gradshap_agrees_with_captum_in_expectation(deephit_single, data):
    exp = sv.explain(deephit_single, data[0][:60], dtype="float64")
    x = exp.data[0][ROWS]
    # 96,000 samples each: Monte Carlo noise of about 1.5 % (10 % at 2,400)
    ours = sv.surv_gradshap(exp, instance=ROWS, n=4, num_samples=24000, seed=0).values[0][..., 0, 6]
    gs = captum_attr.GradientShap(scalar_target(exp, 6))
    torch.manual_seed(0)
    theirs = gs.attribute(x, baselines=exp.data[0], n_samples=96000, stdevs=0.0).numpy()
    rel = np.linalg.norm(ours - theirs) / np.linalg.norm(theirs)
    assert rel < 0.06


def test_gradshap_local_accuracy_as_good_as_captum(coxph, data):
    exp = sv.explain(coxph, data[0][:60], dtype="float64")
    rows = list(range(20))
    k = 40  # a time in the middle of the grid
    gs = captum_attr.GradientShap(scalar_target(exp, k))
    gaps_ours, gaps_captum = [], []
    for seed in range(6):  # 100 samples each (one alpha per reference, as captum draws)
        res = sv.surv_gradshap(exp, instance=rows, n=1, num_samples=100, seed=seed)
        gaps_ours.append(res.pred_diff[:, 0, k] - res.values[0][..., 0, k].sum(1))
        torch.manual_seed(seed)
        np.random.seed(seed)  # captum draws its alphas from numpy's global generator
        theirs = gs.attribute(exp.data[0][rows], baselines=exp.data[0], n_samples=100, stdevs=0.0)
        gaps_captum.append(res.pred_diff[:, 0, k] - theirs.numpy().sum(1))
    rms = [np.sqrt(np.mean(np.square(g))) for g in (gaps_ours, gaps_captum)]
    assert rms[0] <= 1.25 * rms[1]


def test_gradshap_with_one_reference_approaches_intgrad(explainer64):
    ref = explainer64.data[0][[20]].numpy()
    shap = sv.surv_gradshap(explainer64, instance=ROWS, n=3000, num_samples=1, data_ref=ref, seed=4)
    ig = sv.surv_intgrad(explainer64, instance=ROWS, n=3000, x_ref=ref)
    np.testing.assert_allclose(shap.pred_diff, ig.pred_diff, rtol=1e-12)
    assert shap.pred_diff_q1 is None
    assert_close_rel(shap.values[0], ig.values[0], rel=0.1)


def test_stratified_alpha_shrinks_the_integration_error(explainer64):
    """With one reference pred_diff = f(x) - f(r) exactly, so the completeness gap is
    the path integral's Monte Carlo error alone; both draws are unbiased."""
    ref = explainer64.data[0][[20]].numpy()
    rms = {}
    for stratified in (True, False):
        gaps = [sv.surv_gradshap(explainer64, instance=ROWS, n=8, num_samples=1, data_ref=ref,
                                 stratified=stratified, seed=seed) for seed in range(8)]
        gaps = [r.pred_diff - r.values[0].sum(1) for r in gaps]
        rms[stratified] = np.sqrt(np.mean(np.square(gaps)))
        mean_gap = np.mean(gaps, axis=0)  # unbiased: the mean gap shrinks with the seeds
        assert np.sqrt(np.mean(np.square(mean_gap))) < 0.6 * rms[stratified]
    assert rms[True] < 0.5 * rms[False]  # about 0.1-0.3 here; equal draws would give ~1


def test_one_point_per_reference_is_the_same_draw_either_way(explainer64):
    a = sv.surv_gradshap(explainer64, instance=ROWS, n=1, num_samples=5, seed=3)
    b = sv.surv_gradshap(explainer64, instance=ROWS, n=1, num_samples=5, seed=3, stratified=False)
    np.testing.assert_array_equal(a.values[0], b.values[0])
    assert (a.args["stratified"], b.args["stratified"]) == (True, False)


def test_gradshap_reference_predictions(explainer64):
    res = sv.surv_gradshap(explainer64, instance=ROWS, n=2, num_samples=3, seed=0)
    pool = sv.surv_grad(explainer64, instance=list(range(60))).pred
    np.testing.assert_allclose(res.pred_ref, np.broadcast_to(pool.mean(0), res.pred.shape))
    np.testing.assert_allclose(res.pred_diff_q1, res.pred - np.quantile(pool, 0.25, axis=0))
    np.testing.assert_allclose(res.pred_diff_q3, res.pred - np.quantile(pool, 0.75, axis=0))


def test_gradshap_lists_the_references_it_drew(explainer64):
    one = sv.surv_gradshap(explainer64, instance=ROWS, n=2, num_samples=1, seed=7)
    (row,) = one.args["reference_rows"]
    at_row = sv.surv_grad(explainer64, instance=row).pred
    np.testing.assert_array_equal(one.pred_ref, np.broadcast_to(at_row, one.pred.shape))
    rows = sv.surv_gradshap(explainer64, instance=ROWS, n=2, num_samples=40, replace=False,
                            seed=7).args["reference_rows"]
    assert len(set(rows)) == 40 and all(0 <= r < 60 for r in rows)


def test_multi_input_intgrad_is_complete(two_input):
    net, inputs, bins = two_input
    exp = sv.explain(net, inputs, model_type="deephit", time_bins=bins, dtype="float64",
                     event_names=["a", "b", "c"])  # a flat output of 3 risks
    res = sv.surv_intgrad(exp, instance=[0, 1, 2], target="cif", n=300)
    assert [v.shape for v in res.values] == [(3, 1, 3, 3, 3, 7), (3, 4, 3, 7)]
    assert sv.local_accuracy(res)["max_gap"] < 1e-2
    shap = sv.surv_gradshap(exp, instance=[0, 1, 2], target="cif", n=30, num_samples=30, seed=0)
    assert [v.shape for v in shap.values] == [v.shape for v in res.values]
    assert sv.local_accuracy(shap)["overall"] < 0.2
