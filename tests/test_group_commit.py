"""Group commit: reservations that arrive together share one transaction, and each
keeps its own result, its own ledger row, and its own error."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time

import psycopg
import pytest

from cardseq import CardSeries
from cardseq.block import Block
from cardseq.errors import CardSeqError, StoreError
from cardseq.store import open_store
from cardseq.store.batch import GroupCommit, Outcome
from cardseq.store.reservations import MADE_UP_PREFIX

from .stores import check_ledger


def given(request_id: str | None) -> str | None:
    """The request id a caller gave: None for one cardseq made (a call that gave none)."""
    return None if request_id is None or request_id.startswith(MADE_UP_PREFIX) else request_id


def count_transactions(store, hold_first: threading.Event | None = None) -> list[None]:
    """Record each write transaction the store opens; with ``hold_first``, the first
    one waits for that event before it begins (its batch-mates-to-be queue meanwhile)."""
    opened: list[None] = []
    real = store._transaction

    @contextlib.contextmanager
    def transaction():
        opened.append(None)
        if hold_first is not None and len(opened) == 1:
            hold_first.wait(30)
        with real() as cur:
            yield cur

    store._transaction = transaction
    return opened


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def reserve_in_one_batch(store, calls, before=None):
    """Run ``calls`` (name: reserve's arguments) as one batch: a first reservation
    ("lead", 1 of series "A") holds its commit until they have all queued behind it, in
    order. ``before`` runs once they are released. Return each call's block or error,
    and the transactions opened."""
    release = threading.Event()
    opened = count_transactions(store, hold_first=release)
    outcomes: dict[str, Block | CardSeqError] = {}

    def run(name: str, series: str, count: int, options: dict) -> None:
        try:
            outcomes[name] = store.reserve(series, count, **options)
        except CardSeqError as error:
            outcomes[name] = error

    threads = [threading.Thread(target=run, args=("lead", "A", 1, {}))]
    threads[0].start()
    wait_for(lambda: opened, "the first batch")
    for name, (series, count, options) in calls.items():
        threads.append(threading.Thread(target=run, args=(name, series, count, options)))
        threads[-1].start()
        wait_for(lambda: store._batches.queued == len(threads) - 1, f"{name} to queue")
    release.set()
    if before is not None:
        before()
    for thread in threads:
        thread.join(30)
    return outcomes, opened


def blocks_of(outcomes):
    return {n: (o.start, o.count) for n, o in outcomes.items() if isinstance(o, Block)}


#: a batch of every kind of request, behind a lead reservation of 1 of "A", with
#: "r0" (4 of "A") reserved before: what each must come to is in ``check_mixed``
MIXED = {
    "ok1": ("A", 3, {}),
    "exhausted": ("A", 10**9, {}),
    "unknown label": ("A", 1, {"status_label": "NOPE"}),
    "not NOT_ISSUED": ("A", 1, {"status_label": "ACTIVE"}),
    "disabled": ("OFF", 1, {}),
    "dup": ("A", 2, {"request_id": "dup"}),
    "dup again": ("A", 2, {"request_id": "dup"}),
    "r0 replayed": ("A", 4, {"request_id": "r0"}),
    "r0 misused": ("A", 5, {"request_id": "r0"}),
    "ok2": ("A", 6, {"request_id": "ok2"}),
}


def check_mixed(outcomes, earlier, ledger) -> None:
    """Each request of ``MIXED`` got its own block or error, and the ledger of "A" has
    a row for each new block only."""
    codes = {n: o.code for n, o in outcomes.items() if isinstance(o, CardSeqError)}
    assert codes == {
        "exhausted": 702,
        "unknown label": 3017,
        "not NOT_ISSUED": 3018,
        "disabled": 703,
        "r0 misused": 712,
    }
    assert blocks_of(outcomes) == {
        "lead": (4, 1),
        "ok1": (5, 3),
        "dup": (8, 2),
        "dup again": (8, 2),  # the batch-mate's block, replayed
        "r0 replayed": (earlier.start, earlier.count),
        "ok2": (10, 6),
    }
    rows = [(e.start, e.count, given(e.request_id)) for e in ledger]
    assert rows == [(0, 4, "r0"), (4, 1, None), (5, 3, None), (8, 2, "dup"), (10, 6, "ok2")]


def test_a_batch_gives_each_request_its_own_outcome(store):
    store.create_series(CardSeries("A", prefix="1", length=8))
    store.create_series(CardSeries("OFF", prefix="2", length=8), enabled=False)
    earlier = store.reserve("A", 4, request_id="r0")
    outcomes, opened = reserve_in_one_batch(store, MIXED)
    assert len(opened) == 2, "the queued requests did not share one transaction"
    check_mixed(outcomes, earlier, store.ledger("A"))
    assert check_ledger(store, "A")[-1] == (10, 6)
    assert store.ledger("OFF") == []
    assert store.reserve("A", 1).start == 16  # the failed requests left nothing behind


def test_requests_of_one_series_advance_it_together(store):
    """All fit: one step advances the series, and each request keeps its own row."""
    store.create_series(CardSeries("A", prefix="1", length=8))
    store.create_series(CardSeries("B", prefix="2", length=8))
    store.add_label("PRINTED", "NOT_ISSUED")
    outcomes, opened = reserve_in_one_batch(
        store,
        {
            "b": ("B", 7, {}),
            "a1": ("A", 3, {"request_id": "a1"}),
            "a2": ("A", 2, {"status_label": "PRINTED"}),
            "a3": ("A", 5, {"request_id": "a3", "status_label": "PRINTED"}),
        },
    )
    assert len(opened) == 2
    assert blocks_of(outcomes) == {
        "lead": (0, 1),
        "b": (0, 7),
        "a1": (1, 3),
        "a2": (4, 2),
        "a3": (6, 5),
    }
    rows = [(e.start, e.count, e.status_label, given(e.request_id)) for e in store.ledger("A")]
    assert rows == [
        (0, 1, "NOT_ISSUED", None),
        (1, 3, "NOT_ISSUED", "a1"),
        (4, 2, "PRINTED", None),
        (6, 5, "PRINTED", "a3"),
    ]
    assert check_ledger(store, "A")[-1] == (6, 5) and check_ledger(store, "B") == [(0, 7)]
    assert store.reserve("A", 3, request_id="a1").start == 1  # a retry replays it


def test_sixteen_threads_share_commits(shared_url):
    threads, rounds = 16, 20
    with open_store(shared_url) as store:
        store.create_series(CardSeries("G", prefix="3", length=12))
        opened = count_transactions(store)
        start = threading.Barrier(threads)

        def work() -> None:
            start.wait()
            for _ in range(rounds):
                store.reserve("G", 7)

        workers = [threading.Thread(target=work) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        reserved = check_ledger(store, "G")
        assert len(reserved) == threads * rounds
        assert len(opened) < threads * rounds / 2, f"{len(opened)} commits"


def test_a_request_id_committed_meanwhile_by_another_connection(postgres_url):
    """The batch's insert of request id "X" waits for another connection's insert of it,
    which then commits: the batch runs again, "X" replays the other's block, and its
    batch-mates (one on the same series, advanced with it in one step) commit."""
    store = open_store(postgres_url)
    store.create_series(CardSeries("A", prefix="1", length=8))
    store.create_series(CardSeries("B", prefix="2", length=8))
    other = psycopg.connect(postgres_url)  # a transaction, left open
    other.execute("UPDATE cardseq_series SET next_index = 5 WHERE code = 'B'")
    other.execute(
        "INSERT INTO cardseq_ledger (series_id, start, count, status_label, kind, request_id,"
        " created_at) SELECT id, 0, 5, 'NOT_ISSUED', 'reserved', 'X', now()"
        " FROM cardseq_series WHERE code = 'B'"
    )

    def commit_the_other() -> None:
        with psycopg.connect(postgres_url, autocommit=True) as watch:
            wait_for(
                lambda: watch.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                ).fetchone()[0],
                "the batch to wait for the other connection",
            )
        other.commit()
        other.close()

    outcomes, opened = reserve_in_one_batch(
        store,
        {"X": ("B", 5, {"request_id": "X"}), "okB": ("B", 3, {}), "ok": ("A", 2, {})},
        before=commit_the_other,
    )
    assert len(opened) == 3  # the first batch; the second, and its run again
    assert blocks_of(outcomes) == {
        "lead": (0, 1),
        "X": (0, 5),
        "okB": (5, 3),
        "ok": (1, 2),
    }
    assert [(e.start, given(e.request_id)) for e in store.ledger("B")] == [(0, "X"), (5, None)]
    assert check_ledger(store, "A") == [(0, 1), (1, 2)]
    store.close()


class Interrupted(Exception):
    pass


def held_group(fail_batch: int | None = None):
    """A GroupCommit whose first batch waits for ``release``; batch ``fail_batch``
    (counted from 1) raises."""
    release, batches = threading.Event(), []

    def commit(requests):
        batches.append(list(requests))
        if len(batches) == 1:
            release.wait(30)
        if len(batches) == fail_batch:
            raise StoreError("store error: the disk is full")
        return [Outcome(r * 2) for r in requests]

    return GroupCommit(commit), release, batches


def test_a_failed_batch_fails_each_of_its_callers_and_the_next_one_runs():
    group, release, batches = held_group(fail_batch=2)
    outcomes: dict[int, object] = {}

    def run(request: int) -> None:
        try:
            outcomes[request] = group.submit(request)
        except StoreError as error:
            outcomes[request] = error.code

    threads = [threading.Thread(target=run, args=(1,))]
    threads[0].start()
    wait_for(lambda: batches, "the first batch")
    for request in (2, 3, 4):
        threads.append(threading.Thread(target=run, args=(request,)))
        threads[-1].start()
        wait_for(lambda: group.queued == len(threads) - 1, "the request to queue")
    release.set()
    for thread in threads:
        thread.join(30)
    assert batches == [[1], [2, 3, 4]]
    assert outcomes == {1: 2, 2: 500, 3: 500, 4: 500}
    assert group.submit(5) == 10


def test_an_interrupted_caller_leaves_the_line_moving():
    group, release, batches = held_group()
    leader = threading.Thread(target=group.submit, args=(1,))
    leader.start()
    wait_for(lambda: batches, "the first batch")

    def interrupt(signum, frame):
        raise Interrupted

    previous = signal.signal(signal.SIGUSR1, interrupt)
    try:
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGUSR1)).start()
        with pytest.raises(Interrupted):
            group.submit(2)  # waits behind the first batch, and is interrupted
    finally:
        signal.signal(signal.SIGUSR1, previous)
    release.set()
    leader.join(30)
    later: list[int] = []
    caller = threading.Thread(target=lambda: later.append(group.submit(3)))
    caller.start()
    caller.join(10)
    assert later == [6], "the line stalled behind the interrupted caller"
    assert batches == [[1], [3]]


def test_a_postgres_batch_is_one_statement_between_begin_and_commit(postgres_url, monkeypatch):
    """A batch's reservations of one series (no request ids) advance the series and
    write every ledger row in one statement: with BEGIN (and the synchronous commit
    setting, sent together) and COMMIT, three round trips per batch."""
    from cardseq.store import ops

    with open_store(postgres_url) as store:
        store.create_series(CardSeries("A", prefix="1", length=8))
        store.reserve("A", 1)  # connected, label known
        statements: list[str] = []
        execute = ops.execute
        monkeypatch.setattr(
            ops, "execute", lambda cur, st: statements.append(st.sql) or execute(cur, st)
        )
        outcomes, opened = reserve_in_one_batch(
            store, {f"r{i}": ("A", i + 1, {}) for i in range(5)}
        )
        assert len(opened) == 2 and len(statements) == 2, statements
        assert blocks_of(outcomes)["r4"] == (12, 5)
        assert check_ledger(store, "A")[-1] == (12, 5)
