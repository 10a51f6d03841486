"""CardSeries: validation codes, format and parse, junk input.

``format`` and ``parse`` are scalar Python; tests taking ``engine`` also check that
the engine (each twin in turn) writes the same numbers in a block."""

from __future__ import annotations

import ast
import inspect

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cardseq
from cardseq import CardSeqError, CardSeries, Method
from cardseq import series as series_module

from .strategies import ALL, series


@pytest.mark.usefixtures("engine")
def test_reference_ui_example():
    gold = CardSeries("GOLD", prefix="GOLD", suffix="2021", length=24, offset=10)
    assert gold.format(0) == "GOLD00000000000000102021"
    assert gold.block(0, 1).to_list() == ["GOLD00000000000000102021"]
    assert gold.counter_width == 16
    assert gold.capacity == 10**16 - 10


@pytest.mark.parametrize(
    ("kwargs", "error", "code", "field"),
    [
        ({"prefix": "GO-LD", "length": 20}, cardseq.InvalidPrefix, 3022, "prefix"),
        ({"prefix": "Ü", "length": 20}, cardseq.InvalidPrefix, 3022, "prefix"),
        ({"prefix": "A" * 51, "length": 120}, cardseq.InvalidPrefix, 3022, "prefix"),
        ({"prefix": 12, "length": 20}, cardseq.InvalidPrefix, 3022, "prefix"),
        ({"suffix": "end!", "length": 20}, cardseq.InvalidSuffix, 3023, "suffix"),
        ({"suffix": "B" * 51, "length": 120}, cardseq.InvalidSuffix, 3023, "suffix"),
        ({"length": 151}, cardseq.LengthTooLong, 3024, "length"),
        ({"length": 4}, cardseq.LengthTooShort, 3028, "length"),
        ({"length": "16"}, cardseq.InvalidLength, 3005, "length"),
        ({"length": True}, cardseq.InvalidLength, 3005, "length"),
        ({"length": 16.0}, cardseq.InvalidLength, 3005, "length"),
        ({"prefix": "ABC", "suffix": "DE", "length": 5}, cardseq.InvalidLength, 3005, "length"),
        (
            {"prefix": "ABC", "suffix": "D", "length": 5, "method": "LUHN"},
            cardseq.InvalidLength,
            3005,
            "length",
        ),
        ({"length": 10, "offset": -1}, cardseq.InvalidOffset, 3047, "offset"),
        ({"length": 10, "offset": 10**10}, cardseq.InvalidOffset, 3047, "offset"),
        ({"length": 10, "offset": 10**9, "method": "MOD7"}, cardseq.InvalidOffset, 3047, "offset"),
        ({"length": 10, "offset": "3"}, cardseq.InvalidOffset, 3047, "offset"),
        ({"length": 10, "offset": 1.5}, cardseq.InvalidOffset, 3047, "offset"),
        ({"length": 10, "method": "LUHN10"}, cardseq.InvalidSeries, 3000, "method"),
        ({"length": 10, "method": None}, cardseq.InvalidSeries, 3000, "method"),
        ({"length": 10, "method": ["LUHN"]}, cardseq.InvalidSeries, 3000, "method"),
        ({"length": 10, "key": b"k" * 16}, cardseq.InvalidSeries, 3000, "key"),
    ],
)
def test_validation_codes(kwargs, error, code, field):
    with pytest.raises(error) as info:
        CardSeries("S1", **kwargs)
    assert isinstance(info.value, CardSeqError)
    assert info.value.code == code
    assert info.value.field == field
    assert field in str(info.value)
    if field != "key":  # the key is never echoed
        assert repr(kwargs[field])[:20] in str(info.value)


@pytest.mark.parametrize("code", ["", "has space", "x" * 51, None, "café", "2021"])
def test_bad_code(code):
    with pytest.raises(cardseq.InvalidSeries) as info:
        CardSeries(code, length=10)
    assert info.value.code == 3000 and info.value.field == "code"


def test_limits_are_inclusive():
    assert CardSeries("a", length=5).capacity == 10**5
    assert CardSeries("a", length=150).counter_width == 150
    assert CardSeries("a", prefix="P" * 50, suffix="S" * 50, length=150).counter_width == 50
    assert CardSeries("a", prefix="ABC", suffix="D", length=6, method="LUHN").capacity == 10
    assert CardSeries("a", length=10, offset=10**10 - 1).capacity == 1


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("LUHNALGO", Method.LUHN),
        ("MOD7_ALGO", Method.MOD7),
        ("luhn", Method.LUHN),
        ("DEFAULT", Method.DEFAULT),
        (Method.MOD7, Method.MOD7),
    ],
)
def test_method_names_and_aliases(name, method):
    assert CardSeries("a", length=10, method=name).method is method


@pytest.mark.usefixtures("engine")
def test_format_edges():
    s = CardSeries("E", prefix="12", length=6, offset=5, method="MOD7")
    assert s.capacity == 995
    assert s.format(0) == "120050"  # 12005 == 7 * 1715
    assert s.format(1) == "120061"
    assert s.format(s.capacity - 1) == "129990"  # 12999 == 7 * 1857
    numbers = s.block(0, s.capacity).to_list()
    assert numbers == [s.format(i) for i in range(s.capacity)]
    assert [s.parse(n) for n in numbers] == list(range(s.capacity))
    with pytest.raises(cardseq.SeriesExhausted) as info:
        s.format(s.capacity)
    assert info.value.code == 702 and "995" in str(info.value)
    for bad in (-1, "1", 1.0, None, True):
        with pytest.raises(cardseq.InvalidArgument, match="index"):
            s.format(bad)


@pytest.mark.usefixtures("engine")
def test_wide_counter():
    s = CardSeries("W", prefix="9", length=150, method="LUHN")
    assert s.counter_width == 148
    last = s.format(s.capacity - 1)
    assert last == "9" + "9" * 148 + last[-1]
    assert s.parse(last) == 10**148 - 1
    assert s.block(s.capacity - 2, 2).to_list() == [s.format(s.capacity - 2), last]


@pytest.mark.usefixtures("engine")
@given(series(ALL), st.data())
def test_parse_inverts_format(s, data):
    i = data.draw(st.one_of(st.just(0), st.just(s.capacity - 1), st.integers(0, s.capacity - 1)))
    number = s.format(i)
    assert len(number) == s.length
    assert s.parse(number) == i
    assert s.parse(number.encode()) == i
    assert s.is_valid(number)
    (rendered,) = s.block(i, 1).to_numpy()
    assert rendered == number.encode()
    assert s.parse(rendered) == i


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("", "length"),
        ("ABC00012", "length"),
        ("XBC000125E", "prefix"),
        ("ABC000125X", "suffix"),
        ("ABC00a125E", "digits"),
        ("ABC00 125E", "digits"),
        ("ABC00\u0661\u0661\u06615E", "digits"),
        ("ABC000124E", "check digit"),
        ("ABC000034E", "range"),
        (None, "type"),
        (12345, "type"),
        (["ABC000125E"], "type"),
    ],
)
def test_parse_says_what_is_wrong(number, reason):
    s = CardSeries("J", prefix="ABC", suffix="E", length=10, offset=10, method="LUHN")
    assert s.format(2) == "ABC000125E"
    with pytest.raises(cardseq.InvalidNumber) as info:
        s.parse(number)
    assert info.value.reason == reason
    assert info.value.code == 3010 and info.value.field == "number"
    assert s.is_valid(number) is False


@given(
    st.one_of(st.text(), st.binary(), st.none(), st.integers(), st.floats(), st.lists(st.text()))
)
def test_is_valid_never_raises(junk):
    s = CardSeries("J", prefix="ABC", suffix="E", length=10, method="MOD7")
    assert s.is_valid(junk) in (True, False)


def test_key_is_not_shown():
    s = CardSeries("G", length=10)
    assert "key" not in repr(s)


def test_typed_constructor_matches_the_generated_one():
    """The ``__init__`` that type checkers read (series.py, under TYPE_CHECKING) takes
    the same parameters, of the same kinds, as the one the dataclass generates."""
    tree = ast.parse(inspect.getsource(series_module))
    (declared,) = (
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name == "__init__"
    )
    args = declared.args
    typed = [(a.arg, "POSITIONAL_OR_KEYWORD") for a in args.args[1:]]
    typed += [(a.arg, "KEYWORD_ONLY") for a in args.kwonlyargs]
    generated = inspect.signature(CardSeries).parameters.values()
    assert typed == [(p.name, p.kind.name) for p in generated]
