"""pytest-benchmark cases for the engine: python -m pytest benchmarks [--benchmark-only].

N is 10 million by default, as in the figures the project quotes; CARDSEQ_BENCH_N
makes it smaller for a quick look.
"""

from __future__ import annotations

import io
import os

import numpy as np
import pytest

from cardseq import CardSeries, _engine_py

N = int(os.environ.get("CARDSEQ_BENCH_N", 10_000_000))
LENGTH = 23


def series(method: str) -> CardSeries:
    return CardSeries("Test", prefix="Test09", suffix="end", length=LENGTH, method=method)


def test_baseline_numpy_fill(benchmark):
    """What any array of this size costs: allocate N * 23 bytes and write each one."""
    benchmark(np.full, N * LENGTH, 48, np.uint8)


@pytest.mark.parametrize("method", ["DEFAULT", "LUHN", "MOD7"])
def test_to_numpy(benchmark, method):
    block = series(method).block(0, N)
    benchmark(block.to_numpy)


def test_to_numpy_desc(benchmark):
    block = series("LUHN").block(0, N)
    benchmark(block.to_numpy, "desc")


def test_baseline_str_range(benchmark):
    benchmark(lambda: [str(i) for i in range(N)])


def test_to_list(benchmark):
    block = series("DEFAULT").block(0, N)
    benchmark(block.to_list)


@pytest.mark.parametrize("method", ["DEFAULT", "LUHN"])
def test_to_list_of_a_request(benchmark, method):
    """A block the size of one HTTP request (100 numbers, newest first): what a block
    costs to start counts here, not the numbers."""
    block = series(method).block(123_456, 100)
    benchmark(block.to_list, "desc")


def test_baseline_fstring_request(benchmark):
    """The same 100 numbers from an f-string loop."""
    benchmark(lambda: [f"Test09{i:014d}end" for i in range(123_555, 123_455, -1)])


def test_write(benchmark):
    block = series("LUHN").block(0, N)

    def write():
        block.write(io.BytesIO())

    benchmark(write)


def test_pure_twin_to_numpy(benchmark):
    layout = series("DEFAULT")._layout
    n = N // 10

    def run():
        out = np.empty(n, dtype=f"S{LENGTH}")
        _engine_py.render_into(out.view(np.uint8), LENGTH, layout, 0, n, False)

    benchmark(run)


def test_baseline_fstring_loop(benchmark):
    n = N // 10
    benchmark(lambda: [f"Test09{i:014d}end" for i in range(n)])


def keyed_series() -> CardSeries:
    return CardSeries(
        "Gift", prefix="600000", length=23, method="RANDOM_LUHN", key=bytes(range(32))
    )


def test_random_luhn_to_numpy(benchmark):
    """16-digit keyed counters with a Luhn digit, on all cores."""
    block = keyed_series().block(0, N // 5)
    benchmark(block.to_numpy)


def test_ff3_encrypt(benchmark):
    """The ff3 package's FF3-1 over 16 digits: 1/1000 of N numbers."""
    ff3 = pytest.importorskip("ff3")
    cipher = ff3.FF3Cipher("EF4359D8D580AA4F7F036D6F04FC6A94", "D8E7920AFA330A73")
    benchmark(lambda: [cipher.encrypt(f"{i:016d}") for i in range(N // 1000)])
