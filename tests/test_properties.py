"""Properties of the attribution methods over random small networks of every family.

Networks are bare tanh modules (no pycox needed) whose weights, data and time grids come
from a drawn seed. Properties: batch-size invariance, seed determinism, completeness of
IntGrad(t) and of GradSHAP(t) with one reference (within a bound computed from the
model's own second derivative along the path), Grad(t) against central differences of the
model's float64 prediction, and GxI(t) = Grad(t) * x.

The examples are derandomized and no example database is kept, so CI is reproducible.
``SURVINNG_PROPERTY_EXAMPLES=<n>`` runs ``n`` examples per property (default 40, about
10 s in all; 300 pass too).
"""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

import survinng_py as sv  # noqa: E402
from survinng_py import engine  # noqa: E402

EXAMPLES = int(os.environ.get("SURVINNG_PROPERTY_EXAMPLES", "40"))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    print_blob=True)
FAMILIES = ["deepsurv", "coxtime", "deephit", "deephit_cr", "logistichazard", "mtlr",
            "pchazard", "bcesurv"]
SEEDED = ["smoothgrad", "gradshap"]


class CoxTimeNet(torch.nn.Module):
    """g(x, t): the time as the last input column, as pycox's ``MLPVanillaCoxTime``."""

    def __init__(self, p, hidden):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(p + 1, hidden), torch.nn.Tanh(),
                                        torch.nn.Linear(hidden, 1))

    def forward(self, x, t):
        return self.body(torch.cat([x, t], dim=1))


def _tanh_net(p, hidden, width):
    return torch.nn.Sequential(torch.nn.Linear(p, hidden), torch.nn.Tanh(),
                               torch.nn.Linear(hidden, hidden), torch.nn.Tanh(),
                               torch.nn.Linear(hidden, width))


def build(case, dtype="float64", memory_budget=engine.DEFAULT_MEMORY_BUDGET):
    """The explainer of ``case`` (family, seed, features, rows, times) and its data."""
    family, seed, p, rows, n_times = case
    rng = np.random.default_rng(seed)
    hidden = int(rng.integers(3, 7))
    time = np.cumsum(rng.uniform(0.2, 1.0, n_times))
    if family == "coxtime":
        net = CoxTimeNet(p, hidden)
    else:
        width = {"deepsurv": 1, "pchazard": n_times - 1, "deephit_cr": 2 * n_times}
        net = _tanh_net(p, hidden, width.get(family, n_times))
    with torch.no_grad():  # weights from the seed, scaled to stay off tanh's flat tails
        for param in net.parameters():
            fan_in = param.shape[-1] if param.dim() > 1 else 1
            param.copy_(torch.as_tensor(rng.normal(0.0, 1.2 / np.sqrt(fan_in), param.shape)))
    if family in ("deepsurv", "coxtime"):
        head = {"baseline_hazard": (time, rng.uniform(0.05, 0.3, n_times))}
    elif family == "pchazard":
        head = {"time_bins": time, "sub": int(rng.integers(1, 3))}
    else:
        head = {"time_bins": time}
    if family == "deephit_cr":  # a flat output of 2 x n_times values: name the two events
        head["event_names"] = ["relapse", "death"]
    model_type = "deephit" if family == "deephit_cr" else family
    x = rng.normal(size=(rows, p))
    exp = sv.explain(net, x, model_type=model_type, dtype=dtype, memory_budget=memory_budget,
                     **head)
    return exp, x


def cases(families=FAMILIES):
    return st.tuples(st.sampled_from(families), st.integers(0, 2**16), st.integers(1, 4),
                     st.integers(2, 5), st.integers(2, 5))


METHODS = {
    "grad": lambda exp, **kw: sv.surv_grad(exp, **kw),
    "gxi": lambda exp, **kw: sv.surv_grad(exp, times_input=True, **kw),
    "smoothgrad": lambda exp, seed=0, **kw: sv.surv_smoothgrad(exp, n=5, noise_level=0.3,
                                                                seed=seed, **kw),
    "intgrad": lambda exp, **kw: sv.surv_intgrad(exp, n=7, **kw),
    "gradshap": lambda exp, seed=0, **kw: sv.surv_gradshap(exp, n=4, num_samples=3,
                                                            seed=seed, **kw),
}


def _all_rows(exp):
    return list(range(exp.data[0].shape[0]))


def _scale(a):
    return max(float(np.abs(a).max()), 1e-300)


@PROPERTY
@given(case=cases(), method=st.sampled_from(sorted(METHODS)), data=st.data(),
       dtype=st.sampled_from(["float64", "float32"]))
def test_results_do_not_depend_on_the_batch_size(case, method, data, dtype):
    exp, _ = build(case, dtype)
    target = data.draw(st.sampled_from(exp.model.targets), label="target")
    results = [METHODS[method](exp, instance=_all_rows(exp), target=target, batch_size=b)
               for b in (1, 3, None)]
    rel = 1e-12 if dtype == "float64" else 1e-5
    for res in results[1:]:
        scale = _scale(results[0].values[0])
        np.testing.assert_allclose(res.values[0], results[0].values[0], rtol=rel,
                                   atol=rel * scale)
        np.testing.assert_allclose(res.pred, results[0].pred, rtol=rel, atol=rel)


@PROPERTY
@given(case=cases(), method=st.sampled_from(SEEDED), seeds=st.lists(
    st.integers(0, 2**63 - 1), min_size=2, max_size=2, unique=True))
def test_same_seed_same_result_other_seed_other_result(case, method, seeds):
    exp, _ = build(case)
    rows = _all_rows(exp)
    first, again, other = (METHODS[method](exp, instance=rows, seed=s)
                           for s in (seeds[0], seeds[0], seeds[1]))
    np.testing.assert_array_equal(first.values[0], again.values[0])
    assert not np.array_equal(first.values[0], other.values[0])


def _path_bound(exp, x, ref, target):
    """max |d^2/dalpha^2 f_t(ref + alpha (x - ref))| over alpha in [0, 1] (per instance,
    event, time), from second differences of the model's own float64 prediction on a
    fine grid, with a margin for the grid spacing."""
    steps = 400
    alphas = np.linspace(0.0, 1.0, steps + 1)
    path = ref[:, None, :] + alphas[None, :, None] * (x - ref)[:, None, :]
    flat = torch.as_tensor(path.reshape(-1, x.shape[1]))
    f = engine.predict(exp.model, [flat], target).numpy()
    f = f.reshape(x.shape[0], steps + 1, *f.shape[1:])
    second = np.abs(np.diff(f, n=2, axis=1)).max(axis=1) * steps**2
    return 1.5 * second + 1e-9 * _scale(f)


@PROPERTY
@given(case=cases(), data=st.data())
def test_intgrad_is_complete_within_the_riemann_bound(case, data):
    exp, x = build(case)
    target = data.draw(st.sampled_from(exp.model.targets), label="target")
    ref = np.broadcast_to(x.mean(axis=0, keepdims=True), x.shape)
    bound = _path_bound(exp, x, ref, target)  # |g'| on the path, g = df/dalpha
    for n in (4, 64):  # right Riemann sum of g: error <= max|g'| / (2n)
        res = sv.surv_intgrad(exp, instance=_all_rows(exp), target=target, n=n)
        gap = np.abs(res.values[0].sum(axis=1) - res.pred_diff)
        assert np.all(gap <= bound / (2 * n) + 1e-12 * _scale(res.pred)), (n, gap.max())


@PROPERTY
@given(case=cases(), data=st.data(), seed=st.integers(0, 2**32))
def test_gradshap_with_one_reference_is_complete_within_the_stratified_bound(case, data, seed):
    exp, x = build(case)
    target = data.draw(st.sampled_from(exp.model.targets), label="target")
    for n in (4, 64):  # one alpha per stratum of width 1/n: error <= max|g'| / n
        res = sv.surv_gradshap(exp, instance=_all_rows(exp), target=target, n=n,
                               num_samples=1, seed=seed)
        ref = np.broadcast_to(x[res.args["reference_rows"]], x.shape)
        bound = _path_bound(exp, x, ref, target)
        np.testing.assert_allclose(res.pred_ref, engine.predict(
            exp.model, [torch.as_tensor(ref.copy())], target).numpy(), rtol=1e-13)
        gap = np.abs(res.values[0].sum(axis=1) - res.pred_diff)
        assert np.all(gap <= bound / n + 1e-12 * _scale(res.pred)), (n, gap.max())


@PROPERTY
@given(case=cases(), data=st.data())
def test_grad_equals_central_differences_of_the_float64_prediction(case, data):
    exp, x = build(case)
    target = data.draw(st.sampled_from(exp.model.targets), label="target")
    res = sv.surv_grad(exp, x, target=target)
    h = 1e-6
    for j in range(x.shape[1]):
        step = np.zeros_like(x)
        step[:, j] = h
        up, down = (engine.predict(exp.model, [torch.as_tensor(x + s)], target).numpy()
                    for s in (step, -step))
        central = (up - down) / (2 * h)
        np.testing.assert_allclose(res.values[0][:, j], central, rtol=1e-5,
                                   atol=1e-6 * _scale(central) + 1e-9)
    np.testing.assert_array_equal(res.pred, engine.predict(
        exp.model, [torch.as_tensor(x)], target).numpy())


@PROPERTY
@given(case=cases(), data=st.data(), dtype=st.sampled_from(["float64", "float32"]))
def test_gxi_is_grad_times_input(case, data, dtype):
    exp, x = build(case, dtype)
    target = data.draw(st.sampled_from(exp.model.targets), label="target")
    grad = sv.surv_grad(exp, x, target=target).values[0]
    gxi = sv.surv_grad(exp, x, target=target, times_input=True).values[0]
    rows = x.astype(dtype)[:, :, None, None]
    # the same products in another order (and, where the engine keeps J in factors, summed
    # after the multiplication by x): equal up to rounding
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(gxi, grad * rows, rtol=4 * eps, atol=16 * eps * _scale(gxi))
