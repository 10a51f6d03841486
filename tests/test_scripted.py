"""Control flow of operations, tested in microseconds against a scripted performer
(``tests/scripted.py``): no database, every step the operation takes checked in order."""

import pytest

import cardseq
from cardseq import CardSeries, CardService
from cardseq.block import Block
from cardseq.errors import StoreError
from cardseq.service import INLINE_COUNT, reserving_numbers
from cardseq.store.database import DuplicateRequest
from cardseq.store.reservations import Request

from .scripted import LABELS, Script, ScriptedStore, grouped, ledger_row, series_row, sql, work

GIFT = CardSeries("GIFT", prefix="600", length=12, method="LUHN")


def number(index: int) -> str:
    return GIFT.format(index)


def read_card(status_row):
    """The reads of ``service._card`` for card 0 of GIFT's first block: the series, the
    release that holds it (none), the block that does, and its state row."""
    return [
        sql("FROM cardseq_series", [series_row(GIFT, next_index=10)]),
        sql("FROM cardseq_ledger", []),
        sql("FROM cardseq_ledger", [ledger_row(1, 0, 10)]),
        sql("FROM cardseq_cards", [status_row] if status_row else []),
        *([sql("FROM cardseq_labels", LABELS)] if status_row is None else []),
    ]


def raced():
    """A status change that loses its race: the card changed between the read and the
    write, so the write transaction finds another status and writes nothing."""
    return [
        *read_card(None),
        sql("FROM cardseq_cards", [("SUSPENDED", "SUSPENDED", None, "2026-01-01T00:00:00+00:00")]),
    ]


def test_a_status_change_that_keeps_losing_its_race_gives_up_after_five_tries():
    store = ScriptedStore()
    service = CardService(store)
    script = Script(sql("FROM cardseq_labels", LABELS), *[a for _ in range(5) for a in raced()])
    with pytest.raises(cardseq.TransitionNotAllowed, match="kept changing"):
        script.run(service._change_status(number(0), "ACTIVE"))
    assert script.writes.count(True) == 5  # five write transactions, none wrote
    assert not any(s.startswith("INSERT") for s in script.steps)


def test_a_status_change_retries_after_a_lost_race_and_then_writes():
    store = ScriptedStore()
    service = CardService(store)
    script = Script(
        sql("FROM cardseq_labels", LABELS),
        *raced(),
        *read_card(None),
        sql("FROM cardseq_cards", []),  # in the write transaction: still as read
        sql("INSERT INTO cardseq_cards"),
        sql("INSERT INTO cardseq_status_log"),
        *read_card(("ACTIVE", "ACTIVE", "c1", "2026-01-01T00:00:00+00:00")),
    )
    card = script.run(service._change_status(number(0), "ACTIVE", customer_id="c1"))
    assert (card.status, card.customer_id) == ("ACTIVE", "c1")
    assert script.writes.count(True) == 2


def test_a_reservation_is_checked_then_handed_to_the_group_commit():
    store = ScriptedStore()
    block = Block(GIFT, 0, 5)
    script = Script(
        sql("FROM cardseq_series WHERE code", [(1,)]),
        sql("FROM cardseq_series", [series_row(GIFT)]),
        grouped(block),
    )
    assert script.run(store._reserve("GIFT", 5, request_id="r1")) is block
    assert script.steps[-1] == "grouped"


def test_a_request_id_committed_meanwhile_runs_the_batch_again_as_a_replay():
    """The group commit's one late refusal: another connection committed the same
    request id. The batch rolls back (the error is thrown into the operation) and runs
    again, where the request replays the other's block."""
    store = ScriptedStore()
    request = Request(1, GIFT, 5, "NOT_ISSUED", "r1", "tester@host")
    first = [sql("FROM cardseq_labels", LABELS), sql("FROM cardseq_ledger", [])]
    script = Script(
        *first,  # the label, then no prior block for r1: it takes 5 indexes...
        sql("SELECT enabled, next_index, capacity FROM cardseq_series", [(1, 0, 10**8)]),
        sql("UPDATE cardseq_series"),
        sql("INSERT INTO cardseq_ledger", error=DuplicateRequest("r1 is taken")),  # ...too late
        sql("FROM cardseq_ledger", [ledger_row(7, 20, 5, request_id="r1")]),  # (label known)
        sql("FROM cardseq_ledger", []),  # nothing of it released since: all of it is held
    )
    (outcome,) = script.run(store._reserve_batch([request]))
    assert (outcome.get().start, outcome.get().count) == (20, 5)
    assert script.writes == [True, True]


def test_a_store_error_in_a_transaction_reaches_the_caller_unchanged():
    store = ScriptedStore()
    down = StoreError("store error: OperationalError: the database is down")
    script = Script(sql("FROM cardseq_series", error=down))
    with pytest.raises(StoreError) as info:
        script.run(store._series(1))
    assert info.value is down


@pytest.mark.parametrize(("count", "heavy"), [(INLINE_COUNT, False), (INLINE_COUNT + 1, True)])
def test_formatting_runs_on_a_thread_only_for_big_blocks(count, heavy):
    store = ScriptedStore()
    script = Script(
        sql("FROM cardseq_series WHERE code", [(1,)]),
        sql("FROM cardseq_series", [series_row(GIFT)]),
        grouped(Block(GIFT, 0, count)),
        work(),
    )
    block, numbers = script.run(reserving_numbers(store, "GIFT", count))
    assert script.heavy == [heavy] and len(numbers) == count == block.count


@pytest.mark.parametrize(("request_id", "released"), [(None, True), ("r1", False)])
def test_a_block_that_cannot_be_formatted_is_released_unless_a_retry_may_want_it(
    request_id, released
):
    """Memory runs out while formatting (thrown into the operation at its Work step):
    without a request id the block goes back to the ledger as unused; with one, it is
    kept for the retry that replays it. Either way the caller gets 3026."""
    store = ScriptedStore()
    release = [
        sql("FROM cardseq_ledger", [ledger_row(1, 0, 50)]),  # the block to release from
        sql("FROM cardseq_ledger", []),  # no earlier release within it
        sql("INSERT INTO cardseq_ledger"),
    ]
    script = Script(
        sql("FROM cardseq_series WHERE code", [(1,)]),
        sql("FROM cardseq_series", [series_row(GIFT)]),
        grouped(Block(GIFT, 0, 50)),
        work(error=MemoryError()),
        *(release if released else []),
    )
    with pytest.raises(cardseq.CountTooLarge) as info:
        script.run(reserving_numbers(store, "GIFT", 50, request_id=request_id))
    assert info.value.code == 3026
    assert ("released unused" in str(info.value)) is released
