"""Result files never give a wrong number and never lose data.

Reading places numbers by their key columns (any row order reads back the same) or
refuses; writing is atomic (a failed or killed write leaves the old file, two writers of
one new path cannot both succeed). Property tests round-trip random results bit for bit
and feed ``exchange.read`` mutated files: the answer is one clear line or the original
result, never another exception, a hang or a wrong number. ``SURVINNG_FUZZ_EXAMPLES``
runs the mutation fuzz longer.
"""
from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import survinng_py as sv
from fuzz_tally import record
from cases_exchange import metadata, save, synthetic, with_metadata
from survinng_py import exchange
from survinng_py.result import PRED_FIELDS

pa = pytest.importorskip("pyarrow")

SUFFIX = {"parquet": ".parquet", "feather": ".feather", "stream": ".arrows"}
LAYOUTS = ("long", "wide")
ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
FUZZ_EXAMPLES = int(os.environ.get("SURVINNG_FUZZ_EXAMPLES", "1500"))


def assert_identical(back: sv.SurvResult, res: sv.SurvResult) -> None:
    """Equal, and every array equal bit for bit (NaN payloads and signed zeros too)."""
    assert back.equals(res) and back == res
    for a, b in zip(back.values, res.values):
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    for field in PRED_FIELDS:
        a, b = getattr(back, field), getattr(res, field)
        assert (a is None) == (b is None), field
        if a is not None:
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), field
    assert back.time.tobytes() == res.time.tobytes()


@contextmanager
def one_line_error(match: str = ""):
    with pytest.raises(sv.SurvinngError, match=re.escape(match)) as info:
        yield info
    assert type(info.value) is sv.SurvinngError and "\n" not in str(info.value)


# -- reading places numbers by their keys ---------------------------------------------------
@pytest.mark.parametrize("fmt", SUFFIX)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_file_sorted_again_reads_back_equal(fmt, layout, tmp_path):
    res = synthetic(n=4, shapes=((2, 3), (4,)), n_events=2, n_times=5)
    table = res.to_arrow(layout)
    sort = pa.compute.sort_indices
    orders = {"time": sort(table, [("time", "descending"), ("instance", "ascending")]),
              "instance": sort(table, [("instance", "descending")]),
              "shuffled": pa.array(np.random.default_rng(0).permutation(table.num_rows))}
    if layout == "long":
        orders["feature"] = sort(table, [("feature_index", "descending")])
    for name, order in orders.items():
        moved = table.take(order)
        assert not moved.column(3).equals(table.column(3))  # the rows really moved
        back = exchange.read(save(moved, tmp_path / f"{name}{SUFFIX[fmt]}"))
        assert_identical(back, res)


@pytest.mark.parametrize("fmt", SUFFIX)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_numbers_moved_apart_from_their_keys_are_refused(fmt, layout, tmp_path):
    table = synthetic().to_arrow(layout)
    column = "value" if layout == "long" else table.column_names[3]
    index = table.schema.get_field_index(column)
    moved = table.column(column).to_numpy()[::-1].copy()
    path = save(table.set_column(index, column, pa.array(moved)), tmp_path / f"x{SUFFIX[fmt]}")
    with one_line_error("whose labels and numbers match the digest in its metadata"):
        exchange.read(path)


@pytest.mark.parametrize("fmt", SUFFIX)
@pytest.mark.parametrize("edit, message", [
    (lambda m: m["feature_names"][0].reverse(), "key columns form exactly the grid"),
    (lambda m: m["time"].__setitem__(0, float("nan")), "'time' as a non-empty, strictly"),
    (lambda m: m["time"].reverse(), "'time' as a non-empty, strictly increasing"),
    (lambda m: m["instance"].__setitem__(2, -3), "'instance' as a list of unique integer ids"),
    (lambda m: m["instance"].__setitem__(2, 12.5), "'instance' as a list of unique integer ids"),
    (lambda m: m["feature_shapes"].__setitem__(1, [5]), "'feature_shapes' as one list"),
    (lambda m: m.__setitem__("value_dtype", "object"), "'value_dtype' as 'float32' or"),
    (lambda m: m.__setitem__("args", {"a": json.loads("[" * 40 + "]" * 40)}), "nested at most"),
    (lambda m: m.__setitem__("feature_names", "x0_0"), "'feature_names' as 2 non-empty"),
], ids=["reversed-names", "nan-time", "unsorted-time", "negative-id", "fractional-id",
        "feature-count", "object-dtype", "deep-nesting", "names-as-string"])
def test_edited_metadata_is_one_line_in_every_format(fmt, edit, message, tmp_path):
    table = synthetic().to_arrow()
    meta = metadata(table)
    edit(meta)
    path = save(with_metadata(table, meta), tmp_path / f"x{SUFFIX[fmt]}")
    with one_line_error(message):
        exchange.read(path)


def test_duplicate_metadata_keys_are_refused(tmp_path):
    table = synthetic().to_arrow()
    raw = table.schema.metadata[b"survinng_py"]
    doubled = raw[:-1] + b', "method": "Surv_Gradient"}'
    with one_line_error("duplicate key 'method'"):
        exchange.read(save(with_metadata(table, doubled), tmp_path / "x.parquet"))


def test_declared_sizes_are_refused_before_allocating(tmp_path):
    import tracemalloc
    table = synthetic().to_arrow()
    meta = metadata(table)
    meta["instance"] = list(range(500_000))  # x 10 features x 2 events x 5 times = 5e7 rows
    path = save(with_metadata(table, meta), tmp_path / "x.parquet")
    tracemalloc.start()
    try:
        with one_line_error("must be a file of 50000000 rows as its metadata says; got 300"):
            exchange.read(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100 * 2**20  # the declared grid alone would take 250 MB


def test_predictions_must_agree_across_features(tmp_path):
    table = synthetic().to_arrow()
    pred = table.column("pred_diff").to_numpy().copy()
    pred[-1] = np.nextafter(pred[-1], np.float32(2))  # one bit, one feature row
    changed = table.set_column(table.schema.get_field_index("pred_diff"), "pred_diff",
                               pa.array(pred))
    with one_line_error("got pred_diff differing between the feature rows"):
        sv.SurvResult.from_arrow(changed)


# -- writes are atomic ----------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", SUFFIX)
def test_a_failed_overwrite_keeps_the_old_file(fmt, tmp_path, monkeypatch):
    path = exchange.write(synthetic(seed=1), tmp_path / f"r{SUFFIX[fmt]}")
    old = path.read_bytes()
    with one_line_error("args are JSON values"):
        exchange.write(synthetic(seed=2, args={"x": object()}), path, overwrite=True)
    assert path.read_bytes() == old
    real = exchange._batches

    def failing(*args):
        batches = real(*args)
        yield next(batches)
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(exchange, "_batches", failing)
    with pytest.raises(RuntimeError, match="the disk is full"):
        exchange.write(synthetic(seed=2), path, overwrite=True)
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == [path.name]  # the temporary file is gone too
    assert_identical(exchange.read(path), synthetic(seed=1))


KILLED_WRITER = """
import sys
sys.path.insert(0, {tests!r})
from cases_exchange import synthetic
from survinng_py import exchange
big = synthetic(n=600, shapes=((50,),), n_events=1, n_times=100, dtype="float64", seed=7)
exchange.write(big, sys.argv[1], overwrite=sys.argv[2] == "1")
"""


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


@pytest.mark.parametrize("fmt, overwrite", [("parquet", True), ("stream", False)])
def test_a_writer_killed_midway_leaves_the_old_file_or_none(fmt, overwrite, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    path = folder / f"result{SUFFIX[fmt]}"
    if overwrite:
        exchange.write(synthetic(seed=3), path)
    old = path.read_bytes() if overwrite else None
    child = subprocess.Popen([sys.executable, "-c", KILLED_WRITER.format(tests=str(TESTS)),
                              str(path), "1" if overwrite else "0"], env=_env())
    deadline = time.monotonic() + 120
    while not any(n.startswith(f".{path.name}.") and (folder / n).stat().st_size > 0
                  for n in os.listdir(folder)):
        assert child.poll() is None, "the writer ended before it was killed"
        assert time.monotonic() < deadline
        time.sleep(0.002)
    child.send_signal(signal.SIGKILL)
    assert child.wait(60) == -signal.SIGKILL
    visible = [n for n in os.listdir(folder) if not n.startswith(".")]
    if overwrite:
        assert visible == [path.name] and path.read_bytes() == old
        assert_identical(exchange.read(path), synthetic(seed=3))
    else:
        assert visible == [] and not path.exists()
    for leftover in set(os.listdir(folder)) - set(visible):  # hidden, never the final name
        assert leftover.startswith(f".{path.name}.") and leftover.endswith(".tmp")


RACING_WRITER = """
import os, sys, time
sys.path.insert(0, {tests!r})
from cases_exchange import synthetic
from survinng_py import SurvinngError, exchange
path, me, sync = sys.argv[1], sys.argv[2], sys.argv[3]
publish = os.link


def publish_when_both_are_ready(*args, **kwargs):
    # both writers have passed every check and written their file: only the link decides
    open(os.path.join(sync, me), "w").close()
    deadline = time.monotonic() + 120
    while len(os.listdir(sync)) < 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    return publish(*args, **kwargs)


os.link = publish_when_both_are_ready
try:
    exchange.write(synthetic(n=40, seed=int(me)), path)
    print("won")
except SurvinngError as err:
    print("lost", err)
"""


def test_two_writers_of_one_new_path_cannot_both_succeed(tmp_path):
    path, sync = tmp_path / "result.feather", tmp_path / "sync"
    sync.mkdir()
    children = [subprocess.Popen([sys.executable, "-c", RACING_WRITER.format(tests=str(TESTS)),
                                  str(path), str(me), str(sync)], env=_env(),
                                 stdout=subprocess.PIPE, text=True) for me in (0, 1)]
    outputs = [child.communicate(timeout=300)[0].strip() for child in children]
    assert [child.returncode for child in children] == [0, 0]
    assert sorted(out.split(" ")[0] for out in outputs) == ["lost", "won"]
    lost = next(out for out in outputs if out.startswith("lost"))
    assert len(lost.splitlines()) == 1
    assert "`path` of write() must be a file that does not exist yet" in lost
    winner = next(me for me, out in enumerate(outputs) if out == "won")
    assert_identical(exchange.read(path), synthetic(n=40, seed=winner))
    assert sorted(os.listdir(tmp_path)) == ["result.feather", "sync"]


CUT_AFTER_READING = """
import sys
from survinng_py import exchange
table = exchange.read_table(sys.argv[1])
open(sys.argv[1], "wb").close()  # another program empties the file
print(table.column("value").to_numpy().sum())
"""


def test_a_table_read_survives_its_file_being_cut(tmp_path):
    # a memory-mapped table would crash (SIGBUS) on its next access
    path = exchange.write(synthetic(n=2000, shapes=((30,),)), tmp_path / "x.feather")
    run = subprocess.run([sys.executable, "-c", CUT_AFTER_READING, str(path)], env=_env(),
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-500:]
    assert np.isclose(float(run.stdout), synthetic(n=2000, shapes=((30,),)).values[0].sum(
        dtype=np.float64), rtol=1e-4)


# -- property: random results round-trip bit for bit ------------------------------------------
LABEL = st.one_of(st.text(max_size=6),
                  st.sampled_from(["a:b", "x,y", "with space", 'q"uote', "é€😀", ":", "",
                                   "time", "pred", "instance"]))
SHAPES = st.sampled_from([(1,), (3,), (2, 2), (1, 3), (3, 1)])


@st.composite
def results(draw):
    n_inputs = draw(st.integers(1, 3))
    shapes = [draw(SHAPES) for _ in range(n_inputs)]
    n, n_e, n_t = draw(st.integers(0, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 4))
    dtype = np.dtype(draw(st.sampled_from(["float32", "float64"])))
    numbers = st.floats(width=8 * dtype.itemsize)  # NaN (any payload), inf and -0.0 included

    def unique_labels(size):
        return draw(st.lists(LABEL, min_size=size, max_size=size, unique=True))

    times = sorted(draw(st.lists(st.floats(-1e6, 1e6), min_size=n_t, max_size=n_t, unique=True)))
    extra = draw(st.sets(st.sampled_from(PRED_FIELDS[1:])))
    grid = (n, n_e, n_t)
    return sv.SurvResult(
        [draw(hnp.arrays(dtype, (n, *s, n_e, n_t), elements=numbers)) for s in shapes],
        pred=draw(hnp.arrays(dtype, grid, elements=numbers)), time=times,
        feature_names=[unique_labels(math.prod(s)) for s in shapes],
        input_names=unique_labels(n_inputs), event_names=unique_labels(n_e),
        instance=draw(st.lists(st.integers(0, 2**31 - 1), min_size=n, max_size=n, unique=True)),
        method=draw(LABEL), model_class=draw(LABEL), target=draw(LABEL),
        args=draw(st.dictionaries(st.text(max_size=4), st.one_of(
            st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=4),
            st.lists(st.integers(), max_size=3)), max_size=3)),
        **{f: draw(hnp.arrays(dtype, grid, elements=numbers)) for f in sorted(extra)})


def _wide_names_repeat(res: sv.SurvResult) -> bool:
    several = len(res.values) > 1
    columns = ["instance", "event", "time", *(f"{i}:{f}" if several else f for i, names in
                                                zip(res.input_names, res.feature_names)
                                                for f in names),
               *(f for f in PRED_FIELDS if getattr(res, f) is not None)]
    return len(set(columns)) < len(columns)


@settings(max_examples=120, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(res=results())
def test_random_results_round_trip_bit_for_bit(res, tmp_path_factory):
    folder = tmp_path_factory.mktemp("rt")
    for layout in LAYOUTS:
        if layout == "wide" and _wide_names_repeat(res):
            with one_line_error("names that give distinct wide columns"):
                exchange.write(res, folder / "x.parquet", layout=layout)
            continue
        assert_identical(sv.SurvResult.from_arrow(res.to_arrow(layout)), res)
        for fmt, suffix in SUFFIX.items():
            path = exchange.write(res, folder / f"{layout}{suffix}", layout=layout)
            assert_identical(exchange.read(path), res)


# -- property: a mutated file is refused in one line or read back unchanged ---------------------
@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    """Files of two results in every format and layout: (result, table, bytes, suffix)."""
    folder = tmp_path_factory.mktemp("originals")
    results_ = [synthetic(n=2, shapes=((2, 2), (3,)), n_events=2, n_times=3),
                synthetic(n=1, shapes=((4,),), n_events=1, n_times=2, dtype="float64",
                          refs=False, seed=5)]
    out = []
    for k, res in enumerate(results_):
        for layout in LAYOUTS:
            for fmt, suffix in SUFFIX.items():
                path = exchange.write(res, folder / f"{k}-{layout}{suffix}", layout=layout)
                out.append((res, res.to_arrow(layout), path.read_bytes(), suffix))
    return out


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) |
                    st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=6)
KEYS = sorted(metadata(synthetic().to_arrow()))
MUTATIONS = st.one_of(
    st.tuples(st.just("flip"), st.lists(st.tuples(st.floats(0, 1, exclude_max=True),
                                                  st.integers(1, 255)), min_size=1, max_size=4)),
    st.tuples(st.just("truncate"), st.floats(0, 1, exclude_max=True)),
    st.tuples(st.just("metadata"), st.sampled_from([*KEYS, "extra"]),
              st.sampled_from(["drop", "set", "reverse", "shorten", "repeat"]), JSON),
    st.tuples(st.just("shuffle"), st.integers(0, 2**32 - 1)),
    st.tuples(st.just("column"), st.sampled_from(["drop", "rename", "swap", "retype", "edit"]),
              st.integers(0, 1000), st.integers(0, 1000)),
)


def _edit_metadata(meta: dict, key: str, how: str, value) -> None:
    current = meta.get(key)
    if how == "drop":
        meta.pop(key, None)
    elif how == "set" or not isinstance(current, list) or not current:
        meta[key] = value
    elif how == "reverse":
        current.reverse()
    elif how == "shorten":
        current.pop()
    else:
        current.append(current[0])


def _edit_columns(table, how: str, a: int, b: int):
    names = table.column_names
    i, j = a % len(names), b % len(names)
    if how == "drop":
        return table.remove_column(i)
    if how == "rename":
        return table.rename_columns([f"{n}_" if k == i else n for k, n in enumerate(names)]) \
            .replace_schema_metadata(table.schema.metadata)
    if how == "swap":
        order = list(range(len(names)))
        order[i], order[j] = order[j], order[i]
        return table.select(order)
    numeric = [k for k, f in enumerate(table.schema) if pa.types.is_floating(f.type)
               or pa.types.is_integer(f.type)]
    k = numeric[i % len(numeric)]
    column = table.column(k)
    if how == "retype":
        other = pa.float64() if column.type != pa.float64() else pa.float32()
        return table.set_column(k, names[k], column.cast(other, safe=False))
    data = column.to_numpy().copy()
    if len(data):
        data[b % len(data)] += 1
    return table.set_column(k, names[k], pa.array(data))


def _mutated(original, mutation, folder: Path) -> Path:
    _, table, data, suffix = original
    path = folder / f"m{suffix}"
    kind, *how = mutation
    if kind == "flip":
        changed = bytearray(data)
        for where, bits in how[0]:
            changed[int(where * len(changed))] ^= bits
        path.write_bytes(bytes(changed))
    elif kind == "truncate":
        path.write_bytes(data[:int(how[0] * len(data))])
    elif kind == "metadata":
        meta = metadata(table)
        _edit_metadata(meta, *how)
        save(with_metadata(table, json.dumps(meta, allow_nan=True).encode()), path)
    elif kind == "shuffle":
        order = np.random.default_rng(how[0]).permutation(table.num_rows)
        save(table.take(pa.array(order)), path)
    else:
        save(_edit_columns(table, *how), path)
    return path


@contextmanager
def time_limit(seconds: int):
    def hang(*_):
        raise TimeoutError(f"exchange.read() ran for over {seconds} s")
    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(pick=st.integers(0, 11), mutation=MUTATIONS)
def test_mutated_files_are_refused_or_read_unchanged(originals, pick, mutation, tmp_path):
    original = originals[pick % len(originals)]
    path = _mutated(original, mutation, tmp_path)
    try:
        with time_limit(60):
            back = exchange.read(path)
    except sv.SurvinngError as err:
        assert type(err) is sv.SurvinngError and "\n" not in str(err)
        assert mutation[0] != "shuffle", err  # the same rows in another order read back
        record("result files", "refused in one line")
        return
    assert_identical(back, original[0])
    record("result files", "read back equal")


# -- the result API -------------------------------------------------------------------------------
def test_equals_compares_every_field_exactly():
    res = synthetic()
    assert res == synthetic() and res.equals(synthetic()) and res != synthetic(seed=1)
    nan = synthetic()
    nan.values[0][0, 0, 0, 0, 0] = np.nan
    twin = synthetic()
    twin.values[0][0, 0, 0, 0, 0] = np.nan
    assert nan == twin  # NaN equals NaN
    assert res != res.replace(args={"n": 4}) and res != res.replace(target="cif")
    assert res != res.replace(values=[v.astype("float64") for v in res.values])
    assert res != res.replace(pred_ref=None) and res != res.replace(instance=res.instance + 1)
    assert res != res.replace(event_names=["a", "b"]) and (res == 3) is False


def test_replace_copies_only_what_it_is_given():
    res = synthetic()
    other = res.replace(method="Surv_GradSHAP")
    assert other.method == "Surv_GradSHAP" and res.method == "Surv_IntGrad"
    assert other.values[0] is res.values[0] and other.pred is res.pred
    with one_line_error("`colour` of replace() must be a SurvResult field"):
        res.replace(colour="red")


def test_isel_and_sel_pick_the_same_cells():
    res = synthetic(n=4, shapes=((2, 3),), n_events=2, n_times=5)
    by_position = res.isel(instance=[2, 0], event=1, time=[4, 1], feature=[5, 0])
    by_label = res.sel(instance=[12, 10], event="event_2", time=[res.time[4] + 1e-9, res.time[1]],
                       feature=["x0_5", "x0_0"])
    assert by_position == by_label
    np.testing.assert_array_equal(by_label.values[0],
                                  res.values[0].reshape(4, 6, 2, 5)[[2, 0]][:, [5, 0]][:, :, [1]]
                                  [..., [4, 1]])
    assert by_label.feature_names == [["x0_5", "x0_0"]] and by_label.event_names == ["event_2"]
    np.testing.assert_array_equal(by_label.pred_diff, res.pred_diff[[2, 0]][:, [1]][..., [4, 1]])
    between = (res.time[1] + res.time[2]) / 2
    assert res.sel(time=between).time[0] == res.time[1]  # a tie goes to the earlier time
    assert res.sel(time=np.nextafter(between, np.inf)).time[0] == res.time[2]
    two = synthetic()
    assert two.sel(input="input_2", feature="x1_3") == two.isel(input=1, feature=3)
    assert two.isel(instance=[]).values[0].shape == (0, 2, 3, 2, 5)


@pytest.mark.parametrize("call, message", [
    (lambda r: r.isel(instance=3), "`instance` of isel() must be positions below 3"),
    (lambda r: r.isel(event=-3), "`event` of isel() must be positions below 2"),
    (lambda r: r.isel(time=[0, 9]), "`time` of isel() must be positions below 5"),
    (lambda r: r.isel(instance=[True, False]), "boolean mask of length 3"),
    (lambda r: r.isel(input=2), "`input` of isel() must be an input index below 2"),
    (lambda r: r.sel(instance=10.0), "`instance` of sel() must be labels of this result"),
    (lambda r: r.sel(input="input_1", feature="x1_0"), "`feature` of sel() must be labels"),
])
def test_selection_errors_name_the_argument(call, message):
    with one_line_error(message):
        call(synthetic())


def test_to_pandas_is_the_arrow_table():
    res = synthetic()
    for layout in LAYOUTS:
        frame = res.to_pandas(layout)
        assert frame.equals(res.to_arrow(layout).to_pandas())
        assert list(frame.columns) == res.to_arrow(layout).column_names
    long = res.to_pandas()
    assert list(long["feature"].cat.categories) == sum(res.feature_names, [])
    row = long.iloc[137]
    k = res.input_names.index(row.input)
    cell = np.unravel_index(row.feature_index, res.feature_shapes[k])
    at = (list(res.instance).index(row.instance), *cell, res.event_names.index(row.event),
          int(np.flatnonzero(res.time == row.time)[0]))
    assert row.value == res.values[k][at]
