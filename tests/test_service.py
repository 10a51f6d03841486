"""CardService: the reference response shape, status labels, and a card's life."""

from __future__ import annotations

import dataclasses

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cardseq
from cardseq import CardSeries, CardService, records
from cardseq.allocator import SegmentAllocator
from cardseq.records import Generated
from cardseq.server import wire
from cardseq.service import TRANSITIONS
from cardseq.store import open_store
from cardseq.store.base import SCHEMA_VERSION
from cardseq.store.records import process_actor


@pytest.fixture
def service(store):
    """A service over a new store on each backend (the ``store`` fixture)."""
    return CardService(store, max_count=1000)


@pytest.fixture
def memory_store():
    """An in-memory store, closed after the test (3.13 warns of an unclosed one)."""
    with open_store("memory://") as store:
        yield store


def reference_series(service) -> int:
    """Shaped like the reference sample's numbers: Test09 + 12 digits + end."""
    return service.create_series(
        CardSeries("Test", prefix="Test09", suffix="end", length=21),
        details={
            "name": "Test series",
            "type": "DIGITAL",
            "expiryDays": 30,
            "trigger": {"kind": "manual"},
        },
    )


def test_generate_has_the_reference_shape(service):
    sid = reference_series(service)
    service.generate(sid, 33)
    answer = service.generate(sid, 5, "NOT_ISSUED")
    assert answer == Generated(
        [
            "Test09000000000037end",
            "Test09000000000036end",
            "Test09000000000035end",
            "Test09000000000034end",
            "Test09000000000033end",
        ],
        (),
    )


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ((99, 5), 3000),
        (("Test", 0), 3025),
        (("Test", True), 3025),
        (("Test", 2.0), 3025),
        (("Test", "5"), 3025),
        (("Test", None), 3025),
        (("Test", 1001), 3026),
        (("Test", 5, "NOPE"), 3017),
        (("Test", 5, "ACTIVE"), 3018),
        (("Test", 10**6), 3026),
    ],
)
def test_generate_errors_raise(service, args, code):
    reference_series(service)
    with pytest.raises(cardseq.CardSeqError) as info:
        service.generate(*args)
    assert info.value.code == code
    assert isinstance(info.value.message, str)
    assert service.store.ledger() == []  # nothing reserved


def test_exhausted_and_disabled(service):
    service.create_series(CardSeries("Tiny", prefix="T", length=6, offset=99_990))
    assert len(service.generate("Tiny", 10).numbers) == 10
    with pytest.raises(cardseq.SeriesExhausted) as info:
        service.generate("Tiny", 1)
    assert info.value.code == 702
    service.set_enabled("Tiny", False)
    with pytest.raises(cardseq.GenerationDisabled) as info:
        service.generate("Tiny", 1)
    assert info.value.code == 703


def test_series_details_keep_the_body(service):
    sid = reference_series(service)
    record = service.series_details(sid)
    assert (record.info.id, record.info.series.code, record.info.enabled) == (sid, "Test", True)
    details = msgspec.to_builtins(wire.series(record))  # as the server answers it
    assert details["id"] == sid and details["code"] == "Test"
    assert details["cardGenerationConfiguration"] == {
        "prefix": "Test09",
        "suffix": "end",
        "offset": 0,
        "length": 21,
        "method": "DEFAULT",
    }
    assert details["cardGenerationEnabled"] is True
    assert (details["name"], details["expiryDays"], details["trigger"]) == (
        "Test series",
        30,
        {"kind": "manual"},
    )


def test_labels(service):
    names = {(x.name, x.status, x.default) for x in service.labels()}
    assert names == {(s, s, True) for s in cardseq.service.STATUSES}
    service.add_label("FRESH", "NOT_ISSUED")
    service.add_label("GIVEN", "ACTIVE", default=True)
    assert {x.name: x.default for x in service.labels()}["ACTIVE"] is False
    with pytest.raises(cardseq.InvalidStatusLabel):
        service.add_label("FRESH", "ACTIVE")
    with pytest.raises(cardseq.InvalidStatusLabel):
        service.add_label("ODD", "LOST")
    with pytest.raises(cardseq.InvalidStatusLabel):
        service.set_default_label("ACTIVE", "FRESH")
    sid = reference_series(service)
    number = service.generate(sid, 1, "FRESH").numbers[0]
    card = service.card(number)
    assert (card.status, card.label) == ("NOT_ISSUED", "FRESH")
    assert service.issue(number, "c-1").label == "GIVEN"
    with pytest.raises(cardseq.LabelNotMapped) as info:
        service.generate(sid, 1, "GIVEN")
    assert info.value.code == 3018


def test_lifecycle(service):
    sid = reference_series(service)
    number = service.generate(sid, 1).numbers[0]
    card = service.card(number)
    assert (card.status, card.customer_id, card.updated_on) == ("NOT_ISSUED", None, None)
    assert card.index == 0 and card.series_id == sid and card.generated_on
    for bad in ("SUSPENDED", "EXPIRED", "DELETED"):  # a generated card can only be issued
        with pytest.raises(cardseq.TransitionNotAllowed) as info:
            service.change_status(number, bad)
        assert info.value.code == 3038
    assert service.issue(number, "cust-7").status == "ACTIVE"
    with pytest.raises(cardseq.StatusUnchanged) as info:
        service.change_status(number, "ACTIVE")
    assert info.value.code == 3012
    assert service.suspend(number).status == "SUSPENDED"
    assert service.reactivate(number).customer_id == "cust-7"
    assert service.expire(number).status == "EXPIRED"
    with pytest.raises(cardseq.TransitionNotAllowed):  # an expired card cannot be deleted
        service.delete(number)
    log = service.status_log(number).items
    assert [(e.from_status, e.to_status) for e in log] == [
        ("NOT_ISSUED", "ACTIVE"),
        ("ACTIVE", "SUSPENDED"),
        ("SUSPENDED", "ACTIVE"),
        ("ACTIVE", "EXPIRED"),
    ]
    assert log[0].customer_id == "cust-7"


def test_unknown_cards(service):
    sid = reference_series(service)
    service.generate(sid, 3)
    for number in ("Test09000000000007end", "nonsense", None, 12):
        with pytest.raises(cardseq.CardNotFound) as info:
            service.card(number)
        assert info.value.code == 3010
    with pytest.raises(cardseq.CardNotFound):
        service.change_status("Test09000000000007end", "ACTIVE")
    with pytest.raises(cardseq.InvalidStatusLabel):
        service.change_status("Test09000000000001end", "LOST")


def test_storage_grows_with_changed_cards_only(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/s.db")
    service = CardService(store)
    sid = reference_series(service)
    numbers = service.generate(sid, 50_000).numbers
    service.issue(numbers[7], "c")
    with store._transaction() as cur:
        assert cur.execute("SELECT count(*) FROM cardseq_cards").fetchone()[0] == 1
        assert cur.execute("SELECT count(*) FROM cardseq_ledger").fetchone()[0] == 1
    assert service.card(numbers[8]).status == "NOT_ISSUED"
    store.close()


def test_generation_log(service):
    sid = reference_series(service)
    service.generate(sid, 3)
    service.generate(sid, 2, request_id=None)
    log = service.generation_log(sid).items
    assert [(e.start, e.count) for e in log] == [(0, 3), (3, 2)]
    assert (log[1].first_number, log[1].last_number) == (
        "Test09000000000003end",
        "Test09000000000004end",
    )


def test_old_databases_are_migrated(tmp_path):
    """A schema-1 database (no labels, no card tables) opens and gains them."""
    path = tmp_path / "old.db"
    store = open_store(f"sqlite:///{path}")
    store.create_series(CardSeries("OLD", prefix="O", length=8))
    with store._transaction() as cur:
        for table in (
            "cardseq_labels",
            "cardseq_cards",
            "cardseq_status_log",
            "cardseq_series_details",
        ):
            cur.execute(f"DROP TABLE {table}")
        cur.execute("UPDATE cardseq_schema SET version = 1")
    store.close()
    service = CardService(open_store(f"sqlite:///{path}"))
    number = service.generate("OLD", 1).numbers[0]
    assert service.issue(number, "c").status == "ACTIVE"
    with service.store._transaction() as cur:
        assert cur.execute("SELECT version FROM cardseq_schema").fetchone()[0] == SCHEMA_VERSION
    service.store.close()


def test_migration_steps_run_in_order_in_the_opening_transaction(tmp_path, monkeypatch):
    """Each schema version has its step; a step that fails leaves the database as it was."""
    from cardseq.store import schema

    url = f"sqlite:///{tmp_path}/steps.db"
    open_store(url).close()
    ran = []
    now = schema.SCHEMA_VERSION  # the two steps below take it to now + 1, then now + 2

    def next_step(store, cur):
        ran.append(now + 1)
        store._run(cur, "ALTER TABLE cardseq_labels ADD COLUMN note TEXT")

    def failing_step(store, cur):
        ran.append(now + 2)
        raise cardseq.StoreError(f"step {now + 1} -> {now + 2} failed")

    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, next_step, failing_step])
    with pytest.raises(cardseq.StoreError, match=f"{now + 1} -> {now + 2}"):
        open_store(url)
    assert ran == [now + 1, now + 2]
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:-1])
    with open_store(url) as store, store._reading() as cur:  # the first step rolled back: again
        assert cur.execute("SELECT version FROM cardseq_schema").fetchone()[0] == now + 1
        assert cur.execute("SELECT note FROM cardseq_labels").fetchall()
    assert ran == [now + 1, now + 2, now + 1]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(list(TRANSITIONS)), max_size=8))
def test_rules_match_the_table(moves):
    service = CardService(open_store("memory://"))
    service.create_series(CardSeries("R", prefix="R", length=8))
    number = service.generate("R", 1).numbers[0]
    status, history = "NOT_ISSUED", []
    for target in moves:
        try:
            service.change_status(number, target, customer_id="c")
        except cardseq.StatusUnchanged:
            assert target == status
        except cardseq.TransitionNotAllowed:
            assert target != status and target not in TRANSITIONS[status]
        else:
            assert target in TRANSITIONS[status]
            history.append((status, target))
            status = target
        assert service.card(number).status == status
    assert [(e.from_status, e.to_status) for e in service.status_log(number).items] == history
    service.store.close()


def test_generation_log_comes_in_pages(service):
    """250 generation requests, read 100 at a time by following ``next``: each once, in
    order; over-limit pages are 701."""
    sid = reference_series(service)
    for i in range(250):
        assert len(service.generate(sid, 1 + i % 4).numbers) == 1 + i % 4
    entries, after, sizes = [], 0, []
    while after is not None:
        page = service.generation_log(sid, limit=100, after=after)
        entries += page.items
        sizes.append(len(page.items))
        after = page.next
    assert sizes == [100, 100, 50]
    starts = [e.start for e in entries]
    assert [e.count for e in entries] == [1 + i % 4 for i in range(250)]
    assert starts == sorted(set(starts)) and starts[0] == 0
    assert len(service.generation_log(sid).items) == 100  # the default limit
    with pytest.raises(cardseq.InvalidArgument) as info:
        service.generation_log(sid, limit=1001)
    assert info.value.code == 701


def test_status_log_comes_in_pages(service):
    sid = reference_series(service)
    number = service.generate(sid, 1).numbers[0]
    service.issue(number, "c1")
    for _ in range(12):
        service.suspend(number)
        service.reactivate(number)
    expected = ["ACTIVE"] + ["SUSPENDED", "ACTIVE"] * 12
    changes, after, sizes = [], 0, []
    while after is not None:
        page = service.status_log(number, limit=10, after=after)
        changes += [e.to_status for e in page.items]
        sizes.append(len(page.items))
        after = page.next
    assert changes == expected and sizes == [10, 10, 5]
    with pytest.raises(cardseq.InvalidArgument):
        service.status_log(number, limit=0)


HUGE = 10**12  # numbers: tens of terabytes as a list, on any machine


def test_generate_too_big_for_memory_is_refused_before_reserving(memory_store):
    service = CardService(memory_store)  # no max_count: the library sets none
    service.create_series(CardSeries("BIG", prefix="9", length=16))
    with pytest.raises(cardseq.CountTooLarge) as info:
        service.generate("BIG", HUGE)
    assert info.value.code == 3026
    assert "memory" in info.value.message
    assert service.store.ledger("BIG") == []
    assert service.store.reserve("BIG", 1).start == 0


@pytest.mark.parametrize(
    ("request_id", "kinds"), [(None, ["reserved", "released"]), ("r1", ["reserved"])]
)
def test_generate_that_fails_to_format_releases_its_block(
    monkeypatch, memory_store, request_id, kinds
):
    service = CardService(memory_store)
    service.create_series(CardSeries("BIG", prefix="9", length=16))

    def out_of_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(cardseq.Block, "to_list", out_of_memory)
    with pytest.raises(cardseq.CountTooLarge) as info:
        service.generate("BIG", 10, request_id=request_id)
    assert info.value.code == 3026
    # without a request id nobody can ask for the block again: it is released, never
    # handed out; with one, a retry gets the same block
    assert [e.kind for e in service.store.ledger("BIG")] == kinds
    monkeypatch.undo()
    again = service.generate("BIG", 10, request_id=request_id)
    assert len(again.numbers) == 10
    assert service.store.lookup(again.numbers[0]).entry.count == 10


# ---- the contract: typed records out, CardSeqError on failure -------------------------


def test_records_are_typed_and_frozen(service):
    sid = reference_series(service)
    generated = service.generate(sid, 2, request_id="r-1")
    assert isinstance(generated, Generated) and generated.warnings == ()
    newest, oldest = generated.numbers
    card = service.issue(oldest, "c-9")
    assert isinstance(card, records.Card)
    assert (card.number, card.series_id, card.series_code, card.index) == (oldest, sid, "Test", 0)
    assert (card.status, card.label, card.customer_id) == ("ACTIVE", "ACTIVE", "c-9")
    assert card.updated_on >= card.generated_on
    with pytest.raises(dataclasses.FrozenInstanceError):
        card.status = "DELETED"
    (change,) = service.status_log(oldest).items
    assert change == records.StatusChange(
        oldest, "NOT_ISSUED", "ACTIVE", "ACTIVE", "c-9", card.updated_on, process_actor()
    )
    (entry,) = service.generation_log(sid).items
    assert isinstance(entry, records.GenerationEntry)
    assert (entry.series_id, entry.start, entry.count, entry.label, entry.request_id) == (
        sid,
        0,
        2,
        "NOT_ISSUED",
        "r-1",
    )
    assert (entry.first_number, entry.last_number) == (oldest, newest)
    assert entry.id == service.store.ledger(sid)[0].id  # the cursor of the pages
    found = service.lookup(newest)
    assert (found.number, found.info.id, found.index, found.state) == (newest, sid, 1, "reserved")
    assert found.entry == service.store.ledger(sid)[0]
    assert records.Label("NOT_ISSUED", "NOT_ISSUED", True) in service.labels()
    assert service.series(sid) == service.list_series()[0] == service.series_details(sid).info
    assert service.count_reservations(sid) == 1
    with pytest.raises(cardseq.CardNotFound) as info:
        service.lookup("nonsense")
    assert (info.value.code, info.value.message) == (
        3010,
        "cardNumber 'nonsense' is not a number of any series",
    )


def test_lookup_many_answers_a_batch_whole(service):
    """A batch of numbers gets one answer each, in order: an unknown number is None,
    not an error that drops the rest; lenient input is read as typed at a till."""
    service.create_series(CardSeries("GOLD", prefix="GOLD", length=12))
    numbers = service.generate("GOLD", 3).numbers
    found = service.lookup_many(["nonsense", *numbers, "gold-0000-0001"])
    assert found[0] is None and found[-1] is None
    assert [f.index for f in found[1:4]] == [2, 1, 0]
    assert found[1:4] == [service.lookup(n) for n in numbers]
    (lenient,) = service.lookup_many(["gold-0000-0001"], lenient=True)
    assert (lenient.number, lenient.index, lenient.state) == ("GOLD00000001", 1, "reserved")


def test_released_numbers_are_not_numbers_never_reached(service):
    """The allocator hands out index 0 and releases 1..9: index 5 is "released", index
    10 "unreserved"; neither is a card, and the two 3010 messages say which."""
    service.create_series(CardSeries("GOLD", prefix="GOLD", length=12))
    with SegmentAllocator(service.store, "GOLD", step=10) as allocator:
        assert allocator.next() == "GOLD00000000"
    assert service.lookup("GOLD00000005").state == "released"
    assert service.lookup("GOLD00000010").state == "unreserved"
    messages = []
    for number in ("GOLD00000005", "GOLD00000010"):
        with pytest.raises(cardseq.CardNotFound) as info:
            service.card(number)
        assert info.value.code == 3010
        messages.append(info.value.message)
    assert messages == [
        "cardNumber 'GOLD00000005' was released unused: it was never handed out",
        "cardNumber 'GOLD00000010' has not been generated yet",
    ]


def test_create_series_exists_ok(service):
    definition = CardSeries("Same", prefix="S", length=8)
    sid = service.create_series(definition)
    assert service.create_series(definition, exists_ok=True) == sid
    with pytest.raises(cardseq.SeriesExists):
        service.create_series(definition)
    with pytest.raises(cardseq.SeriesExists):  # same code, another definition
        service.create_series(CardSeries("Same", prefix="T", length=8), exists_ok=True)


def test_reserve_streams_under_the_same_rules(service):
    reference_series(service)
    block = service.reserve("Test", 1000)
    assert (block.start, block.count) == (0, 1000)
    with pytest.raises(cardseq.CountTooLarge):  # max_count, as for generate
        service.reserve("Test", 1001)


def test_reservations_are_counted_by_the_database_not_by_reading_the_ledger(service, monkeypatch):
    """``reservations`` is one COUNT(*) (``Store.count_reservations``): releases and
    other series do not count, and the ledger's rows are never read into Python."""
    store = service.store
    store.create_series(CardSeries("C", prefix="71", length=10))
    other = store.create_series(CardSeries("D", prefix="72", length=10))
    for count in (5, 3, 4):
        block = store.reserve("C", count)
    store.release("C", block.start + 1, 3)  # a ledger row that is not a reservation
    store.reserve(other, 2)

    def whole_ledger(*args, **kwargs):
        raise AssertionError("the ledger was read to count reservations")

    monkeypatch.setattr(type(store), "_ledger_rows", whole_ledger)
    assert service.count_reservations("C") == store.count_reservations("C") == 3
    assert service.count_reservations(other) == 1
    with pytest.raises(cardseq.InvalidSeries):
        service.count_reservations("nope")
