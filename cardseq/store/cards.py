"""Status labels, and the state of cards whose status changed.

A generated card has no row of its own: its status is its block's label's until it
changes, and from then on a row here holds it, with a log of every change.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..errors import InvalidStatusLabel, LabelExists
from .database import Database
from .records import (
    DEFAULT_LIMIT,
    STATUSES,
    CardState,
    Page,
    check_label,
    now,
    page_bounds,
    page_of,
    to_time,
)


class Cards(Database):
    """Labels mapped to statuses, and cards' statuses with their log."""

    def labels(self) -> list[tuple[str, str, bool]]:
        """(label, status, is the status' default), by status then label."""
        with self._reading() as cur:
            rows = self._run(
                cur, "SELECT name, status, is_default FROM cardseq_labels ORDER BY status, name"
            ).fetchall()
        return [(name, status, bool(default)) for name, status, default in rows]

    def add_label(
        self, name: str, status: str, *, default: bool = False, exists_ok: bool = False
    ) -> None:
        """Map a new label to a status (labels keep their status once created).

        A label that exists is 3019 (``LabelExists``), unless ``exists_ok`` and it is
        mapped to the same status.
        """
        name = check_label(name)
        if status not in STATUSES:
            raise InvalidStatusLabel.bad("status", status, f"is not one of {', '.join(STATUSES)}")
        with self._transaction() as cur:
            added = self._run(
                cur,
                "INSERT INTO cardseq_labels (name, status, is_default) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO NOTHING",
                (name, status, False),
            ).rowcount
            if not added:
                row = self._run(
                    cur, "SELECT status FROM cardseq_labels WHERE name = ?", (name,)
                ).fetchone()
                if not exists_ok or row[0] != status:
                    raise LabelExists.bad("statusLabel", name, f"exists already, for {row[0]}")
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

    def _lock_card(self, cur: Any, series_id: int, index: int) -> None:  # a hook
        """Serialise changes of one card (SQLite's write lock already does)."""

    def card_state(self, series_id: int, index: int) -> CardState | None:
        """(status, label, customer, updated) of a card whose status changed, else None."""
        with self._reading() as cur:
            return self._card_row(cur, series_id, index)

    def _card_row(self, cur: Any, series_id: int, index: int) -> CardState | None:
        row = self._run(
            cur,
            "SELECT status, label, customer_id, updated_at FROM cardseq_cards"
            " WHERE series_id = ? AND idx = ?",
            (series_id, self._to_db(index)),
        ).fetchone()
        return (row[0], row[1], row[2], to_time(row[3])) if row else None

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
        with self._reading() as cur:
            rows = self._run(
                cur,
                "SELECT id, from_status, to_status, label, customer_id, changed_at"
                " FROM cardseq_status_log WHERE series_id = ? AND idx = ? AND id > ?"
                " ORDER BY id LIMIT ?",
                (series_id, self._to_db(index), after, limit + 1),
            ).fetchall()
        return page_of(
            [
                (int(i), (a, b, label, customer, to_time(at)))
                for i, a, b, label, customer, at in rows
            ],
            limit,
        )
