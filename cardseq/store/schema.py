"""The tables of a store, in either SQL backend's types, and their version.

``cardseq_series.key`` is only ever NULL since version 3: a keyed series keeps its key's
id and fingerprint (``cardseq.keys``). A database from before may hold keys there until
they are exported. ``actor`` (who reserved, released or changed a card) is NULL on the
rows written before version 4. ``cipher`` is NULL for cardseq's own permutation (every
keyed series before version 5). ``blocked`` is NULL for a series without blocked words
(every series before version 7), the ``pin_*`` columns for a series without PINs (every
series before version 8).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import SchemaMismatch, StoreNotFound
from ..keys import fingerprint
from .records import STATUSES

if TYPE_CHECKING:
    from .database import Database
    from .ops import Body

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
    key_id TEXT,
    key_fingerprint TEXT,
    enabled {flag} NOT NULL,
    next_index {big} NOT NULL,
    capacity {big} NOT NULL,
    created_at {time} NOT NULL,
    cipher TEXT,
    alphabet TEXT,
    display TEXT,
    blocked TEXT,
    pin_length INTEGER,
    pin_attempts INTEGER,
    pin_key_id TEXT,
    pin_key_fingerprint TEXT
);
CREATE TABLE IF NOT EXISTS cardseq_ledger (
    id {id_column},
    series_id {ref} NOT NULL REFERENCES cardseq_series(id),
    start {big} NOT NULL,
    count {big} NOT NULL,
    status_label TEXT NOT NULL,
    kind TEXT NOT NULL,
    request_id TEXT UNIQUE,
    created_at {time} NOT NULL,
    actor TEXT
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
    changed_at {time} NOT NULL,
    actor TEXT
);
CREATE INDEX IF NOT EXISTS cardseq_status_log_card ON cardseq_status_log (series_id, idx);
CREATE TABLE IF NOT EXISTS cardseq_pin_keys (
    series_id {ref} NOT NULL REFERENCES cardseq_series(id),
    from_index {big} NOT NULL,
    key_id TEXT NOT NULL,
    key_fingerprint TEXT NOT NULL,
    created_at {time} NOT NULL,
    PRIMARY KEY (series_id, from_index)
);
CREATE TABLE IF NOT EXISTS cardseq_pin_failures (
    series_id {ref} NOT NULL REFERENCES cardseq_series(id),
    idx {big} NOT NULL,
    failures INTEGER NOT NULL,
    updated_at {time} NOT NULL,
    PRIMARY KEY (series_id, idx)
);
"""


def schema(**types: str) -> str:
    """The tables, in a backend's column types: ``id_column`` (an auto-numbered key),
    ``ref`` (a reference to one), ``big`` (an integer of any size), ``blob``, ``flag``
    and ``time``; ``start_key`` is how a ledger start sorts numerically."""
    return _SCHEMA.format(**types)


def _v1_to_v2(store: Database, cur: Any) -> None:
    """Version 2 added status labels, card statuses, the status log and series details:
    new tables only, which the schema script has just created. Nothing to convert."""


def _v2_to_v3(store: Database, cur: Any) -> None:
    """Version 3 keeps a keyed series' key id and fingerprint instead of its key. A key
    still in clear gets the series' code as its id; it stays (and keyed generation is
    refused) until ``export_keys`` writes it to a keys file and wipes it."""
    _add_text_columns(store, cur, "cardseq_series", ("key_id", "key_fingerprint"))
    rows = store._run(
        cur, "SELECT id, code, key FROM cardseq_series WHERE key IS NOT NULL"
    ).fetchall()
    for series_id, code, key in rows:
        store._run(
            cur,
            "UPDATE cardseq_series SET key_id = ?, key_fingerprint = ? WHERE id = ?",
            (code, fingerprint(bytes(key)), series_id),
        )


def _v3_to_v4(store: Database, cur: Any) -> None:
    """Version 4 records who wrote each ledger row and status change (``actor``). Rows
    from before keep NULL: nobody knows now who wrote them."""
    for table in ("cardseq_ledger", "cardseq_status_log"):
        _add_text_columns(store, cur, table, ("actor",))


def _v4_to_v5(store: Database, cur: Any) -> None:
    """Version 5 records a keyed series' cipher (``cipher``: ``ff1``); NULL is cardseq's
    own permutation, the only one before, so every existing series keeps its numbers."""
    _add_text_columns(store, cur, "cardseq_series", ("cipher",))


def _v5_to_v6(store: Database, cur: Any) -> None:
    """Version 6 records a code series' alphabet (its symbols; NULL: digits, every
    series before) and display grouping (``display``: the group size then the
    separator, ``4-``; NULL: none)."""
    _add_text_columns(store, cur, "cardseq_series", ("alphabet", "display"))


def _v6_to_v7(store: Database, cur: Any) -> None:
    """Version 7 records a code series' blocked words (``blocked``: the words joined by
    commas; NULL: none, every series before). They decide which counter each index
    names, so a store that forgot them would hand out other codes."""
    _add_text_columns(store, cur, "cardseq_series", ("blocked",))


def _v7_to_v8(store: Database, cur: Any) -> None:
    """Version 8 records a series' PINs: their length and allowed failures, the PIN
    key's id and fingerprint (NULL: no PINs, every series before), the keys it moved to
    and from which index (a new table), and the failed checks of the cards that had one
    (another)."""
    _add_text_columns(store, cur, "cardseq_series", ("pin_key_id", "pin_key_fingerprint"))
    _add_text_columns(store, cur, "cardseq_series", ("pin_length", "pin_attempts"), kind="INTEGER")


def _add_text_columns(
    store: Database, cur: Any, table: str, columns: tuple[str, ...], *, kind: str = "TEXT"
) -> None:
    """Add the nullable ``columns`` (of type ``kind``) that ``table`` lacks (a table the
    schema script has just made, in this opening transaction, has them already)."""
    have = {d[0] for d in store._run(cur, f"SELECT * FROM {table} LIMIT 0").description}
    for column in columns:
        if column not in have:
            store._run(cur, f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


#: The step that takes a database from version ``n`` to ``n + 1`` is ``MIGRATIONS[n - 1]``.
#: A change to the tables adds its step here, and the schema script the new tables.
Migration = Callable[["Database", Any], None]
MIGRATIONS: list[Migration] = [
    _v1_to_v2,
    _v2_to_v3,
    _v3_to_v4,
    _v4_to_v5,
    _v5_to_v6,
    _v6_to_v7,
    _v7_to_v8,
]
SCHEMA_VERSION = len(MIGRATIONS) + 1


def read_version(store: Database) -> Body[int | None]:
    """The database's schema version; None when it has no cardseq tables yet."""
    if not (yield from store._table_exists("cardseq_schema")):
        return None
    row = yield store._fetch_one("SELECT version FROM cardseq_schema")
    return None if row is None else int(row[0])


def schema_version(store: Database, cur: Any) -> int | None:
    """``read_version`` on a cursor in a transaction."""
    return store._play(cur, read_version(store))


def check_schema(store: Database, cur: Any) -> int:
    """The database's schema version, when it is this cardseq's; else ``SchemaMismatch``.
    Runs no DDL: for a store opened with ``migrate=False`` (a role that cannot change
    tables)."""
    found = schema_version(store, cur)
    if found == len(MIGRATIONS) + 1:
        return found
    raise schema_mismatch(store.url, found)


def schema_mismatch(url: str, found: int | None) -> SchemaMismatch:
    """The error for the database at ``url``, at schema version ``found`` (None: no
    cardseq tables), when this cardseq needs another and may not migrate it."""
    latest = len(MIGRATIONS) + 1  # read at call time: tests add steps
    if found is not None and found > latest:
        why = f"has schema version {found}, newer than this cardseq's ({latest}): upgrade cardseq"
    else:
        has = "no cardseq tables" if found is None else f"schema version {found}"
        why = (
            f"has {has}; this cardseq needs version {latest}: run `cardseq db"
            " migrate` (with a role that may create and alter tables), then open it again"
        )
    return SchemaMismatch(f"the database at {url} {why}", found=found, expected=latest, value=url)


def store_not_found(url: str, path: str) -> StoreNotFound:
    """The error for a SQLite file at ``path`` that does not exist, when the store may
    not create it (a mistyped path, or another working directory)."""
    where = os.path.abspath(path)
    return StoreNotFound(
        f"no store at {where}: the file does not exist, and a store opened without"
        " migrating is never created (`cardseq db migrate` or migrate=True makes one)",
        path=where,
        expected=len(MIGRATIONS) + 1,
        value=url,
    )


def migrate(store: Database, cur: Any) -> int | None:
    """Bring the database up to this cardseq's schema version, one step at a time in
    the opening transaction (all or nothing); record it in a new database; refuse one
    from a newer cardseq. Returns the version it found (None: a new database)."""
    latest = len(MIGRATIONS) + 1
    found = schema_version(store, cur)
    if found is None:
        store._run(cur, "INSERT INTO cardseq_schema (version) VALUES (?)", (latest,))
    elif found > latest:
        check_schema(store, cur)
    else:
        for version in range(found, latest):
            MIGRATIONS[version - 1](store, cur)
            store._run(cur, "UPDATE cardseq_schema SET version = ?", (version + 1,))
    for status in STATUSES:  # each status has a label of its own name, its default
        store._run(
            cur,
            "INSERT INTO cardseq_labels (name, status, is_default)"
            " VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
            (status, status, True),
        )
    return found
