"""The engine's schemes, its measured plan, chunking, the compile option and memory."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TwoInputNet

import survinng_py as sv
from survinng_py import engine

TIMES = np.linspace(0.5, 6.0, 12)


def _explainer(kind: str, p: int = 3, rows: int = 40):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    if kind == "two_input":
        data = [rng.normal(size=(rows, 1, 3, 3)), rng.normal(size=(rows, 4))]
        return sv.explain(TwoInputNet(12), data, model_type="deephit", time_bins=TIMES,
                          dtype="float64")
    if kind == "coxtime":
        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = torch.nn.Sequential(torch.nn.Linear(p + 1, 8), torch.nn.Tanh(),
                                               torch.nn.Linear(8, 1))

            def forward(self, x, tau):
                return self.lin(torch.cat([x, tau], dim=1))

        return sv.explain(Net(), rng.normal(size=(rows, p)), model_type="coxtime",
                          baseline_hazard=(TIMES, np.full(12, 0.1)), dtype="float64")
    width = {"deephit": 12, "mtlr": 12, "pchazard": 11}[kind]
    net = torch.nn.Sequential(torch.nn.Linear(p, 8), torch.nn.Tanh(), torch.nn.Linear(8, width))
    return sv.explain(net, rng.normal(size=(rows, p)), model_type=kind, time_bins=TIMES,
                      dtype="float64")


def _with(model, inputs, target, chosen):
    return engine._jacobian_chunk(model, inputs, target, chosen)


@pytest.mark.parametrize("kind", ["deephit", "mtlr", "pchazard", "coxtime", "two_input"])
def test_every_scheme_gives_the_same_jacobian(kind):
    exp = _explainer(kind)
    model, inputs = exp.model, exp.data
    target = model.targets[0]
    value, want = _with(model, inputs, target, engine.Plan("vjp", False))
    for scheme in ("jvp", "rr"):
        got_value, got = _with(model, inputs, target, engine.Plan(scheme, False))
        torch.testing.assert_close(got_value, value, rtol=0, atol=0)
        for g, w in zip(got, want):
            torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-13)
    factored = _with(model, inputs, target, engine.Plan("vjp", True))[1]
    for g, w in zip(factored, want):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-13)


def test_jacobian_equals_finite_differences():
    exp = _explainer("deephit", rows=5)
    x = exp.data[0]
    jac = engine.jacobian(exp.model, [x], "survival")[1][0]
    eps = 1e-6
    for j in range(x.shape[1]):
        step = torch.zeros_like(x)
        step[:, j] = eps
        up = engine.predict(exp.model, [x + step], "survival")
        down = engine.predict(exp.model, [x - step], "survival")
        torch.testing.assert_close(jac[:, j], (up - down) / (2 * eps), rtol=1e-6, atol=1e-9)


def test_chunks_write_the_same_rows_as_one_batch(monkeypatch):
    exp = _explainer("deephit", rows=700)
    one_value, one = engine.jacobian(exp.model, exp.data, "cif")  # 700 rows: one chunk
    monkeypatch.setattr(engine, "JACOBIAN_ROWS_MIN", 256)
    monkeypatch.setattr(engine, "JACOBIAN_ROWS_MAX", 256)
    value, chunked = engine.jacobian(exp.model, exp.data, "cif")  # 256 + 256 + 188
    assert chunked[0].is_contiguous() and chunked[0].shape == one[0].shape
    torch.testing.assert_close(value, one_value, rtol=1e-14, atol=1e-15)
    torch.testing.assert_close(chunked[0], one[0], rtol=1e-12, atol=1e-15)


def test_networks_outside_the_layer_chain_take_smaller_chunks(monkeypatch):
    """Their autograd schemes hold each activation's derivatives along every direction:
    chunks are sized with them (down to 64 rows), and write the same rows."""
    two, chain = _explainer("two_input", rows=300), _explainer("deephit", rows=300)
    one_value, one = engine.jacobian(two.model, two.data, "cif")  # 300 rows: one chunk
    monkeypatch.setattr(engine, "JACOBIAN_CHUNK_BYTES", 2**16)
    assert engine.jacobian_rows(two.model, two.data) == engine.JACOBIAN_ROWS_MIN_AUTOGRAD == 64
    assert engine.jacobian_rows(chain.model, chain.data) == engine.JACOBIAN_ROWS_MIN == 512
    value, chunked = engine.jacobian(two.model, two.data, "cif")  # 4 x 64 + 44 rows
    torch.testing.assert_close(value, one_value, rtol=1e-14, atol=1e-15)
    for got, want in zip(chunked, one):
        assert got.is_contiguous()
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-15)


def test_plan_is_measured_once_per_chunk_size_and_cached(monkeypatch):
    exp = _explainer("deephit", p=2, rows=600)
    model, x = exp.model, exp.data[0]
    calls = []
    fastest = engine._fastest
    monkeypatch.setattr(engine, "_fastest",
                        lambda *args: calls.append(args[-1]) or fastest(*args))
    few = engine.plan(model, [x[:10]], "pmf")  # few rows: the first candidate, unmeasured
    assert calls == [] and few == engine.Plan("jvp", False)  # a layer chain's derivatives
    chosen = engine.plan(model, [x], "pmf", rows=300)
    assert len(calls) == 1 and chosen in calls[0]
    assert {p.scheme for p in calls[0]} == {"jvp", "rr"}  # vjp: 2K = 24 > 4 x 2D = 16
    assert engine.plan(model, [x], "pmf", rows=500) is chosen  # the same power-of-two bucket
    assert len(calls) == 1


def test_a_network_without_forward_mode_is_measured_on_reverse_schemes_only():
    class Once(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return torch.tanh(x)

        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * (1 - torch.tanh(x) ** 2)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = torch.nn.Linear(3, 6), torch.nn.Linear(6, 12)

        def forward(self, x):
            return self.b(Once.apply(self.a(x)))

    torch.manual_seed(0)
    data = np.random.default_rng(0).normal(size=(300, 3))
    exp = sv.explain(Net(), data, model_type="deephit", time_bins=TIMES, dtype="float64")
    assert engine.plan(exp.model, exp.data, "survival", rows=300) == engine.Plan("vjp", False)
    assert engine._cache(exp.model)["forward"] == {"jvp": False, "rr": False}


def test_compile_falls_back_where_no_compiler_works(monkeypatch):
    def no_compiler(fn, **kwargs):
        def compiled(*args):
            raise RuntimeError("no C++ compiler")
        return compiled

    monkeypatch.setattr(torch, "compile", no_compiler)
    exp = _explainer("deephit", rows=300)
    want = engine.jacobian(exp.model, exp.data, "survival")[1][0]
    previous = engine.set_compile(True)
    try:
        chosen = engine.plan(exp.model, exp.data, "survival", rows=300)
        got = engine.jacobian(exp.model, exp.data, "survival")[1][0]
    finally:
        engine.set_compile(previous)
    assert not chosen.compiled
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-15)


_PEAK = textwrap.dedent("""
    import resource, numpy as np, torch
    import survinng_py as sv
    from survinng_py import engine
    torch.manual_seed(0)
    n, p, t = 100_000, 4, 100
    net = torch.nn.Sequential(torch.nn.Linear(p, 16), torch.nn.ReLU(), torch.nn.Linear(16, t))
    x = torch.randn(n, p)
    exp = sv.explain(net, x[:50].numpy(), model_type="deephit", time_bins=np.arange(t * 1.0))
    sv.surv_grad(exp, x[:300].numpy(), batch_size=100)  # plans and libraries loaded
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    value, jac = {call}
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
    print(grown / (jac.nbytes + value.nbytes))
""")


@pytest.mark.parametrize("call", [
    # the engine on 100k rows: chunks written into one result
    '(lambda v, j: (v.numpy(), j[0].numpy()))(*engine.jacobian(exp.model, [x], "survival"))',
    # the method in four batches: each written into the result, not copied there
    '(lambda r: (r.pred, r.values[0]))(sv.surv_grad(exp, x.numpy(), batch_size=30_000))',
])
def test_peak_memory_is_the_result_and_a_chunk(call):
    """100k rows x 4 inputs x 100 times: the 160 MB Jacobian and the 40 MB target are the
    only arrays of their size (the rest is one chunk's, a few MB)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-c", _PEAK.format(call=call)], capture_output=True,
                         text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert float(run.stdout.strip().splitlines()[-1]) < 1.15


def test_forward_mode_through_a_layer_chain_equals_reverse_mode():
    """A torchtuples MLP (linear, ReLU, batch norm, dropout) and a sigmoid/tanh chain take
    the closed-form layer derivatives; they agree with reverse mode and with autograd's
    forward mode."""
    import torchtuples as tt

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    mlp = tt.practical.MLPVanilla(3, [8, 8], 12, batch_norm=True, dropout=0.2)
    mlp(torch.randn(50, 3))  # running statistics away from 0 and 1
    chain = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Sigmoid(),
                                torch.nn.Sequential(torch.nn.Linear(6, 6), torch.nn.Tanh()),
                                torch.nn.Identity(), torch.nn.Linear(6, 12))
    for net in (mlp, chain):
        exp = sv.explain(net, rng.normal(size=(30, 3)), model_type="deephit",
                         time_bins=TIMES, dtype="float64")
        model, inputs = exp.model, exp.data
        assert engine.layer_chain(model, inputs) is not None
        value, want = engine._net_tangents(model, inputs, "vjp")
        got_value, got = engine._net_tangents(model, inputs, "jvp")
        torch.testing.assert_close(got_value, value, rtol=1e-14, atol=1e-15)
        torch.testing.assert_close(got[0], want[0], rtol=1e-12, atol=1e-14)
        autograd = engine._net_tangents(model, inputs, "rr")[1][0]
        torch.testing.assert_close(got[0], autograd, rtol=1e-12, atol=1e-14)


def test_a_network_outside_the_layer_chain_takes_autograd_forward_mode():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    elu = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.ELU(), torch.nn.Linear(6, 12))
    exp = sv.explain(elu, rng.normal(size=(30, 3)), model_type="deephit", time_bins=TIMES,
                     dtype="float64")
    assert engine.layer_chain(exp.model, exp.data) is None
    # on few rows (unmeasured) reverse over reverse, not autograd's forward mode
    assert engine.plan(exp.model, exp.data, "pmf", rows=10) == engine.Plan("rr", False)
    two = _explainer("two_input")
    assert engine.layer_chain(two.model, two.data) is None
    got = engine._net_tangents(exp.model, exp.data, "jvp")[1][0]
    want = engine._net_tangents(exp.model, exp.data, "vjp")[1][0]
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-14)


def test_predict_batches_are_bounded_in_network_rows(monkeypatch):
    """CoxTime runs its network on every (instance, time) row: a batch of predictions
    holds at most PREDICT_ROWS_MAX network rows, and batching does not change them."""
    exp = _explainer("coxtime", rows=200)
    model, inputs = exp.model, exp.data
    assert model.rows_per_instance == 12
    whole = engine.predict(model, inputs, "survival")
    monkeypatch.setattr(engine, "PREDICT_ROWS_MAX", 120)
    assert engine.predict_rows(model, inputs) == 10  # 10 instances x 12 times
    torch.testing.assert_close(engine.predict(model, inputs, "survival"), whole, rtol=1e-14, atol=1e-15)
