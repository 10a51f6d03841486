"""`--max-connections-per-ip`: the requests one client address has in progress at once.

A real server and raw sockets: a request whose body has not all come holds its
connection in the app (until the body timeout), as a slow or hostile client's would.
Other addresses are 127.0.0.2 on the loopback (Linux routes all of 127/8 there).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from cardseq.cli import main
from cardseq.errors import StoreError
from cardseq.server import create_app
from cardseq.server.peers import AddressSlots, default_limit
from cardseq.server.settings import DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS_PER_IP

from .server_helpers import Server
from .test_operations import served  # noqa: F401 (a fixture)
from .test_server import fails
from .test_server_failures import fail_with
from .test_server_inputs import Client

#: a generate whose body never comes whole: the app waits for it
STALLED = (
    b"POST /v2/card/generate HTTP/1.1\r\nHost: cardseq\r\nContent-Type: application/json\r\n"
    b"Content-Length: 100\r\n"
)


def connect(server: Server, source: str) -> socket.socket:
    sock = socket.socket()
    sock.settimeout(30)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", server.port))
    return sock


def hold(server: Server, source: str = "127.0.0.1", forwarded: str | None = None) -> socket.socket:
    """A connection whose request is in progress until it closes."""
    sock = connect(server, source)
    header = b"" if forwarded is None else f"X-Forwarded-For: {forwarded}\r\n".encode()
    sock.sendall(STALLED + header + b'\r\n{"count": ')
    return sock


def probe(server: Server, source: str = "127.0.0.1", forwarded: str | None = None) -> bytes:
    """The whole answer to a GET /healthz on a connection of its own."""
    header = b"" if forwarded is None else f"X-Forwarded-For: {forwarded}\r\n".encode()
    with connect(server, source) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: cardseq\r\n" + header)
        sock.sendall(b"Connection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def until(ask: Callable[[], bytes], status: bytes) -> bytes:
    """``ask()`` again until its answer has ``status``: a held request reaches the app
    in its own time (30 s at most)."""
    deadline = time.monotonic() + 30
    while not (answer := ask()).startswith(b"HTTP/1.1 " + status) and time.monotonic() < deadline:
        time.sleep(0.02)
    return answer


def test_an_address_past_its_limit_is_refused_until_one_of_its_requests_ends(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("CARDSEQ_MAX_CONNECTIONS_PER_IP", "3")  # as an operator would
    db = f"sqlite:///{tmp_path / 'p.db'}"
    with Server(tmp_path, db, "--no-auth", "--body-timeout", "600") as server:
        held = [hold(server) for _ in range(3)]
        others: list[socket.socket] = []
        try:
            refused = until(lambda: probe(server), b"429")
            assert refused.startswith(b"HTTP/1.1 429"), refused
            assert b"\r\nretry-after: 1\r\n" in refused.lower()
            assert b'"code":429' in refused
            assert b"at most 3 are served at once per address" in refused
            # another address is not counted with it, and has a limit of its own
            assert probe(server, "127.0.0.2").startswith(b"HTTP/1.1 200")
            others += [hold(server, "127.0.0.2") for _ in range(3)]
            assert until(lambda: probe(server, "127.0.0.2"), b"429").startswith(b"HTTP/1.1 429")
            # a held connection closes: its slot is free again, for one request
            held.pop().close()
            assert until(lambda: probe(server), b"200").startswith(b"HTTP/1.1 200")
            held.append(hold(server))
            assert until(lambda: probe(server), b"429").startswith(b"HTTP/1.1 429")
            assert probe(server, "127.0.0.2").startswith(b"HTTP/1.1 429")
        finally:
            for sock in held + others:
                sock.close()
        log = server.log()
    assert "Traceback" not in log


@pytest.mark.heavy
def test_the_limit_keys_on_the_forwarded_address_only_behind_a_named_proxy(
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path / 'f.db'}"
    for trusted in [(), ("--forwarded-allow-ips", "127.0.0.1")]:
        options = ("--no-auth", "--body-timeout", "600", "--max-connections-per-ip", "2")
        with Server(tmp_path, db, *options, *trusted) as server:
            held = [hold(server, forwarded=f"203.0.113.{n}") for n in (1, 1)]
            try:
                # a request as client 203.0.113.1 once both are in progress
                same = until(lambda: probe(server, forwarded="203.0.113.1"), b"429")
                assert same.startswith(b"HTTP/1.1 429")
                other = probe(server, forwarded="203.0.113.2")
            finally:
                for sock in held:
                    sock.close()
        if trusted:  # each forwarded address is a client of its own
            assert other.startswith(b"HTTP/1.1 200"), other
        else:  # the header is anyone's to write: all of them are the peer, 127.0.0.1
            assert other.startswith(b"HTTP/1.1 429"), other


def test_every_way_a_request_ends_gives_its_slot_back(tmp_path: Path, monkeypatch) -> None:
    """With one slot per address, requests that end in each way in turn (a bug's 500, a
    store failure, a refusal of the guard, a 404, a body that is not JSON) leave it free
    for the next."""
    fail_with(monkeypatch, RuntimeError("a bug"), "card")
    fail_with(monkeypatch, StoreError("store error: disk I/O error"), "series_details")
    app = create_app(f"sqlite:///{tmp_path / 's.db'}", users_file=None, max_connections_per_ip=1)
    client = Client(app)
    try:
        for _ in range(2):
            fails(client.get("/v2/card", params={"number": "1"}), 500, 500)
            fails(client.get("/v2/card/series/1"), 500, 500)
            fails(client.get("/nowhere"), 404, 404)
            fails(client.get("/v2/card?number=%FF"), 400, 400)
            fails(client.post("/v2/card/generate", content=b"["), 400, 400)
            assert client.get("/healthz").status_code == 200
    finally:
        client.close()


def test_address_slots() -> None:
    slots = AddressSlots(2)
    assert slots.take("a") and slots.take("a") and not slots.take("a")
    assert slots.take("b") and slots.held("b") == 1
    slots.give_back("a")
    assert slots.held("a") == 1 and slots.take("a") and not slots.take("a")
    for _ in range(2):
        slots.give_back("a")
    slots.give_back("b")
    assert slots._busy == {}  # an address without requests is forgotten
    with pytest.raises(ValueError, match="at least 1"):
        AddressSlots(0)


def test_the_default_is_a_tenth_of_the_connections(served, tmp_path) -> None:  # noqa: F811
    assert DEFAULT_MAX_CONNECTIONS_PER_IP == default_limit(DEFAULT_MAX_CONNECTIONS) == 100
    db = ["--no-auth", "--db", f"sqlite:///{tmp_path / 'd.db'}"]
    runner = CliRunner()
    assert runner.invoke(main, ["serve", *db]).exit_code == 0
    assert runner.invoke(main, ["serve", *db, "--max-connections", "50"]).exit_code == 0
    assert runner.invoke(main, ["serve", *db, "--max-connections", "5"]).exit_code == 0
    env = {"CARDSEQ_MAX_CONNECTIONS_PER_IP": "7"}
    assert runner.invoke(main, ["serve", *db], env=env).exit_code == 0
    given = runner.invoke(main, ["serve", *db, "--max-connections-per-ip", "9"], env=env)
    assert given.exit_code == 0
    assert [factory.max_connections_per_ip for factory, _ in served] == [100, 5, 1, 7, 9]
    for bad in ("0", "-1", "ten", "1_0", "1000001"):
        refused = runner.invoke(main, ["serve", *db, "--max-connections-per-ip", bad])
        assert refused.exit_code == 1 and "error 701: --max-connections-per-ip" in refused.output
