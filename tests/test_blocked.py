"""Blocked words (issue 23, item 3): no code spells one, and the series stays
one-to-one, dense and exactly decodable, on both engines.

The oracle is plain enumeration: every counter of a small space written out and
searched for the words, independently of the automaton that counts them.
"""

from __future__ import annotations

import itertools

import pytest

from cardseq import CardSeries, _engine, _engine_py, blocked
from cardseq.bulk import Reason
from cardseq.errors import InvalidNumber, InvalidSeries
from cardseq.store import open_store

SMALL = [
    {"prefix": "A", "length": 5, "alphabet": "crockford", "blocked": "BC,X0"},
    {"prefix": "A", "suffix": "Z", "length": 6, "alphabet": "crockford", "blocked": "BC,ZZ,1Z",
         "method": "DAMM", "offset": 33},
    {"prefix": "B", "length": 6, "alphabet": "ABCDEF", "blocked": "BAD,CAB,FF",
     "method": "ISO7064"},
    {"prefix": "B", "length": 7, "alphabet": "ABCDEF", "blocked": "BAD,CAB,FF",
     "method": "RANDOM_ISO7064"},
    {"prefix": "Q", "length": 5, "alphabet": "crockford", "blocked": "QA,OK",
     "method": "RANDOM_LUHN", "offset": 5},
    {"prefix": "V", "length": 5, "alphabet": "unambiguous", "blocked": ["xx", "K9", "a2b"],
         "method": "RANDOM"},
]  # fmt: skip


def allowed_codes(series: CardSeries) -> list[str]:
    """Every code of ``series`` from its offset, in counter order, that spells none of
    its words: written and searched here, one by one."""
    out = []
    for symbols in itertools.product(series.alphabet.symbols, repeat=series.counter_width):
        counter = "".join(symbols)
        if series.alphabet.decode(counter) < series.offset:
            continue
        code = series.prefix + counter + series._check(counter) + series.suffix
        folded = series.alphabet.fold(code).upper()
        if not any(word in folded for word in series.blocked):
            out.append(code)
    return out


@pytest.fixture(params=["compiled", "pure"])
def twin(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "pure":
        monkeypatch.setattr(_engine, "engine", _engine_py)
    return str(request.param)


@pytest.mark.parametrize(
    "fields", SMALL, ids=lambda f: f"{f.get('method', 'DEFAULT')}-{f['blocked']}"
)
def test_every_index_is_a_distinct_allowed_code_that_decodes_back(fields: dict, twin: str) -> None:
    series = CardSeries("T", **fields)
    want = allowed_codes(series)
    assert series.capacity == len(want)
    assert series.skipped == series.alphabet.base**series.counter_width - series.offset - len(want)
    assert series.skipped > 0  # the words do take codes out
    codes = series.block(0, series.capacity).to_list()
    assert sorted(codes) == sorted(want)  # distinct, allowed, and all of them
    if not series.method.keyed:
        assert codes == want  # sequential: counter order, void counters skipped
    else:
        assert codes != want
    assert [series.format(i) for i in range(0, series.capacity, 97)] == codes[::97]
    assert [series.parse(c) for c in codes[::89]] == list(range(0, series.capacity, 89))
    parsed = series.parse_many(codes)
    assert parsed.indexes.tolist() == list(range(series.capacity))
    assert not parsed.reasons.any()
    numpy = series.block(3, series.capacity - 3).to_numpy("desc")
    assert numpy.tolist() == [c.encode() for c in codes[3:][::-1]]


def test_both_engines_write_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    series = CardSeries(
        "G", prefix="GIFT", length=20, alphabet="crockford", blocked="default",
        method="RANDOM_DAMM", group=4,
    )  # fmt: skip
    start = series.capacity // 3
    compiled = series.block(start, 20_000).to_numpy()
    monkeypatch.setattr(_engine, "engine", _engine_py)
    assert series.block(start, 20_000).to_numpy().tolist() == compiled.tolist()


def test_a_code_that_spells_a_word_is_refused_with_the_word() -> None:
    series = CardSeries("W", prefix="A", length=5, alphabet="crockford", blocked="BC,X0")
    with pytest.raises(InvalidNumber) as caught:
        series.parse("AXOZZ", lenient=True)  # O folds to 0: X0
    assert caught.value.reason == "blocked" and "'X0'" in str(caught.value)
    assert Reason(series.parse_many(["ABC12"]).reasons[0]) is Reason.BLOCKED
    assert not series.is_valid("ABC12")


def test_large_spaces_count_exactly_and_round_trip() -> None:
    series = CardSeries(
        "L", prefix="GIFT", length=20, alphabet="crockford", blocked="default", method="DAMM",
        offset=12345,
    )  # fmt: skip
    found = series._layout.blocked
    assert found is not None
    assert series.capacity + series.skipped == 32**15 - 12345
    for index in (0, 1, series.capacity // 2, series.capacity - 1):
        code = series.format(index)
        assert series.parse(code) == index
        assert not found.spelled(code)
    # Counting agrees with enumeration on a stretch of the counters.
    first = found.counter_at(10**18)
    stretch = series.block(10**18, 5_000).to_list()
    tail = [series.alphabet.decode(c[4:19]) for c in stretch]
    assert tail[0] == first
    skipped = (tail[-1] - tail[0] + 1) - len(stretch)
    assert found.below(tail[-1] + 1) - found.below(first) == len(stretch)
    assert skipped >= 0


def test_default_list_keeps_the_words_the_alphabet_can_spell() -> None:
    crockford = CardSeries("C", length=10, alphabet="crockford", blocked="default")
    assert "B00B" in crockford.blocked  # folded as the alphabet reads O
    assert not any("U" in word for word in crockford.blocked)  # no U in Crockford
    assert crockford.to_dict()["blocked"] == list(crockford.blocked)
    assert CardSeries("D", length=10, alphabet="crockford").blocked == ()


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"alphabet": "digits", "blocked": "666"}, "code series"),
        ({"alphabet": "unambiguous", "blocked": "LOL"}, "can never appear"),
        ({"alphabet": "crockford", "blocked": "A"}, "2 to 16"),
        ({"alphabet": "crockford", "prefix": "SEX", "blocked": "default"}, "prefix"),
        ({"alphabet": "ABCDEF", "blocked": [a + b for a in "ABCDEF" for b in "ABCDEF"]}, "no code"),
    ],
)
def test_bad_words_are_refused_with_3000(fields: dict, says: str) -> None:
    with pytest.raises(InvalidSeries) as caught:
        CardSeries("E", length=8, **fields)
    assert caught.value.code == 3000 and caught.value.field == "blocked"
    assert says in str(caught.value)


def test_a_store_refuses_what_it_would_not_record() -> None:
    series = CardSeries("S", length=8, alphabet="crockford", blocked="XX")
    with open_store("memory://") as store, pytest.raises(InvalidSeries) as caught:
        store.create_series(series)
    assert caught.value.field == "blocked"


def test_words_are_matched_whatever_the_case_and_recorded_folded() -> None:
    assert blocked.words(
        "ab, Cd  ab", CardSeries("x", length=6, alphabet="crockford").alphabet, ""
    ) == (
        "AB",
        "CD",
    )
