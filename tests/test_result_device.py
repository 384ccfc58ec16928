"""SurvResult selection and the CUDA path (run only where a GPU is present)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import survinng_py as sv


def test_isel_keeps_labels_and_values(deephit_cr, deephit_cr_x_small):
    res = sv.surv_intgrad(sv.explain(deephit_cr, deephit_cr_x_small), instance=[1, 2, 3],
                          target="cif", n=3)
    sub = res.isel(instance=[2, 0], event=1, time=slice(2, 5))
    np.testing.assert_array_equal(sub.instance, [3, 1])
    assert sub.event_names == ["event_2"]
    np.testing.assert_array_equal(sub.time, res.time[2:5])
    np.testing.assert_array_equal(sub.values[0], res.values[0][[2, 0]][:, :, [1], 2:5])
    np.testing.assert_array_equal(sub.pred_diff, res.pred_diff[[2, 0]][:, [1], 2:5])
    assert "IntGrad(t) of cif | DeepHit | 2 instance(s)" in repr(sub)


@pytest.fixture(scope="module")
def deephit_cr_x_small():
    from conftest import simulate
    return simulate(seed=5, n_risks=2)[0][:30]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu(coxtime, data):
    kwargs = dict(instance=[0, 1, 2], n=5, num_samples=4, seed=0)
    cpu = sv.surv_gradshap(sv.explain(coxtime, data[0][:50], dtype="float64"), **kwargs)
    gpu = sv.surv_gradshap(sv.explain(coxtime, data[0][:50], dtype="float64", device="cuda"),
                           **kwargs)
    np.testing.assert_allclose(gpu.values[0], cpu.values[0], rtol=1e-9, atol=1e-12)
    assert next(coxtime.net.parameters()).device.type == "cpu"  # the user's net stays put
