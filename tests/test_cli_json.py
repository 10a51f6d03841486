"""``--json`` on every command that prints records (issue 22): one object a line,
under the field names of the typed records, equal to what the service returns."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from cardseq.cli import main
from cardseq.records import Card, GenerationEntry, Label, Lookup, StatusChange
from cardseq.records_json import fields, plain
from cardseq.series import CardSeries
from cardseq.service import CardService
from cardseq.store import open_store
from cardseq.store.records import LedgerEntry, SeriesInfo

KEY = bytes(range(7, 39))


@pytest.fixture
def db(tmp_path, monkeypatch) -> str:
    """A store with a plain and a keyed series, reservations, and a card with a status
    history."""
    monkeypatch.setenv("CARDSEQ_KEY_K", KEY.hex())
    url = f"sqlite:///{tmp_path / 'json.db'}"
    with open_store(url) as store:
        service = CardService(store)
        service.create_series(CardSeries("GOLD", prefix="GOLD", length=12))
        service.create_series(CardSeries("R", prefix="7", length=12, method="RANDOM", key_id="k"))
        service.reserve("GOLD", 3, request_id="a")
        service.reserve("GOLD", 2, request_id="b")
        service.reserve("R", 2)
        number = service.export("GOLD", ledger_id=1).to_list()[0]
        service.issue(number, "c-1")
        service.suspend(number)
    return url


@contextlib.contextmanager
def service_of(db: str) -> Iterator[CardService]:
    with open_store(db, migrate=False) as store:
        yield CardService(store)


def json_of(db: str, *args: str) -> list[dict]:
    result = CliRunner().invoke(main, [*args, "--json", "--db", db])
    assert result.exit_code in (0, 1), (result.stdout, result.stderr)
    lines = result.stdout.splitlines()
    assert lines, args
    return [json.loads(line) for line in lines]


def assert_record(got: dict, record: object) -> None:
    """``got`` has exactly the record's fields, each as the record holds it (JSON round
    trip: datetimes as ISO 8601 text)."""
    assert list(got) == fields(record)
    assert got == json.loads(json.dumps(plain(record)))


def test_the_conversion_keeps_field_names_and_never_writes_a_key():
    series = CardSeries("R", prefix="7", length=12, method="RANDOM", key=KEY)
    written = plain(series)
    assert "key" not in written and not any(name.startswith("_") for name in written)
    assert written["capacity"] == series.capacity and written["method"] == "RANDOM"
    assert KEY.hex() not in json.dumps(written)
    for record in (SeriesInfo, LedgerEntry, GenerationEntry, Lookup, Card, StatusChange, Label):
        assert fields(record) == [f.name for f in dataclasses.fields(record)]


def test_series_list_and_show(db):
    with service_of(db) as service:
        infos = service.list_series()
    listed = json_of(db, "series", "list")
    assert len(listed) == 2
    for got, info in zip(listed, infos, strict=True):
        assert_record(got, info)
        assert list(got["series"]) == fields(CardSeries)
    for ref, info in (("GOLD", infos[0]), ("2", infos[1])):
        (shown,) = json_of(db, "series", "show", ref)
        assert_record(shown, info)
    assert KEY.hex() not in json.dumps(listed)


def test_series_create(db):
    (created,) = json_of(db, "series", "create", "NEW", "--prefix", "88", "--length", "10")
    with service_of(db) as service:
        assert_record(created, service.series("NEW"))


@pytest.mark.parametrize("command", [["ledger"], ["series", "log"]])
def test_ledger_and_series_log_stream_generation_entries(db, command):
    with service_of(db) as service:
        entries = service.generation_log("GOLD").items
    got = json_of(db, *command, "GOLD")
    assert len(got) == 2
    for line, entry in zip(got, entries, strict=True):
        assert_record(line, entry)


def test_validate_streams_lookups(db):
    with service_of(db) as service:
        numbers = service.export("GOLD", ledger_id=1).to_list()[:2]
        keyed = service.export("R", ledger_id=3).to_list()[0]
        lookups = [service.lookup(n) for n in [*numbers, keyed]]
    got = json_of(db, "validate", *numbers, keyed, "GOLD99999999", "junk")
    assert [line["input"] for line in got] == [*numbers, keyed, "GOLD99999999", "junk"]
    for line, found in zip(got[:3], lookups, strict=True):
        assert list(line) == ["input", "lookup"]
        assert_record(line["lookup"], found)
    assert got[0]["lookup"]["state"] == "reserved" and got[0]["lookup"]["entry"]["id"] == 1
    assert got[-2]["lookup"]["state"] == "unreserved" and got[-1]["lookup"] is None


def test_card_show_and_card_log(db):
    with service_of(db) as service:
        number = service.export("GOLD", ledger_id=1).to_list()[0]
        card = service.card(number)
        changes = service.status_log(number).items
    (shown,) = json_of(db, "card", "show", number)
    assert_record(shown, card)
    assert shown["status"] == "SUSPENDED" and shown["customer_id"] == "c-1"
    got = json_of(db, "card", "log", number)
    assert len(got) == 2
    for line, change in zip(got, changes, strict=True):
        assert_record(line, change)


def test_labels_list(db):
    with service_of(db) as service:
        labels = service.labels()
    for line, label in zip(json_of(db, "labels", "list"), labels, strict=True):
        assert_record(line, label)


def test_the_text_forms_of_the_card_commands(db):
    with service_of(db) as service:
        number = service.export("GOLD", ledger_id=1).to_list()[0]
    shown = CliRunner().invoke(main, ["card", "show", number, "--db", db])
    assert shown.exit_code == 0 and "status: SUSPENDED" in shown.stdout
    assert "customer id: c-1" in shown.stdout
    log = CliRunner().invoke(main, ["card", "log", number, "--db", db])
    assert log.stdout.splitlines()[0].split() == [
        "from",
        "to",
        "label",
        "customer",
        "actor",
        "changed",
    ]
    assert len(log.stdout.splitlines()) == 3
