"""The method table: a method written outside the package (in this file) is registered and,
without any change to the package, gets a label, a command-line flag, R dispatch, an
exchange round trip and a place in describe(); entry points of other packages join it."""
from __future__ import annotations

import importlib
import json
import sys

import numpy as np
import pandas as pd
import pytest
import torch

import survinng_py as sv
from survinng_py import exchange
from survinng_py import r as bridge
from survinng_py._validation import check_float
from survinng_py.cli import main
from survinng_py.methods import (_core, describe, get_method, method_label, methods,
                                 register_method, registry, unregister_method)

TOY_ID = "Test_ScaledGradient"
NAMES = ["a", "b", "c"]


def scaled_grad(explainer, x=None, *, instance=None, target: str = "survival",
                factor: float = 2.0, progress: bool | None = None):
    """Grad(t) times ``factor``: a method written outside the package, on its engine."""
    where = "scaled_grad()"
    inputs, ids, names = _core.prepare(explainer, x, instance, target, None, where)
    factor = check_float(factor, "factor", where)

    def make_points(rows, _reps):
        points = [x.index_select(0, rows) for x in inputs]
        return points, points

    values, pred = _core.attribute(explainer, inputs, target=target, n_reps=1,
                                   make_points=make_points, times_input=False, batch_size=None,
                                   progress=progress)
    return _core.build_result(explainer, inputs, ids, names, [factor * v for v in values],
                              method=TOY_ID, target=target,
                              args={"target": target, "instance": ids.tolist(), "factor": factor},
                              pred=pred)


@pytest.fixture
def toy():
    entry = register_method(scaled_grad, name="scaled-grad", id=TOY_ID, labels="kGrad(t)",
                            long_labels="Scaled gradient",
                            options={"factor": "multiply Grad(t) by this"})
    yield entry
    unregister_method(entry.name)


def small_explainer(seed: int = 0):
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Tanh(), torch.nn.Linear(6, 1))
    x = np.random.default_rng(seed).normal(size=(15, 3)).astype("float32")
    return sv.explain(net, pd.DataFrame(x, columns=NAMES), model_type="deepsurv",
                      baseline_hazard=([1.0, 2.0, 3.0, 4.0], [0.1, 0.2, 0.1, 0.3]))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """A bundle of a bare torch module (save_model) and rows to explain as CSV."""
    tmp = tmp_path_factory.mktemp("registry")
    sv.save_model(small_explainer(), tmp / "bundle", targets=["survival"], dynamo=False)
    rows = np.random.default_rng(9).normal(size=(6, 3))
    pd.DataFrame(rows, columns=NAMES).to_csv(tmp / "rows.csv", index=False)
    return tmp


def test_registered_method_gives_a_labelled_result(toy):
    exp = small_explainer()
    res = toy.function(exp, instance=[0, 3, 4], factor=3.0)
    grad = sv.surv_grad(exp, instance=[0, 3, 4])
    np.testing.assert_array_equal(res.values[0], 3.0 * grad.values[0])
    np.testing.assert_array_equal(res.pred, grad.pred)
    assert res.method == TOY_ID and res.label == "kGrad(t)"
    assert repr(res).startswith("<SurvResult kGrad(t) of survival | DeepSurv |")
    assert method_label(TOY_ID, long=True) == "Scaled gradient"


def test_command_line_offers_the_method_and_its_option(toy, bundle, capsys):
    tmp = bundle
    argv = ["explain", str(tmp / "bundle"), str(tmp / "rows.csv"), "--method", "scaled-grad"]
    assert main(argv + ["--factor", "3", "--out", str(tmp / "toy.parquet")]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {tmp / 'toy.parquet'}: kGrad(t) of survival")
    back = exchange.read(tmp / "toy.parquet")
    rows = pd.read_csv(tmp / "rows.csv").to_numpy()
    expected = sv.surv_grad(sv.load_model(tmp / "bundle"), rows)
    np.testing.assert_array_equal(back.values[0], 3.0 * expected.values[0])
    assert back.method == TOY_ID and back.label == "kGrad(t)" and back.args["factor"] == 3.0

    with pytest.raises(SystemExit) as err:  # a built-in method refuses the toy's option
        main(["explain", str(tmp / "bundle"), str(tmp / "rows.csv"), "--method", "grad",
              "--factor", "3", "--out", str(tmp / "grad.parquet")])
    assert err.value.code == 1
    assert capsys.readouterr().err == ("survinng-py explain: error: `--factor` of survinng-py "
                                       "explain must be left out for --method grad; got 3.0\n")
    with pytest.raises(SystemExit) as err:  # and the toy refuses the built-ins' options
        main(argv + ["--n", "4", "--out", str(tmp / "n.parquet")])
    assert err.value.code == 1 and "`--n` of survinng-py explain must be left out for " \
        "--method scaled-grad; got 4" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["explain", "--help"])
    help_text = capsys.readouterr().out
    assert "--factor FLOAT" in help_text and "scaled-grad: multiply Grad(t) by this " \
        "(default: 2.0)" in " ".join(help_text.split())


def test_method_table_is_read_when_the_command_line_starts(bundle, capsys):
    """Registered after an earlier parse, the method is still offered: nothing is cached."""
    with pytest.raises(SystemExit) as err:
        main(["explain", "b", "d", "--out", "o", "--method", "scaled-grad"])
    assert err.value.code == 2 and "invalid choice: 'scaled-grad'" in capsys.readouterr().err
    entry = register_method(scaled_grad, name="scaled-grad", id=TOY_ID, labels="kGrad(t)",
                            options={"factor": "multiply Grad(t) by this"})
    try:
        with pytest.raises(SystemExit) as err:
            main(["explain", "b", "d", "--out", "o", "--method", "scaled-grad", "--factor", "x"])
        assert capsys.readouterr().err == (
            "survinng-py explain: error: argument --factor: invalid float value: 'x' "
            "(see survinng-py explain --help)\n")
    finally:
        unregister_method(entry.name)
    assert get_method(id=TOY_ID) is None and method_label(TOY_ID) == TOY_ID


def test_r_bridge_dispatches_by_method_id(toy):
    exp = small_explainer()
    payload = bridge.run_for_r(exp, TOY_ID, instance=[1, 2], args={"factor": 0.5})
    grad = bridge.result_for_r(sv.surv_grad(exp, instance=[1, 2]))
    assert payload["method"] == TOY_ID and payload["args"]["factor"] == 0.5
    assert payload["res"][0]["dim"] == grad["res"][0]["dim"]
    def values(p):
        return bridge.from_raw(p["res"][0]["raw"], p["res"][0]["dim"])
    np.testing.assert_array_equal(values(payload), 0.5 * values(grad))
    with pytest.raises(sv.SurvinngError) as err:
        bridge.run_for_r(exp, "scaled-grad")  # the command-line name is not an id
    message = str(err.value)
    assert message.startswith("`method` of run_for_r() must be a method id, one of "
                              "Surv_Gradient, Surv_SmoothGrad, Surv_IntGrad, Surv_GradSHAP, ")
    assert message.endswith("; got 'scaled-grad'") and f" {TOY_ID}" in message


@pytest.mark.parametrize("layout", ["long", "wide"])
def test_exchange_round_trip_keeps_id_and_label(toy, tmp_path, layout):
    res = toy.function(small_explainer(), instance=[0, 1])
    back = exchange.read(exchange.write(res, tmp_path / "toy.feather", layout=layout))
    assert back.method == TOY_ID and back.label == "kGrad(t)" and back.args == res.args
    np.testing.assert_array_equal(back.values[0], res.values[0])


def test_describe_lists_every_method_as_plain_data(toy):
    table = json.loads(json.dumps(describe()))  # JSON-able as it is
    by_id = {m["id"]: m for m in table}
    assert by_id[TOY_ID] == {
        "name": "scaled-grad", "id": TOY_ID, "labels": ["kGrad(t)", "kGrad(t)"],
        "long_labels": ["Scaled gradient", "Scaled gradient"], "r_function": None, "cli": True,
        "random": False, "module": __name__,
        "options": [{"name": "factor", "type": "float", "default": 2.0,
                     "help": "multiply Grad(t) by this", "seed": False}]}
    assert [m["r_function"] for m in table[:4]] == ["surv_grad", "surv_smoothgrad",
                                                     "surv_intgrad", "surv_gradSHAP"]
    shap = by_id["Surv_GradSHAP"]
    options = {o["name"]: o for o in shap["options"]}
    assert shap["random"] and options["seed"]["seed"] and options["seed"]["type"] == "int"
    assert options["data_ref"]["type"] == "rows" and options["n"]["default"] == 50
    # defaults in the table are the functions' own
    import inspect
    for entry in methods():
        signature = inspect.signature(entry.function).parameters
        assert all(o.default == signature[o.name].default for o in entry.options)
    modality = by_id["Modality_Shapley"]
    assert not modality["cli"] and modality["labels"] == ["modality Shapley(t)"] * 2
    assert "modality_shapley" not in [m.name for m in methods(cli=True)]


def test_bad_registrations_fail_in_one_line(toy):
    def no_instance(explainer, x=None, *, target="survival"):
        ...

    def typed(explainer, x=None, *, instance=None, target="survival", n: float = 1.0,
              size=3, shape: tuple = (1,), kinds=frozenset()):
        ...
    cases = [
        (dict(function=scaled_grad, name="grad", id="Other"),
         "`name` of register_method() must be a name and id not yet in the method table "
         "('grad' has id 'Surv_Gradient'; unregister_method() frees it); got name 'grad', id "
         "'Other'"),
        (dict(function=scaled_grad, name="other", id="Surv_IntGrad"),
         "`name` of register_method() must be a name and id not yet in the method table "
         "('intgrad' has id 'Surv_IntGrad'; unregister_method() frees it); got name 'other', "
         "id 'Surv_IntGrad'"),
        (dict(function=no_instance, name="other", id="Other"),
         "`function` of register_method() must be a method taking (explainer, x=None, *, "
         "instance=None, target=...); got no argument 'instance'"),
        (dict(function=typed, name="other", id="Other", options={"n": "points"}),
         "`options` of register_method() must be of the type other methods give the same "
         "option (method 'smoothgrad' takes n as int); got n as float"),
        (dict(function=typed, name="other", id="Other", options={"target": "what"}),
         "`options` of register_method() must be keyword arguments other than explainer, x, "
         "instance, target, progress, bundle, data, method, out, overwrite, layout, help, "
         "workers, scheduler, rows_per_task, resume; got 'target'"),
        (dict(function=typed, name="other", id="Other", options={"missing": "what"}),
         "`options` of register_method() must be keyword arguments of the function, with "
         "defaults; got 'missing'"),
        (dict(function=typed, name="other", id="Other", options={"size": "what"},
              seed_option="seed"),
         "`seed_option` of register_method() must be one of the options; got 'seed'"),
        (dict(function=typed, name="other", id="Other", options={"kinds": "what"}),
         "`options` of register_method() must be arguments whose defaults are plain data "
         "(None, a bool, a finite number, a string or a list of them); got kinds=frozenset()"),
        (dict(function=typed, name="Other", id="Other"),
         "`name` of register_method() must be lower-case letters, digits, '-' and '_', "
         "starting with a letter; got 'Other'"),
        (dict(function=typed, name="other", id="Other", labels=("a", "b", "c")),
         "`labels` of register_method() must be a label, or a pair (without, with "
         "times_input) of labels; got ('a', 'b', 'c')"),
    ]
    for kwargs, message in cases:
        kwargs.setdefault("labels", "x")
        with pytest.raises(sv.SurvinngError) as err:
            register_method(**kwargs)
        assert str(err.value) == message
    # types from annotations, else from defaults; tuples are not command-line options
    entry = register_method(typed, name="other", id="Other", labels="x",
                            options={"size": "s", "shape": "the shape"})
    try:
        assert [(o.name, o.type, o.default) for o in entry.options] == [
            ("size", "int", 3), ("shape", "rows", (1,))]
    finally:
        unregister_method("other")
    with pytest.raises(sv.SurvinngError, match="^`name` of unregister_method\\(\\) must be the "
                       "name of a registered method"):
        unregister_method("other")


PLUGIN = '''
from survinng_py.methods import register_method


def plugin_method(explainer, x=None, *, instance=None, target="survival", level: int = 1):
    return level


METHOD = register_method(plugin_method, name="plugin-method", id="Plugin_Method",
                         labels="P(t)", options={"level": "how much"})
'''


@pytest.fixture
def plugin_path(tmp_path, monkeypatch):
    """A folder on sys.path holding an installed-looking distribution with an entry point
    (its value written by each test), and a fresh method table load."""
    dist = tmp_path / "survinng_test_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: survinng-test-plugin\n"
                                   "Version: 1.0\n")
    (tmp_path / "survinng_test_plugin.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(registry._loaded, "command_line", False)
    yield dist
    sys.modules.pop("survinng_test_plugin", None)
    if "plugin-method" in registry._TABLE:  # not get_method(): it would load the entry point
        unregister_method("plugin-method")


@pytest.mark.parametrize("value", ["survinng_test_plugin", "survinng_test_plugin:METHOD"])
def test_entry_points_add_methods_once(plugin_path, value, capsys):
    (plugin_path / "entry_points.txt").write_text(f"[survinng_py.methods]\nplugin = {value}\n")
    importlib.invalidate_caches()
    assert "plugin-method" in [m.name for m in methods(cli=True)]  # loaded now, once
    assert get_method(id="Plugin_Method").function(None) == 1
    assert [m.name for m in methods()].count("plugin-method") == 1
    with pytest.raises(SystemExit):
        main(["explain", "--help"])
    assert "--level INT" in capsys.readouterr().out


def test_a_broken_entry_point_is_named_in_one_line(plugin_path):
    (plugin_path / "entry_points.txt").write_text(
        "[survinng_py.methods]\nbroken = survinng_no_such_module\n")
    importlib.invalidate_caches()
    with pytest.raises(sv.SurvinngError) as err:
        methods(cli=True)
    assert str(err.value) == (
        "`entry point 'broken'` of survinng_py.methods must be importable "
        "(survinng_no_such_module); got ModuleNotFoundError: No module named "
        "'survinng_no_such_module'")
