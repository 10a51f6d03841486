"""Blocked words (issue 23, item 3): no code spells one, and the series stays
one-to-one, dense and exactly decodable, on both engines.

The oracle is plain enumeration: every counter of a small space written out and
searched for the words, independently of the automaton that counts them.
"""

from __future__ import annotations

import itertools
import json

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cardseq import CardSeries, _engine, _engine_py, blocked
from cardseq.bulk import Reason
from cardseq.cli import main
from cardseq.errors import (
    InvalidNumber,
    InvalidSeries,
    SchemaMismatch,
    SeriesExhausted,
    SeriesExists,
)
from cardseq.store import open_store

from .stores import take_back

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
        if not _spells(series, code):
            out.append(code)
    return out


def _spells(series: CardSeries, code: str) -> bool:
    """Whether ``code`` holds one of the series' words, once folded as people type."""
    folded = series.alphabet.fold(code).upper()
    return any(word in folded for word in series.blocked)


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
    # a guesser skips the codes that spell a word, below the offset too
    assert series.well_formed == len(allowed_codes(CardSeries("T", **{**fields, "offset": 0})))
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


KEYED_WIDE = CardSeries(
    "K", prefix="GIFT", length=20, alphabet="crockford", blocked="default",
    method="RANDOM_DAMM", key=bytes(range(16)),
)  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(
    a=st.integers(0, KEYED_WIDE.capacity - 64),
    b=st.integers(0, KEYED_WIDE.capacity - 64),
    n=st.integers(1, 64),
)
def test_blocks_anywhere_round_trip_and_never_share_a_code(a: int, b: int, n: int) -> None:
    """Property: two blocks of a keyed 32^15 space with the default words decode back
    to their indexes, spell no word, and share codes only where their indexes do."""
    series, found = KEYED_WIDE, KEYED_WIDE._layout.blocked
    assert found is not None
    first, second = series.block(a, n).to_list(), series.block(b, n).to_list()
    assert series.parse_many(first + second).indexes.tolist() == [
        *range(a, a + n),
        *range(b, b + n),
    ]
    assert not any(found.spelled(code) for code in first + second)
    shared = set(range(a, a + n)) & set(range(b, b + n))
    assert len(set(first) & set(second)) == len(shared)


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


def test_a_store_records_the_words_and_hands_out_only_the_allowed_codes(shared_url) -> None:
    """A keyed series with blocked words, reserved to exhaustion in a store: every
    allowed code once, none that spells a word, and the words kept across openings."""
    keys = {"w": bytes(range(16))}
    fields = {**SMALL[3], "key_id": "w"}
    series = CardSeries("W", **fields)
    want = set(allowed_codes(series.with_key(keys["w"])))
    assert series.capacity == len(want) and series.skipped > 0
    got: list[str] = []
    with open_store(shared_url, keys=keys) as store:
        store.create_series(series)
        for count in (1, 999, series.capacity - 1000):
            got += store.reserve("W", count).to_list()
        with pytest.raises(SeriesExhausted):
            store.reserve("W", 1)
    assert len(got) == len(set(got)) and set(got) == want
    assert not any(_spells(series, code) for code in got)
    with open_store(shared_url, keys=keys) as store:
        kept = store.series("W")
        assert kept.series.blocked == series.blocked == ("BAD", "CAB", "FF")
        assert kept.series.to_dict() == series.to_dict()
        assert (kept.next_index, kept.remaining) == (series.capacity, 0)
        assert store.create_series(series, exists_ok=True) == kept.id
        with pytest.raises(SeriesExists):  # other words: another definition
            store.create_series(CardSeries("W", **{**fields, "blocked": "BAD,CAB"}), exists_ok=True)
        assert [kept.series.parse(c) for c in got[:5]] == [0, 1, 2, 3, 4]


def test_a_version_6_store_is_migrated_to_record_blocked_words(shared_url) -> None:
    """Schema version 7 adds the ``blocked`` column: an older store, migrated, keeps
    its code series unchanged and then takes one with blocked words."""
    from cardseq.store.schema import SCHEMA_VERSION

    plain = CardSeries("P", prefix="P", length=8, alphabet="crockford")
    with open_store(shared_url) as store:
        store.create_series(plain)
        first = store.reserve("P", 3).to_list()
    take_back(shared_url, 6, "ALTER TABLE cardseq_series DROP COLUMN blocked")
    with pytest.raises(SchemaMismatch) as info:
        open_store(shared_url, migrate=False)
    assert (info.value.found, info.value.expected) == (6, SCHEMA_VERSION)
    words = CardSeries("B", prefix="B", length=8, alphabet="crockford", blocked="XX,Y0")
    with open_store(shared_url) as store:
        assert store.series("P").series.blocked == ()
        assert first + store.reserve("P", 2).to_list() == plain.block(0, 5).to_list()
        store.create_series(words)
    with open_store(shared_url) as store:
        assert store.series("B").series.blocked == ("XX", "Y0")
        assert store.reserve("B", 4).to_list() == words.block(0, 4).to_list()


def test_the_cli_creates_shows_and_generates_a_series_with_blocked_words(tmp_path) -> None:
    db = f"sqlite:///{tmp_path}/cards.db"
    runner = CliRunner(env={"CARDSEQ_DB": db})

    def run(*args: str) -> str:
        result = runner.invoke(main, list(args))
        assert result.exit_code == 0, result.output
        return result.stdout

    made = run(
        "series", "create", "GIFT", "--prefix", "G", "--length", "6", "--alphabet",
        "ABCDEF", "--blocked", "bad, cab ff",
    )  # fmt: skip
    series = CardSeries("GIFT", prefix="G", length=6, alphabet="ABCDEF", blocked="BAD,CAB,FF")
    assert f"capacity {series.capacity}," in made
    shown = run("series", "show", "GIFT")
    assert "blocked words: BAD,CAB,FF\n" in shown
    assert f"codes skipped for them: {series.skipped}\n" in shown
    as_json = json.loads(run("series", "show", "GIFT", "--json"))
    assert as_json["series"]["blocked"] == ["BAD", "CAB", "FF"]
    out = tmp_path / "codes.txt"
    run("generate", "GIFT", "--count", str(series.capacity), "--out", str(out))
    codes = out.read_text().split()
    assert sorted(codes) == sorted(allowed_codes(series))
    refused = runner.invoke(
        main, ["series", "create", "NUM", "--length", "8", "--blocked", "default"]
    )
    assert refused.exit_code != 0 and "Traceback" not in refused.output
    assert "3000" in refused.output and "blocked" in refused.output


def test_the_http_series_body_takes_blocked_words(shared_url) -> None:
    from cardseq.server import create_app

    from .test_server_inputs import Client

    client = Client(create_app(shared_url, users_file=None))
    try:
        config = {"prefix": "G", "length": 6, "alphabet": "ABCDEF", "blocked": ["bad", "CAB", "ff"]}
        made = client.post(
            "/v2/card/series", json={"code": "GIFT", "cardGenerationConfiguration": config}
        )
        assert made.status_code == 200, made.text
        series_id = made.json()["entity"]
        answer = client.get(f"/v2/card/series/{series_id}").json()["cardGenerationConfiguration"]
        assert answer["blocked"] == ["BAD", "CAB", "FF"]
        series = CardSeries("GIFT", prefix="G", length=6, alphabet="ABCDEF", blocked="BAD,CAB,FF")
        numbers = client.post(
            "/v2/card/generate", json={"seriesId": series_id, "count": series.capacity}
        ).json()["data"]
        assert sorted(numbers) == sorted(allowed_codes(series))
        over = client.post("/v2/card/generate", json={"seriesId": series_id, "count": 1})
        assert over.json()["errors"][0]["code"] == 702
        for words in ("default", "x"):  # digits cannot block; a word of one letter
            body = {"code": f"B{words}", "cardGenerationConfiguration": {
                "length": 8, "alphabet": "digits" if words == "default" else "crockford",
                "blocked": words}}  # fmt: skip
            refused = client.post("/v2/card/series", json=body)
            assert refused.status_code == 400, refused.text
            problem = refused.json()["errors"][0]
            assert problem["code"] == 3000 and "blocked" in problem["message"]
        document = client.get("/openapi.json").json()
        schemas = document["components"]["schemas"]
        assert (
            "cardseq's own field"
            in schemas["GenerationConfiguration"]["properties"]["blocked"]["description"]
        )
    finally:
        client.close()


def test_words_are_matched_whatever_the_case_and_recorded_folded() -> None:
    assert blocked.words(
        "ab, Cd  ab", CardSeries("x", length=6, alphabet="crockford").alphabet, ""
    ) == (
        "AB",
        "CD",
    )
