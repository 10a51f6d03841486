"""What every store does, in SQL that SQLite and PostgreSQL both run.

A store keeps the series registry and the ledger. Its one promise: a block of indexes
is committed as reserved, atomically and durably, before any number of it reaches the
caller. The backends differ in how they connect, in column types, and in the single
step that advances a series (``_advance``).
"""

from __future__ import annotations

import abc
import contextlib
import datetime as dt
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, NoReturn, TypeVar

from ..block import Block
from ..errors import (
    GenerationDisabled,
    InvalidArgument,
    InvalidRelease,
    InvalidSeries,
    InvalidStatusLabel,
    LabelNotMapped,
    SeriesExhausted,
    SeriesExists,
    SeriesOverlap,
    StoreError,
    clip,
)
from ..integers import json_int
from ..records import Lookup
from ..series import (
    CardSeries,
    number_pattern,
    patterns_overlap,
    positive_count,
    whole_number,
)

MAX_ID = 2**63 - 1  # ids are 64-bit integers in both databases
SCHEMA_VERSION = 2  # 2: labels, card statuses, status log, series details
DEFAULT_LABEL = "NOT_ISSUED"
STATUSES = ("NOT_ISSUED", "ACTIVE", "SUSPENDED", "EXPIRED", "DELETED")
_LABEL = re.compile(r"[A-Za-z0-9_]{1,50}")
_REQUEST_ID_MAX = 200
#: rows a listing returns when not told, and at most
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000

SeriesRef = int | str | CardSeries
#: A card whose status changed: (status, label, customer, updated)
CardState = tuple[str, str, str | None, dt.datetime]


@dataclass(frozen=True)
class SeriesInfo:
    """A registered series and its state."""

    id: int
    series: CardSeries
    enabled: bool
    next_index: int  # reserved so far: indexes below it are taken
    created_at: dt.datetime

    @property
    def remaining(self) -> int:
        return self.series.capacity - self.next_index


@dataclass(frozen=True)
class LedgerEntry:
    """One reservation (``kind="reserved"``), or an unused remainder given back
    (``kind="unused"``: those indexes were never handed out, and are never reused)."""

    id: int
    series_id: int
    start: int
    count: int
    status_label: str
    kind: str
    request_id: str | None
    created_at: dt.datetime

    @property
    def stop(self) -> int:
        return self.start + self.count


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


def _page(rows: list[tuple[int, T]], limit: int) -> Page[T]:
    """The first ``limit`` of ``rows`` (``(id, item)`` pairs, one more than a page
    when there are more), with the cursor past them."""
    more = len(rows) > limit
    return Page([item for _, item in rows[:limit]], rows[limit - 1][0] if more else None)


def check_label(label: Any) -> str:
    if not isinstance(label, str) or not _LABEL.fullmatch(label):
        raise InvalidStatusLabel.bad(
            "statusLabel", label, "must be 1..50 ASCII letters, digits or '_'"
        )
    return label


def check_request_id(request_id: Any) -> str | None:
    if request_id is None:
        return None
    if not isinstance(request_id, str) or not 0 < len(request_id) <= _REQUEST_ID_MAX:
        raise InvalidArgument.bad(
            "request_id", request_id, f"must be a string of 1..{_REQUEST_ID_MAX} characters"
        )
    return request_id


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS cardseq_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS cardseq_series (
    id {id_column},
    code TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    suffix TEXT NOT NULL,
    length INTEGER NOT NULL,
    start_offset {big} NOT NULL,
    method TEXT NOT NULL,
    key {blob},
    enabled {flag} NOT NULL,
    next_index {big} NOT NULL,
    capacity {big} NOT NULL,
    created_at {time} NOT NULL
);
CREATE TABLE IF NOT EXISTS cardseq_ledger (
    id {id_column},
    series_id {ref} NOT NULL REFERENCES cardseq_series(id),
    start {big} NOT NULL,
    count {big} NOT NULL,
    status_label TEXT NOT NULL,
    kind TEXT NOT NULL,
    request_id TEXT UNIQUE,
    created_at {time} NOT NULL
);
CREATE INDEX IF NOT EXISTS cardseq_ledger_series ON cardseq_ledger (series_id);
CREATE INDEX IF NOT EXISTS cardseq_ledger_start ON cardseq_ledger (series_id, kind, {start_key});
CREATE TABLE IF NOT EXISTS cardseq_series_details (
    series_id {ref} PRIMARY KEY REFERENCES cardseq_series(id),
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cardseq_labels (
    name TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    is_default {flag} NOT NULL
);
CREATE TABLE IF NOT EXISTS cardseq_cards (
    series_id {ref} NOT NULL REFERENCES cardseq_series(id),
    idx {big} NOT NULL,
    status TEXT NOT NULL,
    label TEXT NOT NULL,
    customer_id TEXT,
    updated_at {time} NOT NULL,
    PRIMARY KEY (series_id, idx)
);
CREATE TABLE IF NOT EXISTS cardseq_status_log (
    id {id_column},
    series_id {ref} NOT NULL REFERENCES cardseq_series(id),
    idx {big} NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    label TEXT NOT NULL,
    customer_id TEXT,
    changed_at {time} NOT NULL
);
CREATE INDEX IF NOT EXISTS cardseq_status_log_card ON cardseq_status_log (series_id, idx);
"""


def schema(**types: str) -> str:
    """The tables, in a backend's column types: ``id_column`` (an auto-numbered key),
    ``ref`` (a reference to one), ``big`` (an integer of any size), ``blob``, ``flag``
    and ``time``; ``start_key`` is how a ledger start sorts numerically."""
    return _SCHEMA.format(**types)


def check_schema(store: Store, cur: Any) -> None:
    """Record the schema version in a new database; refuse one from a newer cardseq.

    Later versions add their migrations here, keyed by the version they start from.
    """
    row = store._run(cur, "SELECT version FROM cardseq_schema").fetchone()
    if row is None:
        store._run(cur, "INSERT INTO cardseq_schema (version) VALUES (?)", (SCHEMA_VERSION,))
    elif row[0] > SCHEMA_VERSION:
        raise StoreError(
            f"the database at {store.url} has schema version {row[0]}, newer than"
            f" this cardseq's ({SCHEMA_VERSION}): upgrade cardseq"
        )
    elif row[0] < SCHEMA_VERSION:
        # 1 -> 2 only added tables, which the schema script creates when missing.
        store._run(cur, "UPDATE cardseq_schema SET version = ?", (SCHEMA_VERSION,))
    for status in STATUSES:  # each status has a label of its own name, its default
        store._run(
            cur,
            "INSERT INTO cardseq_labels (name, status, is_default)"
            " VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
            (status, status, True),
        )


class Store(abc.ABC):
    """A series registry and block ledger over a SQL database."""

    #: placeholder of the backend's DB-API driver
    param = "?"
    #: where the store is, for messages (never with a password)
    url = ""

    def __init__(self) -> None:
        self._cache: dict[int, CardSeries] = {}  # definitions never change once created
        self._codes: dict[str, int] = {}
        self._label_status: dict[str, str] = {}
        self._cache_lock = threading.Lock()

    # ---- the backend's part --------------------------------------------------------

    @abc.abstractmethod
    def _transaction(self) -> contextlib.AbstractContextManager[Any]:
        """A cursor inside a write transaction: committed on exit, rolled back on error.

        Database errors come out as ``StoreError``.
        """

    @abc.abstractmethod
    def _advance(
        self, cur: Any, series_id: int, count: int, label: str, request_id: str | None
    ) -> int | None:
        """Take ``count`` indexes of an enabled series that has them and write their
        ledger row; return the start, or None when it cannot (disabled, exhausted).
        Runs in the caller's transaction."""

    @abc.abstractmethod
    def _to_db(self, value: int) -> Any:
        """An index or count as the database stores it (it may exceed 64 bits)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connections."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _sql(self, text: str) -> str:
        return text if self.param == "?" else text.replace("?", self.param)

    def _run(self, cur: Any, text: str, args: tuple[Any, ...] = ()) -> Any:
        cur.execute(self._sql(text), args)
        return cur

    # ---- series --------------------------------------------------------------------

    def create_series(
        self, series: CardSeries, *, enabled: bool = True, details: dict[str, Any] | None = None
    ) -> int:
        """Register ``series``; return its new integer id.

        ``details``: other fields to keep with it (JSON-able), see ``series_details``.

        A code in use is 3002; a number space that can meet an existing series' is
        3006 (any overlap, not only the same prefix, suffix and length).
        """
        if not isinstance(series, CardSeries):
            raise InvalidSeries.bad("series", series, "is not a CardSeries")
        with self._transaction() as cur:
            self._lock_registry(cur)
            if self._run(
                cur, "SELECT id FROM cardseq_series WHERE code = ?", (series.code,)
            ).fetchone():
                raise SeriesExists.bad("code", series.code, "is already a series code")
            rows = self._run(
                cur,
                "SELECT id, code, prefix, suffix FROM cardseq_series WHERE length = ?",
                (series.length,),
            ).fetchall()
            for series_id, code, prefix, suffix in rows:
                other = number_pattern(prefix, suffix, series.length)
                if patterns_overlap(series.pattern, other):
                    raise SeriesOverlap(
                        f"series {series.code!r} ({series.pattern}) can produce the same "
                        f"numbers as series {code!r} ({other}), id {series_id}",
                        field="prefix",
                        value=series.prefix,
                    )
            series_id = self._insert_series(cur, series, enabled)
            if details:
                self._run(
                    cur,
                    "INSERT INTO cardseq_series_details (series_id, body) VALUES (?, ?)",
                    (series_id, json.dumps(details)),
                )
            return series_id

    def series_details(self, ref: SeriesRef) -> dict[str, Any]:
        """The ``details`` given at creation ({} if none)."""
        series_id = self.info(ref).id
        with self._transaction() as cur:
            row = self._run(
                cur, "SELECT body FROM cardseq_series_details WHERE series_id = ?", (series_id,)
            ).fetchone()
        return json.loads(row[0]) if row else {}

    def _lock_registry(self, cur: Any) -> None:  # noqa: B027 - a hook: SQLite needs no lock
        """Serialise series creation (the overlap check reads all series)."""

    def _insert_series(self, cur: Any, series: CardSeries, enabled: bool) -> int:
        cur = self._run(
            cur,
            "INSERT INTO cardseq_series (code, prefix, suffix, length, start_offset, method,"
            " key, enabled, next_index, capacity, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                series.code,
                series.prefix,
                series.suffix,
                series.length,
                self._to_db(series.offset),
                series.method.value,
                series.key,
                enabled,
                self._to_db(0),
                self._to_db(series.capacity),
                now(),
            ),
        )
        return int(cur.fetchone()[0])

    def series_id(self, ref: SeriesRef) -> int:
        """The id of a series given by id, code or ``CardSeries``; 3000 if unknown."""
        if isinstance(ref, CardSeries):
            ref = ref.code
        if isinstance(ref, str) and ref.isascii() and ref.isdigit():
            ref = int(ref)  # codes are never all digits: this is an id
        if isinstance(ref, str):
            if ref in self._codes:
                return self._codes[ref]
            with self._transaction() as cur:
                row = self._run(
                    cur, "SELECT id FROM cardseq_series WHERE code = ?", (ref,)
                ).fetchone()
            if row is None:
                raise InvalidSeries.bad("series", ref, "is not a known series code")
            self._codes[ref] = int(row[0])
            return int(row[0])
        number = whole_number(ref)
        if number is None or not 1 <= number <= MAX_ID:
            raise InvalidSeries.bad("seriesId", ref, f"must be a series id (1..{MAX_ID})")
        return number

    def get_series(self, ref: SeriesRef) -> CardSeries:
        """The definition of a series (key included, for formatting)."""
        series_id = self.series_id(ref)
        cached = self._cache.get(series_id)
        if cached is not None:
            return cached
        return self.info(series_id).series

    def info(self, ref: SeriesRef) -> SeriesInfo:
        """A series with its state: enabled, reserved so far."""
        series_id = self.series_id(ref)
        with self._transaction() as cur:
            row = self._run(cur, f"{_SERIES_COLUMNS} WHERE id = ?", (series_id,)).fetchone()
        if row is None:
            raise InvalidSeries.bad("seriesId", ref, "is not a known series")
        return self._series_info(row)

    def list_series(self) -> list[SeriesInfo]:
        with self._transaction() as cur:
            rows = self._run(cur, f"{_SERIES_COLUMNS} ORDER BY id").fetchall()
        return [self._series_info(row) for row in rows]

    def _series_info(self, row: Any) -> SeriesInfo:
        (
            series_id,
            code,
            prefix,
            suffix,
            length,
            offset,
            method,
            key,
            enabled,
            next_index,
            created,
        ) = row
        series = self._cache.get(series_id)
        if series is None:
            series = CardSeries(
                code,
                prefix=prefix,
                suffix=suffix,
                length=length,
                offset=int(offset),
                method=method,
                key=bytes(key) if key is not None else None,
            )
            with self._cache_lock:
                self._cache[series_id] = series
                self._codes[code] = series_id
        return SeriesInfo(series_id, series, bool(enabled), int(next_index), _time(created))

    def set_enabled(self, ref: SeriesRef, enabled: bool) -> None:
        """Allow or stop generation for a series (stopped: reserve raises 703)."""
        series_id = self.series_id(ref)
        with self._transaction() as cur:
            cur = self._run(
                cur,
                "UPDATE cardseq_series SET enabled = ? WHERE id = ?",
                (bool(enabled), series_id),
            )
            if cur.rowcount != 1:
                raise InvalidSeries.bad("seriesId", ref, "is not a known series")

    # ---- reservations --------------------------------------------------------------

    def reserve(
        self,
        series: SeriesRef,
        count: Any,
        *,
        status_label: str = DEFAULT_LABEL,
        request_id: str | None = None,
    ) -> Block:
        """Reserve the next ``count`` indexes of a series and return them as a Block.

        Committed before it returns, with a ledger row. Not enough left: 702, and
        nothing is reserved. The same ``request_id`` again returns the same block;
        with other parameters it is an error (701).
        """
        count = positive_count(count)
        label = check_label(status_label)
        request_id = check_request_id(request_id)
        series_id = self.series_id(series)
        definition = self.get_series(series_id)
        try:
            with self._transaction() as cur:
                self._check_generation_label(cur, label)
                if request_id is not None:
                    prior = self._prior(cur, request_id)
                    if prior is not None:
                        return self._replay(prior, definition, series_id, count, label)
                start = self._advance(cur, series_id, count, label, request_id)
                if start is None:
                    self._refuse(cur, series_id, definition, count)
        except StoreError as error:
            # Two callers with one request id: the loser finds the winner's block.
            if request_id is not None and getattr(error, "unique_violation", False):
                with self._transaction() as cur:
                    prior = self._prior(cur, request_id)
                if prior is not None:
                    return self._replay(prior, definition, series_id, count, label)
            raise
        return Block(definition, start, count)

    def _check_generation_label(self, cur: Any, label: str) -> None:
        """Generated cards take their status from their block's label: NOT_ISSUED."""
        status = self._label_status.get(label)
        if status is None:
            row = self._run(
                cur, "SELECT status FROM cardseq_labels WHERE name = ?", (label,)
            ).fetchone()
            if row is None:
                raise InvalidStatusLabel.bad("statusLabel", label, "is not a known status label")
            status = self._label_status[label] = row[0]  # a label keeps its status
        if status != DEFAULT_LABEL:
            raise LabelNotMapped.bad(
                "statusLabel", label, f"is mapped to {status}, not to NOT_ISSUED"
            )

    def _prior(self, cur: Any, request_id: str) -> LedgerEntry | None:
        row = self._run(cur, f"{_LEDGER_COLUMNS} WHERE request_id = ?", (request_id,)).fetchone()
        return _ledger_entry(row) if row else None

    def _replay(
        self, prior: LedgerEntry, definition: CardSeries, series_id: int, count: int, label: str
    ) -> Block:
        if (prior.series_id, prior.count, prior.status_label) != (series_id, count, label):
            raise InvalidArgument(
                f"request_id {clip(prior.request_id)} was used for another request (series"
                f" {prior.series_id}, count {prior.count}, label {prior.status_label})",
                field="request_id",
                value=prior.request_id,
            )
        return Block(definition, prior.start, prior.count)

    def _refuse(self, cur: Any, series_id: int, definition: CardSeries, count: int) -> NoReturn:
        """Say why ``_advance`` could not reserve."""
        row = self._run(
            cur, "SELECT enabled, next_index FROM cardseq_series WHERE id = ?", (series_id,)
        ).fetchone()
        if row is None:
            raise InvalidSeries.bad("seriesId", series_id, "is not a known series")
        if not row[0]:
            raise GenerationDisabled(
                f"generation is disabled for series {definition.code!r}",
                field="seriesId",
                value=series_id,
            )
        left = definition.capacity - int(row[1])
        raise SeriesExhausted.bad(
            "count", count, f"is more than the {left} number(s) left in series {definition.code!r}"
        )

    def release(
        self, series: SeriesRef, start: int, count: int, status_label: str = DEFAULT_LABEL
    ) -> None:
        """Record indexes that were reserved but will never be handed out (retired).

        Only an unused part of one reserved block can be released: a range outside the
        ledger's blocks, across two of them, or overlapping an earlier release is error
        705 (``InvalidRelease``), so that no handed-out number ever reads as unused.
        """
        series_id = self.series_id(series)
        first = whole_number(start)
        if first is None or first < 0:
            raise InvalidArgument.bad("start", start, "must be a non-negative integer")
        stop = first + positive_count(count)
        label = check_label(status_label)
        with self._transaction() as cur:
            self._lock_series(cur, series_id)
            block = self._last_starting_by(cur, series_id, "reserved", first)
            if block is None or stop > block.stop:
                self._refuse_release(series_id, first, stop, "are not inside one reserved block")
            prior = self._last_starting_by(cur, series_id, "unused", stop - 1)
            if prior is not None and prior.stop > first:
                self._refuse_release(
                    series_id,
                    first,
                    stop,
                    f"overlap {prior.start}..{prior.stop - 1}, released already",
                )
            self._run(
                cur,
                "INSERT INTO cardseq_ledger (series_id, start, count, status_label,"
                " kind, request_id, created_at) VALUES (?, ?, ?, ?, 'unused', NULL, ?)",
                (series_id, self._to_db(first), self._to_db(stop - first), label, now()),
            )

    def _refuse_release(self, series_id: int, first: int, stop: int, why: str) -> NoReturn:
        raise InvalidRelease(
            f"indexes {first}..{stop - 1} of series {self.get_series(series_id).code!r}"
            f" {why}: only an unused part of one reserved block can be released",
            field="start",
            value=first,
        )

    def _lock_series(self, cur: Any, series_id: int) -> None:  # noqa: B027 - a hook
        """Serialise changes of one series' ledger (SQLite's write lock already does)."""

    def ledger(self, series: SeriesRef | None = None) -> list[LedgerEntry]:
        """Every ledger row, oldest first; of one series when given. It reads the whole
        ledger: a listing for users pages through ``ledger_page``."""
        series_id = None if series is None else self.series_id(series)
        return self._ledger_rows(series_id, None, 0, None)

    def ledger_page(
        self,
        series: SeriesRef | None = None,
        *,
        kind: str | None = None,
        limit: int = DEFAULT_LIMIT,
        after: int = 0,
    ) -> Page[LedgerEntry]:
        """Up to ``limit`` (1..1000) ledger rows with ids above ``after``, oldest first;
        of one series and one ``kind`` (``"reserved"``, ``"unused"``) when given."""
        limit, after = page_bounds(limit, after)
        series_id = None if series is None else self.series_id(series)
        entries = self._ledger_rows(series_id, kind, after, limit + 1)
        return _page([(e.id, e) for e in entries], limit)

    def _ledger_rows(
        self, series_id: int | None, kind: str | None, after: int, limit: int | None
    ) -> list[LedgerEntry]:
        """Rows after the id ``after``, by id; the database does the filtering and
        the limiting."""
        where: list[str] = ["id > ?"]
        args: list[Any] = [after]
        for column, value in (("series_id", series_id), ("kind", kind)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        text = f"{_LEDGER_COLUMNS} WHERE {' AND '.join(where)} ORDER BY id"
        if limit is not None:
            text += " LIMIT ?"
            args.append(limit)
        with self._transaction() as cur:
            rows = self._run(cur, text, tuple(args)).fetchall()
        return [_ledger_entry(row) for row in rows]

    def lookup(self, number: str) -> Lookup | None:
        """Which series ``number`` belongs to, its index, and whether that index was
        handed out (with the reservation that did), released unused, or not reserved
        yet. None if no series has it."""
        for info in self.list_series():
            if not info.series.is_valid(number):
                continue
            index = info.series.parse(number)
            if self._covering(info.id, index, "unused") is not None:
                return Lookup(number, info, index, "released")  # retired: never handed out
            entry = self._covering(info.id, index, "reserved")
            return Lookup(number, info, index, "unreserved" if entry is None else "reserved", entry)
        return None

    #: indexes below this compare in SQL (see ``_number``); above, in Python
    sql_index_limit: int | None = None

    def _number(self, column: str) -> str:
        """``column`` (an index or count) as SQL compares it numerically."""
        return column

    def _covering(self, series_id: int, index: int, kind: str) -> LedgerEntry | None:
        """The ledger row of ``kind`` whose range holds ``index``, if any."""
        with self._transaction() as cur:
            entry = self._last_starting_by(cur, series_id, kind, index)
        return entry if entry is not None and index < entry.stop else None

    def _last_starting_by(
        self, cur: Any, series_id: int, kind: str, index: int
    ) -> LedgerEntry | None:
        """The ledger row of ``kind`` with the last start at or before ``index``.

        Rows of one kind never overlap, so it is the only one that can hold ``index``:
        one indexed lookup, whatever the ledger's length.
        """
        if self.sql_index_limit is not None and index >= self.sql_index_limit:
            rows = self._run(
                cur, f"{_LEDGER_COLUMNS} WHERE series_id = ? AND kind = ?", (series_id, kind)
            ).fetchall()
            entries = [e for e in map(_ledger_entry, rows) if e.start <= index]
            return max(entries, key=lambda e: e.start, default=None)
        start = self._number("start")
        row = self._run(
            cur,
            f"{_LEDGER_COLUMNS} WHERE series_id = ? AND kind = ? AND"
            f" {start} <= ? ORDER BY {start} DESC LIMIT 1",
            (series_id, kind, index),
        ).fetchone()
        return _ledger_entry(row) if row else None

    # ---- status labels ---------------------------------------------------------------

    def labels(self) -> list[tuple[str, str, bool]]:
        """(label, status, is the status' default), by status then label."""
        with self._transaction() as cur:
            rows = self._run(
                cur, "SELECT name, status, is_default FROM cardseq_labels ORDER BY status, name"
            ).fetchall()
        return [(name, status, bool(default)) for name, status, default in rows]

    def add_label(self, name: str, status: str, *, default: bool = False) -> None:
        """Map a new label to a status (labels keep their status once created)."""
        name = check_label(name)
        if status not in STATUSES:
            raise InvalidStatusLabel.bad("status", status, f"is not one of {', '.join(STATUSES)}")
        with self._transaction() as cur:
            if self._run(cur, "SELECT 1 FROM cardseq_labels WHERE name = ?", (name,)).fetchone():
                raise InvalidStatusLabel.bad("statusLabel", name, "exists already")
            self._run(
                cur,
                "INSERT INTO cardseq_labels (name, status, is_default) VALUES (?, ?, ?)",
                (name, status, False),
            )
            if default:
                self._make_default(cur, status, name)

    def set_default_label(self, status: str, name: str) -> None:
        """Make ``name`` the label a status change to ``status`` records by default."""
        with self._transaction() as cur:
            row = self._run(
                cur, "SELECT status FROM cardseq_labels WHERE name = ?", (name,)
            ).fetchone()
            if row is None or row[0] != status:
                raise InvalidStatusLabel.bad("statusLabel", name, f"is not a label of {status}")
            self._make_default(cur, status, name)

    def _make_default(self, cur: Any, status: str, name: str) -> None:
        self._run(
            cur,
            "UPDATE cardseq_labels SET is_default = (name = ?) WHERE status = ?",
            (name, status),
        )

    # ---- cards whose status changed ---------------------------------------------------

    def _lock_card(self, cur: Any, series_id: int, index: int) -> None:  # noqa: B027 - a hook
        """Serialise changes of one card (SQLite's write lock already does)."""

    def card_state(self, series_id: int, index: int) -> CardState | None:
        """(status, label, customer, updated) of a card whose status changed, else None."""
        with self._transaction() as cur:
            return self._card_row(cur, series_id, index)

    def _card_row(self, cur: Any, series_id: int, index: int) -> CardState | None:
        row = self._run(
            cur,
            "SELECT status, label, customer_id, updated_at FROM cardseq_cards"
            " WHERE series_id = ? AND idx = ?",
            (series_id, self._to_db(index)),
        ).fetchone()
        return (row[0], row[1], row[2], _time(row[3])) if row else None

    def set_card_status(
        self,
        series_id: int,
        index: int,
        expected: str,
        status: str,
        label: str,
        customer_id: str | None,
    ) -> bool:
        """Move a card from ``expected`` to ``status`` and log it, atomically; False (and
        nothing written) when the card is no longer in ``expected``. A card with no row
        is in ``expected`` by the caller's reading of its ledger block."""
        with self._transaction() as cur:
            self._lock_card(cur, series_id, index)
            row = self._card_row(cur, series_id, index)
            if row is not None and row[0] != expected:
                return False
            customer = customer_id if customer_id is not None else (row[2] if row else None)
            at = now()
            self._run(
                cur,
                "INSERT INTO cardseq_cards (series_id, idx, status, label,"
                " customer_id, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (series_id, idx) DO UPDATE SET status = excluded.status,"
                " label = excluded.label, customer_id = excluded.customer_id,"
                " updated_at = excluded.updated_at",
                (series_id, self._to_db(index), status, label, customer, at),
            )
            self._run(
                cur,
                "INSERT INTO cardseq_status_log (series_id, idx, from_status,"
                " to_status, label, customer_id, changed_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (series_id, self._to_db(index), expected, status, label, customer, at),
            )
            return True

    def status_log(
        self, series_id: int, index: int, *, limit: int = DEFAULT_LIMIT, after: int = 0
    ) -> Page[tuple[str, str, str, str | None, dt.datetime]]:
        """(from, to, label, customer, when) of a card's changes, oldest first: up to
        ``limit`` (1..1000) of those with log ids above ``after``."""
        limit, after = page_bounds(limit, after)
        with self._transaction() as cur:
            rows = self._run(
                cur,
                "SELECT id, from_status, to_status, label, customer_id, changed_at"
                " FROM cardseq_status_log WHERE series_id = ? AND idx = ? AND id > ?"
                " ORDER BY id LIMIT ?",
                (series_id, self._to_db(index), after, limit + 1),
            ).fetchall()
        return _page(
            [(int(i), (a, b, label, customer, _time(at))) for i, a, b, label, customer, at in rows],
            limit,
        )


_SERIES_COLUMNS = (
    "SELECT id, code, prefix, suffix, length, start_offset, method, key, enabled,"
    " next_index, created_at FROM cardseq_series"
)
_LEDGER_COLUMNS = (
    "SELECT id, series_id, start, count, status_label, kind, request_id,"
    " created_at FROM cardseq_ledger"
)


def _time(value: Any) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)


def _ledger_entry(row: Any) -> LedgerEntry:
    return LedgerEntry(
        int(row[0]), int(row[1]), int(row[2]), int(row[3]), row[4], row[5], row[6], _time(row[7])
    )


@contextlib.contextmanager
def translate(
    *errors: type[BaseException], unique: tuple[type[BaseException], ...] = ()
) -> Iterator[None]:
    """Turn a driver's errors into ``StoreError`` (code 500), flagging unique violations."""
    try:
        yield
    except errors as error:
        wrapped = StoreError(f"store error: {type(error).__name__}: {error}".strip())
        wrapped.unique_violation = isinstance(error, unique)  # type: ignore[attr-defined]
        raise wrapped from error
