"""Files handed between people: bounded, contained reads and atomic writes.

Everything that reads a file a user was given (model bundles, exchange tables) or writes
one a user will be given goes through here:

* :func:`strict_json` parses JSON of bounded size and depth, refuses ``NaN``/``Infinity``
  (unless asked for) and duplicate keys, and never lets ``RecursionError`` or
  ``MemoryError`` escape;
* :class:`Folder` opens a folder once and reads members by plain names relative to it
  (``O_NOFOLLOW``, regular files with one link, size-capped), so no name can reach
  outside the folder and a missing, linked or outside file all give the same message;
* :func:`atomic_write` writes a file through a temporary file in the same folder
  (flushed and fsynced) and publishes it by rename (overwrite) or hard link (no
  overwrite), so readers see the old file or the new one, never a mix, and two writers
  of one new path cannot both succeed; :func:`publish_folder` does the same for a
  folder built in a temporary sibling.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

from ._errors import SurvinngError, fail, first_line

#: at most this many bytes of JSON are parsed (metadata and bundle sidecars are small)
MAX_JSON_BYTES = 8 * 2**20
MAX_JSON_DEPTH = 32
#: a member name of a folder: one path component of safe characters
_MEMBER_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_CHUNK = 1 << 16


def strict_json(
    raw: bytes | str,
    *,
    arg: str,
    where: str,
    what: str,
    max_bytes: int = MAX_JSON_BYTES,
    max_depth: int = MAX_JSON_DEPTH,
    allow_nan: bool = False,
) -> Any:
    """Parse ``raw`` as JSON within limits; any failure is one :class:`SurvinngError`.

    ``what`` names the document in the message (e.g. ``"bundle.json"``).
    """
    size = len(raw)
    if size > max_bytes:
        fail(arg, where, f"a {what} of at most {max_bytes} bytes", f"{size} bytes", as_text=True)
    if isinstance(raw, (bytes, bytearray)):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            fail(arg, where, f"a {what} in UTF-8", "undecodable bytes", as_text=True)
    if _nesting(raw) > max_depth:
        fail(
            arg,
            where,
            f"a {what} nested at most {max_depth} levels deep",
            "deeper nesting",
            as_text=True,
        )

    def refuse_constant(name: str) -> Any:
        raise ValueError(f"{name} is not allowed")

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
        out: dict = {}
        for key, value in pairs:
            if key in out:
                raise ValueError(f"duplicate key {key[:40]!r}")
            out[key] = value
        return out

    try:
        return json.loads(
            raw,
            object_pairs_hook=no_duplicates,
            parse_constant=None if allow_nan else refuse_constant,
        )
    except (ValueError, RecursionError, MemoryError) as err:
        fail(arg, where, f"a valid {what} (JSON)", first_line(err), as_text=True)


def _nesting(text: str) -> int:
    """Deepest bracket nesting of a JSON text, brackets inside strings ignored."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


class Folder:
    """A folder opened once; members are read by plain names relative to it.

    Parameters
    ----------
    path : str or Path
        The folder.
    arg, where : str
        The argument and the function named in errors.
    what : str
        What the folder is, for messages (e.g. ``"a model bundle folder"``).
    """

    def __init__(self, path: str | os.PathLike, *, arg: str, where: str, what: str):
        self.path, self.arg, self.where, self.what = Path(path), arg, where, what
        self._fd: int | None = None
        if _HAS_DIR_FD:
            try:
                self._fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            except OSError:
                self._fd = None
        if self._fd is None and not self.path.is_dir():
            fail(arg, where, what, repr(_shown(self.path)), as_text=True)
        self._root = os.path.realpath(self.path)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Folder:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def read(self, name: str, max_bytes: int) -> bytes:
        """The bytes of member ``name``: a regular file with one link, at most ``max_bytes``.

        A bad name, a missing file, a link, a folder and a file outside all give one
        message, so the error tells nothing about what exists outside the folder.
        """
        if not isinstance(name, str) or not _MEMBER_NAME.fullmatch(name) or name in (".", ".."):
            self._unusable(name)
        fd = self._open(name)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
                self._unusable(name)
            return _read_bounded(
                fd,
                info.st_size,
                max_bytes,
                self.arg,
                self.where,
                f"{self.what} whose {name} has at most {max_bytes} bytes",
            )
        finally:
            os.close(fd)

    def exists(self, name: str) -> bool:
        """Whether ``name`` is a member (by the same rules as :meth:`read`)."""
        try:
            os.close(self._open(name))
        except SurvinngError:
            return False
        return True

    def _open(self, name: str) -> int:
        flags = os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
        try:
            if self._fd is not None:
                return os.open(name, flags, dir_fd=self._fd)
            # no dir_fd (e.g. Windows): lstat, containment, then the same file after opening
            candidate = self.path / name
            before = os.lstat(candidate)
            if (
                stat.S_ISLNK(before.st_mode)
                or os.path.commonpath([self._root, os.path.realpath(candidate)]) != self._root
            ):
                self._unusable(name)
            fd = os.open(candidate, flags)
            after = os.fstat(fd)
            if (after.st_ino, after.st_dev) != (before.st_ino, before.st_dev):
                os.close(fd)
                self._unusable(name)
            return fd
        except OSError:
            self._unusable(name)
        raise AssertionError("unreachable")  # pragma: no cover

    def _unusable(self, name: Any) -> None:
        shown = name[:40] if isinstance(name, str) else type(name).__name__
        fail(
            self.arg,
            self.where,
            f"{self.what} holding {shown!r} as a regular file",
            "missing, a link, outside the folder or not a plain file",
            as_text=True,
        )


_HAS_DIR_FD = os.open in os.supports_dir_fd and hasattr(os, "O_DIRECTORY")


def read_file(path: str | os.PathLike, max_bytes: int, *, arg: str, where: str, what: str) -> bytes:
    """The bytes of a file a caller named: a regular file of at most ``max_bytes``.

    ``what`` is the rule shown when the file cannot be read (e.g. ``"an existing ONNX
    file"``). Messages show the file's name only, never the folder it is in.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        fd = None
    if fd is None:
        fail(arg, where, what, repr(path.name[:60]), as_text=True)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            fail(arg, where, what, repr(path.name[:60]), as_text=True)
        return _read_bounded(
            fd, info.st_size, max_bytes, arg, where, f"{what} of at most {max_bytes} bytes"
        )
    finally:
        os.close(fd)


def _read_bounded(fd: int, size: int, max_bytes: int, arg: str, where: str, rule: str) -> bytes:
    """At most ``max_bytes`` from ``fd`` (whose size was ``size``), read in chunks."""
    if size > max_bytes:
        fail(arg, where, rule, f"{size} bytes", as_text=True)
    chunks, total = [], 0
    while True:
        block = os.read(fd, min(_CHUNK, max_bytes + 1 - total))
        if not block:
            break
        chunks.append(block)
        total += len(block)
        if total > max_bytes:  # grew while being read
            fail(arg, where, rule, "a growing file", as_text=True)
    return b"".join(chunks)


def _shown(path: Path) -> str:
    """A path as shown in errors: as the user gave it, shortened."""
    text = str(path)
    return text if len(text) <= 60 else "..." + text[-57:]


def _taken(path: Path, kind: str, arg: str, where: str) -> NoReturn:
    """The one error for a target that exists and may not be replaced."""
    fail(
        arg,
        where,
        f"a {kind} that does not exist yet (pass overwrite=True to replace it)",
        repr(_shown(path)),
        as_text=True,
    )


def check_write_path(path: str | os.PathLike, *, overwrite: bool, arg: str, where: str) -> Path:
    """Refuse a path that cannot be written as asked, before any work is done."""
    path = Path(path)
    if not path.parent.is_dir():
        fail(arg, where, "a file in an existing folder", repr(_shown(path)), as_text=True)
    if path.is_dir():
        fail(arg, where, "a file name, not a folder", repr(_shown(path)), as_text=True)
    if not overwrite and (path.exists() or path.is_symlink()):
        _taken(path, "file", arg, where)
    return path


def atomic_write(
    path: str | os.PathLike,
    write: Callable[[BinaryIO], None],
    *,
    overwrite: bool,
    arg: str = "path",
    where: str = "write()",
) -> Path:
    """Write a file with ``write(handle)`` so that it appears whole or not at all.

    The data go to a temporary file in the target's folder, which is flushed, fsynced and
    then renamed over the target (``overwrite=True``) or hard-linked to it (otherwise: an
    existing target, even one created meanwhile by another process, is never replaced).
    If ``write`` fails, the target is left as it was. A symlink at the target is replaced,
    never written through.
    """
    path = check_write_path(path, overwrite=overwrite, arg=arg, where=where)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:40]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            _publish_new(tmp, path, arg, where)
        _fsync_folder(path.parent)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
    return path


def _publish_new(tmp: str, path: Path, arg: str, where: str) -> None:
    try:
        os.link(tmp, path)
    except FileExistsError:
        _taken(path, "file", arg, where)
    except OSError as err:  # a file system without hard links: claim the name, then replace
        if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK, errno.EACCES):
            raise
        try:
            os.close(
                os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0))
            )
        except FileExistsError:
            _taken(path, "file", arg, where)
        os.replace(tmp, path)


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - folders cannot be opened on some systems
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def staging_folder(path: str | os.PathLike, *, overwrite: bool, arg: str, where: str) -> Path:
    """A new empty folder beside ``path`` in which to build what :func:`publish_folder`
    later moves to ``path`` (checked first: ``path``'s folder exists, ``path`` is free or
    ``overwrite`` is set)."""
    path = Path(path)
    if not path.parent.is_dir():
        fail(arg, where, "a path in an existing folder", repr(_shown(path)), as_text=True)
    if not overwrite and (path.exists() or path.is_symlink()):
        _taken(path, "folder", arg, where)
    return Path(tempfile.mkdtemp(prefix=f".{path.name[:40]}.", dir=path.parent))


def publish_folder(
    staged: Path, path: str | os.PathLike, *, overwrite: bool, arg: str, where: str
) -> Path:
    """Move the folder ``staged`` (from :func:`staging_folder`) to ``path`` in one rename.

    Without ``overwrite`` an existing ``path`` (even an empty folder) is never replaced.
    With it, the old folder is renamed aside first and removed only after the new one is
    in place, so a crash leaves the old folder or the new one, never a mix.
    """
    path = Path(path)
    for member in staged.iterdir():
        if member.is_file():
            with open(member, "rb") as handle:
                os.fsync(handle.fileno())
    _fsync_folder(staged)
    backup = None
    if overwrite and (path.exists() or path.is_symlink()):
        backup = Path(tempfile.mkdtemp(prefix=f".{path.name[:40]}.old.", dir=path.parent))
        os.rmdir(backup)
        os.rename(path, backup)
    elif path.exists() or path.is_symlink():
        _taken(path, "folder", arg, where)
    try:
        _rename_new(staged, path, arg, where)
    except BaseException:
        if backup is not None:
            os.rename(backup, path)
        raise
    _fsync_folder(path.parent)
    if backup is not None:
        shutil.rmtree(backup) if backup.is_dir() and not backup.is_symlink() else backup.unlink()
    return path


def _rename_new(staged: Path, path: Path, arg: str, where: str) -> None:
    # os.rename replaces an empty folder silently: claim the name with mkdir first, which
    # fails if anything is there, then rename onto the empty folder we made.
    try:
        os.mkdir(path)
    except FileExistsError:
        _taken(path, "folder", arg, where)
    try:
        os.rename(staged, path)
    except BaseException:
        os.rmdir(path)
        raise


def file_sha256(path: str | os.PathLike) -> str | None:
    """The SHA-256 of a regular file (read in blocks), or ``None`` when ``path`` is
    missing or a link."""
    path = Path(path)
    if not path.is_file() or path.is_symlink():
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


__all__ = [
    "file_sha256",
    "strict_json",
    "Folder",
    "read_file",
    "check_write_path",
    "atomic_write",
    "staging_folder",
    "publish_folder",
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
]
