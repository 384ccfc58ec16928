"""Exchange format 3: feature pairs of second-order results; files of version 2 still read."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import survinng_py as sv
from survinng_py import exchange

OLD = Path(__file__).parent / "data" / "exchange_v2"


@pytest.fixture(scope="module")
def pair_result():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2 * 3))
    data = np.random.default_rng(0).normal(size=(6, 3))
    exp = sv.explain(net, data, model_type="deephit", time_bins=[0.5, 1.0, 2.0],
                     event_names=["relapse", "death"], feature_names=["age", "dose", "size"])
    return sv.surv_inthess(exp, instance=[1, 4], target="cif", n=3)


@pytest.mark.parametrize("name", ["intgrad_long.feather", "intgrad_wide.parquet"])
def test_version_2_files_read_bit_exact(name, tmp_path):
    res = exchange.read(OLD / name)
    arrays = np.load(OLD / "intgrad.npz")
    for field in ("pred", "pred_ref", "pred_diff", "time"):
        got, want = getattr(res, field), arrays[field]
        assert got.dtype == want.dtype and np.array_equal(got, want)
    assert res.values[0].dtype == arrays["values"].dtype
    assert np.array_equal(res.values[0], arrays["values"])
    assert res.feature_pairs is None and res.event_names == ["relapse", "death"]
    # written again, it is a file of the current version that reads back the same
    again = exchange.read(exchange.write(res, tmp_path / "again.arrow"))
    assert again.equals(res)


@pytest.mark.parametrize("layout", ["long", "wide"])
@pytest.mark.parametrize("suffix", [".parquet", ".feather", ".arrows"])
def test_pairs_round_trip_bit_exact(pair_result, layout, suffix, tmp_path):
    path = exchange.write(pair_result, tmp_path / f"pairs{suffix}", layout=layout)
    back = exchange.read(path)
    assert back.equals(pair_result)
    assert back.feature_pairs[0][1] == ["age", "dose"]
    meta = json.loads(back.to_arrow(layout).schema.metadata[b"survinng_py"])
    assert meta["format_version"] == exchange.FORMAT_VERSION == 3


def test_long_layout_has_one_column_per_side_of_the_pair(pair_result):
    frame = pair_result.to_pandas()
    assert list(frame.columns[:6]) == ["instance", "input", "feature", "feature_index",
                                       "feature_i", "feature_j"]
    row = frame[(frame.feature == "size:age") & (frame.event == "death")].iloc[0]
    assert (row.feature_i, row.feature_j) == ("size", "age")
    assert row.value == pair_result.values[0][0, 2, 0, 1, 0]
    # a first-order result has no pair columns
    first = pair_result.replace(values=[pair_result.values[0][:, 0]], feature_pairs=None,
                                feature_names=[["age", "dose", "size"]])
    assert "feature_i" not in first.to_pandas().columns


def test_a_pair_label_changed_after_writing_is_refused(pair_result):
    import pyarrow as pa

    table = pair_result.to_arrow()
    column = table.column("feature_j").combine_chunks()
    swapped = pa.DictionaryArray.from_arrays(
        pa.array(np.roll(column.indices.to_numpy(), 1)), column.dictionary)
    edited = table.set_column(table.schema.get_field_index("feature_j"), "feature_j", swapped)
    with pytest.raises(sv.SurvinngError, match="^`table` of from_arrow\\(\\) must be a table whose "
                                               "key columns form exactly the grid its metadata "
                                               "describes; got feature_j "):
        sv.SurvResult.from_arrow(edited)


def test_version_2_metadata_with_pairs_is_refused(pair_result):
    table = pair_result.to_arrow()
    meta = json.loads(table.schema.metadata[b"survinng_py"])
    meta["format_version"] = 2
    edited = table.replace_schema_metadata({b"survinng_py": json.dumps(meta).encode()})
    with pytest.raises(sv.SurvinngError, match="only the keys of format version 2; got unknown "
                                               "key 'feature_pairs'"):
        sv.SurvResult.from_arrow(edited)
