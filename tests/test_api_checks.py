"""Argument checks of the Python API: the exact messages, and what is accepted."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import survinng_py as sv
from cases_api import CASES, HAZARD
from catalogue import data, explainer, net


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_message_is_exactly_the_expected_line(case, tmp_path):
    with pytest.raises(sv.SurvinngError) as info:
        case.call(tmp_path)
    assert str(info.value) == case.message


def test_cases_are_distinct():
    assert len({c.name for c in CASES}) == len(CASES)
    assert len({c.description for c in CASES}) == len(CASES)


# -- what is accepted ------------------------------------------------------------------------
def test_integer_instances_of_every_kind_give_the_same_rows():
    exp = explainer()
    want = sv.surv_grad(exp, instance=[2]).values[0]
    for instance in (2, np.int64(2), np.uint8(2), [2], (2,), np.array([2]), torch.tensor([2]),
                     range(2, 3)):
        np.testing.assert_array_equal(sv.surv_grad(exp, instance=instance).values[0], want)


@pytest.mark.parametrize("seed", [0, 2**63 - 1, np.int64(5), np.uint64(7)])
def test_seeds_in_range_are_accepted_and_recorded_as_python_ints(seed):
    res = sv.surv_gradshap(explainer(), instance=0, n=2, num_samples=2, seed=seed)
    assert res.args["seed"] == int(seed) and type(res.args["seed"]) is int


def test_available_devices_are_accepted():
    for device in sv._validation.available_devices() + [torch.device("cpu"), "cpu:0"]:
        exp = sv.explain(net(), data(), model_type="deepsurv", baseline_hazard=HAZARD,
                         device=device)
        assert exp.model.device == torch.device(device)


def test_float32_range_is_checked_only_where_it_matters():
    big = data()[:3].astype("float64")
    big[0, 0] = 1e39
    exp64 = sv.explain(net(), data(), model_type="deepsurv", baseline_hazard=HAZARD,
                       dtype="float64")
    assert np.all(np.isfinite(sv.surv_grad(exp64, big).pred))
    edge = data()[:3].astype("float64")
    edge[0, 0] = float(np.finfo(np.float32).max)  # representable: accepted
    sv.surv_grad(explainer(), edge)
    sv.surv_grad(explainer(), data()[:3].astype("float16"))  # no range check needed


def test_names_may_be_numbers_arrays_or_one_list_per_input():
    exp = sv.explain(net(), data(), model_type="deepsurv", baseline_hazard=HAZARD,
                     feature_names=np.array([1, 2, 3, 4]), input_names=("table",))
    res = sv.surv_grad(exp, instance=0)
    assert res.feature_names == [["1", "2", "3", "4"]] and res.input_names == ["table"]
    nested = sv.explain(net(), data(), model_type="deepsurv", baseline_hazard=HAZARD,
                        feature_names=[["a", "b", "c", "d"]])
    assert nested.feature_names == [["a", "b", "c", "d"]]


def test_explainer_without_data_uses_its_names_for_the_rows():
    exp = sv.explain(net(), model_type="deepsurv", baseline_hazard=HAZARD,
                     feature_names=["a", "b", "c", "d"], input_names=["table"])
    res = sv.surv_grad(exp, data()[:2])
    assert res.feature_names == [["a", "b", "c", "d"]] and res.input_names == ["table"]
    plain = sv.surv_grad(sv.explain(net(), model_type="deepsurv", baseline_hazard=HAZARD),
                         data()[:2])
    assert plain.feature_names == [["X1", "X2", "X3", "X4"]] and plain.input_names == ["input_1"]


def test_progress_flag_accepts_booleans():
    for progress in (None, False, np.bool_(False)):
        sv.surv_grad(explainer(), instance=0, progress=progress)


# -- huge numbers of points: memory does not grow with n -------------------------------------
_BOUNDED = textwrap.dedent("""
    import resource, sys
    import numpy as np, survinng_py as sv
    from survinng_py import engine
    sys.path.insert(0, {tests!r})
    from catalogue import data, net

    exp = sv.explain(net(), data(), model_type="deepsurv", memory_budget=2**20,
                     baseline_hazard=([1.0, 2.0], [0.1, 0.2]))
    sv.surv_grad(exp, instance=0)  # everything a first call loads is loaded

    class FirstBatch(Exception):
        pass

    def first_batch(*args, **kwargs):
        raise FirstBatch

    engine.jacobian = engine.jacobian_factors = first_batch
    with open("/proc/self/status") as status:
        size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize"))
    # 512 MiB of address space beyond what is mapped now; n points of 4 bytes need 16 GiB
    resource.setrlimit(resource.RLIMIT_AS, (size + 2**29, resource.RLIM_INFINITY))
    try:
        sv.{method}(exp, instance=[0, 1], n=2**32{extra})
    except FirstBatch:
        print("reached the first batch")
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and RLIMIT_AS")
@pytest.mark.parametrize("method,extra", [("surv_intgrad", ""), ("surv_smoothgrad", ", seed=0")])
def test_n_at_its_limit_reaches_the_first_batch_without_allocating_n_points(method, extra):
    from pathlib import Path
    code = _BOUNDED.format(tests=str(Path(__file__).parent), method=method, extra=extra)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, env={"OMP_NUM_THREADS": "1", "PATH": "",
                                           "PYTHONPATH": ":".join(sys.path)})
    assert run.stdout.strip() == "reached the first batch", run.stderr[-2000:]


def test_batch_count_matches_the_batches():
    from survinng_py.methods._core import _batch_count, _batches
    for n, n_reps, chunk in [(3, 1, 1), (3, 1, 2), (5, 4, 8), (5, 4, 12), (2, 7, 3), (1, 10, 10)]:
        if chunk >= n_reps:
            chunk -= chunk % n_reps
        batches = list(_batches(n * n_reps, chunk, n_reps))
        assert _batch_count(n, chunk, n_reps) == len(batches)
        assert batches[0][0] == 0 and batches[-1][1] == n * n_reps
        assert all(a[1] == b[0] for a, b in zip(batches, batches[1:]))


def test_explainer_data_is_a_copy_of_the_users_array():
    """The explainer keeps its own rows: changing the array afterwards changes nothing
    (a float32 array in float32 would otherwise share its memory with torch)."""
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    exp = sv.explain(net(), x, model_type="deepsurv",
                     baseline_hazard=([1.0, 2.0, 3.0], [0.1, 0.2, 0.3]))
    before = sv.surv_grad(exp, instance=[0, 1]).values[0].copy()
    x[:] = 100.0
    assert np.array_equal(sv.surv_grad(exp, instance=[0, 1]).values[0], before)


def test_read_only_arrays_are_taken_without_a_warning():
    import warnings

    x = np.random.default_rng(0).normal(size=(5, 4))
    x.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exp = sv.explain(net(), x, model_type="deepsurv",
                         baseline_hazard=(np.array([1.0, 2.0, 3.0]), np.array([0.1, 0.2, 0.3])))
        sv.surv_grad(exp, x)
