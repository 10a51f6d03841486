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

#: (class, old method, old keywords, new method, new keywords, what the warning names)
STORE_CASES = [
    ("info", {"ref": "GIFT"}, "series", {"series": "GIFT"}, "Store.series"),
    ("get_series", {"ref": "GIFT"}, "series_definition", {"series": "GIFT"}, "series_definition"),
    ("series_details", {"ref": "GIFT"}, "details", {"series": "GIFT"}, "Store.details"),
    ("series_id", {"ref": "GIFT"}, "series_id", {"series": "GIFT"}, "series now"),
    (
        "set_enabled",
        {"ref": "GIFT", "enabled": True},
        "set_enabled",
        {"series": "GIFT", "enabled": True},
        "series now",
    ),
    (
        "add_label",
        {"name": "LOST", "status": "SUSPENDED", "exists_ok": True},
        "add_label",
        {"label": "LOST", "status": "SUSPENDED", "exists_ok": True},
        "label now",
    ),
    (
        "set_default_label",
        {"status": "SUSPENDED", "name": "LOST"},
        "set_default_label",
        {"status": "SUSPENDED", "label": "LOST"},
        "label now",
    ),
    (
        "status_log",
        {"series_id": 1, "index": 0},
        "logged_changes",
        {"series_id": 1, "index": 0},
        "Store.logged_changes",
    ),
]
SERVICE_CASES = [
    ("series", {"ref": "GIFT"}, "series", {"series": "GIFT"}, "series now"),
    ("series_details", {"ref": "GIFT"}, "series_details", {"series": "GIFT"}, "series now"),
    (
        "reservations",
        {"ref": "GIFT"},
        "count_reservations",
        {"series": "GIFT"},
        "count_reservations",
    ),
    (
        "set_enabled",
        {"ref": "GIFT", "enabled": True},
        "set_enabled",
        {"series": "GIFT", "enabled": True},
        "series now",
    ),
    (
        "reserve",
        {"series_id": "GIFT", "count": 3, "request_id": "r"},
        "reserve",
        {"series": "GIFT", "count": 3, "request_id": "r"},
        "series now",
    ),
    (
        "generate",
        {"series_id": "GIFT", "count": 2, "request_id": "g"},
        "generate",
        {"series": "GIFT", "count": 2, "request_id": "g"},
        "series now",
    ),
    (
        "generation_log",
        {"series_id": "GIFT", "limit": 5},
        "generation_log",
        {"series": "GIFT", "limit": 5},
        "series now",
    ),
    (
        "reservation",
        {"series_id": "GIFT", "request_id": "g"},
        "reservation",
        {"series": "GIFT", "request_id": "g"},
        "series now",
    ),
    (
        "export",
        {"series_id": "GIFT", "request_id": "g"},
        "export",
        {"series": "GIFT", "request_id": "g"},
        "series now",
    ),
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
    for old, kwargs, new, new_kwargs, _ in CASES[cls]:
        found |= {(old, "")} if old != new else {(old, k) for k in set(kwargs) - set(new_kwargs)}
    return found


@pytest.mark.parametrize(
    "cls", [Store, CardService, AsyncStore, AsyncCardService], ids=lambda c: c.__name__
)
def test_every_old_spelling_is_tested(cls):
    assert old_spellings(cls) == listed(TWINS.get(cls, cls))


def prepared(store: Store) -> None:
    store.create_series(SERIES)
    store.add_label("LOST", "SUSPENDED")


def both(target, old, kwargs, new, new_kwargs, names, run=lambda x: x):
    with pytest.warns(DeprecationWarning, match=names) as caught:
        before = run(getattr(target, old)(**kwargs))
    assert len(caught) == 1 and caught[0].filename == __file__  # points at the caller
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        after = run(getattr(target, new)(**new_kwargs))
    assert before == after


@pytest.mark.parametrize(
    ("old", "kwargs", "new", "new_kwargs", "names"),
    STORE_CASES,
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_an_old_store_spelling_warns_and_answers_as_the_new(old, kwargs, new, new_kwargs, names):
    with open_store("memory://") as store:
        prepared(store)
        both(store, old, kwargs, new, new_kwargs, names)


@pytest.mark.parametrize(
    ("old", "kwargs", "new", "new_kwargs", "names"),
    SERVICE_CASES,
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_an_old_service_spelling_warns_and_answers_as_the_new(old, kwargs, new, new_kwargs, names):
    with open_store("memory://") as store:
        prepared(store)
        service = CardService(store)
        service.generate("GIFT", 2, request_id="g")
        both(service, old, kwargs, new, new_kwargs, names)


@pytest.mark.parametrize(("api", "cases"), [("store", STORE_CASES), ("service", SERVICE_CASES)])
def test_the_async_twins_keep_the_same_old_spellings(tmp_path, api, cases):
    async def main() -> None:
        async with await AsyncStore.open(f"sqlite:///{tmp_path / 's.db'}") as store:
            prepared(store.sync)
            target = store if api == "store" else AsyncCardService(store)
            await AsyncCardService(store).generate("GIFT", 2, request_id="g")
            for old, kwargs, new, new_kwargs, names in cases:
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
