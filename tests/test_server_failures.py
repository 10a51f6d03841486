"""A 5xx names no host, port, database, role or driver text: the answer says what kind
of failure it was, the server's log says the rest. In process with a store that fails
on purpose, and on a real server whose PostgreSQL server is stopped."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import psycopg
import pytest

from cardseq.aio import AsyncCardService
from cardseq.errors import StoreError, StoreUnreachable
from cardseq.server import create_app

from .server_helpers import Server, add_user
from .test_server import USER, fails
from .test_server_inputs import Client

DSN = "postgresql://cardseq_app:s3cret-pw@db7.internal.example:6543/cards_prod"
#: what the DSN gives away: none of it may reach a client
SECRETS = ("db7.internal.example", "6543", "cards_prod", "cardseq_app", "s3cret-pw")

#: a request of each route that reads or writes the store
ROUTES = [
    ("POST", "/v2/card/series", {"code": "F", "cardGenerationConfiguration": {"length": 9}}),
    ("GET", "/v2/card/series/1", None),
    ("POST", "/v2/card/generate", {"seriesId": 1, "count": 1}),
    ("GET", "/v2/card?number=F00000000", None),
    ("PUT", "/v2/card", {"cardNumber": "F00000000", "statusLabel": "ACTIVE"}),
    ("GET", "/v2/card/statusLog?number=F00000000", None),
    ("GET", "/v2/card/generation/logs?seriesId=1", None),
]
#: the service's method behind each route
METHODS = (
    "create_series",
    "series_details",
    "generate",
    "card",
    "change_status",
    "status_log",
    "generation_log",
)


def fail_with(monkeypatch: pytest.MonkeyPatch, fault: BaseException, *methods: str) -> None:
    """Have the service's ``methods`` raise ``fault``."""

    async def failing(self: AsyncCardService, *args: object, **kwargs: object) -> None:
        raise fault

    for name in methods:  # on the class: the service's methods are looked up there first
        monkeypatch.setattr(AsyncCardService, name, failing)


def request(http: Client | httpx.Client, method: str, path: str, body: object) -> httpx.Response:
    if isinstance(http, Client):
        return http.run(http.http.request(method, path, json=body))
    return http.request(method, path, json=body)


def names_nothing(answer: httpx.Response, secrets: tuple[str, ...]) -> None:
    """The answer is a coded 5xx that gives none of ``secrets`` away (nor its headers)."""
    assert answer.status_code >= 500, answer.text
    text = answer.text + repr(answer.headers)
    assert not [s for s in secrets if s.lower() in text.lower()], text


@pytest.mark.parametrize(
    "fault",
    [
        StoreUnreachable(f"cannot connect to the PostgreSQL server at {DSN}: refused"),
        StoreError(f"store error: OperationalError: connection to {DSN} failed"),
        psycopg.OperationalError(f'connection to server at "db7.internal.example" failed: {DSN}'),
        RuntimeError(f"a bug while talking to {DSN}"),
    ],
    ids=["unreachable", "store-error", "driver-error", "bug"],
)
def test_a_failing_store_names_no_connection_details(tmp_path, monkeypatch, caplog, fault) -> None:
    """Whatever the store raises with its DSN in the message, every route answers 500
    (503 for a store that cannot be reached now) with code 500 and a message that names
    none of it; the log names all of it."""
    fail_with(monkeypatch, fault, *METHODS)
    client = Client(create_app(f"sqlite:///{tmp_path / 'f.db'}", users_file=None))
    status = 503 if isinstance(fault, StoreUnreachable) else 500
    try:
        for method, path, body in ROUTES:
            answer = request(client, method, path, body)
            message = fails(answer, status, 500)
            names_nothing(answer, SECRETS)
            if isinstance(fault, StoreError):
                assert f"the store failed ({type(fault).__name__})" in message
            else:
                assert message == "internal error"
    finally:
        client.close()
    assert all(secret in caplog.text for secret in SECRETS)
    assert caplog.text.count(DSN) >= len(ROUTES)  # a line per failed request


@pytest.mark.heavy
def test_a_stopped_postgres_server_is_named_in_the_log_only(tmp_path: Path, postgres_cluster):
    """An authenticated client of a server whose PostgreSQL server stopped gets 503 (and
    /healthz too) on every route, naming neither the database's host, port, name nor
    role; the server's log names them."""
    name = f"cardseq_stopped_{os.getpid()}"
    url = postgres_cluster.create_database(name)
    users = tmp_path / "users"
    add_user(users, *USER)
    secrets = ("127.0.0.1", str(postgres_cluster.port), name, "postgres")
    with Server(tmp_path, url, "--users-file", str(users), auth=USER) as server:
        with server.client() as http:
            created = http.post(
                "/v2/card/series",
                json={"code": "F", "cardGenerationConfiguration": {"prefix": "F", "length": 9}},
            )
            assert created.status_code == 200, created.text
            postgres_cluster.stop("fast")
            try:
                answers = [request(http, method, path, body) for method, path, body in ROUTES]
                health = http.get("/healthz")
            finally:
                postgres_cluster.start()
        log = server.log()
    for answer in answers:
        assert "the store failed (StoreUnreachable)" in fails(answer, 503, 500)
        names_nothing(answer, secrets)
    fails(health, 503, 500)
    names_nothing(health, secrets)
    failures = [line for line in log.splitlines() if "store failure answering" in line]
    assert len(failures) == len(ROUTES), log
    assert all(f"127.0.0.1:{postgres_cluster.port}/{name}" in line for line in failures), failures
