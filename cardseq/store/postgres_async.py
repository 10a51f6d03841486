"""PostgreSQL from an event loop: psycopg's ``AsyncConnection``, a few reused.

The async twin of ``PostgresStore``'s connections, with the same promises: a write
transaction begins with the statement that makes its commit synchronous, a connection
is made within the URL's connect timeout (else ``StoreUnreachable``) and runs the
URL's statement timeout, and a caller waits at most ``timeout`` seconds for a free
connection. Opening the store (the crash-safety check, migrations) is the sync
store's. Reservations that tasks await together share one transaction
(``AsyncGroupCommit``), each with its own outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from ..errors import StoreError
from .async_driver import AsyncDriver, AsyncGroupCommit
from .base import translate
from .batch import Outcome
from .ops import Body, Transaction, check_text, fetched
from .postgres import TIMELINE, PostgresStore, duplicate_request, unusable

T = TypeVar("T")


class PostgresDriver(AsyncDriver):
    """Runs ``store``'s operations on async connections of its database."""

    def __init__(self, store: PostgresStore) -> None:
        import psycopg

        self.store = store
        self._psycopg = psycopg
        self._pool = AsyncConnections(self._connect, store._size, store._wait, store._where)
        self._batches: AsyncGroupCommit[Any, Any] = AsyncGroupCommit(self._commit_batch)

    def _commit_batch(self, requests: Any) -> Awaitable[list[Outcome[Any]]]:
        return self.drive(self.store._reserve_batch(requests))

    async def _connect(self) -> Any:
        psycopg = self._psycopg
        try:
            conn = await psycopg.AsyncConnection.connect(self.store._conninfo, autocommit=True)
        except psycopg.Error as error:
            raise self.store._unreachable(error) from error
        try:
            with translate(psycopg.Error):
                setup = self.store._session_setup()
                if setup is not None:
                    await conn.execute(setup.sql, setup.args)
                found = await (await conn.execute(TIMELINE)).fetchone()
                self.store.met_timeline(found[0])
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _transaction(self, step: Transaction[T]) -> T:
        with translate(
            self._psycopg.Error, duplicate_request=duplicate_request, refused=self.store.refusal
        ):
            begin = self.store.write_begin() if step.write else "BEGIN"
            async with self._pool.connection(begin) as conn:
                cur = conn.cursor()
                try:
                    result = await _play(cur, step.body)
                except Exception:
                    if not conn.broken:
                        with contextlib.suppress(self._psycopg.Error):
                            await conn.execute("ROLLBACK")
                    raise
                try:
                    await cur.execute("COMMIT")
                except self._psycopg.Error as error:
                    if conn.broken and step.write:  # a write: it may have happened
                        raise self.store.commit_unknown(error) from error
                    raise
                return result

    def _grouped(self, request: Any) -> Awaitable[Any]:
        return self._batches.submit(request)

    async def aclose(self) -> None:
        await self._batches.aclose()
        await self._pool.close()


async def _play(cur: Any, body: Body[T]) -> T:
    """Run ``body`` on an async cursor inside a transaction: the async body driver."""
    try:
        statement = next(body)
        while True:
            check_text(statement)
            await cur.execute(statement.sql, statement.args)
            if statement.fetch == "one":
                result = await cur.fetchone()
            elif statement.fetch == "all":
                result = await cur.fetchall()
            else:
                result = fetched(cur, statement.fetch)
            statement = body.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


class AsyncConnections:
    """Up to ``size`` async connections in use at once, reused between calls: the twin
    of ``postgres._Connections`` (no ping before use: the transaction's first statement
    is the test, and one broken while idle is dropped and the next tried)."""

    def __init__(
        self, connect: Callable[[], Awaitable[Any]], size: int, timeout: float, where: str
    ) -> None:
        self._connect = connect
        self._slots = asyncio.Semaphore(size)
        self._size, self._timeout, self._where = size, timeout, where
        self._idle: list[Any] = []
        self._closed = False

    @contextlib.asynccontextmanager
    async def connection(self, begin: str) -> AsyncIterator[Any]:
        """A connection on which ``begin`` has just run."""
        if self._slots.locked():
            try:
                await asyncio.wait_for(self._slots.acquire(), self._timeout)
            except TimeoutError:
                raise StoreError(
                    f"all {self._size} connections to {self._where} stayed busy for"
                    f" {self._timeout} s"
                ) from None
        else:
            await self._slots.acquire()
        conn = None
        try:
            conn = await self._take(begin)
            yield conn
        finally:
            if conn is not None:
                await self._give_back(conn)
            self._slots.release()

    async def _take(self, begin: str) -> Any:
        while True:
            conn = self._idle.pop() if self._idle else None
            if conn is None:
                conn = await self._connect()
                try:
                    await conn.execute(begin)
                except BaseException:
                    await conn.close()
                    raise
                return conn
            try:
                await conn.execute(begin)
            except Exception:
                await conn.close()
                if not conn.broken:
                    raise
                # broken while idle: dropped, try the next
            else:
                return conn

    async def _give_back(self, conn: Any) -> None:
        if self._closed or unusable(conn):
            await conn.close()
        else:
            self._idle.append(conn)

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.close()
