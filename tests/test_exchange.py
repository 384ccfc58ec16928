"""Arrow exchange: bit-exact round trips, readers, and errors for foreign or broken files."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import survinng_py as sv
from survinng_py import exchange

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

FORMATS = ["x.parquet", "x.feather", "x.arrows"]


def assert_same(a: sv.SurvResult, b: sv.SurvResult):
    assert a.equals(b) and a == b
    assert len(a.values) == len(b.values)
    for u, v in zip(a.values, b.values):
        assert u.dtype == v.dtype and u.shape == v.shape and u.tobytes() == v.tobytes()
    for field in sv.result.PRED_FIELDS:
        u, v = getattr(a, field), getattr(b, field)
        assert (u is None) == (v is None), field
        if u is not None:
            assert u.shape == v.shape and u.dtype == v.dtype and u.tobytes() == v.tobytes(), field
    assert a.time.tobytes() == b.time.tobytes()
    np.testing.assert_array_equal(a.instance, b.instance)
    for name in ("feature_names", "input_names", "event_names", "method", "model_class", "target",
                 "args"):
        assert getattr(a, name) == getattr(b, name), name


@pytest.fixture(scope="module")
def results(coxph, coxtime, deephit_single, deephit_cr, two_input, data):
    from conftest import simulate
    x = data[0][:40]
    out = {
        "grad-coxph-f64": sv.surv_grad(sv.explain(coxph, x, dtype="float64"), instance=[0, 3]),
        "sg-coxtime": sv.surv_smoothgrad(sv.explain(coxtime, x), instance=[1], n=2, seed=0),
        "ig-deephit": sv.surv_intgrad(sv.explain(deephit_single, x), instance=[2, 5, 7], n=3),
        "shap-cr-cif": sv.surv_gradshap(sv.explain(deephit_cr, simulate(seed=5, n_risks=2)[0][:30]),
                                        instance=[0, 1], target="cif", n=2, num_samples=3, seed=1),
    }
    net, inputs, bins = two_input
    out["two-input"] = sv.surv_gradshap(sv.explain(net, inputs, model_type="deephit", time_bins=bins,
                                                    event_names=["event_1", "event_2", "event_3"]),
                                        instance=[4, 6], target="pmf", n=2, num_samples=2, seed=0)
    with_nan = sv.surv_grad(sv.explain(coxph, x), instance=[0, 1])
    with_nan.pred[0, 0, 3] = np.nan
    out["nan-pred"] = with_nan
    out["one-row"] = out["ig-deephit"].isel(instance=[1])
    out["zero-rows"] = out["ig-deephit"].isel(instance=[])
    return out


CASES = ["grad-coxph-f64", "sg-coxtime", "ig-deephit", "shap-cr-cif", "two-input", "nan-pred",
         "one-row", "zero-rows"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("layout", ["long", "wide"])
def test_arrow_round_trip_is_bit_exact(results, case, layout):
    res = results[case]
    assert_same(sv.SurvResult.from_arrow(res.to_arrow(layout)), res)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("name", FORMATS)
def test_file_round_trip_is_bit_exact(results, case, name, tmp_path):
    res = results[case]
    for layout in ("long", "wide"):
        path = exchange.write(res, tmp_path / f"{layout}-{name}", layout=layout)
        assert_same(exchange.read(path), res)


def test_long_table_columns_and_types(results):
    res = results["shap-cr-cif"]
    table = res.to_arrow()
    assert table.column_names == ["instance", "input", "feature", "feature_index", "event", "time",
                                  "value", "pred", "pred_ref", "pred_diff", "pred_diff_q1",
                                  "pred_diff_q3"]
    assert table.schema.field("instance").type == pa.int32()
    assert table.schema.field("feature").type == pa.dictionary(pa.int32(), pa.string())
    assert table.schema.field("value").type == pa.float32()
    frame = table.to_pandas()
    row = frame.iloc[101]
    i = list(res.instance).index(row.instance)
    assert row.value == res.values[0][i, row.feature_index, res.event_names.index(row.event),
                                      int(np.flatnonzero(res.time == row.time)[0])]
    meta = json.loads(table.schema.metadata[b"survinng_py"])
    assert meta["format_version"] == exchange.FORMAT_VERSION and meta["method"] == "Surv_GradSHAP"


def test_readers_see_the_documented_columns(results, tmp_path):
    res = results["ig-deephit"]
    path = exchange.write(res, tmp_path / "ig.parquet")
    frame = pd.read_parquet(path)
    assert list(frame.columns[:7]) == ["instance", "input", "feature", "feature_index", "event",
                                       "time", "value"]
    assert len(frame) == res.values[0].size
    duckdb = pytest.importorskip("duckdb")
    total = duckdb.sql(f"SELECT sum(value) AS s, count(*) AS n FROM read_parquet('{path}') "
                       "WHERE instance = 5").fetchall()[0]
    assert total[1] == res.values[0][1].size
    assert np.isclose(total[0], res.values[0][1].astype(np.float64).sum(), rtol=1e-6)
    pl = pytest.importorskip("polars")
    wide = pl.read_parquet(exchange.write(res, tmp_path / "wide.parquet", layout="wide"))
    assert wide.columns[:3] == ["instance", "event", "time"] and wide.height == 3 * len(res.time)
    np.testing.assert_array_equal(wide["X2"].to_numpy(), res.values[0][:, 1].reshape(-1))


def test_existing_file_is_not_overwritten(results, tmp_path):
    path = tmp_path / "keep.parquet"
    path.write_bytes(b"user data")
    with pytest.raises(sv.SurvinngError, match="^`path` of write\\(\\) must be a file that does not "
                                               "exist yet \\(pass overwrite=True"):
        exchange.write(results["ig-deephit"], path)
    assert path.read_bytes() == b"user data"
    exchange.write(results["ig-deephit"], path, overwrite=True)
    assert_same(exchange.read(path), results["ig-deephit"])


def test_foreign_truncated_and_versioned_files_are_refused(results, tmp_path):
    foreign = tmp_path / "foreign.parquet"
    pq.write_table(pa.table({"a": [1, 2]}), foreign)
    with pytest.raises(sv.SurvinngError, match="^`path` of read\\(\\) must be a file written "
                                               "by survinng_py"):
        exchange.read(foreign)
    good = exchange.write(results["ig-deephit"], tmp_path / "good.parquet")
    truncated = tmp_path / "truncated.parquet"
    truncated.write_bytes(good.read_bytes()[:-40])
    for broken in (truncated, tmp_path / "junk.arrows"):
        if broken.suffix == ".arrows":
            broken.write_bytes(b"not arrow at all")
        with pytest.raises(sv.SurvinngError, match="^`path` of read\\(\\) must be a complete "
                                                   "Parquet, Feather or Arrow IPC file"):
            exchange.read(broken)
    table = results["ig-deephit"].to_arrow()
    meta = json.loads(table.schema.metadata[b"survinng_py"])
    meta["format_version"] = 99
    future = table.replace_schema_metadata({b"survinng_py": json.dumps(meta).encode()})
    with pytest.raises(sv.SurvinngError, match="must be a table of survinng_py attribution format "
                                               "version 2 or 3; got kind 'attributions', version 99"):
        sv.SurvResult.from_arrow(future)
    retyped = table.set_column(6, "value", table.column("value").cast(pa.float64()))
    with pytest.raises(sv.SurvinngError, match="must be a table with the columns its survinng_py "
                                               "metadata describes; got column 'value' of type "
                                               "double instead of float"):
        sv.SurvResult.from_arrow(retyped)
    with pytest.raises(sv.SurvinngError, match="rows as its metadata says"):
        sv.SurvResult.from_arrow(table.slice(0, 10))
    with pytest.raises(sv.SurvinngError, match="^`path` of write\\(\\) must be a file name ending in"):
        exchange.write(results["ig-deephit"], tmp_path / "x.csv")


def test_inputs_from_arrow_parquet_and_polars(coxph, data, tmp_path):
    x = data[0][:20]
    names = ["a", "b", "c", "d"]
    exp = sv.explain(coxph, exchange.data_table(x, names))
    expected = sv.surv_grad(exp, instance=[0, 1]).values[0]
    shuffled = exchange.data_table(x[:2], names).select(["d", "b", "a", "c"])
    np.testing.assert_array_equal(sv.surv_grad(exp, shuffled).values[0], expected)
    path = tmp_path / "rows.parquet"
    pq.write_table(exchange.data_table(x[:2], names), path)
    np.testing.assert_array_equal(sv.surv_grad(exp, str(path)).values[0], expected)
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame({n: x[:2, j] for j, n in enumerate(names)})
    np.testing.assert_array_equal(sv.surv_grad(exp, frame).values[0], expected)
    with pytest.raises(sv.SurvinngError, match=r"^`x` of surv_grad\(\) must be a table with the "
                                               r"model's feature columns"):
        sv.surv_grad(exp, frame.drop("a"))


def test_predictions_table(deephit_cr):
    from conftest import simulate
    x = simulate(seed=5, n_risks=2)[0][:10]
    exp = sv.explain(deephit_cr, x)
    table = exchange.predictions_table(exp, instance=[2, 3], target="cif")
    assert table.column_names == ["instance", "event", "time", "cif"]
    cif = deephit_cr.predict_cif(x[[2, 3]]).transpose(2, 0, 1)
    np.testing.assert_allclose(table.column("cif").to_numpy().reshape(cif.shape), cif, atol=1e-6)
