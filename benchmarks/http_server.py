"""HTTP server throughput and latency: generate requests from concurrent clients.

    python benchmarks/http_server.py [--seconds 5] [--threads 1,4,16] [--counts 100,10000]

Starts one `cardseq serve` process (--no-auth, a SQLite file in a temporary directory, a
rate limit too high to matter), registers a series, then for each count and each number
of client threads sends `POST /v2/card/generate` requests back to back for a bounded
time, one keep-alive httpx client per thread. Prints requests/s, numbers/s and the p50
and p99 latency. Every answer must be a 200 with `count` numbers.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import httpx

ROOT = pathlib.Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(workdir: pathlib.Path) -> tuple[subprocess.Popen[bytes], str, object]:
    port = free_port()
    log = open(workdir / "server.log", "wb")  # noqa: SIM115 (the server's lifetime)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cardseq",
            "serve",
            "--no-auth",
            "--port",
            str(port),
            "--db",
            f"sqlite:///{workdir / 'bench.db'}",
            "--rate",
            "1000000000",
            "--burst",
            "1000000000",
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited:\n{(workdir / 'server.log').read_text()}")
        try:
            if httpx.get(f"{url}/openapi.json", timeout=1).status_code == 200:
                return process, url, log
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the server did not start within 30 s")


def run_case(
    url: str, series_id: int, count: int, threads: int, seconds: float
) -> dict[str, float]:
    """``threads`` clients, each sending requests back to back until the time is up."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors: list[str] = []
    start = threading.Barrier(threads + 1)
    stop_at = [0.0]

    def client(slot: int) -> None:
        body = {"seriesId": series_id, "count": count}
        with httpx.Client(base_url=url, timeout=60) as http:
            http.post("/v2/card/generate", json={**body, "count": 1})  # connect first
            start.wait()
            mine = latencies[slot]
            while True:
                began = time.perf_counter()
                if began >= stop_at[0]:
                    return
                response = http.post("/v2/card/generate", json=body)
                mine.append(time.perf_counter() - began)
                if response.status_code != 200 or len(response.json()["data"]) != count:
                    errors.append(response.text[:200])
                    return

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    stop_at[0] = time.perf_counter() + 3600
    start.wait()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise SystemExit(f"a request failed: {errors[0]}")
    every = sorted(x for mine in latencies for x in mine)
    requests = len(every)
    return {
        "requests/s": requests / elapsed,
        "numbers/s": requests * count / elapsed,
        "p50 ms": statistics.median(every) * 1000,
        "p99 ms": every[min(requests - 1, int(requests * 0.99))] * 1000,
        "requests": requests,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per case")
    parser.add_argument("--threads", default="1,4,16", help="client threads, comma-separated")
    parser.add_argument("--counts", default="100,10000", help="numbers per request")
    args = parser.parse_args()
    threads = [int(x) for x in args.threads.split(",")]
    counts = [int(x) for x in args.counts.split(",")]

    with tempfile.TemporaryDirectory(prefix="cardseq-http-") as tmp:
        workdir = pathlib.Path(tmp)
        process, url, log = start_server(workdir)
        try:
            created = httpx.post(
                f"{url}/v2/card/series",
                json={
                    "code": "BENCH",
                    "cardGenerationConfiguration": {
                        "prefix": "Test09",
                        "suffix": "end",
                        "length": 23,
                    },
                },
            )
            series_id = created.json()["entity"]
            print(
                f"cardseq serve, 1 process, SQLite, {args.seconds:g} s per case, "
                f"{os.cpu_count()} CPUs\n"
            )
            header = (
                f"{'count':>7} {'clients':>7} {'requests':>9} {'req/s':>9} "
                f"{'numbers/s':>11} {'p50 ms':>8} {'p99 ms':>8}"
            )
            print(header)
            print("-" * len(header))
            for count in counts:
                for n in threads:
                    row = run_case(url, series_id, count, n, args.seconds)
                    print(
                        f"{count:>7} {n:>7} {row['requests']:>9} {row['requests/s']:>9.0f}"
                        f" {row['numbers/s']:>11,.0f} {row['p50 ms']:>8.2f}"
                        f" {row['p99 ms']:>8.2f}",
                        flush=True,
                    )
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
