"""PostgreSQL with standbys (issue 25, first part), on real clusters started here: a
primary that streams to a standby it does not wait for is refused (fail closed) unless
the URL accepts the loss; a synchronous standby is accepted; after a failover, a former
primary that comes back is fenced off by its older timeline."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import multiprocessing
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from cardseq import CardSeries
from cardseq.aio import AsyncStore
from cardseq.errors import (
    CommitUnknown,
    FormerPrimary,
    StandbyNotSynchronous,
    StoreUnreachable,
)
from cardseq.store import open_store

from .pgcluster import PostgresCluster, database_url, failover_pair, streaming
from .stores import APIS, AwaitedStore
from .workers import reserve_through_failover

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


def test_the_async_api_waits_out_no_primary_and_follows_the_failover() -> None:
    """Through the async API: while there is no primary a call fails at once with
    ``StoreUnreachable`` (503 at the server), reserving nothing; once the standby is
    promoted the store reaches it by itself and the numbering goes on."""
    with failover_pair(connect_timeout=1) as (primary, standby, url):
        store = AwaitedStore(url)
        try:
            store.create_series(GIFT)
            assert store.reserve("GIFT", 5).start == 0
            primary.stop("immediate")
            began = time.perf_counter()
            with pytest.raises(StoreUnreachable):
                store.reserve("GIFT", 5)  # the standby is read-only, the primary gone
            assert time.perf_counter() - began < 5  # two hosts, a 1 s timeout each at most
            standby.promote()
            assert store.reserve("GIFT", 5).start == 5
        finally:
            store.close()


# ---- several processes through failovers -------------------------------------------


def _wait_for(done: Callable[[], bool], seconds: float = 90) -> None:
    deadline = time.time() + seconds
    while not done():
        assert time.time() < deadline, "the processes made no progress"
        time.sleep(0.05)


def _received(folder: Path) -> list[tuple[str, int, int, float]]:
    return [
        (rid, int(start), int(count), float(at))
        for path in folder.glob("*.txt")
        for rid, start, count, at in (line.split() for line in path.read_text().splitlines())
    ]


@pytest.mark.heavy
@pytest.mark.parametrize("round_", range(5))
def test_processes_go_on_through_a_failover_and_nothing_is_lost_or_repeated(
    tmp_path, round_
) -> None:
    """Three processes reserve through a two-host URL; the primary is crashed mid-load
    and its synchronous standby promoted. Every block a process received is in the new
    primary's ledger under its request id, and no index was received twice."""
    context = multiprocessing.get_context("spawn")
    stop = tmp_path / "stop"
    with failover_pair() as (primary, standby, url):
        with open_store(url) as store:
            store.create_series(GIFT)
        workers = [
            context.Process(
                target=reserve_through_failover,
                args=(url, "GIFT", str(tmp_path / f"p{k}.txt"), f"r{round_}p{k}", str(stop)),
            )
            for k in range(3)
        ]
        for worker in workers:
            worker.start()
        _wait_for(lambda: len({rid[:4] for rid, *_ in _received(tmp_path)}) == 3)  # all load
        crashed = time.time()
        primary.stop("immediate")
        standby.promote()
        _wait_for(
            lambda: len({rid[:4] for rid, *_, at in _received(tmp_path) if at > crashed}) == 3
        )
        stop.touch()
        for worker in workers:
            worker.join(timeout=120)
            assert worker.exitcode == 0
        with psycopg.connect(standby.url) as conn:
            ledger = {
                (rid, int(start), int(count))
                for rid, start, count in conn.execute(
                    "SELECT request_id, start, count FROM cardseq_ledger WHERE kind = 'reserved'"
                )
            }
    received = _received(tmp_path)
    assert any(at < crashed for *_, at in received) and any(at > crashed for *_, at in received)
    assert {(rid, start, count) for rid, start, count, _ in received} <= ledger  # none lost
    spans = sorted((start, start + count) for _, start, count, _ in received)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))  # none received twice


class Relay:
    """A TCP relay on a free local port to a server on this machine: ``_serve`` pumps
    each connection's two directions."""

    def __init__(self, port: int) -> None:
        self.upstream = ("127.0.0.1", port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self._serve(client, socket.create_connection(self.upstream))

    def _serve(self, client: socket.socket, server: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.listener.close()


class HoldingRelay(Relay):
    """A relay that passes everything on until ``hold()``: from then on what the server
    sends is kept back (a standby streaming through it falls behind, as one does across
    a slow link)."""

    def __init__(self, port: int) -> None:
        self.holding = threading.Event()
        super().__init__(port)

    def hold(self) -> None:
        self.holding.set()

    def _serve(self, client: socket.socket, server: socket.socket) -> None:
        threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
        threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, held: bool) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                while held and self.holding.is_set():
                    time.sleep(0.01)
                sink.sendall(chunk)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.close()


def test_with_the_opt_in_an_asynchronous_standby_loses_what_it_lacked() -> None:
    """What the refusal prevents, shown: with ``allow_async_standby=1`` a reservation
    committed on the primary but not yet streamed is lost when its standby is promoted,
    and the new primary hands out the same numbers again."""
    primary = PostgresCluster()
    primary.start()
    relay = HoldingRelay(primary.port)
    standby = None
    try:
        standby = primary.standby("s1", via=relay.port)
        streaming(primary, "s1")
        url = (
            f"postgresql://postgres@127.0.0.1:{primary.port},127.0.0.1:{standby.port}"
            "/postgres?target_session_attrs=read-write&connect_timeout=2"
        )
        with pytest.raises(StandbyNotSynchronous):
            open_store(url)
        with open_store(url + "&allow_async_standby=1") as store:
            store.create_series(GIFT)
            kept = store.reserve("GIFT", 10, request_id="kept")
            for _ in range(200):  # the standby has it
                with contextlib.suppress(psycopg.Error), psycopg.connect(standby.url) as conn:
                    if conn.execute("SELECT count(*) FROM cardseq_ledger").fetchone() == (1,):
                        break
                time.sleep(0.05)
            else:
                raise AssertionError("the standby never had the first reservation")
            relay.hold()
            lost = store.reserve("GIFT", 10, request_id="lost")  # the primary's alone
            primary.stop("immediate")
            standby.promote()
            again = store.reserve("GIFT", 10, request_id="again")
        assert (kept.start, lost.start, again.start) == (0, 10, 10)  # handed out twice
        with psycopg.connect(standby.url) as conn:
            ids = [r for (r,) in conn.execute("SELECT request_id FROM cardseq_ledger ORDER BY id")]
        assert ids == ["kept", "again"]
    finally:
        relay.close()
        if standby is not None:
            standby.cleanup()
        primary.cleanup()


# ---- a commit whose outcome is unknown ------------------------------------------------


class CuttingProxy(Relay):
    """A TCP relay in front of a PostgreSQL server that, once armed, cuts the next
    connection that sends ``COMMIT`` after writing a ledger row: ``after`` passes the
    COMMIT on and drops the answer (the transaction commits, the client cannot know),
    ``before`` drops the COMMIT itself (the server rolls back when the connection
    closes)."""

    def __init__(self, port: int) -> None:
        self.mode: str | None = None
        self.cuts = 0
        self._lock = threading.Lock()
        super().__init__(port)

    def arm(self, mode: str) -> None:
        with self._lock:
            self.mode = mode

    def _take_mode(self) -> str | None:
        with self._lock:
            mode, self.mode = self.mode, None
            return mode

    def _serve(self, client: socket.socket, server: socket.socket) -> None:
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


@pytest.mark.parametrize("api", APIS)
def test_a_commit_cut_off_is_unknown_and_its_retry_settles_it(postgres_url, api) -> None:
    parts = urlsplit(postgres_url)
    proxy = CuttingProxy(parts.port or 5432)
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
