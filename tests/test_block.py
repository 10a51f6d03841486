"""Blocks: uniqueness, order, and agreement of every output form.

Tests that format numbers take ``engine``: they run on each twin in turn."""

from __future__ import annotations

import io
import itertools
import json
import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import cardseq
from cardseq import CardSeries

from .strategies import ALL, series, series_and_range


@pytest.mark.heavy
@pytest.mark.usefixtures("engine")
@given(series_and_range(ALL))
def test_outputs_agree(case):
    s, start, count = case
    block = s.block(start, count)
    as_list = block.to_list()
    assert as_list == [s.format(i) for i in range(start, start + count)]
    array = block.to_numpy()
    assert array.dtype == np.dtype(f"S{s.length}")
    assert [x.decode() for x in array] == as_list
    fp = io.BytesIO()
    written = block.write(fp, chunk_bytes=97)
    assert fp.getvalue() == "".join(n + "\n" for n in as_list).encode()
    assert written == len(fp.getvalue())
    assert list(block) == as_list
    assert len(block) == count


@pytest.mark.heavy
@pytest.mark.usefixtures("engine")
@given(series_and_range(ALL), st.sampled_from(["asc", "desc"]), st.integers(1, 400))
def test_write_formats(case, order, chunk_bytes):
    """csv and jsonl carry the same numbers, whatever the chunking."""
    s, start, count = case
    block = s.block(start, count)
    expected = block.to_list(order)
    csv_out, jsonl_out = io.BytesIO(), io.BytesIO()
    block.write(csv_out, order, fmt="csv", chunk_bytes=chunk_bytes)
    block.write(jsonl_out, order, fmt="jsonl", chunk_bytes=chunk_bytes)
    assert csv_out.getvalue().decode().splitlines() == ["number", *expected]
    assert [json.loads(line)["number"] for line in jsonl_out.getvalue().splitlines()] == expected
    with pytest.raises(cardseq.InvalidArgument):
        block.write(io.BytesIO(), fmt="xml")


@pytest.mark.heavy
@pytest.mark.usefixtures("engine")
@given(series_and_range(ALL))
def test_desc_is_reverse_of_asc(case):
    s, start, count = case
    block = s.block(start, count)
    assert block.to_list("desc") == block.to_list()[::-1]
    assert (block.to_numpy("desc") == block.to_numpy()[::-1]).all()
    fp = io.BytesIO()
    block.write(fp, "desc", chunk_bytes=50)
    assert fp.getvalue().decode().splitlines() == block.to_list()[::-1]


@pytest.mark.usefixtures("engine")
@given(series_and_range())
def test_unique_and_strictly_increasing(case):
    s, start, count = case
    numbers = s.block(start, count).to_list()
    assert len(set(numbers)) == count
    assert all(a < b for a, b in itertools.pairwise(numbers))
    if (s.prefix.isdigit() or not s.prefix) and (not s.suffix or s.suffix.isdigit()):
        values = [int(n) for n in numbers]
        assert all(a < b for a, b in itertools.pairwise(values))


@pytest.mark.heavy
@pytest.mark.usefixtures("engine")
@given(series(ALL, max_width=40), st.data())
def test_disjoint_blocks_share_no_number(s, data):
    cut = data.draw(st.integers(1, s.capacity)) if s.capacity > 1 else 1
    lo = max(0, cut - 300)
    hi = min(s.capacity, cut + 300)
    first = set(s.block(lo, cut - lo).to_list()) if cut > lo else set()
    second = set(s.block(cut, hi - cut).to_list()) if hi > cut else set()
    assert not first & second
    assert all(s.parse(n) < cut for n in first)
    assert all(s.parse(n) >= cut for n in second)


@pytest.mark.usefixtures("engine")
def test_edges_of_the_capacity():
    s = CardSeries("E", prefix="AB", length=8, offset=99_990, method="LUHN")
    assert s.capacity == 10
    numbers = s.block(0, 10).to_list()
    assert numbers[0].startswith("AB99990") and numbers[-1].startswith("AB99999")
    assert [s.parse(n) for n in numbers] == list(range(10))
    with pytest.raises(cardseq.SeriesExhausted) as info:
        s.block(5, 6)
    assert info.value.code == 702 and info.value.field == "count"


@pytest.mark.usefixtures("engine")
def test_hundred_digit_counters_cross_carries():
    s = CardSeries("H", length=120, method="MOD7")
    start = 10**118 - 150  # crosses a carry through all 118 upper digits
    numbers = s.block(start, 300).to_list()
    assert numbers == [s.format(i) for i in range(start, start + 300)]
    assert numbers[150][:119] == "1" + "0" * 118


@pytest.mark.parametrize(
    ("start", "count", "error", "code", "field"),
    [
        (-1, 1, cardseq.InvalidArgument, 701, "start"),
        ("0", 1, cardseq.InvalidArgument, 701, "start"),
        (0, 0, cardseq.InvalidCount, 3025, "count"),
        (0, -5, cardseq.InvalidCount, 3025, "count"),
        (0, True, cardseq.InvalidCount, 3025, "count"),
        (0, 2.0, cardseq.InvalidCount, 3025, "count"),
        (0, "3", cardseq.InvalidCount, 3025, "count"),
        (0, None, cardseq.InvalidCount, 3025, "count"),
        (0, 10**6 + 1, cardseq.SeriesExhausted, 702, "count"),
        (10**6, 1, cardseq.SeriesExhausted, 702, "start"),
    ],
)
def test_bad_ranges(start, count, error, code, field):
    s = CardSeries("R", length=6)
    with pytest.raises(error) as info:
        s.block(start, count)
    assert info.value.code == code and info.value.field == field


@pytest.mark.parametrize("order", ["ASC", "up", None, 1])
def test_bad_order(order):
    block = CardSeries("R", length=6).block(0, 3)
    for call in (block.to_list, block.to_numpy, lambda o: block.write(io.BytesIO(), o)):
        with pytest.raises(cardseq.InvalidArgument) as info:
            call(order)
        assert info.value.field == "order"


class _Sink:
    """A binary file that keeps only a count of what it was given."""

    def __init__(self) -> None:
        self.size = 0
        self.largest = 0

    def write(self, data) -> int:
        n = memoryview(data).nbytes
        self.size += n
        self.largest = max(self.largest, n)
        return n


@pytest.mark.usefixtures("engine")
def test_write_streams_in_bounded_memory():
    """Two million numbers (48 MB of output) pass through a few MB of memory."""
    s = CardSeries("M", prefix="Test09", suffix="end", length=23, method="LUHN")
    block = s.block(0, 2_000_000)
    sink = _Sink()
    tracemalloc.start()
    try:
        block.write(sink, "desc", chunk_bytes=1 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sink.size == 2_000_000 * 24
    assert sink.largest <= 1 << 20
    assert peak < 8 << 20, f"peak {peak} bytes"


@pytest.mark.parametrize("output", ["to_list", "to_numpy"])
def test_block_too_big_for_memory_is_a_coded_error(output):
    block = CardSeries("BIG", prefix="9", length=20).block(0, 10**15)
    with pytest.raises(cardseq.CountTooLarge) as info:
        getattr(block, output)()
    assert info.value.code == 3026 and "memory" in info.value.message


def test_check_fits_refuses_what_memory_cannot_hold_and_skips_the_check_when_small(
    monkeypatch,
) -> None:
    """A list far beyond the machine's memory is 3026 before anything is reserved; a
    small one is let through without reading the system's figures (a server checks
    every request)."""
    import cardseq.block
    from cardseq.block import check_fits

    series = CardSeries("BIG", prefix="9", length=150)
    with pytest.raises(cardseq.CountTooLarge) as info:
        check_fits(series, 10**12)
    assert info.value.code == 3026 and "MiB of memory" in info.value.message

    def unread() -> int:
        raise AssertionError("memory_available read for a small list")

    monkeypatch.setattr(cardseq.block, "memory_available", unread)
    check_fits(series, 1000)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_every_order_of_the_columns_writes_whole_rows(fmt):
    """On main `--columns index,number` lost every index but the first: the engine
    pads each number's record to the next one's start, over a field written before it.
    Every order of the varying and constant fields, over several chunks."""
    import csv
    import io
    import itertools
    import json

    series = CardSeries("ORD", prefix="6", length=16, method="LUHN", group=4)
    block = series.block(95, 30)  # indexes of two and three digits
    numbers = block.to_list()
    for names in itertools.permutations(["index", "number", "series_code", "grouped"]):
        out = io.BytesIO()
        block.write(out, fmt=fmt, columns=",".join(names), chunk_bytes=200)
        text = out.getvalue().decode()
        if fmt == "csv":
            rows = list(csv.DictReader(io.StringIO(text)))
        else:
            rows = [json.loads(line) for line in text.splitlines()]
        assert [str(r["index"]) for r in rows] == [str(i) for i in range(95, 125)], names
        assert [r["number"] for r in rows] == numbers, names
        assert [r["grouped"] for r in rows] == [series.display(n) for n in numbers], names
        assert {r["series_code"] for r in rows} == {"ORD"}, names
