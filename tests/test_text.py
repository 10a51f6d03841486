"""Numbers as people and tills send them (normalize, lenient parse) and as people see
them (mask, group)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cardseq
from cardseq import CardSeries
from cardseq.text import group, mask, normalize, unwrap_track2

from .strategies import ALL, series

VISA = CardSeries("V", prefix="400000", length=16, method="LUHN")


@pytest.mark.parametrize(
    "typed",
    [
        "4000000000000010",
        " 4000 0000 0000 0010 ",
        "4000-0000-0000-0010",
        "4000.0000.0000.0010",
        "4000\u00a00000\u20130000\u20140010\n",  # no-break space, en and em dashes
        "\uff14\uff10\uff10\uff10000000000010",  # full-width digits
        ";4000000000000010=25121010000000000000?",  # track 2 as a reader sends it
        ";4000000000000010=25121010000000000000?\x1d",  # ... with its check character
        "4000000000000010=2512101",  # a reader set to drop the sentinels
        ";4000 0000 0000 0010?",  # sentinels, no field separator
        b"4000-0000-0000-0010",
    ],
)
def test_lenient_reads_what_tills_send(typed):
    assert VISA.normalize(typed) == "4000000000000010"
    assert VISA.parse(typed, lenient=True) == 1
    assert VISA.is_valid(typed, lenient=True)
    if typed != "4000000000000010":
        assert not VISA.is_valid(typed)  # strict stays the default


def test_lenient_matches_prefix_and_suffix_letters_in_any_case():
    """Letters are only where the series has them: its prefix and suffix, in its case."""
    gold = CardSeries("GOLD", prefix="Gold", suffix="x21", length=14)
    number = gold.format(7)
    assert number == "Gold0000007x21"
    for typed in ("gold0000007X21", "GOLD-0000007-x21", "gOlD 000 000 7 X21"):
        assert gold.normalize(typed) == number
        assert gold.parse(typed, lenient=True) == 7
    with pytest.raises(cardseq.InvalidNumber) as info:
        gold.parse("gold0000007X21")
    assert info.value.reason == "prefix"
    with pytest.raises(cardseq.InvalidNumber) as info:
        gold.parse("silv0000007x21", lenient=True)
    assert info.value.reason == "prefix" and "'silv0000007x21'" in info.value.message


def test_lenient_refuses_what_strict_refuses():
    """Not text stays an error of type; junk stays junk."""
    for junk in (None, 12, ["4000000000000010"]):
        with pytest.raises(cardseq.InvalidNumber) as info:
            VISA.parse(junk, lenient=True)
        assert info.value.reason == "type" and info.value.code == 3010
    assert normalize(None) is None
    assert not VISA.is_valid("4000 0000 0000 0011", lenient=True)
    assert not VISA.is_valid("4000_0000_0000_0010", lenient=True)  # '_' is no separator


@given(series(ALL, max_width=30), st.data())
def test_normalize_keeps_numbers_of_the_series(s, data):
    index = data.draw(st.integers(0, s.capacity - 1))
    number = s.format(index)
    assert s.normalize(number) == number
    assert s.normalize(group(number, data.draw(st.integers(1, 6)), "-")) == number
    assert s.parse(f" {number.lower()} ", lenient=True) == index


def test_unwrap_track2_leaves_other_text():
    assert unwrap_track2("4000 0000") == "4000 0000"
    assert unwrap_track2(";4000000000000010=2512?") == "4000000000000010"


def test_mask_and_group():
    assert mask("4000000000000010") == "************0010"
    assert group(mask("4000000000000010")) == "**** **** **** 0010"
    assert mask("GOLD00000000000000102021", 6, "\u2022") == "\u2022" * 18 + "102021"
    assert mask("123") == "123" and mask("12345", 0) == "*****"
    assert group("6000000000000000007", 4, "-") == "6000-0000-0000-0000-007"
    assert group("") == ""
    with pytest.raises(cardseq.InvalidArgument) as info:
        group("6000", 0)
    assert info.value.code == 701 and info.value.field == "size"
