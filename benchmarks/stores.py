"""Store throughput: reservations per second, group commit against raw commits, single
numbers per second, card lookups, and the peak memory of a large `cardseq generate`,
measured in one run.

    python benchmarks/stores.py [--seconds 3] [--postgres-url URL] [--generate 20000000]

Without --postgres-url it starts a throwaway PostgreSQL server (as the tests do).
Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cardseq import CardSeries  # noqa: E402
from cardseq.aio import AsyncStore  # noqa: E402
from cardseq.allocator import SegmentAllocator  # noqa: E402
from cardseq.store import open_store  # noqa: E402


def _reserve_for(url: str, seconds: float, start_at: float) -> int:
    with open_store(url) as store:
        store.series_id("BENCH")
        while time.time() < start_at:
            time.sleep(0.001)
        done = 0
        end = start_at + seconds
        while time.time() < end:
            store.reserve("BENCH", 100)
            done += 1
        return done


def reservations_per_second(url: str, processes: int, seconds: float) -> float:
    """All processes start together and reserve 100-number blocks for ``seconds``."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        start_at = time.time() + 2.0  # time for every process to import and connect
        counts = pool.starmap(_reserve_for, [(url, seconds, start_at)] * processes)
    return sum(counts) / seconds


def threads_rate(url: str, threads: int, seconds: float) -> float:
    """Reservations of 100 numbers per second from ``threads`` threads sharing one store
    object (their reservations are committed in groups)."""
    with open_store(url) as store:
        store.series_id("BENCH")
        ready = threading.Barrier(threads + 1)
        counts = [0] * threads

        def work(slot: int, end: list[float]) -> None:
            ready.wait()
            while time.perf_counter() < end[0]:
                store.reserve("BENCH", 100)
                counts[slot] += 1

        end = [0.0]
        workers = [threading.Thread(target=work, args=(i, end)) for i in range(threads)]
        for worker in workers:
            worker.start()
        end[0] = time.perf_counter() + seconds
        ready.wait()
        for worker in workers:
            worker.join()
        return sum(counts) / seconds


def tasks_rate(url: str, tasks: int, seconds: float) -> float:
    """Reservations of 100 numbers per second from ``tasks`` tasks awaiting one
    ``AsyncStore`` on one event loop (their reservations are committed in groups)."""

    async def run() -> float:
        async with await AsyncStore.open(url) as store:
            await store.series_id("BENCH")
            await store.reserve("BENCH", 100)  # connected, caches warm
            end = time.perf_counter() + seconds
            counts = [0] * tasks

            async def work(slot: int) -> None:
                while time.perf_counter() < end:
                    await store.reserve("BENCH", 100)
                    counts[slot] += 1

            await asyncio.gather(*(work(i) for i in range(tasks)))
            return sum(counts) / seconds

    return asyncio.run(run())


def handoff_us(rounds: int = 20_000) -> float:
    """Microseconds for one thread to wake another that sleeps on a lock (half of a
    two-thread ping-pong): what each caller of a sync batch costs before any of its
    own work, since all of them wait for the batch's commit and then run in turn."""
    ping, pong = threading.Lock(), threading.Lock()
    ping.acquire()
    pong.acquire()

    def other() -> None:
        for _ in range(rounds):
            ping.acquire()
            pong.release()

    thread = threading.Thread(target=other)
    thread.start()
    began = time.perf_counter()
    for _ in range(rounds):
        ping.release()
        pong.acquire()
    elapsed = time.perf_counter() - began
    thread.join()
    return elapsed / rounds / 2 * 1e6


def raw_commit_rate(url: str, seconds: float) -> float:
    """Commits per second of a one-thread loop of one-row transactions, each flushed
    to disk (SQLite WAL with full sync; PostgreSQL with synchronous commit), with the
    driver alone: what one reservation per transaction would cost at best."""
    if url.startswith("sqlite:///"):
        import sqlite3

        conn = sqlite3.connect(url[len("sqlite:///") :] + "-raw", isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        begin = "BEGIN IMMEDIATE"
    else:
        import psycopg

        conn = psycopg.connect(url.partition("?")[0], autocommit=True)
        conn.execute("SET synchronous_commit = on")
        begin = "BEGIN"
    with contextlib.closing(conn):
        conn.execute("CREATE TABLE IF NOT EXISTS raw_commit (n BIGINT)")
        done = 0
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            conn.execute(begin)
            conn.execute("INSERT INTO raw_commit VALUES (1)")
            conn.execute("COMMIT")
            done += 1
    return done / seconds


def bracketed(
    rate_of: Callable[[str, int, float], float], url: str, seconds: float
) -> tuple[float, float]:
    """(grouped rate, raw commit rate): the raw loop runs just before and just after,
    and counts as their mean, so that a shared disk's drift weighs on both sides."""
    before = raw_commit_rate(url, seconds)
    grouped = rate_of(url, 16, seconds)
    return grouped, (before + raw_commit_rate(url, seconds)) / 2


def allocator_rate(url: str, n: int) -> float:
    with open_store(url) as store, SegmentAllocator(store, "BENCH") as allocator:
        take = allocator.next
        began = time.perf_counter()
        for _ in range(n):
            take()
        return n / (time.perf_counter() - began)


def lookup_median_ms(reservations: int = 20_000) -> float:
    """Median time to look a card number up in a series with that many reservations."""
    with open_store("memory://") as store:
        store.create_series(CardSeries("LOOK", prefix="4", length=14, method="LUHN"))
        for _ in range(reservations):
            store.reserve("LOOK", 3)
        series = store.get_series("LOOK")
        times = []
        for index in range(0, reservations * 3, 997):
            number = series.format(index)
            began = time.perf_counter()
            store.lookup(number)
            times.append(time.perf_counter() - began)
    return statistics.median(times) * 1e3


def generate_peak(count: int, workdir: str) -> tuple[float, float]:
    """Run the real command in a child; return (numbers per second, peak RSS in MB)."""
    db = f"sqlite:///{workdir}/gen.db"
    cli = [sys.executable, "-m", "cardseq"]
    subprocess.run(
        [
            *cli,
            "series",
            "create",
            "GEN",
            "--prefix",
            "6",
            "--length",
            "18",
            "--method",
            "LUHN",
            "--db",
            db,
        ],
        check=True,
        capture_output=True,
    )
    script = (
        "import resource, subprocess, sys, time;"
        "t = time.perf_counter(); subprocess.run(sys.argv[1:], check=True);"
        "t = time.perf_counter() - t;"
        "print(t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            *cli,
            "generate",
            "GEN",
            "--count",
            str(count),
            "--yes",
            "--out",
            f"{workdir}/gen.txt",
            "--db",
            db,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    size = os.path.getsize(f"{workdir}/gen.txt")
    assert size == count * 19, size
    return count / float(out[0]), int(out[1]) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--postgres-url")
    parser.add_argument(
        "--generate",
        type=int,
        default=20_000_000,
        help="numbers for the `cardseq generate` case (0: skip)",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--group-only",
        action="store_true",
        help="measure only group commit (threads and tasks against raw commits)",
    )
    args = parser.parse_args()
    failed = False
    with tempfile.TemporaryDirectory() as workdir:
        cluster = None
        pg_url = args.postgres_url
        if not pg_url:
            from tests.pgcluster import PostgresCluster

            cluster = PostgresCluster()
            cluster.start()
            pg_url = cluster.create_database("bench")
        try:
            urls = {"sqlite": f"sqlite:///{workdir}/bench.db", "postgresql": pg_url}
            for url in urls.values():
                with open_store(url) as store:
                    store.create_series(CardSeries("BENCH", prefix="9", length=19, method="LUHN"))
            print(
                f"reservations of 100 numbers per second, {args.seconds:g} s per run,"
                f" median of {args.rounds} runs ({os.cpu_count()} cores)"
            )
            for name, url in urls.items():
                for processes in () if args.group_only else (1, 4, 8):
                    rates = [
                        reservations_per_second(url, processes, args.seconds)
                        for _ in range(args.rounds)
                    ]
                    print(
                        f"  {name:<11} {processes} process(es): "
                        f"{statistics.median(rates):9,.0f}/s (min {min(rates):,.0f},"
                        f" max {max(rates):,.0f})"
                    )
            print(
                "group commit: reservations of 100 numbers per second from 16 threads on"
                " one store object (sync) and from 16 tasks on one AsyncStore (async),"
                " each against a one-thread loop of raw flushed commits run just before"
                f" and just after it (their mean), median of {args.rounds} runs"
                " (target >= 4x)"
            )
            print(
                f"  (one thread waking another here: {handoff_us():.1f} us; a sync batch of"
                " 16 wakes 15 callers, one after another)"
            )
            callers = {"sync": threads_rate, "async": tasks_rate}
            for name, url in urls.items():
                for api, rate_of in callers.items():
                    pairs = [bracketed(rate_of, url, args.seconds) for _ in range(args.rounds)]
                    grouped = statistics.median(g for g, _ in pairs)
                    raw = statistics.median(r for _, r in pairs)
                    ratio = statistics.median(g / r for g, r in pairs)
                    ok = ratio >= 4
                    failed |= not ok
                    runs = ", ".join(f"{g / r:.1f}x" for g, r in pairs)
                    print(
                        f"  {name:<11}{api:>6} {grouped:9,.0f}/s against {raw:7,.0f} raw"
                        f" commits/s: {ratio:5.1f}x (each run: {runs})"
                        f"  {'ok' if ok else 'MISSED'}"
                    )
            if args.group_only:
                return 1 if failed else 0
            rates = [allocator_rate(urls["sqlite"], 3_000_000) for _ in range(args.rounds)]
            rate = statistics.median(rates)
            ok = rate >= 1e6
            failed |= not ok
            print(
                f"segment allocator, one thread, SQLite: {rate / 1e6:.2f} M numbers/s"
                f" (median of {args.rounds}; target >= 1)  {'ok' if ok else 'MISSED'}"
            )
        finally:
            if cluster is not None:
                cluster.cleanup()
        print(
            f"card lookup in a series with 20,000 reservations: median {lookup_median_ms():.2f} ms"
        )
        if args.generate:
            speed, peak = generate_peak(args.generate, workdir)
            ok = peak <= 100
            failed |= not ok
            print(
                f"cardseq generate --count {args.generate:,} (LUHN, 16-digit counter) --out:"
                f" {speed / 1e6:.1f} M numbers/s, peak RSS {peak:.0f} MB (target <= 100)"
                f"  {'ok' if ok else 'MISSED'}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
