"""PostgreSQL's own preconditions: commits that are synchronous whatever the server's
tuning, servers without crash safety refused, and a server that is down or silent
failing each call within the connect timeout, with one clear message."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator

import psycopg
import pytest
from click.testing import CliRunner

import cardseq
from cardseq import CardSeries
from cardseq.cli import main
from cardseq.store import open_store
from cardseq.store.postgres import CONNECT_TIMEOUT

from .pgcluster import PostgresCluster

MARGIN = 15  # seconds on top of a timeout: generous, for a loaded machine


def alter_database(cluster: PostgresCluster, url: str, setting: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(cluster.url, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {name} SET {setting}")


@pytest.mark.parametrize(("database", "in_transaction"), [("off", "on"), ("remote_apply", None)])
def test_transactions_commit_synchronously_whatever_the_database_says(
    postgres_cluster, database, in_transaction
):
    url = postgres_cluster.create_database(f"sync_{database}")
    alter_database(postgres_cluster, url, f"synchronous_commit = {database}")
    with open_store(url) as store, store._transaction() as cur:
        cur.execute("SHOW synchronous_commit")
        assert cur.fetchone()[0] == (in_transaction or database)  # stronger ones are kept


@pytest.fixture(scope="module")
def unsafe_cluster(postgres_cluster) -> Iterator[PostgresCluster]:
    """A server that can lose committed transactions in a crash (postgres_cluster first:
    it skips, or fails in CI, where no server can be made)."""
    cluster = PostgresCluster({"fsync": "off", "full_page_writes": "off"})
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.cleanup()


def test_server_without_crash_safety_is_refused(unsafe_cluster):
    url = unsafe_cluster.create_database("unsafe")
    with pytest.raises(cardseq.StoreNotDurable) as info:
        open_store(url)
    assert info.value.code == 500
    message = info.value.message
    assert f"127.0.0.1:{unsafe_cluster.port}/unsafe" in message
    assert "fsync=off and full_page_writes=off" in message
    assert "?unsafe_durability=1" in message
    with psycopg.connect(url) as conn:  # refused before creating anything
        assert conn.execute("SELECT to_regclass('cardseq_series')").fetchone() == (None,)


def test_unsafe_server_opens_when_the_url_opts_in(unsafe_cluster):
    url = unsafe_cluster.create_database("unsafe_opt_in") + "?unsafe_durability=1"
    with open_store(url) as store:
        store.create_series(CardSeries("T", prefix="5", length=8))
        assert store.reserve("T", 3).start == 0


@pytest.mark.parametrize("option", ["unsafe_durability=yes", "connect_timeout=0"])
def test_bad_store_url_options(option):
    with pytest.raises(cardseq.InvalidArgument) as info:
        open_store(f"postgresql://u:secret@127.0.0.1:1/db?{option}")
    assert option in info.value.message and "secret" not in info.value.message


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def no_warnings(caplog) -> None:
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_server_down_fails_at_once_saying_where(caplog):
    port = unused_port()
    caplog.set_level(logging.DEBUG)
    started = time.monotonic()
    with pytest.raises(cardseq.StoreUnreachable) as info:
        open_store(f"postgresql://cardseq:secret@127.0.0.1:{port}/cards")
    assert time.monotonic() - started < CONNECT_TIMEOUT + MARGIN
    assert info.value.code == 500
    message = info.value.message
    assert f"127.0.0.1:{port}/cards" in message
    assert f"connect_timeout {CONNECT_TIMEOUT} s, set in the store URL" in message
    assert "secret" not in message
    no_warnings(caplog)


@pytest.mark.heavy
def test_silent_server_fails_within_the_connect_timeout(caplog):
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        caplog.set_level(logging.DEBUG)
        started = time.monotonic()
        with pytest.raises(cardseq.StoreUnreachable) as info:
            open_store(f"postgresql://cardseq@127.0.0.1:{port}/cards?connect_timeout=2")
        assert time.monotonic() - started < 2 + MARGIN
    assert "connect_timeout 2 s" in info.value.message
    assert "timeout expired" in info.value.message
    no_warnings(caplog)


def test_stopped_server_fails_each_call_at_once_then_recovers(postgres_cluster, caplog):
    url = postgres_cluster.create_database("stopped")
    store = open_store(url, timeout=60.0)
    store.create_series(CardSeries("D", prefix="4", length=9))
    store.reserve("D", 5)
    caplog.set_level(logging.DEBUG)
    postgres_cluster.stop()
    try:
        for call in (lambda: store.reserve("D", 1), store.list_series):
            started = time.monotonic()
            with pytest.raises(cardseq.StoreUnreachable):
                call()
            assert time.monotonic() - started < CONNECT_TIMEOUT + MARGIN
    finally:
        postgres_cluster.start()
    no_warnings(caplog)
    assert store.reserve("D", 1).start == 5  # the store works again once the server does
    store.close()


def test_cli_with_the_server_down_prints_one_error_line():
    port = unused_port()
    result = CliRunner().invoke(
        main, ["series", "list", "--db", f"postgresql://cardseq:secret@127.0.0.1:{port}/cards"]
    )
    assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
    assert result.stderr.startswith(
        f"error 500: cannot connect to the PostgreSQL server at 127.0.0.1:{port}/cards"
    )
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr and "secret" not in result.stderr
