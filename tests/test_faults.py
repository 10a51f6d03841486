"""Real faults: a worker killed mid-reservation, PostgreSQL crashing under load, a disk
write that fails. Nothing is handed out twice, and every handed-out block is ledgered."""

from __future__ import annotations

import itertools
import pathlib
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time

import psycopg
import pytest

import cardseq
from cardseq import CardSeries
from cardseq.store import open_store

from .stores import check_ledger, open_api

ROOT = pathlib.Path(__file__).resolve().parent.parent


def start_worker(url: str, series: str, api: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.workers", url, series, api],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_sigkill_mid_reservations(shared_url, api):
    url = shared_url
    with open_store(url) as store:
        store.create_series(CardSeries("K", prefix="7", length=12, method="LUHN"))
    victim, survivor = start_worker(url, "K", api), start_worker(url, "K", api)
    handed_out = []
    try:
        for _ in range(60):  # let both get well into their loops
            handed_out.append(tuple(map(int, victim.stdout.readline().split())))
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        for _ in range(60):  # the other one carries on
            handed_out.append(tuple(map(int, survivor.stdout.readline().split())))
    finally:
        for worker in (victim, survivor):
            worker.kill()
            worker.wait(10)
            worker.stdout.close()
    assert victim.returncode == -signal.SIGKILL
    with open_store(url) as store:
        reserved = check_ledger(store, "K")  # consistent: no overlap, no hole
        assert set(handed_out) <= set(reserved)
        after = store.reserve("K", 5)
        assert after.start == max(s + c for s, c in reserved)


@pytest.mark.heavy
def test_postgres_crash_and_restart_under_load(postgres_cluster, api):
    url = postgres_cluster.create_database(f"crash_under_load_{api}")
    store = open_api(api, url, timeout=2.0)
    store.create_series(CardSeries("C", prefix="8", length=12))
    blocks: list[tuple[float, int, int]] = []
    errors: list[Exception] = []
    stop = threading.Event()
    lock = threading.Lock()

    def work(seed: int) -> None:
        rng = random.Random(seed)
        while not stop.is_set():
            try:
                block = store.reserve("C", rng.randint(1, 30))
            except cardseq.CardSeqError as error:
                with lock:
                    errors.append(error)
                time.sleep(0.05)
            else:
                with lock:
                    blocks.append((time.monotonic(), block.start, block.count))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.0)
        postgres_cluster.stop("immediate")
        time.sleep(1.5)
    finally:
        postgres_cluster.start()
    restarted = time.monotonic()
    deadline = restarted + 30
    while time.monotonic() < deadline and not any(t > restarted + 0.5 for t, _, _ in blocks):
        time.sleep(0.1)
    stop.set()
    for t in threads:
        t.join(30)
    assert errors, "the crash went unnoticed"
    # (a commit cut off by the crash: 715, its retry settles it)
    assert all(isinstance(e, cardseq.StoreError) and e.code in (500, 715) for e in errors), errors[
        :3
    ]
    assert any(t > restarted for t, _, _ in blocks), "the store did not recover"
    ranges = sorted((s, c) for _, s, c in blocks)
    for (s, c), (after, _) in itertools.pairwise(ranges):
        assert s + c <= after
    ledgered = set(check_ledger(store, "C"))
    assert set(ranges) <= ledgered  # (a commit whose answer was lost is a gap, not a reuse)
    store.close()


@pytest.mark.heavy
def test_postgres_crash_loses_no_reservation_when_synchronous_commit_is_off(postgres_cluster, api):
    """The database says ``synchronous_commit = off`` (so a commit may return before it
    is on disk): the store commits its reservations synchronously all the same."""
    url = postgres_cluster.create_database(f"sync_commit_off_{api}")
    with psycopg.connect(postgres_cluster.url, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE sync_commit_off_{api} SET synchronous_commit = off")
    with open_store(url) as store:
        store.create_series(CardSeries("S", prefix="6", length=14))
    workers = [start_worker(url, "S", api) for _ in range(3)]
    outputs: list[list[str]] = [[] for _ in workers]
    readers = [
        threading.Thread(target=out.extend, args=(w.stdout,), daemon=True)
        for w, out in zip(workers, outputs, strict=True)
    ]
    for reader in readers:
        reader.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and min(map(len, outputs)) < 50:
            time.sleep(0.05)  # every worker well into its loop
        postgres_cluster.stop("immediate")
        for reader in readers:
            reader.join(120)  # each worker prints its error and ends
    finally:
        for worker in workers:
            worker.kill()
            worker.wait(10)
            worker.stdout.close()
        postgres_cluster.start()
    handed_out = [
        tuple(map(int, line.split())) for out in outputs for line in out if line[0].isdigit()
    ]
    assert len(handed_out) >= 150
    with open_store(url) as store:
        reserved = check_ledger(store, "S")
        again = store.reserve("S", max(s + c for s, c in handed_out))
    reissued = [(s, c) for s, c in handed_out if s + c > again.start]
    assert reissued == [], f"{len(reissued)} handed-out blocks were issued again"
    assert set(handed_out) <= set(reserved)


_FILL_DISK = textwrap.dedent("""
    import os, resource, signal, sys
    from cardseq import CardSeqError
    from tests.stores import open_api
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    path, api = sys.argv[1:3]
    store = open_api(api, "sqlite:///" + path)
    store.reserve("F", 1)  # connection open, WAL in use
    limit = os.path.getsize(path + "-wal") + 40_000
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        for _ in range(100_000):
            block = store.reserve("F", 3)
            print(block.start, block.count, flush=True)
    except CardSeqError as error:
        print("error", error.code, error, flush=True)
""")


def test_sqlite_write_failure_leaves_a_consistent_database(tmp_path, api):
    path = tmp_path / "cards.db"
    with open_store(f"sqlite:///{path}") as store:
        store.create_series(CardSeries("F", prefix="3", length=10))
    out = subprocess.run(
        [sys.executable, "-c", _FILL_DISK, str(path), api],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = out.stdout.splitlines()
    assert lines and lines[-1].startswith("error 500 store error"), out.stdout[-500:] + out.stderr
    assert "Traceback" not in out.stderr
    handed_out = {tuple(map(int, line.split())) for line in lines[:-1]}
    assert handed_out
    with open_store(f"sqlite:///{path}") as store:
        reserved = check_ledger(store, "F")
        assert handed_out <= set(reserved)
        with store._transaction() as cur:
            assert cur.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert store.reserve("F", 1).start == max(s + c for s, c in reserved)
