"""Validation throughput: bulk ``is_valid``/``parse`` and ``Store.lookup_many``, each
beside its one-at-a-time baseline in one process.

    python benchmarks/validation.py [--n 10000000] [--lookups 100000] [--blocks 10000]

Cases compared with each other run in turn, once per round (after a discarded warm-up
round), so that a noisy neighbour slows all of them alike; each figure is the median
of the rounds. Slow baselines run on a slice and are compared per number. Exits 1 when
a target is missed:

- bulk ``is_valid`` and ``parse`` of N 16-digit LUHN numbers: at least 10M numbers/s;
- ``lookup_many`` of 100,000 numbers of a series with 10,000 ledger blocks, on SQLite:
  at least 200k numbers/s.
"""

from __future__ import annotations

import argparse
import gc
import pathlib
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cardseq  # noqa: E402
from cardseq import CardSeries, _engine, _engine_py  # noqa: E402
from cardseq.store import open_store  # noqa: E402


def medians(cases: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Each case's median time over ``rounds`` rounds, the cases in turn in each round."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for round_ in range(rounds + 1):
        for name, run in cases.items():
            gc.collect()
            began = time.perf_counter()
            run()
            took = time.perf_counter() - began
            if round_:
                times[name].append(took)
    return {name: statistics.median(t) for name, t in times.items()}


def report(title: str, counts: dict[str, int], took: dict[str, float]) -> dict[str, float]:
    """Print each case's median and rate; return the rates (numbers per second)."""
    print(title)
    width = max(map(len, took))
    rates = {}
    for name, seconds in took.items():
        rates[name] = counts[name] / seconds
        print(
            f"  {name:<{width}}  {counts[name]:>10,} numbers  median {seconds * 1e3:9.1f} ms"
            f"  {rates[name] / 1e6:8.3f} M/s"
        )
    return rates


def bulk_cases(n: int, rounds: int) -> bool:
    from stdnum import luhn

    series = CardSeries("V", prefix="400000", length=16, method="LUHN")
    numbers = series.block(0, n).to_numpy()
    numbers[::10] = b"4000000000000011"  # a tenth of them invalid: a real batch has some
    small = max(1, n // 100)
    texts = numbers[:small].astype(str).tolist()

    def pure_is_valid() -> object:
        saved, _engine.engine = _engine.engine, _engine_py
        try:
            return series.is_valid_many(numbers[: n // 10])
        finally:
            _engine.engine = saved

    cases: dict[str, Callable[[], object]] = {
        "stdnum.luhn.is_valid loop, N/100": lambda: [luhn.is_valid(t) for t in texts],
        "CardSeries.is_valid loop, N/100": lambda: [series.is_valid(t) for t in texts],
        "is_valid_many": lambda: series.is_valid_many(numbers),
        "parse_many": lambda: series.parse_many(numbers),
        "is_valid_many, pure twin, N/10": pure_is_valid,
    }
    counts = {
        name: small if "N/100" in name else n // 10 if "N/10" in name else n for name in cases
    }
    rate = report(
        f"bulk validation of {n:,} 16-digit LUHN numbers (dtype S16), {rounds} rounds",
        counts,
        medians(cases, rounds),
    )
    stdnum_rate = rate["stdnum.luhn.is_valid loop, N/100"]
    failed = False
    for name in ("is_valid_many", "parse_many"):
        ok = rate[name] >= 10e6
        failed |= not ok
        print(
            f"  {name}: {rate[name] / stdnum_rate:,.0f}x the stdnum loop,"
            f" {rate[name] / rate['CardSeries.is_valid loop, N/100']:,.0f}x the scalar loop"
            f"  (target >= 10 M/s: {'ok' if ok else 'MISSED'})"
        )
    return failed


def lookup_cases(lookups: int, blocks: int, rounds: int, directory: str) -> bool:
    url = f"sqlite:///{directory}/bench.db"
    block = 20
    with open_store(url) as store:
        store.create_series(CardSeries("V", prefix="400000", length=16, method="LUHN"))
        for k in range(blocks):
            store.reserve("V", block)
            if k % 10 == 9:  # some blocks partly given back: released numbers too
                store.release("V", k * block + 15, 5)
        series = store.get_series("V")
        rng = np.random.default_rng(7)
        # indexes across the ledger and a little past it (not reserved yet)
        indexes = rng.integers(0, blocks * block * 11 // 10, lookups)
        numbers = [series.format(int(i)) for i in indexes]
        small = max(1, lookups // 100)
        cases: dict[str, Callable[[], object]] = {
            "Store.lookup loop, N/100": lambda: [store.lookup(x) for x in numbers[:small]],
            "Store.lookup_many": lambda: store.lookup_many(numbers),
        }
        took = medians(cases, rounds)
    rate = report(
        f"\nstore lookups of {lookups:,} numbers, a series with {blocks:,} ledger blocks"
        f" (SQLite), {rounds} rounds",
        {"Store.lookup loop, N/100": small, "Store.lookup_many": lookups},
        took,
    )
    many = rate["Store.lookup_many"]
    ok = many >= 200e3
    print(
        f"  lookup_many: {many / rate['Store.lookup loop, N/100']:,.0f}x the lookup loop"
        f"  (target >= 200k/s: {'ok' if ok else 'MISSED'})"
    )
    return not ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="numbers per bulk case")
    parser.add_argument("--lookups", type=int, default=100_000)
    parser.add_argument("--blocks", type=int, default=10_000, help="ledger blocks")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(
        f"cardseq {cardseq.__version__}, compiled={cardseq.COMPILED}, numpy {np.__version__},"
        f" Python {platform.python_version()}, {platform.machine()}\n"
    )
    if not cardseq.COMPILED:
        print("warning: the compiled engine is not loaded; the figures are the pure twin's")
    failed = bulk_cases(args.n, args.rounds)
    with tempfile.TemporaryDirectory() as directory:
        failed |= lookup_cases(args.lookups, args.blocks, args.rounds, directory)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
