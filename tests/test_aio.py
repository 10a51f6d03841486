"""The async API: the sync contract, awaited, with an event loop that keeps running."""

from __future__ import annotations

import asyncio
import time

import pytest

import cardseq
from cardseq import CardSeries
from cardseq.aio import AsyncCardService, AsyncStore

from .stores import check_ledger
from .test_concurrency import assert_disjoint_and_ledgered


def test_same_contract_awaited(shared_url):
    async def main() -> None:
        async with await AsyncStore.open(shared_url) as store:
            await store.create_series(CardSeries("A", prefix="1", length=12, method="LUHN"))
            block = await store.reserve("A", 3, request_id="r1")
            assert (block.start, block.count) == (0, 3)
            again = await store.reserve("A", 3, request_id="r1")
            assert (again.start, again.count) == (0, 3)
            with pytest.raises(cardseq.InvalidCount) as info:
                await store.reserve("A", 0)
            assert info.value.code == 3025
            assert (await store.info("A")).next_index == 3
            assert store.url == store.sync.url
            service = AsyncCardService(store)
            generated = await service.generate("A", 2)
            assert len(generated.numbers) == 2
            assert check_ledger(store.sync, "A") == [(0, 3), (3, 2)]

    asyncio.run(main())


def test_the_loop_keeps_ticking_while_reserving(shared_url):
    """32 tasks reserve for a second while a ticker sleeps 1 ms at a time: it keeps
    ticking (run on the loop, the same reservations would stall it the whole second;
    the bounds leave room for a machine shared with other work)."""

    async def main() -> tuple[tuple[float, int], list[tuple[int, int]], AsyncStore]:
        store = await AsyncStore.open(shared_url)
        await store.create_series(CardSeries("T", prefix="5", length=14))
        blocks: list[tuple[int, int]] = []
        end = time.perf_counter() + 1.0

        async def reserve() -> None:
            while time.perf_counter() < end:
                block = await store.reserve("T", 10)
                blocks.append((block.start, block.count))

        async def ticker() -> tuple[float, int]:
            worst, ticks, last = 0.0, 0, time.perf_counter()
            while time.perf_counter() < end:
                await asyncio.sleep(0.001)
                now = time.perf_counter()
                worst, ticks, last = max(worst, now - last), ticks + 1, now
            return worst, ticks

        *_, ticked = await asyncio.gather(*(reserve() for _ in range(32)), ticker())
        return ticked, blocks, store

    (worst, ticks), blocks, store = asyncio.run(main())
    try:
        assert len(blocks) > 100
        assert_disjoint_and_ledgered(store.sync, "T", blocks)
        assert ticks >= 50 and worst < 0.5, f"{ticks} ticks, worst gap {worst * 1e3:.0f} ms"
    finally:
        asyncio.run(store.aclose())
