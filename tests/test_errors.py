"""Bad input: one-line errors that name the argument and what was expected."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import survinng_py as sv
from conftest import CoxPH, fit, mlp, tt

Error = sv.SurvinngError


@pytest.fixture(scope="module")
def exp(coxph, data):
    return sv.explain(coxph, data[0])


def raises(message, fn, *args, **kwargs):
    with pytest.raises(Error, match="^" + re.escape(message)) as info:
        fn(*args, **kwargs)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)


def test_nonfinite_x(exp, data):
    for bad_value in (np.nan, np.inf):
        bad = data[0][:3].copy()
        bad[0, 1] = bad_value
        raises("`x` of surv_grad() must be finite (no NaN or inf); got non-finite values",
               sv.surv_grad, exp, bad)


def test_pandas_nullable_and_arrow_columns_are_numbers(exp, data):
    import pandas as pd

    rows = data[0][:3].astype(np.float64)
    plain = sv.surv_grad(exp, rows).values[0]
    for dtype in ("Float64", "double[pyarrow]"):
        frame = pd.DataFrame({f"X{k + 1}": pd.array(rows[:, k], dtype=dtype) for k in range(4)})
        np.testing.assert_array_equal(sv.surv_grad(exp, frame).values[0], plain)
        frame.iloc[1, 2] = pd.NA
        raises("`x` of surv_grad() must be finite (no NaN or inf); got non-finite values",
               sv.surv_grad, exp, frame)


def test_text_and_categorical_columns_are_refused_by_name(exp, data):
    import pandas as pd

    frame = pd.DataFrame(data[0][:3], columns=[f"X{k + 1}" for k in range(4)])
    frame["X2"] = pd.Categorical(frame["X2"])
    frame["X4"] = ["a", "b", "c"]
    raises("`x` of surv_grad() must be a table of numeric columns (encode categories as numbers "
           "first); got non-numeric columns ['X2', 'X4']", sv.surv_grad, exp, frame)


def test_wrong_number_of_features(exp, data):
    raises("`x` of surv_grad() must be of per-row shape (4,); got per-row shape (3,)",
           sv.surv_grad, exp, data[0][:3, :3])


def test_wrong_number_of_inputs(exp, data):
    raises("`x` of surv_grad() must be a list of 1 input(s), one per network input; got 2 input(s)",
           sv.surv_grad, exp, [data[0][:3], data[0][:3]])


def test_wrong_number_of_inputs_for_a_two_input_net(two_input):
    net, inputs, bins = two_input
    exp = sv.explain(net, inputs, model_type="deephit", time_bins=bins, event_names=["a", "b", "c"])
    raises("`x` of surv_intgrad() must be a list of 2 input(s)", sv.surv_intgrad, exp, inputs[1])


def test_unknown_target(exp):
    raises("`target` of surv_grad() for a DeepSurv model must be one of 'survival', 'cum_hazard', "
           "'hazard', 'log_risk'; got 'risk'", sv.surv_grad, exp, instance=0, target="risk")


def test_target_of_another_family(exp, deephit_single, data):
    raises("`target` of surv_smoothgrad() for a DeepSurv model must be one of", sv.surv_smoothgrad,
           exp, instance=0, target="cif")
    dh = sv.explain(deephit_single, data[0])
    raises("`target` of surv_grad() for a DeepHit model must be one of 'survival', 'cif', 'pmf', 'logits'; "
           "got 'hazard'", sv.surv_grad, dh, instance=0, target="hazard")


def test_coxph_without_baseline_hazards(data):
    x, d, e = data
    model = fit(CoxPH(mlp(1, output_bias=False), tt.optim.Adam), x, (d, e.astype("float32")),
                epochs=1)
    raises("`model` of explain() must be a CoxPH with baseline hazards: call "
           "model.compute_baseline_hazards() first", sv.explain, model, x)


def test_empty_x(exp, data):
    raises("`x` of surv_grad() must be at least one row; got 0 rows", sv.surv_grad, exp, data[0][:0])


def test_both_or_neither_of_x_and_instance(exp, data):
    raises("`x` of surv_grad() must be given, or else `instance`, but not both; got both",
           sv.surv_grad, exp, data[0][:2], instance=1)
    raises("`x` of surv_gradshap() must be given, or else `instance`, but not both; got neither",
           sv.surv_gradshap, exp)


def test_instance_out_of_range(exp):
    raises("`instance` of surv_grad() must be row indices in [0, 299]; got 300",
           sv.surv_grad, exp, instance=300)
    raises("`instance` of surv_grad() must be row indices in [0, 299]; got [-1]",
           sv.surv_grad, exp, instance=[-1])
    raises("`instance` of surv_grad() must be a non-empty vector of 0-based row indices; got [0.5]",
           sv.surv_grad, exp, instance=[0.5])


def test_method_arguments(exp, data):
    raises("`n` of surv_smoothgrad() must be an integer >= 1; got 0",
           sv.surv_smoothgrad, exp, instance=0, n=0)
    raises("`n` of surv_intgrad() must be an integer >= 1; got 0", sv.surv_intgrad, exp,
           instance=0, n=0)
    raises("`noise_level` of surv_smoothgrad() must be a finite number >= 0.0; got -1",
           sv.surv_smoothgrad, exp, instance=0, noise_level=-1)
    raises("`x_ref` of surv_intgrad() must be of per-row shape (4,); got per-row shape (3,)",
           sv.surv_intgrad, exp, instance=0, x_ref=np.zeros((1, 3)))
    raises("`x_ref` of surv_intgrad() must be one row or 2 rows (one per instance); got 3 rows",
           sv.surv_intgrad, exp, instance=[0, 1], x_ref=np.zeros((3, 4)))
    raises("`data_ref` of surv_gradshap() must be at least one row; got 0 rows",
           sv.surv_gradshap, exp, instance=0, data_ref=data[0][:0])
    raises("`num_samples` of surv_gradshap() must be at most the pool size (300) when "
           "replace=False; got 400", sv.surv_gradshap, exp, instance=0, num_samples=400,
           replace=False)
    raises("`seed` of surv_gradshap() must be None, an integer or a numpy.random.Generator; got 'a'",
           sv.surv_gradshap, exp, instance=0, seed="a")
    raises("`batch_size` of surv_grad() must be an integer >= 1; got 0", sv.surv_grad, exp,
           instance=0, batch_size=0)
    raises("`times_input` of surv_grad() must be True or False; got 'yes'", sv.surv_grad, exp,
           instance=0, times_input="yes")


def test_explain_arguments(coxph, data):
    x = data[0]
    raises("`model_type` of explain() must be one of 'deepsurv', 'coxph'", sv.explain, coxph.net,
           x, model_type="cox")
    raises("`baseline_hazard` of explain() must be given for model_type 'deepsurv'", sv.explain,
           coxph.net, x, model_type="deepsurv")
    raises("`baseline_hazard` of explain() must be strictly increasing", sv.explain, coxph.net, x,
           model_type="deepsurv", baseline_hazard=([2.0, 1.0], [0.1, 0.1]))
    raises("`baseline_hazard` of explain() must be 2 finite non-negative hazard jumps",
           sv.explain, coxph.net, x, model_type="deepsurv", baseline_hazard=([1.0, 2.0], [0.1, -1]))
    raises("`dtype` of explain() must be 'float32' or 'float64' (or the torch dtype); got 'float16'",
           sv.explain, coxph, x, dtype="float16")
    raises("`data` of explain() does not fit the network (1 input(s) of per-row shape [(2,)]):",
           sv.explain, coxph, x[:, :2])
    raises("`time_bins` of explain() must be left out for a fitted pycox model", sv.explain,
           coxph, x, time_bins=[1, 2])
    raises("`model` of explain() must be a torch.nn.Module or a fitted pycox model", sv.explain,
           "model.pt", x)
    raises("`time_bins` of explain() must be as long as the network's output per risk (output "
           "width 1); got 3 time bins", sv.explain, coxph.net, x, model_type="deephit",
           time_bins=[1, 2, 3])
    raises("`data` of explain() must be numeric; got dtype <U1", sv.explain, coxph, [["a"] * 4])
    if not torch.cuda.is_available():
        raises("`device` of explain() must be a device that is available here", sv.explain, coxph,
               x, device="cuda")


def test_methods_need_background_data(coxph, data):
    exp = sv.explain(coxph)  # no data: x must be given and background arguments too
    raises("`x_ref` of surv_intgrad() must be given when the explainer has no `data`",
           sv.surv_intgrad, exp, data[0][:2])
    raises("`instance` of surv_grad() must be used with an explainer built with `data`",
           sv.surv_grad, exp, instance=0)
    raises("`x` of surv_grad() does not fit the network", sv.surv_grad, exp, data[0][:2, :3])
    res = sv.surv_intgrad(exp, data[0][:2], x_ref=np.zeros((1, 4)))
    assert res.values[0].shape[:2] == (2, 4)
