"""The async API: the store and the service, awaited from an event loop that never
waits on the database.

``await store.reserve(...)`` runs the very operation ``Store.reserve(...)`` runs (the
rules and the SQL exist once, as generators: ``cardseq.store.ops``), with the same
arguments, result and errors, but each step is awaited:

- PostgreSQL: on psycopg's ``AsyncConnection``\\ s, a pool of them as large as the sync
  store's (``max_connections``, ``timeout``), every write committed synchronously;
  reservations that tasks await together share one transaction, each with its own
  outcome;
- SQLite: writes on one writer thread that commits whatever has queued (reservations
  in one transaction: group commit), reads on ``threads`` reader threads that never
  wait for it.

Opening (which may migrate) and closing run off the loop too. ``AsyncSegmentAllocator``
hands out single numbers, refilling in the background before a segment runs out.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Self

from .service import CardService
from .store import Store, open_store
from .store.async_driver import AsyncDriver
from .store.ops import operation

#: reader threads of a SQLite store (reads that may run at once)
THREADS = 16


def _driver(store: Store, threads: int) -> AsyncDriver:
    from .store.sqlite import SQLiteStore

    if isinstance(store, SQLiteStore):
        from .store.sqlite_writer import SQLiteWriter

        return SQLiteWriter(store, readers=threads)
    from .store.postgres import PostgresStore

    if isinstance(store, PostgresStore):
        from .store.postgres_async import PostgresDriver

        return PostgresDriver(store)
    raise TypeError(f"no async driver for {type(store).__name__}")


class _Awaited:
    """Every operation of ``sync`` as a coroutine function, run by ``driver``; other
    public attributes as they are."""

    def __init__(self, sync: Any, driver: AsyncDriver) -> None:
        self.sync = sync
        self._driver = driver

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("sync", "_driver"):
            object.__setattr__(self, name, value)
        else:  # ``store.keys = ...``: the store's settings are the sync store's
            setattr(self.sync, name, value)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        found = inspect.getattr_static(type(self.sync), name, None)
        if isinstance(found, operation):
            return self._awaited(found)
        value = getattr(self.sync, name)
        if callable(value):  # not a database call: off the loop all the same
            return _on_thread(value)
        return value

    def _awaited(self, found: operation[Any, Any]) -> Callable[..., Awaitable[Any]]:
        op, sync, drive = found.op, self.sync, self._driver.drive

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await drive(op(sync, *args, **kwargs))

        call.__name__, call.__doc__ = found.__name__, found.__doc__
        return call


def _on_thread(method: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def call(*args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(functools.partial(method, *args, **kwargs))

    return call


class AsyncStore(_Awaited):
    """A ``Store`` whose public methods are coroutines; ``sync`` is the store itself
    (for the rare sync call: it shares the database, not the async connections).

    Open it with ``await AsyncStore.open(url)`` and close it with
    ``await store.aclose()`` or ``async with``. ``threads``: SQLite's reader threads.
    """

    sync: Store

    def __init__(self, store: Store, *, threads: int = THREADS) -> None:
        super().__init__(store, _driver(store, threads))

    @classmethod
    async def open(
        cls, url: str | None = None, *, threads: int = THREADS, **options: Any
    ) -> AsyncStore:
        """``open_store(url, **options)``, off the event loop."""
        store = await asyncio.to_thread(functools.partial(open_store, url, **options))
        try:
            return cls(store, threads=threads)
        except BaseException:
            store.close()
            raise

    async def aclose(self) -> None:
        """Finish what is queued, then close the connections and threads."""
        try:
            await self._driver.aclose()
        finally:
            await asyncio.to_thread(self.sync.close)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class AsyncCardService(_Awaited):
    """A ``CardService`` over an ``AsyncStore``, its methods coroutines run by that
    store's driver (the same operations as the sync service's)."""

    sync: CardService

    def __init__(self, store: AsyncStore, *, max_count: int | None = None) -> None:
        super().__init__(CardService(store.sync, max_count=max_count), store._driver)


__all__ = ["THREADS", "AsyncCardService", "AsyncStore"]
