"""Bad input to the Python API: explain(), the attribution methods and their arguments.

Each ``message`` is the whole expected error line (``tests/test_api_checks.py`` checks
equality; the catalogue runner checks containment).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

import survinng_py as sv
from catalogue import Case, data, explainer, net
from survinng_py._validation import available_devices

HAZARD = ([1.0, 2.0, 3.0], [0.1, 0.2, 0.3])
DEVICES = ", ".join(repr(d) for d in available_devices()) + \
    (" (no CUDA device found)" if len(available_devices()) == 1 else "")
#: a CUDA index that is not here (cuda:0 .. cuda:count-1 exist where CUDA is)
MISSING_CUDA = f"cuda:{max(7, torch.cuda.device_count())}"
FLOAT32_RANGE = ('within the range of float32 (|value| <= 3.403e+38; explain() with '
                 'dtype="float64" computes in double precision); got a value of magnitude 1e+39')
BUDGET = sv.engine.DEFAULT_MEMORY_BUDGET


def _bare(x=None, **kwargs):
    """explain() of a bare DeepSurv module (4 features) on ``x`` (default: the 12 rows)."""
    return sv.explain(net(), data() if x is None else x, model_type="deepsurv",
                      baseline_hazard=HAZARD, **kwargs)


def _no_data(**kwargs):
    return sv.explain(net(), model_type="deepsurv", baseline_hazard=HAZARD, **kwargs)


def _rows(value, row=0, col=0, dtype="float64"):
    """The first three data rows with one value replaced."""
    rows = data()[:3].astype(dtype)
    rows[row, col] = value
    return rows


def _frame(**changes):
    frame = pd.DataFrame(data()[:3], columns=["X1", "X2", "X3", "X4"])
    return frame.assign(**changes)


def _grad(**kwargs):
    return lambda tmp: sv.surv_grad(explainer(), **kwargs)


def _sg(**kwargs):
    return lambda tmp: sv.surv_smoothgrad(explainer(), **{"instance": 0, **kwargs})


def _ig(**kwargs):
    return lambda tmp: sv.surv_intgrad(explainer(), **{"instance": 0, **kwargs})


def _gs(**kwargs):
    return lambda tmp: sv.surv_gradshap(explainer(), **{"instance": 0, **kwargs})


def _case(name, call, message, description):
    return Case("api", name, call, message, description)


CASES = [
    # -- the explainer, x and instance ------------------------------------------------------
    _case("explainer-not-an-explainer", lambda tmp: sv.surv_grad(net(), instance=0),
          "`explainer` of surv_grad() must be an Explainer built by survinng_py.explain(); "
          "got 'Sequential'", "a torch module where the explainer belongs"),
    _case("x-and-instance-both", _grad(x=data()[:2], instance=0),
          "`x` of surv_grad() must be given, or else `instance`, but not both; got both",
          "both x and instance"),
    _case("x-and-instance-neither", _grad(),
          "`x` of surv_grad() must be given, or else `instance`, but not both; got neither",
          "neither x nor instance"),
    _case("instance-float", _grad(instance=1.0),
          "`instance` of surv_grad() must be a non-empty vector of 0-based row indices; got 1.0",
          "a float row index"),
    _case("instance-bool", _grad(instance=True),
          "`instance` of surv_grad() must be a non-empty vector of 0-based row indices; "
          "got True", "True as a row index"),
    _case("instance-bool-in-list", _grad(instance=[0, True]),
          "`instance` of surv_grad() must be a non-empty vector of 0-based row indices; "
          "got [0, True]", "a boolean inside a list of row indices (numpy would read it as 1)"),
    _case("instance-2d", _grad(instance=[[0, 1]]),
          "`instance` of surv_grad() must be a non-empty vector of 0-based row indices; "
          "got [[0, 1]]", "row indices as a matrix"),
    _case("instance-text", _grad(instance="1"),
          "`instance` of surv_grad() must be a non-empty vector of 0-based row indices; "
          "got '1'", "a row index as text"),
    _case("instance-empty", _grad(instance=[]),
          "`instance` of surv_grad() must be a non-empty vector of 0-based row indices; got []",
          "no row indices"),
    _case("instance-negative", _grad(instance=-1),
          "`instance` of surv_grad() must be row indices in [0, 11]; got -1",
          "a negative row index (no counting from the end)"),
    _case("instance-out-of-range", _grad(instance=[0, 12]),
          "`instance` of surv_grad() must be row indices in [0, 11]; got [0, 12]",
          "a row index one past the last row"),
    _case("instance-beyond-int64", _grad(instance=2**70),
          "`instance` of surv_grad() must be row indices in [0, 11]; got 1180591620717411303424",
          "a row index beyond 64-bit integers"),
    _case("instance-without-data", lambda tmp: sv.surv_grad(_no_data(), instance=0),
          "`instance` of surv_grad() must be used with an explainer built with `data`; got 0",
          "instance for an explainer built without data"),
    # -- target -----------------------------------------------------------------------------
    _case("target-typo", _grad(instance=0, target="survivl"),
          "`target` of surv_grad() for a DeepSurv model must be one of 'survival', "
          "'cum_hazard', 'hazard', 'log_risk'; got 'survivl'", "a misspelt target"),
    _case("target-of-another-family",
          lambda tmp: sv.surv_grad(explainer("deephit"), instance=0, target="hazard"),
          "`target` of surv_grad() for a DeepHit model must be one of 'survival', 'cif', 'pmf', 'logits'; "
          "got 'hazard'", "a target the model family does not have"),
    _case("target-none", _grad(instance=0, target=None),
          "`target` of surv_grad() for a DeepSurv model must be one of 'survival', "
          "'cum_hazard', 'hazard', 'log_risk'; got None", "no target"),
    # -- explain(): dtype, device, memory_budget ---------------------------------------------
    _case("dtype-float16", lambda tmp: _bare(dtype="float16"),
          "`dtype` of explain() must be 'float32' or 'float64' (or the torch dtype); "
          "got 'float16'", "half precision"),
    _case("device-mps", lambda tmp: _bare(device="mps"),
          f"`device` of explain() must be a device that is available here: {DEVICES}; "
          "got 'mps'", "an Apple GPU device"),
    _case("device-meta", lambda tmp: _bare(device="meta"),
          f"`device` of explain() must be a device that is available here: {DEVICES}; "
          "got 'meta'", "torch's data-less meta device"),
    _case("device-missing-cuda", lambda tmp: _bare(device=MISSING_CUDA),
          f"`device` of explain() must be a device that is available here: {DEVICES}; "
          f"got '{MISSING_CUDA}'", "a CUDA device that is not there"),
    _case("device-xla", lambda tmp: _bare(device="xla"),
          f"`device` of explain() must be a device that is available here: {DEVICES}; "
          "got 'xla'", "a device type the package does not compute on"),
    _case("device-unknown", lambda tmp: _bare(device="gpu"),
          f"`device` of explain() must be a device that is available here: {DEVICES}; "
          "got 'gpu'", "a device name torch does not know"),
    _case("device-number", lambda tmp: _bare(device=0),
          f"`device` of explain() must be a device that is available here: {DEVICES}; got 0",
          "a bare number as the device"),
    _case("memory-budget-zero", lambda tmp: _bare(memory_budget=0),
          "`memory_budget` of explain() must be an integer >= 1; got 0", "a zero memory budget"),
    _case("memory-budget-float", lambda tmp: _bare(memory_budget=1.5e9),
          "`memory_budget` of explain() must be an integer >= 1; got 1500000000.0",
          "a memory budget as a float"),
    _case("memory-budget-bool", lambda tmp: _bare(memory_budget=True),
          "`memory_budget` of explain() must be an integer >= 1; got True",
          "True as the memory budget"),
    # -- data and x: shapes and values -------------------------------------------------------
    _case("data-extra-axis", lambda tmp: _bare(data()[:, :, None]),
          "`data` of explain() must be of per-row shape (4,), the shape the network takes "
          "(drop the extra size-1 axes); got per-row shape (4, 1)",
          "table rows with an extra size-1 axis for a bare module"),
    _case("x-extra-axis", _grad(x=data()[:3, :, None]),
          "`x` of surv_grad() must be of per-row shape (4,); got per-row shape (4, 1)",
          "x with an extra axis against the explainer data"),
    _case("x-extra-axis-no-data", lambda tmp: sv.surv_grad(_no_data(), data()[:3, :, None]),
          "`x` of surv_grad() must be of per-row shape (4,), the shape the network takes (drop "
          "the extra size-1 axes); got per-row shape (4, 1)",
          "x with an extra axis for an explainer without data"),
    _case("x-one-row-1d", _grad(x=data()[0]),
          "`x` of surv_grad() must be at least 2-D with instances on the first axis (use "
          "x[None] for one row); got shape (4,)", "one row as a 1-D array"),
    _case("data-list-of-rows", lambda tmp: _bare(data()[:3].tolist()),
          "`data[0]` of explain() must be at least 2-D with instances on the first axis (a list "
          "holds one array per network input: give rows as one array); got shape (4,)",
          "rows as a nested Python list (read as one input per row)"),
    _case("x-too-few-features", _grad(x=data()[:3, :3]),
          "`x` of surv_grad() must be of per-row shape (4,); got per-row shape (3,)",
          "x with a feature missing"),
    _case("x-two-inputs-for-one", _grad(x=[data()[:3], data()[:3]]),
          "`x` of surv_grad() must be a list of 1 input(s), one per network input; got 2 "
          "input(s)", "two inputs for a one-input network"),
    _case("x-no-rows", _grad(x=data()[:0]),
          "`x` of surv_grad() must be at least one row; got 0 rows", "x without rows"),
    _case("x-nan", _grad(x=_rows(np.nan)),
          "`x` of surv_grad() must be finite (no NaN or inf); got non-finite values",
          "a NaN in x"),
    _case("x-inf", _grad(x=_rows(-np.inf, 2, 3)),
          "`x` of surv_grad() must be finite (no NaN or inf); got non-finite values",
          "an infinite value in x"),
    _case("x-float32-overflow", _grad(x=_rows(1e39)),
          f"`x` of surv_grad() must be {FLOAT32_RANGE}",
          "a finite float64 value that overflows float32"),
    _case("data-float32-overflow", lambda tmp: _bare(_rows(-1e39, 1, 1)),
          f"`data` of explain() must be {FLOAT32_RANGE}",
          "explainer data beyond float32's range"),
    _case("data-text", lambda tmp: _bare(np.array([["a"] * 4] * 3)),
          "`data` of explain() must be numeric; got dtype <U1", "an array of text"),
    _case("x-frame-missing-column", _grad(x=_frame().drop(columns="X3")),
          "`x` of surv_grad() must be a table with the model's feature columns ['X1', 'X2', "
          "'X3', 'X4']; got \"missing ['X3']\"", "a table without one of the model's columns"),
    _case("x-frame-text-column", _grad(x=_frame(X2=["a", "b", "c"])),
          "`x` of surv_grad() must be a table of numeric columns (encode categories as numbers "
          "first); got non-numeric columns ['X2']", "a table with a text column"),
    _case("data-frame-repeated-columns",
          lambda tmp: _bare(pd.DataFrame(data(), columns=["a", "b", "a", "c"])),
          "`data` of explain() must be a table with distinct column names; got columns ['a'] "
          "repeated", "a table with a repeated column name"),
    # -- names --------------------------------------------------------------------------------
    _case("feature-names-string", lambda tmp: _bare(feature_names="abcd"),
          "`feature_names` of explain() must be a list of names (not a single string), or one "
          "list of names per input; got 'abcd'", "feature names as one string"),
    _case("feature-names-repeated", lambda tmp: _bare(feature_names=["a", "b", "a", "c"]),
          "`feature_names` of explain() must be distinct names (they label the results); got "
          "['a'] repeated", "a repeated feature name"),
    _case("feature-names-count", lambda tmp: _bare(feature_names=["a", "b", "c"]),
          "`feature_names` of explain() must be one name per feature of each input (sizes [4]); "
          "got [['a', 'b', 'c']]", "one feature name too few"),
    _case("input-names-string", lambda tmp: _bare(input_names="table"),
          "`input_names` of explain() must be a list of names (strings or numbers), not a single "
          "string; got 'table'", "input names as one string"),
    _case("input-names-repeated", lambda tmp: _no_data(input_names=["a", "a"]),
          "`input_names` of explain() must be distinct names (they label the results); got "
          "['a'] repeated", "a repeated input name"),
    _case("input-names-count-no-data",
          lambda tmp: sv.surv_grad(_no_data(input_names=["a", "b"]), data()[:2]),
          "`x` of surv_grad() must be a list of 2 input(s), one per name in `input_names` of "
          "explain(); got 1 input(s)", "fewer inputs than input names, without explainer data"),
    _case("event-names-string", lambda tmp: _bare(event_names="death"),
          "`event_names` of explain() must be a list of names (strings or numbers), not a single "
          "string; got 'death'", "event names as one string"),
    _case("event-names-repeated", lambda tmp: _bare(event_names=["death", "death"]),
          "`event_names` of explain() must be distinct names (they label the results); got "
          "['death'] repeated", "a repeated event name"),
    _case("event-names-count", lambda tmp: _bare(event_names=["death", "relapse"]),
          "`event_names` of explain() must be 1 names (one per competing event); got ['death', "
          "'relapse']", "two event names for a single-risk model"),
    # -- seeds --------------------------------------------------------------------------------
    _case("seed-negative", _sg(seed=-1),
          "`seed` of surv_smoothgrad() must be an integer in [0, 2**63 - 1] (or None, or a "
          "numpy.random.Generator); got -1", "a negative seed"),
    _case("seed-negative-numpy", _gs(seed=np.int64(-3)),
          "`seed` of surv_gradshap() must be an integer in [0, 2**63 - 1] (or None, or a "
          f"numpy.random.Generator); got {np.int64(-3)!r}", "a negative numpy integer seed"),
    _case("seed-huge", _gs(seed=2**64),
          "`seed` of surv_gradshap() must be an integer in [0, 2**63 - 1] (or None, or a "
          "numpy.random.Generator); got 18446744073709551616", "a seed beyond 64 bits"),
    _case("seed-float", _sg(seed=1.5),
          "`seed` of surv_smoothgrad() must be None, an integer or a numpy.random.Generator; "
          "got 1.5", "a float seed"),
    _case("seed-bool", _gs(seed=True),
          "`seed` of surv_gradshap() must be None, an integer or a numpy.random.Generator; "
          "got True", "True as the seed"),
    # -- batch_size, n, num_samples, noise_level, flags --------------------------------------
    _case("batch-size-zero", _grad(instance=0, batch_size=0),
          "`batch_size` of surv_grad() must be an integer >= 1; got 0", "a zero batch size"),
    _case("batch-size-float", _ig(batch_size=2.0),
          "`batch_size` of surv_intgrad() must be an integer >= 1; got 2.0",
          "a batch size as a float"),
    _case("batch-size-bool", _grad(instance=0, batch_size=True),
          "`batch_size` of surv_grad() must be an integer >= 1; got True",
          "True as the batch size"),
    _case("n-zero", _ig(n=0), "`n` of surv_intgrad() must be an integer >= 1; got 0",
          "zero integration steps"),
    _case("n-negative", _sg(n=-5), "`n` of surv_smoothgrad() must be an integer >= 1; got -5",
          "a negative number of noisy copies"),
    _case("n-huge", _sg(n=2**40),
          "`n` of surv_smoothgrad() must be an integer in [1, 4294967296]; got 1099511627776",
          "more points per instance than the package allows"),
    _case("num-samples-zero", _gs(num_samples=0),
          "`num_samples` of surv_gradshap() must be an integer >= 1; got 0", "no references"),
    _case("num-samples-huge", _gs(num_samples=10**12),
          f"`num_samples` of surv_gradshap() must be at most {BUDGET // 16} (its path positions "
          "are drawn up front, 16 bytes each, within the explainer's memory_budget of "
          f"{BUDGET} bytes); got 1000000000000", "more references than memory allows"),
    _case("n-times-num-samples-huge", _gs(n=10**6, num_samples=1000),
          f"`n` of surv_gradshap() must be at most {BUDGET // 16 // 1000} with num_samples=1000 "
          "(the n x num_samples path positions are drawn up front, 16 bytes each, within the "
          f"explainer's memory_budget of {BUDGET} bytes); got 1000000",
          "path positions that do not fit in the memory budget"),
    _case("num-samples-without-replacement", _gs(num_samples=13, replace=False),
          "`num_samples` of surv_gradshap() must be at most the pool size (12) when "
          "replace=False; got 13", "more references than rows, drawn without replacement"),
    _case("noise-level-negative", _sg(noise_level=-0.1),
          "`noise_level` of surv_smoothgrad() must be a finite number >= 0.0; got -0.1",
          "a negative noise level"),
    _case("noise-level-nan", _sg(noise_level=float("nan")),
          "`noise_level` of surv_smoothgrad() must be a finite number >= 0.0; got nan",
          "a NaN noise level"),
    _case("noise-level-overflow", _sg(noise_level=1e300),
          "`noise_level` of surv_smoothgrad() must be small enough that noise_level x the "
          "feature sd is finite in float32; got 1e+300", "noise that overflows float32"),
    _case("times-input-text", _grad(instance=0, times_input="yes"),
          "`times_input` of surv_grad() must be True or False; got 'yes'", "a flag as text"),
    _case("progress-text", _ig(progress="no"),
          "`progress` of surv_intgrad() must be True or False; got 'no'",
          "'no' as the progress flag (a non-empty string is true)"),
    # -- background data ---------------------------------------------------------------------
    _case("x-ref-rows", lambda tmp: sv.surv_intgrad(explainer(), instance=[0, 1],
                                                    x_ref=data()[:3]),
          "`x_ref` of surv_intgrad() must be one row or 2 rows (one per instance); got 3 rows",
          "three reference rows for two instances"),
    _case("data-ref-empty", _gs(data_ref=data()[:0]),
          "`data_ref` of surv_gradshap() must be at least one row; got 0 rows",
          "an empty GradSHAP reference pool"),
    _case("x-ref-without-data", lambda tmp: sv.surv_intgrad(_no_data(), data()[:2]),
          "`x_ref` of surv_intgrad() must be given when the explainer has no `data` "
          "(explain(model, data)); got None", "IntGrad without data or a reference"),
    _case("smoothgrad-one-row", lambda tmp: sv.surv_smoothgrad(_bare(data()[:1]), instance=0),
          "`explainer` of surv_smoothgrad() must be built with at least 2 rows of data (for the "
          "feature sd); got 1", "SmoothGrad with one row of data (no feature sd)"),
]
