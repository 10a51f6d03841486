"""The ledger: every block reserved and every range released, read back as rows, as
pages, and as the answer to "which series and reservation does this number belong to".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..errors import InvalidArgument
from ..records import Lookup, State
from ..series import patterns_overlap
from ..text import normalize
from .ops import Body, Op, Transaction, operation
from .records import (
    DEFAULT_LIMIT,
    RELEASED,
    STORED_KIND,
    LedgerEntry,
    Page,
    SeriesRef,
    page_bounds,
    page_of,
    to_time,
)
from .registry import Registry

LEDGER_COLUMNS = (
    "SELECT id, series_id, start, count, status_label, kind, request_id,"
    " created_at FROM cardseq_ledger"
)


class Ledger(Registry):
    """Reads of the ledger: whole, by pages, and by number."""

    def _ledger(self, series: SeriesRef | None = None) -> Op[list[LedgerEntry]]:
        """Every ledger row, oldest first; of one series when given. It reads the whole
        ledger: a listing for users pages through ``ledger_page``."""
        series_id = None if series is None else (yield from self._series_id(series))
        return (yield from self._ledger_rows(series_id, None, 0, None))

    ledger = operation(_ledger)

    def _ledger_page(
        self,
        series: SeriesRef | None = None,
        *,
        kind: str | None = None,
        limit: int = DEFAULT_LIMIT,
        after: int = 0,
    ) -> Op[Page[LedgerEntry]]:
        """Up to ``limit`` (1..1000) ledger rows with ids above ``after``, oldest first;
        of one series and one ``kind`` (``"reserved"``, ``"released"``) when given."""
        limit, after = page_bounds(limit, after)
        if kind is not None and kind not in STORED_KIND:
            raise InvalidArgument.bad("kind", kind, f"must be one of {', '.join(STORED_KIND)}")
        series_id = None if series is None else (yield from self._series_id(series))
        entries = yield from self._ledger_rows(series_id, kind, after, limit + 1)
        return page_of([(e.id, e) for e in entries], limit)

    ledger_page = operation(_ledger_page)

    def _ledger_rows(
        self, series_id: int | None, kind: str | None, after: int, limit: int | None
    ) -> Op[list[LedgerEntry]]:
        """Rows after the id ``after``, by id; the database does the filtering and
        the limiting."""
        where: list[str] = ["id > ?"]
        args: list[Any] = [after]
        stored = None if kind is None else STORED_KIND[kind]
        for column, value in (("series_id", series_id), ("kind", stored)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        text = f"{LEDGER_COLUMNS} WHERE {' AND '.join(where)} ORDER BY id"
        if limit is not None:
            text += " LIMIT ?"
            args.append(limit)
        rows = yield self._read_all(text, tuple(args))
        return [ledger_entry(row) for row in rows]

    def _lookup(self, number: str) -> Op[Lookup | None]:
        """Which series ``number`` belongs to, its index, and whether that index was
        handed out (with the reservation that did), released unused, or not reserved
        yet. None if no series has it."""
        for info in (yield from self._list_series()):
            series = info.series
            if not series.bound and patterns_overlap(series.pattern, number):
                series = yield from self._get_series(info.id)  # the key's error (706-708)
            if not series.is_valid(number):
                continue
            index = series.parse(number)
            if (yield from self._covering(info.id, index, STORED_KIND[RELEASED])) is not None:
                return Lookup(number, info, index, RELEASED)  # never handed out
            entry = yield from self._covering(info.id, index, "reserved")
            return Lookup(number, info, index, "unreserved" if entry is None else "reserved", entry)
        return None

    lookup = operation(_lookup)

    def _lookup_many(
        self, numbers: Iterable[Any], *, lenient: bool = False
    ) -> Op[list[Lookup | None]]:
        """``lookup`` of many numbers: one answer per number, in order (None where no
        series has it).

        One listing of the series; then for each series of a number's length, one bulk
        parse (``CardSeries.parse_many``) and one read of its ledger, whatever the count:
        not a query per number. ``lenient`` reads numbers as typed at a till
        (``CardSeries.normalize``); a found one's ``Lookup.number`` is the series' form.
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
                series = yield from self._get_series(info.id)  # the key's error (706-708)
            parsed = series.parse_many(candidates)
            hits = np.flatnonzero(parsed.valid)
            if not hits.size:
                continue
            lengths[todo[hits]] = -1  # series never overlap: found for good
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
                        entry = entries[at] = ledger_entry(rows[at])
                found[positions[hit]] = Lookup(candidates[hit], info, index, state, entry)
        return found

    lookup_many = operation(_lookup_many)

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
            entries = [e for e in map(ledger_entry, rows) if e.start <= index]
            return max(entries, key=lambda e: e.start, default=None)
        start = self._number("start")
        row = yield self._fetch_one(
            f"{LEDGER_COLUMNS} WHERE series_id = ? AND kind = ? AND"
            f" {start} <= ? ORDER BY {start} DESC LIMIT 1",
            (series_id, kind, index),
        )
        return ledger_entry(row) if row else None


def ledger_entry(row: Any) -> LedgerEntry:
    kind = RELEASED if row[5] == STORED_KIND[RELEASED] else row[5]
    return LedgerEntry(
        int(row[0]), int(row[1]), int(row[2]), int(row[3]), row[4], kind, row[6], to_time(row[7])
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
