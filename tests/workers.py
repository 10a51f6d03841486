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


def reserve_through_failover(url: str, series: str, out: str, name: str, stop: str) -> None:
    """Reserve blocks of 10 until the file ``stop`` exists, each under its own request
    id, retried with that id through failures (a failover: no primary for a while, a
    commit cut off); write each block received as ``request_id start count time``,
    flushed, to ``out``."""
    import os
    import time

    from cardseq import StoreError
    from cardseq.store import open_store

    store = open_store(url)
    with open(out, "a") as received:
        k = 0
        while not os.path.exists(stop):
            request_id = f"{name}-{k}"
            deadline = time.time() + 60
            while True:
                try:
                    block = store.reserve(series, 10, request_id=request_id)
                    break
                except StoreError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.02)
            received.write(f"{request_id} {block.start} {block.count} {time.time()}\n")
            received.flush()
            k += 1
    store.close()
