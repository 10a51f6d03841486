"""The keyed methods: a permutation for every capacity, reproducible, and random-looking.

Tests that format numbers take ``engine``: they run on each twin in turn."""

from __future__ import annotations

import json
import pathlib

import luhn as luhn_oracle
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import luhn as stdnum_luhn

import cardseq
from cardseq import CardSeries, _engine_py
from cardseq.permutation import Permutation, sip_state, siphash

from .strategies import KEYED, series

KEY = bytes(range(16))
VECTORS = json.loads((pathlib.Path(__file__).parent / "vectors" / "random.json").read_text())


def keyed(capacity: int, method: str = "RANDOM", key: bytes = KEY, width: int = 6) -> CardSeries:
    """A series of exactly ``capacity`` numbers (by its offset), prefix ``9``."""
    check = method != "RANDOM"
    return CardSeries(
        "K",
        prefix="9",
        length=1 + width + check,
        offset=10**width - capacity,
        method=method,
        key=key,
    )


def counters_of(s: CardSeries, array: np.ndarray) -> np.ndarray:
    """The counters of a ``to_numpy`` array of a series made by ``keyed``."""
    digits = array.view(np.uint8).reshape(-1, s.length)[:, 1 : 1 + s.counter_width] - 48
    return digits.astype(np.int64) @ (10 ** np.arange(s.counter_width - 1, -1, -1))


def test_siphash_matches_the_published_vector():
    """SipHash-2-4, key 00..0f, message 00..07 (the reference implementation's vector)."""
    word = int.from_bytes(bytes(range(8)), "little")
    assert siphash(sip_state(KEY), word, 2, 4) == 0x93F5F5799A932462
    array = np.array([word, word], dtype=np.uint64)
    assert siphash(sip_state(KEY), array, 2, 4).tolist() == [0x93F5F5799A932462] * 2


@pytest.mark.parametrize("vector", VECTORS, ids=[v["series"]["code"] for v in VECTORS])
def test_committed_vectors(vector, engine):
    """Every implementation, on every platform, gives these exact numbers."""
    spec = dict(vector["series"])
    spec["key"] = bytes.fromhex(spec["key"])
    spec["offset"] = int(spec["offset"])
    s = CardSeries(spec.pop("code"), **spec)
    for index, number in vector["numbers"]:
        i = int(index)
        assert s.format(i) == number
        assert s.parse(number) == i
        assert engine.render_list(s._layout, i, 1, False) == [number]


def capacities_to_check(engine) -> list[int]:
    """Every capacity up to 2000; but when the compiled twin checks them all in this run,
    the pure twin (whose keyed path is the NumPy permutation, called on arrays of a few
    hundred numbers, where its per-call cost dominates) takes the small ones, each power
    of two and its neighbours, and every 10th."""
    if engine is not _engine_py or not cardseq.COMPILED:
        return list(range(1, 2001))
    edges = {2**k + d for k in range(1, 11) for d in (-1, 0, 1)}
    return sorted({*range(1, 65), *range(65, 2001, 10), *edges})


@pytest.mark.heavy
@pytest.mark.parametrize("methods", [("RANDOM", "RANDOM_LUHN", "RANDOM_MOD7")])
def test_every_capacity_up_to_2000_is_a_permutation(engine, methods):
    for capacity in capacities_to_check(engine):
        method = methods[capacity % 3]
        s = keyed(capacity, method, width=4)
        numbers = s.block(0, capacity).to_numpy()
        counters = counters_of(s, numbers)
        assert sorted(counters.tolist()) == list(range(s.offset, 10**4)), capacity
        # the inverse through the engine under test (the C lanes for the compiled twin,
        # the NumPy permutation for the pure one): each twin undoes its own forward path
        parsed = s.parse_many(numbers)
        assert parsed.indexes.tolist() == list(range(capacity)), capacity
    # parse (the scalar path) on a sample
    s = keyed(1999, "RANDOM_LUHN", width=4)
    for i, number in enumerate(s.block(0, 1999).to_list()[::97]):
        assert s.parse(number) == i * 97


@pytest.mark.usefixtures("engine")
@pytest.mark.parametrize("capacity", [2**16, 2**16 + 1, 65_537 * 1 + 3, 99_999, 100_000])
def test_large_capacities_are_permutations(capacity):
    s = keyed(capacity, "RANDOM_MOD7", width=6)
    counters = counters_of(s, s.block(0, capacity).to_numpy())
    assert np.array_equal(np.sort(counters), np.arange(s.offset, 10**6))
    inverse = s._layout.perm.inverse_array((counters - s.offset).astype(np.uint64))
    assert np.array_equal(inverse, np.arange(capacity))


def test_forward_matches_vector_path():
    p = Permutation(KEY, 5000)
    scalar = [p.forward(i) for i in range(5000)]
    assert p.forward_array(np.arange(5000, dtype=np.uint64)).tolist() == scalar
    assert [p.inverse(x) for x in scalar[:300]] == list(range(300))


@pytest.mark.heavy
@pytest.mark.usefixtures("engine")
@given(series(KEYED, max_width=60), st.data())
def test_round_trips_up_to_60_digits(s, data):
    i = data.draw(st.integers(0, s.capacity - 1))
    number = s.format(i)
    assert s.parse(number) == i
    assert s.block(i, 1).to_list() == [number]


@pytest.mark.heavy
@pytest.mark.usefixtures("engine")
@given(st.binary(min_size=16, max_size=64), st.binary(min_size=16, max_size=64))
def test_same_key_same_order_other_key_other_order(key, other):
    a = keyed(10**6, "RANDOM", key).block(0, 50).to_list()
    assert keyed(10**6, "RANDOM", key).block(0, 50).to_list() == a
    if other != key:
        assert keyed(10**6, "RANDOM", other).block(0, 50).to_list() != a


@pytest.mark.usefixtures("engine")
def test_fresh_keys_when_none_given():
    a = CardSeries("A", length=12, method="RANDOM")
    b = CardSeries("A", length=12, method="RANDOM")
    assert len(a.key) == 32 and a.key != b.key
    assert a.block(0, 20).to_list() != b.block(0, 20).to_list()


@pytest.mark.heavy
@pytest.mark.usefixtures("engine")
@given(st.text("0123456789", max_size=8), st.binary(min_size=16, max_size=16), st.data())
def test_random_luhn_passes_the_oracles(prefix, key, data):
    width = data.draw(st.integers(max(1, 4 - len(prefix)), 24))
    s = CardSeries(
        "L", prefix=prefix, length=len(prefix) + width + 1, method="RANDOM_LUHN", key=key
    )
    start = data.draw(st.integers(0, s.capacity - 1))
    for number in s.block(start, min(100, s.capacity - start)).to_list():
        assert luhn_oracle.verify(number) and stdnum_luhn.is_valid(number)


@pytest.mark.heavy
@pytest.mark.usefixtures("engine")
@given(st.text("0123456789", max_size=8), st.binary(min_size=16, max_size=16))
def test_random_mod7_check_digit(prefix, key):
    s = CardSeries("M", prefix=prefix, length=len(prefix) + 13, method="RANDOM_MOD7", key=key)
    for number in s.block(0, 100).to_list():
        assert int(number[-1]) == int(number[:-1]) % 7


# Critical value of chi-square with 9 degrees of freedom at p = 0.001.
CHI2_9_P001 = 27.877


@pytest.mark.usefixtures("engine")
def test_digits_look_uniform():
    s = CardSeries("U", length=12, method="RANDOM", key=KEY)
    digits = s.block(0, 200_000).to_numpy().view(np.uint8).reshape(-1, 12) - 48
    expected = len(digits) / 10
    for position in range(12):
        counts = np.bincount(digits[:, position], minlength=10)
        chi2 = float(((counts - expected) ** 2 / expected).sum())
        assert chi2 < CHI2_9_P001, (position, chi2)


@pytest.mark.usefixtures("engine")
def test_consecutive_indexes_give_unrelated_counters():
    s = CardSeries("U", length=16, method="RANDOM", key=KEY)
    values = s.block(0, 100_000).to_numpy().astype(np.int64)
    steps = np.diff(values)
    assert np.count_nonzero(np.abs(steps) == 1) == 0
    rising = np.count_nonzero(steps > 0) / len(steps)
    assert 0.49 < rising < 0.51
    # no long monotonic runs either: the longest rising run stays short
    runs = np.diff(np.flatnonzero(np.diff(np.r_[False, steps > 0, False].astype(int)) != 0))
    assert runs.max() < 20


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (b"short", "5 bytes"),
        (b"x" * 15, "15 bytes"),
        (b"x" * 65, "65 bytes"),
        ("0123456789abcdef", "not str"),
        (12345, "not int"),
    ],
)
def test_bad_keys(key, message):
    with pytest.raises(cardseq.InvalidSeries) as info:
        CardSeries("B", length=10, method="RANDOM", key=key)
    assert info.value.code == 3000 and info.value.field == "key"
    assert message in str(info.value)
    if isinstance(key, (bytes, str)):
        assert str(key) not in str(info.value) and repr(key) not in str(info.value)


def test_no_room_for_random_luhn():
    with pytest.raises(cardseq.InvalidLength) as info:
        CardSeries("B", prefix="ABCD", length=5, method="RANDOM_LUHN")
    assert info.value.code == 3005


def test_key_stays_secret():
    key = bytes(range(100, 132))
    s = CardSeries("S", length=10, method="RANDOM_LUHN", key=key)
    for text in (repr(s), str(s), repr(s._layout.perm), str(s.to_dict())):
        assert key.hex() not in text and repr(key) not in text
    assert s.to_dict(include_key=True)["key"] == key.hex()
    with pytest.raises(cardseq.InvalidNumber) as info:
        s.parse("x")
    assert key.hex() not in str(info.value)


@pytest.mark.usefixtures("engine")
def test_order_is_by_index():
    s = keyed(1000, "RANDOM_LUHN")
    block = s.block(10, 30)
    assert [s.parse(n) for n in block.to_list()] == list(range(10, 40))
    assert [s.parse(n) for n in block.to_list("desc")] == list(range(39, 9, -1))


@pytest.mark.heavy
@pytest.mark.usefixtures("engine")
def test_threads_split_large_keyed_blocks(monkeypatch):
    """Output is the same whether one thread or several format a large block."""
    s = CardSeries("T", prefix="6", length=20, method="RANDOM_LUHN", key=KEY)
    block = s.block(123, 300_001)
    monkeypatch.setenv("CARDSEQ_THREADS", "1")
    one = block.to_numpy("desc")
    monkeypatch.setenv("CARDSEQ_THREADS", "3")
    assert np.array_equal(block.to_numpy("desc"), one)
    for junk in ("x", "0", "-2", "1.5"):  # read after a reservation: must never fail
        monkeypatch.setenv("CARDSEQ_THREADS", junk)
        assert np.array_equal(block.to_numpy("desc"), one)
    sample = list(range(0, 300_001, 9973))
    assert [one[j].decode() for j in sample] == [s.format(123 + 300_000 - j) for j in sample]


def test_pure_twin_wide_keyed_path():
    """Counters over 18 digits take the twin's scalar path: same numbers as format."""
    s = CardSeries("W", length=30, method="RANDOM_MOD7", key=KEY)
    assert _engine_py.render_list(s._layout, 5, 20, False) == [s.format(i) for i in range(5, 25)]
