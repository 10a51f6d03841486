"""Code series: counters over an alphabet, their check characters, lenient reading and
display, on both engines and in the stores."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import luhn as stdnum_luhn
from stdnum.iso7064 import mod_37_36

import cardseq
from cardseq import CardSeries
from cardseq.alphabets import (
    CROCKFORD,
    NAMED,
    UNAMBIGUOUS,
    alphabet,
    damm,
    damm_fits,
    iso7064_fits,
)
from cardseq.store import open_store

BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ALPHABETS = ["crockford", "unambiguous", "AB3", "xyz12", BASE36, "ABCDEFGHIJ"]
METHODS = ["DEFAULT", "RANDOM", "LUHN", "RANDOM_LUHN", "DAMM", "RANDOM_DAMM", "ISO7064"]


def _fits(alpha: str, method: str) -> bool:
    base = len(alphabet(alpha).symbols)
    if method.endswith("DAMM"):
        return damm_fits(base)
    return not method.endswith("ISO7064") or iso7064_fits(base)


def _series(alpha: str, method: str, width: int, **more) -> CardSeries:
    check = method.endswith(("LUHN", "ISO7064", "DAMM"))
    key = bytes(range(16)) if method.startswith("RANDOM") else None
    return CardSeries(
        "C", prefix="QQQQ", length=4 + width + check, alphabet=alpha, method=method, key=key, **more
    )


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("alpha", ALPHABETS)
def test_every_index_of_a_small_space_is_a_distinct_code_that_reads_back(engine, alpha, method):
    if not _fits(alpha, method):
        with pytest.raises(cardseq.InvalidSeries) as info:
            _series(alpha, method, 2)
        assert info.value.field == "method"
        return
    for width in (1, 2, 3):
        series = _series(alpha, method, width, offset=1 if width > 1 else 0)
        assert series.capacity == len(alphabet(alpha).symbols) ** width - series.offset
        codes = series.block(0, series.capacity).to_list()
        assert len(set(codes)) == series.capacity
        assert all(len(c) == series.length and c.startswith("QQQQ") for c in codes)
        assert series.block(0, series.capacity).to_numpy().astype(str).tolist() == codes
        parsed = series.parse_many(codes)
        assert parsed.valid.all() and parsed.indexes.tolist() == list(range(series.capacity))
        for index in (0, series.capacity // 2, series.capacity - 1):
            assert series.format(index) == codes[index]
            assert series.parse(codes[index]) == index


@pytest.mark.parametrize("method", ["DEFAULT", "RANDOM_DAMM", "RANDOM_LUHN"])
def test_wide_codes_round_trip_on_both_engines(engine, method):
    """16 Crockford characters: 80 bits, past int64 and the uint64 arrays."""
    series = _series("crockford", method, 16)
    for start in (0, series.capacity - 300, 12345678901234567890):
        block = series.block(start, 300)
        codes = block.to_list()
        assert len(set(codes)) == 300
        assert [series.parse(c) for c in codes[:20]] == list(range(start, start + 20))
        assert series.parse_many(codes).indexes.tolist() == list(range(start, start + 300))


@given(
    st.integers(0, 32**12 - 51),
    st.integers(0, 32**12 - 51),
    st.sampled_from([m for m in METHODS if _fits("crockford", m)]),
)
def test_round_trip_and_no_code_in_two_blocks(a, b, method):
    series = _series("crockford", method, 12)
    assert series.parse(series.format(a)) == a
    first, second = sorted((a, b))
    one = set(series.block(first, 50).to_list())
    other = set(series.block(second, 50).to_list())
    assert len(one & other) == max(0, first + 50 - second)


def test_the_stdnum_oracle_agrees_for_mod_37_36_and_luhn_mod_n():
    iso = CardSeries("I", prefix="AB", length=14, alphabet=BASE36, method="ISO7064")
    luhn = CardSeries("L", prefix="AB", length=14, alphabet=BASE36, method="LUHN")
    rng = random.Random(7)
    for index in [0, 1, 35, 36, *(rng.randrange(iso.capacity) for _ in range(500))]:
        number = iso.format(index)
        assert mod_37_36.calc_check_digit(number[:-1]) == number[-1]
        assert mod_37_36.is_valid(number)
        number = luhn.format(index)
        assert stdnum_luhn.calc_check_digit(number[:-1], alphabet=BASE36) == number[-1]


@pytest.mark.parametrize(
    ("alpha", "method"),
    [
        ("crockford", "DAMM"),
        ("unambiguous", "DAMM"),
        ("AB3", "DAMM"),
        ("0123456789ABCDEF", "DAMM"),
        (BASE36, "ISO7064"),
        ("0123456789", "ISO7064"),
        ("crockford", "LUHN"),
        (BASE36, "LUHN"),
    ],
)
def test_the_check_catches_every_substitution_and_neighbour_swap(alpha, method):
    """Damm: every single substitution and every swap of neighbours. ISO 7064 MOD
    (N+1, N) and Luhn mod N: every substitution; most swaps only (measured below)."""
    series = CardSeries("X", length=9, alphabet=alpha, method=method)
    symbols = series.alphabet.symbols
    rng = random.Random(1)
    for index in (rng.randrange(series.capacity) for _ in range(40)):
        code = series.format(index)
        for at, other in itertools.product(range(len(code)), symbols):
            if other != code[at]:
                typo = code[:at] + other + code[at + 1 :]
                assert not series.is_valid(typo), (code, typo)
        if method == "DAMM":
            for at in range(len(code) - 1):
                if code[at] != code[at + 1]:
                    swapped = code[:at] + code[at + 1] + code[at] + code[at + 2 :]
                    assert not series.is_valid(swapped), (code, swapped)


@pytest.mark.parametrize("base", [3, 5, 7, 9, 15, 31, 33, 35, 63, 255, 4, 8, 16, 32, 64, 128, 256])
def test_dammis_operation_is_a_totally_anti_symmetric_quasigroup(base):
    """What makes Damm's check catch every substitution and swap, checked over the
    whole table: each row and column a permutation, and (c*x)*y = (c*y)*x only for
    x = y."""
    from cardseq.alphabets import _damm_step

    table = np.array([[_damm_step(x, y, base) for y in range(base)] for x in range(base)])
    everything = np.arange(base)
    assert all((np.sort(row) == everything).all() for row in table)
    assert all((np.sort(column) == everything).all() for column in table.T)
    x, y = np.meshgrid(everything, everything, indexing="ij")
    for c in range(base):
        left, right = table[table[c][x], y], table[table[c][y], x]
        assert not ((left == right) & (x != y)).any()
    values = [random.Random(base).randrange(base) for _ in range(12)]
    state = 0
    for value in [*values, damm(values, base)]:
        state = table[state][value]
    assert state == 0  # a code with its check character runs back to zero


def test_iso7064_misses_some_swaps_that_damm_catches():
    """Why DAMM is the check to choose for codes people type: MOD 37,36 lets a few
    swaps of neighbours through (the docs give the measured share)."""
    iso = CardSeries("I", length=9, alphabet=BASE36, method="ISO7064")
    missed = [
        (code, code[:at] + code[at + 1] + code[at] + code[at + 2 :])
        for code in iso.block(0, 2000).to_list()
        for at in range(len(code) - 1)
        if code[at] != code[at + 1]
    ]
    missed = [pair for pair in missed if iso.is_valid(pair[1])]
    assert missed  # not every swap: the check is not what catches them all
    assert len(missed) < 0.05 * 2000 * 8


def test_people_type_codes_folded_and_grouped():
    series = CardSeries(
        "GIFT", prefix="GIFT", length=17, alphabet="crockford", method="RANDOM_DAMM",
        key=bytes(16), group=4,
    )  # fmt: skip
    code = series.format(42)
    shown = series.display(code)
    assert shown == "-".join([code[:4], code[4:8], code[8:12], code[12:16], code[16:]])
    typed = shown.lower().replace("0", "o").replace("1", "l")
    assert series.parse(typed, lenient=True) == 42
    assert series.parse(f"  {shown} ", lenient=True) == 42
    for strict in (typed, shown):
        with pytest.raises(cardseq.InvalidNumber):
            series.parse(strict)
    assert UNAMBIGUOUS.fold("abc-def") == "ABCDEF"  # case folds; no look-alikes to fold
    assert series.to_dict()["group"] == 4 and series.to_dict()["alphabet"] == "crockford"


def test_a_code_with_a_look_alike_in_strict_mode_names_the_alphabet():
    series = CardSeries("V", length=8, alphabet="crockford")
    with pytest.raises(cardseq.InvalidNumber) as info:
        series.parse("0000000O")
    assert info.value.reason == "digits" and "crockford" in info.value.message


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"alphabet": "A"}, "alphabet", "2 to 256"),
        ({"alphabet": "ABCA"}, "alphabet", "'A' more than once"),
        ({"alphabet": "AB-C"}, "alphabet", "letters and digits only"),
        ({"alphabet": "ABÇ"}, "alphabet", "letters and digits only"),
        ({"alphabet": 32}, "alphabet", "a name or a string"),
        ({"alphabet": "crockford", "method": "MOD7"}, "method", "digits only"),
        ({"alphabet": "crockford", "method": "RANDOM", "cipher": "ff1"}, "cipher", "digit"),
        ({"alphabet": "crockford", "method": "ISO7064"}, "method", "use DAMM"),
        ({"alphabet": "0123456789AB", "method": "DAMM"}, "method", "not 12"),
        ({"group": -1}, "group", "from 0"),
        ({"group": 4, "separator": "/"}, "separator", "one of"),
        ({"group": 4, "separator": ".", "alphabet": "AB"}, "separator", None),
    ],
)
def test_definitions_that_cannot_be_codes_are_refused(fields, field, words):
    if field == "separator" and words is None:
        CardSeries("X", length=10, **fields)  # a dot is not a symbol: fine
        return
    with pytest.raises(cardseq.InvalidSeries) as info:
        CardSeries("X", length=10, **fields)
    assert info.value.code == 3000 and info.value.field == field
    assert words in info.value.message


def test_named_alphabets_are_the_documented_symbols():
    assert len(NAMED["crockford"]) == 32 and not set("ILOU") & set(NAMED["crockford"])
    assert len(NAMED["unambiguous"]) == 31 and not set("01ILO") & set(NAMED["unambiguous"])
    assert alphabet(NAMED["crockford"]) is CROCKFORD  # spelt out, it is the named one
    digits = CardSeries("D", prefix="9", length=12, method="LUHN")
    assert digits.format(5) == "90000000005" + str(
        cardseq.checkdigit.luhn("90000000005")
    )  # digits keep their numbers
    assert "alphabet" not in digits.to_dict()


# ---- in a store -------------------------------------------------------------------------


def test_a_store_keeps_the_alphabet_and_display(shared_url):
    series = CardSeries(
        "GIFT", prefix="G", length=14, alphabet="crockford", method="RANDOM_DAMM",
        key_id="g", group=4, separator=" ",
    )  # fmt: skip
    keys = {"g": bytes(range(32))}
    with open_store(shared_url, keys=keys) as store:
        store.create_series(series)
        first = store.reserve("GIFT", 5).to_list()
        # another code series that can spell the same codes: refused, whatever its alphabet
        with pytest.raises(cardseq.SeriesOverlap):
            store.create_series(CardSeries("OTHER", prefix="G", length=14, alphabet="AB"))
        with pytest.raises(cardseq.SeriesOverlap):
            store.create_series(CardSeries("ANY", length=14, alphabet="AB"))
        store.create_series(CardSeries("NUM", length=14))  # digits never start with G
        assert store.create_series(series, exists_ok=True) == store.series("GIFT").id
    with open_store(shared_url, keys=keys) as store:
        kept = store.series("GIFT").series
        assert (kept.alphabet, kept.group, kept.separator) == (CROCKFORD, 4, " ")
        assert [kept.parse(c) for c in first] == [0, 1, 2, 3, 4]
        more = store.reserve("GIFT", 5).to_list()
        assert not set(first) & set(more)
        assert kept.parse(kept.display(more[0]).lower(), lenient=True) == 5


def test_bulk_arrays_of_codes_have_the_series_length():
    series = CardSeries("Z", length=16, alphabet="crockford")
    array = series.block(0, 1000).to_numpy()
    assert array.dtype == np.dtype("S16")
    assert series.parse_many(array).indexes.tolist() == list(range(1000))


def test_a_code_series_over_http_generated_and_looked_up_as_typed(shared_url):
    from cardseq.server import create_app

    from .test_server_inputs import Client

    client = Client(create_app(shared_url, users_file=None))
    try:
        config = {"prefix": "GIFT", "length": 17, "alphabet": "crockford", "method": "DAMM",
                  "group": 4}  # fmt: skip
        made = client.post(
            "/v2/card/series", json={"code": "GIFT", "cardGenerationConfiguration": config}
        )
        assert made.status_code == 200, made.text
        series_id = made.json()["entity"]
        answer = client.get(f"/v2/card/series/{series_id}").json()["cardGenerationConfiguration"]
        assert (answer["alphabet"], answer["group"], answer["separator"]) == ("crockford", 4, "-")
        numbers = client.post("/v2/card/generate", json={"seriesId": series_id, "count": 3}).json()
        expected = CardSeries(
            "GIFT", prefix="GIFT", length=17, alphabet="crockford", method="DAMM", group=4
        )
        assert sorted(numbers["data"]) == expected.block(0, 3).to_list()
        number = numbers["data"][0]
        typed = expected.display(number).lower().replace("0", "o")
        assert client.get("/v2/card", params={"number": typed}).status_code == 404  # strict
        card = client.get("/v2/card", params={"number": typed, "lenient": "true"})
        assert card.status_code == 200, card.text
        assert card.json()["cardNumber"] == number
        bad = {"code": "BAD", "cardGenerationConfiguration": {"length": 12, "alphabet": "ABA"}}
        refused = client.post("/v2/card/series", json=bad)
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["code"] == 3000
        assert "alphabet" in refused.json()["errors"][0]["message"]
        plain = client.post(
            "/v2/card/series",
            json={"code": "D", "cardGenerationConfiguration": {"prefix": "9", "length": 12}},
        )
        config = client.get(f"/v2/card/series/{plain.json()['entity']}").json()[
            "cardGenerationConfiguration"
        ]
        assert set(config) == {"prefix", "suffix", "offset", "length", "method"}  # the reference's
    finally:
        client.close()


@pytest.mark.parametrize(
    "method", ["DEFAULT", "DAMM", "RANDOM_DAMM", "LUHN", "RANDOM", "ISO7064", "RANDOM_ISO7064"]
)
@pytest.mark.parametrize("alpha", ["crockford", "unambiguous", "AB3", BASE36, "0123456789"])
@pytest.mark.parametrize("width", [3, 12, 16, 26])
def test_the_compiled_and_pure_engines_write_the_same_bytes(alpha, method, width):
    """The compiled engine works out code counters itself (up to 128 bits, SipHash
    or none) and leaves the rest to the pure one: either way, the same bytes."""
    from cardseq import _engine_py

    c = pytest.importorskip("cardseq._engine_c") if not cardseq._engine.NO_EXTENSIONS else None
    if c is None or not _fits(alpha, method):
        return
    series = _series(alpha, method, width)
    layout = series._layout
    few = min(700, series.capacity)
    for first, count, descending in ((0, few, False), (series.capacity - 1, few, True)):
        ours = np.empty(count * (series.length + 1), dtype=np.uint8)
        theirs = np.empty_like(ours)
        c.render_into(ours, series.length + 1, layout, first, count, descending)
        _engine_py.render_into(theirs, series.length + 1, layout, first, count, descending)
        assert ours.tobytes() == theirs.tobytes()
        assert c.render_list(layout, first, count, descending) == _engine_py.render_list(
            layout, first, count, descending
        )


def test_the_odds_of_a_guess_are_reserved_over_well_formed(tmp_path):
    series = CardSeries("O", length=13, alphabet="crockford", method="RANDOM_DAMM", key_id="o")
    assert series.well_formed == 32**12  # the check character is fixed by the rest
    assert CardSeries("P", prefix="9", length=10).well_formed == 10**9
    with open_store(f"sqlite:///{tmp_path / 'o.db'}", keys={"o": bytes(16)}) as store:
        store.create_series(series)
        store.reserve("O", 1000)
        info = store.series("O")
    assert info.guess_chance == 1000 / 32**12
    assert info.issued_share == 1000 / series.capacity


def test_suggest_names_the_issued_codes_one_slip_away(shared_url):
    from cardseq import CardService

    series = CardSeries("S", prefix="S", length=10, alphabet="crockford", method="DAMM")
    with open_store(shared_url) as store:
        service = CardService(store)
        service.create_series(series)
        issued = service.generate("S", 50).numbers
        code = issued[7]
        swapped = code[:3] + code[4] + code[3] + code[5:]
        if swapped != code:  # a swap of neighbours: the one issued code it can be
            assert [f.number for f in service.suggest(swapped.lower())] == [code]
        typo = code[:5] + ("X" if code[5] != "X" else "Y") + code[6:]
        found = [f.number for f in service.suggest(typo)]
        assert code in found and all(f in issued for f in found)
        assert all(f.state == "reserved" for f in service.suggest(typo))
        never = series.format(series.capacity - 1)  # valid, but not issued
        assert service.suggest(never[:-1] + ("0" if never[-1] != "0" else "1")) == []
        assert series.near("too short") == []


@pytest.mark.parametrize("separator", ["-", " ", "."])
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_files_carry_the_grouped_form_beside_the_number(tmp_path, separator, order):
    import csv
    import io
    import json

    series = CardSeries(
        "G", prefix="GX", length=15, alphabet="crockford", method="DAMM", group=4,
        separator=separator,
    )  # fmt: skip
    block = series.block(1000, 2500)
    out = io.BytesIO()
    block.write(out, order, fmt="csv", columns="grouped,index,number", chunk_bytes=1000)
    rows = list(csv.DictReader(io.StringIO(out.getvalue().decode())))
    numbers = block.to_list(order)
    assert [r["number"] for r in rows] == numbers
    assert [r["grouped"] for r in rows] == [series.display(n) for n in numbers]
    assert rows[0]["grouped"].count(separator) == 3  # 15 characters: 4 + 4 + 4 + 3
    lines = io.BytesIO()
    block.write(lines, order, fmt="jsonl", columns="number,grouped")
    shown = [json.loads(line)["grouped"] for line in lines.getvalue().splitlines()]
    assert shown == block.to_list(order, grouped=True)
    assert [series.parse(g, lenient=True) for g in shown[:5]] == [
        series.parse(n) for n in numbers[:5]
    ]
