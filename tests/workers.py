"""Code that tests run in other processes (importable, for multiprocessing's spawn)."""

from __future__ import annotations

import random
import sys

from tests.stores import open_api


def reserve_many(
    url: str, series: str, rounds: int, seed: int, api: str = "sync"
) -> list[tuple[int, int]]:
    """Reserve ``rounds`` blocks of random sizes through ``api``; return their (start,
    count)."""
    rng = random.Random(seed)
    with open_api(api, url) as store:
        return [
            (b.start, b.count)
            for b in (store.reserve(series, rng.randint(1, 40)) for _ in range(rounds))
        ]


def reserve_forever(url: str, series: str, api: str = "sync") -> None:
    """Print each block reserved through ``api`` as ``start count`` until killed (or
    until an error, which is printed as ``error CODE MESSAGE``)."""
    from cardseq import CardSeqError

    rng = random.Random()
    store = open_api(api, url)
    try:
        while True:
            block = store.reserve(series, rng.randint(1, 40))
            print(block.start, block.count, flush=True)
    except CardSeqError as error:
        print("error", error.code, error, flush=True)


if __name__ == "__main__":
    reserve_forever(*sys.argv[1:4])
