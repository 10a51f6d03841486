"""Helpers shared by the store tests."""

from __future__ import annotations

import asyncio
import itertools
import threading
from typing import Any

from cardseq.aio import AsyncStore
from cardseq.store import Store, open_store

#: every backend; the shared ones are those other processes can open too
BACKENDS = ["memory", "sqlite", "postgres"]
SHARED_BACKENDS = ["sqlite", "postgres"]


def store_url(kind: str, tmp_path, request) -> str:
    """The URL of a new, empty store of backend ``kind`` for this test."""
    if kind == "memory":
        return "memory://"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/cards.db"
    return request.getfixturevalue("postgres_url")


def _connect(url: str) -> Any:
    """A plain connection to the store at ``url`` (SQLite or PostgreSQL), autocommitting."""
    import sqlite3

    import psycopg

    if url.startswith("sqlite:///"):
        return sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    return psycopg.connect(url, autocommit=True)


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` in the store at ``url``, read behind cardseq's back."""
    conn = _connect(url)
    try:
        return [tuple(row) for row in conn.execute(sql).fetchall()]
    finally:
        conn.close()


def take_back(url: str, version: int, *statements: str) -> None:
    """Make the store at ``url`` (SQLite or PostgreSQL) one of schema ``version``: run
    ``statements`` (the columns that version lacks dropped), then record the version."""
    conn = _connect(url)
    try:
        for statement in statements:
            conn.execute(statement)
        conn.execute(f"UPDATE cardseq_schema SET version = {version}")
    finally:
        conn.close()


def check_ledger(store: Store, series) -> list[tuple[int, int]]:
    """Assert the reservations of ``series`` tile ``[0, next_index)``; return them.

    Reserved rows never overlap, leave no hole, and add up to the series' position:
    no index was handed out twice, and none is unaccounted for. Unused rows (given back
    by an allocator) lie inside reserved ones, without overlapping each other.
    """
    info = store.series(series)
    entries = store.ledger(series)
    reserved = sorted((e.start, e.count) for e in entries if e.kind == "reserved")
    position = 0
    for start, count in reserved:
        assert start == position, f"gap or overlap at {start} (expected {position})"
        position = start + count
    assert position == info.next_index
    unused = sorted((e.start, e.stop) for e in entries if e.kind == "released")
    for (_, stop), (start, _) in itertools.pairwise(unused):
        assert stop <= start, "unused ranges overlap"
    for start, stop in unused:
        assert any(s <= start and stop <= s + c for s, c in reserved), "unused outside a block"
    return reserved


#: the two APIs every contract, concurrency and fault test runs through
APIS = ["sync", "async"]


class AwaitedStore:
    """The async API (``cardseq.aio.AsyncStore``) behind the sync API's face, so that
    one test body runs through both: each call is the async store's coroutine, run on
    an event loop of the adapter's own thread (calls from many threads are many tasks
    on that loop). Private attributes are the sync store's (tests that poke them)."""

    def __init__(self, url: str, **options) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        try:
            self.aio = self._await(AsyncStore.open(url, **options))
        except BaseException:
            self._stop()
            raise

    def _await(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def __getattr__(self, name: str):
        if name.startswith("_"):
            return getattr(self.aio.sync, name)
        value = getattr(self.aio, name)
        if not callable(value):
            return value
        return lambda *args, **kwargs: self._await(value(*args, **kwargs))

    def __setattr__(self, name: str, value) -> None:
        if name in ("aio", "_loop", "_thread"):
            object.__setattr__(self, name, value)
        else:
            setattr(self.aio, name, value)

    def close(self) -> None:
        if self._loop.is_running():
            try:
                self._await(self.aio.aclose())
            finally:
                self._stop()

    def _stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_api(api: str, url: str, **options):
    """A store at ``url`` through the sync API (``Store``) or the async one (awaited
    through ``AwaitedStore``)."""
    return open_store(url, **options) if api == "sync" else AwaitedStore(url, **options)
