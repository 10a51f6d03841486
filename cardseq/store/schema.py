"""The tables of a store, in either SQL backend's types, and their version."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import StoreError
from .records import STATUSES

if TYPE_CHECKING:
    from .database import Database

SCHEMA_VERSION = 2  # 2: labels, card statuses, status log, series details

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


def check_schema(store: Database, cur: Any) -> None:
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
