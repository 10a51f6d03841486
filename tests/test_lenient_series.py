"""Series that lenient reading could confuse (issue 19): a store refuses the second of
two series whose numbers read as each other once letter case is folded, and a store
that holds such a pair from before refuses to pick one when it reads leniently."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import cardseq
from cardseq import CardSeries
from cardseq.cli import main

from .stores import BACKENDS, SHARED_BACKENDS, open_api, store_url


@pytest.fixture(params=BACKENDS)
def store(request, api, tmp_path):
    """A new, empty store on each backend, through each API."""
    opened = open_api(api, store_url(request.param, tmp_path, request))
    yield opened
    opened.close()


# (existing series, new series, what the refusal says reads as what): each a number
# typed one way is a number of both once letter case is folded
CLASHES = [
    (("AB", "", 8), ("ab", "", 8), "prefix 'ab' reads as 'AB'"),
    (("ab", "", 8), ("AB", "", 8), "prefix 'AB' reads as 'ab'"),
    (("Ab", "", 8), ("aB", "", 8), "prefix 'aB' reads as 'Ab'"),
    (("", "XY", 8), ("", "xy", 8), "suffix 'xy' reads as 'XY'"),
    (("G", "xY", 9), ("g", "Xy", 9), "prefix 'g' reads as 'G' and suffix 'Xy' reads as 'xY'"),
    (("AB", "", 8), ("ab1", "", 8), "prefix 'ab1' reads as 'AB1'"),  # a digit slot of AB
    (("A", "", 8), ("a1", "", 8), "prefix 'a1' reads as 'A1'"),
    (("X", "9", 6), ("x1", "", 6), "prefix 'x1' reads as 'X1'"),  # prefix meets suffix
    (("12ab", "", 8), ("12AB", "", 8), "prefix '12AB' reads as '12ab'"),
]


@pytest.mark.parametrize(("first", "second", "why"), CLASHES)
def test_series_that_read_as_each_other_are_refused(store, first, second, why):
    store.create_series(CardSeries("ONE", prefix=first[0], suffix=first[1], length=first[2]))
    two = CardSeries("two", prefix=second[0], suffix=second[1], length=second[2])
    with pytest.raises(cardseq.SeriesOverlap) as info:
        store.create_series(two)
    error = info.value
    assert error.code == 3006
    assert "series 'two'" in error.message and "series 'ONE'" in error.message
    assert why in error.message and "letter case is folded" in error.message
    assert error.field == why.split()[0] and error.value in (two.prefix, two.suffix)
    assert [i.series.code for i in store.list_series()] == ["ONE"]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("AB", "", 8), ("A", "", 8)),  # B is no digit: AB... is never A + digits
        (("ab", "", 8), ("AC", "", 8)),
        (("ab", "", 8), ("ab", "", 9)),  # another length
        (("", "xy", 8), ("xy", "", 8)),
    ],
)
def test_series_no_reading_confuses_may_stand_together(store, first, second):
    store.create_series(CardSeries("ONE", prefix=first[0], suffix=first[1], length=first[2]))
    store.create_series(CardSeries("two", prefix=second[0], suffix=second[1], length=second[2]))


@pytest.mark.parametrize("prefix", ["A-B", "A B", "A.B", "A\u2013B", "\uff21B"])
def test_a_prefix_cannot_hold_what_lenient_reading_drops(prefix):
    """Separators and full-width letters, which lenient reading drops or folds, are not
    prefix characters: no series can clash through them."""
    with pytest.raises(cardseq.InvalidPrefix):
        CardSeries("S", prefix=prefix, length=10)


AFFIX = st.text("aAbB1", max_size=3)


@given(
    a=st.tuples(AFFIX, AFFIX),
    b=st.tuples(AFFIX, AFFIX),
    index=st.integers(0, 999),
    flips=st.lists(st.booleans(), min_size=9, max_size=9),
    separator=st.sampled_from(["", " ", "-"]),
)
def test_a_number_two_series_read_leniently_means_their_patterns_overlap(
    a, b, index, flips, separator
):
    """The rule covers every lenient reading: a number of series ``a``, typed with its
    letters in any case and with separators, that series ``b`` reads as well, means the
    two were never allowed together."""
    length = 9
    first = CardSeries("A", prefix=a[0], suffix=a[1], length=length)
    second = CardSeries("B", prefix=b[0], suffix=b[1], length=length)
    number = first.format(index % first.capacity)
    cased = (c.swapcase() if flip else c for c, flip in zip(number, flips, strict=True))
    typed = separator.join(cased)
    if first.is_valid(typed, lenient=True) and second.is_valid(typed, lenient=True):
        assert first.overlaps(second) and second.overlaps(first)


# ---- a store from before the rule ----------------------------------------------------


def insert_unchecked(store, series: CardSeries) -> None:
    """Register ``series`` as a store made before the rule could have: without the check."""
    with store._transaction() as cur:
        store._run(
            cur,
            "INSERT INTO cardseq_series (code, prefix, suffix, length, start_offset, method,"
            " enabled, next_index, capacity, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP)",
            (
                series.code,
                series.prefix,
                series.suffix,
                series.length,
                store._to_db(series.offset),
                series.method.value,
                True,
                store._to_db(0),
                store._to_db(series.capacity),
            ),
        )


def test_a_lenient_read_two_old_series_accept_is_refused(store):
    """``AB`` and ``ab`` from before the rule: ``ab000002`` (never issued by ``ab``)
    read leniently is no longer reported as ``AB``'s card; strict reading still tells
    the two apart."""
    store.create_series(CardSeries("UP", prefix="AB", length=8))
    insert_unchecked(store, CardSeries("low", prefix="ab", length=8))
    store.reserve("UP", 5)
    store.reserve("low", 1)
    for typed in ("ab000002", "AB000002", "aB-0000 02", "ab000000"):
        with pytest.raises(cardseq.SeriesOverlap) as info:
            store.lookup_many(["GOLD", typed], lenient=True)
        error = info.value
        assert (error.code, error.field) == (3006, "number")
        assert "series 'UP' (id 1)" in error.message and "series 'low' (id 2)" in error.message
    strict = store.lookup_many(["ab000002", "AB000002", "ab000000"])
    assert [(f.info.series.code, f.state) for f in strict] == [
        ("low", "unreserved"),
        ("UP", "reserved"),
        ("low", "reserved"),
    ]
    store.create_series(CardSeries("CD", prefix="CD", length=8))
    store.reserve("CD", 2)
    (alone,) = store.lookup_many(["cd-000001"], lenient=True)  # one series reads it
    assert (alone.number, alone.info.series.code, alone.state) == ("CD000001", "CD", "reserved")


@pytest.mark.parametrize("backend", SHARED_BACKENDS)
def test_validate_lenient_refuses_a_number_two_old_series_read(backend, tmp_path, request):
    url = store_url(backend, tmp_path, request)
    with open_api("sync", url) as store:
        store.create_series(CardSeries("UP", prefix="AB", length=8))
        insert_unchecked(store, CardSeries("low", prefix="ab", length=8))
        store.reserve("UP", 5)
    runner = CliRunner()
    result = runner.invoke(main, ["validate", "--lenient", "ab000002", "--db", url])
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stderr.startswith("error 3006: number 'ab000002' reads as a number of")
    assert "'UP'" in result.stderr and "'low'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    strict = runner.invoke(main, ["validate", "ab000002", "--db", url])
    assert strict.exit_code == 0 and "series low (id 2), index 2, not reserved yet" in strict.stdout
