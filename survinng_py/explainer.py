"""`explain()`: a survival model plus the data whose rows are explained."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from . import engine
from ._validation import (
    SurvinngError,
    as_frame,
    check_device,
    check_dtype,
    check_instance,
    check_int,
    check_names,
    fail,
    first_line,
    name_lists,
    to_tensor_list,
)
from .models import SurvivalModel, build_model

_AXIS_PREFIXES = "XYZABCDEFG"


class Explainer:
    """A survival model adapter plus the explainer data (also the background data).

    Build it with :func:`explain`. ``data`` is a list of tensors (one per network input,
    instance axis first) or ``None``; ``feature_names`` holds, per input, one name per
    element of the feature dims. Without data, ``feature_names`` are those given to
    :func:`explain` (or ``None``) and, like input names given there, are checked against
    each call's rows.
    """

    def __init__(
        self,
        model: SurvivalModel,
        data: list[torch.Tensor] | None,
        feature_names: list[list[str]] | None,
        input_names: list[str] | None,
        memory_budget: int,
    ):
        self.model = model
        self.data = data
        self.feature_names = feature_names
        self.input_names = input_names if input_names is not None else ["input_1"]
        self._names_fix_inputs = data is None and input_names is not None
        self.memory_budget = memory_budget

    @property
    def feature_shapes(self) -> list[tuple[int, ...]] | None:
        return None if self.data is None else [tuple(x.shape[1:]) for x in self.data]

    def points(
        self, x: Any, instance: Any, where: str
    ) -> tuple[list[torch.Tensor], np.ndarray, list[list[str]]]:
        """The rows to explain (``x`` or ``instance``), their ids and feature names."""
        if (x is None) == (instance is None):
            fail(
                "x",
                where,
                "given, or else `instance`, but not both",
                "both" if x is not None else "neither",
                as_text=True,
            )
        if instance is not None:
            if self.data is None:
                fail("instance", where, "used with an explainer built with `data`", instance)
            idx = check_instance(instance, self.data[0].shape[0], where)
            index = torch.as_tensor(idx, device=self.model.device)
            assert self.feature_names is not None  # explain() names the features of its data
            return [d.index_select(0, index) for d in self.data], idx, self.feature_names
        inputs = self.to_inputs(x, "x", where)
        names = (
            self.feature_names
            if self.data is not None
            else _feature_names(self.feature_names, x, inputs)
        )
        assert names is not None  # the data's names, or names for these rows
        return inputs, np.arange(inputs[0].shape[0]), names

    def to_inputs(
        self, value: Any, arg: str, where: str, allow_empty: bool = False
    ) -> list[torch.Tensor]:
        """Validate and convert user rows (array, DataFrame, tensor or a list of them)."""
        inputs = to_tensor_list(
            value,
            arg,
            where,
            dtype=self.model.dtype,
            device=self.model.device,
            feature_shapes=self.feature_shapes,
            feature_names=self._column_names(),
            allow_empty=allow_empty,
        )
        if self.data is None:
            if self._names_fix_inputs and len(inputs) != len(self.input_names):
                fail(
                    arg,
                    where,
                    f"a list of {len(self.input_names)} input(s), one per name in "
                    "`input_names` of explain()",
                    f"{len(inputs)} input(s)",
                    as_text=True,
                )
            check_fits(self.model, inputs, arg, where)
        return inputs

    def _column_names(self) -> Sequence[list[str] | None] | None:
        if self.feature_names is None or self.feature_shapes is None:
            return self.feature_names  # without data, names match a table's columns
        return [
            names if len(shape) == 1 else None
            for names, shape in zip(self.feature_names, self.feature_shapes)
        ]

    def __repr__(self) -> str:
        rows = "no data" if self.data is None else f"{self.data[0].shape[0]} rows"
        shapes = self.feature_shapes
        inputs = (
            "?"
            if shapes is None
            else ", ".join(f"{n}{s}" for n, s in zip(self.input_names, shapes))
        )
        return (
            f"<Explainer {self.model.model_class} (from {self.model.source}) | {rows} | "
            f"inputs: {inputs} | {len(self.model.time)} times | {self.model.dtype} on "
            f"{self.model.device}>"
        )


def explain(
    model: Any,
    data: Any = None,
    *,
    model_type: str | None = None,
    dtype: Any = "float32",
    device: Any = "cpu",
    feature_names: Sequence[str] | Sequence[Sequence[str]] | None = None,
    input_names: Sequence[str] | None = None,
    event_names: Sequence[str] | None = None,
    memory_budget: int = engine.DEFAULT_MEMORY_BUDGET,
    **head: Any,
) -> Explainer:
    """Wrap a fitted survival model for explanation.

    Parameters
    ----------
    model : pycox model or torch.nn.Module
        A fitted pycox ``CoxPH``/``CoxCC`` (DeepSurv; baseline hazards computed),
        ``CoxTime``, ``DeepHitSingle``/``PMF``, ``DeepHit`` (competing risks), ``MTLR``,
        ``LogisticHazard``, ``PCHazard`` or ``BCESurv``, used as it is; or a bare network
        called as ``net(*inputs)`` (CoxTime: ``net(*inputs, t)``) with ``model_type`` and
        head parameters.
    data : array, DataFrame, tensor, list of them, or None
        Rows that can be explained by index and that serve as background data
        (SmoothGrad noise scale, IntGrad reference, GradSHAP pool). A list gives one
        array per network input, instance axis first.
    model_type : str, optional
        Required for a bare module: ``"deepsurv"`` (``"coxph"``, ``"coxcc"``),
        ``"coxtime"``, ``"deephit"`` (``"deephitsingle"``, ``"pmf"``), ``"mtlr"``,
        ``"logistichazard"``, ``"pchazard"``, ``"bcesurv"`` or a registered family
        (:mod:`survinng_py.models.registry`, also entry points ``survinng_py.families``).
    dtype : {"float32", "float64"}
        Precision of the private network copy and of all computations.
    device : str or torch.device
        Where to compute (e.g. ``"cuda"``). The user's network is never moved or changed.
    feature_names, input_names, event_names : optional
        Labels; defaults are the DataFrame columns (else ``X1..Xp``), ``input_1..`` and
        ``event_1..`` (competing risks). A DeepHit network has competing risks when its
        output is shaped ``(batch, risks, times)``; a flat output ``(batch, risks *
        times)`` is read as several risks only when ``event_names`` gives one name per
        risk (a flat output that is a multiple of the time grid is otherwise refused,
        never guessed).
    memory_budget : int
        Bytes a batch of points may take; batch sizes follow from it.
    **head
        For bare modules: ``baseline_hazard`` (Series indexed by time, DataFrame with
        ``time``/``hazard`` columns or a ``(time, hazard)`` pair of arrays of equal
        length; CoxTime times on the network's scale) for Cox types, ``labtrans`` (pycox ``LabTransCoxTime`` or a
        function from network time to original time) for CoxTime, ``time_bins``
        (pycox's ``duration_index``, a vector of numbers) for the discrete-time
        families and ``sub`` for PCHazard; families added with
        :func:`~survinng_py.models.register_family` declare their own. For any model,
        ``interpolate=sub`` and ``scheme`` evaluate survival on pycox's
        ``interpolate(sub, scheme)`` grid (discrete-time families), of at most
        :data:`~survinng_py.models.MAX_GRID_POINTS` points.

    Returns
    -------
    Explainer

    Raises
    ------
    SurvinngError
        One line naming the argument: an unsupported or unfitted model, a ``model_type``
        that is not a registered family, head parameters the family refuses (an unsorted
        time grid, a negative hazard), data that do not fit the network, an unavailable
        device or an unsupported dtype.

    Examples
    --------
    >>> import numpy as np, torch, survinng_py as sv
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 10))
    >>> data = np.random.default_rng(0).normal(size=(20, 3))
    >>> exp = sv.explain(net, data, model_type="deephit", time_bins=np.linspace(0, 5, 10))
    >>> sv.surv_grad(exp, instance=[0, 1]).values[0].shape
    (2, 3, 1, 10)
    """
    where = "explain()"
    torch_dtype, torch_device = check_dtype(dtype, where), check_device(device, where)
    check_int(memory_budget, "memory_budget", where, minimum=1)
    if event_names is not None:
        event_names = check_names(event_names, "event_names", where)
    if input_names is not None:
        input_names = check_names(input_names, "input_names", where)
    adapter = build_model(
        model,
        model_type=model_type,
        dtype=torch_dtype,
        device=torch_device,
        event_names=event_names,
        **head,
    )
    tensors = None
    if data is not None:
        data = [as_frame(d) for d in data] if isinstance(data, (list, tuple)) else as_frame(data)
        frames = data if isinstance(data, list) else [data]
        columns = [_columns(frame) for frame in frames]
        by_name = _named_columns(feature_names, columns, where)
        tensors = to_tensor_list(
            data, "data", where, dtype=torch_dtype, device=torch_device, feature_names=by_name
        )
        check_fits(adapter, tensors, "data", where, columns=by_name or columns)
        n_risks = adapter.num_risks(tensors)
        if event_names is not None and len(event_names) != n_risks:
            fail("event_names", where, f"{n_risks} names (one per competing event)", event_names)
        if input_names is None:
            input_names = [f"input_{k + 1}" for k in range(len(tensors))]
        elif len(input_names) != len(tensors):
            fail("input_names", where, f"{len(tensors)} names (one per input)", input_names)
    names = _feature_names(feature_names, data, tensors)
    return Explainer(adapter, tensors, names, input_names, memory_budget)


def check_fits(
    model: SurvivalModel,
    inputs: list[torch.Tensor],
    arg: str,
    where: str,
    columns: Sequence[Sequence[str] | None] | None = None,
) -> None:
    """Run the network on one row so that a mismatch fails here, with the argument's name.

    Where rows with their size-1 axes dropped would fit (an array of shape ``(n, p, 1)``
    for a network that takes ``(n, p)``), the message gives the shape the network takes;
    where a table (``columns``: its column names per input) has more columns than the
    network takes, the message says how many it takes and lists the table's columns.
    """
    try:
        _run_one_row(model, inputs)
    except SurvinngError:
        raise
    except (RuntimeError, TypeError, ValueError, IndexError) as err:
        shapes = [tuple(x.shape[1:]) for x in inputs]
        squeezed = [tuple(size for size in shape if size != 1) for shape in shapes]
        if squeezed != shapes and _fits(
            model, [x.reshape(x.shape[0], *shape) for x, shape in zip(inputs, squeezed)]
        ):
            k = next(k for k, (a, b) in enumerate(zip(shapes, squeezed)) if a != b)
            name = arg if len(inputs) == 1 else f"{arg}[{k}]"
            fail(
                name,
                where,
                f"of per-row shape {squeezed[k]}, the shape the network takes "
                "(drop the extra size-1 axes)",
                f"per-row shape {shapes[k]}",
                as_text=True,
            )
        _check_width(model, inputs, arg, where, columns)
        raise SurvinngError(
            f"`{arg}` of {where} does not fit the network "
            f"({len(inputs)} input(s) of per-row shape {shapes}): "
            f"{first_line(err)}"
        ) from err


def _check_width(
    model: SurvivalModel,
    inputs: list[torch.Tensor],
    arg: str,
    where: str,
    columns: Sequence[Sequence[str] | None] | None,
) -> None:
    """The table of one input that has columns the network does not take: name them all
    (the usual slip: the data frame still holds the outcome columns)."""
    if columns is None or len(inputs) != 1 or inputs[0].ndim != 2 or columns[0] is None:
        return
    x, names = inputs[0], list(columns[0])
    # the network's width: the largest prefix of the columns it runs on (one row each;
    # up to 64 extra columns are tried)
    widths = range(len(names) - 1, max(0, len(names) - 65), -1)
    width = next((w for w in widths if _fits(model, [x[:, :w]])), None)
    if width is None:
        return
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    fail(
        arg,
        where,
        f"a table of the network's {width} feature column(s) (drop the other columns, or "
        "give feature_names to choose the columns by name)",
        f"{len(names)} columns: {shown}",
        as_text=True,
    )


def _columns(frame: Any) -> list[str] | None:
    return [str(c) for c in frame.columns] if hasattr(frame, "columns") else None


def _named_columns(
    feature_names: Any, columns: list[list[str] | None], where: str
) -> list[list[str]] | None:
    """Given names that all are columns of the tables (one table per input): the columns
    to take, by name, so that a data frame may hold other columns (time, status, ...)."""
    tables = [c for c in columns if c is not None]
    if feature_names is None or len(tables) != len(columns):
        return None
    names = name_lists(feature_names, "feature_names", where)
    if len(names) != len(tables) or any(not set(n) <= set(c) for n, c in zip(names, tables)):
        return None  # the names label the columns in order (checked below)
    return names


def _run_one_row(model: SurvivalModel, inputs: list[torch.Tensor]) -> None:
    with torch.no_grad():
        model.net_forward(model.expand([x[:1] for x in inputs]))
    model.num_risks(inputs)


def _fits(model: SurvivalModel, inputs: list[torch.Tensor]) -> bool:
    try:
        _run_one_row(model, inputs)
    except (RuntimeError, TypeError, ValueError, IndexError):
        return False
    return True


def default_feature_names(inputs: list[torch.Tensor]) -> list[list[str]]:
    """survinng's labels: ``X1..`` along the first feature axis, ``Y1..`` the second, ..."""
    names = []
    for x in inputs:
        axes = [
            [f"{_AXIS_PREFIXES[a]}{i + 1}" for i in range(size)]
            for a, size in enumerate(x.shape[1:])
        ]
        grid = np.array(np.meshgrid(*[np.array(ax, dtype=object) for ax in axes], indexing="ij"))
        flat = grid.reshape(len(axes), -1).T if axes else np.empty((1, 0))
        names.append([":".join(row) for row in flat])
    return names


def _feature_names(given, data, tensors) -> list[list[str]] | None:
    """The names given (checked against the inputs' sizes where these are known), else
    the table columns or survinng's ``X1..`` labels."""
    where = "explain()"
    if given is not None:
        given = name_lists(given, "feature_names", where)
    if tensors is None:
        return given
    if given is None:
        frames = data if isinstance(data, (list, tuple)) else [data]
        defaults = default_feature_names(tensors)
        return [
            [str(c) for c in frame.columns] if hasattr(frame, "columns") else default
            for frame, default in zip(frames, defaults)
        ]
    sizes = [math.prod(t.shape[1:]) for t in tensors]
    if len(given) != len(tensors) or any(len(n) != s for n, s in zip(given, sizes)):
        fail("feature_names", where, f"one name per feature of each input (sizes {sizes})", given)
    return given
