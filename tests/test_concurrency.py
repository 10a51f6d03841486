"""Many threads and processes reserving at once: no number twice, the ledger matches."""

from __future__ import annotations

import itertools
import multiprocessing
import random
import threading

import pytest

from cardseq import CardSeries
from cardseq.store import open_store

from .stores import check_ledger, open_api
from .workers import reserve_many


@pytest.fixture
def url(shared_url):
    """Each store that threads and processes share: a SQLite file, PostgreSQL."""
    return shared_url


def assert_disjoint_and_ledgered(store, series, blocks):
    ranges = sorted(blocks)
    for (start, count), (after, _) in itertools.pairwise(ranges):
        assert start + count <= after, "two callers got overlapping blocks"
    assert ranges == check_ledger(store, series)
    definition = store.series_definition(series)
    numbers = [n for start, count in ranges for n in definition.block(start, count).to_list()]
    assert len(numbers) == len(set(numbers)) == sum(c for _, c in ranges)


def test_sixteen_threads(url, api):
    with open_api(api, url, keys={"t": bytes(range(32))}) as store:
        store.create_series(
            CardSeries("T", prefix="5", length=14, method="RANDOM_LUHN", key_id="t")
        )
        blocks: list[tuple[int, int]] = []
        lock = threading.Lock()

        def work(seed: int) -> None:
            rng = random.Random(seed)
            for _ in range(25):
                block = store.reserve("T", rng.randint(1, 40))
                with lock:
                    blocks.append((block.start, block.count))

        threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(blocks) == 16 * 25
        assert_disjoint_and_ledgered(store, "T", blocks)


@pytest.mark.heavy
def test_eight_processes(url, api):
    with open_store(url) as store:
        store.create_series(CardSeries("P", prefix="6", length=14, method="LUHN"))
    context = multiprocessing.get_context("spawn")
    with context.Pool(8) as pool:
        results = pool.starmap(reserve_many, [(url, "P", 30, seed, api) for seed in range(8)])
    blocks = [b for result in results for b in result]
    assert len(blocks) == 8 * 30
    with open_store(url) as store:
        assert_disjoint_and_ledgered(store, "P", blocks)
