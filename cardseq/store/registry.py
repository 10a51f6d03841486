"""The series registry and the ledger of reservations: what numbers exist, and which
were handed out.

A block of indexes is committed as reserved, atomically and durably, before any number
of it reaches the caller. Reservations that arrive together share the commit (``batch``).
The single step that advances a series is the backend's (``_take``).
"""

from __future__ import annotations

import abc
import dataclasses
import datetime as dt
import hmac
import itertools
import json
import logging
import os
import threading
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

import numpy as np

from ..block import Block
from ..errors import (
    CardSeqError,
    GenerationDisabled,
    InvalidArgument,
    InvalidRelease,
    InvalidSeries,
    InvalidStatusLabel,
    KeyMismatch,
    KeysInStore,
    LabelNotMapped,
    SeriesExhausted,
    SeriesExists,
    SeriesOverlap,
    clip,
)
from ..keys import KeySource, fingerprint, keyring, read_keys_file, write_keys_file
from ..records import Lookup, State
from ..series import (
    CardSeries,
    number_pattern,
    patterns_overlap,
    positive_count,
    whole_number,
)
from ..text import normalize
from .batch import GroupCommit, Outcome
from .database import Database, DuplicateRequest
from .records import (
    DEFAULT_LABEL,
    DEFAULT_LIMIT,
    MAX_ID,
    RELEASED,
    STORED_KIND,
    LedgerEntry,
    LedgerFilter,
    Page,
    SeriesInfo,
    SeriesRef,
    check_label,
    check_request_id,
    now,
    page_bounds,
    page_of,
    to_time,
    utc,
)

log = logging.getLogger("cardseq.store")

_SERIES_COLUMNS = (
    "SELECT id, code, prefix, suffix, length, start_offset, method, key, enabled,"
    " next_index, created_at, key_id, key_fingerprint FROM cardseq_series"
)
_LEDGER_COLUMNS = (
    "SELECT id, series_id, start, count, status_label, kind, request_id,"
    " created_at FROM cardseq_ledger"
)


@dataclasses.dataclass(frozen=True, slots=True)
class _Request:
    """A reservation waiting for its batch, its arguments checked."""

    series_id: int
    definition: CardSeries
    count: int
    label: str
    request_id: str | None


class Registry(Database):
    """Series, their reservations and releases, and the ledger that records them."""

    def __init__(self, keys: KeySource = None) -> None:
        #: where keyed series' keys come from (the store keeps only ids and fingerprints)
        self.keys = keyring(keys)
        self._cache: dict[int, CardSeries] = {}  # bound definitions never change
        self._codes: dict[str, int] = {}
        self._label_status: dict[str, str] = {}
        self._cache_lock = threading.Lock()
        self._batches = GroupCommit(self._reserve_batch)

    @abc.abstractmethod
    def _take(self, cur: Any, series_id: int, count: int) -> int | None:
        """Advance an enabled series that has ``count`` indexes left by that many;
        return the first, or None when it cannot (disabled, exhausted). Runs in the
        caller's transaction."""

    def _advance(
        self, cur: Any, series_id: int, count: int, label: str, request_id: str | None
    ) -> tuple[int, int] | None:
        """``_take`` the indexes of one reservation and write its ledger row: the start
        and the row's id, or None when the series cannot (disabled, exhausted)."""
        start = self._take(cur, series_id, count)
        if start is None:
            return None
        (ledger_id,) = self._record(cur, [(series_id, start, count, label, request_id)])
        return start, ledger_id

    def _record(self, cur: Any, rows: list[tuple[int, int, int, str, str | None]]) -> list[int]:
        """Ledger rows of reservations: (series id, start, count, label, request id);
        their ids, in the same order."""
        text = self._sql(
            "INSERT INTO cardseq_ledger (series_id, start, count, status_label, kind,"
            " request_id, created_at) VALUES (?, ?, ?, ?, 'reserved', ?, ?) RETURNING id"
        )
        ids = []
        for series_id, start, count, label, request_id in rows:
            args = (series_id, self._to_db(start), self._to_db(count), label, request_id, now())
            ids.append(int(cur.execute(text, args).fetchone()[0]))
        return ids

    def create_series(
        self,
        series: CardSeries,
        *,
        enabled: bool = True,
        details: dict[str, Any] | None = None,
        exists_ok: bool = False,
    ) -> int:
        """Register ``series``; return its new integer id.

        ``details``: other fields to keep with it (JSON-able), see ``series_details``.

        A code in use is 3002, unless ``exists_ok`` and it holds the same definition
        (code, prefix, suffix, length, offset, method): then its id, so that a setup
        can run twice. A number space that can meet an existing series' is 3006 (any
        overlap, not only the same prefix, suffix and length).
        """
        if not isinstance(series, CardSeries):
            raise InvalidSeries.bad("series", series, "is not a CardSeries")
        key_fingerprint = self._key_fingerprint(series)
        with self._transaction() as cur:
            self._lock_registry(cur)
            row = self._run(cur, f"{_SERIES_COLUMNS} WHERE code = ?", (series.code,)).fetchone()
            if row is not None:
                existing = self._series_info(row)
                if not exists_ok:
                    raise SeriesExists.bad("code", series.code, "is already a series code")
                if (existing.series.to_dict(), existing.key_fingerprint) != (
                    series.to_dict(),
                    key_fingerprint,
                ):
                    raise SeriesExists.bad(
                        "code", series.code, "is already the code of another definition"
                    )
                return existing.id
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
            series_id = self._insert_series(cur, series, enabled, key_fingerprint)
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
        with self._reading() as cur:
            row = self._run(
                cur, "SELECT body FROM cardseq_series_details WHERE series_id = ?", (series_id,)
            ).fetchone()
        return json.loads(row[0]) if row else {}

    def _key_fingerprint(self, series: CardSeries) -> str | None:
        """The fingerprint to register for a keyed series: its key must come from the
        key sources by its ``key_id`` (and equal the series' own key, if it has one)."""
        if not series.method.keyed:
            return None
        if series.key_id is None:
            raise InvalidSeries(
                f"series {series.code!r} uses method {series.method}: a store needs its"
                " key_id, the id of a key the operator supplies (a store never keeps keys;"
                " see docs/security.md)",
                field="key_id",
            )
        key = self.keys.find(series.key_id)
        if key is None:  # the ring's error, with its advice
            self.keys.check(series.code, series.key_id, "")
        assert key is not None
        if series.key is not None and not hmac.compare_digest(series.key, key):
            raise KeyMismatch(
                f"the key of series {series.code!r} is not key {series.key_id!r} of the"
                " key sources",
                field="key_id",
                value=series.key_id,
            )
        return fingerprint(key)

    def _lock_registry(self, cur: Any) -> None:  # a hook: SQLite needs no lock
        """Serialise series creation (the overlap check reads all series)."""

    def _insert_series(
        self, cur: Any, series: CardSeries, enabled: bool, key_fingerprint: str | None
    ) -> int:
        cur = self._run(
            cur,
            "INSERT INTO cardseq_series (code, prefix, suffix, length, start_offset, method,"
            " key_id, key_fingerprint, enabled, next_index, capacity, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                series.code,
                series.prefix,
                series.suffix,
                series.length,
                self._to_db(series.offset),
                series.method.value,
                series.key_id,
                key_fingerprint,
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
            with self._reading() as cur:
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
        """The definition of a series, bound to its key (for formatting and parsing).

        A keyed series' key is checked against its fingerprint on first use: missing,
        706; another key, 707; still in the store, 708. A ``CardSeries`` given as
        ``ref`` must be the registered definition (else 3000), and its key the
        registered key (else 707): a store never formats with a key it was not given.
        """
        series_id = self.series_id(ref)
        definition = self._cache.get(series_id) or self._bound(series_id)
        if isinstance(ref, CardSeries):
            if ref.to_dict() != definition.to_dict():
                raise InvalidSeries.bad(
                    "series", ref, f"differs from the registered series {ref.code!r}"
                )
            if ref.key is not None and not hmac.compare_digest(ref.key, definition.key or b""):
                raise KeyMismatch(
                    f"the key given with series {ref.code!r} is not its registered key"
                    f" {definition.key_id!r}",
                    field="key_id",
                    value=definition.key_id,
                )
        return definition

    def _bound(self, series_id: int) -> CardSeries:
        """The series bound to its key, or the error that says why it cannot be."""
        with self._reading() as cur:
            row = self._run(cur, f"{_SERIES_COLUMNS} WHERE id = ?", (series_id,)).fetchone()
        if row is None:
            raise InvalidSeries.bad("seriesId", series_id, "is not a known series")
        info = self._series_info(row)
        series = info.series
        if series.bound:
            return series
        if row[7] is not None:
            raise KeysInStore(
                f"series {series.code!r} still has its key in the store at {self.url}:"
                " run `cardseq keys export --keys-file FILE` (docs/security.md), then"
                " supply FILE as a key source",
                field="key_id",
                value=series.key_id,
            )
        assert series.key_id is not None and info.key_fingerprint is not None
        key = self.keys.check(series.code, series.key_id, info.key_fingerprint)
        return self._cached(series_id, series.with_key(key))

    def _cached(self, series_id: int, series: CardSeries) -> CardSeries:
        with self._cache_lock:
            self._cache[series_id] = series
            self._codes[series.code] = series_id
        return series

    def info(self, ref: SeriesRef) -> SeriesInfo:
        """A series with its state: enabled, reserved so far."""
        series_id = self.series_id(ref)
        with self._reading() as cur:
            row = self._run(cur, f"{_SERIES_COLUMNS} WHERE id = ?", (series_id,)).fetchone()
        if row is None:
            raise InvalidSeries.bad("seriesId", ref, "is not a known series")
        return self._series_info(row)

    def list_series(self) -> list[SeriesInfo]:
        with self._reading() as cur:
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
            key_id,
            key_fingerprint,
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
                key_id=key_id,
            )
            found = self.keys.find(key_id) if key_id is not None and key is None else None
            if series.bound or (found is not None and fingerprint(found) == key_fingerprint):
                series = self._cached(series_id, series.with_key(found) if found else series)
        return SeriesInfo(
            series_id,
            series,
            bool(enabled),
            int(next_index),
            to_time(created),
            key_fingerprint,
        )

    def export_keys(self, path: str) -> int:
        """Move the keys a store from before version 3 keeps in clear to the new keys
        file ``path`` (0600), then wipe them from the store; return how many.

        The file is written and flushed first, the keys wiped after in one transaction:
        interrupted between the two, a second run finds the file holding every key and
        only wipes. An existing file that lacks one of them is refused (701).
        """
        with self._reading() as cur:
            rows = self._run(
                cur, "SELECT key_id, key FROM cardseq_series WHERE key IS NOT NULL"
            ).fetchall()
        keys = {key_id: bytes(key) for key_id, key in rows}
        if not keys:
            return 0
        if os.path.exists(path):
            held = read_keys_file(path)
            missing = sorted(k for k, key in keys.items() if held.get(k) != key)
            if missing:
                raise InvalidArgument(
                    f"keys file {path!r} exists and lacks key(s) {', '.join(missing)}:"
                    " export to a new file",
                    field="keys_file",
                    value=path,
                )
        else:
            write_keys_file(path, keys)
        for key_id, key in keys.items():
            self.keys.add(key_id, key)
        with self._transaction() as cur:
            self._run(cur, "UPDATE cardseq_series SET key = NULL WHERE key IS NOT NULL")
        self._forget_wiped()
        return len(keys)

    def _forget_wiped(self) -> None:  # a hook
        """Drop what the database may still hold of wiped values (SQLite: its log)."""

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
        definition = self.get_series(series)  # a given definition must match (keys)
        return self._batches.submit(_Request(series_id, definition, count, label, request_id))

    def _reserve_batch(self, requests: Sequence[_Request]) -> list[Outcome[Block]]:
        """Commit a batch of reservations (group commit): one transaction, one flush.

        A request is checked before it writes, so a refused one (702, 703, 3017, 3018,
        701) leaves nothing behind and its batch-mates commit. The one refusal found
        only by writing is a request id that another connection committed meanwhile:
        the batch is rolled back and runs again, and that request replays the other's
        block. The requests of one series advance it in one step when they all fit;
        series are taken in id order, so that two batches on PostgreSQL cannot
        deadlock on their rows.
        """
        for _ in requests:  # each run that meets one replays it in the next
            try:
                return self._commit_batch(requests)
            except DuplicateRequest:
                pass
        return self._commit_batch(requests)

    def _commit_batch(self, requests: Sequence[_Request]) -> list[Outcome[Block]]:
        outcomes: dict[int, Outcome[Block]] = {}
        taken: list[tuple[_Request, int, int]] = []  # new reservations: to be logged
        waiting = list(enumerate(requests))
        with self._transaction() as cur:
            while waiting:
                rounds, waiting = _one_per_request_id(waiting)
                advancing: dict[int, list[tuple[int, _Request]]] = {}
                for i, request in rounds:
                    try:
                        replayed = self._replayed(cur, request)
                    except CardSeqError as error:
                        outcomes[i] = Outcome(error=error)
                        continue
                    if replayed is not None:
                        outcomes[i] = Outcome(replayed)
                    else:
                        advancing.setdefault(request.series_id, []).append((i, request))
                for series_id in sorted(advancing):  # see the docstring: no deadlock
                    group = advancing[series_id]
                    starts = self._advance_all(cur, series_id, [r for _, r in group])
                    for (i, request), took in zip(group, starts, strict=True):
                        if took is None:
                            outcomes[i] = Outcome(error=self._refusal(cur, request))
                        else:
                            start, ledger_id = took
                            outcomes[i] = Outcome(Block(request.definition, start, request.count))
                            taken.append((request, start, ledger_id))
        for request, start, ledger_id in taken:  # committed: now they may be told
            _log_reservation(
                request.series_id,
                request.definition.code,
                start,
                request.count,
                request.label,
                request.request_id,
                ledger_id,
            )
        return [outcomes[i] for i in range(len(requests))]

    def _replayed(self, cur: Any, request: _Request) -> Block | None:
        """The block that ``request``'s id already has, if any; before that, whether
        it may reserve (its label)."""
        self._check_generation_label(cur, request.label)
        if request.request_id is None:
            return None
        prior = self._prior(cur, request.request_id)
        return None if prior is None else self._replay(prior, request)

    def _advance_all(
        self, cur: Any, series_id: int, requests: list[_Request]
    ) -> list[tuple[int, int] | None]:
        """Advance a series for its requests of a batch, in their order: in one step
        when they all fit, else one by one (each fits or not on its own)."""
        if len(requests) > 1:
            counts = [r.count for r in requests]
            start = self._take(cur, series_id, sum(counts))
            if start is not None:
                firsts = list(itertools.accumulate(counts[:-1], initial=start))
                ids = self._record(
                    cur,
                    [
                        (series_id, first, r.count, r.label, r.request_id)
                        for first, r in zip(firsts, requests, strict=True)
                    ],
                )
                return list(zip(firsts, ids, strict=True))
        return [self._advance(cur, series_id, r.count, r.label, r.request_id) for r in requests]

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

    def _replay(self, prior: LedgerEntry, request: _Request) -> Block:
        asked = (request.series_id, request.count, request.label)
        if (prior.series_id, prior.count, prior.status_label) != asked:
            raise InvalidArgument(
                f"request_id {clip(prior.request_id)} was used for another request (series"
                f" {prior.series_id}, count {prior.count}, label {prior.status_label})",
                field="request_id",
                value=prior.request_id,
            )
        return Block(request.definition, prior.start, prior.count)

    def _refusal(self, cur: Any, request: _Request) -> CardSeqError:
        """Why ``_take`` could not reserve for ``request``."""
        series_id, definition = request.series_id, request.definition
        row = self._run(
            cur, "SELECT enabled, next_index FROM cardseq_series WHERE id = ?", (series_id,)
        ).fetchone()
        if row is None:
            return InvalidSeries.bad("seriesId", series_id, "is not a known series")
        if not row[0]:
            return GenerationDisabled(
                f"generation is disabled for series {definition.code!r}",
                field="seriesId",
                value=series_id,
            )
        left = definition.capacity - int(row[1])
        return SeriesExhausted.bad(
            "count",
            request.count,
            f"is more than the {left} number(s) left in series {definition.code!r}",
        )

    def release(
        self, series: SeriesRef, start: int, count: int, status_label: str = DEFAULT_LABEL
    ) -> None:
        """Release indexes that were reserved but will never be handed out.

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

    def _lock_series(self, cur: Any, series_id: int) -> None:  # a hook
        """Serialise changes of one series' ledger (SQLite's write lock already does)."""

    def ledger(self, series: SeriesRef | None = None) -> list[LedgerEntry]:
        """Every ledger row, oldest first; of one series when given. It reads the whole
        ledger: a listing for users pages through ``ledger_page``."""
        series_id = None if series is None else self.series_id(series)
        return self._ledger_rows(LedgerFilter(series_id), 0, None)

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
        limit, after = page_bounds(limit, after)
        if kind is not None and kind not in STORED_KIND:
            raise InvalidArgument.bad("kind", kind, f"must be one of {', '.join(STORED_KIND)}")
        series_id = None if series is None else self.series_id(series)
        filters = LedgerFilter(
            series_id,
            None if kind is None else STORED_KIND[kind],
            None if label is None else check_label(label),
            check_request_id(request_id),
            utc("since", since),
            utc("until", until),
        )
        entries = self._ledger_rows(filters, after, limit + 1)
        return page_of([(e.id, e) for e in entries], limit)

    def ledger_entry(self, ledger_id: Any) -> LedgerEntry | None:
        """The ledger row ``ledger_id``, or None when there is none."""
        number = whole_number(ledger_id)
        if isinstance(ledger_id, bool) or number is None or not 1 <= number <= MAX_ID:
            raise InvalidArgument.bad("ledger_id", ledger_id, f"must be a ledger id (1..{MAX_ID})")
        with self._reading() as cur:
            row = self._run(cur, f"{_LEDGER_COLUMNS} WHERE id = ?", (number,)).fetchone()
        return _ledger_entry(row) if row else None

    def released_within(self, series: SeriesRef, start: int, stop: int) -> list[LedgerEntry]:
        """The releases of a series that start in ``[start, stop)``, by start: the parts
        of a reservation there that were given back unused."""
        series_id = self.series_id(series)
        kind = STORED_KIND[RELEASED]
        with self._reading() as cur:
            if self.sql_index_limit is not None and stop >= self.sql_index_limit:
                rows = self._run(
                    cur, f"{_LEDGER_COLUMNS} WHERE series_id = ? AND kind = ?", (series_id, kind)
                ).fetchall()
            else:
                column = self._number("start")
                rows = self._run(
                    cur,
                    f"{_LEDGER_COLUMNS} WHERE series_id = ? AND kind = ? AND {column} >= ?"
                    f" AND {column} < ?",
                    (series_id, kind, start, stop),
                ).fetchall()
        found = [e for e in map(_ledger_entry, rows) if start <= e.start < stop]
        return sorted(found, key=lambda e: e.start)

    def _ledger_rows(
        self, filters: LedgerFilter, after: int, limit: int | None
    ) -> list[LedgerEntry]:
        """Rows after the id ``after``, by id; the database does the filtering and
        the limiting."""
        where: list[str] = ["id > ?"]
        args: list[Any] = [after]
        for column, value in filters.conditions():
            where.append(column)
            args.append(value)
        text = f"{_LEDGER_COLUMNS} WHERE {' AND '.join(where)} ORDER BY id"
        if limit is not None:
            text += " LIMIT ?"
            args.append(limit)
        with self._reading() as cur:
            rows = self._run(cur, text, tuple(args)).fetchall()
        return [_ledger_entry(row) for row in rows]

    def lookup(self, number: str) -> Lookup | None:
        """Which series ``number`` belongs to, its index, and whether that index was
        handed out (with the reservation that did), released unused, or not reserved
        yet. None if no series has it."""
        for info in self.list_series():
            series = info.series
            if not series.bound and patterns_overlap(series.pattern, number):
                series = self.get_series(info.id)  # the key's error (706, 707, 708)
            if not series.is_valid(number):
                continue
            index = series.parse(number)
            if self._covering(info.id, index, STORED_KIND[RELEASED]) is not None:
                return Lookup(number, info, index, RELEASED)  # never handed out
            entry = self._covering(info.id, index, "reserved")
            return Lookup(number, info, index, "unreserved" if entry is None else "reserved", entry)
        return None

    def lookup_many(self, numbers: Iterable[Any], *, lenient: bool = False) -> list[Lookup | None]:
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
        for info in self.list_series():
            series = info.series
            todo = np.flatnonzero(lengths == series.length)
            if not todo.size:
                continue
            positions = todo.tolist()
            candidates = [series.normalize(texts[k]) if lenient else texts[k] for k in positions]
            if not series.bound and any(patterns_overlap(series.pattern, c) for c in candidates):
                series = self.get_series(info.id)  # the key's error (706, 707, 708)
            parsed = series.parse_many(candidates)
            hits = np.flatnonzero(parsed.valid)
            if not hits.size:
                continue
            lengths[todo[hits]] = -1  # series never overlap: found for good
            indexes = parsed.indexes[hits]
            with self._reading() as cur:
                rows = self._run(
                    cur, f"{_LEDGER_COLUMNS} WHERE series_id = ?", (info.id,)
                ).fetchall()
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
                        entry = entries[at] = _ledger_entry(rows[at])
                found[positions[hit]] = Lookup(candidates[hit], info, index, state, entry)
        return found

    def _covering(self, series_id: int, index: int, kind: str) -> LedgerEntry | None:
        """The ledger row of ``kind`` whose range holds ``index``, if any."""
        with self._reading() as cur:
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


def _log_reservation(
    series_id: int,
    code: str,
    start: int,
    count: int,
    label: str,
    request_id: str | None,
    ledger_id: int,
) -> None:
    """One record per committed reservation, its fields also in ``extra`` for
    structured handlers: the range as indexes, never the numbers (they may be
    secrets until issued)."""
    if not log.isEnabledFor(logging.INFO):
        return
    log.info(
        "reserved %d of series %s (id %d) from index %d, label %s, request id %s, ledger %d",
        count,
        code,
        series_id,
        start,
        label,
        request_id or "-",
        ledger_id,
        extra={
            "series_id": series_id,
            "series_code": code,
            "start": start,
            "count": count,
            "status_label": label,
            "request_id": request_id,
            "ledger_id": ledger_id,
        },
    )


def _one_per_request_id(
    requests: list[tuple[int, _Request]],
) -> tuple[list[tuple[int, _Request]], list[tuple[int, _Request]]]:
    """Split off the requests whose id an earlier one of them has: they wait for the
    next round of the batch, where they find the earlier one's ledger row."""
    ids: set[str] = set()
    now: list[tuple[int, _Request]] = []
    later: list[tuple[int, _Request]] = []
    for item in requests:
        request_id = item[1].request_id
        (later if request_id in ids else now).append(item)
        if request_id is not None:
            ids.add(request_id)
    return now, later


def _ledger_entry(row: Any) -> LedgerEntry:
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
