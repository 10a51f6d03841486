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

from .allocator import check_prefetch, fetch_segment, low_water_mark, unused_part
from .block import Block, check_fits
from .errors import InvalidArgument
from .series import positive_count
from .service import CardService
from .store import Store, open_store
from .store.async_driver import AsyncDriver
from .store.ops import operation
from .store.records import SeriesRef

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
        found = _operation(type(self.sync), name)
        if found is not None:
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


_operations: dict[tuple[type, str], operation[Any, Any] | None] = {}


def _operation(cls: type, name: str) -> operation[Any, Any] | None:
    """The operation behind ``cls.name``, if that is one (looked up once)."""
    key = (cls, name)
    if key not in _operations:
        found = inspect.getattr_static(cls, name, None)
        _operations[key] = found if isinstance(found, operation) else None
    return _operations[key]


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


class AsyncSegmentAllocator:
    """Single numbers from an ``AsyncStore``'s series, ``step`` reserved at a time: the
    async twin of ``cardseq.allocator.SegmentAllocator`` (the same reservation and
    release operations).

    ``await next()`` hands out the next number of the current segment without waiting
    on anything; the call that passes the low-water mark (``prefetch_at`` of the
    segment) starts reserving and formatting the next segment in the background, so a
    caller waits for a refill only when it drains a segment faster than one is
    reserved. ``aclose()`` (or ``async with``) releases what was reserved and never
    handed out.
    """

    def __init__(
        self,
        store: AsyncStore,
        series: SeriesRef,
        *,
        step: int = 100_000,
        status_label: str = "NOT_ISSUED",
        prefetch_at: float = 0.5,
    ) -> None:
        self._store = store
        self._series = series
        self._step = positive_count(step)
        self._label = status_label
        self._prefetch_at = check_prefetch(prefetch_at)
        self._lock = asyncio.Lock()  # one refill at a time
        self._block: Block | None = None
        self._numbers: list[str] = []
        self._size = self._pos = self._threshold = 0
        self._pending: asyncio.Task[tuple[Block, list[str]]] | None = None
        self._checked = False
        self._closed = False

    async def _fetch(self) -> tuple[Block, list[str]]:
        if not self._checked:  # the current segment and the next in memory together
            series = await self._store.get_series(self._series)
            check_fits(series, self._step, field="step", copies=2)
            self._checked = True
        sync = self._store.sync
        op = fetch_segment(sync, self._series, self._step, self._label)
        return await self._store._driver.drive(op)

    async def next(self) -> str:
        """The next number; ``SeriesExhausted`` (702) once the series has none left."""
        while True:
            pos = self._pos
            if pos < self._size:
                self._pos = pos + 1
                if pos == self._threshold and self._pending is None:
                    self._pending = asyncio.create_task(self._fetch())
                return self._numbers[pos]
            async with self._lock:
                if self._pos >= self._size:  # nobody refilled while this one waited
                    await self._refill()

    def __aiter__(self) -> AsyncSegmentAllocator:
        return self

    async def __anext__(self) -> str:
        return await self.next()

    async def _refill(self) -> None:
        if self._closed:
            raise InvalidArgument("the allocator is closed", field="allocator")
        pending, self._pending = self._pending, None
        if pending is None:
            pending = asyncio.create_task(self._fetch())
        self._block, self._numbers = await pending  # a failure surfaces here, and the
        self._size, self._pos = len(self._numbers), 0  # next call tries again
        self._threshold = low_water_mark(self._size, self._prefetch_at)
        if self._threshold >= self._size:
            self._pending = asyncio.create_task(self._fetch())

    async def aclose(self) -> None:
        """Record the unused remainder (and any prefetched segment) in the ledger."""
        if self._closed:
            return
        self._closed = True
        unused = unused_part(self._block, self._pos, self._size)
        self._size = 0
        if self._pending is not None:
            try:
                block, _ = await self._pending
            except Exception:  # a failed prefetch reserved nothing
                pass
            else:
                unused.append((block.start, block.count))
        for start, count in unused:
            await self._store.release(self._series, start, count, self._label)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


__all__ = ["THREADS", "AsyncCardService", "AsyncSegmentAllocator", "AsyncStore"]
