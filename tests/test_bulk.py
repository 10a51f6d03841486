"""Bulk parse and is_valid: the same answers as the scalar ``parse``, on both engines,
for lists and NumPy arrays, and the compiled engine byte for byte like its twin."""

from __future__ import annotations

import string

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import cardseq
from cardseq import CardSeries, _engine_py
from cardseq.bulk import Parsed, Reason, as_rows

from .strategies import ALL, series


def _scalar(s: CardSeries, number, lenient: bool = False) -> tuple[int | None, str]:
    try:
        return s.parse(number, lenient=lenient), ""
    except cardseq.InvalidNumber as error:
        return None, error.reason


def _bulk(s: CardSeries, parsed: Parsed) -> list[tuple[int | None, str]]:
    return [
        (None if reason else int(index), Reason(reason).label)
        for index, reason in zip(parsed.indexes.tolist(), parsed.reasons.tolist(), strict=True)
    ]


def _invalid_is_marked(parsed: Parsed) -> None:
    bad = parsed.reasons != 0
    if parsed.indexes.dtype == np.int64:
        assert (parsed.indexes[bad] == -1).all()
    else:
        assert all(i is None for i in parsed.indexes[bad])


@st.composite
def inputs(draw, s: CardSeries):
    """Numbers of ``s`` and near misses: a character changed, dropped or added, letters
    in the other case, characters outside ASCII, separators, junk of other types."""
    index = draw(st.one_of(st.just(0), st.just(s.capacity - 1), st.integers(0, s.capacity - 1)))
    number = s.format(index)
    pos = draw(st.integers(0, len(number) - 1))
    char = draw(st.sampled_from(string.ascii_letters + string.digits + " -\0é٣"))
    return draw(
        st.sampled_from(
            [
                number,
                number[:pos] + char + number[pos + 1 :],
                number[:pos] + number[pos + 1 :],
                number[:pos] + char + number[pos:],
                number.lower(),
                number.swapcase(),
                f" {number[:4]}-{number[4:]} ",
                f";{number}=2512101?x",
                number.encode(),
                number + "\0",
                None,
                12345,
            ]
        )
    )


@pytest.mark.heavy
@given(series(ALL, max_width=40), st.data())
def test_bulk_matches_scalar(engine, s, data):
    """For any series and any inputs, ``parse_many`` gives ``parse``'s index or reason,
    from a list, a ``U`` array and an ``S`` array; and ``lenient`` likewise."""
    numbers = data.draw(st.lists(inputs(s), min_size=1, max_size=30))
    parsed = s.parse_many(numbers)
    assert _bulk(s, parsed) == [_scalar(s, n) for n in numbers]
    _invalid_is_marked(parsed)
    assert s.is_valid_many(numbers).tolist() == [s.is_valid(n) for n in numbers]
    lenient = s.parse_many(numbers, lenient=True)
    assert _bulk(s, lenient) == [_scalar(s, n, lenient=True) for n in numbers]
    texts = [n for n in numbers if isinstance(n, str)]
    for array in (np.array(texts, dtype=str), np.array([t.encode("utf-8") for t in texts])):
        # an element is what NumPy gives back for it (trailing NULs dropped)
        assert _bulk(s, s.parse_many(array)) == [_scalar(s, n) for n in array.tolist()]


@pytest.mark.heavy
@given(series(ALL, max_width=40), st.data())
def test_compiled_parse_is_byte_identical(s, data):
    """The compiled engine's indexes and reasons are the pure twin's, byte for byte."""
    compiled = pytest.importorskip("cardseq._engine_c")
    numbers = data.draw(st.lists(inputs(s), min_size=1, max_size=50))
    answers = []
    for engine in (compiled, _engine_py):
        rows, reasons = as_rows(numbers, s.length)
        indexes = np.full(len(numbers), -1, dtype=_engine_py.index_dtype(s._layout))
        engine.parse_rows(rows, s._layout, reasons, indexes)
        answers.append(
            (
                indexes.dtype,
                indexes.tobytes() if indexes.dtype != object else indexes.tolist(),
                reasons.tobytes(),
            )
        )
    assert answers[0] == answers[1]


def test_every_number_of_a_block(engine):
    """A large keyed block parses back to its indexes (lanes and chunks of every size)."""
    for method in ("LUHN", "RANDOM_LUHN", "RANDOM_MOD7"):
        s = CardSeries("B", prefix="60", length=16, method=method, key=None)
        numbers = s.block(1000, 70_001).to_numpy()
        parsed = s.parse_many(numbers)
        assert parsed.indexes.dtype == np.int64
        assert (parsed.indexes == np.arange(1000, 71_001)).all()
        assert parsed.valid.all()


def test_index_types_and_reasons():
    """int64 indexes up to 18 counter digits, Python ints beyond; each reason has the
    label ``parse`` puts on its error."""
    narrow = CardSeries("N", prefix="9", length=19)  # 18 digits
    wide = CardSeries("W", prefix="9", length=20)  # 19 digits: indexes pass 2**63
    assert narrow.parse_many([narrow.format(narrow.capacity - 1)]).indexes.dtype == np.int64
    parsed = wide.parse_many([wide.format(wide.capacity - 1), "x"])
    assert parsed.indexes.tolist() == [10**19 - 1, None]
    assert [r.label for r in Reason] == [
        "",
        "type",
        "length",
        "prefix",
        "suffix",
        "digits",
        "check digit",
        "range",
        "blocked",
    ]


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("ABC000125E", Reason.OK),
        (b"ABC000125E", Reason.OK),
        (None, Reason.TYPE),
        (["ABC000125E"], Reason.TYPE),
        ("ABC00012", Reason.LENGTH),
        ("XBC000125E", Reason.PREFIX),
        ("ABC000125X", Reason.SUFFIX),
        ("ABC00a125E", Reason.DIGITS),
        ("ABC00\u0661\u0661\u06615E", Reason.DIGITS),
        ("ABC000124E", Reason.CHECK_DIGIT),
        ("ABC000034E", Reason.RANGE),
    ],
)
def test_reasons(engine, number, reason):
    s = CardSeries("J", prefix="ABC", suffix="E", length=10, offset=10, method="LUHN")
    parsed = s.parse_many([number])
    assert (parsed.reasons.tolist(), parsed.indexes.tolist()) == (
        [reason],
        [2 if reason == Reason.OK else -1],
    )


def test_arrays_of_other_widths(engine):
    """An ``S``/``U`` array narrower or wider than the series' numbers: lengths are the
    elements' own."""
    s = CardSeries("D", length=6)
    assert s.parse_many(np.array([b"12345"])).reasons.tolist() == [Reason.LENGTH]
    wide = np.array(["000007", "0000070", "00000", ""], dtype="U9")
    assert s.parse_many(wide).indexes.tolist() == [7, -1, -1, -1]
    assert s.parse_many(np.array([], dtype="S6")).indexes.tolist() == []
    assert s.parse_many([]).reasons.tolist() == []


def test_not_a_list_is_refused():
    s = CardSeries("D", length=6)
    for junk in ("000007", b"000007", 7, None):
        with pytest.raises(TypeError, match="expected an array or a list"):
            s.parse_many(junk)
