"""The operator's text files (users, keys): numbered lines of UTF-8 text.

A file holding bytes that are not UTF-8 is the operator's error, told like any other
line that does not parse (701, naming the file and the line), never a
``UnicodeDecodeError`` escaping the reader.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

from .errors import InvalidArgument


def numbered_lines(path: str, where: Callable[[int], str], field: str) -> Iterator[tuple[int, str]]:
    """``(number, line)`` for each line of the file at ``path``, as ``open`` in text mode
    splits them. ``where(number)`` names the line in an error, whose field is ``field``."""
    with open(path, "rb") as fp:
        data = fp.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        number = data.count(b"\n", 0, error.start) + 1
        raise InvalidArgument(
            f"{where(number)} is not UTF-8 text", field=field, value=path
        ) from None
    return enumerate(io.StringIO(text, newline=None), 1)
