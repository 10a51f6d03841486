"""cipher="ff1": NIST's vectors, the batched FF1 against the standard's pseudocode, the
permutation it makes of a series, and its place in the definition a store keeps."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import cardseq
from cardseq import CardSeries, Cipher
from cardseq.ff1 import FF1, MIN_DOMAIN, numerals_for
from cardseq.store import open_store

from . import ff1_reference as ref

# NIST CSRC, "Examples of format-preserving encryption": FF1samples.pdf, samples 1-9
# (AES-128, -192 and -256; radix 10 and 36; an empty tweak and two others). Numerals of
# radix 36 are written 0-9 then a-z.
_K128 = "2B7E151628AED2A6ABF7158809CF4F3C"
_K192 = _K128 + "EF4359D8D580AA4F"
_K256 = _K192 + "7F036D6F04FC6A94"
_T1, _T2 = "39383736353433323130", "3737373770717273373737"
NIST_SAMPLES = [
    (1, _K128, "", 10, "0123456789", "2433477484"),
    (2, _K128, _T1, 10, "0123456789", "6124200773"),
    (3, _K128, _T2, 36, "0123456789abcdefghi", "a9tv40mll9kdu509eum"),
    (4, _K192, "", 10, "0123456789", "2830668132"),
    (5, _K192, _T1, 10, "0123456789", "2496655549"),
    (6, _K192, _T2, 36, "0123456789abcdefghi", "xbj3kv35jrawxv32ysr"),
    (7, _K256, "", 10, "0123456789", "6657667009"),
    (8, _K256, _T1, 10, "0123456789", "1001623463"),
    (9, _K256, _T2, 36, "0123456789abcdefghi", "xs8a0azh2avyalyzuwd"),
]
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _numerals(text: str) -> list[int]:
    return [_DIGITS.index(c) for c in text]


def _text(numerals: list[int]) -> str:
    return "".join(_DIGITS[n] for n in numerals)


@pytest.mark.parametrize(("sample", "key", "tweak", "radix", "plain", "cipher"), NIST_SAMPLES)
def test_nist_samples(sample, key, tweak, radix, plain, cipher):
    key, tweak = bytes.fromhex(key), bytes.fromhex(tweak)
    # the oracle first: it is only an oracle if it passes NIST's samples itself
    assert _text(ref.encrypt(key, tweak, radix, _numerals(plain))) == cipher
    assert _text(ref.decrypt(key, tweak, radix, _numerals(cipher))) == plain
    ff1 = FF1(key, tweak, radix=radix, length=len(plain))
    x, y = ref.num(_numerals(plain), radix), ref.num(_numerals(cipher), radix)
    assert ff1.encrypt(x) == y
    assert ff1.decrypt(y) == x


@st.composite
def ff1_cases(draw):
    """A key of each AES size, a tweak (none, short, and over a block), a radix and a
    length FF1 takes, and inputs: domains on uint64 arrays and beyond them."""
    key = draw(
        st.binary(min_size=16, max_size=16)
        | st.binary(min_size=24, max_size=24)
        | st.binary(min_size=32, max_size=32)
    )
    tweak = draw(st.binary(max_size=40))
    radix = draw(st.sampled_from([2, 7, 10, 16, 26, 32, 36, 62, 255, 256, 1000, 65536]))
    shortest = numerals_for(radix, MIN_DOMAIN)
    longest = shortest
    while (radix ** (longest + 1 - (longest + 1) // 2) - 1).bit_length() <= 120:
        longest += 1  # (FF1 here keeps NUM(B) within Q's last block: b <= 15)
    length = draw(st.integers(shortest, min(longest, shortest + 24)))
    values = draw(st.lists(st.integers(0, radix**length - 1), min_size=1, max_size=8))
    return key, tweak, radix, length, values


@given(ff1_cases())
def test_batched_equals_the_reference(case):
    key, tweak, radix, length, values = case
    ff1 = FF1(key, tweak, radix=radix, length=length)
    dtype = np.uint64 if ff1.vector else object
    out = ff1.encrypt_array(np.array(values, dtype=dtype))
    expected = [
        ref.num(ref.encrypt(key, tweak, radix, ref.str_m(x, radix, length)), radix) for x in values
    ]
    assert [int(y) for y in out] == expected
    assert [int(x) for x in ff1.decrypt_array(out.astype(dtype))] == values


def test_both_paths_are_taken():
    """The Hypothesis cases reach the uint64 path and the Python-integer path."""
    assert FF1(bytes(16), b"", radix=10, length=18).vector
    assert not FF1(bytes(16), b"", radix=10, length=19).vector
    assert not FF1(bytes(16), b"", radix=65536, length=4).vector  # 2**64: past int64
    assert FF1(bytes(16), bytes(40), radix=36, length=12).vector  # a tweak over a block


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((bytes(20), b"", 10, 10), "16, 24 or 32 bytes"),
        ((bytes(16), b"", 1, 30), "radix"),
        ((bytes(16), b"", 65537, 2), "radix"),
        ((bytes(16), b"", 10, 5), "1,000,000"),
        ((bytes(16), b"", 10, 80), "2**120"),
    ],
)
def test_arguments_outside_the_standard_are_refused(args, message):
    key, tweak, radix, length = args
    with pytest.raises(ValueError, match=re.escape(message)):
        FF1(key, tweak, radix=radix, length=length)


# ---- the series' permutation ----------------------------------------------------------


def test_a_small_series_is_a_permutation_and_parse_inverts_format(engine):
    """Every index of a series of 1,234,568 numbers (a 7-digit domain walked down to
    it): distinct numbers, all within the series, each parsed back to its index."""
    series = CardSeries(
        "FF", length=8, offset=8_765_432, method="RANDOM_LUHN", cipher="ff1", key=bytes(range(32))
    )
    assert series.capacity == 1_234_568
    numbers = series.block(0, series.capacity).to_numpy()
    assert len(np.unique(numbers)) == series.capacity
    parsed = series.parse_many(numbers)
    assert parsed.valid.all()
    assert (parsed.indexes == np.arange(series.capacity)).all()
    for i in (0, 1, 617_283, series.capacity - 1):
        assert series.parse(series.format(i)) == i
        assert series.format(i) == numbers[i].decode()


def test_the_engines_write_the_same_bytes_for_ff1(engine):
    from cardseq import _engine_py

    series = CardSeries(
        "FF", prefix="6", length=16, method="RANDOM_MOD7", cipher="ff1", key=bytes(24)
    )
    block = series.block(5_000, 3_000)
    assert block.to_numpy().tobytes() == block.to_numpy().tobytes()  # stable
    layout = series._layout
    expected = _engine_py.render_list(layout, 5_000, 3_000, False)
    assert block.to_list() == expected


def test_ff1_numbers_are_the_reference_ff1_of_the_index():
    """A series' counter is FF1 of its index under the series key, with the series
    code's ASCII bytes as the tweak (docs/ff1.md), then the check digit."""
    key = bytes(range(16))
    series = CardSeries("GIFT", length=16, method="RANDOM_LUHN", cipher="ff1", key=key)
    for index in (0, 1, 123_456_789):
        numerals = ref.encrypt(key, b"GIFT", 10, ref.str_m(index, 10, 15))
        counter = "".join(map(str, numerals))
        assert series.format(index)[:15] == counter


def test_wide_counters_take_python_integers():
    series = CardSeries("W", length=40, method="RANDOM", cipher="ff1", key=bytes(32))
    numbers = series.block(0, 50).to_list()
    assert len(set(numbers)) == 50
    assert [series.parse(n) for n in numbers] == list(range(50))


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"length": 5, "method": "RANDOM"}, "cipher", "1,000,000"),
        ({"length": 10, "offset": 9_999_500_000, "method": "RANDOM"}, "cipher", "500,000"),
        ({"length": 10, "method": "LUHN"}, "cipher", "RANDOM"),
        ({"length": 10, "method": "RANDOM", "key": bytes(48)}, "key", "16, 24 or 32"),
        ({"length": 80, "method": "RANDOM"}, "cipher", "72 digits"),
        ({"length": 10, "method": "RANDOM", "cipher": "FF3"}, "cipher", "siphash, ff1"),
    ],
)
def test_definitions_ff1_cannot_take_are_refused(fields, field, words):
    fields = {"cipher": "ff1", **fields}
    with pytest.raises(cardseq.InvalidSeries) as info:
        CardSeries("X", **fields)
    assert info.value.code == 3000
    assert info.value.field == field
    assert words in str(info.value)


def test_the_default_cipher_is_unchanged():
    key = bytes(range(32))
    plain = CardSeries("G", length=16, method="RANDOM_LUHN", key=key)
    assert plain.cipher is Cipher.SIPHASH
    assert "cipher" not in plain.to_dict()
    assert CardSeries("G", length=16, method="RANDOM_LUHN", key=key, cipher="SipHash") == plain
    other = CardSeries("G", length=16, method="RANDOM_LUHN", key=key, cipher="ff1")
    assert other.format(0) != plain.format(0)
    assert other.to_dict()["cipher"] == "ff1"


def test_without_the_extra_ff1_is_one_coded_error(monkeypatch):
    for name in list(sys.modules):
        if name == "cryptography" or name.startswith("cryptography."):
            monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "cryptography", None)
    with pytest.raises(cardseq.MissingExtra, match=r"pip install 'cardseq\[ff1\]'"):
        CardSeries("X", length=10, method="RANDOM", cipher="ff1", key=bytes(16))


# ---- in a store -------------------------------------------------------------------------


def test_a_store_keeps_the_cipher_and_checks_it(shared_url):
    keys = {"gift": bytes(range(32)), "long": bytes(64)}
    series = CardSeries("GIFT", length=16, method="RANDOM_LUHN", cipher="ff1", key_id="gift")
    bound = series.with_key(keys["gift"])
    with open_store(shared_url, keys=keys) as store:
        store.create_series(series)
        first = store.reserve("GIFT", 3).to_list()
        assert first == bound.block(0, 3).to_list()
        # the same code with the default cipher is another definition
        with pytest.raises(cardseq.SeriesExists):
            store.create_series(
                CardSeries("GIFT", length=16, method="RANDOM_LUHN", key_id="gift"), exists_ok=True
            )
        assert store.create_series(series, exists_ok=True) == store.series("GIFT").id
        # a key AES cannot take is refused when the series is created, not at each use
        with pytest.raises(cardseq.InvalidSeries, match="16, 24 or 32"):
            store.create_series(
                CardSeries(
                    "LONG", prefix="9", length=16, method="RANDOM", cipher="ff1", key_id="long"
                )
            )
        assert [info.series.code for info in store.list_series()] == ["GIFT"]
    with open_store(shared_url, keys=keys) as store:
        info = store.series("GIFT")
        assert info.series.cipher is Cipher.FF1
        assert store.reserve("GIFT", 2).to_list() == bound.block(3, 2).to_list()
        assert [info.series.parse(n) for n in first] == [0, 1, 2]


def test_the_cli_creates_and_shows_an_ff1_series(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from cardseq.cli import main
    from cardseq.keys import write_keys_file

    monkeypatch.chdir(tmp_path)
    key = bytes(range(24))
    write_keys_file("keys", {"gift": key})
    runner = CliRunner(env={"CARDSEQ_DB": "sqlite:///store.db", "CARDSEQ_KEYS_FILE": "keys"})
    made = runner.invoke(
        main,
        [
            "series",
            "create",
            "GIFT",
            "--length",
            "16",
            "--method",
            "RANDOM_LUHN",
            "--key-id",
            "gift",
            "--cipher",
            "FF1",
        ],
    )
    assert made.exit_code == 0, made.output
    shown = runner.invoke(main, ["series", "show", "GIFT"]).output.splitlines()
    assert "cipher: ff1" in shown
    numbers = runner.invoke(main, ["generate", "GIFT", "-n", "2", "--out", "-"]).stdout.split()
    expected = CardSeries("GIFT", length=16, method="RANDOM_LUHN", cipher="ff1", key=key)
    assert sorted(numbers) == sorted(expected.block(0, 2).to_list())
    refused = runner.invoke(
        main,
        [
            "series",
            "create",
            "SMALL",
            "--prefix",
            "9",
            "--length",
            "6",
            "--method",
            "RANDOM",
            "--key-id",
            "gift",
            "--cipher",
            "ff1",
        ],
    )
    assert refused.exit_code != 0 and "Traceback" not in refused.output
    assert "error 3000: cipher 'ff1' needs a series of at least 1,000,000" in refused.stderr


def test_over_http_cipher_is_cardseqs_own_field(shared_url):
    from cardseq.server import create_app

    from .test_server_inputs import Client

    key = bytes(range(32))
    client = Client(create_app(shared_url, users_file=None, keys={"GIFT": key, "PLAIN": key}))
    try:
        body = {
            "code": "GIFT",
            "cardGenerationConfiguration": {"length": 16, "method": "RANDOM_LUHN", "cipher": "ff1"},
        }
        made = client.post("/v2/card/series", json=body)
        assert made.status_code == 200, made.text
        series_id = made.json()["entity"]
        answer = client.get(f"/v2/card/series/{series_id}").json()
        assert answer["cardGenerationConfiguration"]["cipher"] == "ff1"
        numbers = client.post("/v2/card/generate", json={"seriesId": series_id, "count": 3}).json()
        expected = CardSeries("GIFT", length=16, method="RANDOM_LUHN", cipher="ff1", key=key)
        assert sorted(numbers["data"]) == sorted(expected.block(0, 3).to_list())
        # the default leaves the reference's answer as it was: no cipher field
        plain = {
            "code": "PLAIN",
            "cardGenerationConfiguration": {"prefix": "9", "length": 17, "method": "RANDOM"},
        }
        plain_id = client.post("/v2/card/series", json=plain).json()["entity"]
        config = client.get(f"/v2/card/series/{plain_id}").json()["cardGenerationConfiguration"]
        assert "cipher" not in config
        bad = {
            "code": "BAD",
            "cardGenerationConfiguration": {
                "prefix": "8",
                "length": 18,
                "method": "RANDOM",
                "cipher": "ff3",
            },
        }
        refused = client.post("/v2/card/series", json=bad)
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["code"] == 3000
        assert "cipher" in refused.json()["errors"][0]["message"]
        schema = client.get("/openapi.json").json()["components"]["schemas"]
        assert "ff1" in schema["GenerationConfiguration"]["properties"]["cipher"]["enum"]
    finally:
        client.close()


def test_a_version_4_store_keeps_its_keyed_series_numbers(shared_url):
    """Schema version 5 adds the cipher column: a store from before, migrated, reads its
    keyed series as siphash, and they go on with the numbers they had."""
    from cardseq.store.schema import SCHEMA_VERSION

    from .stores import take_back

    key = bytes(range(32))
    series = CardSeries("OLD", prefix="5", length=16, method="RANDOM_LUHN", key_id="old")
    with open_store(shared_url, keys={"old": key}) as store:
        store.create_series(series)
        first = store.reserve("OLD", 2).to_list()
    take_back(shared_url, 4, "ALTER TABLE cardseq_series DROP COLUMN cipher")
    with pytest.raises(cardseq.SchemaMismatch) as info:
        open_store(shared_url, keys={"old": key}, migrate=False)
    assert (info.value.found, info.value.expected) == (4, SCHEMA_VERSION)
    with open_store(shared_url, keys={"old": key}) as store:
        assert store.series("OLD").series.cipher is Cipher.SIPHASH
        more = store.reserve("OLD", 2).to_list()
    assert first + more == series.with_key(key).block(0, 4).to_list()
