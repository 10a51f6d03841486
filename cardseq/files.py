"""Whether two paths name one file, and the guard that keeps an output off the files a
command depends on.

A name is no identity: a symbolic link, a symlinked directory, ``..``, a relative path
or a hard link give one file many names, and a name compared as text lets an output be
written over the store's write-ahead log or the only copy of a key. Files are compared
by what they are: the device and inode of an existing file, and for one still to be
created the device and inode of the directory it would be created in, with its name.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from .errors import InvalidArgument


def identity(path: str) -> tuple[object, ...]:
    """What ``path`` names, whatever its spelling: ``(device, inode)`` of an existing
    file; ``(device, inode, name)`` of the directory a missing one would be created in
    and its name; the resolved path itself when not even that directory can be read.

    Links are followed, as opening the path for writing would follow them (a dangling
    link names the file it would create)."""
    real = os.path.realpath(path)
    try:
        found = os.stat(real)
    except OSError:
        pass
    else:
        return (found.st_dev, found.st_ino)
    folder, name = os.path.split(real)
    try:
        found = os.stat(folder)
    except OSError:
        return (real,)
    return (found.st_dev, found.st_ino, name)


def same_file(a: str, b: str) -> bool:
    """Whether writing path ``a`` would write the file at path ``b``."""
    return identity(a) == identity(b)


def refuse_overwrite(field: str, out: str, kept: Iterable[tuple[str, str]]) -> None:
    """Refuse (701) the output ``out`` of option ``field`` when it is one of ``kept``,
    pairs of what a file is (``"the keys file"``) and its path: writing it would destroy
    what the command reads or the store lives in."""
    for what, path in kept:
        if same_file(out, path):
            raise InvalidArgument(  # the whole path: a shortened one would not say which
                f"{field} {out!r} is {what} {path!r}: writing it would destroy it",
                field=field,
                value=out,
            )


__all__ = ["identity", "refuse_overwrite", "same_file"]
