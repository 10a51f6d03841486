"""Reserving numbers for many workers on PostgreSQL: what a user would do with the
database alone (a sequence, a row-lock counter) against cardseq's store.

The server is the one ``--postgres-url`` names; else, in a source checkout, a throwaway
one started by the tests' own ``tests/pgcluster.py`` (as ``benchmarks/stores.py`` does);
else the task's rows say why they were skipped.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..allocator import SegmentAllocator
from ..errors import InvalidArgument
from ..extras import install
from ..series import CardSeries
from .cases import Case, Guarantees, Task, optional

#: numbers per reservation, for the counter and the store alike
BLOCK = 1000
CLUSTER_HELPER = Path(__file__).resolve().parents[2] / "tests" / "pgcluster.py"
COMMITTED = Guarantees("yes", "yes (committed)", "no (bigint)", "no")


def _task(cases: list[Case]) -> Task:
    return Task(
        "reserving",
        "Reserving numbers for many workers",
        f"numbers reserved durably on PostgreSQL, one connection (blocks of {BLOCK})",
        cases,
    )


TOOLS = (
    "cardseq store.reserve",
    "cardseq SegmentAllocator.next",
    "nextval() one at a time",
    "nextval() one at a time, CACHE 1000",
    "row-lock counter UPDATE ... RETURNING",
)


def skipped(reason: str) -> Task:
    """The task's rows, each saying why it did not run."""
    return _task(
        [Case(tool, None, 0, None, skipped=reason, reference=tool == TOOLS[0]) for tool in TOOLS]
    )


def check_url(url: str | None) -> None:
    """Refuse (701) a URL that names no PostgreSQL server, before anything is measured."""
    if url is not None and not url.startswith(("postgresql://", "postgres://")):
        raise InvalidArgument.bad("postgres-url", url, "is not a postgresql:// URL")


def _throwaway(stack: contextlib.ExitStack) -> str:
    """A throwaway server's database URL, or the reason there is none (raised)."""
    if not CLUSTER_HELPER.is_file():
        raise LookupError(
            "no --postgres-url given, and no source checkout (tests/pgcluster.py)"
            " to start a throwaway server from"
        )
    spec = importlib.util.spec_from_file_location("cardseq_bench_pgcluster", CLUSTER_HELPER)
    assert spec is not None and spec.loader is not None
    helper = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helper)
    if not helper.PostgresCluster.available():
        raise LookupError(
            "no --postgres-url given, and no PostgreSQL server binaries (initdb) here"
        )
    cluster = helper.PostgresCluster()
    stack.callback(cluster.cleanup)
    cluster.start()
    url: str = cluster.create_database("cardseq_bench")
    return url


@contextlib.contextmanager
def reserving(n: int, url: str | None, start_server: bool) -> Iterator[tuple[Task, str]]:
    """The reservation task and the PostgreSQL server's version (or why it is skipped);
    connections, and a throwaway server, are closed on exit."""
    psycopg = optional("psycopg")
    if psycopg is None:
        yield skipped(f"psycopg not installed ({install('postgres')})"), ""
        return
    check_url(url)
    with contextlib.ExitStack() as stack:
        if url is None:
            if not start_server:
                yield skipped("no --postgres-url given"), ""
                return
            try:
                url = _throwaway(stack)
            except LookupError as why:
                yield skipped(str(why)), ""
                return
        try:
            conn = stack.enter_context(psycopg.connect(url, autocommit=True))
        except psycopg.Error as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise InvalidArgument(
                f"postgres-url: cannot connect: {first}", field="postgres-url"
            ) from None
        version = str(conn.execute("SHOW server_version").fetchone()[0])
        yield _task(_cases(n, url, conn, stack)), version


def _cases(n: int, url: str, conn: Any, stack: contextlib.ExitStack) -> list[Case]:
    from ..store import open_store

    conn.execute("DROP SEQUENCE IF EXISTS bench_plain, bench_cached")
    conn.execute("CREATE SEQUENCE bench_plain")
    conn.execute("CREATE SEQUENCE bench_cached CACHE 1000")
    conn.execute("DROP TABLE IF EXISTS bench_counter")
    conn.execute("CREATE TABLE bench_counter (name text PRIMARY KEY, value bigint NOT NULL)")
    conn.execute("INSERT INTO bench_counter VALUES ('cards', 0)")
    store = stack.enter_context(open_store(url))
    # a 17-digit counter: no round of any run exhausts it
    store.create_series(CardSeries("BENCH", prefix="9", length=19, method="LUHN"), exists_ok=True)
    allocator = stack.enter_context(SegmentAllocator(store, "BENCH", step=10 * BLOCK))
    one_by_one = max(1, n // 100)
    blocks = max(1, n // 10 // BLOCK)

    def nextval(sequence: str) -> Callable[[], object]:
        query = f"SELECT nextval('{sequence}')"
        return lambda: [conn.execute(query).fetchone() for _ in range(one_by_one)]

    def counter() -> object:
        query = "UPDATE bench_counter SET value = value + %s WHERE name = 'cards' RETURNING value"
        return [conn.execute(query, (BLOCK,)).fetchone() for _ in range(blocks)]

    take = allocator.next
    cardseq = Guarantees("yes", "yes (flushed)", "yes", "with RANDOM methods")
    return [
        Case(
            TOOLS[0],
            "cardseq",
            blocks * BLOCK,
            lambda: [store.reserve("BENCH", BLOCK) for _ in range(blocks)],
            cardseq,
            "a ledger row per block; synchronous commit enforced",
            reference=True,
        ),
        Case(
            TOOLS[1],
            "cardseq",
            blocks * BLOCK,
            lambda: [take() for _ in range(blocks * BLOCK)],
            cardseq,
            f"single formatted numbers from prefetched blocks of {10 * BLOCK}",
        ),
        Case(
            TOOLS[2], "psycopg", one_by_one, nextval("bench_plain"), COMMITTED, "a round trip each"
        ),
        Case(
            TOOLS[3],
            "psycopg",
            one_by_one,
            nextval("bench_cached"),
            Guarantees("yes", "yes (committed)", "no (bigint)", "no"),
            "a round trip each; the cache is per session",
        ),
        Case(
            TOOLS[4],
            "psycopg",
            blocks * BLOCK,
            counter,
            COMMITTED,
            f"blocks of {BLOCK}, as segment allocators do; no ledger",
        ),
    ]
