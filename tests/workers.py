"""Code that tests run in other processes (importable, for multiprocessing's spawn)."""

from __future__ import annotations

import random
import sys

from cardseq.store import open_store


def reserve_many(url: str, series: str, rounds: int, seed: int) -> list[tuple[int, int]]:
    """Reserve ``rounds`` blocks of random sizes; return their (start, count)."""
    rng = random.Random(seed)
    with open_store(url) as store:
        return [
            (b.start, b.count)
            for b in (store.reserve(series, rng.randint(1, 40)) for _ in range(rounds))
        ]


def reserve_forever(url: str, series: str) -> None:
    """Print each reserved block as ``start count`` until killed (or until an error,
    which is printed as ``error CODE MESSAGE``)."""
    from cardseq import CardSeqError

    rng = random.Random()
    store = open_store(url)
    try:
        while True:
            block = store.reserve(series, rng.randint(1, 40))
            print(block.start, block.count, flush=True)
    except CardSeqError as error:
        print("error", error.code, error, flush=True)


if __name__ == "__main__":
    reserve_forever(sys.argv[1], sys.argv[2])
