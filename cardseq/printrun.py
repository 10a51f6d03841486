"""A print run: a reserved block written to a file that is whole or absent, through
signals, full disks and closed pipes. What ``cardseq generate`` and ``export`` do
between the reservation and the last byte, as a library a caller can drive itself.

The order that makes a run safe is the caller's: check the output (``check_output``)
and open it (``outfile.OutputFile``) *before* reserving, so that a typo loses no
numbers; reserve; then ``write`` inside ``stoppable()``. A failure is returned, never
raised, with what is left at the output and the exit status a command gives it; the
block stays reserved and ``cardseq export`` (``Block`` of the same reservation) writes
it again.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO

from . import manifest
from .block import Block
from .columns import Column
from .errors import OutputError
from .files import refuse_overwrite
from .keys import KEYS_FILE_ENV
from .outfile import OutputFile, write_failed
from .records import GenerationEntry
from .store import Store


class Interrupted(BaseException):
    """A signal that stops a print run (SIGINT, SIGTERM, SIGHUP): a BaseException, like
    KeyboardInterrupt, so that no ``except Exception`` swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


_STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


@contextlib.contextmanager
def stoppable() -> Iterator[None]:
    """While the block runs, SIGINT, SIGTERM and SIGHUP raise ``Interrupted`` (once: a
    second signal during the cleanup is ignored). Signals the process ignores stay
    ignored; off the main thread (a test's runner) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised = False

    def stop(signum: int, frame: object) -> None:
        nonlocal raised
        if not raised:
            raised = True
            raise Interrupted(signum)

    saved = {}
    for number in _STOP_SIGNALS:
        handler = signal.getsignal(number)
        if handler is not signal.SIG_IGN:
            saved[number] = handler
            signal.signal(number, stop)
    try:
        yield
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)


def check_output(out: str, store: Store, keys_file: str | None, *, field: str = "--out") -> None:
    """Refuse (701) an output that is a file the run depends on, however it is spelt:
    the store's database or a file SQLite keeps beside it (writing it would destroy the
    series and the ledger, or lose committed reservations and hand their numbers out
    again), or a keys file that is read (it may hold the only copy of a key)."""
    refuse_overwrite(field, out, [*store_files(store), *keys_files(keys_file)])


def store_files(store: Store) -> list[tuple[str, str]]:
    """The files of ``store``, each with what to call it in an error."""
    return [("the store's file", path) for path in store.files]


def keys_files(keys_file: str | None) -> list[tuple[str, str]]:
    """The keys files a run reads: ``keys_file``, and ``$CARDSEQ_KEYS_FILE`` for a key
    that is in no other source."""
    read = [("the keys file", keys_file)] if keys_file else []
    from_env = os.environ.get(KEYS_FILE_ENV)
    if from_env:
        read.append((f"the keys file ${KEYS_FILE_ENV}", from_env))
    return read


def binary_stdout() -> IO[bytes]:
    """stdout as bytes (the numbers go out without a text layer in the way)."""
    sys.stdout.flush()
    return sys.stdout.buffer


@dataclass(frozen=True)
class WriteFailure:
    """Why a run's numbers did not all arrive, and what is left of them."""

    message: str
    """What happened: ``interrupted by SIGTERM while writing cards.txt``, or the error
    (``error 711: ...``)."""
    left: str
    """What the output holds now: nothing (a file never put in place), or part of the
    numbers (stdout, a device or a pipe written in place)."""
    status: int
    """The exit status a command gives it: 1, or 128 plus the signal's number."""
    broken_pipe: bool = False
    """The reader of stdout went away (a command then silences stdout before exiting)."""


def _write_manifest(described: dict[str, object], out: str) -> None:
    """The manifest of the whole file ``out``; a failure says the file is whole."""
    path = manifest.path_for(out)
    try:
        manifest.write(described, path)
    except OutputError as error:
        raise OutputError(
            f"{out} is whole, but its manifest {path} could not be written: {error.message}"
            " (cardseq export writes both again)",
            field="--out",
            value=path,
        ) from None


def write(
    block: Block,
    out: str,
    target: OutputFile | None,
    *,
    order: str,
    fmt: str,
    columns: Sequence[Column],
    entry: GenerationEntry,
    box_size: int | None = None,
    with_manifest: bool = False,
    progress: Callable[[int], object] | None = None,
) -> WriteFailure | None:
    """Write ``block`` (of the reservation ``entry``) to ``target``, or to stdout when
    None, and put the file in place; ``out`` is the output as the caller named it.
    ``with_manifest``: a regular file gets its manifest beside it once it is whole
    (``cardseq.manifest``).

    Run it inside ``stoppable()``: a signal or a failed write discards the file (nothing
    is left at ``out``) and returns the ``WriteFailure``; a signal that comes once the
    file is in place changes nothing. None when every number arrived.
    """
    where = "stdout" if target is None else out
    with stoppable():  # (the cleanup inside it: a second signal cannot cut it short)
        try:
            fp = binary_stdout() if target is None else target.fp
            hashed = None
            if with_manifest and target is not None and not target.in_place:
                fp = hashed = manifest.HashingWriter(fp)
            block.write(
                fp,
                order,
                fmt=fmt,
                columns=tuple(columns),
                status_label=entry.label,
                request_id=entry.request_id,
                actor=entry.actor or "",  # (empty: reserved before actors were kept)
                box_size=box_size,
                progress=progress,
            )
            if target is None:
                fp.flush()
            else:
                target.commit()
            if hashed is not None:
                described = manifest.build(
                    block, entry, out, fmt=fmt, columns=columns, order=order,
                    box_size=box_size, written=hashed,
                )  # fmt: skip
                _write_manifest(described, out)
        except Interrupted as stop:
            if target is not None and target.done:
                return None  # the signal came after the last step: the file is whole
            if target is not None:
                target.discard()
            message, status = f"interrupted by {stop.name} while writing {where}", 128 + stop.signum
            broken = False
        except (OSError, OutputError) as error:
            if target is not None:
                target.discard()
            failed = error if isinstance(error, OutputError) else write_failed(out, error)
            message, status = f"error {failed.code}: {failed.message}", 1
            broken = isinstance(error, BrokenPipeError)
        else:
            return None
    if target is None or target.in_place:
        left = f"{where} got part of them"
    elif target.done:
        left = f"{out} holds every number"
    else:
        left = f"nothing was left at {out}"
    return WriteFailure(message, left, status, broken)


__all__ = [
    "Interrupted",
    "WriteFailure",
    "binary_stdout",
    "check_output",
    "keys_files",
    "stoppable",
    "store_files",
    "write",
]
