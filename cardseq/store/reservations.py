"""Reservations and releases: the one promise of a store.

A block of indexes is committed as reserved, atomically and durably, before any number
of it reaches the caller. Reservations that arrive together share the commit (group
commit: ``batch`` for threads, ``cardseq.aio`` for tasks), each with its own outcome.
The single step that advances a series is the backend's (``_take``).
"""

from __future__ import annotations

import abc
import dataclasses
import itertools
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from ..block import Block
from ..errors import (
    CardSeqError,
    CommitUnknown,
    GenerationDisabled,
    InvalidArgument,
    InvalidRelease,
    InvalidSeries,
    InvalidStatusLabel,
    LabelNotMapped,
    RequestIdConflict,
    SeriesExhausted,
    clip,
)
from ..keys import KeySource, check_key_id, fingerprint
from ..series import CardSeries, positive_count, whole_number
from .batch import GroupCommit, Outcome
from .database import DuplicateRequest
from .ledger import LEDGER_COLUMNS, Ledger, entry_of_row
from .ops import Body, Grouped, Op, Transaction, operation
from .records import (
    DEFAULT_LABEL,
    LedgerEntry,
    SeriesRef,
    check_actor,
    check_label,
    check_request_id,
    now,
)

log = logging.getLogger("cardseq.store")

#: ledger rows per insert statement (8 values a row: within every backend's limits)
RECORD_ROWS = 500


@dataclasses.dataclass(frozen=True, slots=True)
class Request:
    """A reservation waiting for its batch, its arguments checked."""

    series_id: int
    definition: CardSeries
    count: int
    label: str
    request_id: str | None
    actor: str  # who asked: recorded in its ledger row, whoever else shares the batch
    made_up: bool = False  # the request id was made here: no earlier reservation has it


#: how the request ids cardseq makes for calls that gave none begin
MADE_UP_PREFIX = "cardseq-"


def _unknown(error: CommitUnknown, request_id: str | None) -> CommitUnknown:
    """``error`` told to the request of ``request_id``."""
    return CommitUnknown(
        f"{error.message}: reservation {request_id!r} may or may not be in the ledger;"
        " retry with request_id=" + repr(request_id) + ", which returns its block if the"
        " commit happened and reserves it once if it did not",
        field="request_id",
        value=request_id,
    )


class Reservations(Ledger):
    """Reserving blocks (alone or in batches) and releasing unused parts of them."""

    def __init__(self, keys: KeySource = None) -> None:
        super().__init__(keys)
        self._label_status: dict[str, str] = {}
        self._batches: GroupCommit[Request, Block] = GroupCommit(
            lambda requests: self._drive(self._reserve_batch(requests))
        )

    @abc.abstractmethod
    def _take(self, series_id: int, count: int) -> Body[int | None]:
        """Advance an enabled series that has ``count`` indexes left by that many;
        return the first, or None when it cannot (disabled, exhausted). Runs in the
        caller's transaction."""

    @operation
    def _rotate_pin_key(self, series: SeriesRef, pin_key_id: str) -> Op[int]:
        """Move a series with PINs to the PIN key ``pin_key_id`` for the cards reserved
        from now on; return the first index under it. The cards before keep their PINs
        (their key stays needed). The key must be in the key sources, and be neither the
        number key nor the series' current PIN key (3000)."""
        info = yield from self._series(series)
        definition = info.series
        key_id = check_key_id(pin_key_id, InvalidSeries)
        if not definition.pin_length:
            raise InvalidSeries.bad(
                "pin_key_id", key_id, f"is for series with PINs, not {definition.code!r}"
            )
        key = self._source_key(definition.code, key_id, None, "pin_key_id")
        self._not_the_number_key(definition, key_id, key)
        body = self._rotate_body(info.id, key_id, fingerprint(key))
        return (yield Transaction(body, write=True))  # type: ignore[no-any-return]

    def _rotate_body(self, series_id: int, key_id: str, key_fingerprint: str) -> Body[int]:
        yield from self._lock_series(series_id)  # no reservation in between
        row = yield self._fetch_one(
            "SELECT next_index FROM cardseq_series WHERE id = ?", (series_id,)
        )
        start = int(row[0])
        keys = yield from self._pin_key_rows(series_id)
        if keys[-1][2] == key_fingerprint:
            raise InvalidSeries.bad("pin_key_id", key_id, "is the series' PIN key already")
        # no card since the last move: the key of that move is replaced
        yield self._do(
            "DELETE FROM cardseq_pin_keys WHERE series_id = ? AND from_index = ?",
            (series_id, self._to_db(start)),
        )
        yield self._do(
            "INSERT INTO cardseq_pin_keys (series_id, from_index, key_id, key_fingerprint,"
            " created_at) VALUES (?, ?, ?, ?, ?)",
            (series_id, self._to_db(start), key_id, key_fingerprint, now()),
        )
        return start

    def _grouped(self, request: Any) -> Block:
        return self._batches.submit(request)

    @operation
    def _reserve(
        self,
        series: SeriesRef,
        count: Any,
        status_label: str = DEFAULT_LABEL,
        *,
        request_id: str | None = None,
        actor: str | None = None,
    ) -> Op[Block]:
        """Reserve the next ``count`` indexes of a series and return them as a Block.

        Committed before it returns, with a ledger row that names ``actor`` (default:
        this process's user and host). Not enough left: 702, and nothing is reserved.
        The same ``request_id`` again returns the same block; with other parameters it
        is an error (701).
        """
        count = positive_count(count)
        label = check_label(status_label)
        request_id = check_request_id(request_id)
        who = check_actor(actor)
        series_id = yield from self._series_id(series)
        definition = yield from self._series_definition(series)  # a given definition must match
        # A call without a request id gets one, so that a commit whose outcome is
        # unknown (CommitUnknown) can always be retried.
        made_up = request_id is None
        rid = f"{MADE_UP_PREFIX}{uuid.uuid4()}" if request_id is None else request_id
        request = Request(series_id, definition, count, label, rid, who, made_up)
        return (yield Grouped(request))  # type: ignore[no-any-return]

    def _reserve_batch(self, requests: Sequence[Request]) -> Op[list[Outcome[Block]]]:
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
                return (yield from self._commit_batch(requests))
            except DuplicateRequest:
                pass
        return (yield from self._commit_batch(requests))

    def _commit_batch(self, requests: Sequence[Request]) -> Op[list[Outcome[Block]]]:
        try:
            outcomes, taken = yield Transaction(self._batch_body(requests), write=True)
        except CommitUnknown as unknown:  # each request is told its own id
            return [Outcome(error=_unknown(unknown, r.request_id)) for r in requests]
        for request, start, ledger_id in taken:  # committed: now they may be told
            _log_reservation(request, start, ledger_id)
        return [outcomes[i] for i in range(len(requests))]

    def _batch_body(
        self, requests: Sequence[Request]
    ) -> Body[tuple[dict[int, Outcome[Block]], list[tuple[Request, int, int]]]]:
        outcomes: dict[int, Outcome[Block]] = {}
        taken: list[tuple[Request, int, int]] = []  # new reservations: to be logged
        waiting = list(enumerate(requests))
        while waiting:
            rounds, waiting = _one_per_request_id(waiting)
            advancing: dict[int, list[tuple[int, Request]]] = {}
            for i, request in rounds:
                try:
                    replayed = yield from self._replayed(request)
                except CardSeqError as error:
                    outcomes[i] = Outcome(error=error)
                    continue
                if replayed is not None:
                    outcomes[i] = Outcome(replayed)
                else:
                    advancing.setdefault(request.series_id, []).append((i, request))
            for series_id in sorted(advancing):  # see _reserve_batch: no deadlock
                group = advancing[series_id]
                starts = yield from self._advance_all(series_id, [r for _, r in group])
                for (i, request), took in zip(group, starts, strict=True):
                    if took is None:
                        outcomes[i] = Outcome(error=(yield from self._refusal(request)))
                    else:
                        start, ledger_id = took
                        outcomes[i] = Outcome(Block(request.definition, start, request.count))
                        taken.append((request, start, ledger_id))
        return outcomes, taken

    def _replayed(self, request: Request) -> Body[Block | None]:
        """The block that ``request``'s id already has, if any, less what was released
        of it since (``_held``: the caller holds only the rest); before that, whether
        it may reserve (its label)."""
        yield from self._check_generation_label(request.label)
        if request.request_id is None or request.made_up:
            return None
        prior = yield from self._prior(request.request_id)
        if prior is None:
            return None
        _check_replay(prior, request)
        held = yield from self._held(prior)
        return Block(request.definition, held.start, len(held))

    def _advance(self, series_id: int, request: Request) -> Body[tuple[int, int] | None]:
        """``_take`` the indexes of one reservation and write its ledger row: the start
        and the row's id, or None when the series cannot (disabled, exhausted)."""
        start = yield from self._take(series_id, request.count)
        if start is None:
            return None
        (ledger_id,) = yield from self._record([(series_id, start, request)])
        return start, ledger_id

    def _advance_all(
        self, series_id: int, requests: list[Request]
    ) -> Body[list[tuple[int, int] | None]]:
        """Advance a series for its requests of a batch, in their order: in one step
        when they all fit, else one by one (each fits or not on its own)."""
        if len(requests) > 1:
            together = yield from self._advance_together(series_id, requests)
            if together is not None:
                return together  # type: ignore[return-value]
        advanced: list[tuple[int, int] | None] = []
        for r in requests:
            advanced.append((yield from self._advance(series_id, r)))
        return advanced

    def _advance_together(
        self, series_id: int, requests: list[Request]
    ) -> Body[list[tuple[int, int]] | None]:
        """Advance a series once for all of ``requests`` and write their ledger rows:
        (start, row id) of each, or None when they do not all fit."""
        counts = [r.count for r in requests]
        start = yield from self._take(series_id, sum(counts))
        if start is None:
            return None
        firsts = list(itertools.accumulate(counts[:-1], initial=start))
        ids = yield from self._record(
            [(series_id, first, r) for first, r in zip(firsts, requests, strict=True)]
        )
        return list(zip(firsts, ids, strict=True))

    def _record(self, rows: list[tuple[int, int, Request]]) -> Body[list[int]]:
        """Ledger rows of reservations: (series id, start, request); their ids, in the
        same order. A statement per ``RECORD_ROWS`` rows (rows are matched back by
        series and start, which no two rows of a batch share)."""
        at = now()
        ids: dict[tuple[int, int], int] = {}
        for first in range(0, len(rows), RECORD_ROWS):
            chunk = rows[first : first + RECORD_ROWS]
            values = ", ".join(["(?, ?, ?, ?, 'reserved', ?, ?, ?)"] * len(chunk))
            args = [
                value
                for series_id, start, r in chunk
                for value in (
                    series_id,
                    self._to_db(start),
                    self._to_db(r.count),
                    r.label,
                    r.request_id,
                    at,
                    r.actor,
                )
            ]
            found = yield self._fetch_all(
                "INSERT INTO cardseq_ledger (series_id, start, count, status_label, kind,"
                f" request_id, created_at, actor) VALUES {values}"
                " RETURNING series_id, start, id",
                tuple(args),
            )
            ids.update(((int(sid), int(start)), int(row_id)) for sid, start, row_id in found)
        return [ids[(series_id, start)] for series_id, start, *_ in rows]

    def _check_generation_label(self, label: str) -> Body[None]:
        """Generated cards take their status from their block's label: NOT_ISSUED."""
        status = self._label_status.get(label)
        if status is None:
            row = yield self._fetch_one(
                "SELECT status FROM cardseq_labels WHERE name = ?", (label,)
            )
            if row is None:
                raise InvalidStatusLabel.bad("statusLabel", label, "is not a known status label")
            status = self._label_status[label] = row[0]  # a label keeps its status
        if status != DEFAULT_LABEL:
            raise LabelNotMapped.bad(
                "statusLabel", label, f"is mapped to {status}, not to NOT_ISSUED"
            )

    def _prior(self, request_id: str) -> Body[LedgerEntry | None]:
        row = yield self._fetch_one(f"{LEDGER_COLUMNS} WHERE request_id = ?", (request_id,))
        return entry_of_row(row) if row else None

    def _refusal(self, request: Request) -> Body[CardSeqError]:
        """Why ``_take`` could not reserve for ``request``."""
        series_id, definition = request.series_id, request.definition
        row = yield self._fetch_one(
            "SELECT enabled, next_index FROM cardseq_series WHERE id = ?", (series_id,)
        )
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

    @operation
    def _release(
        self,
        series: SeriesRef,
        start: int,
        count: int,
        status_label: str = DEFAULT_LABEL,
        *,
        actor: str | None = None,
    ) -> Op[None]:
        """Release indexes that were reserved but will never be handed out, with a
        ledger row that names ``actor`` (default: this process's user and host).

        Only an unused part of one reserved block can be released: a range outside the
        ledger's blocks, across two of them, or overlapping an earlier release is error
        705 (``InvalidRelease``), so that no handed-out number ever reads as unused.
        """
        series_id = yield from self._series_id(series)
        first = whole_number(start)
        if first is None or first < 0:
            raise InvalidArgument.bad("start", start, "must be a non-negative integer")
        stop = first + positive_count(count)
        label = check_label(status_label)
        who = check_actor(actor)
        body = self._release_body(series_id, first, stop, label, who)
        why = yield Transaction(body, write=True)
        if why is not None:
            code = (yield from self._series(series_id)).series.code
            raise InvalidRelease(
                f"indexes {first}..{stop - 1} of series {code!r} {why}: only an unused part"
                " of one reserved block can be released",
                field="start",
                value=first,
            )

    def _release_body(
        self, series_id: int, first: int, stop: int, label: str, actor: str
    ) -> Body[str | None]:
        """Record the release; or, writing nothing, why it is refused."""
        yield from self._lock_series(series_id)
        block = yield from self._last_starting_by(series_id, "reserved", first)
        if block is None or stop > block.stop:
            return "are not inside one reserved block"
        prior = yield from self._last_starting_by(series_id, "unused", stop - 1)
        if prior is not None and prior.stop > first:
            return f"overlap {prior.start}..{prior.stop - 1}, released already"
        yield self._do(
            "INSERT INTO cardseq_ledger (series_id, start, count, status_label,"
            " kind, request_id, created_at, actor) VALUES (?, ?, ?, ?, 'unused', NULL, ?, ?)",
            (series_id, self._to_db(first), self._to_db(stop - first), label, now(), actor),
        )
        return None

    def _lock_series(self, series_id: int) -> Body[None]:  # a hook
        """Serialise changes of one series' ledger (SQLite's write lock already does)."""
        yield from ()

    # ---- public methods, generated from the operations by tools/facades.py ----
    def rotate_pin_key(self, series: SeriesRef, pin_key_id: str) -> int:
        """Move a series with PINs to the PIN key ``pin_key_id`` for the cards reserved
        from now on; return the first index under it. The cards before keep their PINs
        (their key stays needed). The key must be in the key sources, and be neither the
        number key nor the series' current PIN key (3000)."""
        return self._drive(self._rotate_pin_key(series, pin_key_id))

    def reserve(
        self,
        series: SeriesRef,
        count: Any,
        status_label: str = DEFAULT_LABEL,
        *,
        request_id: str | None = None,
        actor: str | None = None,
    ) -> Block:
        """Reserve the next ``count`` indexes of a series and return them as a Block.

        Committed before it returns, with a ledger row that names ``actor`` (default:
        this process's user and host). Not enough left: 702, and nothing is reserved.
        The same ``request_id`` again returns the same block; with other parameters it
        is an error (701)."""
        return self._drive(
            self._reserve(series, count, status_label, request_id=request_id, actor=actor)
        )

    def release(
        self,
        series: SeriesRef,
        start: int,
        count: int,
        status_label: str = DEFAULT_LABEL,
        *,
        actor: str | None = None,
    ) -> None:
        """Release indexes that were reserved but will never be handed out, with a
        ledger row that names ``actor`` (default: this process's user and host).

        Only an unused part of one reserved block can be released: a range outside the
        ledger's blocks, across two of them, or overlapping an earlier release is error
        705 (``InvalidRelease``), so that no handed-out number ever reads as unused."""
        return self._drive(self._release(series, start, count, status_label, actor=actor))

    # ---- end of generated methods ----


def _check_replay(prior: LedgerEntry, request: Request) -> None:
    """712 when ``request`` reuses the request id of another request ``prior``."""
    asked = (request.series_id, request.count, request.label)
    if (prior.series_id, prior.count, prior.status_label) != asked:
        raise RequestIdConflict(
            f"request_id {clip(prior.request_id)} was used for another request (series"
            f" {prior.series_id}, count {prior.count}, label {prior.status_label})",
            field="request_id",
            value=prior.request_id,
        )


def _log_reservation(request: Request, start: int, ledger_id: int) -> None:
    """One record per committed reservation, its fields also in ``extra`` for
    structured handlers: the range as indexes, never the numbers (they may be
    secrets until issued)."""
    if not log.isEnabledFor(logging.INFO):
        return
    code = request.definition.code
    log.info(
        "reserved %d of series %s (id %d) from index %d, label %s, request id %s, ledger %d, by %s",
        request.count,
        code,
        request.series_id,
        start,
        request.label,
        request.request_id or "-",
        ledger_id,
        request.actor,
        extra={
            "series_id": request.series_id,
            "series_code": code,
            "start": start,
            "count": request.count,
            "status_label": request.label,
            "request_id": request.request_id,
            "ledger_id": ledger_id,
            "actor": request.actor,
        },
    )


def _one_per_request_id(
    requests: list[tuple[int, Request]],
) -> tuple[list[tuple[int, Request]], list[tuple[int, Request]]]:
    """Split off the requests whose id an earlier one of them has: they wait for the
    next round of the batch, where they find the earlier one's ledger row."""
    ids: set[str] = set()
    now: list[tuple[int, Request]] = []
    later: list[tuple[int, Request]] = []
    for item in requests:
        request_id = item[1].request_id
        (later if request_id in ids else now).append(item)
        if request_id is not None:
            ids.add(request_id)
    return now, later
