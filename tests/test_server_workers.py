"""`cardseq serve --workers N`: several processes on one port, one store.

Real servers (subprocesses) and real clients: each request on a connection of its own,
so that the kernel hands them to both workers.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from cardseq import CardSeries

from .server_helpers import Server

ONE_SHOT = {"limits": httpx.Limits(max_keepalive_connections=0)}  # a connection per request


def metrics(server: Server) -> str:
    with server.client() as http:
        return http.get("/metrics").text


def worker_requests(server: Server) -> dict[int, float]:
    """``cardseq_worker_requests_total`` by pid, from /metrics (every worker's counts)."""
    text = metrics(server)
    found = re.findall(r'^cardseq_worker_requests_total\{pid="(\d+)"\} (\S+)$', text, re.M)
    return {int(pid): float(value) for pid, value in found}


def metric(server: Server, name: str) -> float:
    text = metrics(server)
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + " ")
    )


def parent_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^PPid:\s+(\d+)", status, re.M).group(1))  # type: ignore[union-attr]


@pytest.mark.heavy
def test_two_workers_on_postgres_never_hand_out_a_number_twice(tmp_path, postgres_url) -> None:
    """16 clients, 25 requests each, on `serve --workers 2` over PostgreSQL: every
    answer a 200, every number once and the indexes gapless; both workers (children of
    the server process) answered, and /metrics, from either, adds up all of them."""
    options = ("--no-auth", "--metrics-public", "--workers", "2", "--rate", "1e6")
    with Server(tmp_path, postgres_url, *options, "--burst", "1000000") as server:
        with server.client() as http:
            created = http.post(
                "/v2/card/series",
                json={"code": "W", "cardGenerationConfiguration": {"prefix": "7", "length": 12}},
            )
        series_id = created.json()["entity"]
        answered: list[list[str]] = []
        failures: list[str] = []
        lock = threading.Lock()

        def work(seed: int) -> None:
            with server.client(**ONE_SHOT) as own:
                for i in range(25):
                    answer = own.post(
                        "/v2/card/generate",
                        json={"seriesId": series_id, "count": 1 + (seed + i) % 7},
                    )
                    with lock:
                        if answer.status_code == 200:
                            answered.append(answer.json()["data"])
                        else:
                            failures.append(answer.text)

        threads = [threading.Thread(target=work, args=(seed,)) for seed in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert failures == []
        assert len(answered) == 400
        definition = CardSeries("W", prefix="7", length=12)
        indexes = [definition.parse(n) for block in answered for n in block]
        assert sorted(indexes) == list(range(len(indexes)))  # each once, no gap
        by_pid = worker_requests(server)
        assert len(by_pid) == 2, by_pid
        assert all(count > 0 for count in by_pid.values()), by_pid
        assert {parent_of(pid) for pid in by_pid} == {server.process.pid}
        assert metric(server, "cardseq_reservations_total") == 400
        assert metric(server, "cardseq_numbers_reserved_total") == len(indexes)
        log = server.log()
    assert "Spawning worker-2" in log and "Traceback" not in log


def test_workers_share_the_rate_limit_out(tmp_path) -> None:
    """Two workers with --burst 2 let 2 requests through in all, not 2 each (and
    --no-access-log logs none of them)."""
    db = f"sqlite:///{tmp_path / 'limit.db'}"
    options = ("--no-auth", "--workers", "2", "--rate", "0.001", "--burst", "2")
    with Server(tmp_path, db, *options, "--no-access-log") as server:
        with server.client(**ONE_SHOT) as http:
            statuses = Counter(http.get("/v2/card/series/1").status_code for _ in range(12))
        log = server.log()
    # the server's own readiness check took one; a 404 is a request let through
    assert statuses[429] >= 11 and statuses[404] <= 1, statuses
    assert "Started worker-2" in log and "GET /v2/card/series/1" not in log


def test_a_store_that_cannot_be_opened_stops_serve_before_any_worker(tmp_path) -> None:
    with pytest.raises(RuntimeError, match=r"exited with 1:[\s\S]*error 500"):
        Server(tmp_path, "postgresql://nobody@127.0.0.1:1/none", "--no-auth", "--workers", "2")


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if parent_of(int(entry.name)) == pid:
                    found.add(int(entry.name))
            except (OSError, AttributeError):
                pass  # gone meanwhile
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting for whoever adopted it to reap it is not)."""
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def test_workers_do_not_outlive_a_killed_server(tmp_path, monkeypatch) -> None:
    """SIGKILL to the server process (no chance to stop its workers): the kernel ends
    them too, so none is left holding the port and the store."""
    db = f"sqlite:///{tmp_path / 'orphans.db'}"
    # the metrics files in the test's directory: a killed server cannot remove its own
    (tmp_path / "metrics").mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    with Server(tmp_path, db, "--no-auth", "--workers", "2") as server:
        workers = children_of(server.process.pid)
        assert len(workers) >= 2
        server.process.kill()
        server.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in workers):
            assert time.monotonic() < deadline, "a worker outlived the server"
            time.sleep(0.05)
