"""The store contract, on every backend: memory, a SQLite file, PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading

import pytest

import cardseq
from cardseq import CardSeries
from cardseq.allocator import SegmentAllocator
from cardseq.keys import keyring
from cardseq.records import Label
from cardseq.store import SQLiteStore, open_store, ops
from cardseq.store.base import DuplicateRequest
from cardseq.store.reservations import Request

from .stores import BACKENDS, check_ledger, open_api, store_url


@pytest.fixture(params=BACKENDS)
def store(request, api, tmp_path):
    """A new, empty store on each backend, through each API (the contract is the same
    awaited)."""
    opened = open_api(api, store_url(request.param, tmp_path, request))
    yield opened
    opened.close()


def gold(**kw):
    spec = {"prefix": "GOLD", "length": 12}
    spec.update(kw)
    return CardSeries(kw.pop("code", "GOLD"), **{k: v for k, v in spec.items() if k != "code"})


def test_create_get_list(store):
    a = store.create_series(gold())
    b = store.create_series(CardSeries("SILVER", prefix="SILV", length=12, method="LUHN"))
    assert isinstance(a, int) and b > a
    assert store.series_definition(a) == gold()
    assert store.series_definition("SILVER").method == "LUHN"
    assert store.series_id("GOLD") == a
    assert [i.series.code for i in store.list_series()] == ["GOLD", "SILVER"]
    info = store.series("GOLD")
    assert (info.id, info.enabled, info.next_index, info.remaining) == (a, True, 0, 10**8)


@pytest.mark.parametrize("ref", [999, "NOPE", 0, -1, None, 1.5, True])
def test_unknown_series(store, ref):
    store.create_series(gold())
    with pytest.raises(cardseq.InvalidSeries) as info:
        store.reserve(ref, 1)
    assert info.value.code == 3000


def test_duplicate_code(store):
    store.create_series(gold())
    with pytest.raises(cardseq.SeriesExists) as info:
        store.create_series(CardSeries("GOLD", prefix="X", length=20))
    assert info.value.code == 3002
    assert len(store.list_series()) == 1


def test_create_series_exists_ok_gives_the_same_definition_its_id(store):
    sid = store.create_series(gold(offset=3))
    assert store.create_series(gold(offset=3), exists_ok=True) == sid
    assert store.create_series(gold(offset=3), enabled=False, exists_ok=True) == sid
    for other in (gold(offset=1), gold(length=13), gold(method="LUHN"), gold(prefix="GOLDX")):
        with pytest.raises(cardseq.SeriesExists) as info:
            store.create_series(other, exists_ok=True)
        assert info.value.code == 3002 and info.value.field == "code"
        assert "another definition" in str(info.value)
    with pytest.raises(cardseq.SeriesExists):  # without exists_ok, still a duplicate
        store.create_series(gold(offset=3))
    assert [i.id for i in store.list_series()] == [sid]


def test_add_label_exists_ok_and_its_own_error(store):
    store.add_label("PRINTED", "NOT_ISSUED")
    with pytest.raises(cardseq.LabelExists) as info:
        store.add_label("PRINTED", "NOT_ISSUED")
    assert (info.value.code, info.value.field, info.value.value) == (3019, "statusLabel", "PRINTED")
    assert "'PRINTED' exists already, for NOT_ISSUED" in str(info.value)
    store.add_label("PRINTED", "NOT_ISSUED", exists_ok=True)
    store.add_label("ACTIVE", "ACTIVE", exists_ok=True)  # a status' own label
    with pytest.raises(cardseq.LabelExists) as info:
        store.add_label("PRINTED", "ACTIVE", exists_ok=True)  # another status
    assert info.value.code == 3019
    store.add_label("PRINTED", "NOT_ISSUED", default=True, exists_ok=True)
    assert [x for x in store.labels() if x.status == "NOT_ISSUED"] == [
        Label("NOT_ISSUED", "NOT_ISSUED", False),
        Label("PRINTED", "NOT_ISSUED", True),
    ]
    assert len(store.labels()) == 6


@pytest.mark.parametrize(
    ("first", "second", "overlap"),
    [
        (("12", "", 10), ("123", "", 10), True),
        (("12", "", 10), ("12", "", 10), True),
        (("", "", 10), ("99", "X", 10), False),
        (("", "", 10), ("99", "5", 10), True),
        (("12", "", 10), ("13", "", 10), False),
        (("12", "", 10), ("123", "", 11), False),
        (("GOLD", "", 10), ("GOL", "", 10), False),
        (("A1", "Z", 10), ("A", "9Z", 10), True),
    ],
)
def test_overlapping_number_spaces(store, first, second, overlap):
    store.create_series(CardSeries("A", prefix=first[0], suffix=first[1], length=first[2]))
    b = CardSeries("B", prefix=second[0], suffix=second[1], length=second[2], method="LUHN")
    if overlap:
        with pytest.raises(cardseq.SeriesOverlap) as info:
            store.create_series(b)
        assert info.value.code == 3006 and "'A'" in str(info.value)
    else:
        store.create_series(b)


def test_reserve_advances_and_ledgers(store):
    store.create_series(gold())
    blocks = [store.reserve("GOLD", n) for n in (5, 1, 300)]
    assert [(b.start, b.count) for b in blocks] == [(0, 5), (5, 1), (6, 300)]
    assert blocks[1].to_list() == ["GOLD00000005"]
    assert check_ledger(store, "GOLD") == [(0, 5), (5, 1), (6, 300)]
    entry = store.ledger("GOLD")[0]
    assert (entry.kind, entry.status_label) == ("reserved", "NOT_ISSUED")
    # a call without a request id gets one (so that a cut-off commit can be retried)
    assert entry.request_id is not None and entry.request_id.startswith("cardseq-")
    assert len({e.request_id for e in store.ledger("GOLD")}) == 3
    assert entry.created_at.tzinfo is not None


@pytest.mark.parametrize("count", [0, -1, True, 1.5, "3", None, [1]])
def test_bad_count_reserves_nothing(store, count):
    store.create_series(gold())
    with pytest.raises(cardseq.InvalidCount) as info:
        store.reserve("GOLD", count)
    assert info.value.code == 3025
    assert store.series("GOLD").next_index == 0 and store.ledger() == []


def test_exhausted_reserves_nothing(store):
    store.create_series(gold(length=6))  # 100 numbers
    store.reserve("GOLD", 60)
    with pytest.raises(cardseq.SeriesExhausted) as info:
        store.reserve("GOLD", 41)
    assert info.value.code == 702 and "40" in str(info.value)
    assert store.series("GOLD").next_index == 60 and len(store.ledger()) == 1
    assert store.reserve("GOLD", 40).stop == 100
    with pytest.raises(cardseq.SeriesExhausted):
        store.reserve("GOLD", 1)


def test_disabled(store):
    store.create_series(gold())
    store.set_enabled("GOLD", False)
    with pytest.raises(cardseq.GenerationDisabled) as info:
        store.reserve("GOLD", 1)
    assert info.value.code == 703 and store.ledger() == []
    store.set_enabled("GOLD", True)
    assert store.reserve("GOLD", 1).start == 0
    store.create_series(CardSeries("OFF", prefix="OFF", length=10), enabled=False)
    assert store.series("OFF").enabled is False


def test_request_id_is_idempotent(store):
    store.create_series(gold())
    first = store.reserve("GOLD", 10, request_id="order-1")
    again = store.reserve(store.series_id("GOLD"), 10, request_id="order-1")
    assert (again.start, again.count) == (first.start, first.count)
    assert store.reserve("GOLD", 10, request_id="order-2").start == 10
    assert len(store.ledger()) == 2
    with pytest.raises(cardseq.InvalidArgument) as info:
        store.reserve("GOLD", 11, request_id="order-1")
    assert info.value.field == "request_id"
    with pytest.raises(cardseq.InvalidArgument):
        store.reserve("GOLD", 1, request_id="")


def test_a_request_id_another_caller_took_replays_its_block(sync_store, monkeypatch):
    """Two callers with one request id, both finding none when they look: the second
    meets the ledger's unique index, a typed ``DuplicateRequest``, and gets the first
    caller's block instead of another (or a 500)."""
    store = sync_store  # (it reaches inside the sync store)
    store.create_series(gold())
    first = store.reserve("GOLD", 4, request_id="race")
    sid = store.series_id("GOLD")
    with pytest.raises(DuplicateRequest), store._transaction() as cur:
        request = Request(sid, gold(), 4, "NOT_ISSUED", "race", "tester")
        store._play(cur, store._advance(sid, request))
    real, looked = store._prior, []

    def too_early(request_id):  # the first look ran before the winner committed
        looked.append(request_id)
        if len(looked) == 1:
            return None
        return (yield from real(request_id))

    monkeypatch.setattr(store, "_prior", too_early)
    again = store.reserve("GOLD", 4, request_id="race")
    assert (again.start, again.count, looked) == (first.start, 4, ["race", "race"])
    assert store.series("GOLD").next_index == 4 and len(store.ledger("GOLD")) == 1


def test_other_unique_violations_are_store_errors(sync_store):
    store = sync_store  # (it reaches inside the sync store)
    with pytest.raises(cardseq.StoreError) as info, store._transaction() as cur:
        store._run(
            cur,
            "INSERT INTO cardseq_labels (name, status, is_default) VALUES (?, ?, ?)",
            ("ACTIVE", "ACTIVE", False),
        )
    assert not isinstance(info.value, DuplicateRequest) and info.value.code == 500


@pytest.mark.parametrize("label", ["", "not a label", "x" * 51, 5, None])
def test_bad_status_label(store, label):
    store.create_series(gold())
    with pytest.raises(cardseq.InvalidStatusLabel) as info:
        store.reserve("GOLD", 1, status_label=label)
    assert info.value.code == 3017 and store.ledger() == []


def test_huge_counters(store):
    offset = 10**148 - 10**100
    store.create_series(CardSeries("BIG", prefix="9", length=150, method="MOD7", offset=offset))
    capacity = store.series("BIG").remaining
    assert capacity == 10**100
    block = store.reserve("BIG", 10**100 - 5)
    last = store.reserve("BIG", 5)
    assert last.start == 10**100 - 5 and last.to_list()[-1].startswith("9" + "9" * 147)
    with pytest.raises(cardseq.SeriesExhausted):
        store.reserve("BIG", 1)
    assert block.start == 0
    check_ledger(store, "BIG")
    found = store.lookup(last.to_list()[2])  # beyond 2**63: the slow path
    assert (found.index, found.entry.start) == (10**100 - 3, 10**100 - 5)
    found = store.lookup(block.series.format(2**62))
    assert (found.index, found.entry.start) == (2**62, 0)


def test_keyed_series_keep_their_key(tmp_path):
    url = f"sqlite:///{tmp_path}/k.db"
    keys = {"k": bytes(range(32))}
    with open_store(url, keys=keys) as s:
        s.create_series(CardSeries("R", prefix="7", length=12, method="RANDOM_LUHN", key_id="k"))
        first = s.reserve("R", 5).to_list()
    with open_store(url, keys=keys) as s:
        assert s.series_definition("R").block(0, 5).to_list() == first
        assert s.reserve("R", 5).to_list()[0] not in first


def test_lookup(store):
    store.create_series(gold())
    store.create_series(CardSeries("L", prefix="4", length=12, method="LUHN"))
    number = store.reserve("L", 3).to_list()[1]
    found = store.lookup(number)
    assert (found.info.series.code, found.index, found.entry.start) == ("L", 1, 0)
    assert (found.number, found.state) == (number, "reserved")
    for count in (7, 100, 1, 992):  # starts 3, 10, 110, 111: text order is not number order
        store.reserve("L", count)
    series = store.series_definition("L")
    for index, start in [
        (2, 0),
        (3, 3),
        (9, 3),
        (10, 10),
        (109, 10),
        (110, 110),
        (111, 111),
        (1102, 111),
    ]:
        assert store.lookup(series.format(index)).entry.start == start, index
    assert store.lookup(series.format(1103)).entry is None
    found = store.lookup("GOLD00000042")
    assert (found.info.series.code, found.index, found.entry) == ("GOLD", 42, None)
    assert found.state == "unreserved"
    assert store.lookup("nonsense") is None


def test_lookup_many_answers_as_lookup_does(store):
    """One answer per number, in order, each what ``lookup`` says of it: reserved (with
    its block), released, not reserved yet, or None; keyed and wide series included."""
    store.create_series(gold())
    store.create_series(CardSeries("L", prefix="4", length=12, method="LUHN"))
    store.keys = keyring({"r": bytes(range(32))})
    store.create_series(CardSeries("R", prefix="7", length=12, method="RANDOM_MOD7", key_id="r"))
    store.create_series(CardSeries("BIG", prefix="9", length=40, method="MOD7"))
    for count in (3, 7, 100, 1, 992):
        store.reserve("L", count)
    keyed = store.reserve("R", 50).to_list()
    block = store.reserve("GOLD", 10)
    store.release("GOLD", 6, 4)
    big = store.reserve("BIG", 5)
    store.reserve("BIG", 2**70)
    lsr = store.series_definition("L")
    numbers = [
        *(lsr.format(i) for i in (0, 2, 3, 9, 10, 109, 110, 111, 1102, 1103, 5000)),
        *keyed[::7],
        *block.to_list(),
        "GOLD00000042",
        big.to_list()[4],
        store.series_definition("BIG").format(2**70),
        store.series_definition("BIG").format(2**70 + 5),
        "nonsense",
        lsr.format(3),  # twice
        None,
        b"GOLD00000001",
    ]
    many = store.lookup_many(numbers)
    assert len(many) == len(numbers)
    assert many == [store.lookup(n) if isinstance(n, str) else None for n in numbers]
    assert [m.state for m in many[19:29]] == ["reserved"] * 6 + ["released"] * 4
    assert store.lookup_many([]) == []


def test_lookup_many_reads_each_ledger_once(sync_store, monkeypatch):
    """However many numbers: one listing of the series, one ledger read per series that
    has some of them, none for the others."""
    store = sync_store  # (it reaches inside the sync store)
    store.create_series(gold())
    store.create_series(CardSeries("L", prefix="4", length=12, method="LUHN"))
    store.create_series(CardSeries("S", prefix="5", length=12))
    for _ in range(20):
        store.reserve("L", 5)
        store.reserve("GOLD", 5)
    numbers = store.series_definition("L").block(0, 200).to_list() + [
        f"GOLD{i:08d}" for i in range(200)
    ]
    statements = []
    execute = ops.execute
    monkeypatch.setattr(
        ops,
        "execute",
        lambda cur, statement: statements.append(statement.sql) or execute(cur, statement),
    )
    found = store.lookup_many(numbers)
    assert [f.index for f in found] == list(range(200)) * 2
    assert sum("FROM cardseq_ledger" in text for text in statements) == 2
    assert sum("FROM cardseq_series" in text for text in statements) == 1


def test_lookup_many_lenient(store):
    store.create_series(gold())
    store.reserve("GOLD", 3)
    strict, lenient = (
        store.lookup_many(["gold 0000-0002", ";GOLD00000001=2512?", "GOLD00000002"], lenient=flag)
        for flag in (False, True)
    )
    assert strict[:2] == [None, None] and strict[2] is not None
    assert [(f.number, f.index, f.state) for f in lenient] == [
        ("GOLD00000002", 2, "reserved"),
        ("GOLD00000001", 1, "reserved"),
        ("GOLD00000002", 2, "reserved"),
    ]


def test_allocator_hands_out_the_ledger(sync_store):
    store = sync_store  # (it reaches inside the sync store)
    store.create_series(gold(length=8))  # 10,000 numbers
    with SegmentAllocator(store, "GOLD", step=64) as allocator:
        numbers = [allocator.next() for _ in range(1000)]
    assert numbers == [f"GOLD{i:04d}" for i in range(1000)]
    ranges = check_ledger(store, "GOLD")
    unused = [(e.start, e.count) for e in store.ledger("GOLD") if e.kind == "released"]
    handed = sum(c for _, c in ranges) - sum(c for _, c in unused)
    assert handed == 1000


def test_schema_is_versioned(tmp_path):
    url = f"sqlite:///{tmp_path}/v.db"
    open_store(url).close()
    store = SQLiteStore(f"{tmp_path}/v.db")
    with store._transaction() as cur:
        cur.execute("UPDATE cardseq_schema SET version = 99")
    store.close()
    with pytest.raises(cardseq.StoreError) as info:
        open_store(url)
    assert "99" in str(info.value) and info.value.code == 500


def test_sqlite_reads_do_not_wait_for_a_writer(tmp_path):
    """A write transaction held open by another connection leaves every read answering
    at once (they took the write lock once, and waited out the busy timeout)."""
    path = f"{tmp_path}/busy.db"
    with open_store(f"sqlite:///{path}") as s:
        sid = s.create_series(gold())
        number = s.reserve("GOLD", 3).to_list()[1]
        s.release("GOLD", 2, 1)
    reader = open_store(f"sqlite:///{path}")  # cold caches: every call reads the database
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    answers: list[object] = []

    def read_everything() -> None:
        answers.extend(
            [
                reader.series_id("GOLD"),
                reader.series(sid).next_index,
                len(reader.list_series()),
                reader.details(sid),
                len(reader.ledger("GOLD")),
                len(reader.ledger_page("GOLD").items),
                reader.lookup(number).index,
                len(reader.labels()),
                reader.card_state(sid, 1),
                reader.logged_changes(sid, 1).items,
            ]
        )

    thread = threading.Thread(target=read_everything)
    try:
        thread.start()
        thread.join(timeout=5)
        assert not thread.is_alive(), "a read waited for the writer"
    finally:
        writer.rollback()
        thread.join()
        writer.close()
        reader.close()
    assert answers == [sid, 3, 1, {}, 2, 2, 1, 5, None, []]


@pytest.mark.parametrize("url", ["mysql://x", "sqlite:///", "cards.db"])
def test_bad_store_url(url):
    with pytest.raises(cardseq.InvalidArgument) as info:
        open_store(url)
    assert info.value.field == "db"


def test_default_url_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CARDSEQ_DB", f"sqlite:///{tmp_path}/env.db")
    with open_store() as s:
        s.create_series(gold())
    assert (tmp_path / "env.db").exists()
    monkeypatch.delenv("CARDSEQ_DB")
    monkeypatch.chdir(tmp_path)
    open_store().close()
    assert (tmp_path / "cardseq.db").exists()


def test_reopened_store_finds_ledgers_by_code(tmp_path):
    """(A cold cache once made ``ledger(code)`` open a transaction inside another.)"""
    url = f"sqlite:///{tmp_path}/cold.db"
    with open_store(url) as s:
        s.create_series(gold())
        s.reserve("GOLD", 2)
    with open_store(url) as s:
        assert [e.count for e in s.ledger("GOLD")] == [2]
        with pytest.raises(cardseq.InvalidSeries) as info:
            s.ledger("NOPE")
        assert info.value.code == 3000


@pytest.mark.parametrize("ref", [2**63, 2**70, "99999999999999999999"])
def test_ids_beyond_64_bits_are_unknown_series(store, ref):
    store.create_series(gold())
    for call in (lambda: store.reserve(ref, 1), lambda: store.series(ref)):
        with pytest.raises(cardseq.InvalidSeries) as info:
            call()
        assert info.value.code == 3000


def test_all_digit_strings_are_ids(store):
    sid = store.create_series(gold())
    assert store.reserve(str(sid), 2).count == 2
    assert store.series(str(sid)).series.code == "GOLD"


def test_released_indexes_were_never_handed_out(store):
    store.create_series(gold())
    with SegmentAllocator(store, "GOLD", step=10) as allocator:
        handed = allocator.next()
    assert store.lookup(handed).entry is not None
    found = store.lookup("GOLD00000005")
    assert (found.index, found.entry) == (5, None)
    assert found.state == "released"  # not the "unreserved" of an index never reached
    assert store.lookup("GOLD00000010").state == "unreserved"
    with pytest.raises(cardseq.CardNotFound):
        cardseq.CardService(store).card("GOLD00000005")


@pytest.mark.parametrize(
    ("start", "count", "code"),
    [
        (-3, 2, 701),  # a negative start
        (0, -2, 3025),  # a negative count
        (10, 1, 705),  # past next_index: never reserved
        (9, 2, 705),  # runs past the last block
        (3, 4, 705),  # across two blocks
        (8, 1, 705),  # released already
        (6, 2, 705),  # overlaps a release
    ],
)
def test_release_takes_only_an_unused_part_of_one_reserved_block(store, start, count, code):
    store.create_series(gold())
    store.reserve("GOLD", 5)  # indexes 0..4
    store.reserve("GOLD", 5)  # 5..9
    store.release("GOLD", 7, 3)  # 7..9 never handed out
    before = store.ledger("GOLD")
    with pytest.raises(cardseq.CardSeqError) as info:
        store.release("GOLD", start, count)
    assert info.value.code == code
    if code == 705:
        assert isinstance(info.value, cardseq.InvalidRelease)
        assert f"{start}..{start + count - 1}" in info.value.message
    assert store.ledger("GOLD") == before
    check_ledger(store, "GOLD")
    for index in range(7):  # handed-out numbers still read as generated
        assert store.lookup(gold().format(index)).entry is not None


def test_release_of_a_whole_block_or_its_tail(store):
    store.create_series(gold())
    first, second = store.reserve("GOLD", 5), store.reserve("GOLD", 5)
    store.release("GOLD", second.start, second.count)
    store.release("GOLD", 3, 2)
    assert [(e.kind, e.start, e.count) for e in store.ledger("GOLD")][2:] == [
        ("released", 5, 5),
        ("released", 3, 2),
    ]
    assert store.lookup(gold().format(2)).entry.start == first.start
    assert store.lookup(gold().format(3)).entry is None
    check_ledger(store, "GOLD")


def test_sqlite_file_in_a_missing_directory(tmp_path):
    with pytest.raises(cardseq.InvalidArgument) as info:
        open_store(f"sqlite:///{tmp_path}/no/such/dir/cards.db")
    assert info.value.code == 701 and info.value.field == "db"


def test_postgres_url_in_messages_hides_the_password():
    from cardseq.store.postgres import _without_password

    shown = _without_password(
        "postgresql://app:p@ss:w@rd@db.example:5432/cards?password=other&sslmode=require"
    )
    assert "p@ss" not in shown and "rd" not in shown.split("@")[0] and "other" not in shown
    assert shown.startswith("postgresql://app:***@db.example:5432/cards")
    assert "sslmode=require" in shown


# ---- listings, a page at a time ------------------------------------------------------


def read_pages(fetch, limit: int) -> list:
    """Every item of a paged listing, following ``next`` from the start; each page but
    the last is full."""
    items, after = [], 0
    while True:
        page = fetch(limit=limit, after=after)
        items.extend(page.items)
        if page.next is None:
            return items
        assert len(page.items) == limit and page.next == page.items[-1].id
        after = page.next


@pytest.mark.parametrize("limit", [1, 7, 100, 125, 1000])
def test_ledger_pages_hold_every_row_once_in_order(store, limit):
    """250 reservations of one series, between rows of another and an unused row: the
    pages of the series' reservations hold each once, in order, and nothing else."""
    a = store.create_series(gold())
    b = store.create_series(CardSeries("SILVER", prefix="SILV", length=12))
    for i in range(250):
        store.reserve(a, 1 + i % 3)
        if i % 10 == 0:
            store.reserve(b, 1)
    store.release(a, 0, 1)
    reserved = [e for e in store.ledger(a) if e.kind == "reserved"]
    assert len(reserved) == 250
    paged = read_pages(lambda **page: store.ledger_page(a, kind="reserved", **page), limit)
    assert paged == reserved
    assert read_pages(store.ledger_page, limit) == store.ledger()  # every series, every kind


def test_ledger_page_says_released_for_indexes_given_back(store):
    """One word for indexes given back: "released", in entries and in the filter (the
    ``kind`` column keeps storing 'unused', so older databases read the same)."""
    sid = store.create_series(gold())
    block = store.reserve(sid, 10)
    store.release(sid, block.start + 6, 4)
    assert [e.kind for e in store.ledger(sid)] == ["reserved", "released"]
    released = store.ledger_page(sid, kind="released").items
    assert [(e.start, e.count) for e in released] == [(6, 4)]


def test_ledger_page_default_and_bounds(store):
    sid = store.create_series(gold())
    for _ in range(150):
        store.reserve(sid, 1)
    first = store.ledger_page(sid)
    assert len(first.items) == 100 and first.next == first.items[-1].id  # the default
    rest = store.ledger_page(sid, after=first.next, limit=1000)
    assert len(rest.items) == 50 and rest.next is None
    assert store.ledger_page(sid, after=rest.items[-1].id).items == []
    bad = [{"limit": 0}, {"limit": 1001}, {"limit": True}, {"limit": 1.0}, {"limit": "10"}]
    bad += [{"after": -1}, {"after": None}, {"after": 2**63}, {"kind": "unused"}]
    for args in bad:
        with pytest.raises(cardseq.InvalidArgument) as info:
            store.ledger_page(sid, **args)
        assert info.value.code == 701 and next(iter(args)) in info.value.message


def test_allocator_step_too_big_for_memory_is_refused_at_construction():
    store = open_store("memory://")
    store.create_series(CardSeries("BIG", prefix="9", length=20))
    with pytest.raises(cardseq.CountTooLarge) as info:
        SegmentAllocator(store, "BIG", step=10**15)
    assert info.value.code == 3026 and info.value.field == "step"
    assert store.ledger("BIG") == []
    assert store.reserve("BIG", 1).start == 0
    store.close()


def test_allocator_segment_that_fails_to_format_is_recorded_unused(monkeypatch):
    store = open_store("memory://")
    store.create_series(CardSeries("A", prefix="9", length=8))
    real = cardseq.Block.to_list
    calls = []

    def fails_once(block, *args, **kwargs):
        calls.append(block.start)
        if len(calls) == 1:
            raise MemoryError
        return real(block, *args, **kwargs)

    monkeypatch.setattr(cardseq.Block, "to_list", fails_once)
    with SegmentAllocator(store, "A", step=10) as allocator:
        with pytest.raises(cardseq.CountTooLarge):
            allocator.next()
        assert allocator.next() == "90000010"  # the next call tries again
    assert [(e.kind, e.start, e.count) for e in store.ledger("A")] == [
        ("reserved", 0, 10),
        ("released", 0, 10),
        ("reserved", 10, 10),
        ("released", 11, 9),
    ]
    check_ledger(store, "A")
    store.close()
