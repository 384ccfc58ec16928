"""The model layer: a survival model is a network plus a survival head.

An adapter turns instance rows into network rows (``expand``), runs the private
eval-mode copy of the network (``net_forward``, output ``(rows, K)``) and maps the
network output of each instance, ``phi`` of shape ``(B, M*K)``, to a target over the
time grid (``head``, output ``(B, event, time)``). ``M`` is the number of network rows
per instance (the active baseline times for CoxTime, 1 otherwise). The engine relies
only on this contract; adapters know nothing about attribution methods.

A model family is one adapter class that also describes itself (see
:class:`SurvivalModel`): its ``model_type`` names, the pycox classes it reads, its head
parameters, how its constructor *spec* is made from a fitted pycox model or from
``explain()``'s keyword arguments and how the spec is checked. The registry
(:mod:`survinng_py.models.registry`) is built from these declarations.
"""

from __future__ import annotations

import copy
import inspect
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .._validation import SurvinngError, check_choice, check_int, fail

#: most points a time grid made of ``sub`` steps per interval may have (pycox's
#: ``interpolate(sub)`` and PCHazard's ``sub``): the head's buffers and every result
#: grow with it
MAX_GRID_POINTS = 100_000
#: targets conditional on survival to a time ``s`` (``given``), and the family target
#: each is derived from (see :class:`Conditional`)
CONDITIONAL_TARGETS = {"conditional_survival": "survival", "conditional_cif": "cif"}


@dataclass(frozen=True)
class HeadParam:
    """A keyword argument of :func:`~survinng_py.explain` for a bare module of a family.

    Parameters
    ----------
    name : str
        The keyword.
    doc : str
        What it is, shown when a required one is missing.
    required : bool
        Whether a bare module needs it.
    """

    name: str
    doc: str
    required: bool = False


class SurvivalModel:
    """Base class of the adapters (one subclass per model family).

    A family class sets :attr:`family` (its ``model_type``), :attr:`targets`,
    :attr:`model_class`, implements :meth:`check_spec`, :meth:`grid` and :meth:`head`,
    and, as needed, :attr:`aliases`, :attr:`pycox_classes` with :meth:`spec_from_pycox`,
    :attr:`head_params` with :meth:`spec_from_head`, and :attr:`schemes`. The *spec*
    is the constructor's head description: the keyword-only arguments of
    :meth:`check_spec`, as numbers, strings and numpy arrays. It is what a model bundle
    stores, so a loaded head is checked by the same :meth:`check_spec` as a new one.

    The default :meth:`expand` and :meth:`net_forward` call ``net(*inputs)`` once per
    instance row.
    """

    #: the ``model_type`` name (lower case); None for classes that are not a family
    family: str | None = None
    #: other ``model_type`` names of the family
    aliases: tuple[str, ...] = ()
    #: class names of the fitted pycox models read by this family (matched along the
    #: model's MRO, the most specific class first)
    pycox_classes: tuple[str, ...] = ()
    #: keyword arguments of explain() for a bare module
    head_params: tuple[HeadParam, ...] = ()
    #: pycox ``interpolate`` schemes of the survival curve (empty: not interpolated)
    schemes: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    model_class: str = "SurvivalModel"
    #: targets with one curve per competing event (the others have one curve)
    per_event_targets: tuple[str, ...] = ()
    #: whether the target can be differentiated (gradient methods refuse models without)
    differentiable: bool = True
    #: whether the model runs as a torch network (so it can be exported and saved)
    torch_network: bool = True
    #: where the adapter takes a time input as its last input (see
    #: :meth:`with_time_input`): the time its network sees at each grid point, else None
    time_input_values: np.ndarray | None = None

    def __init__(
        self,
        net: torch.nn.Module,
        spec: dict,
        *,
        dtype: torch.dtype,
        device: torch.device,
        source: str | None = None,
        event_names: Sequence[str] | None = None,
        copy_network: bool = True,
        where: str = "explain()",
    ):
        if not isinstance(net, torch.nn.Module):
            fail("model", where, "a torch.nn.Module or a fitted pycox model", net)
        if event_names is not None and (
            isinstance(event_names, (str, bytes)) or not hasattr(event_names, "__iter__")
        ):
            fail("event_names", where, "a list of names (one per competing event)", event_names)
        self.spec = self.validate_spec(spec, where)
        # a network loaded from a bundle is private already (and refuses eval())
        self._attach(
            _private_copy(net, dtype, device) if copy_network else net,
            self.grid(self.spec),
            dtype,
            device,
            source or type(net).__name__,
            event_names,
        )

    def _attach(
        self,
        net: torch.nn.Module,
        time: np.ndarray,
        dtype: torch.dtype,
        device: torch.device,
        source: str,
        event_names: Sequence[str] | None,
    ) -> None:
        self.net = net
        self.time = np.asarray(time, dtype=np.float64)
        self.dtype = dtype
        self.device = device
        self.source = source
        self._event_names = None if event_names is None else [str(e) for e in event_names]

    # -- the family's description ---------------------------------------------------
    @classmethod
    def check_spec(cls, where: str, *args: Any, **spec: Any) -> dict:  # pragma: no cover
        """The spec, checked and normalised (numpy arrays, ints); one-line errors."""
        # typed `*args: Any, **spec: Any` so that a family may declare its own spec keywords
        raise NotImplementedError

    @classmethod
    def grid(cls, spec: dict) -> np.ndarray:  # pragma: no cover
        """The time grid of the targets for a checked spec."""
        raise NotImplementedError

    @classmethod
    def interpolation_bins(cls, spec: dict) -> np.ndarray:
        """The grid points :class:`~.interpolation.Interpolated` interpolates between, in
        their own float type (it fixes the rounding of the subgrid)."""
        return cls.grid(spec)

    @classmethod
    def spec_from_pycox(cls, model: Any, where: str) -> dict:
        """The spec of a fitted pycox model of one of :attr:`pycox_classes`."""
        raise NotImplementedError(f"{cls.__name__} reads no fitted pycox model")

    @classmethod
    def network(cls, model: Any, head: dict, where: str) -> tuple[torch.nn.Module, dict]:
        """The network and spec of a model given to explain() with ``model_type`` and the
        head parameters ``head``: a bare torch module, by default."""
        if not isinstance(model, torch.nn.Module):
            fail("model", where, f"a torch.nn.Module for model_type {cls.family!r}", model)
        return model, cls.spec_from_head(head, where)

    @classmethod
    def spec_from_head(cls, head: dict, where: str) -> dict:
        """The spec from explain()'s head parameters (given ones only, none is None)."""
        return dict(head)

    @classmethod
    def spec_keys(cls) -> tuple[list[str], list[str]]:
        """The spec's required and optional keys (:meth:`check_spec`'s keyword arguments)."""
        params = [
            p
            for p in inspect.signature(cls.check_spec).parameters.values()
            if p.kind is p.KEYWORD_ONLY
        ]
        return (
            [p.name for p in params if p.default is p.empty],
            [p.name for p in params if p.default is not p.empty],
        )

    @classmethod
    def validate_spec(cls, spec: Any, where: str) -> dict:
        """:meth:`check_spec` after checking that ``spec`` has exactly its keys."""
        required, optional = cls.spec_keys()
        if not isinstance(spec, dict):
            fail(
                "head",
                where,
                f"the head parameters of a {cls.model_class} model (a dict)",
                type(spec).__name__,
                as_text=True,
            )
        unknown = sorted(set(spec) - set(required) - set(optional), key=str)
        missing = [k for k in required if k not in spec]
        if unknown or missing:
            fail(
                "head",
                where,
                f"the head parameters of a {cls.model_class} model ("
                + ", ".join(required + optional)
                + ")",
                f"unknown {str(unknown[0])[:40]!r}" if unknown else f"no {missing[0]!r}",
                as_text=True,
            )
        return cls.check_spec(where, **spec)

    # -- the contract used by the engine -------------------------------------------
    @property
    def rows_per_instance(self) -> int:
        return 1

    def expand(self, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
        """Repeat every instance row ``rows_per_instance`` times (instance-major)."""
        m = self.rows_per_instance
        return inputs if m == 1 else [x.repeat_interleave(m, dim=0) for x in inputs]

    def net_forward(self, rows: list[torch.Tensor]) -> torch.Tensor:
        out = self.net(*rows)
        return out.reshape(out.shape[0], -1)

    def head(self, phi: torch.Tensor, target: str) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def head_jvp(
        self,
        phi: torch.Tensor,
        dphi: torch.Tensor,
        target: str,
        out: torch.Tensor | None = None,
        overwrite_dphi: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The head and its derivatives along ``D`` directions per instance.

        A family overrides this with closed forms (O(T) per direction) for its own
        targets and calls this default for any other target: automatic differentiation
        of :meth:`head`, which serves every differentiable head.

        Parameters
        ----------
        phi : torch.Tensor
            The head's input, ``(B, MK)``.
        dphi : torch.Tensor
            ``D`` directions per instance, ``(B, D, MK)`` (any strides).
        target : str
            One of the model's targets.
        out : torch.Tensor, optional
            A contiguous ``(B, D, E, T)`` array the derivatives are written into.
        overwrite_dphi : bool, default False
            Whether ``dphi`` may be used as working memory (the engine passes its own
            fresh directions: the closed forms then work in them, while they are in
            cache, and write ``out`` once).

        Returns
        -------
        tuple of torch.Tensor
            ``head(phi, target)`` ``(B, E, T)`` and the derivatives ``(B, D, E, T)``
            (``out`` when given).
        """
        from .._autodiff import push_forward

        value, jv = push_forward(lambda ps: self.head(ps, target), phi, dphi.movedim(1, 0))
        jv = jv.movedim(0, 1)
        return value, jv.contiguous() if out is None else out.copy_(jv)

    def forward(self, inputs: list[torch.Tensor], target: str) -> torch.Tensor:
        """Target over the time grid, ``(B, event, time)``."""
        out = self.net_forward(self.expand(inputs))
        return self.head(out.reshape(inputs[0].shape[0], -1), target)

    # -- derived adapters ---------------------------------------------------------------
    @property
    def conditional_targets(self) -> tuple[str, ...]:
        """The targets of :data:`CONDITIONAL_TARGETS` this model gives: those whose base
        target and ``"survival"`` (the denominator) pass :meth:`check_target` (a model
        may accept fewer targets than its family declares, e.g. an ONNX file)."""
        return tuple(
            name
            for name, base in CONDITIONAL_TARGETS.items()
            if self.accepts(base) and self.accepts("survival")
        )

    def accepts(self, target: str) -> bool:
        """Whether :meth:`check_target` accepts ``target``."""
        try:
            self.check_target(target, "")
        except SurvinngError:
            return False
        return True

    def with_time_input(self, where: str) -> SurvivalModel:
        """This model with one more input, a time handle ``(B, 1)`` after the network's
        inputs, whose Jacobian is the attribution of the time the network sees; only
        families whose network takes time as an input have one (CoxTime)."""
        fail(
            "include_time",
            where,
            "used with a model whose network takes time as an input (CoxTime)",
            f"a {self.model_class} model",
            as_text=True,
        )

    # -- labels ---------------------------------------------------------------------
    def check_target(self, target: str, where: str) -> str:
        return check_choice(
            target, self.targets, "target", f"{where} for a {self.model_class} model"
        )

    def num_risks(self, inputs: list[torch.Tensor]) -> int:
        """The number of competing events, after checking the network's output width."""
        return 1

    def event_names(self, target: str, num_risks: int) -> list[str]:
        if target in self.per_event_targets and num_risks > 1:
            names = self._event_names or [f"event_{r + 1}" for r in range(num_risks)]
            if len(names) != num_risks:
                fail(
                    "event_names",
                    "explain()",
                    f"{num_risks} names (one per competing event)",
                    names,
                )
            return names
        return ["any_event"] if num_risks > 1 else ["event"]

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(model_class={self.model_class!r}, source={self.source!r}, "
            f"times={len(self.time)}, dtype={self.dtype}, device={self.device})"
        )


class DerivedModel(SurvivalModel):
    """A model derived from another (``inner``) by a different head on the same network:
    rows, network and competing risks are the inner model's."""

    inner: SurvivalModel

    @property
    def rows_per_instance(self) -> int:
        return self.inner.rows_per_instance

    def expand(self, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
        return self.inner.expand(inputs)

    def net_forward(self, rows: list[torch.Tensor]) -> torch.Tensor:
        return self.inner.net_forward(rows)

    def num_risks(self, inputs: list[torch.Tensor]) -> int:
        return self.inner.num_risks(inputs)


class Conditional(DerivedModel):
    """A target given that no event happened by time ``s`` (``given``), derived from the
    family's own targets with gradients through the ratio, for every family.

    * ``conditional_survival``: S(t | T > s) = S(t) / S(s);
    * ``conditional_cif`` (families with a ``cif`` target, e.g. competing risks): the
      probability of event k by t given no event of any kind by s,
      (F_k(t) - F_k(s)) / S(s), with S the event-free survival.

    The grid is cut to the times t >= s. S(s) and F_k(s) are read at the last grid time
    <= s (the curves as step functions); before the first grid time they are 1 and 0, so
    there the conditional target is the plain one on the whole grid.

    Parameters
    ----------
    inner : SurvivalModel
        The model whose targets are conditioned.
    target : str
        One of ``inner.conditional_targets``.
    given : float
        The time ``s``, from ``min(0, first grid time)`` to the last grid time.
    where : str
        The function named in errors.
    """

    def __init__(self, inner: SurvivalModel, target: str, given: Any, where: str):
        self.inner = inner
        self.base_target = CONDITIONAL_TARGETS[target]
        self.targets = (target,)
        self.model_class = inner.model_class
        self.differentiable = inner.differentiable
        self.torch_network = inner.torch_network
        grid = inner.time
        self.given = check_given(given, grid, where)
        self._first = int(np.searchsorted(grid, self.given, side="left"))  # first t >= s
        self._at = int(np.searchsorted(grid, self.given, side="right")) - 1  # last t <= s
        self._attach(
            inner.net,
            grid[self._first :],
            inner.dtype,
            inner.device,
            inner.source,
            inner._event_names,
        )
        if inner.time_input_values is not None:
            self.time_input_values = inner.time_input_values[self._first :]

    def event_names(self, target: str, num_risks: int) -> list[str]:
        return self.inner.event_names(self.base_target, num_risks)

    def head(self, phi: torch.Tensor, target: str) -> torch.Tensor:
        value = self.inner.head(phi, self.base_target)
        if self._at < 0:  # s before the grid: S(s) = 1, F_k(s) = 0
            return value[..., self._first :]
        at = slice(self._at, self._at + 1)
        if self.base_target == "survival":
            return value[..., self._first :] / value[..., at]
        survival = self.inner.head(phi, "survival")
        return (value[..., self._first :] - value[..., at]) / survival[..., at]


def check_given(given: Any, grid: np.ndarray, where: str) -> float:
    """``given`` as a float on the grid's range (from 0, or from the first grid time if
    that is negative, to the last grid time)."""
    low, high = min(0.0, float(grid[0])), float(grid[-1])
    if (
        isinstance(given, (bool, np.bool_))
        or not isinstance(given, numbers.Real)
        or not low <= float(given) <= high  # also refuses NaN
    ):
        fail(
            "given",
            where,
            f"a time from {low:g} to the last grid time {high:g} (survival is 1 before "
            f"the first grid time {float(grid[0]):g})",
            given,
        )
    return float(given)


def _private_copy(
    net: torch.nn.Module, dtype: torch.dtype, device: torch.device
) -> torch.nn.Module:
    """An eval-mode copy of ``net`` in ``dtype`` on ``device``; the user's net is untouched."""
    private = copy.deepcopy(net).to(device=device, dtype=dtype)
    private.eval()
    for p in private.parameters():
        p.requires_grad_(False)
    return private


def numeric_vector(values: Any, arg: str, where: str) -> np.ndarray:
    """``values`` as a 1-D numpy array of numbers in its own type (strings, objects,
    booleans and nested lists are refused, never converted)."""
    try:
        array = np.asarray(values)
    except (ValueError, TypeError):  # ragged nesting
        array = None
    if array is None or array.ndim != 1 or array.dtype.kind not in "fiu":
        fail(arg, where, "a vector of numbers", values)
    return array


def check_time_grid(time: Any, arg: str, where: str) -> np.ndarray:
    grid = numeric_vector(time, arg, where).astype(np.float64)
    if grid.size == 0 or not np.all(np.isfinite(grid)):
        fail(arg, where, "a non-empty vector of finite time points", grid.tolist())
    if np.any(np.diff(grid) <= 0):
        fail(arg, where, "strictly increasing", grid.tolist())
    return grid


def check_sub(sub: Any, n_bins: int, arg: str, where: str) -> int:
    """pycox's ``sub`` (steps per interval), bounded so the grid has at most
    :data:`MAX_GRID_POINTS` points."""
    sub = check_int(sub, arg, where)
    most = max(1, (MAX_GRID_POINTS - 1) // max(1, n_bins - 1))
    if sub > most:
        fail(
            arg,
            where,
            f"at most {most} (a grid of at most {MAX_GRID_POINTS} points over "
            f"{n_bins - 1} intervals)",
            sub,
        )
    return sub


def network_width(model: SurvivalModel, inputs: list[torch.Tensor]) -> int:
    """Outputs per network row, from one instance row."""
    with torch.no_grad():
        return model.net_forward(model.expand([x[:1] for x in inputs])).shape[1]


def as_buffer(values: np.ndarray, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    # a copy: read-only arrays (from pandas or Arrow) cannot be shared with torch
    return torch.tensor(np.asarray(values, dtype=np.float64)).to(device=device, dtype=dtype)
