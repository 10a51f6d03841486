"""What a store gives back, and the checks on what it is given.

Plain records (no database in them), so that callers, the service and the backends
share one vocabulary.
"""

from __future__ import annotations

import datetime as dt
import functools
import getpass
import os
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

from ..errors import InvalidArgument, InvalidStatusLabel
from ..integers import json_int
from ..series import CardSeries

MAX_ID = 2**63 - 1  # ids are 64-bit integers in both databases
DEFAULT_LABEL = "NOT_ISSUED"
STATUSES = ("NOT_ISSUED", "ACTIVE", "SUSPENDED", "EXPIRED", "DELETED")
LABEL_PATTERN = re.compile(r"[A-Za-z0-9_]{1,50}")
MAX_REQUEST_ID = 200
MAX_ACTOR = 200
#: an actor is printable text: no control character or line separator can forge a line
#: of a log or a table, and no lone surrogate fails the database's encoding
_ACTOR_PATTERN = re.compile(rf"[^\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]{{1,{MAX_ACTOR}}}")
#: rows a listing returns when not told, and at most
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000

SeriesRef = int | str | CardSeries
#: A card whose status changed: (status, label, customer, updated)
CardState = tuple[str, str, str | None, dt.datetime]
#: An entry of a card's status log: (from, to, label, customer, when, actor)
LoggedChange = tuple[str, str, str, str | None, dt.datetime, str | None]


@dataclass(frozen=True)
class SeriesInfo:
    """A registered series and its state."""

    id: int
    series: CardSeries
    enabled: bool
    next_index: int  # reserved so far: indexes below it are taken
    created_at: dt.datetime
    key_fingerprint: str | None = None  # of a keyed series' key (cardseq.keys)
    pin_key_fingerprint: str | None = None  # of the PIN key of a series with PINs

    @property
    def remaining(self) -> int:
        return self.series.capacity - self.next_index

    @property
    def issued_share(self) -> float:
        """The share of the series' capacity reserved so far."""
        return self.next_index / self.series.capacity

    @property
    def guess_chance(self) -> float:
        """The chance that one well-formed guess, drawn at random, is a number reserved
        so far: reserved / ``CardSeries.well_formed``. An upper bound (numbers released
        unused count as reserved); the keyed methods spread the reserved ones over the
        whole space, the sequential ones do not (a neighbour of a known number is
        likely reserved too)."""
        return self.next_index / self.series.well_formed


#: The ledger's two kinds of row as the API names them, and as the ``kind`` column
#: stores them: a release is stored as 'unused', the first schema's word for it.
RESERVED: Final = "reserved"
RELEASED: Final = "released"
STORED_KIND = {RESERVED: "reserved", RELEASED: "unused"}


@dataclass(frozen=True)
class LedgerEntry:
    """One reservation (``kind="reserved"``), or a part of one given back unused
    (``kind="released"``: those indexes were never handed out, and are never reused)."""

    id: int
    series_id: int
    start: int
    count: int
    status_label: str
    kind: str
    request_id: str | None
    created_at: dt.datetime
    actor: str | None = None  # who reserved or released; None on rows older than actors

    @property
    def stop(self) -> int:
        return self.start + self.count


@dataclass(frozen=True)
class LedgerFilter:
    """Which ledger rows a listing wants: ``None`` in a field lets every value pass.
    ``kind`` is as stored (``STORED_KIND``); times are UTC."""

    series_id: int | None = None
    kind: str | None = None
    label: str | None = None
    request_id: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def conditions(self) -> list[tuple[str, Any]]:
        """(SQL condition with one ``?``, its value) for each field that is set."""
        tests = (
            ("series_id = ?", self.series_id),
            ("kind = ?", self.kind),
            ("status_label = ?", self.label),
            ("request_id = ?", self.request_id),
            ("created_at >= ?", self.since),
            ("created_at < ?", self.until),
        )
        return [(test, value) for test, value in tests if value is not None]


T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True)
class Page(Generic[T]):
    """Rows of a listing, oldest first, and the cursor of the rows after them.

    ``next`` is passed as ``after`` to get the next page; None on the last page.
    """

    items: list[T]
    next: int | None

    def map(self, convert: Callable[[T], U]) -> Page[U]:
        return Page([convert(item) for item in self.items], self.next)


def page_bounds(limit: Any, after: Any) -> tuple[int, int]:
    """``limit`` (1 .. MAX_LIMIT) and ``after`` (a row id, 0 for the start), or 701."""
    return (
        json_int(limit, "limit", InvalidArgument, minimum=1, maximum=MAX_LIMIT),
        json_int(after, "after", InvalidArgument, minimum=0, maximum=MAX_ID),
    )


def page_of(rows: list[tuple[int, T]], limit: int) -> Page[T]:
    """The first ``limit`` of ``rows`` (``(id, item)`` pairs, one more than a page
    when there are more), with the cursor past them."""
    more = len(rows) > limit
    return Page([item for _, item in rows[:limit]], rows[limit - 1][0] if more else None)


def check_label(label: Any) -> str:
    if not isinstance(label, str) or not LABEL_PATTERN.fullmatch(label):
        raise InvalidStatusLabel.bad(
            "statusLabel", label, "must be 1..50 ASCII letters, digits or '_'"
        )
    return label


def check_request_id(request_id: Any) -> str | None:
    if request_id is None:
        return None
    if not isinstance(request_id, str) or not 0 < len(request_id) <= MAX_REQUEST_ID:
        raise InvalidArgument.bad(
            "request_id", request_id, f"must be a string of 1..{MAX_REQUEST_ID} characters"
        )
    return request_id


def check_actor(actor: Any) -> str:
    """Who a write is recorded for: ``actor`` when given (1..200 printable characters,
    else 701), else this process's ``process_actor()``."""
    if actor is None:
        return process_actor()
    if not isinstance(actor, str) or not _ACTOR_PATTERN.fullmatch(actor):
        raise InvalidArgument.bad(
            "actor", actor, f"must be a string of 1..{MAX_ACTOR} printable characters"
        )
    return actor


@functools.cache
def process_actor() -> str:
    """``user@host`` of this process, worked out once: the account it runs as (by its
    user id, not ``$USER``, which any caller can set) and the host's name."""
    return f"{_os_user()}@{socket.gethostname() or 'localhost'}"


def _os_user() -> str:
    try:
        import pwd  # (POSIX only)

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):  # no pwd, or a uid with no account (a container)
        pass
    try:
        return getpass.getuser()
    except (ImportError, KeyError, OSError):  # no name anywhere: the number still says who
        return f"uid-{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


#: why a time bound is refused whose UTC time is before year 1 or after year 9999
OUTSIDE_UTC = "is outside the times UTC can hold (years 1 to 9999)"


def utc(field: str, value: Any) -> dt.datetime | None:
    """A time bound as an aware UTC datetime (a naive one is taken as UTC), or 701:
    also for one that UTC cannot hold (``0001-01-01T00:00+01:00`` is in year 0 there)."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        raise InvalidArgument.bad(field, value, "must be a datetime")
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise InvalidArgument.bad(field, value, OUTSIDE_UTC) from None


def to_time(value: Any) -> dt.datetime:
    """A time column as a datetime (SQLite keeps ISO text, PostgreSQL a timestamp)."""
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
