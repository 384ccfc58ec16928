"""Hessian(t): central differences of Grad(t), symmetry, batching, every family."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_close_rel

import survinng_py as sv
from survinng_py import _second_order

FAMILIES = ["coxph", "coxtime", "deephit_single", "deephit_cr"]
TARGETS = {"coxph": "cum_hazard", "coxtime": "survival", "deephit_single": "pmf",
           "deephit_cr": "cif"}


@pytest.fixture
def explainer64(request, data):
    model = request.getfixturevalue(request.param)
    x = data[0] if request.param != "deephit_cr" else request.getfixturevalue("deephit_cr_x")
    return sv.explain(model, x, dtype="float64")


@pytest.fixture(scope="session")
def deephit_cr_x():
    from conftest import simulate
    return simulate(seed=5, n_risks=2)[0]


def grad_differences(explainer, rows, target, h=1e-5, input=0):
    """Central differences of Grad(t) of input ``input``: ``(B, p, p, E, T)``, [i, j] = d/dx_i
    of dS/dx_j."""
    columns = []
    flat = rows[input].reshape(len(rows[input]), -1)
    for i in range(flat.shape[1]):
        step = np.zeros(flat.shape[1])
        step[i] = h
        moved = [[r + (s * step).reshape(r.shape[1:]) if k == input else r
                  for k, r in enumerate(rows)] for s in (1, -1)]
        up, down = (sv.surv_grad(explainer, m, target=target).values[input] for m in moved)
        columns.append((up - down).reshape(len(flat), flat.shape[1], *up.shape[-2:]) / (2 * h))
    return np.stack(columns, axis=1)


@pytest.mark.parametrize("explainer64", FAMILIES, indirect=True)
@pytest.mark.parametrize("target", ["survival", "other"])
def test_hessian_equals_differences_of_grad(explainer64, target, request):
    family = request.node.callspec.params["explainer64"]
    target = TARGETS[family] if target == "other" else target
    rows = explainer64.data[0][:4].numpy()
    res = sv.surv_hessian(explainer64, rows, target=target)
    fd = grad_differences(explainer64, [rows], target)
    assert res.values[0].shape == fd.shape
    assert_close_rel(res.values[0], fd, rel=1e-5)
    assert res.event_names == sv.surv_grad(explainer64, rows, target=target).event_names


@pytest.mark.parametrize("explainer64", ["coxph", "coxtime", "deephit_cr"], indirect=True)
def test_symmetric_and_the_same_for_any_batch_size(explainer64):
    res = sv.surv_hessian(explainer64, instance=[0, 3, 5])
    h = res.values[0]
    np.testing.assert_array_equal(h, h.swapaxes(1, 2))
    for batch_size in (1, 2):
        other = sv.surv_hessian(explainer64, instance=[0, 3, 5], batch_size=batch_size)
        np.testing.assert_allclose(other.values[0], h, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(res.pred, sv.surv_grad(explainer64, instance=[0, 3, 5]).pred)


@pytest.mark.parametrize("explainer64", ["coxph", "coxtime", "deephit_single"], indirect=True)
def test_the_three_ways_agree(explainer64):
    """The head's chain rule of second order, forward-over-forward and forward-over-reverse
    give the same derivatives, whichever choose_mode() picks."""
    points = [explainer64.data[0][:1]]
    rows = torch.arange(1, points[0].shape[1])
    for target in explainer64.model.targets[:2]:
        ways = [_second_order.derivatives(explainer64.model, points, 0, target, rows, mode)
                for mode in ("forward", "reverse", "factored")]
        for other in ways[1:]:
            for a, b in zip(ways[0], other):
                assert_close_rel(b.numpy(), a.numpy(), rel=1e-10)


def test_feature_blocks_give_the_same_hessian(data, coxtime):
    """A memory budget too small for one point's rows splits the rows into blocks."""
    big = sv.explain(coxtime, data[0], dtype="float64")
    small = sv.explain(coxtime, data[0], dtype="float64", memory_budget=20_000)
    p = data[0].shape[1]
    assert _second_order.block_sizes(small.model, small.data, "survival", p, 20_000)[1] < p
    a, b = (sv.surv_hessian(e, instance=[1, 2]).values[0] for e in (big, small))
    np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-15)


def test_times_input_multiplies_by_both_inputs(data, coxph):
    exp = sv.explain(coxph, data[0], dtype="float64")
    plain = sv.surv_hessian(exp, instance=[0, 1])
    scaled = sv.surv_hessian(exp, instance=[0, 1], times_input=True)
    x = exp.data[0][:2].numpy()
    np.testing.assert_allclose(
        scaled.values[0], plain.values[0] * (x[:, :, None] * x[:, None, :])[..., None, None])
    assert scaled.label == "Hessian x Input(t)" and plain.label == "Hessian(t)"


def test_labels_name_the_pairs(data, coxph):
    exp = sv.explain(coxph, data[0], dtype="float64", feature_names=["a", "b", "c", "d"])
    res = sv.surv_hessian(exp, instance=0)
    assert res.feature_names[0][:3] == ["a:a", "a:b", "a:c"]
    assert res.feature_pairs[0][1] == ["a", "b"]
    one = res.sel(feature=["c:d", "b:a"])
    assert one.feature_pairs == [[["c", "d"], ["b", "a"]]]
    np.testing.assert_array_equal(one.values[0][:, 0], res.values[0][:, 2, 3])


def test_two_input_module_pairs_one_input(two_input):
    net, (image, table), bins = two_input
    exp = sv.explain(net, [image, table], model_type="deephit", time_bins=bins, dtype="float64",
                     event_names=["event_1", "event_2", "event_3"], input_names=["img", "tab"])
    rows = [image[:3].astype("float64"), table[:3].astype("float64")]
    for input in (0, "tab"):
        k = 0 if input == 0 else 1
        res = sv.surv_hessian(exp, rows, target="cif", input=input)
        fd = grad_differences(exp, rows, "cif", input=k)
        assert_close_rel(res.values[0], fd, rel=1e-5)
        assert res.input_names == [["img", "tab"][k]]
    with pytest.raises(sv.SurvinngError, match=r"^`input` of surv_hessian\(\) must be an input "
                       r"index below 2 or one of \['img', 'tab'\]; got 2$"):
        sv.surv_hessian(exp, rows, input=2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu(coxtime, data):
    cpu = sv.explain(coxtime, data[0][:30], dtype="float64")
    gpu = sv.explain(coxtime, data[0][:30], dtype="float64", device="cuda")
    for fn, kwargs in ((sv.surv_hessian, {}), (sv.surv_inthess, {"n": 3})):
        a, b = (fn(e, instance=[0, 4], **kwargs) for e in (cpu, gpu))
        np.testing.assert_allclose(b.values[0], a.values[0], rtol=1e-9, atol=1e-12)
