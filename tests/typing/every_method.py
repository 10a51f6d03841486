"""A user's program that calls every public method of the sync and async APIs, with
the types a caller holds: ``mypy --strict`` must accept it (tests/test_typing.py).
It is type-checked, never run."""

from __future__ import annotations

import datetime as dt

from cardseq import Block, CardSeries, CardService
from cardseq.aio import AsyncCardService, AsyncSegmentAllocator, AsyncStore
from cardseq.allocator import SegmentAllocator
from cardseq.odds import GuessOdds
from cardseq.records import Card, Generated, GenerationEntry, Label, Lookup, SeriesDetails
from cardseq.store import LedgerEntry, Page, SeriesInfo, Store, open_store


def sync_store(store: Store, series: CardSeries, since: dt.datetime) -> None:
    series_id: int = store.create_series(series, enabled=True, details={}, exists_ok=True)
    block: Block = store.reserve("GIFT", 10, status_label="NOT_ISSUED", request_id="r1")
    store.reserve("GIFT", 1, actor="batch-job")
    store.release(series_id, block.start, 2, "NOT_ISSUED")
    store.release(series_id, block.start + 2, 1, actor="clerk")
    again: CardSeries = store.series_definition("GIFT")
    info: SeriesInfo = store.series(again.code)
    listed: list[SeriesInfo] = store.list_series()
    details: dict[str, object] = store.details(info.id)
    found: int = store.series_id(series="GIFT")
    blocks: int = store.count_reservations("GIFT")
    written: int = store.export_keys("keys.json")
    store.set_enabled("GIFT", False)
    entries: list[LedgerEntry] = store.ledger("GIFT")
    page: Page[LedgerEntry] = store.ledger_page("GIFT", kind="reserved", limit=5, since=since)
    entry: LedgerEntry | None = store.ledger_entry(page.items[0].id)
    within: list[LedgerEntry] = store.released_within("GIFT", 0, 10)
    lookup: Lookup | None = store.lookup("6000001")
    many: list[Lookup | None] = store.lookup_many(["6000001"], lenient=True)
    labels: list[Label] = store.labels()
    store.add_label("LOST", "SUSPENDED", default=False, exists_ok=True)
    store.set_default_label("SUSPENDED", label="LOST")
    state = store.card_state(series_id, 0)
    changed: bool = store.set_card_status(series_id, 0, "NOT_ISSUED", "ACTIVE", "ACTIVE", None)
    store.set_card_status(series_id, 0, "ACTIVE", "EXPIRED", "EXPIRED", None, actor="clerk")
    log = store.logged_changes(series_id, 0, limit=10, after=0)
    who: str | None = log.items[0][5]
    outcome: str = store.pin_check(series_id, 0, False, 5)
    active: int = store.count_cards(series_id, "ACTIVE")
    failed: int = store.pin_failures(series_id, 0) + store.reset_pin_failures(series_id, 0)
    version: int | None = store.schema_version()
    found_at: int | None = store.schema_found
    store.close()
    print(details, found, written, entries, entry, within, lookup, many, labels, state)
    print(changed, log.items, version, found_at, listed, blocks, who, outcome, failed, active)


def sync_service(service: CardService, series: CardSeries) -> None:
    service.create_series(series, exists_ok=True)
    info: SeriesInfo = service.series("GIFT")
    everything: list[SeriesInfo] = service.list_series()
    details: SeriesDetails = service.series_details("GIFT")
    count: int = service.count_reservations("GIFT")
    service.set_enabled("GIFT", True)
    block: Block = service.reserve("GIFT", 5, "NOT_ISSUED", request_id="r2")
    generated: Generated = service.generate("GIFT", 5, request_id="r3")
    service.generate(series="GIFT", count=1, actor="till-7")
    service.reserve("GIFT", 1, actor="printer")
    log: Page[GenerationEntry] = service.generation_log("GIFT", limit=10, label="NOT_ISSUED")
    by: str | None = log.items[0].actor
    one: GenerationEntry = service.reservation("GIFT", request_id="r3")
    exported: Block = service.export("GIFT", ledger_id=one.id)
    labels: list[Label] = service.labels()
    service.add_label("LOST", "SUSPENDED", exists_ok=True)
    service.set_default_label("SUSPENDED", "LOST")
    lookup: Lookup = service.lookup(generated.numbers[0])
    many: list[Lookup | None] = service.lookup_many(generated.numbers)
    slips: list[Lookup] = service.suggest(generated.numbers[0])
    card: Card = service.card(generated.numbers[0])
    cards = [
        service.change_status(card.number, "ACTIVE", customer_id="c1", actor="ann"),
        service.issue(generated.numbers[1], "c2", actor="ann"),
        service.suspend(card.number, actor="ann"),
        service.reactivate(card.number, actor="ann"),
        service.expire(card.number, actor="ann"),
        service.delete(generated.numbers[1], actor="ann"),
    ]
    changes = service.status_log(card.number, limit=5).items
    changed_by: str | None = changes[0].actor
    with_pins: CardSeries = service.series_with_pins("GIFT")
    right: bool = service.verify_pin(card.number, with_pins.pin(lookup.index))
    failures: int = service.pin_failures(card.number) + service.reset_pin(card.number)
    pins: list[str] = service.with_pins(exported).pins("desc")
    moved: int = service.rotate_pin_key("GIFT", "pins-2027")
    keys: list[tuple[int, str, str]] = service.pin_keys("GIFT")
    print(moved, keys, with_pins.with_pin_schedule([(0, bytes(16)), (moved, bytes(32))]))
    print(right, failures, pins, with_pins.with_pin_key(bytes(16)).require_pins())
    odds: GuessOdds = service.guess_odds("GIFT", rate=50.0)
    print(odds.seconds_for_a_card_and_pin, odds.warnings)
    print(info, everything, details, count, block, log, exported, labels, lookup, many, slips)
    print(by, changed_by)
    print([c.status for c in cards], [c.to_status for c in changes])


def sync_allocator(store: Store) -> None:
    with SegmentAllocator(store, "GIFT", step=1000) as numbers:
        first: str = numbers.next()
        print(first, next(numbers))


async def async_store(series: CardSeries, since: dt.datetime) -> None:
    async with await AsyncStore.open("sqlite:///cards.db", threads=4) as store:
        series_id: int = await store.create_series(series, exists_ok=True)
        block: Block = await store.reserve("GIFT", 10, request_id="r1")
        await store.release(series_id, block.start, 2, actor="clerk")
        await store.reserve("GIFT", 1, actor="batch-job")
        again: CardSeries = await store.series_definition("GIFT")
        info: SeriesInfo = await store.series(again.code)
        listed: list[SeriesInfo] = await store.list_series()
        details: dict[str, object] = await store.details(info.id)
        found: int = await store.series_id("GIFT")
        blocks: int = await store.count_reservations(series_id)
        written: int = await store.export_keys("keys.json")
        await store.set_enabled("GIFT", False)
        entries: list[LedgerEntry] = await store.ledger("GIFT")
        page: Page[LedgerEntry] = await store.ledger_page("GIFT", limit=5, until=since)
        entry: LedgerEntry | None = await store.ledger_entry(page.items[0].id)
        within: list[LedgerEntry] = await store.released_within("GIFT", 0, 10)
        lookup: Lookup | None = await store.lookup("6000001")
        many: list[Lookup | None] = await store.lookup_many(["6000001"])
        labels: list[Label] = await store.labels()
        await store.add_label("LOST", "SUSPENDED", exists_ok=True)
        await store.set_default_label("SUSPENDED", label="LOST")
        state = await store.card_state(series_id, 0)
        changed: bool = await store.set_card_status(
            series_id, 0, "NOT_ISSUED", "ACTIVE", "A", None, actor="clerk"
        )
        log = await store.logged_changes(series_id, 0)
        outcome: str = await store.pin_check(series_id, 0, True, 3)
        failed: int = await store.pin_failures(series_id, 0)
        failed += await store.reset_pin_failures(series_id, 0)
        failed += await store.count_cards(series_id, "ACTIVE")
        version: int | None = await store.schema_version()
        url: str = store.url
        sync: Store = store.sync
        print(details, found, written, entries, entry, within, lookup, many, labels, state)
        print(changed, log.items, version, url, sync, listed, store.schema_found, blocks)
        print(outcome, failed)
        await async_service(AsyncCardService(store, max_count=100, keys=None))
        async with AsyncSegmentAllocator(store, "GIFT", step=1000, prefetch_at=0.5) as numbers:
            first: str = await numbers.next()
            async for number in numbers:
                print(first, number)


async def async_service(service: AsyncCardService) -> None:
    info: SeriesInfo = await service.series("GIFT")
    everything: list[SeriesInfo] = await service.list_series()
    details: SeriesDetails = await service.series_details("GIFT")
    count: int = await service.count_reservations("GIFT")
    await service.set_enabled("GIFT", True)
    block: Block = await service.reserve("GIFT", 5, request_id="r2")
    generated: Generated = await service.generate("GIFT", 5, "NOT_ISSUED", request_id="r3")
    await service.generate("GIFT", 1, actor="till-7")
    await service.reserve("GIFT", 1, actor="printer")
    log: Page[GenerationEntry] = await service.generation_log("GIFT", after=0)
    one: GenerationEntry = await service.reservation("GIFT", request_id="r3")
    exported: Block = await service.export("GIFT", request_id="r3")
    labels: list[Label] = await service.labels()
    await service.add_label("LOST", "SUSPENDED", exists_ok=True)
    await service.set_default_label("SUSPENDED", "LOST")
    lookup: Lookup = await service.lookup(generated.numbers[0])
    many: list[Lookup | None] = await service.lookup_many(generated.numbers, lenient=True)
    slips: list[Lookup] = await service.suggest(generated.numbers[0])
    card: Card = await service.card(generated.numbers[0])
    cards = [
        await service.change_status(card.number, "ACTIVE", customer_id="c1"),
        await service.issue(generated.numbers[1], "c2", actor="ann"),
        await service.suspend(card.number, actor="ann"),
        await service.reactivate(card.number),
        await service.expire(card.number),
        await service.delete(generated.numbers[1]),
    ]
    changes = (await service.status_log(card.number)).items
    with_pins: CardSeries = await service.series_with_pins("GIFT")
    right: bool = await service.verify_pin(card.number, with_pins.pin(lookup.index))
    failures: int = await service.pin_failures(card.number) + await service.reset_pin(card.number)
    odds: GuessOdds = await service.guess_odds("GIFT")
    bound: Block = await service.with_pins(block)
    print(await service.rotate_pin_key("GIFT", "p2"), await service.pin_keys("GIFT"), bound)
    print(right, failures, odds.tries_for_a_card)
    store: AsyncStore = service.store
    cap: int | None = service.max_count
    print(info, everything, details, count, block, log, one, exported, labels, lookup, many)
    print(slips)
    print([c.status for c in cards], [c.to_status for c in changes], store, cap)


async def closing(store: AsyncStore) -> None:
    allocator = AsyncSegmentAllocator(store, "GIFT")
    await allocator.aclose()
    SegmentAllocator(store.sync, "GIFT").close()
    await store.aclose()


def main() -> None:
    store = open_store("sqlite:///cards.db")
    sync_store(store, CardSeries("GIFT", prefix="600", length=16), dt.datetime.now(dt.UTC))
    sync_service(CardService(store, max_count=100, keys=None), store.series_definition("GIFT"))
    sync_allocator(store)
