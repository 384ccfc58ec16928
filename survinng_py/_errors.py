"""The package's error type and its one-line messages: the bottom of the import graph.

Every other module may import this one; it imports nothing of the package, so the
modules below the argument checks (safe files, Arrow tables) raise the same errors
without importing :mod:`survinng_py._validation`.
"""

from __future__ import annotations

from typing import Any, NoReturn


class SurvinngError(ValueError, TypeError):
    """Bad input to survinng_py (a ValueError and a TypeError, as scikit-learn does)."""


# shown in tracebacks (and pickled) under the module that has always exported it
SurvinngError.__module__ = "survinng_py._validation"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def fail(arg: str, where: str, rule: str, value: Any = None, *, as_text: bool = False) -> NoReturn:
    """Raise the one-line error; ``as_text`` shows ``value`` as a description, not a repr."""
    got = value if as_text else _short(value)
    raise SurvinngError(f"`{arg}` of {where} must be {rule}; got {got}")


def first_line(err: BaseException, limit: int = 160) -> str:
    """The first line of an exception's message (its type name when empty), shortened:
    how foreign errors (torch, pyarrow, onnxruntime) are quoted in ours."""
    text = str(err).strip()
    line = text.splitlines()[0] if text else type(err).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."
