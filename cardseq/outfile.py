"""Output files that are whole or absent.

A print run written straight to its final path leaves half a file there when the
disk fills, the process is killed or the operator presses Ctrl-C, and half a file of
card numbers looks like a whole one. ``OutputFile`` writes to a temporary file beside
the target (``.NAME.cardseq-tmp-XXXXXXXX``, recognisable if a SIGKILL leaves it behind),
flushes it to disk, and only then renames it over the target. A device or a pipe (``/dev/full``,
a FIFO) cannot be renamed over: it is written in place.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from typing import Any, Self

from .errors import OutputError, clip

#: in the name of every temporary file: ``ls -a | grep cardseq-tmp`` finds leftovers
TEMP_MARK = ".cardseq-tmp-"


class OutputFile:
    """The file at ``path``, open for writing as ``fp``: ``commit()`` puts it in place,
    ``discard()`` (or leaving a ``with`` by an exception) leaves the target untouched.

    Opening fails (711) when the file cannot be created, so a caller that opens before
    reserving loses no numbers to a typo in a directory name.
    """

    def __init__(self, path: str) -> None:
        # A symbolic link stays one: the file it points to is the one replaced.
        self.path = os.path.realpath(path) if os.path.islink(path) else path
        self.temp: str | None = None
        self.done = False  # committed: the whole file is in place
        path = self.path
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            mode = None
        except OSError as error:
            raise _failed(path, "cannot be opened", error) from error
        #: written where it is (a device, a FIFO): a failure may leave part of the output
        self.in_place = mode is not None and not stat.S_ISREG(mode)
        if self.in_place:
            assert mode is not None
            if stat.S_ISDIR(mode):
                raise OutputError.bad("--out", path, "is a directory")
            self.fp = _open(path, lambda: open(path, "wb"))  # noqa: SIM115 - closed by commit
            return
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise OutputError.bad("--out", path, f"cannot be created: no such directory {folder}")
        fd, self.temp = _open(
            path,
            lambda: tempfile.mkstemp(prefix=f".{os.path.basename(path)}{TEMP_MARK}", dir=folder),
        )
        self.fp = os.fdopen(fd, "wb")
        # The mode the file would get from open(): the old file's, else 0666 less umask.
        self._mode = stat.S_IMODE(mode) if mode is not None else 0o666 & ~_umask()

    def commit(self) -> None:
        """Flush the data to disk, then rename the file into place (and flush the
        directory, so that the rename survives a crash too)."""
        try:
            self.fp.flush()
            if self.temp is None:
                self.fp.close()
                self.done = True
                return
            os.fsync(self.fp.fileno())
            os.fchmod(self.fp.fileno(), self._mode)
            self.fp.close()
            os.replace(self.temp, self.path)
            self.temp = None
            self.done = True
            _sync_folder(os.path.dirname(os.path.abspath(self.path)))
        except OSError as error:
            self.discard()
            raise _failed(self.path, "could not be written", error) from error

    def discard(self) -> None:
        """Close and remove the temporary file (a device or pipe is only closed)."""
        with contextlib.suppress(OSError):
            self.fp.close()
        if self.temp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.temp)
            self.temp = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: Any, *exc: object) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


def _open(path: str, opener: Any) -> Any:
    try:
        return opener()
    except OSError as error:
        raise _failed(path, "cannot be created", error) from error


def _failed(path: str, what: str, error: OSError) -> OutputError:
    return OutputError(
        f"--out {clip(path)} {what}: {error.strerror or error}", field="--out", value=path
    )


def _umask() -> int:
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


def _sync_folder(folder: str) -> None:
    with contextlib.suppress(OSError):  # not every file system can sync a directory
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_failed(path: str, error: OSError) -> OutputError:
    """The error for a write to ``path`` that failed with ``error``."""
    return _failed(path, "could not be written", error)


__all__ = ["TEMP_MARK", "OutputFile", "write_failed"]
