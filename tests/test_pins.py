"""PINs (issue 24): derived from a card's index under a PIN key of its own, written into
print files, verified with a lockout on every store and both APIs, never shown.

The oracle for a PIN is the definition in ``cardseq.pins`` computed here with the
scalar SipHash (Python integers), independently of the engines' loops.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import cardseq
from cardseq import CardSeries, CardService, _engine_c, _engine_py, pins
from cardseq.aio import AsyncCardService, AsyncStore
from cardseq.cli import main
from cardseq.errors import InvalidArgument, InvalidSeries, KeyMismatch, KeyNotFound, PinLocked
from cardseq.permutation import sip_state, siphash
from cardseq.store import open_store

from .stores import APIS, BACKENDS, query, store_url, take_back

NUMBER_KEY, PIN_KEY, OTHER_PIN_KEY = bytes(range(16)), bytes(range(1, 33)), bytes(range(2, 34))
KEYS = {"num": NUMBER_KEY, "pins": PIN_KEY}


def oracle(pin_key: bytes, code: str, index: int, length: int) -> str:
    """A PIN by its definition: SipHash-2-4 of the index under a key BLAKE2b derives."""
    derived = hashlib.blake2b(
        code.encode(), key=pin_key, digest_size=16, person=b"cardseq.pin"
    ).digest()
    return f"{siphash(sip_state(derived), index, 2, 4) % 10**length:0{length}d}"


def gift(**more: Any) -> CardSeries:
    fields = {"prefix": "6", "length": 16, "method": "RANDOM_LUHN", "key_id": "num",
              "pin_length": 6, "pin_key_id": "pins", "pin_attempts": 3, **more}  # fmt: skip
    return CardSeries("GIFT", **fields)


# ---- the library --------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    index=st.integers(0, 2**64 - 1),
    length=st.integers(pins.MIN_PIN, pins.MAX_PIN),
    code=st.sampled_from(["GIFT", "G", "loyalty-2027"]),
)
def test_a_pin_is_its_definition(index: int, length: int, code: str) -> None:
    series = CardSeries(code, length=40, pin_length=length, pin_key=PIN_KEY)
    if index < series.capacity:
        assert series.pin(index) == oracle(PIN_KEY, code, index, length)
    assert pins.pin(((0, pins.pin_state(PIN_KEY, code)),), index, length) == oracle(
        PIN_KEY, code, index, length
    )


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("length", [4, 6, 12])
@pytest.mark.parametrize("first", [0, 999_983, 2**64 - 70_000])
def test_both_engines_write_the_same_pins(first: int, length: int, descending: bool) -> None:
    state = pins.pin_state(PIN_KEY, "GIFT")
    stride, count = length + 3, 60_000
    start = first + count - 1 if descending else first
    out = {}
    for name, engine in (("compiled", _engine_c), ("pure", _engine_py)):
        buf = np.zeros(count * stride, dtype=np.uint8)
        engine.pins_into(buf, stride, state, start, count, descending, length)
        out[name] = buf
    assert np.array_equal(out["compiled"], out["pure"])
    rows = out["pure"].reshape(count, stride)
    assert not rows[:, length:].any()  # nothing written past each PIN
    assert rows[0, :length].tobytes().decode() == oracle(PIN_KEY, "GIFT", start, length)


def test_pins_depend_on_the_pin_key_and_the_series_only() -> None:
    base = gift(key=NUMBER_KEY, pin_key=PIN_KEY)
    first = base.block(0, 1000).pins()
    assert first == [base.pin(i) for i in range(1000)]
    assert len(set(first)) > 990  # a PRF, not a counter: few repeats among 10**6 values
    assert gift(key=NUMBER_KEY, pin_key=OTHER_PIN_KEY).block(0, 1000).pins() != first
    assert gift(key=bytes(16), pin_key=PIN_KEY).block(0, 1000).pins() == first  # not the number key
    other = CardSeries("GIFT2", prefix="7", length=16, pin_length=6, pin_key=PIN_KEY)
    assert other.block(0, 1000).pins() != first
    assert base.block(0, 1000).pins("desc") == first[::-1]


def test_files_carry_the_pin_beside_the_number() -> None:
    series = gift(key=NUMBER_KEY, pin_key=PIN_KEY, pin_length=4)
    block = series.block(5, 2000)
    csv_out, jsonl_out = io.BytesIO(), io.BytesIO()
    block.write(csv_out, fmt="csv", columns="number,pin,index", chunk_bytes=4096)
    block.write(jsonl_out, "desc", fmt="jsonl", columns="pin,number")
    rows = [line.split(",") for line in csv_out.getvalue().decode().splitlines()]
    assert rows[0] == ["number", "pin", "index"]
    assert rows[1:] == [[series.format(i), series.pin(i), str(i)] for i in range(5, 2005)]
    records = [json.loads(line) for line in jsonl_out.getvalue().decode().splitlines()]
    assert records == [
        {"pin": series.pin(i), "number": series.format(i)} for i in range(2004, 4, -1)
    ]


def test_pin_definitions_are_checked() -> None:
    cases = [
        ({"pin_length": 3}, "pin_length"),
        ({"pin_length": 13}, "pin_length"),
        ({"pin_length": True}, "pin_length"),
        ({"pin_length": 0, "pin_key_id": "p"}, "pin_key_id"),
        ({"pin_length": 6, "pin_key": b"short"}, "pin_key"),
        ({"pin_length": 6, "pin_attempts": 0}, "pin_attempts"),
        ({"pin_length": 6, "method": "RANDOM", "key": PIN_KEY, "pin_key": PIN_KEY}, "pin_key"),
    ]
    for fields, field in cases:
        with pytest.raises(InvalidSeries) as caught:
            CardSeries("P", length=12, **fields)
        assert caught.value.code == 3000 and caught.value.field == field, fields
    with pytest.raises(InvalidSeries):  # no PINs to write
        CardSeries("P", length=12).block(0, 1).pins()
    unbound = CardSeries("P", length=12, pin_length=6, pin_key_id="p")
    sink = io.BytesIO()
    with pytest.raises(KeyNotFound) as caught:
        unbound.block(0, 3).write(sink, fmt="csv", columns="number,pin")
    assert caught.value.field == "pin_key_id" and sink.getvalue() == b""  # not even a header


# ---- verifying, on every store and both APIs -----------------------------------------


def _run(url: str, api: str, script: Any, keys: dict[str, bytes] = KEYS) -> Any:
    """``script(call, service)`` through the sync or the async service: ``call(name,
    *args)`` runs the service's method of that name and returns its result."""
    if api == "sync":
        with open_store(url, keys=keys) as store:
            service = CardService(store)
            return script(lambda name, *a: getattr(service, name)(*a), service)

    async def main() -> Any:
        async with await AsyncStore.open(url, keys=keys) as store:
            service = AsyncCardService(store)
            loop = asyncio.get_running_loop()

            def call(name: str, *args: Any) -> Any:
                return asyncio.run_coroutine_threadsafe(
                    getattr(service, name)(*args), loop
                ).result()

            return await asyncio.to_thread(script, call, service)

    return asyncio.run(main())


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("kind", BACKENDS)
def test_verify_counts_failures_locks_and_resets(kind, api, tmp_path, request, caplog) -> None:
    url = store_url(kind, tmp_path, request)
    caplog.set_level(logging.DEBUG)
    series = gift(key=NUMBER_KEY, pin_key=PIN_KEY)

    def script(call: Any, service: Any) -> None:
        call("create_series", gift())
        numbers = call("generate", "GIFT", 3).numbers
        number = numbers[0]
        index = call("lookup", number).index
        right, wrong = series.pin(index), "0" * 6 if series.pin(index) != "0" * 6 else "1" * 6
        assert call("verify_pin", number, right) is True
        assert call("pin_failures", number) == 0
        assert call("verify_pin", number, wrong) is False
        assert call("verify_pin", number, right[:5]) is False  # a short PIN is a wrong one
        assert call("pin_failures", number) == 2
        assert call("verify_pin", number, right) is True  # a right one forgets them
        assert call("pin_failures", number) == 0
        for _ in range(3):
            assert call("verify_pin", number, wrong) is False
        with pytest.raises(PinLocked) as locked:
            call("verify_pin", number, right)  # locked: the right PIN too
        assert locked.value.code == 713 and number in str(locked.value)
        assert right not in str(locked.value)
        other = numbers[1]  # the lock is the card's, not the series'
        assert call("verify_pin", other, series.pin(call("lookup", other).index)) is True
        assert call("reset_pin", number) == 3
        assert call("verify_pin", number, right) is True
        with pytest.raises(InvalidArgument) as bad:
            call("verify_pin", number, 123456)
        assert bad.value.field == "pin" and "123456" not in str(bad.value)
        with pytest.raises(cardseq.CardNotFound):
            call("verify_pin", series.format(10), series.pin(10))  # not generated yet

    _run(url, api, script)
    secrets_seen = [series.pin(i) for i in range(3)]
    assert not any(p in caplog.text for p in secrets_seen)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_only_cards_that_failed_have_a_row(kind, tmp_path, request) -> None:
    url = store_url(kind, tmp_path, request)
    series = gift(key=NUMBER_KEY, pin_key=PIN_KEY)
    with open_store(url, keys=KEYS) as store:
        service = CardService(store)
        service.create_series(gift())
        numbers = service.generate("GIFT", 50).numbers
        for number in numbers:
            assert service.verify_pin(number, series.pin(service.lookup(number).index))
        service.verify_pin(numbers[0], "x")
    rows = query(url, "SELECT idx, failures FROM cardseq_pin_failures")
    assert [(int(i), f) for i, f in rows] == [(series.parse(numbers[0]), 1)]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_without_the_pin_key_nothing_is_verified_or_reserved(kind, tmp_path, request) -> None:
    url = store_url(kind, tmp_path, request)
    with open_store(url, keys=KEYS) as store:
        service = CardService(store)
        service.create_series(gift())
        (number,) = service.generate("GIFT", 1).numbers
    for keys, error in (
        ({"num": NUMBER_KEY}, KeyNotFound),
        ({**KEYS, "pins": OTHER_PIN_KEY}, KeyMismatch),
    ):
        with open_store(url, keys=keys) as store:
            service = CardService(store)
            with pytest.raises(error) as caught:
                service.verify_pin(number, "123456")
            assert caught.value.field == "pin_key_id"
            with pytest.raises(error):
                service.series_with_pins("GIFT")
            assert service.pin_failures(number) == 0  # the attempt was not counted
            assert store.series("GIFT").next_index == 1
    with open_store(url, keys=KEYS) as store:  # the same key id for numbers and PINs
        same = CardSeries("SAME", prefix="7", length=16, method="RANDOM", key_id="num",
                          pin_length=6, pin_key_id="num")  # fmt: skip
        with pytest.raises(InvalidSeries) as caught:
            store.create_series(same)
        assert caught.value.field == "pin_key_id"


def test_a_schedule_of_keys_splits_a_block_where_the_key_changes() -> None:
    """A series moved to a new PIN key at index 1000: a block across the move takes each
    card's PIN from its own key, in both orders, on both engines."""
    moved = gift(key=NUMBER_KEY).with_pin_schedule([(0, PIN_KEY), (1000, OTHER_PIN_KEY)])
    want = [oracle(PIN_KEY if i < 1000 else OTHER_PIN_KEY, "GIFT", i, 6) for i in range(990, 1010)]
    assert [moved.pin(i) for i in range(990, 1010)] == want
    assert moved.block(990, 20).pins() == want
    assert moved.block(990, 20).pins("desc") == want[::-1]
    with pytest.raises(InvalidArgument):
        gift().with_pin_schedule([(5, PIN_KEY)])  # a schedule starts at index 0


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_series_moved_to_a_new_pin_key_keeps_the_old_cards_pins(kind, tmp_path, request):
    url = store_url(kind, tmp_path, request)
    keys = {**KEYS, "pins2": OTHER_PIN_KEY}
    with open_store(url, keys=keys) as store:
        service = CardService(store)
        service.create_series(gift())
        old = service.generate("GIFT", 5).numbers
        with pytest.raises(InvalidSeries):
            service.rotate_pin_key("GIFT", "pins")  # the key it has
        with pytest.raises(InvalidSeries):
            service.rotate_pin_key("GIFT", "num")  # the number key
        with pytest.raises(KeyNotFound):
            service.rotate_pin_key("GIFT", "absent")
        assert service.rotate_pin_key("GIFT", "pins2") == 5
        assert [k[:2] for k in service.pin_keys("GIFT")] == [(0, "pins"), (5, "pins2")]
        new = service.generate("GIFT", 5).numbers
        block = service.with_pins(service.export("GIFT", ledger_id=2))
        assert block.pins() == [oracle(OTHER_PIN_KEY, "GIFT", i, 6) for i in range(5, 10)]
    with open_store(url, keys=keys) as store:  # another process: reads the moves
        service = CardService(store)
        for number in old + new:
            index = service.lookup(number).index
            key = PIN_KEY if index < 5 else OTHER_PIN_KEY
            assert service.verify_pin(number, oracle(key, "GIFT", index, 6)), number
        old_block = service.with_pins(service.export("GIFT", ledger_id=1))
        assert old_block.pins() == [oracle(PIN_KEY, "GIFT", i, 6) for i in range(5)]
    with open_store(url, keys=KEYS) as store:  # without the new key: refused, not guessed
        with pytest.raises(KeyNotFound):
            CardService(store).verify_pin(old[0], "000000")


def test_a_version_7_store_is_migrated_for_pins(shared_url) -> None:
    from cardseq.store.schema import SCHEMA_VERSION

    with open_store(shared_url) as store:
        store.create_series(CardSeries("OLD", prefix="5", length=12))
        first = store.reserve("OLD", 2).to_list()
    take_back(
        shared_url,
        7,
        "DROP TABLE cardseq_pin_failures",
        "DROP TABLE cardseq_pin_keys",
        *(f"ALTER TABLE cardseq_series DROP COLUMN {c}"
          for c in ("pin_length", "pin_attempts", "pin_key_id", "pin_key_fingerprint")),
    )  # fmt: skip
    with pytest.raises(cardseq.SchemaMismatch) as info:
        open_store(shared_url, migrate=False)
    assert (info.value.found, info.value.expected) == (7, SCHEMA_VERSION)
    with open_store(shared_url, keys=KEYS) as store:
        service = CardService(store)
        assert store.series("OLD").series.pin_length == 0
        assert (
            first + store.reserve("OLD", 1).to_list()
            == CardSeries("OLD", prefix="5", length=12).block(0, 3).to_list()
        )
        service.create_series(gift())
        (number,) = service.generate("GIFT", 1).numbers
        assert service.verify_pin(number, "x") is False
        assert service.pin_failures(number) == 1


# ---- the command and the server -----------------------------------------------------


def test_the_command_writes_pins_and_checks_them(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CARDSEQ_KEY_NUM", NUMBER_KEY.hex())
    monkeypatch.setenv("CARDSEQ_KEY_PINS", PIN_KEY.hex())
    db = f"sqlite:///{tmp_path}/cards.db"
    runner = CliRunner(env={"CARDSEQ_DB": db})

    def run(*args: str, code: int = 0, stdin: str | None = None) -> Any:
        result = runner.invoke(main, list(args), input=stdin)
        assert result.exit_code == code, result.output
        return result

    run("series", "create", "GIFT", "--prefix", "6", "--length", "16", "--method",
        "RANDOM_LUHN", "--key-id", "num", "--pin-length", "6", "--pin-key-id", "pins",
        "--pin-attempts", "2")  # fmt: skip
    shown = run("series", "show", "GIFT").stdout
    assert "PIN digits: 6\n" in shown and "PIN attempts before a card locks: 2\n" in shown
    out = tmp_path / "cards.csv"
    run("generate", "GIFT", "-n", "20", "--format", "csv", "--columns", "number,pin,index",
        "--out", str(out), "--request-id", "r1")  # fmt: skip
    series = gift(key=NUMBER_KEY, pin_key=PIN_KEY)
    rows = [line.split(",") for line in out.read_text().splitlines()[1:]]
    assert rows == [[series.format(int(i)), series.pin(int(i)), i] for _, _, i in rows]
    again = tmp_path / "again.csv"
    run("export", "GIFT", "--request-id", "r1", "--format", "csv", "--columns",
        "number,pin,index", "--out", str(again))  # fmt: skip
    assert again.read_text() == out.read_text()
    number, pin, _ = rows[0]
    assert "PIN right" in run("card", "verify-pin", number, "--pin-stdin", stdin=pin + "\n").stderr
    wrong = "1" * 6 if pin != "1" * 6 else "2" * 6
    assert (
        "PIN wrong" in run("card", "verify-pin", number, "--pin-stdin", stdin=wrong, code=1).stderr
    )
    run("card", "verify-pin", number, "--pin-stdin", stdin=wrong, code=1)
    locked = run("card", "verify-pin", number, "--pin-stdin", stdin=pin, code=1)
    assert "error 713" in locked.stderr and pin not in locked.stderr
    assert "2 failed PIN check(s) forgotten" in run("card", "reset-pin", number).stderr
    run("card", "verify-pin", number, "--pin-stdin", stdin=pin)
    # without the PIN key: refused before reserving
    monkeypatch.delenv("CARDSEQ_KEY_PINS")
    refused = run("generate", "GIFT", "-n", "5", "--format", "csv", "--columns",
                  "number,pin", "--out", str(tmp_path / "no.csv"), code=1)  # fmt: skip
    assert "error 706" in refused.stderr and "Traceback" not in refused.output
    assert not (tmp_path / "no.csv").exists()
    assert "reserved: 20\n" in run("series", "show", "GIFT").stdout


def test_the_server_creates_series_with_pins_and_checks_them(shared_url, caplog) -> None:
    from cardseq.server import create_app

    from .test_server_inputs import Client

    caplog.set_level(logging.DEBUG)
    keys = {"GIFT": NUMBER_KEY, "GIFT.pin": PIN_KEY}
    client = Client(create_app(shared_url, users_file=None, keys=keys))
    try:
        config = {"prefix": "6", "length": 16, "method": "RANDOM_LUHN", "pinLength": 8,
                  "pinAttempts": 2}  # fmt: skip
        made = client.post(
            "/v2/card/series", json={"code": "GIFT", "cardGenerationConfiguration": config}
        )
        assert made.status_code == 200, made.text
        series_id = made.json()["entity"]
        answer = client.get(f"/v2/card/series/{series_id}").json()["cardGenerationConfiguration"]
        assert (answer["pinLength"], answer["pinAttempts"], answer["pinKeyId"]) == (
            8,
            2,
            "GIFT.pin",
        )
        (number,) = client.post(
            "/v2/card/generate", json={"seriesId": series_id, "count": 1}
        ).json()["data"]
        series = CardSeries("GIFT", prefix="6", length=16, method="RANDOM_LUHN", key=NUMBER_KEY,
                            pin_length=8, pin_key=PIN_KEY)  # fmt: skip
        pin = series.pin(series.parse(number))
        checked = client.post("/v2/card/pin", json={"cardNumber": number, "pin": pin})
        assert checked.status_code == 200 and checked.json()["entity"] is True, checked.text
        for _ in range(2):
            wrong = client.post("/v2/card/pin", json={"cardNumber": number, "pin": "00000000"})
            assert wrong.json()["entity"] is False
        locked = client.post("/v2/card/pin", json={"cardNumber": number, "pin": pin})
        assert locked.status_code == 400 and locked.json()["errors"][0]["code"] == 713
        bad = client.post("/v2/card/pin", json={"cardNumber": number, "pin": 12})
        assert bad.status_code == 400 and bad.json()["errors"][0]["code"] == 701
        document = client.get("/openapi.json").json()
        route = document["paths"]["/v2/card/pin"]["post"]
        assert "example" not in json.dumps(route)
        assert "cardseq's own" in route["summary"]
        assert pin not in json.dumps(document) and pin not in caplog.text
    finally:
        client.close()


def test_the_command_moves_a_series_to_a_new_pin_key(cli, monkeypatch) -> None:
    monkeypatch.setenv("CARDSEQ_KEY_PINS", PIN_KEY.hex())
    monkeypatch.setenv("CARDSEQ_KEY_PINS2", OTHER_PIN_KEY.hex())
    cli("series", "create", "G", "--prefix", "9", "--length", "12", "--pin-length", "4",
        "--pin-key-id", "pins")  # fmt: skip
    columns = ["--format", "csv", "--columns", "index,pin,number"]
    cli("generate", "G", "-n", "3", *columns, "--out", "a.csv", "--request-id", "a")
    said = cli("series", "rotate-pin-key", "G", "--pin-key-id", "pins2").stderr
    assert "series G: PIN key pins2 from index 3 on" in said
    cli("generate", "G", "-n", "3", *columns, "--out", "b.csv")
    cli("export", "G", "--request-id", "a", *columns, "--out", "again.csv")
    rows = [line.split(",")[:2] for name in ("a.csv", "b.csv") for line in
            Path(name).read_text().splitlines()[1:]]  # fmt: skip
    assert rows == [
        [str(i), oracle(PIN_KEY if i < 3 else OTHER_PIN_KEY, "G", i, 4)] for i in range(6)
    ]
    assert Path("again.csv").read_text() == Path("a.csv").read_text()
    assert "PIN key from index 3: pins2 (" in cli("series", "show", "G").stdout
