"""The ledger: every block reserved and every range released, read back as rows, as
pages, and as the answer to "which series and reservation does this number belong to".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..errors import InvalidArgument, InvalidRelease, SeriesOverlap, clip
from ..records import Lookup, State
from ..series import patterns_overlap, whole_number
from ..text import normalize
from .ops import Body, Op, Transaction, operation
from .records import (
    DEFAULT_LIMIT,
    MAX_ID,
    RELEASED,
    RESERVED,
    STORED_KIND,
    LedgerEntry,
    LedgerFilter,
    Page,
    SeriesInfo,
    SeriesRef,
    check_label,
    check_request_id,
    page_bounds,
    page_of,
    to_time,
    utc,
)
from .registry import Registry

LEDGER_COLUMNS = (
    "SELECT id, series_id, start, count, status_label, kind, request_id,"
    " created_at, actor FROM cardseq_ledger"
)


class Ledger(Registry):
    """Reads of the ledger: whole, by pages, and by number."""

    @operation
    def _ledger(self, series: SeriesRef | None = None) -> Op[list[LedgerEntry]]:
        """Every ledger row, oldest first; of one series when given. It reads the whole
        ledger: a listing for users pages through ``ledger_page``."""
        series_id = None if series is None else (yield from self._series_id(series))
        return (yield from self._ledger_rows(LedgerFilter(series_id), 0, None))

    @operation
    def _count_reservations(self, series: SeriesRef) -> Op[int]:
        """How many blocks a series has handed out (releases not counted): one
        ``COUNT(*)``, whatever the length of the ledger."""
        series_id = yield from self._series_id(series)
        row = yield self._read_one(
            "SELECT COUNT(*) FROM cardseq_ledger WHERE series_id = ? AND kind = ?",
            (series_id, STORED_KIND[RESERVED]),
        )
        return int(row[0])

    @operation
    def _ledger_page(
        self,
        series: SeriesRef | None = None,
        *,
        kind: str | None = None,
        limit: int = DEFAULT_LIMIT,
        after: int = 0,
        label: str | None = None,
        request_id: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> Op[Page[LedgerEntry]]:
        """Up to ``limit`` (1..1000) ledger rows with ids above ``after``, oldest first;
        of one series and one ``kind`` (``"reserved"``, ``"released"``) when given, and
        only those with the status ``label``, the ``request_id``, or a time in
        ``[since, until)`` when given (naive times are UTC)."""
        limit, after = page_bounds(limit, after)
        if kind is not None and kind not in STORED_KIND:
            raise InvalidArgument.bad("kind", kind, f"must be one of {', '.join(STORED_KIND)}")
        filters = LedgerFilter(
            None,
            None if kind is None else STORED_KIND[kind],
            None if label is None else check_label(label),
            check_request_id(request_id),
            utc("since", since),
            utc("until", until),
        )
        if series is not None:
            filters = dataclasses.replace(filters, series_id=(yield from self._series_id(series)))
        entries = yield from self._ledger_rows(filters, after, limit + 1)
        return page_of([(e.id, e) for e in entries], limit)

    @operation
    def _ledger_entry(self, ledger_id: Any) -> Op[LedgerEntry | None]:
        """The ledger row ``ledger_id``, or None when there is none."""
        number = whole_number(ledger_id)
        if isinstance(ledger_id, bool) or number is None or not 1 <= number <= MAX_ID:
            raise InvalidArgument.bad("ledger_id", ledger_id, f"must be a ledger id (1..{MAX_ID})")
        row = yield self._read_one(f"{LEDGER_COLUMNS} WHERE id = ?", (number,))
        return entry_of_row(row) if row else None

    @operation
    def _released_within(self, series: SeriesRef, start: int, stop: int) -> Op[list[LedgerEntry]]:
        """The releases of a series that start in ``[start, stop)``, by start: the parts
        of a reservation there that were given back unused."""
        series_id = yield from self._series_id(series)
        return (yield Transaction(self._releases_in(series_id, start, stop)))  # type: ignore[no-any-return]

    def _releases_in(self, series_id: int, start: int, stop: int) -> Body[list[LedgerEntry]]:
        kind = STORED_KIND[RELEASED]
        if self.sql_index_limit is not None and stop >= self.sql_index_limit:
            rows = yield self._fetch_all(
                f"{LEDGER_COLUMNS} WHERE series_id = ? AND kind = ?", (series_id, kind)
            )
        else:
            column = self._number("start")
            rows = yield self._fetch_all(
                f"{LEDGER_COLUMNS} WHERE series_id = ? AND kind = ? AND {column} >= ?"
                f" AND {column} < ?",
                (series_id, kind, start, stop),
            )
        found = [e for e in map(entry_of_row, rows) if start <= e.start < stop]
        return sorted(found, key=lambda e: e.start)

    def _held(self, entry: LedgerEntry) -> Body[range]:
        """The indexes of reservation ``entry`` that its caller may still hold: the
        block less the parts released unused since. What a replay of its request id
        answers and what ``export`` writes, so that neither hands out a number the
        ledger calls unused. None left, or two ranges (a release inside the block): 705.
        """
        releases = yield from self._releases_in(entry.series_id, entry.start, entry.stop)
        return held_range(entry, releases)

    def _ledger_rows(
        self, filters: LedgerFilter, after: int, limit: int | None
    ) -> Op[list[LedgerEntry]]:
        """Rows after the id ``after``, by id; the database does the filtering and
        the limiting."""
        where: list[str] = ["id > ?"]
        args: list[Any] = [after]
        for column, value in filters.conditions():
            where.append(column)
            args.append(value)
        text = f"{LEDGER_COLUMNS} WHERE {' AND '.join(where)} ORDER BY id"
        if limit is not None:
            text += " LIMIT ?"
            args.append(limit)
        rows = yield self._read_all(text, tuple(args))
        return [entry_of_row(row) for row in rows]

    @operation
    def _lookup(self, number: str) -> Op[Lookup | None]:
        """Which series ``number`` belongs to, its index, and whether that index was
        handed out (with the reservation that did), released unused, or not reserved
        yet. None if no series has it."""
        for info in (yield from self._list_series()):
            series = info.series
            if not series.bound and patterns_overlap(series.pattern, number):
                series = yield from self._series_definition(info.id)  # the key's error (706-708)
            if not series.is_valid(number):
                continue
            index = series.parse(number)
            if (yield from self._covering(info.id, index, STORED_KIND[RELEASED])) is not None:
                return Lookup(number, info, index, RELEASED)  # never handed out
            entry = yield from self._covering(info.id, index, "reserved")
            return Lookup(number, info, index, "unreserved" if entry is None else "reserved", entry)
        return None

    @operation
    def _lookup_many(
        self, numbers: Iterable[Any], *, lenient: bool = False
    ) -> Op[list[Lookup | None]]:
        """``lookup`` of many numbers: one answer per number, in order (None where no
        series has it).

        One listing of the series; then for each series of a number's length, one bulk
        parse (``CardSeries.parse_many``) and one read of its ledger, whatever the count:
        not a query per number. ``lenient`` reads numbers as typed at a till
        (``CardSeries.normalize``); a found one's ``Lookup.number`` is the series' form,
        and one that two series read so is 3006 (``SeriesOverlap``): only a store from
        before such pairs were refused can hold them.
        """
        texts = [normalize(n) if lenient else n for n in numbers]
        found: list[Lookup | None] = [None] * len(texts)
        lengths = np.array([len(t) if isinstance(t, str) else -1 for t in texts], dtype=np.int64)
        for info in (yield from self._list_series()):
            series = info.series
            todo = np.flatnonzero(lengths == series.length)
            if not todo.size:
                continue
            positions = todo.tolist()
            candidates = [series.normalize(texts[k]) if lenient else texts[k] for k in positions]
            if not series.bound and any(patterns_overlap(series.pattern, c) for c in candidates):
                series = yield from self._series_definition(info.id)  # the key's error (706-708)
            parsed = series.parse_many(candidates)
            hits = np.flatnonzero(parsed.valid)
            if not hits.size:
                continue
            if lenient:  # a store from before 3006 covered lenient reading may hold two
                for hit in hits.tolist():
                    if (other := found[positions[hit]]) is not None:
                        raise _ambiguous(texts[positions[hit]], other.info, info)
            else:
                lengths[todo[hits]] = -1  # strictly, series never overlap: found for good
            indexes = parsed.indexes[hits]
            rows = yield self._read_all(f"{LEDGER_COLUMNS} WHERE series_id = ?", (info.id,))
            released = _rows_covering(rows, STORED_KIND[RELEASED], indexes)
            reserved = _rows_covering(rows, "reserved", indexes)
            entries: dict[int, LedgerEntry] = {}
            for hit, index, unused, at in zip(
                hits.tolist(),
                indexes.tolist(),
                released.tolist(),
                reserved.tolist(),
                strict=True,
            ):  # (Python ints: NumPy scalars one at a time are slow)
                state: State = "unreserved"
                entry = None
                if unused >= 0:
                    state = RELEASED  # never handed out
                elif at >= 0:
                    state = "reserved"
                    entry = entries.get(at)
                    if entry is None:
                        entry = entries[at] = entry_of_row(rows[at])
                found[positions[hit]] = Lookup(candidates[hit], info, index, state, entry)
        return found

    def _covering(self, series_id: int, index: int, kind: str) -> Op[LedgerEntry | None]:
        """The ledger row of ``kind`` whose range holds ``index``, if any."""
        entry = yield Transaction(self._last_starting_by(series_id, kind, index))
        return entry if entry is not None and index < entry.stop else None

    def _last_starting_by(self, series_id: int, kind: str, index: int) -> Body[LedgerEntry | None]:
        """The ledger row of ``kind`` with the last start at or before ``index``.

        Rows of one kind never overlap, so it is the only one that can hold ``index``:
        one indexed lookup, whatever the ledger's length.
        """
        if self.sql_index_limit is not None and index >= self.sql_index_limit:
            rows = yield self._fetch_all(
                f"{LEDGER_COLUMNS} WHERE series_id = ? AND kind = ?", (series_id, kind)
            )
            entries = [e for e in map(entry_of_row, rows) if e.start <= index]
            return max(entries, key=lambda e: e.start, default=None)
        start = self._number("start")
        row = yield self._fetch_one(
            f"{LEDGER_COLUMNS} WHERE series_id = ? AND kind = ? AND"
            f" {start} <= ? ORDER BY {start} DESC LIMIT 1",
            (series_id, kind, index),
        )
        return entry_of_row(row) if row else None

    # ---- public methods, generated from the operations by tools/facades.py ----
    def ledger(self, series: SeriesRef | None = None) -> list[LedgerEntry]:
        """Every ledger row, oldest first; of one series when given. It reads the whole
        ledger: a listing for users pages through ``ledger_page``."""
        return self._drive(self._ledger(series))

    def count_reservations(self, series: SeriesRef) -> int:
        """How many blocks a series has handed out (releases not counted): one
        ``COUNT(*)``, whatever the length of the ledger."""
        return self._drive(self._count_reservations(series))

    def ledger_page(
        self,
        series: SeriesRef | None = None,
        *,
        kind: str | None = None,
        limit: int = DEFAULT_LIMIT,
        after: int = 0,
        label: str | None = None,
        request_id: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> Page[LedgerEntry]:
        """Up to ``limit`` (1..1000) ledger rows with ids above ``after``, oldest first;
        of one series and one ``kind`` (``"reserved"``, ``"released"``) when given, and
        only those with the status ``label``, the ``request_id``, or a time in
        ``[since, until)`` when given (naive times are UTC)."""
        return self._drive(
            self._ledger_page(
                series,
                kind=kind,
                limit=limit,
                after=after,
                label=label,
                request_id=request_id,
                since=since,
                until=until,
            )
        )

    def ledger_entry(self, ledger_id: Any) -> LedgerEntry | None:
        """The ledger row ``ledger_id``, or None when there is none."""
        return self._drive(self._ledger_entry(ledger_id))

    def released_within(self, series: SeriesRef, start: int, stop: int) -> list[LedgerEntry]:
        """The releases of a series that start in ``[start, stop)``, by start: the parts
        of a reservation there that were given back unused."""
        return self._drive(self._released_within(series, start, stop))

    def lookup(self, number: str) -> Lookup | None:
        """Which series ``number`` belongs to, its index, and whether that index was
        handed out (with the reservation that did), released unused, or not reserved
        yet. None if no series has it."""
        return self._drive(self._lookup(number))

    def lookup_many(self, numbers: Iterable[Any], *, lenient: bool = False) -> list[Lookup | None]:
        """``lookup`` of many numbers: one answer per number, in order (None where no
        series has it).

        One listing of the series; then for each series of a number's length, one bulk
        parse (``CardSeries.parse_many``) and one read of its ledger, whatever the count:
        not a query per number. ``lenient`` reads numbers as typed at a till
        (``CardSeries.normalize``); a found one's ``Lookup.number`` is the series' form,
        and one that two series read so is 3006 (``SeriesOverlap``): only a store from
        before such pairs were refused can hold them."""
        return self._drive(self._lookup_many(numbers, lenient=lenient))

    # ---- end of generated methods ----


def _ambiguous(number: str, first: SeriesInfo, second: SeriesInfo) -> SeriesOverlap:
    """The refusal of a lenient reading that two series accept: picking either could
    report a card the other series issued (or never issued) as its own."""
    return SeriesOverlap(
        f"number {clip(number)} reads as a number of series {first.series.code!r} (id"
        f" {first.id}) and of series {second.series.code!r} (id {second.id}) when letter"
        " case is folded: these series were created before cardseq refused such pairs"
        " (3006); read the number strictly, as the series wrote it",
        field="number",
        value=number,
    )


def held_range(entry: LedgerEntry, releases: list[LedgerEntry]) -> range:
    """``Ledger._held`` of the reservation ``entry`` whose releases (inside it, by start)
    are ``releases``."""
    left: list[range] = []
    at = entry.start
    for part in releases:
        if part.start > at:
            left.append(range(at, part.start))
        at = max(at, part.stop)
    if at < entry.stop:
        left.append(range(at, entry.stop))
    if len(left) == 1:
        return left[0]
    if not left:
        why = "was released unused whole: it has no numbers anyone holds"
    else:
        parts = " and ".join(f"{r.start}..{r.stop - 1}" for r in left)
        why = (
            f"was released unused in part: the indexes still held are {parts}, not one"
            " range; write each with the series' block(start, count)"
        )
    value: object
    if entry.request_id is None:
        field, value, name = "ledger_id", entry.id, ""
    else:
        field, value = "request_id", entry.request_id
        name = f" (request id {clip(entry.request_id)})"
    raise InvalidRelease(f"reservation {entry.id}{name} {why}", field=field, value=value)


def entry_of_row(row: Any) -> LedgerEntry:
    """A ledger row (``LEDGER_COLUMNS``) as its record."""
    kind = RELEASED if row[5] == STORED_KIND[RELEASED] else row[5]
    return LedgerEntry(
        int(row[0]),
        int(row[1]),
        int(row[2]),
        int(row[3]),
        row[4],
        kind,
        row[6],
        to_time(row[7]),
        row[8],
    )


def _rows_covering(rows: list[Any], kind: str, indexes: np.ndarray) -> np.ndarray:
    """For each index, the position in ``rows`` (ledger rows of one series) of the row of
    ``kind`` that holds it, or -1: a binary search over the rows' starts (rows of one
    kind never overlap)."""
    mine = sorted((int(row[2]), int(row[3]), at) for at, row in enumerate(rows) if row[5] == kind)
    if not mine:
        return np.full(len(indexes), -1, dtype=np.int64)
    starts, counts, where = (
        np.array(column, dtype=indexes.dtype) for column in zip(*mine, strict=True)
    )
    before = np.searchsorted(starts, indexes, side="right") - 1
    inside = (before >= 0) & (indexes < (starts + counts)[before]).astype(bool)
    return np.where(inside, where[before].astype(np.int64), -1)
