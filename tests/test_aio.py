"""The async API: the sync contract, awaited, with an event loop that keeps running."""

from __future__ import annotations

import asyncio
import collections
import threading
import time

import pytest

import cardseq
from cardseq import CardSeries
from cardseq.aio import AsyncCardService, AsyncSegmentAllocator, AsyncStore
from cardseq.errors import CardSeqError, StoreError
from cardseq.store import async_driver
from cardseq.store.async_driver import RESUME_PER_TURN, AsyncGroupCommit
from cardseq.store.base import SCHEMA_VERSION
from cardseq.store.batch import Outcome
from cardseq.store.ops import Work

from .stores import BACKENDS, check_ledger, store_url
from .test_concurrency import assert_disjoint_and_ledgered
from .test_group_commit import MIXED, check_mixed


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
            assert (await store.series("A")).next_index == 3
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


@pytest.fixture(params=BACKENDS)
def url(request, tmp_path) -> str:
    return store_url(request.param, tmp_path, request)


def hold_first_batch(store: AsyncStore, release: threading.Event | None = None) -> list[int]:
    """Record the size of each batch of reservations the store commits; with
    ``release``, the first one waits for it before it begins (its batch-mates-to-be
    queue meanwhile)."""
    sizes: list[int] = []
    real = store.sync._reserve_batch

    def held(requests):
        sizes.append(len(requests))
        if len(sizes) == 1 and release is not None:
            yield Work(lambda: release.wait(30))
        return (yield from real(requests))

    store.sync._reserve_batch = held
    return sizes


async def reserve_in_one_batch(store: AsyncStore, calls: dict) -> tuple[dict, list[int]]:
    """Run ``calls`` (name: reserve's arguments) as tasks that queue, in order, behind a
    first reservation ("lead", 1 of "A") whose batch is held; return each call's block
    or error, and the sizes of the batches."""
    for series in {"A", *(series for series, _, _ in calls.values())}:
        await store.series_definition(series)  # known: each call goes straight to the queue
    release = threading.Event()
    sizes = hold_first_batch(store, release)

    async def run(series: str, count: int, options: dict):
        try:
            return await store.reserve(series, count, **options)
        except CardSeqError as error:
            return error

    lead = asyncio.create_task(run("A", 1, {}))
    while not sizes:
        await asyncio.sleep(0.005)
    tasks = {name: asyncio.create_task(run(*call)) for name, call in calls.items()}
    await asyncio.sleep(0.2)  # every task has queued its request
    release.set()
    return {"lead": await lead} | {name: await task for name, task in tasks.items()}, sizes


def test_a_batch_of_tasks_gives_each_its_own_outcome(url):
    """The async group commit: requests awaiting together share one transaction, each
    with its own block or error; a refused one never fails its batch-mates."""

    async def main() -> None:
        async with await AsyncStore.open(url) as store:
            await store.create_series(CardSeries("A", prefix="1", length=8))
            await store.create_series(CardSeries("OFF", prefix="2", length=8), enabled=False)
            earlier = await store.reserve("A", 4, request_id="r0")
            outcomes, sizes = await reserve_in_one_batch(store, MIXED)
            assert sizes == [1, 10], "the queued requests did not share one transaction"
            check_mixed(outcomes, earlier, await store.ledger("A"))
            assert await store.ledger("OFF") == []
            assert (await store.reserve("A", 1)).start == 16  # the refused left nothing

    asyncio.run(main())


def test_a_batch_resumes_its_callers_a_few_per_turn_of_the_loop(url):
    """The callers of one batch resume at most RESUME_PER_TURN per turn of the event
    loop, so that the loop's timers and I/O never wait for a whole batch of them."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        turn, counting = 0, True

        def count_turns() -> None:  # runs once in each turn of the loop
            nonlocal turn
            turn += 1
            if counting:
                loop.call_soon(count_turns)

        async def reserve() -> int:
            await store.reserve("A", 1)
            return turn

        async with await AsyncStore.open(url) as store:
            await store.create_series(CardSeries("A", prefix="1", length=8))
            release = threading.Event()
            sizes = hold_first_batch(store, release)
            lead = asyncio.create_task(store.reserve("A", 1))
            while not sizes:
                await asyncio.sleep(0.005)
            callers = [asyncio.create_task(reserve()) for _ in range(3 * RESUME_PER_TURN)]
            await asyncio.sleep(0.2)  # every caller has queued
            count_turns()
            release.set()
            await lead
            turns = await asyncio.gather(*callers)
            counting = False
        assert sizes == [1, len(callers)], "the callers did not share one batch"
        per_turn = collections.Counter(turns)
        assert max(per_turn.values()) == RESUME_PER_TURN
        assert len(per_turn) == 3

    asyncio.run(main())


def test_batches_stay_whole_when_their_callers_resume_in_turns(monkeypatch):
    """The callers of a batch resume a few per turn of the loop; the next batch waits
    (up to GATHER_SECONDS) for them to queue again, so callers in a loop keep
    committing together rather than in the pieces they resumed in."""
    # A bound no loaded machine reaches (the wait ends once they are all back): the
    # test is about waiting for them, not about how fast a turn of the loop is.
    monkeypatch.setattr(async_driver, "GATHER_SECONDS", 60.0)
    sizes: list[int] = []

    async def commit(requests):
        sizes.append(len(requests))
        await asyncio.sleep(0.005)
        return [Outcome(r) for r in requests]

    async def main() -> None:
        group = AsyncGroupCommit(commit)

        async def caller(i: int) -> None:
            for _ in range(5):
                assert await group.submit(i) == i

        await asyncio.gather(*(caller(i) for i in range(3 * RESUME_PER_TURN)))

    asyncio.run(main())
    assert sizes == [3 * RESUME_PER_TURN] * 5


def test_many_tasks_share_commits(shared_url):
    """64 tasks reserving at once on one event loop: far fewer commits than
    reservations, and the ledger tiles the series."""

    async def main() -> None:
        async with await AsyncStore.open(shared_url) as store:
            await store.create_series(CardSeries("G", prefix="3", length=12))
            sizes = hold_first_batch(store)

            async def work() -> list[tuple[int, int]]:
                return [((b := await store.reserve("G", 7)).start, b.count) for _ in range(10)]

            results = await asyncio.gather(*(work() for _ in range(64)))
            blocks = [block for result in results for block in result]
            assert sum(sizes) == len(blocks) == 640
            assert len(sizes) < 640 / 4, f"{len(sizes)} commits for 640"
            assert_disjoint_and_ledgered(store.sync, "G", blocks)

    asyncio.run(main())


def test_a_failed_async_batch_fails_each_of_its_callers_and_the_next_one_runs():
    batches: list[list[int]] = []

    async def commit(requests):
        batches.append(list(requests))
        await asyncio.sleep(0.05)
        if len(batches) == 2:
            raise StoreError("the batch failed")
        return [Outcome(2 * r) for r in requests]

    async def main() -> None:
        group = AsyncGroupCommit(commit)

        async def run(request: int):
            try:
                return await group.submit(request)
            except StoreError as error:
                return error.code

        first = asyncio.create_task(run(1))
        await asyncio.sleep(0.01)  # the first batch runs
        rest = [asyncio.create_task(run(r)) for r in (2, 3, 4)]
        assert [await first, *[await t for t in rest]] == [2, 500, 500, 500]
        assert batches == [[1], [2, 3, 4]]
        assert await group.submit(5) == 10

    asyncio.run(main())


def test_a_cancelled_caller_leaves_the_line_moving():
    async def commit(requests):
        await asyncio.sleep(0.05)
        return [Outcome(2 * r) for r in requests]

    async def main() -> None:
        group = AsyncGroupCommit(commit)
        first = asyncio.create_task(group.submit(1))
        await asyncio.sleep(0.01)
        second = asyncio.create_task(group.submit(2))
        await asyncio.sleep(0.01)
        second.cancel()
        assert await first == 2
        assert await asyncio.wait_for(group.submit(3), 5) == 6

    asyncio.run(main())


def test_a_card_s_life_awaited(shared_url):
    """The async service runs the sync service's operations: generate, issue, suspend,
    the card and its log, and the domain errors, all awaited."""

    async def main() -> None:
        async with await AsyncStore.open(shared_url) as store:
            service = AsyncCardService(store, max_count=100)
            await service.create_series(CardSeries("C", prefix="6", length=12, method="LUHN"))
            number = (await service.generate("C", 3)).numbers[0]
            assert (await service.card(number)).status == "NOT_ISSUED"
            assert (await service.issue(number, "cust")).status == "ACTIVE"
            assert (await service.suspend(number)).status == "SUSPENDED"
            log = (await service.status_log(number)).items
            assert [(c.from_status, c.to_status) for c in log] == [
                ("NOT_ISSUED", "ACTIVE"),
                ("ACTIVE", "SUSPENDED"),
            ]
            with pytest.raises(cardseq.CountTooLarge):
                await service.generate("C", 101)
            assert (await service.delete(number)).status == "DELETED"
            with pytest.raises(cardseq.TransitionNotAllowed):
                await service.issue(number, "cust")
            big = await AsyncCardService(store).generate("C", 5000)  # formatted off the loop
            assert len(big.numbers) == 5000 and service.sync.store is store.sync

    asyncio.run(main())


def test_async_allocator_hands_out_the_ledger(url):
    """Single numbers, in order, from segments; closing releases what was not handed
    out, the prefetched segment included."""

    async def main() -> None:
        async with await AsyncStore.open(url) as store:
            await store.create_series(CardSeries("ONE", prefix="7", length=8))
            async with AsyncSegmentAllocator(store, "ONE", step=10) as numbers:
                taken = [await numbers.next() for _ in range(13)]
            assert taken == [f"7{i:07d}" for i in range(13)]
            rows = [(e.kind, e.start, e.count) for e in await store.ledger("ONE")]
            assert rows == [
                ("reserved", 0, 10),
                ("reserved", 10, 10),
                ("released", 13, 7),
            ]
            with pytest.raises(cardseq.InvalidArgument):
                await numbers.next()

    asyncio.run(main())


def test_async_allocator_refills_before_a_segment_runs_out(shared_url):
    """A caller slower than a refill never waits for one: each segment after the first
    is ready when the one before runs out (its reservation started at the low-water
    mark). One that drains faster waits, and still gets every number once."""

    async def main() -> None:
        async with await AsyncStore.open(shared_url) as store:
            await store.create_series(CardSeries("S", prefix="8", length=10))
            numbers = AsyncSegmentAllocator(store, "S", step=40)
            ready: list[bool] = []
            refill = numbers._refill

            async def watched() -> None:
                pending = numbers._pending
                ready.append(pending is not None and pending.done())
                await refill()

            numbers._refill = watched
            slow = []
            for _ in range(200):
                slow.append(await numbers.next())
                # slower than a refill, whatever the machine's load: a refill under
                # way ends before this caller takes its next number
                if numbers._pending is not None:
                    await asyncio.wait([numbers._pending])
            assert ready == [False, True, True, True, True], ready

            async def drain() -> list[str]:
                return [await numbers.next() for _ in range(300)]

            fast = [n for part in await asyncio.gather(drain(), drain()) for n in part]
            await numbers.aclose()
            handed = slow + fast
            assert len(set(handed)) == len(handed) == 800
            series = await store.series_definition("S")
            indexes = sorted(series.parse(n) for n in handed)
            assert indexes == list(range(800))
            check_ledger(store.sync, "S")

    asyncio.run(main())


def test_no_database_call_runs_on_the_event_loop_s_thread(shared_url):
    """Every transaction of the async API runs off the loop's thread (SQLite: on the
    writer or a reader thread) or on async connections (PostgreSQL: the sync store's
    connections are never used after opening)."""

    async def main() -> None:
        async with await AsyncStore.open(shared_url) as store:
            loop_thread = threading.current_thread()
            used: list[tuple[str, threading.Thread]] = []
            for name in ("_transaction", "_reading"):
                real = getattr(store.sync, name)

                def spy(real=real, name=name):
                    used.append((name, threading.current_thread()))
                    return real()

                setattr(store.sync, name, spy)
            service = AsyncCardService(store)
            await service.create_series(CardSeries("L", prefix="5", length=12, method="LUHN"))
            numbers = (await service.generate("L", 3000)).numbers
            block = await store.reserve("L", 10, request_id="x")
            await store.release("L", block.start + 5, 5)
            await service.issue(numbers[0], "c")
            assert (await service.card(numbers[0])).status == "ACTIVE"
            assert len(await store.lookup_many(numbers[:100])) == 100
            await store.set_enabled("L", False)
            assert await store.schema_version() == SCHEMA_VERSION
            if shared_url.startswith("sqlite"):
                assert used and all(thread is not loop_thread for _, thread in used), used
            else:
                assert used == [], "the sync store's connections were used"

    asyncio.run(main())
