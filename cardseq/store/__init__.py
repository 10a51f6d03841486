"""Stores: where series are registered and blocks reserved, durably.

``open_store(url)`` picks one by URL: ``sqlite:///path`` (the default, a file),
``memory://`` (SQLite in memory, for tests and one-off scripts) or
``postgresql://...`` (many hosts).
"""

from __future__ import annotations

import os

from ..errors import InvalidArgument
from ..keys import KeySource, keyring
from .base import LedgerEntry, SeriesInfo, Store
from .sqlite import SQLiteStore

DEFAULT_URL = "sqlite:///cardseq.db"


def default_url() -> str:
    """``$CARDSEQ_DB``, or ``cardseq.db`` in the working directory."""
    return os.environ.get("CARDSEQ_DB") or DEFAULT_URL


def open_store(url: str | None = None, *, keys: KeySource = None, **options: object) -> Store:
    """Open (and on first use create) the store at ``url``; see the module docstring.

    ``keys``: where keyed series' keys come from, besides the environment (a mapping of
    key id to key, a keys file's path, a callable, a ``KeyRing``; see ``cardseq.keys``).
    """
    url = url or default_url()
    keys = keyring(keys)
    if url == "memory://":
        return SQLiteStore(":memory:", keys=keys)
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        if not path:
            raise InvalidArgument.bad("db", url, "names no file (sqlite:///PATH)")
        if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise InvalidArgument.bad("db", url, "is in a directory that does not exist")
        return SQLiteStore(path, keys=keys)
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStore

        return PostgresStore(url, keys=keys, **options)  # type: ignore[arg-type]
    raise InvalidArgument.bad(
        "db", url, "is not a store URL (sqlite:///PATH, memory:// or postgresql://...)"
    )


__all__ = [
    "DEFAULT_URL",
    "LedgerEntry",
    "SQLiteStore",
    "SeriesInfo",
    "Store",
    "default_url",
    "open_store",
]
