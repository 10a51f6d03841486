"""The old spellings of renamed methods and parameters work for one release: each
warns (``DeprecationWarning``, naming the new spelling) and answers what the new one
answers, on the sync API and its ``cardseq.aio`` twin alike."""

from __future__ import annotations

import asyncio
import inspect
import warnings

import pytest

from cardseq import CardSeries, CardService
from cardseq.aio import AsyncCardService, AsyncStore
from cardseq.records import Label
from cardseq.store import Store, open_store

SERIES = CardSeries("GIFT", prefix="60", length=8)

OK, LOST = {"exists_ok": True}, {"label": "LOST"}
#: (old method, new method, old keywords: new ones, the call's arguments, newly spelt)
STORE_CASES = [
    ("info", "series", {"ref": "series"}, {"series": "GIFT"}),
    ("get_series", "series_definition", {"ref": "series"}, {"series": "GIFT"}),
    ("series_details", "details", {"ref": "series"}, {"series": "GIFT"}),
    ("series_id", "series_id", {"ref": "series"}, {"series": "GIFT"}),
    ("set_enabled", "set_enabled", {"ref": "series"}, {"series": "GIFT", "enabled": True}),
    ("add_label", "add_label", {"name": "label"}, {"label": "LOST", "status": "SUSPENDED", **OK}),
    ("set_default_label", "set_default_label", {"name": "label"}, {"status": "SUSPENDED", **LOST}),
    ("status_log", "logged_changes", {}, {"series_id": 1, "index": 0}),
]
SERVICE_CASES = [
    ("series", "series", {"ref": "series"}, {"series": "GIFT"}),
    ("series_details", "series_details", {"ref": "series"}, {"series": "GIFT"}),
    ("reservations", "count_reservations", {"ref": "series"}, {"series": "GIFT"}),
    ("set_enabled", "set_enabled", {"ref": "series"}, {"series": "GIFT", "enabled": True}),
    (
        "reserve",
        "reserve",
        {"series_id": "series"},
        {"series": "GIFT", "count": 3, "request_id": "r"},
    ),
    (
        "generate",
        "generate",
        {"series_id": "series"},
        {"series": "GIFT", "count": 2, "request_id": "g"},
    ),
    ("generation_log", "generation_log", {"series_id": "series"}, {"series": "GIFT", "limit": 5}),
    ("reservation", "reservation", {"series_id": "series"}, {"series": "GIFT", "request_id": "g"}),
    ("export", "export", {"series_id": "series"}, {"series": "GIFT", "request_id": "g"}),
]
CASES = {Store: STORE_CASES, CardService: SERVICE_CASES}
TWINS = {AsyncStore: Store, AsyncCardService: CardService}


def old_spellings(cls: type) -> set[tuple[str, str]]:
    """Every deprecated spelling ``cls`` offers: (method, "") for an old method name,
    (method, keyword) for an old keyword."""
    found = set()
    for name, value in inspect.getmembers(cls):
        if name.startswith("_"):
            continue
        if getattr(value, "__deprecated__", None):
            found.add((name, ""))
        for old in getattr(value, "__renamed__", {}):
            found.add((name, old))
    return found


def listed(cls: type) -> set[tuple[str, str]]:
    """The spellings the cases of ``cls`` try."""
    found = set()
    for old, new, renames, _ in CASES[cls]:
        found |= {(old, "")} if old != new else {(old, k) for k in renames}
    return found


def spelt(case):
    """(old method, its arguments, new method, theirs, what the warning says)."""
    old, new, renames, kwargs = case
    back = {v: k for k, v in renames.items()}
    said = rf"is now \w+\.{new}$" if old != new else f"its name is {next(iter(back))} now"
    return old, {back.get(k, k): v for k, v in kwargs.items()}, new, kwargs, said


@pytest.mark.parametrize(
    "cls", [Store, CardService, AsyncStore, AsyncCardService], ids=lambda c: c.__name__
)
def test_every_old_spelling_is_tested(cls):
    assert old_spellings(cls) == listed(TWINS.get(cls, cls))


def prepared(store: Store) -> None:
    store.create_series(SERIES)
    store.add_label("LOST", "SUSPENDED")


def both(target, old, kwargs, new, new_kwargs, names):
    with pytest.warns(DeprecationWarning, match=names) as caught:
        before = getattr(target, old)(**kwargs)
    assert len(caught) == 1 and caught[0].filename == __file__  # points at the caller
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        after = getattr(target, new)(**new_kwargs)
    assert before == after


@pytest.mark.parametrize("case", STORE_CASES, ids=lambda case: case[0])
def test_an_old_store_spelling_warns_and_answers_as_the_new(case):
    with open_store("memory://") as store:
        prepared(store)
        both(store, *spelt(case))


@pytest.mark.parametrize("case", SERVICE_CASES, ids=lambda case: case[0])
def test_an_old_service_spelling_warns_and_answers_as_the_new(case):
    with open_store("memory://") as store:
        prepared(store)
        service = CardService(store)
        service.generate("GIFT", 2, request_id="g")
        both(service, *spelt(case))


@pytest.mark.parametrize(("api", "cases"), [("store", STORE_CASES), ("service", SERVICE_CASES)])
def test_the_async_twins_keep_the_same_old_spellings(tmp_path, api, cases):
    async def main() -> None:
        async with await AsyncStore.open(f"sqlite:///{tmp_path / 's.db'}") as store:
            prepared(store.sync)
            target = store if api == "store" else AsyncCardService(store)
            await AsyncCardService(store).generate("GIFT", 2, request_id="g")
            for old, kwargs, new, new_kwargs, names in map(spelt, cases):
                with pytest.warns(DeprecationWarning, match=names):
                    before = await getattr(target, old)(**kwargs)
                with warnings.catch_warnings():
                    warnings.simplefilter("error")
                    assert await getattr(target, new)(**new_kwargs) == before, old

    asyncio.run(main())


def test_an_old_keyword_with_its_new_one_is_refused():
    with open_store("memory://") as store:
        prepared(store)
        with pytest.raises(TypeError, match="both ref= and series="):
            store.series_id(series="GIFT", ref="GIFT")


def test_a_label_unpacks_as_the_tuples_store_labels_gave_with_a_warning():
    label = Label("LOST", "SUSPENDED", False)
    with pytest.warns(DeprecationWarning, match=r"\.name, \.status, \.default"):
        name, status, default = label
    assert (name, status, default) == ("LOST", "SUSPENDED", False)
