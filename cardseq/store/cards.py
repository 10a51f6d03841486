"""Status labels, and the state of cards whose status changed.

A generated card has no row of its own: its status is its block's label's until it
changes, and from then on a row here holds it, with a log of every change.
"""

from __future__ import annotations

from typing import overload

from ..deprecation import deprecated, formerly, renamed
from ..errors import InvalidStatusLabel, LabelExists
from ..records import Label
from .database import Database
from .ops import Body, Op, Statement, Transaction, operation
from .records import (
    DEFAULT_LIMIT,
    STATUSES,
    CardState,
    LoggedChange,
    Page,
    check_actor,
    check_label,
    now,
    page_bounds,
    page_of,
    to_time,
)


class Cards(Database):
    """Labels mapped to statuses, and cards' statuses with their log."""

    @operation
    def _labels(self) -> Op[list[Label]]:
        """Every label, by status then name."""
        rows = yield self._read_all(
            "SELECT name, status, is_default FROM cardseq_labels ORDER BY status, name"
        )
        return [Label(name, status, bool(default)) for name, status, default in rows]

    @operation
    @formerly(name="label")
    def _add_label(
        self, label: str, status: str, *, default: bool = False, exists_ok: bool = False
    ) -> Op[None]:
        """Map a new label to a status (labels keep their status once created).

        A label that exists is 3019 (``LabelExists``), unless ``exists_ok`` and it is
        mapped to the same status.
        """
        label = check_label(label)
        if status not in STATUSES:
            raise InvalidStatusLabel.bad("status", status, f"is not one of {', '.join(STATUSES)}")
        yield Transaction(self._add_label_body(label, status, default, exists_ok), write=True)

    def _add_label_body(self, name: str, status: str, default: bool, exists_ok: bool) -> Body[None]:
        added = yield self._rowcount(
            "INSERT INTO cardseq_labels (name, status, is_default) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO NOTHING",
            (name, status, False),
        )
        if not added:
            row = yield self._fetch_one("SELECT status FROM cardseq_labels WHERE name = ?", (name,))
            if not exists_ok or row[0] != status:
                raise LabelExists.bad("statusLabel", name, f"exists already, for {row[0]}")
        if default:
            yield self._make_default(status, name)

    @operation
    @formerly(name="label")
    def _set_default_label(self, status: str, label: str) -> Op[None]:
        """Make ``label`` the label a status change to ``status`` records by default."""
        yield Transaction(self._default_body(status, label), write=True)

    def _default_body(self, status: str, name: str) -> Body[None]:
        row = yield self._fetch_one("SELECT status FROM cardseq_labels WHERE name = ?", (name,))
        if row is None or row[0] != status:
            raise InvalidStatusLabel.bad("statusLabel", name, f"is not a label of {status}")
        yield self._make_default(status, name)

    def _make_default(self, status: str, name: str) -> Statement:
        return self._do(
            "UPDATE cardseq_labels SET is_default = (name = ?) WHERE status = ?",
            (name, status),
        )

    def _lock_card(self, series_id: int, index: int) -> Body[None]:  # a hook
        """Serialise changes of one card (SQLite's write lock already does)."""
        yield from ()

    @operation
    def _card_state(self, series_id: int, index: int) -> Op[CardState | None]:
        """(status, label, customer, updated) of a card whose status changed, else None."""
        return (yield Transaction(self._card_row(series_id, index)))  # type: ignore[no-any-return]

    def _card_row(self, series_id: int, index: int) -> Body[CardState | None]:
        row = yield self._fetch_one(
            "SELECT status, label, customer_id, updated_at FROM cardseq_cards"
            " WHERE series_id = ? AND idx = ?",
            (series_id, self._to_db(index)),
        )
        return (row[0], row[1], row[2], to_time(row[3])) if row else None

    @operation
    def _set_card_status(
        self,
        series_id: int,
        index: int,
        expected: str,
        status: str,
        label: str,
        customer_id: str | None,
        *,
        actor: str | None = None,
    ) -> Op[bool]:
        """Move a card from ``expected`` to ``status`` and log it, atomically, as done by
        ``actor`` (default: this process's user and host); False (and nothing written)
        when the card is no longer in ``expected``. A card with no row is in
        ``expected`` by the caller's reading of its ledger block."""
        who = check_actor(actor)
        body = self._status_body(series_id, index, expected, status, label, customer_id, who)
        return (yield Transaction(body, write=True))  # type: ignore[no-any-return]

    def _status_body(
        self,
        series_id: int,
        index: int,
        expected: str,
        status: str,
        label: str,
        customer_id: str | None,
        actor: str,
    ) -> Body[bool]:
        yield from self._lock_card(series_id, index)
        row = yield from self._card_row(series_id, index)
        if row is not None and row[0] != expected:
            return False
        customer = customer_id if customer_id is not None else (row[2] if row else None)
        at = now()
        yield self._do(
            "INSERT INTO cardseq_cards (series_id, idx, status, label,"
            " customer_id, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (series_id, idx) DO UPDATE SET status = excluded.status,"
            " label = excluded.label, customer_id = excluded.customer_id,"
            " updated_at = excluded.updated_at",
            (series_id, self._to_db(index), status, label, customer, at),
        )
        yield self._do(
            "INSERT INTO cardseq_status_log (series_id, idx, from_status,"
            " to_status, label, customer_id, changed_at, actor)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (series_id, self._to_db(index), expected, status, label, customer, at, actor),
        )
        return True

    @operation
    def _count_cards(self, series_id: int, status: str) -> Op[int]:
        """How many cards of a series have ``status`` now (of those whose status changed:
        a card still NOT_ISSUED has no row)."""
        row = yield self._read_one(
            "SELECT COUNT(*) FROM cardseq_cards WHERE series_id = ? AND status = ?",
            (series_id, status),
        )
        return int(row[0])

    @operation
    def _pin_check(self, series_id: int, index: int, right: bool, attempts: int) -> Op[str]:
        """Count one PIN check of a card, atomically: ``locked`` (nothing written) when
        it already failed ``attempts`` times in a row; else ``right`` (its failures
        forgotten) or ``wrong`` (one more failure kept). Only cards that failed a check
        have a row."""
        body = self._pin_body(series_id, index, right, attempts)
        return (yield Transaction(body, write=True))  # type: ignore[no-any-return]

    def _pin_body(self, series_id: int, index: int, right: bool, attempts: int) -> Body[str]:
        yield from self._lock_card(series_id, index)
        key = (series_id, self._to_db(index))
        failures = yield from self._pin_failures_row(series_id, index)
        if failures >= attempts:
            return "locked"
        if right:
            if failures:
                yield self._do(
                    "DELETE FROM cardseq_pin_failures WHERE series_id = ? AND idx = ?", key
                )
            return "right"
        yield self._do(
            "INSERT INTO cardseq_pin_failures (series_id, idx, failures, updated_at)"
            " VALUES (?, ?, 1, ?) ON CONFLICT (series_id, idx) DO UPDATE"
            " SET failures = cardseq_pin_failures.failures + 1, updated_at = excluded.updated_at",
            (*key, now()),
        )
        return "wrong"

    def _pin_failures_row(self, series_id: int, index: int) -> Body[int]:
        row = yield self._fetch_one(
            "SELECT failures FROM cardseq_pin_failures WHERE series_id = ? AND idx = ?",
            (series_id, self._to_db(index)),
        )
        return int(row[0]) if row else 0

    @operation
    def _pin_failures(self, series_id: int, index: int) -> Op[int]:
        """A card's failed PIN checks in a row (0: none since its last right one)."""
        return (yield Transaction(self._pin_failures_row(series_id, index)))  # type: ignore[no-any-return]

    @operation
    def _reset_pin_failures(self, series_id: int, index: int) -> Op[int]:
        """Forget a card's failed PIN checks (unlocking it); return how many there were."""
        return (yield Transaction(self._reset_body(series_id, index), write=True))  # type: ignore[no-any-return]

    def _reset_body(self, series_id: int, index: int) -> Body[int]:
        yield from self._lock_card(series_id, index)
        failures = yield from self._pin_failures_row(series_id, index)
        if failures:
            yield self._do(
                "DELETE FROM cardseq_pin_failures WHERE series_id = ? AND idx = ?",
                (series_id, self._to_db(index)),
            )
        return failures

    @operation
    @formerly("status_log")
    def _logged_changes(
        self, series_id: int, index: int, *, limit: int = DEFAULT_LIMIT, after: int = 0
    ) -> Op[Page[LoggedChange]]:
        """(from, to, label, customer, when, actor) of a card's changes, oldest first:
        up to ``limit`` (1..1000) of those with log ids above ``after``. The actor is
        None on changes made before cardseq recorded it."""
        limit, after = page_bounds(limit, after)
        rows = yield self._read_all(
            "SELECT id, from_status, to_status, label, customer_id, changed_at, actor"
            " FROM cardseq_status_log WHERE series_id = ? AND idx = ? AND id > ?"
            " ORDER BY id LIMIT ?",
            (series_id, self._to_db(index), after, limit + 1),
        )
        return page_of(
            [
                (int(i), (a, b, label, customer, to_time(at), actor))
                for i, a, b, label, customer, at, actor in rows
            ],
            limit,
        )

    # ---- public methods, generated from the operations by tools/facades.py ----
    def labels(self) -> list[Label]:
        """Every label, by status then name."""
        return self._drive(self._labels())

    @overload
    def add_label(
        self, label: str, status: str, *, default: bool = False, exists_ok: bool = False
    ) -> None: ...
    @overload
    @deprecated("Store.add_label: name= is label= now")
    def add_label(
        self, *, name: str, status: str, default: bool = False, exists_ok: bool = False
    ) -> None: ...
    @renamed("Store.add_label", name="label")
    def add_label(
        self, label: str, status: str, *, default: bool = False, exists_ok: bool = False
    ) -> None:
        """Map a new label to a status (labels keep their status once created).

        A label that exists is 3019 (``LabelExists``), unless ``exists_ok`` and it is
        mapped to the same status."""
        return self._drive(self._add_label(label, status, default=default, exists_ok=exists_ok))

    @overload
    def set_default_label(self, status: str, label: str) -> None: ...
    @overload
    @deprecated("Store.set_default_label: name= is label= now")
    def set_default_label(self, status: str, *, name: str) -> None: ...
    @renamed("Store.set_default_label", name="label")
    def set_default_label(self, status: str, label: str) -> None:
        """Make ``label`` the label a status change to ``status`` records by default."""
        return self._drive(self._set_default_label(status, label))

    def card_state(self, series_id: int, index: int) -> CardState | None:
        """(status, label, customer, updated) of a card whose status changed, else None."""
        return self._drive(self._card_state(series_id, index))

    def set_card_status(
        self,
        series_id: int,
        index: int,
        expected: str,
        status: str,
        label: str,
        customer_id: str | None,
        *,
        actor: str | None = None,
    ) -> bool:
        """Move a card from ``expected`` to ``status`` and log it, atomically, as done by
        ``actor`` (default: this process's user and host); False (and nothing written)
        when the card is no longer in ``expected``. A card with no row is in
        ``expected`` by the caller's reading of its ledger block."""
        return self._drive(
            self._set_card_status(
                series_id, index, expected, status, label, customer_id, actor=actor
            )
        )

    def count_cards(self, series_id: int, status: str) -> int:
        """How many cards of a series have ``status`` now (of those whose status changed:
        a card still NOT_ISSUED has no row)."""
        return self._drive(self._count_cards(series_id, status))

    def pin_check(self, series_id: int, index: int, right: bool, attempts: int) -> str:
        """Count one PIN check of a card, atomically: ``locked`` (nothing written) when
        it already failed ``attempts`` times in a row; else ``right`` (its failures
        forgotten) or ``wrong`` (one more failure kept). Only cards that failed a check
        have a row."""
        return self._drive(self._pin_check(series_id, index, right, attempts))

    def pin_failures(self, series_id: int, index: int) -> int:
        """A card's failed PIN checks in a row (0: none since its last right one)."""
        return self._drive(self._pin_failures(series_id, index))

    def reset_pin_failures(self, series_id: int, index: int) -> int:
        """Forget a card's failed PIN checks (unlocking it); return how many there were."""
        return self._drive(self._reset_pin_failures(series_id, index))

    def logged_changes(
        self, series_id: int, index: int, *, limit: int = DEFAULT_LIMIT, after: int = 0
    ) -> Page[LoggedChange]:
        """(from, to, label, customer, when, actor) of a card's changes, oldest first:
        up to ``limit`` (1..1000) of those with log ids above ``after``. The actor is
        None on changes made before cardseq recorded it."""
        return self._drive(self._logged_changes(series_id, index, limit=limit, after=after))

    @deprecated("Store.status_log is now Store.logged_changes")
    def status_log(
        self, series_id: int, index: int, *, limit: int = DEFAULT_LIMIT, after: int = 0
    ) -> Page[LoggedChange]:
        """Deprecated: ``logged_changes`` under its old name (it warns)."""
        return self._drive(self._logged_changes(series_id, index, limit=limit, after=after))

    # ---- end of generated methods ----
