"""The embedded default: a SQLite file (or an in-memory database for ``memory://``).

Writers serialise on ``BEGIN IMMEDIATE`` (one writer at a time, across threads and
processes); readers take no lock and never wait for them. The journal is WAL with full
sync, so a reservation is on disk when it returns. Indexes can exceed 64 bits, so they
are kept as decimal text and advanced in Python inside the write lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

from .base import Store, migrate, schema, translate

BUSY_TIMEOUT_MS = 60_000

_SCHEMA = schema(
    id_column="INTEGER PRIMARY KEY AUTOINCREMENT",
    ref="INTEGER",
    big="TEXT",
    blob="BLOB",
    flag="INTEGER",
    time="TEXT",
    start_key="CAST(start AS INTEGER)",
)

sqlite3.register_adapter(bool, int)
sqlite3.register_adapter(dt.datetime, dt.datetime.isoformat)


class SQLiteStore(Store):
    """A store in the SQLite file ``path`` (``":memory:"``: private to this object)."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.url = "memory://" if path == ":memory:" else f"sqlite:///{path}"
        self._local = threading.local()
        self._shared: sqlite3.Connection | None = None
        self._lock = threading.RLock()  # one transaction at a time in this process
        self._all: list[sqlite3.Connection] = []
        try:
            self._migrate()
        except BaseException:
            self.close()  # a store that fails to open leaves no connection behind
            raise

    def _connect(self) -> sqlite3.Connection:
        with translate(sqlite3.Error):
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=BUSY_TIMEOUT_MS / 1000,
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if self.path != ":memory:":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
        self._all.append(conn)
        return conn

    def _connection(self) -> sqlite3.Connection:
        if self.path == ":memory:":
            if self._shared is None:
                self._shared = self._connect()
            return self._shared
        # One connection per thread, and per process: a forked child opens its own.
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            conn = self._connect()
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        # Threads of one process queue here rather than in SQLite's busy handler, which
        # waits by sleeping: the lock hands over at once. Processes still meet at
        # BEGIN IMMEDIATE.
        with self._lock, self._begin("BEGIN IMMEDIATE") as cur:
            yield cur

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Cursor]:
        # A deferred BEGIN takes no write lock: in WAL mode a reader sees the last
        # commit and never waits for a writer. Only the in-memory database, one
        # connection shared by all threads, has to wait its turn.
        shared = self._lock if self.path == ":memory:" else contextlib.nullcontext()
        with shared, self._begin("BEGIN") as cur:
            yield cur

    @contextlib.contextmanager
    def _begin(self, statement: str) -> Iterator[sqlite3.Cursor]:
        conn = self._connection()
        with translate(sqlite3.Error, duplicate_request=_duplicate_request):
            cur = conn.execute(statement)
            try:
                yield cur
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    def _migrate(self) -> None:
        with self._transaction() as cur:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    cur.execute(statement)
            migrate(self, cur)

    def _to_db(self, value: int) -> str:
        return str(value)

    # Indexes are text here; as SQLite integers they compare exactly below 2**63 (a
    # larger text saturates there, still above any smaller index).
    sql_index_limit = 2**63

    def _number(self, column: str) -> str:
        return f"CAST({column} AS INTEGER)"

    def _take(self, cur: Any, series_id: int, count: int) -> int | None:
        row = cur.execute(
            "SELECT enabled, next_index, capacity FROM cardseq_series WHERE id = ?", (series_id,)
        ).fetchone()
        if row is None or not row[0]:
            return None
        start = int(row[1])
        if start + count > int(row[2]):
            return None
        cur.execute(
            "UPDATE cardseq_series SET next_index = ? WHERE id = ?", (str(start + count), series_id)
        )
        return start

    def close(self) -> None:
        for conn in self._all:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._all.clear()
        self._shared = None
        self._local = threading.local()


def _duplicate_request(error: BaseException) -> bool:
    """A violation of the ledger's unique request ids (SQLite names the column)."""
    return isinstance(error, sqlite3.IntegrityError) and str(error).endswith(
        "cardseq_ledger.request_id"
    )
