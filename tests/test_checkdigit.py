"""Check digits against independent oracles: the luhn package and python-stdnum.

Tests of block output take ``engine``: they run on each twin in turn."""

from __future__ import annotations

import luhn as luhn_oracle
import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import luhn as stdnum_luhn

from cardseq import CardSeries, checkdigit

from .strategies import series_and_range

payloads = st.text("0123456789", min_size=1, max_size=160)


@given(payloads)
def test_luhn_matches_oracles(payload):
    digit = checkdigit.luhn(payload)
    assert digit == luhn_oracle.generate(payload)
    assert str(digit) == stdnum_luhn.calc_check_digit(payload)


@given(payloads)
def test_mod7_is_payload_mod_7(payload):
    assert checkdigit.mod7(payload) == int(payload) % 7


@pytest.mark.usefixtures("engine")
@given(st.text("0123456789", min_size=0, max_size=12), st.data())
def test_luhn_numbers_pass_validators(prefix, data):
    """With a numeric prefix and no suffix, a whole LUHN number is a valid Luhn number."""
    s = CardSeries(
        "L",
        prefix=prefix,
        length=max(5, len(prefix) + 2) + data.draw(st.integers(0, 20)),
        method="LUHN",
    )
    start = data.draw(st.integers(0, s.capacity - 1))
    count = min(200, s.capacity - start)
    for number in s.block(start, count).to_list():
        assert luhn_oracle.verify(number)
        assert stdnum_luhn.is_valid(number)


@pytest.mark.usefixtures("engine")
@given(series_and_range(methods=("LUHN", "MOD7")))
def test_block_check_digits_match_oracles(case):
    """Bulk output (of each engine) carries the oracle's check digit."""
    s, start, count = case
    head = len(s.prefix)
    numeric_prefix = s.prefix if s.prefix.isdigit() else ""
    for number in s.block(start, count).to_list():
        counter = number[head : head + s.counter_width]
        payload = numeric_prefix + counter
        got = number[head + s.counter_width]
        if s.method == "LUHN":
            assert got == stdnum_luhn.calc_check_digit(payload)
        else:
            assert got == str(int(payload) % 7)
