"""PostgreSQL with standbys (issue 25, first part), on real clusters started here: a
primary that streams to a standby it does not wait for is refused (fail closed) unless
the URL accepts the loss; a synchronous standby is accepted; after a failover, a former
primary that comes back is fenced off by its older timeline."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from cardseq import CardSeries
from cardseq.aio import AsyncStore
from cardseq.errors import CommitUnknown, FormerPrimary, StandbyNotSynchronous
from cardseq.store import open_store

from .pgcluster import PostgresCluster, database_url, failover_pair, streaming
from .stores import APIS, AwaitedStore

# (the session's server is not used: its fixture fails these tests in CI, never skips)
pytestmark = pytest.mark.usefixtures("postgres_cluster")
GIFT = CardSeries("GIFT", prefix="6", length=12)


@pytest.fixture(scope="module")
def pair():
    primary = PostgresCluster()
    primary.start()
    try:
        standby = primary.standby("s1")
        try:
            streaming(primary, "s1")
            yield primary, standby
        finally:
            standby.cleanup()
    finally:
        primary.cleanup()


def test_an_asynchronous_standby_is_refused_unless_the_url_accepts_the_loss(pair) -> None:
    primary, _ = pair
    primary.set(synchronous_standby_names="")
    url = primary.create_database("async_refused")
    with pytest.raises(StandbyNotSynchronous) as caught:
        open_store(url)
    said = str(caught.value)
    assert caught.value.code == 500
    assert "synchronous_standby_names" in said and "allow_async_standby=1" in said

    async def opened() -> None:
        await AsyncStore.open(url)

    with pytest.raises(StandbyNotSynchronous):
        asyncio.run(opened())
    with open_store(url + "?allow_async_standby=1") as store:  # the loss accepted
        store.create_series(GIFT)
        assert store.reserve("GIFT", 5).start == 0


def test_a_synchronous_standby_is_accepted_and_a_change_is_seen_per_write(pair) -> None:
    primary, standby = pair
    primary.set(synchronous_standby_names="s1")
    url = primary.create_database("sync_ok")
    with open_store(url) as store:
        store.create_series(GIFT)
        assert store.reserve("GIFT", 10).stop == 10
        primary.set(synchronous_standby_names="")  # now it would not wait for s1
        with pytest.raises(StandbyNotSynchronous):
            store.reserve("GIFT", 10)  # checked by each write, on a connection in use
        assert store.series("GIFT").next_index == 10  # and nothing was reserved
        primary.set(synchronous_standby_names="s1")
        assert store.reserve("GIFT", 10).start == 10
    for _ in range(200):  # the standby has every reservation (flushed there, then applied)
        try:
            with psycopg.connect(database_url(standby.url, "sync_ok")) as conn:
                if conn.execute("SELECT count(*) FROM cardseq_ledger").fetchone() == (2,):
                    break
        except psycopg.Error:  # its copy of the database not replayed yet
            pass
        time.sleep(0.05)
    else:
        raise AssertionError("the standby lacks a reservation")


def test_a_least_privileged_role_sees_the_standby_too(pair) -> None:
    primary, _ = pair
    primary.set(synchronous_standby_names="s1")
    url = primary.create_database("least")
    with open_store(url):
        pass
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE ROLE clerk LOGIN")
        conn.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO clerk")
        conn.execute("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO clerk")
    clerk = url.replace("postgres@", "clerk@")
    with open_store(clerk, migrate=False) as store:
        store.create_series(GIFT)
    primary.set(synchronous_standby_names="")
    with pytest.raises(StandbyNotSynchronous):  # no pg_monitor needed: its rows are public
        open_store(clerk, migrate=False)
    primary.set(synchronous_standby_names="s1")


def test_a_former_primary_is_fenced_off_by_its_timeline() -> None:
    """A store follows a failover through a multi-host URL to the promoted standby
    (timeline 2); the old primary, restarted as a primary on timeline 1, is refused."""
    with failover_pair() as (primary, standby, url), open_store(url) as store:
        store.create_series(GIFT)
        first = store.reserve("GIFT", 5)
        primary.stop("immediate")
        standby.promote()
        second = store.reserve("GIFT", 5)  # on the new primary, timeline 2
        assert (first.start, second.start) == (0, 5)  # nothing handed out twice
        primary.start()  # the old primary, back, writable, on timeline 1
        with psycopg.connect(standby.url, autocommit=True) as conn:  # cut the store
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = 'postgres' AND pid <> pg_backend_pid()"
                " AND backend_type = 'client backend'"
            )
        with pytest.raises(FormerPrimary) as caught:
            store.reserve("GIFT", 5)  # libpq picks the first writable host: the old one
        assert "timeline 1" in str(caught.value) and "timeline 2" in str(caught.value)


# ---- a commit whose outcome is unknown ------------------------------------------------


class CuttingProxy:
    """A TCP relay in front of a PostgreSQL server that, once armed, cuts the next
    connection that sends ``COMMIT`` after writing a ledger row: ``after`` passes the
    COMMIT on and drops the answer (the transaction commits, the client cannot know),
    ``before`` drops the COMMIT itself (the server rolls back when the connection
    closes)."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.mode: str | None = None
        self.cuts = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, mode: str) -> None:
        with self._lock:
            self.mode = mode

    def _take_mode(self) -> str | None:
        with self._lock:
            mode, self.mode = self.mode, None
            return mode

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            muted = threading.Event()
            threading.Thread(target=self._up, args=(client, server, muted), daemon=True).start()
            threading.Thread(target=self._down, args=(server, client, muted), daemon=True).start()

    def _up(self, client: socket.socket, server: socket.socket, muted: threading.Event) -> None:
        wrote = False
        try:
            while chunk := client.recv(65536):
                wrote = wrote or b"INSERT INTO cardseq_ledger" in chunk
                if wrote and chunk[:1] == b"Q" and b"COMMIT" in chunk and self.mode is not None:
                    mode = self._take_mode()
                    if mode is not None:
                        muted.set()
                        if mode == "after":
                            server.sendall(chunk)
                            time.sleep(0.3)  # the server commits and answers into the void
                        self.cuts += 1
                        break
                server.sendall(chunk)
        except OSError:
            pass
        for end in (client, server):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def _down(self, server: socket.socket, client: socket.socket, muted: threading.Event) -> None:
        try:
            while chunk := server.recv(65536):
                if muted.is_set():
                    return
                client.sendall(chunk)
        except OSError:
            pass

    def close(self) -> None:
        self.listener.close()


@pytest.mark.parametrize("api", APIS)
def test_a_commit_cut_off_is_unknown_and_its_retry_settles_it(postgres_url, api) -> None:
    parts = urlsplit(postgres_url)
    proxy = CuttingProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    url = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}"))
    store = open_store(url) if api == "sync" else AwaitedStore(url)
    try:
        store.create_series(GIFT)
        proxy.arm("after")  # committed, but the answer is lost
        with pytest.raises(CommitUnknown) as caught:
            store.reserve("GIFT", 5)  # no request id given: one is made, and named
        made = caught.value.value
        assert caught.value.code == 715 and made.startswith("cardseq-")
        assert made in str(caught.value) and proxy.cuts == 1
        again = store.reserve("GIFT", 5, request_id=made)
        assert (again.start, again.count) == (0, 5)  # the committed block, not a new one
        proxy.arm("before")  # never committed
        with pytest.raises(CommitUnknown) as caught:
            store.reserve("GIFT", 3, request_id="r2")
        assert caught.value.value == "r2"
        retried = store.reserve("GIFT", 3, request_id="r2")
        assert (retried.start, retried.count) == (5, 3)  # reserved once, now
        assert store.series("GIFT").next_index == 8
        assert [e.request_id for e in store.ledger("GIFT")] == [made, "r2"]
    finally:
        store.close()
        proxy.close()
