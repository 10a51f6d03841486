"""Stores: where series are registered and blocks reserved, durably.

``open_store(url)`` picks one by URL: ``sqlite:///path`` (the default, a file),
``memory://`` (SQLite in memory, for tests and one-off scripts) or
``postgresql://...`` (many hosts). Query options of the URL tune the store:
``?busy_timeout=MS`` (SQLite); ``?connect_timeout=S``, ``?max_connections=N``,
``?statement_timeout=MS`` (PostgreSQL); see docs/store.md.
"""

from __future__ import annotations

import os

from ..errors import InvalidArgument
from ..keys import KeySource, keyring
from .base import LedgerEntry, Page, SeriesInfo, Store
from .ops import check_storable
from .sqlite import SQLiteStore, sqlite_store

DEFAULT_URL = "sqlite:///cardseq.db"


def default_url() -> str:
    """``$CARDSEQ_DB``, or ``cardseq.db`` in the working directory."""
    return os.environ.get("CARDSEQ_DB") or DEFAULT_URL


def open_store(
    url: str | None = None, *, migrate: bool = True, keys: KeySource = None, **options: object
) -> Store:
    """Open the store at ``url``; see the module docstring.

    ``migrate`` (the default) creates the tables on first use and migrates them to this
    cardseq's schema version. ``migrate=False`` runs no DDL, so a database role that
    may only read and write rows can open the store; it refuses a database that is not
    at this cardseq's version (``SchemaMismatch``: run ``cardseq db migrate``).

    ``keys``: where keyed series' keys come from, besides the environment (a mapping of
    key id to key, a keys file's path, a callable, a ``KeyRing``; see ``cardseq.keys``).
    """
    url = url or default_url()
    _check_url(url)
    keys = keyring(keys)
    if url == "memory://":
        return SQLiteStore(":memory:", migrate=migrate, keys=keys)
    if url.startswith("sqlite:///"):
        return sqlite_store(url, migrate=migrate, keys=keys)
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStore

        return PostgresStore(url, migrate=migrate, keys=keys, **options)  # type: ignore[arg-type]
    raise InvalidArgument.bad(
        "db", url, "is not a store URL (sqlite:///PATH, memory:// or postgresql://...)"
    )


def _check_url(url: str) -> None:
    """A URL is text a database can be named by: nothing UTF-8 cannot carry, no NUL (C
    strings end there)."""
    check_storable(url, "db")
    if "\0" in url:
        raise InvalidArgument.bad("db", url, "holds a NUL character")


def check_shared(store: Store, processes: int, *, field: str) -> None:
    """Refuse (701) ``processes`` above 1 over a ``store`` private to the process that
    opened it (``Store.private``): each process would get a database of its own, and
    hand out the numbers the others hand out."""
    if processes > 1 and store.private:
        raise InvalidArgument.bad(
            field,
            processes,
            f"needs a store the processes share: {store.url} is a database in memory,"
            " private to each process",
        )


__all__ = [
    "DEFAULT_URL",
    "LedgerEntry",
    "Page",
    "SQLiteStore",
    "SeriesInfo",
    "Store",
    "check_shared",
    "default_url",
    "open_store",
]
