"""Hypothesis strategies for card series and ranges inside them."""

from __future__ import annotations

import string

from hypothesis import strategies as st

from cardseq import CardSeries, Method
from cardseq.series import MAX_LENGTH, MIN_LENGTH

SEQUENTIAL = [Method.DEFAULT, Method.LUHN, Method.MOD7]
KEYED = [Method.RANDOM, Method.RANDOM_LUHN, Method.RANDOM_MOD7]
ALL = SEQUENTIAL + KEYED
ALNUM = string.ascii_letters + string.digits


def affixes(max_size: int = 50) -> st.SearchStrategy[str]:
    return st.one_of(
        st.just(""),
        st.text(string.digits, min_size=1, max_size=8),
        st.text(ALNUM, max_size=max_size),
    )


@st.composite
def series(draw, methods=tuple(SEQUENTIAL), max_width: int = 148) -> CardSeries:
    """Any valid series: long and short affixes, narrow and very wide counters."""
    method = Method.parse(draw(st.sampled_from(methods)))
    prefix = draw(affixes())
    suffix = draw(affixes())
    has_check = method.check != 0
    fixed = len(prefix) + len(suffix) + has_check
    low = max(1, MIN_LENGTH - fixed)
    high = min(max_width, MAX_LENGTH - fixed)
    if high < low:
        prefix, suffix = prefix[:5], ""
        fixed = len(prefix) + has_check
        low, high = max(1, MIN_LENGTH - fixed), min(max_width, MAX_LENGTH - fixed)
    width = draw(st.one_of(st.integers(low, min(high, 20)), st.integers(low, high)))
    top = 10**width - 1
    offset = draw(st.one_of(st.just(0), st.integers(0, top), st.integers(max(0, top - 5), top)))
    key = draw(st.binary(min_size=16, max_size=64)) if method.keyed else None
    return CardSeries(
        "S1",
        prefix=prefix,
        suffix=suffix,
        length=fixed + width,
        offset=offset,
        method=method,
        key=key,
    )


@st.composite
def ranges(draw, s: CardSeries, max_count: int = 500) -> tuple[int, int]:
    """A (start, count) inside the series, often touching its first or last index."""
    cap = s.capacity
    count = draw(st.integers(1, min(cap, max_count)))
    start = draw(st.one_of(st.just(0), st.just(cap - count), st.integers(0, cap - count)))
    return start, count


@st.composite
def series_and_range(draw, methods=tuple(SEQUENTIAL), max_count: int = 500, max_width: int = 148):
    s = draw(series(methods, max_width))
    if s.method.keyed:
        max_count = min(max_count, 200)
    start, count = draw(ranges(s, max_count))
    return s, start, count
