"""HTTP server load: `POST /v2/card/generate` against `GET /openapi.json`, with wrk.

    python benchmarks/http_server.py [--store sqlite|postgresql|both] [--seconds 5]
        [--rounds 3] [--connections 16] [--count 100] [--workers 1] [--no-access-log]
        [--postgres-url URL] [--baseline DIR] [--control]

Starts `cardseq serve` (Basic authentication on, as deployed; rate limits too high to
matter) on a SQLite file in a temporary directory, or on PostgreSQL (a throwaway
server unless `--postgres-url`), registers a series, and drives it with wrk, an
external load generator (Debian's `wrk` package), over `--connections` keep-alive
connections: in each round, first `GET /openapi.json` (the server's cheapest route: a
constant document behind the same guard and metrics), then `POST /v2/card/generate`
with `count` numbers (a Lua script sets the body and the Authorization header), each
for `--seconds`. Prints, for each route, the median over the rounds of requests/s and
of wrk's p50 and p99 latency (`--latency`), the ratio generate/openapi, and the non-2xx
answers and socket errors.

Targets (issue 12, SQLite, count 100, 16 connections, one worker): generate at least
0.7x the openapi rate, p99 at most 20 ms. Exits 1 if any answer was not a 2xx, a
socket failed, or a target was missed; 2 if wrk is not installed.

`--control` runs one more server beside this one, the same `cardseq serve` with one
change: its `AsyncCardService.generate` answers numbers formatted once at start and
never calls the store. Its generate is what the request around the reservation costs
(credentials, body, validation, encoding the answer): the ceiling of generate/openapi
on this stack, whatever the store does. A control, never a product figure.

`--baseline DIR` runs a second server from another checkout of cardseq (its `cardseq`
package imported from DIR, with this interpreter) beside this one, on the same kind of
store, the rounds of both interleaved: before/after figures measured side by side.
"""

from __future__ import annotations

import argparse
import base64
import os
import pathlib
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import httpx

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

USER, PASSWORD = "bench", "bench-password"

#: `--control`: `cardseq serve` whose generate answers preformatted numbers, reserving
#: nothing (the request's cost without the store's)
CONTROL = """
import functools, sys
from cardseq import CardSeries
from cardseq.aio import AsyncCardService
from cardseq.cli import main
from cardseq.service import Generated

@functools.cache
def numbers(count):
    series = CardSeries("CONTROL", prefix="Test09", suffix="end", length=23)
    return series.block(0, count).to_list("desc")

async def generate(self, series_id, count, status_label=None, *, request_id=None):
    return Generated(list(numbers(int(count))))

AsyncCardService.generate = generate
sys.argv[0] = "cardseq"
main()
"""
#: targets on SQLite (see the docstring)
MIN_RATIO, MAX_P99_MS = 0.7, 20.0

LUA = """
wrk.method = "{method}"
wrk.headers["Authorization"] = "{authorization}"
{body}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Served:
    """A running `cardseq serve`, its URL and the series made on it."""

    name: str
    url: str
    series_id: int
    process: subprocess.Popen[bytes]
    log: pathlib.Path


@contextmanager
def server(
    name: str,
    root: pathlib.Path,
    db: str,
    workdir: pathlib.Path,
    more: list[str],
    program: tuple[str, ...] = ("-m", "cardseq"),
) -> Iterator[Served]:
    """`cardseq serve` from the checkout at ``root``, until the block ends."""
    users = workdir / f"users-{name}"
    add = ["users", "add", USER, "--password-stdin", "--users-file", str(users)]
    subprocess.run(
        [sys.executable, "-m", "cardseq", *add],
        input=PASSWORD + "\n",
        text=True,
        cwd=root,
        check=True,
        capture_output=True,
    )
    port = free_port()
    log = workdir / f"server-{name}.log"
    options = ["--port", str(port), "--db", db, "--users-file", str(users)]
    options += ["--rate", "1000000000", "--burst", "1000000000"]
    options += more
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, *program, "serve", *options],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=root,  # `python -m cardseq` imports the package from the working directory
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process, log)
        created = httpx.post(
            f"{url}/v2/card/series",
            auth=(USER, PASSWORD),
            json={
                "code": f"BENCH{name.upper().replace('-', '')}"[:50],
                "cardGenerationConfiguration": {"prefix": "Test09", "suffix": "end", "length": 23},
            },
        )
        created.raise_for_status()
        yield Served(name, url, created.json()["entity"], process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_ready(url: str, process: subprocess.Popen[bytes], log: pathlib.Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/openapi.json", timeout=1).status_code == 200:
                time.sleep(0.5)  # every worker up
                return
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the server did not start within 30 s")


@dataclass
class Run:
    rate: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def parse_wrk(output: str) -> Run:
    """Requests/s, the p50 and p99 of ``--latency``'s distribution, the failures."""

    def find(pattern: str, default: str | None = None) -> str:
        match = re.search(pattern, output, re.M)
        if match is None:
            if default is not None:
                return default
            raise SystemExit(f"unexpected wrk output (no {pattern!r}):\n{output}")
        return match.group(1)

    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return Run(
        rate=float(find(r"^Requests/sec:\s+([\d.]+)")),
        p50_ms=_ms(find(r"^\s+50%\s+(\S+)")),
        p99_ms=_ms(find(r"^\s+99%\s+(\S+)")),
        requests=int(find(r"^\s+(\d+) requests in")),
        non_2xx=int(find(r"^\s+Non-2xx or 3xx responses: (\d+)", "0")),
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


def wrk(url: str, script: pathlib.Path, args: argparse.Namespace, seconds: float) -> Run:
    command = ["wrk", "--latency", "-t", str(args.threads), "-c", str(args.connections)]
    command += ["-d", f"{max(1, round(seconds))}s", "-s", str(script), url]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return parse_wrk(done.stdout)


def scripts(workdir: pathlib.Path, served: Served, count: int) -> dict[str, pathlib.Path]:
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    authorization = f"Basic {token}"
    body = f'{{"seriesId": {served.series_id}, "count": {count}}}'
    generate = workdir / f"generate-{served.name}.lua"
    generate.write_text(
        LUA.format(
            method="POST",
            authorization=authorization,
            body=f'wrk.headers["Content-Type"] = "application/json"\nwrk.body = \'{body}\'',
        )
    )
    openapi = workdir / f"openapi-{served.name}.lua"
    openapi.write_text(LUA.format(method="GET", authorization=authorization, body=""))
    return {"openapi": openapi, "generate": generate}


ROUTES = {"openapi": "/openapi.json", "generate": "/v2/card/generate"}


def measure(
    servers: list[Served], workdir: pathlib.Path, args: argparse.Namespace
) -> dict[str, dict[str, list[Run]]]:
    """Every server's routes, in turn, for each round (after a short warm-up)."""
    lua = {s.name: scripts(workdir, s, args.count) for s in servers}
    for s in servers:  # warm-up: connections, caches, the first SQLite pages
        for route, path in ROUTES.items():
            wrk(s.url + path, lua[s.name][route], args, 1)
    runs: dict[str, dict[str, list[Run]]] = {s.name: {r: [] for r in ROUTES} for s in servers}
    for round_ in range(args.rounds):
        for s in servers:
            for route, path in ROUTES.items():
                runs[s.name][route].append(
                    wrk(s.url + path, lua[s.name][route], args, args.seconds)
                )
        print(f"  round {round_ + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    return runs


def report(store: str, runs: dict[str, dict[str, list[Run]]], args: argparse.Namespace) -> bool:
    """Print the table; True when every answer was a 2xx and the targets hold."""
    ok = True
    print(
        f"\n{store}: {args.connections} connections, {args.threads} wrk threads, "
        f"count {args.count}, {args.workers} worker(s), {args.seconds:g} s x {args.rounds} "
        f"rounds per route, medians ({os.cpu_count()} CPUs)"
    )
    header = (
        f"  {'server':<9} {'route':<19} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'requests':>9} {'non-2xx':>8} {'sock err':>8}"
    )
    print(header)
    for name, routes in runs.items():
        rates = {}
        for route, path in ROUTES.items():
            done = routes[route]
            rate = statistics.median(r.rate for r in done)
            rates[route] = rate
            p99 = statistics.median(r.p99_ms for r in done)
            bad = sum(r.non_2xx for r in done)
            errors = sum(r.socket_errors for r in done)
            print(
                f"  {name:<9} {path:<19} {rate:>8,.0f} "
                f"{statistics.median(r.p50_ms for r in done):>7.2f} {p99:>7.2f} "
                f"{sum(r.requests for r in done):>9,} {bad:>8} {errors:>8}"
            )
            ok &= bad == 0 and errors == 0
        ratios = [
            g.rate / o.rate for g, o in zip(routes["generate"], routes["openapi"], strict=True)
        ]
        ratio = statistics.median(ratios)
        p99 = statistics.median(r.p99_ms for r in routes["generate"])
        line = f"  {name:<9} generate/openapi: {ratio:.2f}x (rounds: "
        line += ", ".join(f"{r:.2f}" for r in ratios) + ")"
        if name == "this" and store == "sqlite":
            met = ratio >= MIN_RATIO and p99 <= MAX_P99_MS
            line += f"; targets >= {MIN_RATIO}x and generate p99 <= {MAX_P99_MS:g} ms: " + (
                "met" if met else "MISSED"
            )
            ok &= met
        print(line)
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--seconds", type=float, default=5.0, help="per route and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk's threads")
    parser.add_argument("--count", type=int, default=100, help="numbers per generate request")
    parser.add_argument("--workers", type=int, default=1, help="`serve --workers`")
    parser.add_argument(
        "--no-access-log", action="store_true", help="`serve --no-access-log` (not the baseline)"
    )
    parser.add_argument("--postgres-url", help="a server to make the database on")
    parser.add_argument("--baseline", type=pathlib.Path, help="another checkout to compare")
    parser.add_argument(
        "--control", action="store_true", help="also a server whose generate reserves nothing"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print(
            "wrk is not installed: this benchmark drives the server with it "
            "(Debian: apt-get install wrk)",
            file=sys.stderr,
        )
        return 2
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    ok = True
    with tempfile.TemporaryDirectory(prefix="cardseq-http-") as tmp, ExitStack() as stack:
        workdir = pathlib.Path(tmp)
        os.chmod(workdir, 0o755)
        pg_server = args.postgres_url
        if "postgresql" in stores and not pg_server:
            from tests.pgcluster import PostgresCluster

            cluster = PostgresCluster()
            cluster.start()
            stack.callback(cluster.cleanup)
            pg_server = cluster.url
        checkouts = {"this": ROOT}
        if args.baseline:
            checkouts["baseline"] = args.baseline.resolve()
        if args.control:
            checkouts["control"] = ROOT
        for store in stores:
            with ExitStack() as running:
                servers = []
                for name, root in checkouts.items():
                    if store == "sqlite":
                        db = f"sqlite:///{workdir / f'{name}.db'}"
                    else:
                        from tests.pgcluster import create_database

                        db = create_database(pg_server, f"http_{name}_{os.getpid()}")
                    more = ["--workers", str(args.workers)] if args.workers > 1 else []
                    if args.no_access_log and name in ("this", "control"):
                        more.append("--no-access-log")
                    program = ("-c", CONTROL) if name == "control" else ("-m", "cardseq")
                    servers.append(
                        running.enter_context(server(name, root, db, workdir, more, program))
                    )
                ok &= report(store, measure(servers, workdir, args), args)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
