"""The async API: the store and the service, awaited from an event loop that never
waits on the database.

``await store.reserve(...)`` is ``Store.reserve(...)`` run on a thread of the object's
own pool, with the same arguments, result and errors: the rules and the SQL exist once,
in the sync API. A pool rather than one thread, because reservations that wait together
are committed together (group commit): SQLite still writes one batch at a time, and
reads never wait for it.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, Self, TypeVar

from .service import CardService
from .store import Store, open_store

#: threads per pool: as many calls as may wait on the database at once
THREADS = 16

Target = TypeVar("Target")


class _OnThreads(Generic[Target]):
    """Every public method of ``sync`` as a coroutine that runs it on ``pool``."""

    def __init__(self, sync: Target, pool: ThreadPoolExecutor) -> None:
        self.sync = sync
        self._pool = pool

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        value = getattr(self.sync, name)
        if not callable(value):
            return value
        return self._on_pool(value)

    def _on_pool(self, method: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
        @functools.wraps(method)
        async def call(*args: Any, **kwargs: Any) -> Any:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(
                self._pool, functools.partial(method, *args, **kwargs)
            )

        return call


class AsyncStore(_OnThreads[Store]):
    """A ``Store`` whose public methods are coroutines; ``sync`` is the store itself.

    Open it with ``await AsyncStore.open(url)`` (opening may migrate: it runs on the
    pool too) and close it with ``await store.aclose()`` or ``async with``.
    """

    def __init__(self, store: Store, *, threads: int = THREADS) -> None:
        super().__init__(store, ThreadPoolExecutor(threads, thread_name_prefix="cardseq"))

    @classmethod
    async def open(
        cls, url: str | None = None, *, threads: int = THREADS, **options: Any
    ) -> AsyncStore:
        """``open_store(url, **options)``, off the event loop."""
        store = await asyncio.to_thread(functools.partial(open_store, url, **options))
        return cls(store, threads=threads)

    async def aclose(self) -> None:
        await self._on_pool(self.sync.close)()
        self._pool.shutdown(wait=False)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class AsyncCardService(_OnThreads[CardService]):
    """A ``CardService`` over an ``AsyncStore``, its methods coroutines, on that store's
    threads."""

    def __init__(self, store: AsyncStore, *, max_count: int | None = None) -> None:
        super().__init__(CardService(store.sync, max_count=max_count), store._pool)


__all__ = ["THREADS", "AsyncCardService", "AsyncStore"]
