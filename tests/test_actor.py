"""Who did it (issue 22): every ledger row and status change records its actor, the API
user of a server request or the OS user and host of a command or library call, and the
ledger, the generation and status logs and the written columns show it."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import pwd
import socket
import threading

import pytest
from click.testing import CliRunner

import cardseq
from cardseq import CardSeries, CardService
from cardseq.cli import main
from cardseq.store import open_store
from cardseq.store.base import SCHEMA_VERSION
from cardseq.store.records import process_actor

from .server_helpers import Server, add_user
from .server_helpers import cardseq as command
from .stores import open_api, store_url, take_back
from .test_group_commit import reserve_in_one_batch

#: who this test process is: the account it runs as, on this host
OS_ACTOR = f"{pwd.getpwuid(os.getuid()).pw_name}@{socket.gethostname()}"
ALICE = ("alice", "alice's long password")
BOB = ("bob", "bob's long password")
GIFT = CardSeries("GIFT", prefix="600", length=12, method="LUHN")


def ledger_actors(db: str) -> list[str]:
    """The actor column of `cardseq ledger GIFT`, run as a command (a real process)."""
    header, *rows = command("ledger", "GIFT", "--db", db).stdout.splitlines()
    at = header.split().index("actor") - 1  # ("request id" is two words)
    return [row.split()[at] for row in rows]


# ---- the done-when: through a real server, and from the command -----------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_api_user_and_the_os_user_are_recorded(backend, tmp_path, request):
    db = store_url(backend, tmp_path, request)
    users = tmp_path / "users"
    add_user(users, *ALICE)
    add_user(users, *BOB)
    command("series", "create", "GIFT", "--prefix", "600", "--length", "12", "--db", db)
    with Server(tmp_path, db, "--users-file", str(users)) as server:
        with server.client(auth=ALICE) as alice, server.client(auth=BOB) as bob:
            answer = alice.post("/v2/card/generate", json={"seriesId": 1, "count": 3})
            assert answer.status_code == 200, answer.text
            numbers = answer.json()["data"]
            command("generate", "GIFT", "-n", "2", "--db", db)  # the command, meanwhile
            changed = bob.put("/v2/card", json={"cardNumber": numbers[0], "statusLabel": "ACTIVE"})
            assert changed.status_code == 200, changed.text
            log = alice.get("/v2/card/generation/logs", params={"seriesId": 1}).json()
            changes = alice.get("/v2/card/statusLog", params={"number": numbers[0]}).json()
    assert [(e["count"], e["actor"]) for e in log["data"]] == [(3, "alice"), (2, OS_ACTOR)]
    assert [c["actor"] for c in changes["data"]] == ["bob"]
    assert ledger_actors(db) == ["alice", OS_ACTOR]


def test_an_open_server_records_the_client_address(tmp_path):
    db = f"sqlite:///{tmp_path}/open.db"
    command("series", "create", "GIFT", "--prefix", "600", "--length", "12", "--db", db)
    with Server(tmp_path, db, "--no-auth") as server, server.client() as client:
        assert client.post("/v2/card/generate", json={"seriesId": 1, "count": 1}).is_success
        (entry,) = client.get("/v2/card/generation/logs", params={"seriesId": 1}).json()["data"]
    assert entry["actor"] == "anonymous@127.0.0.1"


def test_the_openapi_document_says_actor_is_optional_and_nullable():
    from cardseq.server.openapi import build_openapi

    schemas = build_openapi()["components"]["schemas"]
    for name in ("Generation", "StatusChange"):
        actor = schemas[name]["properties"]["actor"]
        assert actor["type"] == "string" and actor["nullable"] is True
        assert "actor" not in schemas[name]["required"]


# ---- the library: a default of its own, and the caller's actor wins --------------------


def test_the_process_actor_is_the_account_not_the_environment(monkeypatch):
    process_actor.cache_clear()
    monkeypatch.setenv("USER", "mallory")
    monkeypatch.setenv("LOGNAME", "mallory")
    try:
        assert process_actor() == OS_ACTOR
    finally:
        process_actor.cache_clear()


@pytest.mark.parametrize("backend", ["memory", "sqlite", "postgres"])
def test_every_write_records_its_actor(backend, api, tmp_path, request):
    with open_api(api, store_url(backend, tmp_path, request)) as store:
        store.create_series(GIFT)
        store.reserve("GIFT", 4)
        store.reserve("GIFT", 4, actor="batch-job")
        store.release("GIFT", 2, 2)
        store.release("GIFT", 6, 2, actor="clerk")
        assert [(e.kind, e.actor) for e in store.ledger("GIFT")] == [
            ("reserved", OS_ACTOR),
            ("reserved", "batch-job"),
            ("released", OS_ACTOR),
            ("released", "clerk"),
        ]
        sid = store.series_id("GIFT")
        assert store.set_card_status(sid, 0, "NOT_ISSUED", "ACTIVE", "ACTIVE", None)
        assert store.set_card_status(sid, 0, "ACTIVE", "SUSPENDED", "SUSPENDED", None, actor="x")
        assert [c[5] for c in store.logged_changes(sid, 0).items] == [OS_ACTOR, "x"]


@pytest.mark.parametrize("backend", ["memory", "sqlite", "postgres"])
def test_every_service_write_records_its_actor(backend, tmp_path, request):
    with open_store(store_url(backend, tmp_path, request)) as store:
        service = CardService(store)
        service.create_series(GIFT)
        a, b, c = reversed(service.generate("GIFT", 3, actor="till-7").numbers)
        service.reserve("GIFT", 1)
        service.reserve("GIFT", 1, actor="printer")
        assert [e.actor for e in service.generation_log("GIFT").items] == [
            "till-7",
            OS_ACTOR,
            "printer",
        ]
        assert service.reservation("GIFT", ledger_id=1).actor == "till-7"
        service.issue(a, "c1", actor="ann")
        service.suspend(a, actor="sue")
        service.reactivate(a)
        service.expire(a, actor="eve")
        service.issue(b, "c2")
        service.delete(b, actor="dan")
        service.change_status(c, "ACTIVE", actor="carl")
        assert [s.actor for s in service.status_log(a).items] == ["ann", "sue", OS_ACTOR, "eve"]
        assert [s.actor for s in service.status_log(b).items] == [OS_ACTOR, "dan"]
        assert [s.actor for s in service.status_log(c).items] == ["carl"]


BAD_ACTORS = ["", "x" * 201, "two\nlines", "tab\there", "\x85", "a\u2028b", "\ud800", 7, b"bytes"]


@pytest.mark.parametrize("actor", BAD_ACTORS)
def test_a_bad_actor_is_refused_and_writes_nothing(actor):
    with open_store("memory://") as store:
        service = CardService(store)
        service.create_series(GIFT)
        (number,) = service.generate("GIFT", 1).numbers
        calls = [
            lambda: store.reserve("GIFT", 1, actor=actor),
            lambda: store.release("GIFT", 0, 1, actor=actor),
            lambda: service.reserve("GIFT", 1, actor=actor),
            lambda: service.generate("GIFT", 1, actor=actor),
            lambda: service.change_status(number, "ACTIVE", actor=actor),
            lambda: service.issue(number, "c1", actor=actor),
        ]
        for call in calls:
            with pytest.raises(cardseq.InvalidArgument) as info:
                call()
            assert info.value.code == 701 and info.value.field == "actor"
        assert len(store.ledger()) == 1 and store.series("GIFT").next_index == 1
        assert service.card(number).status == "NOT_ISSUED"


def test_a_batch_records_each_request_its_own_actor(shared_url):
    """Requests that share a group commit keep their own actors, whether the series
    advances once for all of them or request by request."""
    with open_store(shared_url) as store:
        store.create_series(CardSeries("A", prefix="1", length=8))
        store.create_series(CardSeries("B", prefix="2", length=8))
        calls = {
            "a1": ("A", 2, {"actor": "ann"}),
            "a2": ("A", 3, {}),
            "a3": ("A", 4, {"actor": "amy"}),
            "b1": ("B", 5, {"actor": "bea"}),
            "b2": ("B", 10**9, {"actor": "too-many"}),  # B's requests go one by one
            "b3": ("B", 1, {"actor": "ben"}),
        }
        outcomes, opened = reserve_in_one_batch(store, calls)
        assert len(opened) == 2, "the requests did not share one transaction"
        assert isinstance(outcomes["b2"], cardseq.SeriesExhausted)
        got = {(e.series_id, e.start, e.count): e.actor for e in store.ledger()}
        assert got == {
            (1, 0, 1): OS_ACTOR,  # the batch's lead
            (1, 1, 2): "ann",
            (1, 3, 3): OS_ACTOR,
            (1, 6, 4): "amy",
            (2, 0, 5): "bea",
            (2, 5, 1): "ben",
        }


def test_the_reservation_log_record_names_the_actor(caplog):
    with open_store("memory://") as store, caplog.at_level(logging.INFO, "cardseq.store"):
        store.create_series(GIFT)
        store.reserve("GIFT", 2, actor="ann")
    (record,) = [r for r in caplog.records if r.name == "cardseq.store"]
    assert record.actor == "ann" and record.getMessage().endswith(", by ann")  # type: ignore[attr-defined]


# ---- the command: the ledger and the written columns ----------------------------------


def test_export_columns_write_the_actor(tmp_path):
    db = f"sqlite:///{tmp_path}/cli.db"
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(main, [*args, "--db", db])
        assert result.exit_code == 0, (args, result.output)
        return result.stdout

    run("series", "create", "GIFT", "--prefix", "600", "--length", "12")
    written = run("generate", "GIFT", "-n", "2", "--format", "csv", "--columns", "number,actor")
    assert [row["actor"] for row in csv.DictReader(io.StringIO(written))] == [OS_ACTOR] * 2
    with open_store(db) as store:
        store.reserve("GIFT", 1, actor='Acme, "print" room')
    again = run(
        "export", "GIFT", "--ledger-id", "2", "--format", "csv", "--columns", "actor,number"
    )
    assert next(csv.DictReader(io.StringIO(again)))["actor"] == 'Acme, "print" room'
    lines = run(
        "export", "GIFT", "--ledger-id", "1", "--format", "jsonl", "--columns", "actor,number"
    )
    assert [json.loads(line)["actor"] for line in lines.splitlines()] == [OS_ACTOR] * 2


# ---- stores from before actors ----------------------------------------------------------


def _make_version_3(url: str) -> None:
    """Take a store back to schema version 3: no actor columns (its rows were written
    before cardseq recorded actors)."""
    take_back(
        url,
        3,
        "ALTER TABLE cardseq_ledger DROP COLUMN actor",
        "ALTER TABLE cardseq_status_log DROP COLUMN actor",
    )


def test_a_version_3_store_is_migrated_and_its_rows_have_no_actor(shared_url, tmp_path):
    with open_store(shared_url) as store:
        service = CardService(store)
        service.create_series(GIFT)
        (old,) = service.generate("GIFT", 1).numbers
        service.issue(old, "c1")
    _make_version_3(shared_url)
    with pytest.raises(cardseq.SchemaMismatch) as info:  # the command waits for db migrate
        open_store(shared_url, migrate=False)
    assert info.value.found == 3
    migrated = command("db", "migrate", "--db", shared_url)
    assert f"migrated from version 3 to version {SCHEMA_VERSION}" in migrated.stdout
    with open_store(shared_url, migrate=False) as store:
        service = CardService(store)
        service.suspend(old, actor="sue")
        service.generate("GIFT", 1, actor="ann")
        assert [e.actor for e in service.generation_log("GIFT").items] == [None, "ann"]
        assert [s.actor for s in service.status_log(old).items] == [None, "sue"]
    assert ledger_actors(shared_url) == ["-", "ann"]
    out = tmp_path / "old.csv"
    command(
        "export", "GIFT", "--ledger-id", "1", "--out", str(out), "--format", "csv",
        "--columns", "number,actor", "--db", shared_url,
    )  # fmt: skip
    (row,) = csv.DictReader(io.StringIO(out.read_text()))
    assert row["actor"] == ""  # unknown: nobody is made up


def test_threads_of_one_process_share_one_worked_out_actor():
    """The process actor is worked out once: threads read the same string."""
    seen: list[str] = []
    threads = [threading.Thread(target=lambda: seen.append(process_actor())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(s) for s in seen}) == 1 and seen[0] == OS_ACTOR
