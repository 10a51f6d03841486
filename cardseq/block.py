"""A range of a series' indexes, turned into numbers on demand.

A ``Block`` does no I/O of its own except :meth:`Block.write`, which streams to a file
the caller opened. It holds no numbers: each output call formats them afresh.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from . import _engine
from .errors import InvalidArgument, SeriesExhausted
from .series import CardSeries, positive_count

ORDERS = ("asc", "desc")
WRITE_CHUNK_BYTES = 4 << 20
# Keyed numbers cost CPU, not memory bandwidth: past this many, a call spreads them
# over the cores (the engine releases the GIL). CARDSEQ_THREADS=1 keeps one thread.
PARALLEL_MIN = 1 << 16


def _threads() -> int:
    setting = os.environ.get("CARDSEQ_THREADS")
    if setting:
        return max(1, int(setting))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def _render(out: Any, stride: int, layout: _engine.Layout, first: int, count: int,
            descending: bool) -> None:
    """``_engine.render_into``, split over threads for large keyed ranges."""
    threads = _threads() if layout.perm is not None and count >= PARALLEL_MIN else 1
    if threads == 1:
        _engine.render_into(out, stride, layout, first, count, descending)
        return
    step = -1 if descending else 1
    share = -(-count // threads)
    view = memoryview(out).cast("B")
    with ThreadPoolExecutor(threads) as pool:
        jobs = [pool.submit(_engine.render_into, view[done * stride: (done + n) * stride],
                            stride, layout, first + step * done, n, descending)
                for done in range(0, count, share) for n in [min(share, count - done)]]
        for job in jobs:
            job.result()


@dataclass(frozen=True)
class Block:
    """Indexes ``[start, start + count)`` of ``series``, checked against its capacity."""

    series: CardSeries
    start: int
    count: int

    def __post_init__(self) -> None:
        start = self.series.index(self.start, "start")
        count = positive_count(self.count)
        left = self.series.capacity - start
        if count > left:
            raise SeriesExhausted.bad(
                "count", self.count, f"is more than the {left} number(s) of series"
                f" {self.series.code!r} from index {start}")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "count", count)

    @property
    def stop(self) -> int:
        """One past the last index."""
        return self.start + self.count

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[str]:
        for first, n in self._chunks("asc", WRITE_CHUNK_BYTES // self.series.length):
            yield from _engine.render_list(self.series._layout, first, n, False)

    def to_numpy(self, order: str = "asc") -> np.ndarray:
        """The numbers as a NumPy array of dtype ``S{length}`` (ASCII bytes)."""
        descending = _descending(order)
        length = self.series.length
        out = np.empty(self.count, dtype=f"S{length}")
        _render(out.view(np.uint8), length, self.series._layout, self._first(descending),
                self.count, descending)
        return out

    def to_list(self, order: str = "asc") -> list[str]:
        """The numbers as a list of ``str``."""
        descending = _descending(order)
        return _engine.render_list(self.series._layout, self._first(descending), self.count,
                                   descending)

    def write(self, fp: IO[bytes] | Any, order: str = "asc", *,
              chunk_bytes: int = WRITE_CHUNK_BYTES) -> int:
        """Stream the numbers to the binary file ``fp``, one ASCII line each.

        Memory stays at about ``chunk_bytes`` whatever the count. Returns the number
        of bytes written.
        """
        descending = _descending(order)
        stride = self.series.length + 1
        per_chunk = max(1, chunk_bytes // stride)
        buf = np.empty(min(per_chunk, self.count) * stride, dtype=np.uint8)
        written = 0
        for first, n in self._chunks(order, per_chunk):
            _render(buf, stride, self.series._layout, first, n, descending)
            fp.write(memoryview(buf)[: n * stride])
            written += n * stride
        return written

    def _first(self, descending: bool) -> int:
        return self.stop - 1 if descending else self.start

    def _chunks(self, order: str, per_chunk: int) -> Iterator[tuple[int, int]]:
        """(first index, count) of consecutive pieces of the block, in ``order``."""
        if order == "desc":
            for top in range(self.stop, self.start, -per_chunk):
                n = min(per_chunk, top - self.start)
                yield top - 1, n
        else:
            for first in range(self.start, self.stop, per_chunk):
                yield first, min(per_chunk, self.stop - first)


def _descending(order: Any) -> bool:
    if order not in ORDERS:
        raise InvalidArgument.bad("order", order, "must be 'asc' or 'desc'")
    return order == "desc"
