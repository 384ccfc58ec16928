"""ONNX export (network + head) and model bundles: onnxruntime parity with pycox's own
predictions for every family through one generic path, bundles that load back into
explainers with the same attributions, and one-line errors for bad files and inputs."""
from __future__ import annotations

import json
import re
import shutil
import zipfile

import numpy as np
import pandas as pd
import pytest
import torch

import survinng_py as sv
from survinng_py.bundle import load_program

from helpers import pycox_target

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

#: (fixture, target, (interpolate, scheme) or None): every family, one exported target each
#: (CoxCC and PMF are the DeepSurv and DeepHit adapters again)
CASES = [("coxph", "survival", None), ("coxtime", "survival", None),
         ("deephit_single", "survival", None), ("deephit_cr", "cif", None),
         ("logistic_hazard", "hazard", None), ("mtlr", "pmf", None), ("bcesurv", "survival", None),
         ("pchazard_sub3", "cum_hazard", None),
         ("logistic_hazard", "survival", (3, "const_hazard"))]
IDS = [f"{name}-{target}" + (f"-interpolate{i[0]}" if i else "") for name, target, i in CASES]
TOL = 1e-5


def raises(message, fn, *args, **kwargs):
    with pytest.raises(sv.SurvinngError, match="^" + re.escape(message) + "$") as info:
        fn(*args, **kwargs)
    assert "\n" not in str(info.value)


@pytest.fixture(scope="module")
def bundles():
    """Bundles by case, each written once (an ONNX export takes about a second)."""
    return {}


def bundle_for(request, bundles, case):
    if case not in bundles:
        name, target, interp = case
        model = request.getfixturevalue(name)
        x = request.getfixturevalue("deephit_cr_data" if name == "deephit_cr" else "data")[0]
        kwargs = {} if interp is None else {"interpolate": interp[0], "scheme": interp[1]}
        exp = sv.explain(model, x[:60], **kwargs)
        reference = model if interp is None else model.interpolate(*interp)
        folder = request.getfixturevalue("tmp_path_factory").mktemp("bundle") / "model"
        sv.save_model(exp, folder, targets=[target])
        bundles[case] = (reference, exp, folder, x)
    return bundles[case]


@pytest.fixture(scope="session")
def deephit_cr_data():
    from conftest import simulate
    return simulate(seed=5, n_risks=2)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_onnxruntime_equals_pycox_and_loaded_bundle_explains_alike(request, bundles, case):
    reference, exp, folder, x = bundle_for(request, bundles, case)
    target = case[1]
    rows = x[100:140]
    # onnxruntime on the exported graph = pycox's own prediction (predict_surv_df, predict_cif ...)
    ort = sv.predict_onnx(folder / f"{target}.onnx", rows)
    expected = pycox_target(reference, rows, target)
    assert ort.shape == expected.shape == (40, expected.shape[1], len(exp.model.time))
    np.testing.assert_allclose(ort, expected, rtol=0, atol=TOL)
    # a bare batch of one row works too: the batch axis is dynamic
    np.testing.assert_allclose(sv.predict_onnx(folder / f"{target}.onnx", rows[:1]), expected[:1],
                               rtol=0, atol=TOL)

    back = sv.load_model(folder)
    assert type(back.model) is type(exp.model) and back.model.model_class == exp.model.model_class
    np.testing.assert_array_equal(back.model.time, exp.model.time)
    for a, b in zip(back.data, exp.data):
        assert torch.equal(a, b)  # the stored data is exact
    original = sv.surv_grad(exp, rows, target=target)
    loaded = sv.surv_grad(back, rows, target=target)
    np.testing.assert_allclose(loaded.values[0], original.values[0], rtol=0, atol=TOL)
    np.testing.assert_allclose(loaded.pred, original.pred, rtol=0, atol=TOL)
    assert loaded.event_names == original.event_names
    assert loaded.feature_names == original.feature_names
    from survinng_py import engine  # the same engine path taken
    assert engine.forward_mode_ok(back.model) == engine.forward_mode_ok(exp.model)


@pytest.mark.parametrize("case", [CASES[1], CASES[3]], ids=[IDS[1], IDS[3]])
def test_loaded_bundle_reproduces_every_method(request, bundles, case):
    _, exp, folder, _ = bundle_for(request, bundles, case)
    back = sv.load_model(folder)
    target = case[1]
    for method, kwargs in [(sv.surv_smoothgrad, {"n": 4, "seed": 3}), (sv.surv_intgrad, {"n": 5}),
                           (sv.surv_gradshap, {"n": 3, "num_samples": 4, "seed": 1})]:
        a = method(exp, instance=[0, 5, 7], target=target, **kwargs)
        b = method(back, instance=[0, 5, 7], target=target, **kwargs)
        np.testing.assert_allclose(b.values[0], a.values[0], rtol=0, atol=TOL)
        if a.pred_ref is not None:
            np.testing.assert_allclose(b.pred_ref, a.pred_ref, rtol=0, atol=TOL)


def test_loaded_deephit_runs_reverse_over_reverse(request, bundles):
    """DeepHit's Jacobian is taken in forward mode (double backward) on the loaded graph."""
    _, exp, folder, x = bundle_for(request, bundles, CASES[3])
    back = sv.load_model(folder)
    sv.surv_grad(back, x[:3], target="cif")
    from survinng_py import engine
    assert engine.forward_mode_ok(back.model) is True
    rows = [torch.as_tensor(x[:5])]
    forward = engine.jacobian(back.model, rows, "cif", mode="forward")[1][0]
    reverse = engine.jacobian(back.model, rows, "cif", mode="reverse")[1][0]
    torch.testing.assert_close(forward, reverse, rtol=0, atol=1e-6)


def test_loaded_bundle_saves_again_unchanged(request, bundles, tmp_path):
    _, exp, folder, x = bundle_for(request, bundles, CASES[3])
    back = sv.load_model(folder)
    again = sv.load_model(sv.save_model(back, tmp_path / "again", targets="cif"))
    rows = x[100:110]
    np.testing.assert_array_equal(sv.predict_onnx(tmp_path / "again" / "cif.onnx", rows),
                                  sv.predict_onnx(folder / "cif.onnx", rows))
    np.testing.assert_array_equal(sv.surv_grad(again, rows, target="cif").values[0],
                                  sv.surv_grad(back, rows, target="cif").values[0])
    assert sv.bundle_info(tmp_path / "again")["head"] == sv.bundle_info(folder)["head"]


def test_bundle_sidecar_is_exact_json(request, bundles):
    _, exp, folder, _ = bundle_for(request, bundles, CASES[0])
    info = sv.bundle_info(folder)
    assert info["model_class"] == "DeepSurv" and info["onnx"] == ["survival"]
    assert set(info["files"]) == {"network.pt2", "survival.onnx", "data_1.parquet"}
    assert info["head"]["family"] == "deepsurv"
    spec = info["head"]["spec"]
    for key in ("time", "baseline_hazard"):  # the constructor spec, bit for bit through JSON
        value = np.asarray(spec[key]["data"], dtype=spec[key]["$array"])
        assert np.array_equal(value, exp.model.spec[key])
    assert info["time"] == exp.model.time.tolist() and info["feature_names"] == [
        ["X1", "X2", "X3", "X4"]]
    assert info["versions"]["torch"] == torch.__version__


def test_two_input_module_and_the_bare_network(two_input, tmp_path):
    net, (image, table), time_bins = two_input
    exp = sv.explain(net, [image, table], model_type="deephit", time_bins=time_bins,
                     input_names=["image", "table"], event_names=["a", "b", "c"])
    path = sv.export_onnx(exp, tmp_path / "cif.onnx", target="cif")
    out = sv.predict_onnx(path, [image, table])
    with torch.no_grad():
        expected = exp.model.forward(exp.data, "cif").numpy()
    assert out.shape == (40, 3, 7)
    np.testing.assert_allclose(out, expected, rtol=0, atol=TOL)

    import onnxruntime as ort
    session = ort.InferenceSession(str(sv.export_onnx(exp, tmp_path / "net.onnx", target="network",
                                                      dynamo=False)))
    assert [i.name for i in session.get_inputs()] == ["image", "table"]
    phi = session.run(None, {"image": image, "table": table})[0]
    with torch.no_grad():
        np.testing.assert_allclose(phi, net(*map(torch.as_tensor, (image, table))).numpy(),
                                   rtol=0, atol=TOL)

    folder = sv.save_model(exp, tmp_path / "bundle", targets="cif", dynamo=False)
    back = sv.load_model(folder)
    assert back.input_names == ["image", "table"] and back.feature_shapes == [(1, 3, 3), (4,)]
    a, b = sv.surv_intgrad(exp, instance=[1, 2], target="cif"), \
        sv.surv_intgrad(back, instance=[1, 2], target="cif")
    for va, vb in zip(a.values, b.values):
        np.testing.assert_allclose(vb, va, rtol=0, atol=TOL)


def test_coxtime_network_export_has_a_time_input(coxtime, data, tmp_path):
    exp = sv.explain(coxtime, data[0][:20])
    path = sv.export_onnx(exp, tmp_path / "net.onnx", target="network", dynamo=False)
    import onnxruntime as ort
    session = ort.InferenceSession(str(path))
    assert [i.name for i in session.get_inputs()] == ["input_1", "time"]
    x, t = data[0][:5], np.full((5, 1), 0.3, dtype="float32")
    with torch.no_grad():
        expected = exp.model.net(torch.as_tensor(x), torch.as_tensor(t)).numpy()
    np.testing.assert_allclose(session.run(None, {"input_1": x, "time": t})[0], expected,
                               rtol=0, atol=TOL)


def test_legacy_exporter_leaves_the_explainer_in_eval_mode(coxtime, data, tmp_path):
    """torch's legacy exporter restores the exported module's train/eval mode afterwards."""
    exp = sv.explain(coxtime, data[0][:20])
    path = sv.export_onnx(exp, tmp_path / "m.onnx", dynamo=False)
    assert not any(m.training for m in exp.model.net.modules())
    rows = data[0][100:110]
    np.testing.assert_allclose(sv.predict_onnx(path, rows), pycox_target(coxtime, rows, "survival"),
                               rtol=0, atol=TOL)


def test_export_is_checked_on_an_unseen_batch_size(tmp_path):
    """A graph whose batch size was frozen by tracing is refused, not written."""
    class Frozen(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(2, 1)

        def forward(self, x):
            return self.lin(x) + torch.zeros(int(x.shape[0]), 1)  # int(): a constant to the tracer

    exp = sv.explain(Frozen(), np.ones((4, 2)), model_type="deepsurv",
                     baseline_hazard=([1.0], [0.5]))
    with pytest.raises(sv.SurvinngError, match=r"^`model` of export_onnx\(\) gave an ONNX graph "
                       r"that onnxruntime cannot run on a batch of 3 rows: [^\n]+$"):
        sv.export_onnx(exp, tmp_path / "m.onnx", dynamo=False)
    assert not (tmp_path / "m.onnx").exists()


def test_labels_travel_in_the_onnx_metadata(request, bundles):
    _, exp, folder, _ = bundle_for(request, bundles, CASES[3])
    import onnxruntime as ort
    meta = json.loads(ort.InferenceSession(str(folder / "cif.onnx")).get_modelmeta()
                      .custom_metadata_map["survinng_py"])
    assert meta["target"] == "cif" and meta["event_names"] == ["event_1", "event_2"]
    assert meta["time"] == exp.model.time.tolist() and meta["output"] == "(batch, event, time)"
    assert meta["input_names"] == ["input_1"] and meta["input_shapes"] == [[4]]


# -- bad input ------------------------------------------------------------------------------
def test_predict_onnx_checks_its_input(request, bundles, tmp_path):
    _, exp, folder, x = bundle_for(request, bundles, CASES[0])
    path = folder / "survival.onnx"
    raises("`x` of predict_onnx() must be of per-row shape (4,); got per-row shape (3,)",
           sv.predict_onnx, path, x[:5, :3])
    frame = pd.DataFrame(x[:5], columns=["X1", "X2", "X3", "age"])
    raises("`x` of predict_onnx() must be a table with the model's feature columns "
           "['X1', 'X2', 'X3', 'X4']; got \"missing ['X4']\"", sv.predict_onnx, path, frame)
    # columns are matched by name, not position
    shuffled = pd.DataFrame(x[:5], columns=["X1", "X2", "X3", "X4"])[["X4", "X2", "X1", "X3"]]
    np.testing.assert_array_equal(sv.predict_onnx(path, shuffled), sv.predict_onnx(path, x[:5]))
    csv = tmp_path / "rows.csv"
    csv.write_text("a,b\n1,2\n")
    with pytest.raises(sv.SurvinngError, match=r"^`path` of predict_onnx\(\) must be an ONNX "
                       r"model file; got rows\.csv \(.+\)$"):
        sv.predict_onnx(csv, x[:5])
    raises("`path` of predict_onnx() must be an existing ONNX file; got 'no.onnx'",
           sv.predict_onnx, tmp_path / "no.onnx", x[:5])


def test_export_refuses_to_overwrite_and_checks_arguments(request, bundles, tmp_path):
    _, exp, folder, _ = bundle_for(request, bundles, CASES[0])
    target = tmp_path / "m.onnx"
    target.write_bytes(b"keep")
    raises(f"`path` of export_onnx() must be a file that does not exist yet (pass overwrite=True "
           f"to replace it); got '{target}'", sv.export_onnx, exp, target)
    assert target.read_bytes() == b"keep"
    raises("`target` of export_onnx() for a DeepSurv model must be one of 'survival', "
           "'cum_hazard', 'hazard', 'log_risk'; got 'cif'", sv.export_onnx, exp, tmp_path / "x.onnx",
           target="cif")
    raises("`model_type` of export_onnx() must be left out when the model is an Explainer (it is "
           "built already); got 'deephit'", sv.export_onnx, exp, tmp_path / "x.onnx",
           model_type="deephit")
    net = torch.nn.Linear(4, 1)
    bare = sv.explain(net, model_type="deepsurv", baseline_hazard=([1.0], [0.5]))
    raises("`data` of export_onnx() must be given (rows to trace the network with) when the "
           "explainer has no data; got None", sv.export_onnx, bare, tmp_path / "x.onnx")
    raises(f"`path` of save_model() must be a folder that does not exist yet (pass overwrite=True "
           f"to replace it); got '{folder}'", sv.save_model, exp, folder)
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("x")
    raises(f"`path` of save_model() must be a survinng_py bundle folder to be replaced (nothing "
           f"else is ever overwritten); got '{other}'", sv.save_model, exp, other, overwrite=True)
    assert (other / "notes.txt").read_text() == "x"


@pytest.fixture
def copy_of(request, bundles, tmp_path):
    def make(case):
        folder = bundle_for(request, bundles, case)[2]
        return shutil.copytree(folder, tmp_path / "copy")
    return make


def test_missing_sidecar_and_files(copy_of, tmp_path):
    folder = copy_of(CASES[0])
    (folder / "survival.onnx").unlink()
    raises("`path` of load_model() must be a model bundle folder holding 'survival.onnx' as a "
           "regular file; got missing, a link, outside the folder or not a plain file",
           sv.load_model, folder)
    (folder / "bundle.json").unlink()
    raises(f"`path` of load_model() must be a model bundle folder holding bundle.json; "
           f"got '{folder}'", sv.load_model, folder)
    raises(f"`path` of load_model() must be a model bundle folder holding bundle.json; "
           f"got '{tmp_path}'", sv.load_model, tmp_path)


def test_tampered_truncated_and_foreign_files(copy_of):
    folder = copy_of(CASES[0])
    data = (folder / "network.pt2").read_bytes()
    (folder / "network.pt2").write_bytes(data[:-10])
    raises("`path` of load_model() must be a bundle whose files are as written (sha256 in "
           "bundle.json); got network.pt2 has changed or is truncated", sv.load_model, folder)
    (folder / "network.pt2").write_bytes(data)
    sidecar = json.loads((folder / "bundle.json").read_text())
    (folder / "bundle.json").write_text("{not json")
    with pytest.raises(sv.SurvinngError, match=r"^`path` of load_model\(\) must be a valid "
                       r"bundle.json \(JSON\); got [^\n]+$"):
        sv.load_model(folder)
    (folder / "bundle.json").write_text(json.dumps({"format": "something else"}))
    raises("`path` of load_model() must be a survinng_py model bundle (bundle.json with format "
           "'survinng_py.bundle'); got bundle.json of another format", sv.load_model, folder)
    (folder / "bundle.json").write_text(json.dumps({k: v for k, v in sidecar.items() if k != "head"}))
    raises("`path` of load_model() must be a bundle whose bundle.json is as written (its sha256 "
           "field); got bundle.json has been edited", sv.load_model, folder)
    (folder / "bundle.json").write_text(json.dumps({**sidecar, "format_version": 1}))
    raises(f"`path` of load_model() must be a bundle of format version 2 (this survinng_py "
           f"{sv.__version__}); got format version 1, written by survinng_py {sv.__version__}; "
           "re-export the model with save_model() or survinng-py export", sv.load_model, folder)


def rewrite_pt2(source, target, edit):
    """Copy a .pt2 archive, passing each member through ``edit(name, bytes) -> bytes``."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            zout.writestr(item, edit(item.filename, zin.read(item.filename)))
    return target


def test_program_reader_refuses_pickles_foreign_ops_and_other_schemas(request, bundles, tmp_path):
    folder = bundle_for(request, bundles, CASES[0])[2]
    source = folder / "network.pt2"
    assert isinstance(load_program(source), torch.nn.Module)

    def pickled(name, raw):
        if name.endswith("model_weights_config.json"):
            config = json.loads(raw)
            first = next(iter(config["config"]))
            config["config"][first]["use_pickle"] = True
            return json.dumps(config).encode()
        return raw
    bad = rewrite_pt2(source, tmp_path / "pickled.pt2", pickled)
    with pytest.raises(sv.SurvinngError, match=r"^`path` of load_program\(\) must be a program "
                       r"whose weights and constants are plain tensors stored raw \(pickled "
                       r"payloads are never read\); got pickled.pt2 pickles '[^']+'$"):
        load_program(bad)

    def foreign(name, raw):
        return raw.replace(b'"torch.ops.aten.tanh.default"', b'"builtins.eval"') \
            if name.endswith("models/model.json") else raw
    bad = rewrite_pt2(source, tmp_path / "foreign.pt2", foreign)
    raises("`path` of load_program() must be a program calling only the ATen operators "
           "survinng_py allows; got foreign.pt2 calls 'builtins.eval'", load_program, bad)

    def newer(name, raw):
        if name.endswith("models/model.json"):
            graph = json.loads(raw)
            graph["schema_version"]["major"] += 1
            return json.dumps(graph).encode()
        return raw
    bad = rewrite_pt2(source, tmp_path / "newer.pt2", newer)
    with pytest.raises(sv.SurvinngError, match=r"^`path` of load_program\(\) must be a "
                       r"torch.export program this torch \([^)]+\) can read; got newer.pt2 "
                       r"\(.*schema version.*\)$"):
        load_program(bad)

    # code hidden in the graph JSON never runs: torch execs guard code (when a program has
    # sample inputs) and hands size expressions to sympy, i.e. to eval
    marker = tmp_path / "code_ran"
    touch = f"__import__('pathlib').Path({str(marker)!r}).touch()"

    def guard(name, raw):
        if name.endswith("models/model.json"):
            graph = json.loads(raw)
            graph["guards_code"] = [f"{touch} is None"]
            return json.dumps(graph).encode()
        return raw
    module = load_program(rewrite_pt2(source, tmp_path / "guard.pt2", guard))
    module(torch.zeros(3, 4))

    def expression(name, raw):
        return raw.replace(b"Symbol('s", f"{touch} or Symbol('s".encode()) \
            if name.endswith("models/model.json") else raw
    with pytest.raises(sv.SurvinngError, match=r"^`path` of load_program\(\) must be a program "
                       r"whose size expressions are a symbol .+; got expression.pt2: "
                       r"\"__import__"):
        load_program(rewrite_pt2(source, tmp_path / "expression.pt2", expression))
    assert not marker.exists()
    (tmp_path / "plain.pt2").write_bytes(b"not a zip")
    raises("`path` of load_program() must be a complete torch.export program file (.pt2); got "
           "plain.pt2 (File is not a zip file)", load_program, tmp_path / "plain.pt2")


def test_network_that_torch_export_cannot_capture(tmp_path):
    class DataDependent(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(2, 1)

        def forward(self, x):
            return self.lin(x) if x.sum() > 0 else -self.lin(x)

    exp = sv.explain(DataDependent(), np.ones((4, 2)), model_type="deepsurv",
                     baseline_hazard=([1.0], [0.5]))
    with pytest.raises(sv.SurvinngError, match=r"^`model` of save_model\(\) could not be captured "
                       r"by torch.export \(with a dynamic batch axis\): [^\n]+$"):
        sv.save_model(exp, tmp_path / "b")
    assert not (tmp_path / "b").exists() and list(tmp_path.iterdir()) == []
