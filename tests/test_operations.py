"""What a deployment needs around the library (issue 12): opening a store without DDL,
`cardseq db migrate` and `db status`, store URL options, /healthz and /metrics, `serve`
configured from the environment, and one log record per reservation."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

import cardseq
from cardseq import CardSeries, CardService
from cardseq.aio import AsyncStore
from cardseq.cli import main
from cardseq.server import create_app
from cardseq.server.auth import add_user
from cardseq.server.openapi import build_openapi
from cardseq.store import open_store
from cardseq.store.base import SCHEMA_VERSION

from .test_server import fails
from .test_server_inputs import Client

USER = ("alice", "correct horse battery staple")


def gold() -> CardSeries:
    return CardSeries("GOLD", prefix="GOLD", length=12)


def tables(path: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return [row[0] for row in conn.execute("SELECT name FROM sqlite_master")]


def set_version(url: str, version: int) -> None:
    with open_store(url) as store, store._transaction() as cur:
        store._run(cur, "UPDATE cardseq_schema SET version = ?", (version,))


# ---- opening without DDL ------------------------------------------------------------


def test_without_migrating_a_new_database_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "new.db"
    with pytest.raises(cardseq.SchemaMismatch) as info:
        open_store(f"sqlite:///{path}", migrate=False)
    error = info.value  # a missing file: the caller's path (701), not a store fault (500)
    assert isinstance(error, cardseq.StoreNotFound) and error.path == str(path)
    assert error.code == 701 and (error.found, error.expected) == (None, SCHEMA_VERSION)
    assert error.message.startswith(f"no store at {path}: the file does not exist")
    assert "cardseq db migrate" in error.message
    assert not path.exists()  # no DDL ran, and no empty file was left for it


def test_without_migrating_an_old_database_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path}/old.db"
    set_version(url, 1)
    with pytest.raises(cardseq.SchemaMismatch) as info:
        open_store(url, migrate=False)
    assert info.value.found == 1
    assert f"schema version 1; this cardseq needs version {SCHEMA_VERSION}" in info.value.message
    set_version(url, SCHEMA_VERSION + 1)
    with pytest.raises(cardseq.SchemaMismatch, match="upgrade cardseq"):
        open_store(url, migrate=False)


def test_a_migrated_database_opens_without_migrating(tmp_path):
    url = f"sqlite:///{tmp_path}/ok.db"
    open_store(url).close()
    with open_store(url, migrate=False) as store:
        assert store.schema_found == SCHEMA_VERSION
        store.create_series(gold())
        assert store.reserve("GOLD", 3).start == 0


@pytest.fixture
def limited_url(postgres_cluster, postgres_url):
    """A migrated database, and the URL of a role that may only select, insert and
    update cardseq's tables: no DDL, no DELETE, nothing on the identity columns'
    sequences (PostgreSQL checks no privilege there)."""
    open_store(postgres_url).close()
    role = f"cardseq_rw_{os.getpid()}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {role}")
    yield postgres_url.replace("postgres@", f"{role}@", 1)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"DROP OWNED BY {role}")
        conn.execute(f"DROP ROLE {role}")


def test_a_role_without_ddl_rights_works_on_a_migrated_store(limited_url):
    with open_store(limited_url, migrate=False) as store:
        service = CardService(store)
        service.create_series(gold())
        numbers = service.generate("GOLD", 3).numbers
        service.add_label("GIVEN", "ACTIVE")
        assert service.change_status(numbers[0], "GIVEN", customer_id="c1").status == "ACTIVE"
        store.set_enabled("GOLD", False)
        assert store.schema_version() == SCHEMA_VERSION
    result = CliRunner().invoke(main, ["db", "status", "--db", limited_url])
    assert result.exit_code == 0 and "migration needed: no" in result.output


def test_a_role_without_ddl_rights_is_told_to_open_without_migrating(limited_url):
    with pytest.raises(cardseq.StoreError) as info:
        open_store(limited_url)
    assert "migrate=False" in info.value.message and "cardseq db migrate" in info.value.message
    result = CliRunner().invoke(main, ["db", "migrate", "--db", limited_url])
    assert result.exit_code == 1 and result.output.startswith("error 500: ")
    assert "may not create or alter cardseq's tables" in result.output
    assert "Traceback" not in result.output


def test_the_command_runs_as_a_role_without_ddl_rights(limited_url, served, tmp_path):
    """Every command but `db migrate` opens the store without DDL (on main each one
    tried to migrate and failed with error 500 for this role)."""
    runner = CliRunner(env={"CARDSEQ_DB": limited_url})

    def run(*args: str) -> str:
        result = runner.invoke(main, list(args))
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result.stdout

    assert "migration needed: no" in run("db", "status")
    assert run("series", "create", "GOLD", "--prefix", "GOLD", "--length", "12").startswith(
        "series GOLD (id 1): "
    )
    run("series", "create", "GOLD", "--prefix", "GOLD", "--length", "12", "--exists-ok")
    run("labels", "add", "PRINTED", "--status", "NOT_ISSUED")
    assert "PRINTED" in run("labels", "list")
    numbers = run("generate", "GOLD", "-n", "3", "--request-id", "r-1").splitlines()
    out = tmp_path / "gold.csv"
    run("generate", "GOLD", "-n", "2", "--status-label", "PRINTED", "--out", str(out))
    assert "GOLD" in run("series", "list") and "reserved: 5" in run("series", "show", "GOLD")
    assert len(run("series", "log", "GOLD").splitlines()) == 3
    assert "r-1" in run("ledger", "GOLD", "--since", "2000-01-01", "--label", "NOT_ISSUED")
    assert run("export", "GOLD", "--request-id", "r-1").splitlines() == numbers
    assert "index 0, reserved" in run("validate", numbers[0])
    run("series", "disable", "GOLD")
    run("series", "enable", "GOLD")
    run("keys", "export", "--keys-file", str(tmp_path / "keys"))
    # the server, told by the environment not to migrate, as a deployment runs it
    result = runner.invoke(main, ["serve", "--no-auth"], env={"CARDSEQ_NO_MIGRATE": "1"})
    assert result.exit_code == 0 and len(served) == 1, result.output
    # status changes have no command: the library, opened as the command opens it
    with open_store(limited_url, migrate=False) as store:
        service = CardService(store)
        service.add_label("GIVEN", "ACTIVE", default=True)
        assert service.issue(numbers[1], "c-1").status == "ACTIVE"
        assert service.suspend(numbers[1]).status == "SUSPENDED"
        store.release("GOLD", 4, 1)  # the last number of the file, never handed out
        assert [e.count for e in store.ledger("GOLD")] == [3, 2, 1]
    assert "status: SUSPENDED" in run("card", "show", numbers[1])
    assert len(run("card", "log", numbers[1]).splitlines()) == 3


# ---- cardseq db ---------------------------------------------------------------------


def test_db_status_and_migrate(tmp_path):
    path = tmp_path / "cli.db"
    db = ["--db", f"sqlite:///{path}"]
    runner = CliRunner()
    status = runner.invoke(main, ["db", "status", *db])
    assert status.exit_code == 1, status.output
    assert "database schema version: none (no tables)" in status.output
    assert f"cardseq schema version: {SCHEMA_VERSION}" in status.output
    assert f"migration needed: yes, with: cardseq db migrate --db sqlite:///{path}" in status.output
    assert tables(path) == []
    migrated = runner.invoke(main, ["db", "migrate", *db])
    assert migrated.exit_code == 0
    assert f"migrated from no tables to version {SCHEMA_VERSION}" in migrated.output
    status = runner.invoke(main, ["db", "status", *db])
    assert status.exit_code == 0 and "migration needed: no" in status.output
    again = runner.invoke(main, ["db", "migrate", *db])
    assert f"schema version {SCHEMA_VERSION}, up to date" in again.output
    set_version(f"sqlite:///{path}", 1)
    assert runner.invoke(main, ["db", "status", *db]).exit_code == 1
    migrated = runner.invoke(main, ["db", "migrate", *db])
    assert f"migrated from version 1 to version {SCHEMA_VERSION}" in migrated.output


# ---- what the command migrates (issue 19) ---------------------------------------------

#: commands that only read and write rows: they never create or migrate tables
ROW_COMMANDS = [
    ["series", "list"],
    ["series", "show", "GOLD"],
    ["series", "log", "GOLD"],
    ["generate", "GOLD", "-n", "1"],
    ["ledger", "GOLD"],
    ["export", "GOLD", "--ledger-id", "1"],
    ["validate", "GOLD00000000"],
    ["labels", "list"],
    ["keys", "export", "--keys-file", "exported-keys"],
    ["series", "disable", "GOLD"],
]
#: the commands that start a store: on a new one (no cardseq tables), they make them
CREATING = [
    ["series", "create", "GOLD", "--prefix", "GOLD", "--length", "12", "--exists-ok"],
    ["labels", "add", "GIVEN", "--status", "ACTIVE", "--exists-ok"],
]


def has_tables(url: str) -> bool:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        return path.exists() and "cardseq_schema" in tables(path)
    with psycopg.connect(url) as conn:
        return bool(conn.execute("SELECT to_regclass('cardseq_schema')").fetchone()[0])


@pytest.fixture(params=["sqlite", "postgres"])
def new_url(request, tmp_path) -> str:
    """The URL of a store without cardseq's tables: a file not there yet, or an empty
    PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'new.db'}"
    return request.getfixturevalue("empty_postgres_url")


def test_on_a_new_store_only_the_creating_commands_make_tables(new_url, tmp_path, monkeypatch):
    """On main every command made the tables of any store it opened."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner(env={"CARDSEQ_DB": new_url})
    sqlite = new_url.startswith("sqlite:")
    for args in ROW_COMMANDS:
        result = runner.invoke(main, args)
        said = "701: no store at " if sqlite else "500: the database at "
        assert result.exit_code == 1 and result.output.startswith(f"error {said}"), args
        assert ("does not exist" if sqlite else "has no cardseq tables") in result.output
        assert result.output.endswith(': cardseq db migrate --db "$CARDSEQ_DB"\n')
        assert "cardseq series create" in result.output
        assert not has_tables(new_url), args
    assert not (tmp_path / "new.db").exists()  # not even an empty file
    for args in CREATING:
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
        assert has_tables(new_url)


def test_an_older_store_waits_for_db_migrate(tmp_path, monkeypatch):
    """Every command but `db migrate` leaves an older schema as it is and says what to
    run (on main each one migrated it, as whatever role it ran as)."""
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'old.db'}"
    CliRunner().invoke(main, [*CREATING[0], "--db", url])
    set_version(url, SCHEMA_VERSION - 1)
    runner = CliRunner(env={"CARDSEQ_DB": url})
    for args in [*ROW_COMMANDS, *CREATING]:
        result = runner.invoke(main, args)
        assert result.exit_code == 1, (args, result.output)
        assert result.output.startswith(
            f"error 500: the database at {url} has schema version {SCHEMA_VERSION - 1};"
        )
        assert result.output.endswith(
            "Migrate it, as a role that may create and alter tables, with: cardseq db migrate"
            ' --db "$CARDSEQ_DB"\n'
        )
    with pytest.raises(cardseq.SchemaMismatch):  # still the older version
        open_store(url, migrate=False)
    assert runner.invoke(main, ["db", "migrate"]).exit_code == 0
    for args in [*CREATING, *ROW_COMMANDS]:
        result = runner.invoke(main, args)
        assert result.exit_code == 0, (args, result.output)


def test_cardseq_no_migrate_keeps_every_command_from_making_tables(new_url, tmp_path):
    env = {"CARDSEQ_DB": new_url, "CARDSEQ_NO_MIGRATE": "1"}
    for args in CREATING:
        result = CliRunner(env=env).invoke(main, args)
        assert result.exit_code == 1, args
        assert ("no store at" if new_url.startswith("sqlite:") else "no cardseq tables") in (
            result.output
        )
    result = CliRunner(env=env).invoke(main, ["db", "migrate"])
    assert result.exit_code == 1 and result.output.startswith(
        "error 701: $CARDSEQ_NO_MIGRATE '1' forbids migrating"
    )
    assert not has_tables(new_url)
    for off in ("0", "false", ""):
        result = CliRunner(env=env | {"CARDSEQ_NO_MIGRATE": off}).invoke(main, CREATING[1])
        assert result.exit_code == 0, (off, result.output)
    assert has_tables(new_url)


@pytest.mark.parametrize("args", [["series", "list"], CREATING[0], ["db", "migrate"]])
def test_a_bad_cardseq_no_migrate_is_701(tmp_path, args):
    """A value that is neither yes nor no is refused, not read as either."""
    env = {"CARDSEQ_DB": f"sqlite:///{tmp_path / 'x.db'}", "CARDSEQ_NO_MIGRATE": "maybe"}
    result = CliRunner(env=env).invoke(main, args)
    assert result.exit_code == 1 and result.output.startswith(
        "error 701: $CARDSEQ_NO_MIGRATE 'maybe' must be"
    )
    assert not (tmp_path / "x.db").exists()


# ---- store URL options --------------------------------------------------------------


def test_sqlite_busy_timeout_from_the_url(tmp_path):
    with open_store(f"sqlite:///{tmp_path}/b.db?busy_timeout=1234") as store:
        assert store._connection().execute("PRAGMA busy_timeout").fetchone() == (1234,)
        assert store.path == f"{tmp_path}/b.db"


@pytest.mark.parametrize("query", ["busy_timeout=1_0", "busy_timeout=-1", "cache=shared"])
def test_sqlite_bad_url_options(tmp_path, query):
    with pytest.raises(cardseq.InvalidArgument) as info:
        open_store(f"sqlite:///{tmp_path}/b.db?{query}")
    assert query.split("=")[0] in info.value.message
    assert not (tmp_path / "b.db").exists()


def test_postgres_pool_size_and_statement_timeout_from_the_url(postgres_url):
    with open_store(f"{postgres_url}?max_connections=3&statement_timeout=250") as store:
        assert store._size == 3
        with store._reading() as cur:
            cur.execute("SHOW statement_timeout")
            assert cur.fetchone() == ("250ms",)
        with pytest.raises(cardseq.StoreError, match="statement timeout"), store._reading() as cur:
            cur.execute("SELECT pg_sleep(2)")


def test_postgres_statement_timeout_does_not_bound_the_migration(empty_postgres_url):
    """The migration at open waits for another migrator (its advisory lock) longer than
    the URL's statement timeout: the store opens all the same, and then holds its own
    statements to that timeout."""
    opened: list[object] = []
    with psycopg.connect(empty_postgres_url) as migrator:  # a transaction holding the lock
        migrator.execute("SELECT pg_advisory_xact_lock(4242001)")

        def open_it() -> None:
            try:
                with open_store(f"{empty_postgres_url}?statement_timeout=250") as store:
                    with store._reading() as cur:
                        cur.execute("SHOW statement_timeout")
                        opened.append((store.schema_found, cur.fetchone()))
            except cardseq.CardSeqError as error:
                opened.append(error)

        opener = threading.Thread(target=open_it)
        opener.start()
        waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        with psycopg.connect(empty_postgres_url, autocommit=True) as watcher:
            while watcher.execute(waiting).fetchone() != (1,):
                assert opener.is_alive(), opened
        time.sleep(1)  # (at least 4 timeouts' worth of waiting, once it is seen to wait)
    opener.join(30)
    assert opened == [(None, ("250ms",))]


@pytest.mark.parametrize(
    "option",
    [
        "max_connections=0",
        "max_connections=ten",
        "statement_timeout=-5",
        "statement_timeout=1.5",
        "connect_timeout=+5",
    ],
)
def test_postgres_bad_url_options(option):
    with pytest.raises(cardseq.InvalidArgument) as info:
        open_store(f"postgresql://u:secret@127.0.0.1:1/db?{option}")
    assert f"has {option}:" in info.value.message and "secret" not in info.value.message


# ---- /healthz and /metrics ----------------------------------------------------------


@pytest.fixture
def users_file(tmp_path) -> str:
    path = str(tmp_path / "users")
    add_user(path, *USER)
    return path


@pytest.fixture
def apps():
    made = []

    def make(*args, **options):
        app = create_app(*args, **options)
        made.append((app, Client(app)))
        return app, made[-1][1]

    yield make
    for _, client in made:
        client.close()  # ends the app's lifespan: its store closes


def test_healthz_needs_no_credentials(apps, users_file):
    _, client = apps("memory://", users_file=users_file)
    answer = client.get("/healthz")
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})
    assert client.get("/v2/card/series/1").status_code == 401


def test_healthz_is_503_when_the_store_fails(apps, monkeypatch, caplog):
    _, client = apps("memory://", users_file=None)

    async def broken(self):
        raise cardseq.StoreUnreachable("cannot connect to the PostgreSQL server at db:5432/x")

    async def old(self):
        return 1

    # on the class: the store's methods are looked up there first
    monkeypatch.setattr(AsyncStore, "schema_version", broken)
    message = fails(client.get("/healthz"), 503, 500)
    assert "StoreUnreachable" in message
    assert "db:5432" not in message and "db:5432" in caplog.text  # only in the server's log
    monkeypatch.setattr(AsyncStore, "schema_version", old)
    assert f"needs {SCHEMA_VERSION}" in fails(client.get("/healthz"), 503, 500)


def test_healthz_is_rate_limited(apps):
    _, client = apps("memory://", users_file=None, rate=0.001, burst=1)
    assert client.get("/healthz").status_code == 200
    assert client.get("/healthz").status_code == 429


def metric(client, name: str, auth=USER) -> float:
    text = client.get("/metrics", auth=auth).text
    values = [line.rsplit(" ", 1)[1] for line in text.splitlines() if line.startswith(name + " ")]
    return float(values[0]) if values else 0.0


def test_metrics_count_reservations_errors_and_latency(apps, users_file):
    app, client = apps("memory://", users_file=users_file)
    series_id = client.run(app.state.service.create_series(gold()))
    answer = client.post("/v2/card/generate", json={"seriesId": series_id, "count": 5}, auth=USER)
    assert answer.status_code == 200
    client.post("/v2/card/generate", json={"seriesId": series_id, "count": 0}, auth=USER)
    client.get("/v2/card/series/1")  # no credentials: 401
    client.get("/nowhere", auth=USER)
    answer = client.get("/metrics", auth=USER)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    assert metric(client, "cardseq_reservations_total") == 1
    assert metric(client, "cardseq_numbers_reserved_total") == 5
    for code in ("3025", "401", "404"):
        assert metric(client, f'cardseq_errors_total{{code="{code}"}}') == 1
    for route, status in (("/v2/card/generate", 200), ("/v2/card/series/{id}", 401)):
        labels = f'route="{route}",status="{status}"'
        assert metric(client, f"cardseq_request_duration_seconds_count{{{labels}}}") == 1
    labels = 'route="unmatched",status="404"'
    assert metric(client, f"cardseq_request_duration_seconds_count{{{labels}}}") == 1
    _, other = apps("memory://", users_file=users_file)  # a registry of its own
    assert metric(other, "cardseq_reservations_total") == 0


def test_metrics_take_credentials_unless_public(apps, users_file):
    _, client = apps("memory://", users_file=users_file)
    assert client.get("/metrics").status_code == 401
    _, client = apps("memory://", users_file=users_file, metrics_public=True)
    assert client.get("/metrics").status_code == 200
    assert client.get("/v2/card/series/1").status_code == 401


def test_the_document_describes_health_and_metrics():
    paths = build_openapi()["paths"]
    assert paths["/healthz"]["get"]["security"] == []
    assert {"200", "429", "503"} <= set(paths["/healthz"]["get"]["responses"])
    metrics = paths["/metrics"]["get"]
    assert "security" not in metrics and "401" in metrics["responses"]
    assert "text/plain" in metrics["responses"]["200"]["content"]
    public = build_openapi(metrics_public=True)["paths"]["/metrics"]["get"]
    assert public["security"] == [] and "401" not in public["responses"]
    schema = build_openapi()["components"]["schemas"]["Health"]
    assert schema["properties"]["status"]["enum"] == ["ok"]


# ---- serve from the environment -----------------------------------------------------


@pytest.fixture
def served(monkeypatch):
    """What `cardseq serve` would run: its app's settings and the listener's."""
    import cardseq.server.run

    calls = []

    def serve(factory, listen, **more):
        calls.append((factory.settings, {**vars(listen), **more}))

    monkeypatch.setattr(cardseq.server.run, "serve", serve)
    return calls


def test_serve_options_come_from_the_environment(served):
    env = {"CARDSEQ_PORT": "8123", "CARDSEQ_NO_AUTH": "1", "CARDSEQ_DB": "memory://"}
    env |= {"CARDSEQ_MAX_COUNT": "7", "CARDSEQ_FORWARDED_ALLOW_IPS": "10.0.0.1 10.0.0.2"}
    result = CliRunner().invoke(main, ["serve"], env=env)
    assert result.exit_code == 0, result.output
    factory, settings = served[0]
    assert settings["port"] == 8123 and factory.max_count == 7
    assert settings["forwarded_allow_ips"] == ("10.0.0.1", "10.0.0.2")
    assert settings["workers"] == factory.workers == 1 and settings["access_log"]
    result = CliRunner().invoke(main, ["serve", "--port", "9000", "--max-count", "8"], env=env)
    factory, settings = served[1]
    assert settings["port"] == 9000 and factory.max_count == 8  # the option wins


def test_workers_come_from_the_environment_and_need_a_shared_store(served, tmp_path):
    env = {"CARDSEQ_NO_AUTH": "1", "CARDSEQ_WORKERS": "3"}
    db = f"sqlite:///{tmp_path / 'w.db'}"
    result = CliRunner().invoke(main, ["serve", "--db", db], env=env)
    assert result.exit_code == 0, result.output
    factory, settings = served[0]
    assert settings["workers"] == factory.workers == 3
    result = CliRunner().invoke(
        main, ["serve", "--db", db], env=env | {"CARDSEQ_NO_ACCESS_LOG": "1"}
    )
    assert result.exit_code == 0 and served[1][1]["access_log"] is False
    result = CliRunner().invoke(main, ["serve", "--db", "memory://"], env=env)
    assert result.exit_code == 1 and "error 701: --workers 3 needs a store" in result.output
    result = CliRunner().invoke(main, ["serve", "--db", db, "--workers", "0"], env=env)
    assert result.exit_code == 1 and "--workers" in result.output
    assert len(served) == 2


def test_a_bad_environment_value_is_a_coded_error(served):
    env = {"CARDSEQ_PORT": "80_80", "CARDSEQ_NO_AUTH": "1", "CARDSEQ_DB": "memory://"}
    result = CliRunner().invoke(main, ["serve"], env=env)
    assert result.exit_code == 1 and "error 701: $CARDSEQ_PORT (--port) '80_80'" in result.output
    assert served == []


# ---- one log record per reservation ---------------------------------------------------


def test_each_reservation_logs_one_record_without_numbers(store, caplog):
    caplog.set_level(logging.INFO, logger="cardseq.store")
    series_id = store.create_series(gold())
    block = store.reserve("GOLD", 3, request_id="r-1")
    records = [r for r in caplog.records if r.name == "cardseq.store"]
    assert len(records) == 1
    record = records[0]
    entry = store.ledger("GOLD")[-1]
    fields = {
        "series_id": series_id,
        "series_code": "GOLD",
        "start": 0,
        "count": 3,
        "status_label": "NOT_ISSUED",
        "request_id": "r-1",
        "ledger_id": entry.id,
    }
    assert {name: getattr(record, name) for name in fields} == fields
    assert record.levelno == logging.INFO
    assert "reserved 3 of series GOLD" in record.getMessage()
    everything = record.getMessage() + repr(vars(record))
    assert not any(number in everything for number in block.to_list())
    store.reserve("GOLD", 3, request_id="r-1")  # a replay reserves nothing
    assert len([r for r in caplog.records if r.name == "cardseq.store"]) == 1
