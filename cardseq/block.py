"""A range of a series' indexes, turned into numbers on demand.

A ``Block`` does no I/O of its own except :meth:`Block.write`, which streams to a file
the caller opened. It holds no numbers: each output call formats them afresh.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from . import _engine, blocked, checkdigit, pins
from .columns import (
    BOX,
    GROUPED,
    INDEX,
    NUMBER,
    NUMBER_ONLY,
    PIN,
    POSITION,
    Column,
    RowFormat,
    parse_columns,
    row_format,
)
from .errors import CountTooLarge, InvalidArgument, SeriesExhausted
from .integers import as_int
from .series import CardSeries, positive_count

ORDERS = ("asc", "desc")
#: the most cards a box may hold (``Block.write``'s ``box_size``)
MAX_BOX = 1_000_000
WRITE_CHUNK_BYTES = 4 << 20
# Keyed numbers cost CPU, not memory bandwidth: past this many, a call spreads them
# over the cores (the engine releases the GIL). CARDSEQ_THREADS=1 keeps one thread.
PARALLEL_MIN = 1 << 16


def _threads() -> int:
    """``$CARDSEQ_THREADS`` if it is a positive integer, else the usable cores.

    (Read when formatting, after a store has reserved: a bad value must not fail.)
    """
    setting = os.environ.get("CARDSEQ_THREADS", "")
    if setting.isascii() and setting.isdigit() and int(setting) > 0:
        return int(setting)
    return (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    )


# Memory of one number beyond its characters: in a list, a str header and a list slot;
# in an array, nothing.
LIST_OVERHEAD = sys.getsizeof("") + 8
#: the memory below which ``check_fits`` does not look at the system's (bytes)
SMALL = 8 * 2**20


def memory_available() -> int:
    """Bytes this process can still take: Linux's MemAvailable (free pages elsewhere),
    within a container's cgroup limit when there is one."""
    try:
        with open("/proc/meminfo") as f:
            found = [int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:")]
        available = found[0]
    except (OSError, IndexError, ValueError):
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, OSError, ValueError):
            return sys.maxsize  # unknown: a MemoryError stays the last guard
    try:
        with open("/sys/fs/cgroup/memory.max") as f, open("/sys/fs/cgroup/memory.current") as g:
            limit, used = f.read().strip(), int(g.read())
        if limit.isdigit():
            available = min(available, int(limit) - used)
    except (OSError, ValueError):
        pass
    return available


def check_fits(
    series: CardSeries, count: int, *, field: str = "count", as_list: bool = True, copies: int = 1
) -> None:
    """Refuse (3026) ``copies`` x ``count`` numbers that would take more than half the
    memory available: callers check before reserving, so a refusal costs no numbers.
    Up to ``SMALL`` bytes are let through without reading the system's figures (a
    server checks every request: reading them cost more than formatting 100 numbers);
    a MemoryError while formatting stays the last guard."""
    need = copies * count * (series.length + (LIST_OVERHEAD if as_list else 0))
    if need <= SMALL:
        return
    available = memory_available()
    if need > available // 2:
        raise CountTooLarge.bad(
            field,
            count,
            f"needs about {need / 2**20:,.0f} MiB of memory, more than half of the"
            f" {available / 2**20:,.0f} MiB available: write the numbers to a file"
            " instead (Block.write, `cardseq generate --out`)",
        )


def _render(
    out: Any, stride: int, layout: _engine.Layout, first: int, count: int, descending: bool
) -> None:
    """The engine's ``render_into``, split over threads for large keyed ranges (a
    series with blocked words: ``blocked.render_into`` over it)."""
    if layout.blocked is not None:
        blocked.render_into(_render, out, stride, layout, first, count, descending)
        return
    render_into = _engine.engine.render_into
    threads = _threads() if layout.perm is not None and count >= PARALLEL_MIN else 1
    if threads == 1:
        render_into(out, stride, layout, first, count, descending)
        return
    step = -1 if descending else 1
    share = -(-count // threads)
    view = memoryview(out).cast("B")
    with ThreadPoolExecutor(threads) as pool:
        jobs = [
            pool.submit(
                render_into,
                view[done * stride : (done + n) * stride],
                stride,
                layout,
                first + step * done,
                n,
                descending,
            )
            for done in range(0, count, share)
            for n in [min(share, count - done)]
        ]
        for job in jobs:
            job.result()


def _render_list(layout: _engine.Layout, first: int, count: int, descending: bool) -> list[str]:
    if layout.blocked is not None:
        return blocked.render_list(_render, layout, first, count, descending)
    return _engine.engine.render_list(layout, first, count, descending)


@dataclass(frozen=True)
class Block:
    """Indexes ``[start, start + count)`` of ``series``, checked against its capacity."""

    series: CardSeries
    start: int
    count: int

    def __post_init__(self) -> None:
        self.series.require_key()
        start = self.series.check_index(self.start, "start")
        count = positive_count(self.count)
        left = self.series.capacity - start
        if count > left:
            raise SeriesExhausted.bad(
                "count",
                self.count,
                f"is more than the {left} number(s) of series"
                f" {self.series.code!r} from index {start}",
            )
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
            yield from _render_list(self.series._layout, first, n, False)

    def to_numpy(self, order: str = "asc") -> np.ndarray:
        """The numbers as a NumPy array of dtype ``S{length}`` (ASCII bytes)."""
        descending = _descending(order)
        check_fits(self.series, self.count, as_list=False)
        length = self.series.length
        out = np.empty(self.count, dtype=f"S{length}")
        _render(
            out.view(np.uint8),
            length,
            self.series._layout,
            self._first(descending),
            self.count,
            descending,
        )
        return out

    def to_list(self, order: str = "asc", *, grouped: bool = False) -> list[str]:
        """The numbers as a list of ``str``; ``grouped``: as people read them
        (``CardSeries.display``: the series' groups and separator)."""
        descending = _descending(order)
        check_fits(self.series, self.count)
        numbers = _render_list(self.series._layout, self._first(descending), self.count, descending)
        if grouped and self.series.group:
            return [self.series.display(number) for number in numbers]
        return numbers

    def pins(self, order: str = "asc") -> list[str]:
        """The cards' PINs, in the order of ``to_list`` (``CardSeries.pin``): for a
        series with PINs whose PIN key is loaded."""
        descending = _descending(order)
        schedule = self.series.require_pins()
        check_fits(self.series, self.count)
        digits = pins.pin_digits(schedule, self._first(descending), self.count,
                                 self.series.pin_length, descending)  # fmt: skip
        return digits.view(f"S{self.series.pin_length}").reshape(-1).astype(str).tolist()

    def write(
        self,
        fp: IO[bytes] | Any,
        order: str = "asc",
        *,
        fmt: str = "txt",
        columns: str | Sequence[str] | Sequence[Column] = NUMBER_ONLY,
        status_label: str | None = None,
        request_id: str | None = None,
        actor: str | None = None,
        box_size: int | None = None,
        chunk_bytes: int = WRITE_CHUNK_BYTES,
        progress: Callable[[int], object] | None = None,
    ) -> int:
        """Stream the numbers to the binary file ``fp``, one line each.

        ``fmt``: ``txt`` (the number), ``csv`` (a header, then a row a number) or
        ``jsonl`` (``{"number": "..."}``). ``columns`` (csv and jsonl) puts more beside
        each number: ``"number,index,series_code,status_label,request_id,actor,NAME=VALUE"``
        in any order and choice (``cardseq.columns``); ``status_label``, ``request_id``
        and ``actor`` are the reservation's, for their columns. ``pin`` needs a series
        with PINs and its PIN key; ``box`` and ``position`` need ``box_size``, the cards a
        box holds: boxes are counted from the block's first index, whatever the order,
        so a reservation written again gets the same boxes. Memory stays near
        ``chunk_bytes`` whatever the count; ``progress(n)`` is called after each chunk
        with the numbers written in it. Returns the number of bytes written.
        """
        descending = _descending(order)
        chosen = columns if _parsed(columns) else parse_columns(columns)  # type: ignore[arg-type]
        values = {
            "series_code": self.series.code,
            "status_label": status_label,
            "request_id": request_id,
            "actor": actor,
        }
        row = row_format(fmt, chosen, values)  # type: ignore[arg-type]
        if PIN in row.parts:
            self.series.require_pins()  # before the header: no file half written
        boxes = self._boxes(row, box_size)
        widths = {
            NUMBER: self.series.length,
            GROUPED: len(self.series.display("0" * self.series.length)),
            INDEX: len(str(self.stop - 1)),
            PIN: self.series.pin_length,
            **boxes,
        }
        widest = sum(len(p) if isinstance(p, bytes) else widths[p] for p in row.parts)
        per_chunk = max(1, chunk_bytes // widest)
        # (one spare row: the engine pads the last number's record to a full stride)
        flat = np.empty((min(per_chunk, self.count) + 1) * widest, dtype=np.uint8)
        fp.write(row.header)
        written = len(row.header)
        for first, n in self._chunks(order, per_chunk):
            for start, count, digits in _runs(first, n, descending, row.has_index):
                written += self._write_rows(
                    fp, flat, row, digits, start, count, descending, box_size, boxes
                )
            if progress is not None:
                progress(n)
        return written

    def _write_rows(
        self,
        fp: IO[bytes] | Any,
        flat: np.ndarray,
        row: RowFormat,
        index_digits: int,
        first: int,
        n: int,
        descending: bool,
        box_size: int | None = None,
        boxes: dict[str, int] | None = None,
    ) -> int:
        """Write the rows of ``n`` numbers from index ``first``, whose indexes all have
        ``index_digits`` digits (so every row has the same length)."""
        series = self.series
        grouping = _grouping(series)
        widths = {
            NUMBER: series.length,
            GROUPED: len(grouping),
            INDEX: index_digits,
            PIN: series.pin_length,
            **(boxes or {}),
        }
        stride = sum(len(p) if isinstance(p, bytes) else widths[p] for p in row.parts)
        rows = flat[: (n + 1) * stride].reshape(n + 1, stride)
        places: dict[str, int] = {}
        constants = []
        at = 0
        for part in row.parts:
            if isinstance(part, bytes):
                constants.append((at, part))
                at += len(part)
            else:
                places[part] = at
                at += widths[part]
        # The number first: the engine writes each one `stride` bytes apart and pads the
        # rest of each stride, over whatever another field put there before it.
        number_at = places[NUMBER]
        _render(flat[number_at:], stride, series._layout, first, n, descending)
        if INDEX in places:
            at = places[INDEX]
            rows[:n, at : at + index_digits] = _index_digits(first, n, index_digits, descending)
        if PIN in places:
            at = places[PIN]
            schedule = series.require_pins()
            rows[:n, at : at + series.pin_length] = pins.pin_digits(
                schedule, first, n, series.pin_length, descending
            )
        if boxes and box_size:
            step = -1 if descending else 1
            into = np.arange(
                first - self.start, first - self.start + step * n, step, dtype=np.int64
            )
            for name, values in ((BOX, into // box_size + 1), (POSITION, into % box_size + 1)):
                if name in places:
                    at = places[name]
                    rows[:n, at : at + boxes[name]] = _decimal(values, boxes[name])
        if GROUPED in places:  # the number's bytes, with the separators between
            at = places[GROUPED]
            picked = np.where(grouping < 0, number_at, number_at + grouping)
            shown = rows[:n, picked]
            shown[:, grouping < 0] = ord(series.separator)
            rows[:n, at : at + len(grouping)] = shown
        for at, part in constants:
            rows[:n, at : at + len(part)] = np.frombuffer(part, dtype=np.uint8)
        fp.write(flat[: n * stride].data)
        return n * stride

    def _boxes(self, row: RowFormat, box_size: int | None) -> dict[str, int]:
        """The widths of the box columns ``row`` has (701 without a usable ``box_size``)."""
        wanted = [name for name in (BOX, POSITION) if name in row.parts]
        if not wanted and box_size is None:
            return {}
        size = as_int(box_size)
        if size is None or not 1 <= size <= MAX_BOX:
            raise InvalidArgument.bad(
                "box_size", box_size, f"must be an integer from 1 to {MAX_BOX} (cards a box)"
            )
        if not wanted:
            raise InvalidArgument.bad(
                "box_size", box_size, "needs a box or position column to write"
            )
        widths = {BOX: len(str(-(-self.count // size))), POSITION: len(str(size))}
        return {name: widths[name] for name in wanted}

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


def _grouping(series: CardSeries) -> np.ndarray:
    """Where each byte of a grouped number comes from: a position in the number, or -1
    for a separator (``CardSeries.display``)."""
    positions = list(range(series.length))
    if series.group:
        size = series.group
        positions = [
            p
            for start in range(0, series.length, size)
            for p in [-1, *positions[start : start + size]]
        ][1:]
    return np.array(positions, dtype=np.intp)


def _parsed(columns: object) -> bool:
    return isinstance(columns, tuple) and all(isinstance(c, Column) for c in columns)


def _runs(first: int, n: int, descending: bool, split: bool) -> Iterator[tuple[int, int, int]]:
    """(first index, count, digits of each index) of the pieces of a chunk within which
    every index has the same number of digits (when ``split``; else one piece)."""
    step = -1 if descending else 1
    while n > 0:
        digits = len(str(first))
        if not split:
            yield first, n, digits
            return
        if descending:
            take = min(n, first - (10 ** (digits - 1) if digits > 1 else 0) + 1)
        else:
            take = min(n, 10**digits - first)
        yield first, take, digits
        first += step * take
        n -= take


def _decimal(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative int64 ``values`` as zero-padded ASCII digits, shape (n, width)."""
    out = np.empty((len(values), width), dtype=np.uint8)
    rest = values.copy()
    for j in range(width - 1, -1, -1):
        out[:, j] = rest % 10 + 48
        rest //= 10
    return out


def _index_digits(first: int, n: int, digits: int, descending: bool) -> np.ndarray:
    """The ASCII digits of the indexes ``first, first +- 1, ...`` (all ``digits`` long),
    shape ``(n, digits)``: the engine writes them as the counters of a bare series."""
    out = np.empty((n, digits), dtype=np.uint8)
    layout = _engine.Layout(b"", b"", digits, checkdigit.NONE, "", 0)
    _engine.engine.render_into(out.reshape(-1), digits, layout, first, n, descending)
    return out


def _descending(order: object) -> bool:
    if order not in ORDERS:
        raise InvalidArgument.bad("order", order, "must be 'asc' or 'desc'")
    return order == "desc"
