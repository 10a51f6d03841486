"""Errors a caller can cause, each with the reference domain's numeric ``code``.

Every message names the field at fault and the value it had, so that a CLI or an
HTTP server can pass it on unchanged.
"""

from __future__ import annotations

from typing import Any

_CLIP_MAX = 60


def clip(value: Any) -> str:
    """``repr`` of a user's value, cut short so junk input cannot flood a message."""
    text = repr(value)
    if len(text) > _CLIP_MAX:
        text = text[: _CLIP_MAX - 3] + "..."
    return text


class CardSeqError(Exception):
    """Base of all cardseq errors: ``code`` (int), ``message``, ``field``, ``value``."""

    code: int = 500

    def __init__(self, message: str, *, field: str | None = None, value: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.value = value

    def __str__(self) -> str:
        return self.message

    @classmethod
    def bad(cls, field: str, value: Any, why: str) -> CardSeqError:
        """An error for ``field`` holding ``value``, with the reason ``why``."""
        return cls(f"{field} {clip(value)} {why}", field=field, value=value)


class StoreError(CardSeqError):
    """The store failed (database unreachable, disk full, ...): not the caller's input.

    No number of the failed call was handed out. If the connection broke while a
    reservation was committing, it may have been recorded (a gap, never a reuse): retry
    with the same ``request_id`` to get that block, if it exists, rather than another.
    """

    code = 500


class StoreUnreachable(StoreError):
    """The database server could not be reached within the connect timeout (the store
    URL's ``connect_timeout``): nothing was reserved."""


class StoreNotDurable(StoreError):
    """The database server runs without crash safety (``fsync`` or ``full_page_writes``
    off): a crash could lose committed reservations and issue their numbers again."""


class StandbyNotSynchronous(StoreNotDurable):
    """A PostgreSQL primary that streams to a standby without waiting for it (no
    ``synchronous_standby_names``): promoted after a crash, that standby would lack the
    last reservations, and their numbers would be issued again."""


class FormerPrimary(StoreError):
    """A PostgreSQL server on an older timeline than one this store has seen: a former
    primary back after a failover, which must not take reservations."""


class CommitUnknown(StoreError):
    """The connection broke while a reservation committed: it may or may not be in the
    ledger, so its block is not returned. ``value`` is its request id (one was made
    for a call that gave none): a retry with it returns the block if the commit
    happened, and reserves it once if it did not."""

    code = 715


class SchemaMismatch(StoreError):
    """The database's tables are not at the schema version this cardseq needs, and the
    store was opened without migrating (``migrate=False``): run ``cardseq db migrate``
    (or upgrade cardseq, for a newer database). ``found`` is the database's version
    (None: no cardseq tables), ``expected`` this cardseq's."""

    def __init__(self, message: str, *, found: int | None, expected: int, value: Any = None):
        super().__init__(message, field="db", value=value)
        self.found = found
        self.expected = expected


class InvalidArgument(CardSeqError, ValueError):
    """An argument outside what the call accepts (e.g. ``order``, a negative ``start``)."""

    code = 701


class BrokenFile(InvalidArgument):
    """A file the operator supplies (a users file, a keys file) that cannot be used as a
    whole: missing, not a regular file, unreadable, not UTF-8, or with a bad line. Code
    701 like any bad argument; a running server that meets one refuses (503) until the
    file is fixed, since the fault is its own, not its caller's."""


class StoreNotFound(SchemaMismatch, InvalidArgument):
    """A SQLite store opened without migrating whose file does not exist: most often a
    mistyped path or another working directory, so nothing is created for it. A
    ``SchemaMismatch`` (``found`` None), as a store without tables is, but the caller's
    input (701), not a fault of the store. ``path`` is the file's absolute path."""

    code = 701

    def __init__(self, message: str, *, path: str, expected: int, value: Any = None):
        super().__init__(message, found=None, expected=expected, value=value)
        self.path = path


class MissingExtra(CardSeqError, ImportError):
    """A feature whose optional dependencies are not installed (a ``postgresql://``
    store without psycopg, the server without Starlette): the message names the extra
    to install. An ``ImportError`` too, as it was before it said so."""


class SeriesExhausted(CardSeqError, IndexError):
    """Not enough numbers left in the series for the request; nothing was reserved."""

    code = 702


class GenerationDisabled(CardSeqError):
    code = 703


class InvalidRelease(CardSeqError, ValueError):
    """A range given back that is not an unused part of one reserved block: outside any
    block, across two, or overlapping a range released already. Also a reservation
    that a replay of its request id, or ``export``, cannot answer as one block: released
    whole, or in its middle. (Not in the reference domain: cardseq's own code, next to
    the other reservation errors.)"""

    code = 705


class KeyNotFound(CardSeqError, LookupError):
    """A keyed series' key is in no key source (environment, keys file, callable):
    nothing was reserved. The message names the series and the key id, never key bytes.
    (cardseq's own code, as are 707..709.)"""

    code = 706


class KeyMismatch(CardSeqError, ValueError):
    """The key found, or given, for a keyed series is not the one it was registered with
    (its fingerprint differs): nothing was reserved."""

    code = 707


class KeysInStore(CardSeqError):
    """The store still holds keys in clear (from a cardseq before 0.x keys): keyed
    generation waits until ``cardseq keys export --keys-file FILE`` moves them out."""

    code = 708


class InsecureKeysFile(BrokenFile):
    """A keys file that others than its owner can read or write (mode wider than 0600)."""

    code = 709


class ReservationNotFound(CardSeqError, LookupError):
    """No reservation of the series has the request id or ledger id asked for (a ledger
    row that gave numbers back is no reservation either). cardseq's own code."""

    code = 710


class RequestIdConflict(InvalidArgument):
    """A request id the ledger holds for a reservation with other parameters (series,
    count, label): the request is well formed, and refused for what the store holds, as
    a state conflict is. An ``InvalidArgument`` (it was 701); cardseq's own code."""

    code = 712


class OutputError(CardSeqError):
    """The output file could not be created or written (no such directory, no
    permission, disk full, a closed pipe). cardseq's own code. When numbers were reserved
    for it they stay reserved, never handed out twice: ``cardseq export`` writes them
    again."""

    code = 711


class PinLocked(CardSeqError):
    """A card's PIN checks are locked: it failed as many times in a row as its series
    allows (``CardService.reset_pin`` unlocks it)."""

    code = 713


class FileMismatch(CardSeqError, ValueError):
    """A print file that differs from its manifest or the ledger: a line changed,
    repeated or missing, another count, or another checksum (``cardseq verify-file``)."""

    code = 714


class InvalidSeries(CardSeqError, ValueError):
    """Unknown or invalid card series (including an unknown method or a bad code)."""

    code = 3000


class SeriesExists(CardSeqError):
    code = 3002


class InvalidLength(CardSeqError, ValueError):
    """The length leaves no room for the counter (and check digit) of the method."""

    code = 3005


class SeriesOverlap(CardSeqError):
    code = 3006


class InvalidNumber(CardSeqError, ValueError):
    """A card number that is not one of the series; ``reason`` says which part is wrong."""

    code = 3010

    def __init__(
        self, message: str, *, field: str | None = None, value: Any = None, reason: str = ""
    ) -> None:
        super().__init__(message, field=field, value=value)
        self.reason = reason


class CardNotFound(CardSeqError, LookupError):
    """No card has this number: no series has it, or it was never generated."""

    code = 3010


class StatusUnchanged(CardSeqError):
    code = 3012


class TransitionNotAllowed(CardSeqError):
    code = 3038


class InvalidStatusLabel(CardSeqError, ValueError):
    code = 3017


class LabelExists(InvalidStatusLabel):
    """A status label of that name exists already (an ``InvalidStatusLabel`` too, as it
    was before it had a code of its own)."""

    code = 3019


class LabelNotMapped(CardSeqError, ValueError):
    code = 3018


class InvalidPrefix(CardSeqError, ValueError):
    code = 3022


class InvalidSuffix(CardSeqError, ValueError):
    code = 3023


class LengthTooLong(CardSeqError, ValueError):
    code = 3024


class InvalidCount(CardSeqError, ValueError):
    code = 3025


class CountTooLarge(CardSeqError, ValueError):
    code = 3026


class LengthTooShort(CardSeqError, ValueError):
    code = 3028


class InvalidOffset(CardSeqError, ValueError):
    code = 3047
