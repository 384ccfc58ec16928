"""Arrow table files: the one reader and the one writer of Parquet, Feather (Arrow IPC
file) and Arrow IPC-stream files.

Reading detects the format from the file's first bytes, reads into memory (never a
memory map) and checks every batch in full (``validate(full=True)``), so a truncated or
damaged file is one :class:`SurvinngError` rather than a crash or a table of garbage.
Writing goes through :func:`survinng_py._files.atomic_write`: the file appears whole or
not at all, and an existing file is kept unless ``overwrite``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from ._errors import SurvinngError, fail, first_line
from ._files import atomic_write

#: file name suffixes and the format each one means
FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".feather": "feather",
    ".arrow": "feather",
    ".arrows": "stream",
    ".ipc": "stream",
}
_ROWS_PER_BATCH = 1 << 16


def arrow():
    """The ``pyarrow`` module, or one clear line saying how to install it."""
    try:
        import pyarrow
    except ImportError as err:  # pragma: no cover - pyarrow is in the [arrow] extra
        raise SurvinngError(
            "the Arrow exchange needs pyarrow: pip install 'survinng-py[arrow]'"
        ) from err
    return pyarrow


def format_of(path: Path, format: str | None, *, where: str) -> str:
    """The file format to write: ``format`` if given, else the one ``path``'s suffix names."""
    if format is not None:
        if format not in ("parquet", "feather", "stream"):
            fail("format", where, "'parquet', 'feather' or 'stream'", format)
        return format
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        fail(
            "path",
            where,
            "a file name ending in " + ", ".join(FORMATS) + " (or pass `format`)",
            str(path),
        )
    return fmt


def read_table(path: str | os.PathLike, *, arg: str = "path", where: str = "read_table()"):
    """The ``pyarrow.Table`` of a Parquet, Feather or Arrow IPC-stream file.

    The format is detected from the file's first bytes, whatever its name. The table is
    read into memory (not mapped), so it stays valid if the file changes afterwards.

    Parameters
    ----------
    path : str or PathLike
        The file.
    arg, where : str
        The argument and the function named in errors.

    Returns
    -------
    pyarrow.Table

    Raises
    ------
    SurvinngError
        If ``path`` is missing, a folder, empty, not an Arrow file, truncated or damaged.
    """
    with open_batches(path, arg=arg, where=where) as (schema, _, batches):
        return arrow().Table.from_batches(list(batches), schema=schema)


@contextmanager
def open_batches(path: str | os.PathLike, *, arg: str = "path", where: str = "read_table()"):
    """A file's ``(schema, number of rows, record batches)``, the batches read one at a time.

    The schema and the row count come from the file's footer (Parquet, Feather) before
    any data is read; an IPC stream has no footer and is read whole first. Every batch
    is checked in full (``validate(full=True)``); a damaged file is one
    :class:`SurvinngError` whenever it shows, also while the batches are read.
    """
    pa = arrow()
    if not isinstance(path, (str, os.PathLike)):
        fail(arg, where, "a file path", type(path).__name__)
    path = Path(path)
    if not path.is_file():
        fail(arg, where, "an existing file", str(path))
    errors = (pa.ArrowException, OSError, MemoryError, ValueError)

    def refuse(err: BaseException) -> None:
        raise SurvinngError(
            f"`{arg}` of {where} must be a complete Parquet, Feather or Arrow IPC "
            f"file; got {path.name} ({first_line(err)})"
        ) from None

    def checked(batches: Iterator) -> Iterator:
        while True:
            try:
                batch = next(batches)
                batch.validate(full=True)
            except StopIteration:
                return
            except errors as err:
                refuse(err)
            yield batch

    try:
        # read, not mapped: a mapped table crashes (SIGBUS) once its file is cut short
        source = pa.OSFile(str(path), "rb")
    except errors as err:
        refuse(err)
    try:
        try:
            head = source.read(8)
            source.seek(0)
            if head[:4] == b"PAR1":
                import pyarrow.parquet as pq

                parquet = pq.ParquetFile(source)
                opened = (
                    parquet.schema_arrow,
                    parquet.metadata.num_rows,
                    parquet.iter_batches(batch_size=_ROWS_PER_BATCH),
                )
            elif head[:6] == b"ARROW1":
                reader = pa.ipc.open_file(source)
                opened = (
                    reader.schema,
                    reader.count_rows(),
                    (reader.get_batch(i) for i in range(reader.num_record_batches)),
                )
            else:
                table = pa.ipc.open_stream(source).read_all()
                opened = (table.schema, table.num_rows, iter(table.to_batches()))
        except errors as err:
            refuse(err)
        schema, rows, batches = opened
        yield schema, rows, checked(batches)
    finally:
        source.close()


def write_batches(
    path: Path,
    fmt: str,
    schema,
    batches: Iterable,
    *,
    overwrite: bool,
    arg: str = "path",
    where: str = "write()",
) -> Path:
    """Write record ``batches`` of ``schema`` to ``path`` in ``fmt``, atomically.

    ``batches`` is consumed one at a time while writing. If it raises, the target is
    left as it was (absent, or the old file byte for byte).
    """
    pa = arrow()

    def write(handle: BinaryIO) -> None:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            with pq.ParquetWriter(handle, schema) as writer:
                for batch in batches:
                    writer.write_batch(batch)
            return
        opener = pa.ipc.new_file if fmt == "feather" else pa.ipc.new_stream
        with opener(handle, schema) as writer:
            for batch in batches:
                writer.write_batch(batch)

    return atomic_write(path, write, overwrite=overwrite, arg=arg, where=where)


__all__ = ["FORMATS", "arrow", "format_of", "read_table", "open_batches", "write_batches"]
