"""Integrated Hessians(t): the paper's double sum, completeness, and analytic Cox cases."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_close_rel
from scipy import integrate

import survinng_py as sv

H0 = np.array([0.2, 0.5, 1.1])  # cumulative baseline hazard of the analytic Cox models
TIMES = [1.0, 2.0, 3.0]


@pytest.fixture
def explainer64(request, data):
    model = request.getfixturevalue(request.param)
    x = data[0] if request.param != "deephit_cr" else request.getfixturevalue("deephit_cr_x")
    return sv.explain(model, x, dtype="float64")


@pytest.fixture(scope="session")
def deephit_cr_x():
    from conftest import simulate
    return simulate(seed=5, n_risks=2)[0]


class Additive(torch.nn.Module):
    """g(x) = a(x1) + b(x2), a = tanh(2 x), b = sin: no x1-x2 term in the network."""

    def forward(self, x):
        return (torch.tanh(2 * x[:, :1]) + torch.sin(x[:, 1:2])).reshape(-1, 1)


class Product(torch.nn.Module):
    """g(x) = x1 x2."""

    def forward(self, x):
        return (x[:, :1] * x[:, 1:2]).reshape(-1, 1)


def cox(net, rows):
    hazard = np.diff(H0, prepend=0.0)
    return sv.explain(net, rows, model_type="deepsurv", dtype="float64",
                      baseline_hazard=(TIMES, hazard.tolist()))


def survival_derivatives(g):
    """S, S'(g), S''(g) of S = exp(-H0 e^g), on the time grid (last axis)."""
    cum = H0 * np.exp(np.asarray(g))[..., None]
    s = np.exp(-cum)
    return s, -cum * s, (cum**2 - cum) * s


def grid(n):
    a = np.arange(1, n + 1) / n
    return (a[:, None] * a[None, :]).ravel()  # the n^2 products a*b, one per term


@pytest.mark.parametrize("explainer64", ["coxph", "coxtime", "deephit_cr"], indirect=True)
def test_rows_sum_to_intgrad_with_a_gap_that_shrinks_like_one_over_n(explainer64):
    gaps = []
    for n in (4, 8, 16):
        ih = sv.surv_inthess(explainer64, instance=[0, 7], n=n)
        ig = sv.surv_intgrad(explainer64, instance=[0, 7], n=n)
        np.testing.assert_array_equal(ih.pred_diff, ig.pred_diff)
        gaps.append(np.abs(ih.values[0].sum(axis=2) - ig.values[0]).max())
    assert gaps[0] > 0
    assert gaps[1] < 0.6 * gaps[0] and gaps[2] < 0.6 * gaps[1]


@pytest.mark.parametrize("explainer64", ["deephit_single", "coxtime"], indirect=True)
def test_equals_the_papers_double_sum_of_hessians_and_gradients(explainer64):
    """Gamma_ij = Delta_i Delta_j mean_ab[ab H_ij] + [i=j] Delta_i mean_ab[grad_i], the
    n^2 terms taken one by one with surv_hessian() and surv_grad()."""
    n, rows = 3, [2, 5]
    x = explainer64.data[0][rows].numpy()
    ref = explainer64.data[0][:1].numpy() * 0.5
    res = sv.surv_inthess(explainer64, instance=rows, n=n, x_ref=ref)
    delta = x - ref
    hess = np.zeros_like(res.values[0])
    grad = 0.0
    for g in grid(n):
        point = ref + g * delta
        hess = hess + g * sv.surv_hessian(explainer64, point).values[0] / n**2
        grad = grad + sv.surv_grad(explainer64, point).values[0] / n**2
    want = hess * (delta[:, :, None] * delta[:, None, :])[..., None, None]
    p = x.shape[1]
    want[:, np.arange(p), np.arange(p)] += grad * delta[..., None, None]
    assert_close_rel(res.values[0], want, rel=1e-10)


def test_additive_log_risk_interacts_only_through_the_head():
    rows = np.random.default_rng(0).normal(size=(5, 2))
    exp = cox(Additive(), rows)
    # Hessian(t): d^2S/dx1dx2 = S''(g) a'(x1) b'(x2) exactly, no network term
    x1, x2 = rows[:, 0], rows[:, 1]
    a1, b1 = 2 / np.cosh(2 * x1) ** 2, np.cos(x2)
    _, _, s2 = survival_derivatives(np.tanh(2 * x1) + np.sin(x2))
    hess = sv.surv_hessian(exp, rows).values[0]
    np.testing.assert_allclose(hess[:, 0, 1, 0], s2 * (a1 * b1)[:, None], rtol=1e-12)
    # Integrated Hessians: the same curvature term along the path, on the paper's grid
    n, ref = 6, np.array([[0.3, -0.2]])
    ih = sv.surv_inthess(exp, rows, n=n, x_ref=ref).values[0][:, 0, 1, 0]
    delta = rows - ref
    want = 0.0
    for g in grid(n):
        z = ref + g * delta
        _, _, s2 = survival_derivatives(np.tanh(2 * z[:, 0]) + np.sin(z[:, 1]))
        a1, b1 = 2 / np.cosh(2 * z[:, 0]) ** 2, np.cos(z[:, 1])
        want = want + g * s2 * (a1 * b1 * delta[:, 0] * delta[:, 1])[:, None] / n**2
    np.testing.assert_allclose(ih, want, rtol=1e-10)


def test_product_log_risk_matches_the_analytic_integral():
    """g = x1 x2, reference 0: the path point is c x with c = ab, g = c^2 x1 x2, and
    d^2S/dx1dx2 = S'(g) + S''(g) g; int int ab F(ab) da db = int_0^1 c (-ln c) F(c) dc."""
    rows = np.array([[0.8, -1.1], [1.5, 0.6]])
    exp = cox(Product(), rows)

    def analytic(x):
        def integrand(c, t):
            g = c * c * x[0] * x[1]
            _, s1, s2 = survival_derivatives(g)
            return c * -np.log(c) * (s1 + s2 * g)[t]
        return [x[0] * x[1] * integrate.quad(integrand, 0, 1, args=(t,), epsabs=1e-12)[0]
                for t in range(len(TIMES))]

    want = np.array([analytic(x) for x in rows])
    got = {n: sv.surv_inthess(exp, rows, n=n, x_ref=np.zeros((1, 2))).values[0][:, 0, 1, 0]
           for n in (20, 40, 80)}
    scale = np.abs(want).max()
    errors = [np.abs(got[n] - want).max() / scale for n in (20, 40, 80)]
    # the Riemann sums converge like 1/n: doubling n halves the error, and the
    # extrapolation 2 Gamma(2n) - Gamma(n) removes the 1/n term
    assert 0.4 < errors[1] / errors[0] < 0.6 and 0.4 < errors[2] / errors[1] < 0.6
    np.testing.assert_allclose(2 * got[80] - got[40], want, atol=1e-3 * scale)


@pytest.mark.parametrize("explainer64", ["coxph", "deephit_cr"], indirect=True)
def test_symmetric_and_the_same_for_any_batch_size(explainer64):
    res = sv.surv_inthess(explainer64, instance=[0, 3], n=4)
    np.testing.assert_array_equal(res.values[0], res.values[0].swapaxes(1, 2))
    for batch_size in (1, 7):
        other = sv.surv_inthess(explainer64, instance=[0, 3], n=4, batch_size=batch_size)
        np.testing.assert_allclose(other.values[0], res.values[0], rtol=1e-11, atol=1e-14)
    assert res.label == "IntHess(t)"
    assert res.args == {"target": "survival", "instance": [0, 3], "n": 4, "x_ref": "mean",
                        "input": 0, "dtype": "float64"}


def test_one_reference_per_instance(data, coxph):
    exp = sv.explain(coxph, data[0], dtype="float64")
    refs = data[0][10:12]
    both = sv.surv_inthess(exp, instance=[0, 1], n=3, x_ref=refs)
    first = sv.surv_inthess(exp, instance=[0], n=3, x_ref=refs[:1])
    assert_close_rel(both.values[0][:1], first.values[0], rel=1e-12)


@pytest.mark.parametrize("kwargs,message", [
    ({"n": 0}, "`n` of surv_inthess() must be an integer >= 1; got 0"),
    ({"n": 1001}, "`n` of surv_inthess() must be an integer in [1, 1000]; got 1001"),
    ({"x_ref": np.zeros((3, 4))},
     "`x_ref` of surv_inthess() must be one row or 2 rows (one per instance); got 3 rows"),
    ({"input": "other"}, "`input` of surv_inthess() must be an input index below 1"),
])
def test_bad_arguments(data, coxph, kwargs, message):
    exp = sv.explain(coxph, data[0], dtype="float64")
    with pytest.raises(sv.SurvinngError) as err:
        sv.surv_inthess(exp, instance=[0, 1], **kwargs)
    assert str(err.value).startswith(message)


def test_two_input_module_moves_only_the_chosen_input(two_input):
    """The other input stays at the row along the path: rows of Gamma sum to IntGrad(t)
    with a reference that differs from x only in the chosen input."""
    net, (image, table), bins = two_input
    exp = sv.explain(net, [image, table], model_type="deephit", time_bins=bins, dtype="float64",
                     event_names=["event_1", "event_2", "event_3"])
    rows = [image[:2].astype("float64"), table[:2].astype("float64")]
    ref_table = table[5:6].astype("float64")
    gaps = []
    for n in (4, 8):
        ih = sv.surv_inthess(exp, rows, n=n, input=1, target="cif",
                             x_ref=[image[:1].astype("float64"), ref_table])
        ig = sv.surv_intgrad(exp, rows, n=n, target="cif",
                             x_ref=[rows[0], np.repeat(ref_table, 2, axis=0)])
        np.testing.assert_allclose(ig.values[0], 0, atol=1e-15)  # the image does not move
        np.testing.assert_array_equal(ih.pred_diff, ig.pred_diff)
        gaps.append(np.abs(ih.values[0].sum(axis=2) - ig.values[1]).max())
    assert gaps[1] < 0.6 * gaps[0]
    assert ih.input_names == ["input_2"] and ih.values[0].shape[1:3] == (4, 4)
