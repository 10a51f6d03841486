"""The operator's text files (users, keys): numbered lines of UTF-8 text.

A file holding bytes that are not UTF-8 is the operator's error, told like any other
line that does not parse (701, naming the file and the line), never a
``UnicodeDecodeError`` escaping the reader; a file that cannot be read at all (missing,
a directory, not permitted) is 701 naming it, never an ``OSError``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

from .errors import InvalidArgument


def numbered_lines(path: str, where: Callable[[int], str], field: str) -> Iterator[tuple[int, str]]:
    """``(number, line)`` for each line of the file at ``path``, as ``open`` in text mode
    splits them. ``where(number)`` names the line in an error, whose field is ``field``."""
    try:
        with open(path, "rb") as fp:
            data = fp.read()
    except OSError as error:  # missing, a directory, not permitted, an I/O error
        reason = error.strerror or type(error).__name__
        label = field.replace("_", " ")  # the whole path: a clipped one names no file
        raise InvalidArgument(
            f"{label} {path} cannot be read: {reason}", field=field, value=path
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        number = data.count(b"\n", 0, error.start) + 1
        raise InvalidArgument(
            f"{where(number)} is not UTF-8 text", field=field, value=path
        ) from None
    return enumerate(io.StringIO(text, newline=None), 1)
