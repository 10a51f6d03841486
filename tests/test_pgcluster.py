"""The throwaway PostgreSQL server itself: committed data must survive a crash-stop."""

from __future__ import annotations

import psycopg
import pytest


@pytest.mark.heavy
def test_committed_row_survives_crash_stop(postgres_cluster, postgres_url):
    url = postgres_url
    if not url.startswith(postgres_cluster.url.rsplit("/", 1)[0] + "/"):
        # CARDSEQ_TEST_POSTGRES_URL moved postgres_url elsewhere: crash the server we control.
        url = postgres_cluster.create_database("cardseq_crash_test")
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE t (v text)")
        conn.execute("INSERT INTO t VALUES ('committed')")
    # psycopg's `with` committed on exit; an immediate stop is a crash (no checkpoint).
    postgres_cluster.stop("immediate")
    postgres_cluster.start()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT v FROM t").fetchall() == [("committed",)]
