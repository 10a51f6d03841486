"""A program still written with the old spellings: mypy accepts every call (the
aliases are real, typed methods and overloads) and, asked to, reports each as
deprecated on each line marked ``# old`` (tests/test_typing.py). It is type-checked, never run."""

from __future__ import annotations

from cardseq import Block, CardSeries, CardService
from cardseq.aio import AsyncCardService, AsyncStore
from cardseq.records import Generated
from cardseq.store import SeriesInfo, Store


def sync(store: Store, service: CardService) -> None:
    info: SeriesInfo = store.info("GIFT")  # old
    series: CardSeries = store.get_series(ref="GIFT")  # old
    details: dict[str, object] = store.series_details("GIFT")  # old
    found: int = store.series_id(ref="GIFT")  # old
    store.add_label(name="LOST", status="SUSPENDED")  # old
    store.set_default_label("SUSPENDED", name="LOST")  # old
    log = store.status_log(1, 0)  # old
    count: int = service.reservations("GIFT")  # old
    block: Block = service.reserve(series_id="GIFT", count=1)  # old
    generated: Generated = service.generate(series_id="GIFT", count=1)  # old
    print(info, series, details, found, log, count, block, generated)


async def awaited(store: AsyncStore, service: AsyncCardService) -> None:
    info: SeriesInfo = await store.info("GIFT")  # old
    count: int = await service.reservations(ref="GIFT")  # old
    generated: Generated = await service.generate(series_id="GIFT", count=1)  # old
    print(info, count, generated)
