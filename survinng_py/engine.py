"""Vectorised Jacobians of a survival target over the whole time grid.

For a batch of points the engine returns d target(event, t) / d input for every event
and time at once, with the chain rule J = J_head . J_net. There is no loop over time
points, and the result is one array per input, written once, chunk by chunk.

* **The network part**: ``phi`` (the head's input, ``MK`` numbers per instance: network
  rows per instance x network outputs ``K``) and its derivative along each of the ``D``
  input directions, ``dphi`` ``(rows, D, MK)``, by one of three schemes:

  - ``"vjp"``: reverse mode, one backward pass per network output column (vectorised
    with ``torch.func.vmap``); CoxTime's rows ``(x, tau_j)`` are separate network rows,
    so one pass serves every time point;
  - ``"jvp"``: forward mode: for a plain chain of layers (:func:`layer_chain`: linear,
    eval-mode batch norm and dropout, elementwise activations, as pycox's and
    torchtuples' MLPs) each layer's closed-form derivative, all ``D`` directions of all
    rows in one matrix product per linear layer (no autograd graph, no ``vmap``); for
    any other network ``torch.func.jvp`` under ``vmap`` over the ``D`` unit tangents;
  - ``"rr"``: the derivative of a vector-Jacobian product with respect to its cotangent
    (reverse over reverse): one backward pass that keeps its graph, then ``D`` products;

* **The head part**: the head's closed-form Jacobian-vector products
  (:meth:`~survinng_py.models.base.SurvivalModel.head_jvp`, O(T) per direction) push
  the ``D`` directions through the head (``"pushed"``); or, when the head takes few
  numbers (DeepSurv: ``MK = 1``), the head's own Jacobian ``H`` (``MK`` directions) and
  ``J = dphi . H`` as one batched product (``"factored"``; methods that average over
  many points per instance contract the factors without forming J, see
  :func:`jacobian_factors`).

Which combination runs is measured, not assumed: the first time a model meets an input
shape, a target and a chunk size, the engine times every scheme that can win there on
that many rows and keeps the fastest (:func:`plan`). Schemes that need a second
derivative of the network (``"jvp"``, ``"rr"``) are first checked against ``"vjp"`` on
two rows: ops without a double backward or a forward-mode rule either raise or, worse,
return zeros. Rows are independent (the network is in eval mode), so results do not
depend on how points are batched, up to rounding where batch sizes pick different
schemes.

Large batches run in chunks of at most :data:`JACOBIAN_ROWS_MAX` rows (less where one
row's derivatives are large): every temporary array is a chunk's, only the result spans
all rows. Optionally (:func:`set_compile`), the network part is compiled with
``torch.compile`` (dynamic shapes, once per model and dtype) and used where it measures
faster.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
import warnings
import weakref
from typing import Literal, NamedTuple

import torch

from ._autodiff import push_forward, vjps
from .models.base import SurvivalModel

Mode = Literal["auto", "forward", "reverse"]
#: the network part's schemes: reverse mode, forward mode, reverse over reverse
SCHEMES = ("vjp", "jvp", "rr")
DEFAULT_MEMORY_BUDGET = 256 * 2**20  # bytes per batch of points
#: most network rows per no-grad batch (CoxTime: instances x active times): beyond a few
#: thousand rows a batch only loses cache locality (modality Shapley on 400k rows: ~2x
#: slower in 30k-200k-row batches than in 6k-row ones, for an MLP and for a CNN + GRU
#: network alike)
PREDICT_ROWS_MAX = 8192
#: rows per chunk of :func:`jacobian`: as many as keep a chunk's derivatives within
#: JACOBIAN_CHUNK_BYTES, within these bounds. Larger chunks only add page faults and cache
#: misses (DeepHit, 50k rows: fresh arrays of the full batch cost more than the
#: arithmetic on them); smaller ones pay the per-op overhead again (DeepHit, p = 20,
#: 20k rows: 383 ms in 256-row chunks, 297-315 ms in 512- to 2048-row ones)
JACOBIAN_ROWS_MIN = 512
JACOBIAN_ROWS_MAX = 2048
JACOBIAN_CHUNK_BYTES = 16 * 2**20
#: fewest rows per chunk for a network outside the layer chain, whose autograd schemes
#: hold every activation's derivative along each direction at once (CNN + GRU, 88 inputs:
#: 0.49 ms per row in 64-row chunks, 0.76 ms in 512-row ones)
JACOBIAN_ROWS_MIN_AUTOGRAD = 64
#: fewest rows per chunk on which :func:`plan` measures rather than takes its first
#: candidate (below, timings are mostly noise and the choice costs little), and how much
#: faster another candidate must be to replace the first
MEASURED_ROWS = 256
MEASURED_MARGIN = 1.2


def predict(
    model: SurvivalModel,
    inputs: list[torch.Tensor],
    target: str,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> torch.Tensor:
    """Target ``(N, event, time)`` at ``inputs``, without gradients, in batches."""
    n = inputs[0].shape[0]
    step = predict_rows(model, inputs, memory_budget)
    out = None
    with torch.no_grad():
        for i in range(0, n, step):
            part = model.forward([x[i : i + step] for x in inputs], target)
            if step >= n:
                return part
            if out is None:  # filled batch by batch rather than concatenated: no 2nd copy
                out = part.new_empty((n, *part.shape[1:]))
            out[i : i + len(part)] = part
    return out if out is not None else torch.empty(0)


def predict_rows(
    model: SurvivalModel, inputs: list[torch.Tensor], memory_budget: int = DEFAULT_MEMORY_BUDGET
) -> int:
    """How many rows :func:`predict` runs at once within ``memory_budget`` bytes, at most
    :data:`PREDICT_ROWS_MAX` network rows."""
    most = PREDICT_ROWS_MAX // model.rows_per_instance
    return max(1, min(most, memory_budget // _profile(model, inputs)["bytes_forward"]))


class Plan(NamedTuple):
    """How :func:`jacobian` computes: the network part's scheme (``"vjp"``, ``"jvp"`` or
    ``"rr"``), whether J is formed from factors, whether the network part is compiled."""

    scheme: str
    factored: bool
    compiled: bool = False


def jacobian(
    model: SurvivalModel,
    inputs: list[torch.Tensor],
    target: str,
    mode: Mode = "auto",
    out: tuple[torch.Tensor, list[torch.Tensor]] | None = None,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Target and its Jacobian at every point.

    Returns ``value`` of shape ``(B, E, T)`` and, per input ``k``, an array of shape
    ``(B, *dims_k, E, T)``. ``mode`` ``"forward"`` pushes the input directions through
    the network (forward mode), ``"reverse"`` takes the network's Jacobian by backward
    passes; ``"auto"`` runs whichever measured fastest (:func:`plan`). ``out``: contiguous
    arrays of those shapes (:func:`target_shape`) to write into, so that a caller
    filling a larger result makes no copy of it.
    """
    n = inputs[0].shape[0]
    step = jacobian_rows(model, inputs)
    chosen = plan(model, inputs, target, mode, rows=min(n, step))
    if out is None and step >= n:
        return _jacobian_chunk(model, inputs, target, chosen)
    if out is None:  # the result is allocated once and each chunk writes its rows into it
        shape = target_shape(model, inputs, target)
        full = inputs[0].new_empty((n, *shape))
        results = [x.new_empty((*x.shape, *shape)) for x in inputs]
    else:
        full, results = out
    for start in range(0, n, step):
        rows = [x[start : start + step] for x in inputs]
        chunk = [r[start : start + step] for r in results]
        full[start : start + step] = _jacobian_chunk(model, rows, target, chosen, chunk)[0]
    return full, results


def target_shape(model: SurvivalModel, inputs: list[torch.Tensor], target: str) -> tuple:
    """``(E, T)``: the shape of ``target`` per instance (cached with the network profile)."""
    shapes = _profile(model, inputs).setdefault("target_shapes", {})
    if target not in shapes:
        with torch.no_grad():
            shapes[target] = tuple(model.forward([x[:1] for x in inputs], target).shape[1:])
    return shapes[target]


def jacobian_rows(model: SurvivalModel, inputs: list[torch.Tensor]) -> int:
    """Rows per chunk of :func:`jacobian`: the rows whose derivatives (network and
    target; outside the layer chain also the activations', along the fewer of the input
    and output directions) take :data:`JACOBIAN_CHUNK_BYTES`, between
    :data:`JACOBIAN_ROWS_MIN` (:data:`JACOBIAN_ROWS_MIN_AUTOGRAD` outside the layer
    chain) and :data:`JACOBIAN_ROWS_MAX`. (The memory budget bounds the rows of a whole
    call: :func:`rows_per_batch`.)"""
    p = _profile(model, inputs)
    mk = model.rows_per_instance * p["width"]
    values = p["n_in"] * (mk + max(len(model.time), p["width"]))
    fewest = JACOBIAN_ROWS_MIN
    if layer_chain(model, inputs) is None:
        values += min(p["n_in"], p["width"]) * p["activations"]
        fewest = JACOBIAN_ROWS_MIN_AUTOGRAD
    rows = JACOBIAN_CHUNK_BYTES // (values * p["itemsize"])
    return max(fewest, min(JACOBIAN_ROWS_MAX, rows))


def _jacobian_chunk(model, inputs, target, chosen: Plan, outs=None):
    """:func:`jacobian` on one chunk; writes into ``outs`` (per input) when given."""
    phi, dphis = _net_tangents(model, inputs, chosen.scheme, chosen.compiled)
    n, results = phi.shape[0], []
    if chosen.factored:
        value, head = _head_jacobian(model, phi, target)
        for k, (g, x) in enumerate(zip(dphis, inputs)):
            out = outs[k] if outs else g.new_empty((*x.shape, *value.shape[1:]))
            batched_matmul(g, head, out=out.view(n, g.shape[1], -1))
            results.append(out)
        return value, results
    for k, (g, x) in enumerate(zip(dphis, inputs)):
        out = outs[k].view(n, g.shape[1], *outs[k].shape[-2:]) if outs else None
        value, tangent = model.head_jvp(phi, g, target, out=out, overwrite_dphi=_owned(g))
        results.append(tangent.view(*x.shape, *tangent.shape[-2:]))
    return value, results


def factored(model: SurvivalModel, inputs: list[torch.Tensor], target: str) -> bool:
    """Whether methods should take J in factors (:func:`jacobian_factors`) at these
    inputs: the head takes fewer numbers per instance (MK) than the inputs hold (D).

    A rule rather than a measurement: a method that averages over many points per
    instance contracts the factors without ever forming the points' Jacobians, a saving
    a timing of one chunk's Jacobian cannot see.
    """
    prof = _profile(model, inputs)
    return model.rows_per_instance * prof["width"] < prof["n_in"]


def _owned(dphi: torch.Tensor) -> bool:
    """Whether the network part's directions may be overwritten by the head: they are
    the engine's own fresh arrays, unless autograd handed back a broadcast view (stride
    0), whose elements share memory."""
    return all(stride != 0 or size == 1 for stride, size in zip(dphi.stride(), dphi.shape))


def jacobian_factors(
    model: SurvivalModel, inputs: list[torch.Tensor], target: str
) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """The target and its Jacobian in factors, ``J_k = G_k . H``.

    Returns ``value`` ``(B, E, T)``, the head's Jacobian ``H`` of shape ``(B, MK, E*T)``
    and, per input, the network's ``G_k`` of shape ``(B, *dims_k, MK)``: d (head input) /
    d input. Cheaper than :func:`jacobian` when ``MK`` is small (DeepSurv: 1), since a
    method can contract the factors over its points without forming J.
    """
    rows = min(inputs[0].shape[0], jacobian_rows(model, inputs))
    chosen = plan(model, inputs, target, "factored", rows)
    phi, dphis = _net_tangents(model, inputs, chosen.scheme, chosen.compiled)
    value, head = _head_jacobian(model, phi, target)
    return value, head, [g.reshape(*x.shape, g.shape[-1]) for g, x in zip(dphis, inputs)]


def rows_per_batch(
    model: SurvivalModel,
    inputs: list[torch.Tensor],
    target: str,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> int:
    """How many points fit in ``memory_budget`` bytes during :func:`jacobian`: their
    Jacobian (written once), the network's activations with the directions pushed through
    them and, for the factored form, J_net, H and their graphs. The derivatives of the
    network and the head are one chunk's (:func:`jacobian_rows`)."""
    p = _profile(model, inputs)
    n_out = max(len(model.time), p["width"])  # events x times of the target, at most
    mk = model.rows_per_instance * p["width"]
    if factored(model, inputs, target):
        fan, elems = p["width"], p["n_in"] * n_out + 3 * (p["n_in"] + n_out) * mk
    else:
        fan, elems = min(p["n_in"], p["width"]), p["n_in"] * n_out
    elems += (1 + fan) * p["activations"]
    return max(1, memory_budget // (elems * p["itemsize"]))


def num_risks(model: SurvivalModel, inputs: list[torch.Tensor]) -> int:
    """``model.num_risks(inputs)``, cached with the network profile (it runs the network)."""
    prof = _profile(model, inputs)
    if "num_risks" not in prof:
        prof["num_risks"] = model.num_risks(inputs)
    return prof["num_risks"]


# -- choosing the scheme ----------------------------------------------------------------
def plan(
    model: SurvivalModel,
    inputs: list[torch.Tensor],
    target: str,
    mode: str = "auto",
    rows: int | None = None,
) -> Plan:
    """The fastest way to take the Jacobian of ``target`` on chunks of ``rows`` points.

    Measured once per model, input shape, target, mode and power-of-two chunk size, on
    that many of the given rows, among the plans that can win there: the network part by
    ``"vjp"`` (about ``2 K`` passes per network row), ``"jvp"`` (about ``2 D``) or
    ``"rr"`` (about ``3 D``), each within 4x of the smallest count; the head pushed, or
    factored where :func:`factored` (mode ``"factored"``: factored only, for
    :func:`jacobian_factors`); with :func:`set_compile`, also compiled. The choice is
    cached with the model's profile.
    """
    n = inputs[0].shape[0] if rows is None else rows
    bucket = 1 << (max(1, n).bit_length() - 1)
    plans = _profile(model, inputs).setdefault("plans", {})
    key = (target, mode, bucket, _COMPILE["enabled"])
    if key not in plans:
        found = _candidates(model, inputs, target, mode)
        if len(found) > 1 and bucket >= MEASURED_ROWS:
            found = [_fastest(model, [x[:bucket] for x in inputs], target, found)]
        plans[key] = found[0]
    return plans[key]


def _candidates(model, inputs, target, mode: str) -> list[Plan]:
    prof = _profile(model, inputs)
    d, k = prof["n_in"], prof["width"]
    narrow = factored(model, inputs, target)
    if mode == "reverse":
        return [Plan("vjp", narrow)]
    passes = {"vjp": 2 * k, "jvp": 2 * d, "rr": 3 * d}
    if mode == "forward":
        schemes = ["jvp", "rr"]
    else:
        least = min(passes.values())
        schemes = [s for s in SCHEMES if passes[s] <= 4 * least]
    schemes = [s for s in schemes if s == "vjp" or _scheme_ok(model, inputs, s)]
    if not schemes:  # no forward scheme works for this network
        schemes = ["rr"] if mode == "forward" else ["vjp"]
    layouts = {"factored": [True], "forward": [False]}.get(
        mode, [True, False] if narrow else [False]
    )
    # first the plan taken where nothing is measured: a layer chain's closed-form
    # derivatives (no graph, no second backward); otherwise, since on few rows per-op
    # overhead dominates, reverse over reverse, which beats torch's forward mode there
    pushed = mode == "forward" or (not narrow and d < k)
    if pushed and "jvp" in schemes and layer_chain(model, inputs) is not None:
        first = Plan("jvp", False)
    elif pushed and _scheme_ok(model, inputs, "rr"):
        first = Plan("rr", False)
    else:
        first = Plan("vjp", layouts[0])
    found = [first] + [p for p in (Plan(s, f) for f in layouts for s in schemes) if p != first]
    if _COMPILE["enabled"]:
        found += [p._replace(compiled=True) for p in found if p.scheme == "jvp"]
    return found


def _fastest(model, inputs, target, candidates: list[Plan]) -> Plan:
    """The candidate with the least time per call (best of three after a warm-up); the
    first candidate unless another is faster by more than :data:`MEASURED_MARGIN`.

    On the CPU the time is this process's CPU time, which other jobs on a shared machine
    do not inflate; on an accelerator, wall-clock time after synchronising.
    """
    clock = _clock(inputs[0].device)
    times = {}
    for cand in candidates:
        try:
            with _quiet_compiler() if cand.compiled else contextlib.nullcontext():
                _jacobian_chunk(model, inputs, target, cand)  # warm-up (and compilation)
        except Exception:  # a compiled variant that fails is not used
            if not cand.compiled:
                raise
            continue
        times[cand] = math.inf
    for _ in range(3):
        for cand in times:
            start = clock()
            _jacobian_chunk(model, inputs, target, cand)
            times[cand] = min(times[cand], clock() - start)
    best = min(times, key=lambda cand: times[cand])
    first = candidates[0]
    return first if times[first] <= MEASURED_MARGIN * times[best] else best


def _clock(device: torch.device):
    if device.type == "cpu":
        return time.process_time
    sync = getattr(torch, device.type).synchronize

    def clock() -> float:
        sync()
        return time.perf_counter()

    return clock


def forward_mode_ok(model: SurvivalModel) -> bool | None:
    """Whether a forward scheme (``"jvp"`` or ``"rr"``) was found to work for ``model``'s
    network (None: not checked yet)."""
    checked = _cache(model)["forward"]
    return any(checked.values()) if checked else None


def _scheme_ok(model, inputs, scheme: str) -> bool:
    """Check once per model, on two rows, that ``scheme`` agrees with reverse mode.

    Ops without a double backward or a forward-mode rule (custom ``once_differentiable``
    kernels, some fused RNNs) either raise or, worse, silently return zeros; reverse mode
    needs neither.
    """
    checked = _cache(model)["forward"]
    if scheme not in checked:
        rows = [x[:2] for x in inputs]
        try:
            got_value, got = _net_tangents(model, rows, scheme)
        except (NotImplementedError, RuntimeError):
            checked[scheme] = False
            return False
        value, want = _net_tangents(model, rows, "vjp")
        scale = max(float(w.abs().max()) for w in want) or torch.finfo(want[0].dtype).tiny
        gap = max(float((g - w).abs().max()) for g, w in zip(got, want))
        # a scheme that runs the network its own way must also give its values
        same_value = torch.allclose(got_value, value, rtol=1e-3, atol=1e-6)
        checked[scheme] = gap / scale < 1e-3 and same_value
    return checked[scheme]


# -- the network part --------------------------------------------------------------------
def _net_tangents(model, inputs, scheme: str, compiled: bool = False):
    """Head input ``phi`` ``(B, MK)`` and, per input, its derivatives along the input's
    unit directions, ``(B, size_k, MK)`` (any strides)."""
    if scheme == "vjp":
        return _net_jacobian(model, inputs)
    fn = _compiled_jvp(model) if compiled else _jvp_net if scheme == "jvp" else _rr_net
    out, tangents = fn(model, inputs)  # (B*M, K), per input (size_k, B*M, K)
    n = inputs[0].shape[0]
    return out.reshape(n, -1), [t.reshape(t.shape[0], n, -1).movedim(0, 1) for t in tangents]


def _basis(x: torch.Tensor) -> torch.Tensor:
    """The ``D`` unit directions of one input, ``(D, *x.shape)`` (a stride-0 expansion)."""
    size = x[0].numel()
    eye = torch.eye(size, dtype=x.dtype, device=x.device)
    return eye.reshape(size, 1, *x.shape[1:]).expand(size, *x.shape)


def _net_of(model, inputs: list[torch.Tensor], k: int):
    """The network as a function of input ``k`` alone, the other inputs held fixed."""

    def net(x):
        return model.net_forward(model.expand([*inputs[:k], x, *inputs[k + 1 :]]))

    return net


def _per_input(model, inputs, push):
    """The network's value and, per input, ``push(net_k, x_k)``: the network as a
    function of that input alone pushed along the input's own unit directions. An
    input's directions move only the part of the network that reads it (with an image
    and a sequence, neither branch carries the other's directions, which would all be
    zero there), and each graph holds only that part."""
    out, tangents = None, []
    for k, x in enumerate(inputs):
        value, tangent = push(_net_of(model, inputs, k), x)
        out = value if out is None else out
        tangents.append(tangent)
    return out, tangents


def _jvp_net(model, inputs):
    """Forward mode: :func:`_layers_net` for a chain of layers, else ``torch.func.jvp``
    of the network under ``vmap`` over each input's unit directions (:func:`_per_input`)."""
    if layer_chain(model, inputs) is not None:
        return _layers_net(model, inputs)

    def push(net, x):
        return torch.func.vmap(lambda t: torch.func.jvp(net, (x,), (t,)), out_dims=(None, 0))(
            _basis(x)
        )

    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="There is a performance drop")
        return _per_input(model, inputs, push)


def layer_chain(model: SurvivalModel, inputs: list[torch.Tensor]) -> list | None:
    """The network as a list of layers whose derivatives :func:`_layers_net` knows, or
    None: one input of rows ``(B, features)``, one network row per instance, and a
    network that is (nested) ``nn.Sequential`` / torchtuples MLP blocks of ``Linear``,
    eval-mode ``BatchNorm1d`` and ``Dropout``, ``Identity``, ``ReLU``, ``Tanh``,
    ``Sigmoid``. Cached per model."""
    cache = _cache(model)
    if "layers" not in cache:
        cache["layers"] = _flatten(getattr(model, "net", None))
    if len(inputs) != 1 or inputs[0].dim() != 2 or model.rows_per_instance != 1:
        return None
    return cache["layers"]


def _flatten(module) -> list | None:
    nn = torch.nn
    if type(module) is nn.Sequential:
        flat: list = []
        for part in map(_flatten, module):
            if part is None:
                return None
            flat += part
        return flat
    name = type(module).__module__ + "." + type(module).__name__
    if name == "torchtuples.practical.MLPVanilla":
        return _flatten(module.net)
    if name == "torchtuples.practical.DenseVanillaBlock":  # linear, activation, bn, dropout
        blocks = [module.linear, module.activation, module.batch_norm, module.dropout]
        return _flatten(nn.Sequential(*[m for m in blocks if m]))
    kind = type(module)  # exact types: a subclass may compute something else
    if kind in (nn.Dropout, nn.Identity):
        return [] if not module.training else None
    if kind is nn.BatchNorm1d:
        usable = not module.training and module.running_var is not None
        return [module] if usable else None
    if kind in (nn.Linear, nn.ReLU, nn.Tanh, nn.Sigmoid):
        return [module]
    return None


def _layers_net(model, inputs):
    """Forward mode by each layer's closed-form derivative: the ``D`` unit directions
    ``(1, D, features)`` become ``(B, D, width)`` at the first nonlinearity; a linear
    layer maps all directions of all rows in one product (no bias). Laid out row-major
    ``(B, D, width)``, the layout the head reads, and returned as its ``(D, B, K)`` view."""
    nn = torch.nn
    h = inputs[0]
    t = torch.eye(h.shape[1], dtype=h.dtype, device=h.device).unsqueeze(0)
    with torch.no_grad():
        for layer in layer_chain(model, inputs):
            h = layer(h)
            if isinstance(layer, nn.Linear):
                t = torch.matmul(t, layer.weight.t())
            elif isinstance(layer, nn.ReLU):
                t = t * (h > 0).unsqueeze(1)
            elif isinstance(layer, nn.Tanh):
                t = t * (1 - h * h).unsqueeze(1)
            elif isinstance(layer, nn.Sigmoid):
                t = t * (h * (1 - h)).unsqueeze(1)
            else:  # eval-mode batch norm: an affine map per feature
                scale = torch.rsqrt(layer.running_var + layer.eps)
                t = t * (scale if layer.weight is None else scale * layer.weight)
    h = h.reshape(h.shape[0], -1)
    directions = t.reshape(t.shape[0], t.shape[1], -1).expand(h.shape[0], -1, -1)
    return h, [directions.contiguous().transpose(0, 1)]


def _rr_net(model, inputs):
    """Reverse over reverse through the network (:func:`push_forward`), input by input
    (:func:`_per_input`)."""
    return _per_input(model, inputs, lambda net, x: push_forward(net, x, _basis(x)))


#: whether :func:`plan` also measures compiled network parts
_COMPILE = {"enabled": False}


def set_compile(enabled: bool) -> bool:
    """Let the engine also try ``torch.compile`` of the network's forward-mode part.

    Each model's network part is compiled once per dtype (dynamic shapes) the first time
    a plan is measured, and used only where it measured faster than the uncompiled
    schemes. Where no compiler works, the compiled candidates fail at their first call and
    are left out. Off by default: compiling takes seconds to a minute, more than a typical
    call saves.

    Parameters
    ----------
    enabled : bool
        Whether to try compiled network parts from now on.

    Returns
    -------
    bool
        The previous setting.

    Examples
    --------
    >>> from survinng_py import engine
    >>> previous = engine.set_compile(False)
    """
    previous = _COMPILE["enabled"]
    _COMPILE["enabled"] = bool(enabled)
    return previous


@contextlib.contextmanager
def _quiet_compiler():
    """torch's compiler logs a failed compilation at length; a failure here only means
    the compiled candidate is left out."""
    logger = logging.getLogger("torch")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _compiled_jvp(model):
    """:func:`_jvp_net` compiled for ``model`` (once per dtype)."""
    cache = _cache(model)["compiled"]
    if model.dtype not in cache:
        cache[model.dtype] = torch.compile(_jvp_net, dynamic=True)
    return lambda m, inputs: cache[model.dtype](m, inputs)


def _net_jacobian(model, inputs):
    """Reverse mode: ``phi`` ``(B, MK)`` and, per input, d phi / d input ``(B, size, MK)``."""
    n, m = inputs[0].shape[0], model.rows_per_instance
    with torch.enable_grad():
        rows = [x.detach().requires_grad_(True) for x in model.expand(inputs)]
        out = model.net_forward(rows)
        width = out.shape[1]
        cotangent = torch.eye(width, dtype=out.dtype, device=out.device)[:, None, :]
        grads = vjps([out], rows, [cotangent.expand(width, *out.shape)])
    nets = []
    for g in grads:  # (K, B*M, *dims) -> (B, size, M*K)
        nets.append(g.reshape(width, n, m, -1).permute(1, 3, 2, 0).reshape(n, -1, m * width))
    return out.detach().reshape(n, m * width), nets


def _head_jacobian(model, phi, target):
    """Target and d target / d phi as ``(B, MK, E*T)``: one unit direction per column."""
    n, mk = phi.shape
    eye = torch.eye(mk, dtype=phi.dtype, device=phi.device).expand(n, mk, mk)
    value, head = model.head_jvp(phi, eye, target)
    return value, head.view(n, mk, -1)


def batched_matmul(a: torch.Tensor, b: torch.Tensor, out: torch.Tensor | None = None):
    """``torch.bmm``; an outer product (inner size 1, e.g. DeepSurv) as a broadcast
    multiply, which is several times faster than bmm's tiny matrix products."""
    if a.shape[-1] == 1:
        return torch.mul(a, b, out=out)
    return torch.bmm(a, b, out=out)


def _profile(model: SurvivalModel, inputs: list[torch.Tensor]) -> dict:
    """Network output width, input size and activation count per instance (cached), and
    the measured plans (:func:`plan`)."""
    key = (tuple(tuple(x.shape[1:]) for x in inputs), inputs[0].dtype)
    cache = _cache(model)["profiles"]
    if key not in cache:
        activations = []
        hooks = [
            mod.register_forward_hook(
                lambda _m, _i, o: activations.append(
                    o.numel() if isinstance(o, torch.Tensor) else 0
                )
            )
            for mod in model.net.modules()
        ]
        try:
            with torch.no_grad():
                out = model.net_forward(model.expand([x[:1] for x in inputs]))
        finally:
            for h in hooks:
                h.remove()
        m = model.rows_per_instance
        n_in = sum(math.prod(k) for k in key[0])
        act = sum(activations) + m * n_in
        itemsize = inputs[0].element_size()
        cache[key] = {
            "width": out.shape[1],
            "n_in": n_in,
            "activations": act,
            "itemsize": itemsize,
            "bytes_forward": itemsize * (act + 4 * m * out.shape[1] + 4 * len(model.time)),
        }
    return cache[key]


#: what the engine learns about each adapter (its network profile and plans per input
#: shape, which forward schemes work, compiled network parts), kept here rather than on
#: the adapter and dropped with it
_CACHES: weakref.WeakKeyDictionary[SurvivalModel, dict] = weakref.WeakKeyDictionary()


def _cache(model: SurvivalModel) -> dict:
    if model not in _CACHES:
        _CACHES[model] = {"profiles": {}, "forward": {}, "compiled": {}}
    return _CACHES[model]
