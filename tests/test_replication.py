"""PostgreSQL with standbys (issue 25, first part), on real clusters started here: a
primary that streams to a standby it does not wait for is refused (fail closed) unless
the URL accepts the loss; a synchronous standby is accepted; after a failover, a former
primary that comes back is fenced off by its older timeline."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest

from cardseq import CardSeries
from cardseq.aio import AsyncStore
from cardseq.errors import FormerPrimary, StandbyNotSynchronous
from cardseq.store import open_store

from .pgcluster import PostgresCluster, database_url

# (the session's server is not used: its fixture fails these tests in CI, never skips)
pytestmark = pytest.mark.usefixtures("postgres_cluster")
GIFT = CardSeries("GIFT", prefix="6", length=12)


def _streaming(primary: PostgresCluster, name: str) -> None:
    """Wait until standby ``name`` streams from ``primary``."""
    for _ in range(200):
        with psycopg.connect(primary.url, autocommit=True) as conn:
            found = conn.execute(
                "SELECT 1 FROM pg_stat_replication WHERE application_name = %s AND state ="
                " 'streaming'",
                (name,),
            ).fetchone()
        if found:
            return
        time.sleep(0.05)
    raise AssertionError(f"standby {name} never streamed")


@pytest.fixture(scope="module")
def pair():
    primary = PostgresCluster()
    primary.start()
    try:
        standby = primary.standby("s1")
        try:
            _streaming(primary, "s1")
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
    primary = PostgresCluster()
    primary.start()
    standby = None
    try:
        standby = primary.standby("s1")
        _streaming(primary, "s1")
        primary.set(synchronous_standby_names="s1")
        url = (
            f"postgresql://postgres@127.0.0.1:{primary.port},127.0.0.1:{standby.port}"
            "/postgres?target_session_attrs=read-write&connect_timeout=2"
        )
        with open_store(url) as store:
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
    finally:
        if standby is not None:
            standby.cleanup()
        primary.cleanup()
