"""One number at a time, for callers that cannot take blocks, at block speed.

The allocator reserves ``step`` indexes at a time and hands their numbers out from
memory. Once half a segment is used it reserves and formats the next one in the
background, so callers do not wait at the refill. ``close()`` records what was
reserved but never handed out; those indexes are released (a gap, never a reuse).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from .block import Block, check_fits
from .errors import InvalidArgument, SeriesExhausted
from .series import positive_count
from .service import reserving_numbers
from .store.records import DEFAULT_LABEL

#: numbers an allocator reserves at a time, unless told (``step``)
DEFAULT_STEP = 100_000

if TYPE_CHECKING:
    from .store.base import SeriesRef, Store
    from .store.ops import Op


def fetch_segment(
    store: Store, series: SeriesRef, step: int, label: str
) -> Op[tuple[Block, list[str]]]:
    """Reserve and format the next segment (a short one at the series' end): the
    operation both allocators run."""
    count = step
    while True:
        try:
            return (yield from reserving_numbers(store, series, count, status_label=label))
        except SeriesExhausted:
            left = (yield from store._series(series)).remaining
            if left <= 0:
                raise
            count = min(count, left)


def check_prefetch(prefetch_at: float) -> float:
    """The fraction of a segment handed out when the next one is started."""
    if not 0.0 <= prefetch_at < 1.0:
        raise InvalidArgument.bad("prefetch_at", prefetch_at, "must be in [0, 1)")
    return prefetch_at


def low_water_mark(size: int, prefetch_at: float) -> int:
    """The position of a segment of ``size`` whose hand-out starts the next one."""
    return max(1, int(size * prefetch_at))


def unused_part(block: Block | None, pos: int, size: int) -> list[tuple[int, int]]:
    """(start, count) of the current segment's numbers not handed out, if any."""
    if block is None or pos >= size:
        return []
    return [(block.start + pos, size - pos)]


class SegmentAllocator:
    """Thread-safe single numbers from ``store``'s series ``series``.

    >>> from cardseq import CardSeries
    >>> from cardseq.store import open_store
    >>> store = open_store("memory://")
    >>> _ = store.create_series(CardSeries("ONE", prefix="7", length=6))
    >>> with SegmentAllocator(store, "ONE", step=100) as numbers:
    ...     [numbers.next() for _ in range(3)]
    ['700000', '700001', '700002']
    >>> [(e.kind, e.start, e.count) for e in store.ledger("ONE")]
    [('reserved', 0, 100), ('released', 3, 97)]
    >>> store.close()
    """

    def __init__(
        self,
        store: Store,
        series: SeriesRef,
        *,
        step: int = DEFAULT_STEP,
        status_label: str = DEFAULT_LABEL,
        prefetch_at: float = 0.5,
    ) -> None:
        self._store = store
        self._series = series
        self._step = positive_count(step)
        # the current segment and the next one are in memory together
        check_fits(store.series_definition(series), self._step, field="step", copies=2)
        self._label = status_label
        self._prefetch_at = check_prefetch(prefetch_at)
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="cardseq-prefetch")
        self._block: Block | None = None
        self._numbers: list[str] = []
        self._size = 0
        self._pos = 0
        self._threshold = 0
        self._pending: Future[tuple[Block, list[str]]] | None = None
        self._closed = False

    def _fetch(self) -> tuple[Block, list[str]]:
        return self._store._drive(fetch_segment(self._store, self._series, self._step, self._label))

    def next(self) -> str:
        """The next number; ``SeriesExhausted`` (702) once the series has none left."""
        with self._lock:
            pos = self._pos
            if pos >= self._size:  # also true once closed: _refill says so
                self._refill()
                pos = 0
            elif pos == self._threshold:
                self._pending = self._pool.submit(self._fetch)
            self._pos = pos + 1
            return self._numbers[pos]

    __next__ = next

    def __iter__(self) -> SegmentAllocator:
        return self

    def _refill(self) -> None:
        if self._closed:
            raise InvalidArgument("the allocator is closed", field="allocator")
        if self._pending is None:
            self._pending = self._pool.submit(self._fetch)
        pending, self._pending = self._pending, None
        self._block, self._numbers = pending.result()  # a failure surfaces here, and
        self._size = len(self._numbers)  # the next call tries again
        self._pos = 0
        # the call that hands out this position starts the next segment's reservation
        self._threshold = low_water_mark(self._size, self._prefetch_at)
        if self._threshold >= self._size:
            self._pending = self._pool.submit(self._fetch)

    def close(self) -> None:
        """Record the unused remainder (and any prefetched segment) in the ledger."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            unused = unused_part(self._block, self._pos, self._size)
            self._size = 0
            if self._pending is not None:
                try:
                    block, _ = self._pending.result()
                except Exception:  # a failed prefetch reserved nothing
                    pass
                else:
                    unused.append((block.start, block.count))
            self._pool.shutdown(wait=True)
            for start, count in unused:
                self._store.release(self._series, start, count, self._label)

    def __enter__(self) -> SegmentAllocator:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
