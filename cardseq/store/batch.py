"""Group commit: requests that arrive together share one transaction and one flush.

A flush to disk costs about as much for one reservation as for a thousand, so callers
that wait for it together should pay for it once. There is no background thread: the
first caller to find no batch running leads one, taking every request queued so far,
its own included; callers that arrive meanwhile queue for the next batch. When a batch
is done its leader hands each request its own outcome and, if requests queued behind
it, makes the oldest of them the next leader. A lone caller leads a batch of one and
waits for nobody; under load a leader lets the callers of the last batch queue again
first (at most ``GATHER_SECONDS``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

#: how long a leader under load waits for the last batch's callers to queue again
GATHER_SECONDS = 0.0005

Request = TypeVar("Request")
Result = TypeVar("Result")


class Outcome(Generic[Result]):
    """What one request of a batch came to: its result, or the error it raises."""

    __slots__ = ("error", "result")

    def __init__(self, result: Result | None = None, error: BaseException | None = None):
        self.result, self.error = result, error

    def get(self) -> Result:
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


class _Waiter(Generic[Request, Result]):
    """A queued request; woken with its outcome, or without one to lead the next batch."""

    __slots__ = ("_asleep", "outcome", "request")

    def __init__(self, request: Request) -> None:
        self.request = request
        self.outcome: Outcome[Result] | None = None
        self._asleep = threading.Lock()  # a bare lock: the cheapest wake-up there is
        self._asleep.acquire()

    def wait(self) -> None:
        self._asleep.acquire()

    def wake(self) -> None:
        self._asleep.release()

    def woken(self) -> bool:
        return not self._asleep.locked()


class GroupCommit(Generic[Request, Result]):
    """Runs ``commit(requests)`` on batches of the requests submitted from many threads.

    ``commit`` returns one ``Outcome`` per request, in order; an exception it raises is
    every request's outcome (the batch as a whole failed).
    """

    def __init__(self, commit: Callable[[Sequence[Request]], list[Outcome[Result]]]) -> None:
        self._commit = commit
        self._lock = threading.Lock()
        self._queue: list[_Waiter[Request, Result]] = []
        self._running = False
        self._last = 0  # requests in the last batch
        self._pid = os.getpid()

    @property
    def queued(self) -> int:
        """Requests waiting for the next batch."""
        return len(self._queue)

    def submit(self, request: Request) -> Result:
        """``request``'s result once its batch has committed (or its error)."""
        waiter: _Waiter[Request, Result] = _Waiter(request)
        with self._lock:
            if self._pid != os.getpid():  # a forked child: the parent's batch is not ours
                self._queue, self._running, self._pid = [], False, os.getpid()
            self._queue.append(waiter)
            follows, self._running = self._running, True
        if follows:
            try:
                waiter.wait()
            except BaseException:  # interrupted (a signal): leave the line
                self._abandon(waiter)
                raise
        if waiter.outcome is None:  # first in line: lead
            self._lead(waiter)
        assert waiter.outcome is not None
        return waiter.outcome.get()

    def _lead(self, own: _Waiter[Request, Result]) -> None:
        """Commit everything queued, hand out the outcomes, pass the lead on."""
        self._gather()
        with self._lock:
            batch, self._queue = self._queue, []
            self._last = len(batch)
        try:
            outcomes = self._commit([w.request for w in batch])
        except BaseException as error:  # interrupted too: nobody may wait forever
            outcomes = [Outcome(error=error) for _ in batch]
        for waiter, outcome in zip(batch, outcomes, strict=True):
            waiter.outcome = outcome
            if waiter is not own:
                waiter.wake()
        with self._lock:
            self._pass_lead()

    def _gather(self) -> None:
        """Under load (the last batch had several requests), give the callers it just
        answered a moment to queue again before taking the line: else one of them
        leads a batch of one while the rest queue behind it, and batches alternate
        between one and all. A lone caller waits for nobody."""
        if self._last <= 1:
            return
        deadline = time.monotonic() + GATHER_SECONDS
        while len(self._queue) < self._last and time.monotonic() < deadline:
            time.sleep(0)  # hands the interpreter to the callers that were woken

    def _abandon(self, waiter: _Waiter[Request, Result]) -> None:
        """Take an interrupted waiter out of the line, passing the lead on if it had it
        (one already in a batch is finished by that batch's leader)."""
        with self._lock:
            if waiter in self._queue:
                self._queue.remove(waiter)
                if waiter.woken():
                    self._pass_lead()

    def _pass_lead(self) -> None:
        """Wake the oldest waiter to lead the next batch, if any waits (lock held)."""
        self._running = bool(self._queue)
        if self._queue:
            self._queue[0].wake()
