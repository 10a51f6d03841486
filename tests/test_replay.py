"""A request id replayed after a release (issue 19): the replay answers what the caller
may still hold, the block less what was released, or 705 when that is not one range;
the ledger, ``export`` and the replay agree, through both APIs, on every backend, from
the CLI and over HTTP."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import cardseq
from cardseq import CardSeries
from cardseq.aio import AsyncCardService
from cardseq.cli import main
from cardseq.service import CardService
from cardseq.store import open_store

from .server_helpers import Server
from .stores import BACKENDS, AwaitedStore, open_api, store_url

GOLD = CardSeries("GOLD", prefix="GOLD", length=12)
BEFORE = 3  # another reservation first: the block does not start at index 0


@pytest.fixture(params=BACKENDS)
def store(request, api, tmp_path):
    """A new store on each backend, through each API, with GOLD and 3 indexes taken."""
    opened = open_api(api, store_url(request.param, tmp_path, request))
    opened.create_series(GOLD)
    opened.reserve("GOLD", BEFORE)
    yield opened
    opened.close()


class Awaiting:
    """An ``AsyncCardService`` called like the sync one (each call awaited)."""

    def __init__(self, store: AwaitedStore) -> None:
        self._service, self._await = AsyncCardService(store.aio), store._await

    def __getattr__(self, name: str):
        method = getattr(self._service, name)
        return lambda *args, **kwargs: self._await(method(*args, **kwargs))


def service_of(store):
    """The card service through the store's API."""
    return Awaiting(store) if isinstance(store, AwaitedStore) else CardService(store)


# releases of the block of 10 (start, count relative to it) -> what the caller holds
RELEASES = {
    "tail": ([(7, 3)], range(7)),
    "head": ([(0, 4)], range(4, 10)),
    "head and tail": ([(0, 2), (8, 2)], range(2, 8)),
    "tail in two": ([(6, 2), (8, 2)], range(6)),
    "head in two, then tail": ([(0, 1), (1, 2), (9, 1)], range(3, 9)),
    "whole": ([(0, 10)], None),
    "whole in two": ([(0, 5), (5, 5)], None),
    "middle": ([(4, 2)], None),
    "middle and tail": ([(2, 1), (8, 2)], None),
}


def held_by_ledger(store, numbers: list[str]) -> list[str]:
    """The numbers the ledger says were handed out (the others: released unused)."""
    found = store.lookup_many(numbers)
    assert all(f is not None and f.state in ("reserved", "released") for f in found)
    return [f.number for f in found if f.state == "reserved"]


@pytest.mark.parametrize("case", list(RELEASES))
def test_a_replay_after_a_release_answers_what_the_caller_holds(store, case):
    releases, held = RELEASES[case]
    service = service_of(store)
    block = store.reserve("GOLD", 10, request_id="order-1")
    numbers = block.to_list()
    for start, count in releases:
        store.release("GOLD", block.start + start, count)
    used = store.series("GOLD").next_index
    ledger = held_by_ledger(store, numbers)
    if held is None:
        for replay in (
            lambda: store.reserve("GOLD", 10, request_id="order-1"),
            lambda: service.generate("GOLD", 10, request_id="order-1"),
            lambda: service.export("GOLD", request_id="order-1"),
        ):
            with pytest.raises(cardseq.InvalidRelease) as info:
                replay()
            error = info.value
            assert (error.code, error.field, error.value) == (705, "request_id", "order-1")
            assert "reservation 2 (request id 'order-1') was released unused" in error.message
        assert ledger != numbers  # part of it is unused: a replay of it all would lie
    else:
        expected = numbers[held.start : held.stop]
        again = store.reserve("GOLD", 10, request_id="order-1")
        assert (again.start, again.count) == (block.start + held.start, len(held))
        assert again.to_list() == expected == ledger
        assert service.export("GOLD", request_id="order-1").to_list() == expected
        assert service.generate("GOLD", 10, request_id="order-1").numbers == expected[::-1]
    assert store.series("GOLD").next_index == used  # a replay reserves nothing
    assert len([e for e in store.ledger("GOLD") if e.kind == "reserved"]) == 2


def test_a_replay_with_other_parameters_is_still_712_after_a_release(store):
    block = store.reserve("GOLD", 10, request_id="order-1")
    store.release("GOLD", block.start, 10)
    with pytest.raises(cardseq.InvalidArgument) as info:
        store.reserve("GOLD", 9, request_id="order-1")
    assert info.value.code == 712


@pytest.mark.parametrize(("releasing", "replaying"), [("sync", "async"), ("async", "sync")])
def test_a_replay_through_the_other_api_after_a_release(shared_url, releasing, replaying):
    """Reserved and released through one API (one driver, one connection), replayed
    through the other: the answer comes from the database, not from what one process
    remembers."""
    with open_api(releasing, shared_url) as first:
        first.create_series(GOLD)
        block = first.reserve("GOLD", 10, request_id="order-1")
        first.release("GOLD", block.start + 6, 4)
        with open_api(replaying, shared_url) as second:
            again = second.reserve("GOLD", 10, request_id="order-1")
            assert again.to_list() == block.to_list()[:6] == held_by_ledger(second, block.to_list())
            first.release("GOLD", block.start, 6)
            with pytest.raises(cardseq.InvalidRelease):
                second.reserve("GOLD", 10, request_id="order-1")


def test_cli_generate_again_export_and_validate_agree(shared_url):
    runner = CliRunner()

    def cli(*args: str):
        return runner.invoke(main, [*args, "--db", shared_url])

    assert cli("series", "create", "GOLD", "--prefix", "GOLD", "--length", "12").exit_code == 0
    first = cli("generate", "GOLD", "-n", "10", "--request-id", "run-1")
    numbers = first.stdout.split()
    with open_store(shared_url) as store:
        store.release("GOLD", 8, 2)
    again = cli("generate", "GOLD", "-n", "10", "--request-id", "run-1")
    assert again.exit_code == 0, again.stderr
    assert "but for indexes 0..7: writing those 8 numbers" in again.stderr
    exported = cli("export", "GOLD", "--request-id", "run-1")
    assert again.stdout.split() == exported.stdout.split() == numbers[:8]
    validated = cli("validate", *numbers).stdout.splitlines()
    assert [line.endswith("(label NOT_ISSUED)") for line in validated] == [True] * 8 + [False] * 2
    with open_store(shared_url) as store:
        store.release("GOLD", 0, 8)
    for args in (("generate", "GOLD", "-n", "10"), ("export", "GOLD")):
        result = cli(*args, "--request-id", "run-1")
        assert result.exit_code == 1 and result.stdout == ""
        assert result.stderr.startswith("error 705: reservation 1 (request id 'run-1') was")
    with open_store(shared_url) as store:
        assert store.series("GOLD").next_index == 10


@pytest.mark.heavy
def test_a_replayed_generate_request_after_a_release(shared_url, tmp_path):
    """Over HTTP: the numbers a replay answers are cards (200), the ones released are
    not (404), and a replay of a block released whole is 705."""
    with open_store(shared_url) as store:
        series_id = store.create_series(GOLD)
    with Server(tmp_path, shared_url, "--no-auth") as server, server.client() as client:

        def generate():
            body = {"seriesId": series_id, "count": 10, "requestId": "order-9"}
            return client.post("/v2/card/generate", json=body)

        first = generate().json()["data"]  # newest first
        with open_store(shared_url) as store:
            store.release("GOLD", 7, 3)
        again = generate()
        assert again.status_code == 200 and again.json()["data"] == first[3:]
        for number in first:
            card = client.get("/v2/card", params={"number": number})
            assert card.status_code == (200 if number in first[3:] else 404), card.text
        with open_store(shared_url) as store:
            store.release("GOLD", 0, 7)
        refused = generate()
        assert refused.status_code == 400
        assert [e["code"] for e in refused.json()["errors"]] == [705]
