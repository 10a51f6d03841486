"""SQLite from an event loop: one writer thread owns the writes, reads never wait.

SQLite has no async driver: a statement blocks its thread. So the loop hands every
write transaction to one dedicated thread, which takes whatever has queued since its
last commit: the reservations among it go in one transaction and one flush (group
commit for free, however many tasks asked), other writes one transaction each. Reads
run on a small pool of reader threads, each with its own connection; in WAL mode they
see the last commit and never wait for the writer. The loop itself only queues and
awaits.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from .async_driver import AsyncDriver, Settled, in_turns, settle
from .batch import GATHER_SECONDS, Outcome
from .ops import Grouped, Transaction
from .sqlite import SQLiteStore

T = TypeVar("T")


class _Job:
    """A write waiting for the writer thread, and how to tell its task the outcome."""

    __slots__ = ("future", "item", "loop")

    def __init__(self, item: Transaction[Any] | Grouped, loop: asyncio.AbstractEventLoop):
        self.item = item
        self.loop = loop
        self.future: asyncio.Future[Any] = loop.create_future()

    def settle(self, outcome: Outcome[Any]) -> None:
        _tell(self.loop, settle, (self.future, outcome))


def _tell(loop: asyncio.AbstractEventLoop, callback: Callable[..., None], *args: Any) -> None:
    """Schedule ``callback`` on ``loop``, unless that loop has closed (its caller is
    gone): the writer thread must outlive any one caller."""
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(callback, *args)


class SQLiteWriter(AsyncDriver):
    """Runs ``store``'s operations from an event loop: writes on the writer thread,
    reads on ``readers`` threads."""

    def __init__(self, store: SQLiteStore, *, readers: int) -> None:
        self.store = store
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._readers = ThreadPoolExecutor(readers, thread_name_prefix="cardseq-read")
        self._writer = threading.Thread(target=self._write, name="cardseq-writer", daemon=True)
        self._writer.start()
        self._closed = False

    def _submit(self, item: Transaction[Any] | Grouped) -> asyncio.Future[Any]:
        if self._closed:
            raise RuntimeError("the async store is closed")
        job = _Job(item, asyncio.get_running_loop())
        self._jobs.put(job)
        return job.future

    async def _transaction(self, step: Transaction[T]) -> T:
        if step.write:
            return await self._submit(step)  # type: ignore[no-any-return]
        loop = asyncio.get_running_loop()
        read = loop.run_in_executor(self._readers, self.store._perform, step)
        return await read  # type: ignore[no-any-return]

    async def _grouped(self, request: Any) -> Any:
        return await self._submit(Grouped(request))

    def _take(self, last: int) -> list[_Job | None]:
        """Everything queued; under load (``last``, the size of the last batch, is
        more than one) waiting up to ``GATHER_SECONDS`` for as many (the callers just
        answered queue again)."""
        jobs = [self._jobs.get()]
        deadline = time.monotonic() + GATHER_SECONDS
        while True:
            try:
                jobs.append(self._jobs.get_nowait())
                continue
            except queue.Empty:
                pass
            left = deadline - time.monotonic()
            if len(jobs) >= last or left <= 0 or None in jobs:
                return jobs
            try:
                jobs.append(self._jobs.get(timeout=left))
            except queue.Empty:
                return jobs

    def _write(self) -> None:
        """The writer thread: take everything queued, commit it, tell each its outcome."""
        last = 0
        while True:
            jobs = self._take(last)
            stop = None in jobs
            work = [job for job in jobs if job is not None]
            grouped = [job for job in work if isinstance(job.item, Grouped)]
            last = len(work)
            if grouped:
                self._commit_reservations(grouped)
            for job in work:
                if isinstance(job.item, Transaction):
                    job.settle(_outcome(functools.partial(self.store._perform, job.item)))
            if stop:
                return

    def _commit_reservations(self, jobs: list[_Job]) -> None:
        requests = [job.item.request for job in jobs]  # type: ignore[union-attr]
        try:
            outcomes = self.store._drive(self.store._reserve_batch(requests))
        except BaseException as error:  # the batch as a whole failed
            outcomes = [Outcome(error=error) for _ in jobs]
        by_loop: dict[asyncio.AbstractEventLoop, list[Settled]] = {}
        for job, outcome in zip(jobs, outcomes, strict=True):
            by_loop.setdefault(job.loop, []).append((job.future, outcome))
        for loop, settled in by_loop.items():  # one wake-up of each loop per batch
            _tell(loop, in_turns, settle, settled)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._jobs.put(None)  # after whatever is queued
        await asyncio.to_thread(self._writer.join)
        self._readers.shutdown(wait=False)


def _outcome(call: Callable[[], T]) -> Outcome[T]:
    try:
        return Outcome(call())
    except BaseException as error:  # told to the caller, not to this thread
        return Outcome(error=error)
