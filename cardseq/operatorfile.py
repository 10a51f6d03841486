"""The files an operator hands a running cardseq (a users file, a keys file): read
whole, or refused whole.

A file is opened once, and what is checked (its kind, its mode, the stamp that tells a
later change) is the status of the file that was read, not of whatever its name points
to a moment later. Every failure, whatever its type, ends as a ``BrokenFile`` naming
the file, so that a caller keeps nothing of a file it could not read and can refuse
until a good one is in place.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass

from .errors import BrokenFile, CardSeqError

#: what tells one version of a file from the next: device, inode, size, and the
#: modification and change times in nanoseconds
Stamp = tuple[int, int, int, int, int]


@dataclass(frozen=True)
class FileText:
    """A file's text, with the stamp and permission bits of the file it came from."""

    text: str
    stamp: Stamp
    mode: int


def _stamp(st: os.stat_result) -> Stamp:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def current_stamp(path: str) -> Stamp | None:
    """The stamp of the file at ``path`` now; None when it cannot be looked at."""
    try:
        return _stamp(os.stat(path))
    except OSError:
        return None


def broken(what: str, path: str, why: str) -> BrokenFile:
    """The error for the ``what`` (``"users file"``) at ``path``, ``why`` it is refused."""
    return BrokenFile(f"{what} {path!r} {why}", field=what.replace(" ", "_"), value=path)


def read_text(path: str, what: str) -> FileText:
    """The whole of the regular file ``path``, decoded as UTF-8; else ``BrokenFile``."""
    try:
        # O_NONBLOCK: a FIFO put in the file's place must not hang the open
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with open(fd, "rb") as fp:
            st = os.fstat(fp.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise broken(what, path, "is not a regular file")
            data = fp.read()
    except OSError as error:
        raise broken(what, path, f"cannot be read: {error.strerror or error}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        why = f"is not UTF-8: byte {data[error.start]:#04x} on line {line}"
        raise broken(what, path, why) from None
    return FileText(text, _stamp(st), stat.S_IMODE(st.st_mode))


def numbered_lines(text: str) -> Iterator[tuple[int, str]]:
    """The lines of ``text`` from 1, split at ``\\n``, ``\\r\\n`` or ``\\r`` only (not
    at the other characters ``str.splitlines`` breaks at)."""
    return enumerate(io.StringIO(text, newline=None), 1)


@contextlib.contextmanager
def whole_or_nothing(what: str, path: str) -> Iterator[None]:
    """Reading the ``what`` at ``path`` inside, any failure is a ``BrokenFile``: a coded
    error keeps its message, any other exception (one nobody foresaw) is named by type."""
    try:
        yield
    except BrokenFile:
        raise
    except CardSeqError as error:
        raise BrokenFile(error.message, field=what.replace(" ", "_"), value=path) from error
    except Exception as error:
        raise broken(what, path, f"cannot be read: {type(error).__name__}: {error}") from error


__all__ = [
    "FileText",
    "Stamp",
    "broken",
    "current_stamp",
    "numbered_lines",
    "read_text",
    "whole_or_nothing",
]
