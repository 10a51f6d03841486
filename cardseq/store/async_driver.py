"""Running store operations (``ops``) from an event loop, and group commit for tasks.

An ``AsyncDriver`` is the async twin of ``Database._drive``: it steps through the same
operation generators, awaiting each step instead of blocking on it. Each backend says
how a transaction and a grouped reservation are awaited (``postgres_async``,
``sqlite_writer``); plain Python work runs inline when it is small, on a thread when
it may hold the loop up.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

from .batch import GATHER_SECONDS, Outcome
from .ops import Grouped, Op, Step, Transaction, Work

T = TypeVar("T")
Request = TypeVar("Request")
Result = TypeVar("Result")


class AsyncDriver(abc.ABC):
    """Awaits the steps of store operations; ``aclose`` releases what it holds."""

    async def drive(self, op: Op[T]) -> T:
        """Run ``op`` to its result (errors of a step are thrown into it, as in the
        sync driver)."""
        try:
            step = next(op)
            while True:
                try:
                    result = await self._perform(step)
                except BaseException as error:  # the operation decides
                    step = op.throw(error)
                else:
                    step = op.send(result)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    def _perform(self, step: Step) -> Awaitable[Any]:
        if isinstance(step, Transaction):
            return self._transaction(step)
        if isinstance(step, Grouped):
            return self._grouped(step.request)
        assert isinstance(step, Work)
        if step.heavy:
            return asyncio.to_thread(step.call)
        return _ready(step.call)

    @abc.abstractmethod
    def _transaction(self, step: Transaction[T]) -> Awaitable[T]:
        """Run a transaction's body to its result, committed."""

    @abc.abstractmethod
    def _grouped(self, request: Any) -> Awaitable[Any]:
        """A reservation's block, committed with those queued with it."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Release connections and threads."""


async def _ready(call: Callable[[], T]) -> T:
    return call()


class AsyncGroupCommit(Generic[Request, Result]):
    """Group commit for tasks: requests awaiting together share one ``commit``.

    The first request to find no batch running starts one (a task) with everything
    queued; requests that arrive while it commits queue for the next. Under load (the
    last batch had several requests) a batch first gives the callers of the last one,
    who resume a few per turn of the loop (``in_turns``), up to ``GATHER_SECONDS`` to
    queue again, as the sync ``GroupCommit`` does. Each request gets
    its own outcome; an exception ``commit`` raises is every request's outcome. A caller
    cancelled while waiting leaves its request in the batch (it may commit: a gap in
    the ledger, never a number handed out twice).
    """

    def __init__(self, commit: Callable[[Sequence[Request]], Awaitable[list[Outcome[Result]]]]):
        self._commit = commit
        self._queue: list[tuple[Request, asyncio.Future[Result]]] = []
        self._task: asyncio.Task[None] | None = None
        self._last = 0  # requests in the last batch

    @property
    def queued(self) -> int:
        """Requests waiting for the next batch."""
        return len(self._queue)

    async def submit(self, request: Request) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.append((request, future))
        if self._task is None:
            self._task = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        try:
            while self._queue:
                await self._gather()
                batch, self._queue = self._queue, []
                self._last = len(batch)
                try:
                    outcomes = await self._commit([request for request, _ in batch])
                except BaseException as error:  # cancelled too: nobody may wait forever
                    outcomes = [Outcome(error=error) for _ in batch]
                    if not isinstance(error, Exception):
                        for settled in zip((f for _, f in batch), outcomes, strict=True):
                            settle(settled)
                        raise
                in_turns(settle, list(zip((f for _, f in batch), outcomes, strict=True)))
        finally:
            self._task = None

    async def _gather(self) -> None:
        if self._last <= 1:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + GATHER_SECONDS
        while len(self._queue) < self._last and loop.time() < deadline:
            await asyncio.sleep(0)  # a turn of the loop: a few more callers resume

    async def aclose(self) -> None:
        """Wait for the batch that runs, if any."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)


#: a caller's future and the outcome it is to get
Settled = tuple[asyncio.Future[Any], Outcome[Any]]


def settle(settled: Settled) -> None:
    """Give a caller's future its outcome: the result, or the error raised at its
    ``await`` (nothing when the caller was cancelled meanwhile)."""
    future, outcome = settled
    if future.done():
        return
    if outcome.error is not None:
        future.set_exception(outcome.error)
    else:
        future.set_result(outcome.result)


#: callers of a batch resumed per turn of the event loop (see ``in_turns``)
RESUME_PER_TURN = 8


def in_turns(settle: Callable[[T], None], items: Sequence[T]) -> None:
    """``settle`` each of ``items`` (the futures of a batch's callers), at most
    ``RESUME_PER_TURN`` per turn of the running loop. Each settled future resumes its
    task in the next turn; had a batch of 64 resumed in one turn, the loop's timers
    and I/O would wait for all 64 (about a millisecond). In turns they wait for 8."""
    for item in items[:RESUME_PER_TURN]:
        settle(item)
    if len(items) > RESUME_PER_TURN:
        asyncio.get_running_loop().call_soon(in_turns, settle, items[RESUME_PER_TURN:])
