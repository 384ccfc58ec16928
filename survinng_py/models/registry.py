"""The registry of model families, built from the adapter classes' own declarations.

A family is one :class:`~.base.SurvivalModel` subclass that sets ``family`` (and what
else it needs, see the base class) and is registered with :func:`register_family`
(a class decorator). Packages add families through the entry point group
``survinng_py.families``: each entry point names an adapter class, e.g. in a
``pyproject.toml``::

    [project.entry-points."survinng_py.families"]
    weibull = "my_package.families:Weibull"

They are loaded once, when the registry is first asked (:func:`load_entry_points`).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from typing import Any, TypeVar

from .._validation import fail, first_line
from .base import HeadParam, SurvivalModel

ENTRY_POINT_GROUP = "survinng_py.families"
#: keyword arguments of explain() that every family takes (pycox's interpolate)
SHARED_HEAD = ("interpolate", "scheme")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")

_families: dict[
    str, type[SurvivalModel]
] = {}  # family name -> adapter class, in registration order
_model_types: dict[str, str] = {}  # model_type (family name or alias) -> family name
_entry_points_loaded = False

_Family = TypeVar("_Family", bound=SurvivalModel)


def register_family(cls: type[_Family]) -> type[_Family]:
    """Add the adapter class ``cls`` to the registry (a class decorator).

    ``cls.family`` (set in the class itself) and ``cls.aliases`` become ``model_type``
    names; ``cls.pycox_classes`` the pycox classes it reads. Registering the same class
    again does nothing; a name another family holds raises :class:`SurvinngError`.

    Parameters
    ----------
    cls : type
        A subclass of :class:`~survinng_py.models.SurvivalModel` with ``family``,
        ``model_class``, ``targets`` and ``head_params`` set.

    Returns
    -------
    type
        ``cls`` itself, so that this works as a class decorator.

    Raises
    ------
    SurvinngError
        For a class that is not a ``SurvivalModel``, lacks its own ``family``, or whose
        family name or alias another family holds.

    Examples
    --------
    >>> import numpy as np, torch, survinng_py as sv
    >>> from survinng_py.models import DeepSurv, families, register_family, unregister_family
    >>> @register_family
    ... class MyCox(DeepSurv):  # a renamed DeepSurv: every method, export and the CLI know it
    ...     family, model_class = "mycox", "MyCox"
    ...     aliases, pycox_classes = (), ()
    >>> exp = sv.explain(torch.nn.Linear(2, 1), np.eye(2), model_type="mycox",
    ...                  baseline_hazard=([1.0, 2.0], [0.1, 0.2]))
    >>> sv.surv_grad(exp, instance=[0]).model_class, families()["mycox"] is MyCox
    ('MyCox', True)
    >>> unregister_family("mycox")
    >>> "mycox" in families()
    False
    """
    where = "register_family()"
    if not (isinstance(cls, type) and issubclass(cls, SurvivalModel)):
        fail("cls", where, "a subclass of survinng_py.models.SurvivalModel", cls)
    name = cls.__dict__.get("family")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        fail("cls", where, "a class that sets `family` to a lower-case name", name)
    if _families.get(name) is cls:
        return cls
    names = [name, *cls.aliases]
    if not all(isinstance(n, str) and _NAME.fullmatch(n) for n in names) or len(set(names)) != len(
        names
    ):
        fail("cls", where, "a family whose aliases are distinct lower-case names", names)
    taken = [n for n in names if n in _model_types]
    if taken:
        fail(
            "cls",
            where,
            "a family whose names are free",
            f"{taken[0]!r} names the family {_model_types[taken[0]]!r}",
            as_text=True,
        )
    classes = {c: f for f, k in _families.items() for c in k.pycox_classes}
    clash = [c for c in cls.pycox_classes if c in classes]
    if clash:
        fail(
            "cls",
            where,
            "a family whose pycox classes no other family reads",
            f"{clash[0]!r} is read by {classes[clash[0]]!r}",
            as_text=True,
        )
    undefined = [
        m
        for m in ("check_spec", "grid", "head")
        if _function(cls, m) is _function(SurvivalModel, m)
    ]
    # targets name files of a bundle (<target>.onnx): plain lower-case names only
    if (
        not cls.targets
        or not all(isinstance(t, str) and _NAME.fullmatch(t) for t in cls.targets)
        or undefined
        or not all(isinstance(p, HeadParam) for p in cls.head_params)
    ):
        fail(
            "cls",
            where,
            "a family with lower-case targets, HeadParam head parameters and its "
            "own check_spec, grid and head",
            name,
        )
    _families[name] = cls
    _model_types.update((n, name) for n in names)
    return cls


def _function(cls: type, name: str) -> Any:
    """The function behind a method or classmethod of ``cls``."""
    attr = getattr(cls, name)
    return getattr(attr, "__func__", attr)


def unregister_family(name: str) -> None:
    """Remove the family ``name`` (e.g. one registered by a test).

    Parameters
    ----------
    name : str
        The family name given at registration.

    Returns
    -------
    None

    Raises
    ------
    KeyError
        For a name that is not registered.

    Examples
    --------
    See :func:`register_family`.
    """
    cls = _families.pop(name)
    for alias in [name, *cls.aliases]:
        _model_types.pop(alias, None)


def families() -> dict[str, type[SurvivalModel]]:
    """Family name -> adapter class, built-in and entry-point families alike.

    Returns
    -------
    dict
        Family name -> adapter class.

    Examples
    --------
    >>> from survinng_py.models import families
    >>> [name for name in ("deepsurv", "coxtime", "deephit") if name in families()]
    ['deepsurv', 'coxtime', 'deephit']
    """
    load_entry_points()
    return dict(_families)


def family_of_model_type(model_type: Any, where: str) -> type[SurvivalModel]:
    """The adapter class for ``model_type`` (a family name or alias, any case)."""
    load_entry_points()
    key = model_type.lower() if isinstance(model_type, str) else None
    if key not in _model_types:
        fail(
            "model_type",
            where,
            "one of " + ", ".join(repr(k) for k in _model_types) + " for a bare torch module",
            model_type,
        )
    return _families[_model_types[key]]


def family_of_pycox_model(model: Any, where: str) -> type[SurvivalModel]:
    """The adapter class reading a fitted pycox model (its most specific known class)."""
    load_entry_points()
    readers = {c: cls for cls in _families.values() for c in cls.pycox_classes}
    for klass in type(model).__mro__:
        if klass.__name__ in readers and hasattr(model, "net"):
            return readers[klass.__name__]
    fail(
        "model",
        where,
        "a torch.nn.Module or a fitted pycox model of class " + ", ".join(readers),
        type(model).__name__,
    )


def family(name: Any, arg: str, where: str) -> type[SurvivalModel]:
    """The adapter class of the family ``name`` (as stored in a model bundle): one whose
    models run as torch networks, the only ones a bundle holds."""
    load_entry_points()
    bundled = {n: cls for n, cls in _families.items() if cls.torch_network}
    if not isinstance(name, str) or name not in bundled:
        fail(
            arg,
            where,
            "a known model family (" + ", ".join(bundled) + ")",
            str(name)[:40] if isinstance(name, str) else type(name).__name__,
        )
    return bundled[name]


def head_keys() -> list[str]:
    """Every head parameter of explain(), over all families, then :data:`SHARED_HEAD`."""
    load_entry_points()
    keys = [p.name for cls in _families.values() for p in cls.head_params]
    return list(dict.fromkeys(keys + list(SHARED_HEAD)))


def load_entry_points(entry_points: Iterable[Any] | None = None) -> list[str]:
    """Register the families of the ``survinng_py.families`` entry points.

    Without ``entry_points`` the installed ones are read, once per process; given ones
    (``importlib.metadata.EntryPoint`` objects) are loaded each call. An entry point that
    cannot be loaded or registered is skipped with a warning naming it.

    Parameters
    ----------
    entry_points : iterable of importlib.metadata.EntryPoint, optional
        Entry points to load now (default: the installed ones, once per process).

    Returns
    -------
    list of str
        The family names registered by this call's entry points.

    Examples
    --------
    >>> from survinng_py.models import load_entry_points
    >>> load_entry_points([])  # no entry points given: nothing registered
    []
    """
    global _entry_points_loaded
    if entry_points is None:
        if _entry_points_loaded:
            return []
        _entry_points_loaded = True
        from importlib.metadata import entry_points as installed

        entry_points = installed(group=ENTRY_POINT_GROUP)
    added = []
    for point in entry_points:
        try:
            cls = point.load()
            register_family(cls)
        except Exception as err:  # a broken plug-in must not break the built-in families
            warnings.warn(
                f"survinng_py: model family entry point {point.name!r} was not "
                f"loaded: {first_line(err)}",
                RuntimeWarning,
                stacklevel=2,
            )
            continue
        added.append(cls.family)
    return added
