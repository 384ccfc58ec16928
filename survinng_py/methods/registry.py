"""The method table: every attribution method described once, next to its function.

A method module defines its function and then registers it with :func:`register_method`:
its name on the command line (``"grad"``), the method id stored in results
(``"Surv_Gradient"``, survinng's), its display labels, the survinng R function it
mirrors and the options it offers. An option's type and default are read from the
function's signature; only its help text is written at registration. From this one table
the command line builds ``explain --method`` and its option flags, the R bridge
dispatches by method id (:func:`describe` gives R the whole table as plain data) and
:attr:`SurvResult.label <survinng_py.SurvResult.label>` finds a result's label.

Other packages add methods through the entry point group ``survinng_py.methods``: each
entry point names a module (or an object in it, ``package.module:METHOD``) whose import
calls :func:`register_method`. Entry points are loaded once, the first time the table is
read.

This module and the method modules of this package import without torch (the command
line reads the table for ``--help``): method functions import torch when called.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

#: entry point group through which other packages register methods
ENTRY_POINT_GROUP = "survinng_py.methods"
#: option types: the command line offers the scalar ones; "rows" (tables in the format of
#: ``x``) only go through Python and R
SCALAR_TYPES = ("bool", "int", "float", "str")
OPTION_TYPES = (*SCALAR_TYPES, "rows")
#: arguments every method takes (``progress`` optional), given by its callers
COMMON_ARGUMENTS = ("explainer", "x", "instance", "target", "progress")
#: names the command line's ``explain`` uses itself, so no option may take them
RESERVED = (
    *COMMON_ARGUMENTS,
    *("bundle", "data", "method", "out", "overwrite", "layout", "help"),
    *("workers", "scheduler", "rows_per_task", "resume"),  # explain into a folder
)
#: help text of the ``batch_size`` option, the same for every method
BATCH_SIZE_HELP = (
    "points per batch (default: as many as the memory budget allows); results do not depend on it"
)
#: help text of the ``given`` option (conditional targets), the same for every method
GIVEN_HELP = (
    "time s for a conditional target (conditional_survival: S(t)/S(s), conditional_cif); "
    "the grid is cut at s"
)
#: help text of the ``include_time`` option, the same for every gradient method
INCLUDE_TIME_HELP = "also attribute the time input of the network (CoxTime)"
#: modules whose import registers this package's entries: the gradient methods first (read
#: by the command line), then modality Shapley (not on the command line; loads torch)
_COMMAND_LINE_MODULES = ("survinng_py.methods",)
_OTHER_MODULES = ("survinng_py.modality",)
_NAME = re.compile(r"[a-z][a-z0-9_-]*\Z")
_WHERE = "register_method()"


@dataclass(frozen=True)
class Option:
    """One option of a method: a keyword argument with a default, described for users.

    Attributes
    ----------
    name : str
        The keyword argument (``"noise_level"``); on the command line ``--noise-level``.
    type : str
        One of :data:`OPTION_TYPES`, from the argument's annotation (or its default).
    default : Any
        The argument's default.
    help : str
        What the option does, one phrase.
    seed : bool
        Whether the option seeds the method's random draws.
    """

    name: str
    type: str
    default: Any
    help: str
    seed: bool = False

    @property
    def flag(self) -> str:
        """The command-line flag, e.g. ``--noise-level``."""
        return "--" + self.name.replace("_", "-")

    def describe(self) -> dict:
        return {
            "name": self.name,
            "type": self.type,
            "default": self.default,
            "help": self.help,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class Method:
    """One entry of the method table (made by :func:`register_method`).

    Attributes
    ----------
    name : str
        Name on the command line (``explain --method <name>``).
    id : str
        Method id stored in results and files (survinng's, e.g. ``"Surv_Gradient"``).
    function : callable
        ``function(explainer, x=None, *, instance=None, target=..., **options)`` returning
        a :class:`~survinng_py.SurvResult`.
    labels : tuple of str
        Display labels without and with ``times_input`` (``("Grad(t)", "GxI(t)")``).
    long_labels : tuple of str
        Longer names, as survinng's data frames use them (``("Gradient", "Grad x Input")``).
    r_function : str or None
        The survinng R function it mirrors (``"surv_grad"``).
    options : tuple of Option
        The options a caller may set, in display order.
    cli : bool
        Whether ``survinng-py explain --method`` offers it.
    arguments : frozenset of str
        The function's argument names (see :meth:`takes`).
    """

    name: str
    id: str
    function: Callable = field(repr=False, compare=False)
    labels: tuple[str, str]
    long_labels: tuple[str, str]
    r_function: str | None
    options: tuple[Option, ...]
    cli: bool = True
    arguments: frozenset = field(repr=False, compare=False, default=frozenset())

    @property
    def random(self) -> bool:
        """Whether the method draws random numbers (it has a seed option)."""
        return any(option.seed for option in self.options)

    def option(self, name: str) -> Option | None:
        return next((o for o in self.options if o.name == name), None)

    def takes(self, argument: str) -> bool:
        """Whether the function accepts the keyword ``argument`` (e.g. ``progress``)."""
        return argument in self.arguments

    def label(self, times_input: bool = False, long: bool = False) -> str:
        return (self.long_labels if long else self.labels)[bool(times_input)]

    def describe(self) -> dict:
        """The entry as plain JSON-able data (what the R side reads)."""
        return {
            "name": self.name,
            "id": self.id,
            "labels": list(self.labels),
            "long_labels": list(self.long_labels),
            "r_function": self.r_function,
            "cli": self.cli,
            "random": self.random,
            "module": getattr(self.function, "__module__", None),
            "options": [o.describe() for o in self.options],
        }


_TABLE: dict[str, Method] = {}  # by name, in registration order
_loaded = {"command_line": False, "all": False}


def register_method(
    function: Callable,
    *,
    name: str,
    id: str,
    labels: str | tuple[str, str],
    options: Mapping[str, str] | None = None,
    seed_option: str | None = None,
    r_function: str | None = None,
    long_labels: str | tuple[str, str] | None = None,
    cli: bool = True,
) -> Method:
    """Add a method to the table (call it in the method's module, after the function).

    Parameters
    ----------
    function : callable
        ``function(explainer, x=None, *, instance=None, target="survival", ...)``; it
        stores ``id`` as the ``method`` of its results.
    name : str
        Lower-case name for the command line, e.g. ``"grad"``.
    id : str
        Method id stored in results, e.g. ``"Surv_Gradient"``.
    labels : str or (str, str)
        Display label, or the labels without and with ``times_input``.
    options : mapping of str to str, optional
        The options offered, ``{keyword argument: help text}`` in display order; each
        must be a keyword argument of ``function`` with a default. Its type comes from the
        annotation (the first of bool, int, float, str it names, else ``"rows"``; without
        annotation, from the default).
    seed_option : str, optional
        The option that seeds the method's random draws (a random method).
    r_function : str, optional
        The survinng R function the method mirrors.
    long_labels : str or (str, str), optional
        Longer labels for data frames (default: ``labels``).
    cli : bool
        Offer the method on the command line (``survinng-py explain --method``).

    Returns
    -------
    Method
        The entry; the same name or id cannot be registered twice (see
        :func:`unregister_method`).

    Raises
    ------
    SurvinngError
        A bad entry, or a name or id that is already taken.

    Examples
    --------
    >>> from survinng_py.methods import register_method, unregister_method, surv_grad
    >>> def doubled(explainer, x=None, *, instance=None, target="survival",
    ...             factor: float = 2.0):
    ...     ...
    >>> entry = register_method(doubled, name="doubled", id="Doubled_Gradient",
    ...                         labels="2Grad(t)", options={"factor": "scale of the gradient"})
    >>> entry.options[0].flag, entry.options[0].type, entry.options[0].default
    ('--factor', 'float', 2.0)
    >>> unregister_method("doubled").id
    'Doubled_Gradient'
    """
    if not callable(function):
        _fail("function", "a callable", type(function).__name__)
    for arg, value in (("name", name), ("id", id)):
        if not isinstance(value, str) or not value:
            _fail(arg, "a non-empty string", value)
    if not _NAME.match(name):
        _fail("name", "lower-case letters, digits, '-' and '_', starting with a letter", name)
    labels = _label_pair(labels, "labels")
    long_labels = labels if long_labels is None else _label_pair(long_labels, "long_labels")
    if r_function is not None and not isinstance(r_function, str):
        _fail("r_function", "a string or None", r_function)
    parameters = _parameters(function)
    entries = tuple(
        _option(parameters, key, text, key == seed_option)
        for key, text in _mapping(options).items()
    )
    if seed_option is not None and seed_option not in {o.name for o in entries}:
        _fail("seed_option", "one of the options", seed_option)
    entry = Method(
        name=name,
        id=id,
        function=function,
        labels=labels,
        long_labels=long_labels,
        r_function=r_function,
        options=entries,
        cli=bool(cli),
        arguments=frozenset(parameters),
    )
    _load_package(_COMMAND_LINE_MODULES)  # so entries of other packages meet the built-ins
    _check_new(entry)
    _TABLE[name] = entry
    return entry


def unregister_method(name: str) -> Method:
    """Remove the method ``name`` from the table and return its entry.

    Parameters
    ----------
    name : str
        The command-line name of a registered method.

    Returns
    -------
    Method
        The entry removed.

    Raises
    ------
    SurvinngError
        For a name that is not registered.

    Examples
    --------
    >>> from survinng_py.methods import register_method, unregister_method
    >>> def twice(explainer, x=None, *, instance=None, target="survival"):
    ...     ...
    >>> entry = register_method(twice, name="twice", id="Twice", labels="Twice(t)")
    >>> unregister_method("twice") is entry
    True
    """
    entry = _TABLE.pop(name, None) if isinstance(name, str) else None
    if entry is None:
        _fail(
            "name",
            "the name of a registered method (" + ", ".join(_TABLE) + ")",
            name,
            where="unregister_method()",
        )
    return entry


def methods(*, cli: bool | None = None) -> list[Method]:
    """The table's entries in registration order (``cli=True``: those the command line offers).

    Reading the command-line entries loads this package's gradient methods and the entry
    points of other packages; reading all of them loads modality Shapley too.

    Parameters
    ----------
    cli : bool, optional
        ``True``: only the methods the command line offers; ``False``: only the others;
        ``None``: all.

    Returns
    -------
    list of Method
        The entries, in registration order.

    Examples
    --------
    >>> from survinng_py.methods import methods
    >>> [m.name for m in methods(cli=True)][:4]
    ['grad', 'smoothgrad', 'intgrad', 'gradshap']
    """
    _load(everything=not cli)
    return [m for m in _TABLE.values() if cli is None or m.cli == cli]


def get_method(name: str | None = None, *, id: str | None = None) -> Method | None:
    """The entry with this command-line ``name`` or this method ``id``; ``None`` if none.

    Parameters
    ----------
    name : str, optional
        The command-line name (``"grad"``, ``"gradshap"``, ...).
    id : str, optional
        The method id stored in results (``"Surv_Gradient"``, ...). Give exactly one.

    Returns
    -------
    Method or None
        The entry, or ``None`` when no method has that name or id.

    Raises
    ------
    SurvinngError
        When both or neither of ``name`` and ``id`` are given.

    Examples
    --------
    >>> from survinng_py.methods import get_method
    >>> get_method("gradshap").id, get_method(id="Surv_Gradient").name, get_method("nope")
    ('Surv_GradSHAP', 'grad', None)
    """
    if (name is None) == (id is None):
        _fail("name", "given, or else id (exactly one)", name, where="get_method()")
    _load(everything=True)
    if name is not None:
        return _TABLE.get(name)
    return next((m for m in _TABLE.values() if m.id == id), None)


def method_label(id: str, times_input: bool = False, long: bool = False) -> str:
    """The display label of the method ``id`` (the id itself for an unknown method).

    Parameters
    ----------
    id : str
        The method id stored in a result.
    times_input : bool
        The label of the ``times_input=True`` variant (GxI(t), SGxI(t)).
    long : bool
        The long label (``"Gradient"`` rather than ``"Grad(t)"``).

    Returns
    -------
    str
        The label, or ``id`` itself for an unknown method.

    Examples
    --------
    >>> from survinng_py.methods import method_label
    >>> method_label("Surv_Gradient", times_input=True), method_label("Surv_Gradient", long=True)
    ('GxI(t)', 'Gradient')
    """
    entry = get_method(id=id)
    return id if entry is None else entry.label(times_input, long)


def describe() -> list[dict]:
    """The whole table as JSON-able data: one dict per method (see :meth:`Method.describe`).

    Returns
    -------
    list of dict
        One JSON-able dict per method: name, id, labels, R function and options.

    Examples
    --------
    >>> from survinng_py.methods import describe
    >>> grad = next(m for m in describe() if m["id"] == "Surv_Gradient")
    >>> grad["name"], grad["labels"], grad["r_function"], grad["options"][0]["name"]
    ('grad', ['Grad(t)', 'GxI(t)'], 'surv_grad', 'times_input')
    """
    return [m.describe() for m in methods()]


# -- loading --------------------------------------------------------------------------------
def _load(everything: bool) -> None:
    if not _loaded["command_line"]:
        _load_package(_COMMAND_LINE_MODULES)
        _load_entry_points()
        _loaded["command_line"] = True  # only once all loaded: a broken plugin fails each time
    if everything and not _loaded["all"]:
        _load_package(_OTHER_MODULES)
        _loaded["all"] = True


def _load_package(modules: tuple[str, ...]) -> None:
    for module in modules:
        importlib.import_module(module)


def _load_entry_points() -> None:
    from importlib.metadata import entry_points

    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            point.load()  # importing registers
        except Exception as err:  # a broken plugin is named, not hidden
            from .._validation import SurvinngError, first_line

            if isinstance(err, SurvinngError):  # its register_method() call was refused
                raise
            _fail(
                f"entry point {point.name!r}",
                "importable (" + point.value + ")",
                f"{type(err).__name__}: {first_line(err)}",
                where=ENTRY_POINT_GROUP,
                as_text=True,
            )


# -- checks ---------------------------------------------------------------------------------
def _fail(
    arg: str, rule: str, value: Any, *, where: str = _WHERE, as_text: bool = False
) -> NoReturn:
    from .._validation import fail  # loads torch: only on the error path

    fail(arg, where, rule, value, as_text=as_text)


def _label_pair(value: Any, arg: str) -> tuple[str, str]:
    pair = (value, value) if isinstance(value, str) else value
    if (
        not isinstance(pair, (tuple, list))
        or len(pair) != 2
        or not all(isinstance(v, str) and v for v in pair)
    ):
        _fail(arg, "a label, or a pair (without, with times_input) of labels", value)
    return tuple(pair)


def _mapping(options: Any) -> dict:
    if options is None:
        return {}
    if not isinstance(options, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in options.items()
    ):
        _fail("options", "a mapping of keyword arguments to help texts", options)
    return dict(options)


def _parameters(function: Callable) -> dict[str, inspect.Parameter]:
    try:
        parameters = dict(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        _fail("function", "a callable with a signature", function)
    missing = [a for a in ("x", "instance", "target") if a not in parameters]
    if missing:
        _fail(
            "function",
            "a method taking (explainer, x=None, *, instance=None, target=...)",
            f"no argument {missing[0]!r}",
            as_text=True,
        )
    return parameters


def _option(parameters: dict[str, inspect.Parameter], name: str, text: str, seed: bool) -> Option:
    parameter = parameters.get(name)
    if name in RESERVED:
        _fail("options", "keyword arguments other than " + ", ".join(RESERVED), name)
    if (
        parameter is None
        or parameter.default is inspect.Parameter.empty
        or parameter.kind not in (parameter.KEYWORD_ONLY, parameter.POSITIONAL_OR_KEYWORD)
    ):
        _fail("options", "keyword arguments of the function, with defaults", name)
    try:
        json.dumps(parameter.default, allow_nan=False)
    except (TypeError, ValueError):
        _fail(
            "options",
            "arguments whose defaults are plain data (None, a bool, a finite "
            "number, a string or a list of them)",
            f"{name}={parameter.default!r}",
            as_text=True,
        )
    return Option(
        name=name, type=_option_type(parameter), default=parameter.default, help=text, seed=seed
    )


def _option_type(parameter: inspect.Parameter) -> str:
    """The first of bool, int, float, str that the annotation names (``"int | None"`` is
    int), else ``"rows"``; without annotation, the type of the default."""
    annotation = parameter.annotation
    if annotation is inspect.Parameter.empty:
        default = parameter.default
        return type(default).__name__ if type(default) in (bool, int, float, str) else "rows"
    text = (
        annotation
        if isinstance(annotation, str)
        else getattr(annotation, "__name__", None) or str(annotation)
    )
    return next(
        (word for word in re.findall(r"[A-Za-z_][\w.]*", text) if word in SCALAR_TYPES), "rows"
    )


def _check_new(entry: Method) -> None:
    for other in _TABLE.values():
        if other.name == entry.name or other.id == entry.id:
            _fail(
                "name",
                f"a name and id not yet in the method table ({other.name!r} has id "
                f"{other.id!r}; unregister_method() frees it)",
                f"name {entry.name!r}, id {entry.id!r}",
                as_text=True,
            )
        for option in entry.options:
            same = other.option(option.name)
            if same is not None and same.type != option.type:
                _fail(
                    "options",
                    f"of the type other methods give the same option (method "
                    f"{other.name!r} takes {option.name} as {same.type})",
                    f"{option.name} as {option.type}",
                    as_text=True,
                )


__all__ = [
    "Method",
    "Option",
    "register_method",
    "unregister_method",
    "methods",
    "get_method",
    "method_label",
    "describe",
    "ENTRY_POINT_GROUP",
    "BATCH_SIZE_HELP",
    "GIVEN_HELP",
    "INCLUDE_TIME_HELP",
]
