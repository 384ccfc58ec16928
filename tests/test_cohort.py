"""Cohort-scale explanations: parts equal the method on the same rows, in this process
and on a local Dask cluster; resume, refusals and one-line errors."""

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

import survinng_py as sv
from survinng_py import exchange
from survinng_py import cohort
from survinng_py._cohort_units import NoiseStreams
from survinng_py._validation import SurvinngError
from survinng_py.cohort import MANIFEST

COLUMNS = [f"X{j + 1}" for j in range(4)]
TIMES = np.linspace(0.5, 3.0, 5)
METHODS = [
    ("grad", {}),
    ("intgrad", {"n": 4}),
    ("gradshap", {"n": 3, "num_samples": 4, "seed": 7}),
    ("smoothgrad", {"n": 3, "noise_level": 0.3, "seed": 11}),
]


class CauseSpecific(torch.nn.Module):
    """Competing risks: output (B, R, T)."""

    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 2 * len(TIMES))
        )

    def forward(self, x):
        return self.body(x).view(x.shape[0], 2, len(TIMES))


def _explainer(kind):
    torch.manual_seed(0)
    train = pd.DataFrame(np.random.default_rng(1).normal(size=(25, 4)), columns=COLUMNS)
    if kind == "cox":
        net = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 1))
        return sv.explain(
            net.double(),
            train,
            model_type="deepsurv",
            dtype="float64",
            baseline_hazard=(TIMES.tolist(), [0.1, 0.2, 0.3, 0.5, 0.8]),
        )
    return sv.explain(
        CauseSpecific().double(),
        train,
        model_type="deephit",
        dtype="float64",
        time_bins=TIMES.tolist(),
        event_names=["relapse", "death"],
    )


ROWS = pd.DataFrame(np.random.default_rng(2).normal(size=(17, 4)), columns=COLUMNS)
TARGET = {"cox": "survival", "deephit": "cif"}


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    """Per model kind: its explainer and a bundle of it."""
    folder = tmp_path_factory.mktemp("bundles")
    return {kind: (_explainer(kind), sv.save_model(_explainer(kind), folder / kind))
            for kind in TARGET}


@pytest.fixture(params=list(TARGET))
def model(request, bundles):
    return (request.param, *bundles[request.param])


def _source(folder, group_sizes):
    """ROWS split over two files with the given row-group sizes."""
    folder.mkdir()
    table = pa.Table.from_pandas(ROWS, preserve_index=False)
    pq.write_table(table.slice(0, 9), folder / "a.parquet", row_group_size=group_sizes[0])
    pq.write_table(table.slice(9), folder / "b.parquet", row_group_size=group_sizes[1])
    return folder


def _draws_at(exp, first_row, name, kwargs):
    """The method's options for rows that start at row ``first_row`` of one call on all
    rows. The seed alone fixes GradSHAP(t)'s draws (references, path positions), whatever
    the rows. SmoothGrad(t) draws its noise row after row from one stream per input: its
    streams are those of the one call, played forward here (one shaped draw per input, as
    the method draws) past the ``first_row`` rows before."""
    if name != "smoothgrad":
        return kwargs
    streams = np.random.default_rng(kwargs["seed"]).spawn(len(exp.data))
    for stream, data in zip(streams, exp.data):
        stream.standard_normal((first_row * kwargs["n"], *data.shape[1:]))
    return {**kwargs, "seed": NoiseStreams([s.bit_generator.state for s in streams])}


def _same_as_method(exp, out, name, target, kwargs, rows=ROWS):
    """What explain_dataset promises, checked on its output folder ``out``:

    - each part is bit-identical to the method called on that part's rows alone, with the
      draws one call on all rows makes for them (``_draws_at``): so the draws do not
      depend on the partitioning, and neither does anything else but the batch;
    - joined, the parts equal one call on all rows within rtol 1e-13 (atol 1e-15 for
      values near 0), not bit for bit: torch's float64 CPU matrix products may round a row
      differently depending on how many rows share its batch (about 1e-16 relative in a
      product; up to ~2e-14 in DeepHit's Grad(t) here, after the chain rule), and
      a part's batch holds only the part's rows.
    """
    manifest = json.loads((out / MANIFEST).read_text())
    function = getattr(sv, f"surv_{name}")
    for part in manifest["parts"]:
        take = slice(part["first_row"], part["first_row"] + part["n_rows"])
        alone = function(exp, _rows(rows, take), target=target,
                         **_draws_at(exp, part["first_row"], name, kwargs))
        ids = np.arange(take.start, take.stop)
        args = {**alone.args, "instance": ids.tolist()}
        if "seed" in kwargs:
            args["seed"] = kwargs["seed"]
        assert exchange.read(out / part["file"]) == alone.replace(instance=ids, args=args)
    joined, full = exchange.read_dataset(out), function(exp, rows, target=target, **kwargs)
    assert joined.args == full.args
    assert np.array_equal(joined.instance, np.arange(len(full.instance)))
    for a, b in zip([*joined.values, joined.pred], [*full.values, full.pred]):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
    return manifest


def _rows(rows, take):
    return rows.iloc[take] if isinstance(rows, pd.DataFrame) else [r[take] for r in rows]


@pytest.mark.parametrize("name,kwargs", METHODS)
def test_in_process_parts_equal_the_method(model, name, kwargs, tmp_path, monkeypatch):
    kind, exp, bundle = model
    target = TARGET[kind]
    # SmoothGrad(t)'s streams are played forward in chunks of 7 variates: not a multiple
    # of the 4 features, so the chunks cut rows and copies (the numbers must not change)
    monkeypatch.setattr(cohort, "_NOISE_CHUNK", 7)
    for k, (groups, per_task) in enumerate([((4, 3), 5), ((9, 8), 100)]):
        source = _source(tmp_path / f"src{k}", groups)
        out = tmp_path / f"out{k}"
        seen = []
        res = sv.explain_dataset(
            exp,
            source,
            out,
            method=name,
            target=target,
            rows_per_task=per_task,
            progress=lambda d, t: seen.append(d),
            **kwargs,
        )
        manifest = _same_as_method(exp, out, name, target, kwargs)
        assert res.n_rows == 17 and res.n_parts == len(manifest["parts"]) == len(seen)
        assert sum(p["n_rows"] for p in manifest["parts"]) == 17
        # summaries: the mean over all rows of |attribution| and of the prediction
        full = exchange.read_dataset(out)
        mean_abs = np.abs(full.values[0]).mean(axis=0)
        np.testing.assert_allclose(res.importance["mean_abs"], mean_abs.ravel(), rtol=1e-12)
        np.testing.assert_allclose(
            res.prediction["mean_pred"], full.pred.mean(axis=0).ravel(), rtol=1e-12
        )
        assert pd.read_parquet(out / "_importance.parquet").equals(res.importance)
        assert res.shares is None and not (out / "_shares.parquet").exists()  # one input
    assert res.n_parts == 2  # the second plan: one unit per file


class TableAndScan(torch.nn.Module):
    """Two inputs: a table of 3 features and a (1, 2, 2) tensor."""

    def __init__(self):
        super().__init__()
        self.table, self.scan = torch.nn.Linear(3, 5), torch.nn.Linear(4, 5)
        self.out = torch.nn.Linear(5, 1)

    def forward(self, table, scan):
        return self.out(torch.tanh(self.table(table) + self.scan(scan.flatten(1))))


def _two_inputs(names=("age", "bmi", "ldl")):
    torch.manual_seed(3)
    rng = np.random.default_rng(4)
    table = pd.DataFrame(rng.normal(size=(30, 3)), columns=list(names))
    return sv.explain(TableAndScan().double(), [table, rng.normal(size=(30, 1, 2, 2))],
                      model_type="deepsurv", dtype="float64", input_names=["clinical", "scan"],
                      baseline_hazard=(TIMES.tolist(), [0.1, 0.2, 0.3, 0.5, 0.8]))


@pytest.mark.parametrize("name,kwargs", [METHODS[0], METHODS[3]])
def test_several_inputs_and_the_cohort_modality_shares(name, kwargs, tmp_path):
    exp = _two_inputs()
    rng = np.random.default_rng(5)
    rows = [pd.DataFrame(rng.normal(size=(11, 3)), columns=exp.feature_names[0]),
            rng.normal(size=(11, 1, 2, 2))]
    # one column per feature of each input (the tensor's elements row-major), any order
    columns = {**rows[0], **dict(zip(exp.feature_names[1], rows[1].reshape(11, -1).T))}
    assert exp.feature_names[1][:2] == ["X1:Y1:Z1", "X1:Y1:Z2"]
    frame = pd.DataFrame(columns)[sorted(columns)]
    (tmp_path / "src").mkdir()
    frame.to_parquet(tmp_path / "src" / "rows.parquet", row_group_size=4)
    out = tmp_path / "out"
    res = sv.explain_dataset(exp, tmp_path / "src", out, method=name, rows_per_task=3, **kwargs)
    assert res.n_parts == 5  # row groups of 4, 4 and 3 rows: 3 + 1, 3 + 1, 3
    _same_as_method(exp, out, name, "survival", kwargs, rows=rows)
    # the shares: those of the full result, computed without it, and written beside it
    full = exchange.read_dataset(out)
    expected = sv.modality_shares(sv.modality_totals(full), cohort=True)
    assert list(res.shares.columns) == list(expected.columns)
    assert res.shares[["modality", "event"]].equals(expected[["modality", "event"]])
    np.testing.assert_allclose(res.shares[["time", "share"]], expected[["time", "share"]],
                               rtol=1e-12)
    assert pd.read_parquet(out / "_shares.parquet").equals(res.shares)
    clashing = _two_inputs(names=("age", "X1:Y1:Z1", "ldl"))
    with pytest.raises(SurvinngError, match="^`model` of explain_dataset\\(\\) must be a model "
                       "whose inputs' feature names are distinct \\(one column per feature\\); "
                       "got 'X1:Y1:Z1' in two inputs$"):
        sv.explain_dataset(clashing, tmp_path / "src", tmp_path / "o2")
    assert not (tmp_path / "o2").exists()


def test_resume_after_a_part_is_deleted(model, tmp_path):
    kind, exp, bundle = model
    source = _source(tmp_path / "src", (4, 3))
    kwargs = {
        "method": "gradshap",
        "target": TARGET[kind],
        "rows_per_task": 4,
        "n": 2,
        "num_samples": 3,
    }
    sv.explain_dataset(bundle, source, tmp_path / "out", seed=3, **kwargs)
    first = {p.name: p.read_bytes() for p in (tmp_path / "out").glob("part-*.parquet")}
    (tmp_path / "out" / "part-00002.parquet").unlink()
    (tmp_path / "out" / "part-00003.parquet").write_bytes(b"torn")
    with pytest.raises(SurvinngError, match="must be a folder that does not exist yet"):
        sv.explain_dataset(bundle, source, tmp_path / "out", seed=3, **kwargs)
    with pytest.raises(
        SurvinngError,
        match="used with the same model, source, method and "
        "arguments as the first run; got a different arguments",
    ):
        sv.explain_dataset(bundle, source, tmp_path / "out", seed=4, resume=True, **kwargs)
    (tmp_path / "out" / ".part-00002.parquet.x1y2.tmp").write_bytes(b"left by a kill")
    done = []
    sv.explain_dataset(  # without a seed: the recorded one
        bundle,
        source,
        tmp_path / "out",
        resume=True,
        progress=lambda d, t: done.append(d),
        **kwargs,
    )
    assert not list((tmp_path / "out").glob(".*"))
    assert done == [len(first) - 1, len(first)]  # only the two missing parts were computed
    again = {p.name: p.read_bytes() for p in (tmp_path / "out").glob("part-*.parquet")}
    assert again == first


def test_bad_input_is_one_line_naming_the_file(tmp_path):
    exp = _explainer("cox")
    source = _source(tmp_path / "src", (9, 8))
    bad = ROWS.iloc[9:].copy()
    bad.iloc[2, 1] = np.nan
    bad.to_parquet(source / "b.parquet", index=False)
    with pytest.raises(SurvinngError) as err:
        sv.explain_dataset(exp, source, tmp_path / "out", rows_per_task=4)
    message = str(err.value)
    assert "\n" not in message and f"{source / 'b.parquet'} rows 9-12" in message
    assert "finite" in message
    # parts before the failing unit are complete and listed; nothing half-written
    manifest = json.loads((tmp_path / "out" / MANIFEST).read_text())
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == sorted([MANIFEST] + [p["file"] for p in manifest["parts"]])
    assert [p["unit"] for p in manifest["parts"]] == [0, 1, 2]
    (source / "a.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(
        SurvinngError, match=f"must be readable Parquet files; got {source / 'a.parquet'}: "
    ):
        sv.explain_dataset(exp, source, tmp_path / "out2")
    assert not (tmp_path / "out2").exists()


def test_refusals(tmp_path):
    exp = _explainer("cox")
    source = _source(tmp_path / "src", (9, 8))
    cases = [
        (
            {"method": "shap"},
            "`method` of explain_dataset() must be one of the gradient methods grad, intgrad, "
            "gradshap, smoothgrad; got 'shap'",
        ),
        (
            {"seed": 1},
            "`seed` of explain_dataset() must be left out for method 'grad' (it draws "
            "nothing); got 1",
        ),
        (
            {"rows_per_task": 0},
            "`rows_per_task` of explain_dataset() must be an integer >= 1; got 0",
        ),
        (
            {"resume": True},
            "`model` of explain_dataset() must be a bundle folder (save_model) when resume=True",
        ),
        (
            {"target": "cif"},
            "`target` of explain_dataset() must be one of the model's targets (survival, ",
        ),
        ({"method": "intgrad", "n": "4"}, "`n` of explain_dataset() must be of type int (an "
                                          "option of 'intgrad'); got '4'"),
        ({"noise_level": 0.1}, "`noise_level` of explain_dataset() must be left out: method "
                               "'grad' takes times_input, given, include_time, batch_size here"),
    ]
    for kwargs, message in cases:
        with pytest.raises(SurvinngError) as err:
            sv.explain_dataset(exp, source, tmp_path / "out", **kwargs)
        assert str(err.value).startswith(message)
    (tmp_path / "taken").mkdir()
    with pytest.raises(
        SurvinngError,
        match="`out` of explain_dataset\\(\\) must be a folder that does not exist yet",
    ):
        sv.explain_dataset(exp, source, tmp_path / "taken")


# -- on a local Dask cluster ------------------------------------------------------------------
@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            memory_limit="1GiB",
        ) as cluster,
        distributed.Client(cluster) as dask_client,
    ):
        yield dask_client


@pytest.mark.parametrize("name,kwargs", METHODS)
def test_cluster_parts_equal_the_method(model, client, name, kwargs, tmp_path):
    kind, exp, bundle = model
    source = _source(tmp_path / "src", (4, 3))
    sv.explain_dataset(
        bundle,
        source,
        tmp_path / "out",
        method=name,
        target=TARGET[kind],
        client=client,
        rows_per_task=5,
        **kwargs,
    )
    _same_as_method(exp, tmp_path / "out", name, TARGET[kind], kwargs)
    # the same bytes as in this process
    sv.explain_dataset(
        bundle,
        source,
        tmp_path / "here",
        method=name,
        target=TARGET[kind],
        rows_per_task=5,
        **kwargs,
    )
    for part in (tmp_path / "out").glob("part-*.parquet"):
        assert part.read_bytes() == (tmp_path / "here" / part.name).read_bytes()


def test_cluster_with_an_explainer_and_a_failing_unit(client, tmp_path):
    exp = _explainer("cox")
    source = _source(tmp_path / "src", (9, 8))
    res = sv.explain_dataset(exp, source, tmp_path / "out", client=client, rows_per_task=4)
    assert res.n_parts == 5 and not client.run(lambda: 0) == {}  # workers still there
    _same_as_method(exp, tmp_path / "out", "grad", "survival", {})
    bad = ROWS.iloc[9:].copy()
    bad.iloc[2, 1] = np.nan
    bad.to_parquet(source / "b.parquet", index=False)
    with pytest.raises(SurvinngError) as err:
        sv.explain_dataset(exp, source, tmp_path / "out2", client=client, rows_per_task=4)
    assert "\n" not in str(err.value) and f"{source / 'b.parquet'} rows 9-12" in str(err.value)
    manifest = json.loads((tmp_path / "out2" / MANIFEST).read_text())
    names = sorted(p.name for p in (tmp_path / "out2").iterdir())
    assert names == sorted([MANIFEST] + [p["file"] for p in manifest["parts"]])


def test_sources_layouts_and_overwrite(tmp_path):
    import pyarrow.dataset as ds

    exp = _explainer("deephit")
    source = _source(tmp_path / "src", (4, 3))
    first = sv.explain_dataset(exp, source, tmp_path / "dir", target="cif", rows_per_task=5)
    expected = exchange.read_dataset(tmp_path / "dir")
    for k, given in enumerate([str(source / "*.parquet"), ds.dataset(source, format="parquet"),
                               [source / "a.parquet", source / "b.parquet"]]):
        sv.explain_dataset(exp, given, tmp_path / f"o{k}", target="cif", rows_per_task=5,
                           layout="wide")
        assert exchange.read_dataset(tmp_path / f"o{k}") == expected
        assert pd.read_parquet(tmp_path / f"o{k}" / "part-00000.parquet").columns[3] == "X1"
    # the parts read as one table by a plain Parquet reader, in row order
    table = ds.dataset(tmp_path / "dir", format="parquet").to_table()
    assert table.num_rows == 17 * 4 * 2 * len(TIMES)
    # DuckDB and polars over the glob of the parts (the folder holds other files too)
    duckdb, pl = pytest.importorskip("duckdb"), pytest.importorskip("polars")
    parts = str(tmp_path / "dir" / "part-*.parquet")
    totals = (table.num_rows, float(np.abs(expected.values[0]).sum()), 16)
    query = f"SELECT count(*), sum(abs(value)), max(instance) FROM read_parquet('{parts}')"
    by_duckdb = duckdb.sql(query).fetchall()[0]
    by_polars = pl.scan_parquet(parts).select(
        pl.len(), pl.col("value").abs().sum(), pl.col("instance").max()).collect().row(0)
    for count, total, last in (by_duckdb, by_polars):
        assert (count, last) == (totals[0], totals[2])
        np.testing.assert_allclose(total, totals[1], rtol=1e-12)
    assert first.n_parts == 4
    # overwrite replaces the whole run: no part of the first one is left
    sv.explain_dataset(exp, source, tmp_path / "dir", target="cif", rows_per_task=100,
                       overwrite=True)
    assert sorted(p.name for p in (tmp_path / "dir").glob("part-*")) == [
        "part-00000.parquet", "part-00001.parquet"]
    _same_as_method(exp, tmp_path / "dir", "grad", "cif", {})


def test_without_dask(tmp_path, monkeypatch):
    import subprocess
    import sys

    exp = _explainer("cox")
    source = _source(tmp_path / "src", (9, 8))
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    with pytest.raises(SurvinngError, match='Dask is not installed \\(pip install '
                                            '"survinng-py\\[dask\\]"\\)'):
        sv.explain_dataset(exp, source, tmp_path / "out", client=object())
    sv.save_model(exp, tmp_path / "bundle")
    code = ("import sys, survinng_py as sv; "
            f"sv.explain_dataset({str(tmp_path / 'bundle')!r}, {str(source)!r}, "
            f"{str(tmp_path / 'o')!r}); print('distributed' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"


def test_command_line_folder_mode(bundles, tmp_path, capsys):
    from survinng_py.cli import main

    pytest.importorskip("distributed")  # the resume below runs on --workers 2
    bundle = bundles["cox"][1]
    source = _source(tmp_path / "src", (4, 3))
    options = ["--method", "gradshap", "--n", "3", "--num-samples", "2", "--seed", "5",
               "--rows-per-task", "5", "--no-progress"]
    assert main(["explain", str(bundle), str(source), "--out", str(tmp_path / "cli"),
                 *options]) == 0
    assert "4 part(s), 17 rows of GradSHAP(t) of survival" in capsys.readouterr().out
    sv.explain_dataset(bundle, source, tmp_path / "py", method="gradshap", n=3, num_samples=2,
                       seed=5, rows_per_task=5)
    assert exchange.read_dataset(tmp_path / "cli") == exchange.read_dataset(tmp_path / "py")
    (tmp_path / "cli" / "part-00001.parquet").unlink()
    assert main(["explain", str(bundle), str(source), "--out", str(tmp_path / "cli"),
                 "--resume", "--workers", "2", *options]) == 0
    assert exchange.read_dataset(tmp_path / "cli") == exchange.read_dataset(tmp_path / "py")
    # SmoothGrad(t) through the command line: the numbers of the Python call
    assert main(["explain", str(bundle), str(source), "--out", str(tmp_path / "sg"), "--method",
                 "smoothgrad", "--n", "2", "--seed", "3", "--rows-per-task", "6",
                 "--no-progress"]) == 0
    sv.explain_dataset(bundle, source, tmp_path / "sg_py", method="smoothgrad", n=2, seed=3,
                       rows_per_task=6)
    assert exchange.read_dataset(tmp_path / "sg") == exchange.read_dataset(tmp_path / "sg_py")
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["explain", str(bundle), str(source / "a.parquet"), "--out",
              str(tmp_path / "x.parquet"), "--method", "grad", "--workers", "2"])
    assert capsys.readouterr().err.strip() == (
        "survinng-py explain: error: `--workers` of survinng-py explain must be used with a "
        "folder as --out; got 2")


def test_cluster_survives_a_killed_worker(bundles, client, tmp_path):
    import contextlib
    import os

    exp, bundle = bundles["cox"]
    source = _source(tmp_path / "src", (4, 3))
    call = {"method": "gradshap", "rows_per_task": 2, "n": 200, "num_samples": 20, "seed": 1}
    before = set(client.scheduler_info()["workers"])
    killed = []

    def kill_one(done, total):  # after the first part: one worker dies mid-run
        if not killed:
            killed.append(sorted(before)[0])
            with contextlib.suppress(Exception):  # the connection dies with the worker
                client.run(os._exit, 1, workers=killed)

    sv.explain_dataset(bundle, source, tmp_path / "out", client=client, progress=kill_one,
                       **call)
    sv.explain_dataset(bundle, source, tmp_path / "here", **call)
    names = sorted(p.name for p in (tmp_path / "here").glob("part-*.parquet"))
    assert names == sorted(p.name for p in (tmp_path / "out").glob("part-*.parquet"))
    for name in names:
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "here" / name).read_bytes()
    client.wait_for_workers(2, timeout=60)  # the nanny restarts it, with a new address
    assert killed[0] not in set(client.scheduler_info()["workers"])
