"""The HTTP server, end to end: real ``cardseq serve`` processes on 127.0.0.1, spoken to
with httpx, as a client of the reference API would.

One server (SQLite file, a users file made by ``cardseq users add``, a high rate limit)
serves most tests; a second one with a tiny rate limit shows 429. Schemathesis fuzzes
the app in process (tests/test_fuzz.py).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import random
import socket
import string
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from cardseq import CardSeries
from cardseq.server.auth import read_users
from cardseq.service import CardService
from cardseq.store import open_store

from .server_helpers import Server, add_user, cardseq

USER = ("alice", "correct horse battery staple")
JSON = {"content-type": "application/json"}
REFERENCE_RESPONSE = {
    "data": [
        "Test09000000000037end",
        "Test09000000000036end",
        "Test09000000000035end",
        "Test09000000000034end",
        "Test09000000000033end",
    ],
    "warnings": [],
    "errors": [],
}


# ---- servers ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("server")


@pytest.fixture(scope="module")
def users_file(workdir: Path) -> Path:
    path = workdir / "users"
    add_user(path, *USER)
    return path


@pytest.fixture(scope="module")
def server(workdir: Path, users_file: Path):
    with Server(
        workdir,
        f"sqlite:///{workdir / 's.db'}",
        "--users-file",
        str(users_file),
        "--rate",
        "100000",
        "--burst",
        "100000",
        auth=USER,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: Server):
    with server.client() as c:
        yield c


_codes = itertools.count()


def letters(n: int) -> str:
    """A distinct all-letter tag for each n: letter prefixes never overlap each other."""
    out = ""
    while True:
        n, r = divmod(n, 26)
        out = string.ascii_uppercase[r] + out
        if n == 0:
            return out


def new_series(client: httpx.Client, *, length: int = 16, **config) -> tuple[int, dict]:
    """Register a series with a fresh code and letter prefix; (id, configuration)."""
    tag = letters(next(_codes))
    config = {"prefix": f"Z{tag}", "length": length, **config}
    response = client.post(
        "/v2/card/series", json={"code": f"S{tag}", "cardGenerationConfiguration": config}
    )
    assert response.status_code == 200, response.text
    return response.json()["entity"], config


def generate(client: httpx.Client, series_id: int, count, **extra) -> httpx.Response:
    return client.post("/v2/card/generate", json={"seriesId": series_id, "count": count, **extra})


def fails(response: httpx.Response, status: int, code: int) -> str:
    """The answer is the error envelope with one error of ``code``; its message."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["data"] == [] and isinstance(body["warnings"], list), body
    assert [e["code"] for e in body["errors"]] == [code], body
    message = body["errors"][0]["message"]
    assert isinstance(message, str) and message
    return message


# ---- the reference sample -----------------------------------------------------------


def test_reference_sample_request(client: httpx.Client) -> None:
    """A series like the reference's (its numbers are Test09 + 12 digits + end, so length
    21), then the reference's sample request, answered exactly as in the reference."""
    details = {
        "name": "Test 09",
        "type": "DIGITAL",
        "expiryDays": 365,
        "maxActiveCardsPerCustomer": 1,
        "isActive": True,
        "trigger": {"event": "REGISTRATION"},
    }
    config = {"prefix": "Test09", "suffix": "end", "offset": 33, "length": 21, "method": "DEFAULT"}
    created = client.post(
        "/v2/card/series",
        json={
            "code": "TEST09",
            "cardGenerationEnabled": True,
            **details,
            "cardGenerationConfiguration": config,
        },
    )
    assert created.status_code == 200, created.text
    body = created.json()
    assert body["warnings"] == [] and body["errors"] == [] and type(body["entity"]) is int
    series_id = body["entity"]

    response = client.post(
        "/v2/card/generate",
        headers=JSON,
        content=json.dumps({"seriesId": series_id, "count": 5, "statusLabel": "NOT_ISSUED"}),
    )
    assert response.status_code == 200
    assert response.json() == REFERENCE_RESPONSE

    shown = client.get(f"/v2/card/series/{series_id}")
    assert shown.status_code == 200
    assert shown.json() == {
        "id": series_id,
        "code": "TEST09",
        "cardGenerationEnabled": True,
        "cardGenerationConfiguration": config,
        **details,
    }

    log = client.get("/v2/card/generation/logs", params={"seriesId": series_id}).json()
    assert [(e["start"], e["count"], e["firstNumber"], e["lastNumber"]) for e in log["data"]] == [
        (0, 5, "Test09000000000033end", "Test09000000000037end")
    ]


def test_series_path_with_a_slash_and_the_table_spelling(client: httpx.Client) -> None:
    """The reference writes POST /v2/card/series/ and, in its table, seriesID."""
    response = client.post(
        "/v2/card/series/",
        json={"code": "SLASHED", "cardGenerationConfiguration": {"prefix": "SLASH", "length": 10}},
    )
    assert response.status_code == 200, response.text
    series_id = response.json()["entity"]
    response = client.post("/v2/card/generate", json={"seriesID": series_id, "count": 2})
    assert response.json()["data"] == ["SLASH00001", "SLASH00000"]
    both = {"seriesId": series_id, "seriesID": series_id, "count": 1}
    assert client.post("/v2/card/generate", json=both).json()["data"] == ["SLASH00002"]
    fails(client.post("/v2/card/generate", json={**both, "seriesID": series_id + 1}), 400, 3000)
    fails(client.get("/v2/card/series/"), 404, 3000)


def test_unknown_fields_are_ignored_and_named(client: httpx.Client) -> None:
    response = client.post(
        "/v2/card/series",
        json={
            "code": "WARNED",
            "colour": "red",
            "cardGenerationConfiguration": {"prefix": "WARN", "length": 10, "checksum": 1},
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["warnings"] == [
        {"code": 0, "message": "field 'colour' is not known and was ignored"},
        {
            "code": 0,
            "message": "field 'cardGenerationConfiguration.checksum' is not known and was ignored",
        },
    ]
    assert "colour" not in client.get(f"/v2/card/series/{body['entity']}").json()
    response = generate(client, body["entity"], 1, priority="high")
    assert response.status_code == 200
    assert response.json()["warnings"] == [
        {"code": 0, "message": "field 'priority' is not known and was ignored"}
    ]
    # an error answer still names them
    response = generate(client, body["entity"], 0, priority="high")
    assert response.status_code == 400 and len(response.json()["warnings"]) == 1
    # null is the same as absent
    response = client.post(
        "/v2/card/generate", json={"seriesId": body["entity"], "count": 1, "statusLabel": None}
    )
    assert response.status_code == 200 and response.json()["warnings"] == []


# ---- error codes --------------------------------------------------------------------


def _series_body(**config) -> dict:
    tag = letters(next(_codes))
    return {
        "code": f"E{tag}",
        "cardGenerationConfiguration": {"prefix": f"Y{tag}", "length": 16, **config},
    }


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"code": None}, 3000),
        ({"code": 17}, 3000),
        ({"code": "12345"}, 3000),
        ({"code": "bad code!"}, 3000),
        ({"type": "PLASTIC"}, 3000),
        ({"name": 5}, 3000),
        ({"expiryDays": -1}, 3000),
        ({"expiryDays": 1.5}, 3000),
        ({"maxActiveCardsPerCustomer": True}, 3000),
        ({"isActive": "yes"}, 3000),
        ({"cardGenerationEnabled": 1}, 3000),
        ({"trigger": 5}, 3000),
        ({"cardGenerationConfiguration": "GOLD"}, 3000),
        ({"cardGenerationConfiguration": None}, 3005),
        ({"method": "SHUFFLE"}, 3000),
        ({"method": 1}, 3000),
        ({"length": None}, 3005),
        ({"length": "16"}, 3005),
        ({"length": True}, 3005),
        ({"length": 16.0}, 3005),
        ({"prefix": "ABCDEFGH", "suffix": "IJKLMNOP"}, 3005),
        ({"prefix": "Te-st"}, 3022),
        ({"prefix": 12}, 3022),
        ({"prefix": "A" * 51}, 3022),
        ({"suffix": "e nd"}, 3023),
        ({"suffix": []}, 3023),
        ({"suffix": "B" * 51}, 3023),
        ({"length": 151}, 3024),
        ({"length": 4}, 3028),
        ({"length": -1}, 3028),
        ({"offset": -1}, 3047),
        ({"offset": 1.5}, 3047),
        ({"offset": "3"}, 3047),
        ({"offset": 10**30}, 3047),
    ],
)
def test_series_errors(client: httpx.Client, change: dict, code: int) -> None:
    """Each field's wrong type or value: 400 with the field's own code, nothing created."""
    body = _series_body()
    config = body["cardGenerationConfiguration"]
    for key, value in change.items():
        if key in {"prefix", "suffix", "offset", "length", "method"}:
            config[key] = value
        else:
            body[key] = value
    body = {k: v for k, v in body.items() if not (k == "code" and v is None)}
    fails(client.post("/v2/card/series", json=body), 400, code)


def test_series_exists_and_overlap(client: httpx.Client) -> None:
    body = {"code": "TWICE", "cardGenerationConfiguration": {"prefix": "12", "length": 19}}
    assert client.post("/v2/card/series", json=body).status_code == 200
    other = {"prefix": "99", "length": 19}
    fails(
        client.post(
            "/v2/card/series", json={"code": "TWICE", "cardGenerationConfiguration": other}
        ),
        400,
        3002,
    )
    # prefix 123 at the same length can give the numbers of prefix 12: 3006
    fails(
        client.post(
            "/v2/card/series",
            json={
                "code": "OVERLAP",
                "cardGenerationConfiguration": {"prefix": "123", "length": 19},
            },
        ),
        400,
        3006,
    )


@pytest.mark.parametrize(
    "count", ["missing", None, True, False, 1.5, 5.0, "5", -1, 0, [5], {"n": 5}]
)
def test_count_invalid(client: httpx.Client, count) -> None:
    series_id, _ = new_series(client)
    body = {"seriesId": series_id}
    if count != "missing":
        body["count"] = count
    message = fails(client.post("/v2/card/generate", json=body), 400, 3025)
    assert "count" in message


@pytest.mark.parametrize("count", [100_001, 10**30])
def test_count_above_the_maximum(client: httpx.Client, count: int) -> None:
    series_id, _ = new_series(client)
    fails(generate(client, series_id, count), 400, 3026)
    assert (
        client.get("/v2/card/generation/logs", params={"seriesId": series_id}).json()["data"] == []
    )


@pytest.mark.parametrize("series_id", ["missing", 999_999, 0, -3, "1", 1.0, True, 2**63, 10**40])
def test_generate_unknown_or_invalid_series(client: httpx.Client, series_id) -> None:
    """The body names the series, so an unknown one is a 400 (not a 404)."""
    body = {"count": 1}
    if series_id != "missing":
        body["seriesId"] = series_id
    fails(client.post("/v2/card/generate", json=body), 400, 3000)


def test_status_labels_for_generation(client: httpx.Client, server: Server) -> None:
    """Unknown or malformed label: 3017; a label of another status: 3018."""
    series_id, _ = new_series(client)
    fails(generate(client, series_id, 1, statusLabel="NO_SUCH_LABEL"), 400, 3017)
    fails(generate(client, series_id, 1, statusLabel="not a label!"), 400, 3017)
    fails(generate(client, series_id, 1, statusLabel=7), 400, 3017)
    fails(generate(client, series_id, 1, statusLabel="ACTIVE"), 400, 3018)
    with open_store(server.db) as store:
        service = CardService(store)
        service.add_label("HANDED_OUT", "ACTIVE")
        service.add_label("PRINTED", "NOT_ISSUED")
    fails(generate(client, series_id, 1, statusLabel="HANDED_OUT"), 400, 3018)
    response = generate(client, series_id, 2, statusLabel="PRINTED")
    assert response.status_code == 200, response.text
    card = client.get("/v2/card", params={"number": response.json()["data"][0]}).json()
    assert (card["status"], card["statusLabel"]) == ("NOT_ISSUED", "PRINTED")
    log = client.get("/v2/card/generation/logs", params={"seriesId": series_id}).json()
    assert [e["statusLabel"] for e in log["data"]] == ["PRINTED"]


def test_request_id_makes_a_retry_safe(client: httpx.Client) -> None:
    """The same requestId again answers the same numbers; with another count it is 712
    (a conflict with what the store holds)."""
    series_id, _ = new_series(client)
    first = generate(client, series_id, 3, requestId="order-42")
    assert first.status_code == 200
    assert generate(client, series_id, 3, requestId="order-42").json() == first.json()
    fails(generate(client, series_id, 4, requestId="order-42"), 400, 712)
    fails(generate(client, series_id, 4, requestId="x" * 201), 400, 701)
    fails(generate(client, series_id, 4, requestId=17), 400, 701)
    fails(generate(client, series_id, 4, requestId="tab\there"), 400, 701)
    log = client.get("/v2/card/generation/logs", params={"seriesId": series_id}).json()
    assert [(e["count"], e["requestId"]) for e in log["data"]] == [(3, "order-42")]


def test_series_exhausted(client: httpx.Client) -> None:
    """Capacity 100 (two counter digits): a request that does not fit reserves nothing."""
    series_id, _ = new_series(client, length=5, prefix="QXZ")
    assert len(generate(client, series_id, 60).json()["data"]) == 60
    fails(generate(client, series_id, 41), 400, 702)
    data = generate(client, series_id, 40).json()["data"]
    assert data[0] == "QXZ99" and data[-1] == "QXZ60"
    fails(generate(client, series_id, 1), 400, 702)


def test_generation_disabled(client: httpx.Client, server: Server) -> None:
    body = _series_body()
    body["cardGenerationEnabled"] = False
    series_id = client.post("/v2/card/series", json=body).json()["entity"]
    assert client.get(f"/v2/card/series/{series_id}").json()["cardGenerationEnabled"] is False
    fails(generate(client, series_id, 1), 400, 703)

    series_id, _ = new_series(client)
    assert generate(client, series_id, 1).status_code == 200
    cardseq("series", "disable", str(series_id), "--db", server.db)
    fails(generate(client, series_id, 1), 400, 703)
    cardseq("series", "enable", str(series_id), "--db", server.db)
    assert generate(client, series_id, 1).status_code == 200


# ---- cards and their statuses -------------------------------------------------------


def test_card_status_errors(client: httpx.Client) -> None:
    series_id, config = new_series(client, length=10)
    number = generate(client, series_id, 1).json()["data"][0]
    never = CardSeries("X", prefix=config["prefix"], length=10).format(5)

    # A query that names a card that does not exist: 404; a body that does: 400.
    fails(client.get("/v2/card", params={"number": never}), 404, 3010)
    fails(client.get("/v2/card", params={"number": "not-a-number"}), 404, 3010)
    fails(client.get("/v2/card/statusLog", params={"number": never}), 404, 3010)
    fails(client.get("/v2/card"), 400, 3010)
    fails(client.put("/v2/card", json={"cardNumber": never, "statusLabel": "ACTIVE"}), 400, 3010)
    fails(client.put("/v2/card", json={"statusLabel": "ACTIVE"}), 400, 3010)
    fails(client.put("/v2/card", json={"cardNumber": 5, "statusLabel": "ACTIVE"}), 400, 3010)
    fails(client.put("/v2/card", json={"cardNumber": number}), 400, 3017)
    fails(client.put("/v2/card", json={"cardNumber": number, "statusLabel": "GONE"}), 400, 3017)
    fails(
        client.put("/v2/card", json={"cardNumber": number, "statusLabel": "NOT_ISSUED"}), 400, 3012
    )
    fails(
        client.put("/v2/card", json={"cardNumber": number, "statusLabel": "SUSPENDED"}), 400, 3038
    )
    fails(
        client.put(
            "/v2/card", json={"cardNumber": number, "statusLabel": "ACTIVE", "customerId": ["c1"]}
        ),
        400,
        400,
    )

    card = client.get("/v2/card", params={"number": number}).json()
    assert card["status"] == "NOT_ISSUED" and card["customerId"] is None
    assert client.get("/v2/card/statusLog", params={"number": number}).json()["data"] == []

    issued = client.put(
        "/v2/card", json={"cardNumber": number, "statusLabel": "ACTIVE", "customerId": 1234}
    )
    assert issued.status_code == 200, issued.text
    entity = issued.json()["entity"]
    assert (entity["status"], entity["customerId"]) == ("ACTIVE", "1234")
    fails(client.put("/v2/card", json={"cardNumber": number, "statusLabel": "ACTIVE"}), 400, 3012)
    assert (
        client.put("/v2/card", json={"cardNumber": number, "statusLabel": "EXPIRED"}).status_code
        == 200
    )
    fails(client.put("/v2/card", json={"cardNumber": number, "statusLabel": "DELETED"}), 400, 3038)
    log = client.get("/v2/card/statusLog", params={"number": number}).json()["data"]
    assert [(e["fromStatus"], e["toStatus"], e["customerId"]) for e in log] == [
        ("NOT_ISSUED", "ACTIVE", "1234"),
        ("ACTIVE", "EXPIRED", "1234"),
    ]


# ---- the HTTP layer -----------------------------------------------------------------


def test_authentication(server: Server) -> None:
    """Missing, wrong, unknown-user and non-Basic credentials: 401 with the challenge."""
    path = "/v2/card/series/1"
    attempts = [None, (USER[0], "wrong"), ("mallory", USER[1]), ("", "")]
    for auth in attempts:
        with server.client(auth=auth) as c:
            if auth is None:
                c.auth = None
            response = c.get(path)
        fails(response, 401, 401)
        assert response.headers["www-authenticate"] == 'Basic realm="cardseq"'
    for header in ["Bearer abc", "Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode()]:
        response = httpx.get(server.url + path, headers={"Authorization": header})
        fails(response, 401, 401)
        assert response.headers["www-authenticate"] == 'Basic realm="cardseq"'
    # the schema needs no credentials
    assert httpx.get(server.url + "/openapi.json").status_code == 200


def test_users_file_changes_apply_at_once(server: Server, users_file: Path) -> None:
    """A user added to a running server's file can log in; a replaced password stops
    working at once, even though successful checks are cached."""
    with server.client(auth=("carol", "first")) as c:
        fails(c.get("/v2/card/generation/logs?seriesId=1"), 401, 401)
        add_user(users_file, "carol", "first")
        assert c.get("/v2/card/generation/logs?seriesId=1").status_code in (200, 404)
        add_user(users_file, "carol", "second")
        fails(c.get("/v2/card/generation/logs?seriesId=1"), 401, 401)
    with server.client(auth=("carol", "second")) as c:
        assert c.get("/v2/card/generation/logs?seriesId=1").status_code in (200, 404)
    assert users_file.stat().st_mode & 0o777 == 0o600
    assert set(read_users(str(users_file))) == {"alice", "carol"}


def test_a_broken_users_file_refuses_everyone_until_fixed(workdir: Path) -> None:
    """A users file that becomes malformed, undecodable or disappears lets nobody in
    (503, even a user whose password was cached, for as long as it stays so) and is
    logged once per change, naming the file and the line; once it is fixed, its users
    get in again, and only they."""
    path = workdir / "users-fail-closed"
    add_user(path, *USER)
    alice_only = path.read_text()
    add_user(path, "dave", "daves password")
    route = "/v2/card/series/1"
    with Server(workdir, f"sqlite:///{workdir / 'closed.db'}", "--users-file", str(path)) as srv:
        with srv.client(auth=("dave", "daves password")) as dave:
            fails(dave.get(route), 404, 3000)  # in, and his password is now cached
            path.write_text(alice_only + "dave:plaintext\n")
            for _ in range(3):
                fails(dave.get(route), 503, 503)
            with srv.client(auth=USER) as alice:
                fails(alice.get(route), 503, 503)
            fails(httpx.get(srv.url + route), 503, 503)
            assert srv.log().count(f"users file {str(path)!r}, line 2 (user 'dave')") == 1

            path.write_bytes(b"\xff" + alice_only.encode())  # not UTF-8: never the old users
            for _ in range(3):
                fails(dave.get(route), 503, 503)
            assert srv.log().count(f"{str(path)!r} is not UTF-8: byte 0xff on line 1") == 1

            path.write_text(alice_only)  # fixed, without dave
            fails(dave.get(route), 401, 401)
            with srv.client(auth=USER) as alice:
                fails(alice.get(route), 404, 3000)
                path.unlink()
                for _ in range(3):
                    fails(alice.get(route), 503, 503)
                assert srv.log().count(f"{str(path)!r} cannot be read: No such file") == 1
                path.write_text(alice_only)
                fails(alice.get(route), 404, 3000)
    assert "Traceback" not in srv.log()


def test_users_add_refuses_bad_input(workdir: Path) -> None:
    path = workdir / "other-users"
    for name, password in [("", "pw"), ("a:b", "pw"), ("x" * 65, "pw"), ("bob", "")]:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "cardseq",
                "users",
                "add",
                name,
                "--users-file",
                str(path),
                "--password-stdin",
            ],
            input=password + "\n",
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 1 and result.stderr.startswith("error "), result.stderr
    assert not path.exists()


def test_serve_needs_a_users_file_or_no_auth(workdir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cardseq", "serve", "--db", f"sqlite:///{workdir / 'never.db'}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and "--no-auth" in result.stderr


def test_a_malformed_users_file_stops_the_server(workdir: Path) -> None:
    path = workdir / "broken-users"
    path.write_text("alice:plaintext-password\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cardseq",
            "serve",
            "--users-file",
            str(path),
            "--db",
            f"sqlite:///{workdir / 'never.db'}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "line 1" in result.stderr and "Traceback" not in result.stderr


def test_no_auth_is_open_and_says_so(workdir: Path) -> None:
    with Server(workdir, f"sqlite:///{workdir / 'open.db'}", "--no-auth") as open_server:
        response = httpx.post(
            open_server.url + "/v2/card/series",
            json={"code": "OPEN", "cardGenerationConfiguration": {"prefix": "OPEN", "length": 9}},
        )
        assert response.status_code == 200, response.text
        document = httpx.get(open_server.url + "/openapi.json").json()
        assert "security" not in document
        assert "401" not in document["paths"]["/v2/card/generate"]["post"]["responses"]
    assert "warning: --no-auth" in open_server.log()


def test_not_found(client: httpx.Client) -> None:
    fails(client.get("/v2/nothing"), 404, 404)
    for text in ["999999", "abc", "0", "-1", "1.5", "\u0661", str(2**63), "9" * 40]:
        fails(client.get(f"/v2/card/series/{text}"), 404, 3000)
    fails(client.get("/v2/card/generation/logs", params={"seriesId": 999_999}), 404, 3000)
    fails(client.get("/v2/card/generation/logs", params={"seriesId": "9" * 30}), 404, 3000)
    fails(client.get("/v2/card/generation/logs", params={"seriesId": "x"}), 400, 3000)
    fails(client.get("/v2/card/generation/logs"), 400, 3000)
    fails(client.delete("/v2/card"), 405, 405)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{",
        b'{"count": 1,}',
        b"[1, 2]",
        b'"text"',
        b"5",
        b"null",
        b'{"seriesId": NaN, "count": 1}',
        b'{"count": 1e999}',
        b"[" * 50_000,
        b'{"count": ' + b"9" * 5000 + b"}",
        b"\xff\xfe{}",
    ],
)
def test_bodies_that_are_not_a_json_object(client: httpx.Client, content: bytes) -> None:
    for path in ["/v2/card/generate", "/v2/card/series"]:
        fails(client.post(path, content=content, headers=JSON), 400, 400)
    fails(client.put("/v2/card", content=content, headers=JSON), 400, 400)


def test_content_type_must_be_json(client: httpx.Client) -> None:
    series_id, _ = new_series(client)
    body = json.dumps({"seriesId": series_id, "count": 1})
    for content_type in ["text/plain", "application/x-www-form-urlencoded"]:
        fails(
            client.post("/v2/card/generate", content=body, headers={"content-type": content_type}),
            415,
            415,
        )
    for content_type in ["application/json; charset=utf-8", "application/merge-patch+json"]:
        response = client.post(
            "/v2/card/generate", content=body, headers={"content-type": content_type}
        )
        assert response.status_code == 200, response.text


def test_body_size_limit(client: httpx.Client) -> None:
    """Over 64 KiB: 413, whether the size is declared or only seen while reading, and
    the client gets to read it."""
    series_id, _ = new_series(client)
    padding = "x" * (64 * 1024)
    body = json.dumps({"seriesId": series_id, "count": 1, "padding": padding}).encode()
    fails(client.post("/v2/card/generate", content=body, headers=JSON), 413, 413)

    def chunks():
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    # the answer comes after the server read the rest: were the connection closed while
    # the client still sends, the reset would often destroy the 413 before it is read
    for _ in range(50):
        fails(client.post("/v2/card/generate", content=body, headers=JSON), 413, 413)
        fails(client.post("/v2/card/generate", content=chunks(), headers=JSON), 413, 413)
    fails(client.post("/v2/card/series", content=body, headers=JSON), 413, 413)
    # just under the limit is fine
    small = {"seriesId": series_id, "count": 1, "padding": ""}
    small["padding"] = "x" * (64 * 1024 - len(json.dumps(small)))
    response = client.post("/v2/card/generate", content=json.dumps(small), headers=JSON)
    assert response.status_code == 200, response.text


@pytest.mark.heavy
def test_rate_limit(workdir: Path, users_file: Path) -> None:
    """An empty bucket: 429 with Retry-After in whole seconds; other users go on."""
    add_user(users_file, "bob", "bobs password")
    with Server(
        workdir,
        f"sqlite:///{workdir / 'tiny.db'}",
        "--users-file",
        str(users_file),
        "--rate",
        "0.2",
        "--burst",
        "3",
        auth=USER,
    ) as tiny:
        with tiny.client() as alice:
            answers = [alice.get("/v2/card/series/1") for _ in range(4)]
        assert [r.status_code for r in answers[:3]] == [404] * 3
        message = fails(answers[3], 429, 429)
        assert "retry" in message
        assert int(answers[3].headers["retry-after"]) >= 1
        with tiny.client(auth=("bob", "bobs password")) as bob:
            fails(bob.get("/v2/card/series/1"), 404, 3000)
        # wrong passwords are limited by address, before any scrypt is spent on them
        with tiny.client(auth=("mallory", "guess")) as mallory:
            codes = [mallory.get("/v2/card/series/1").status_code for _ in range(4)]
        assert 429 in codes and set(codes) <= {401, 429}


@pytest.mark.heavy
def test_forwarded_for_is_trusted_only_from_named_proxies(workdir: Path, users_file: Path) -> None:
    """Password guesses that each claim another X-Forwarded-For are still limited by
    the peer's address, unless the peer is a proxy named by --forwarded-allow-ips."""
    for trusted in [(), ("--forwarded-allow-ips", "127.0.0.1")]:
        with Server(
            workdir,
            f"sqlite:///{workdir / 'forwarded.db'}",
            "--users-file",
            str(users_file),
            "--rate",
            "0.2",
            "--burst",
            "3",
            *trusted,
        ) as srv:
            codes = [
                httpx.get(
                    srv.url + "/v2/card/series/1",
                    auth=("mallory", "guess"),
                    headers={"X-Forwarded-For": f"203.0.113.{n}"},
                    timeout=60,
                ).status_code
                for n in range(40)
            ]
        if trusted:  # each guess comes from another client, with a bucket of its own
            assert codes == [401] * 40
        else:  # one client: 3 checks, then 429 (0.2 more a second)
            assert set(codes) <= {401, 429} and codes.count(429) >= 30, codes


def _raw_request(server: Server, head: bytes, body: bytes) -> socket.socket:
    """A connection that sent ``head`` (without its blank line) and a partial ``body``."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.sendall(head + b"Content-Type: application/json\r\n\r\n" + body)
    return sock


def _wait_for(server: Server, text: str, count: int, timeout: float = 30.0) -> str:
    """The server's log once it holds ``text`` ``count`` times (at most ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while (log := server.log()).count(text) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return log


@pytest.mark.heavy
def test_bodies_that_stall_or_stop_halfway(workdir: Path) -> None:
    """A body that does not come within --body-timeout is a 408; a client that leaves
    halfway through its body is one line in the log, without a traceback."""
    head = b"POST /v2/card/generate HTTP/1.1\r\nHost: cardseq\r\nContent-Length: 100\r\n"
    with Server(
        workdir, f"sqlite:///{workdir / 'stall.db'}", "--no-auth", "--body-timeout", "1"
    ) as srv:
        with _raw_request(srv, head, b'{"count": ') as sock:
            answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b'"code":408' in answer
        for _ in range(3):
            _raw_request(srv, head, b'{"count": ').close()
        log = _wait_for(srv, "left before sending its whole request", 3)
    assert log.count("left before sending its whole request: POST /v2/card/generate") == 3
    assert "Traceback" not in log and "internal error" not in log


@pytest.mark.heavy
@pytest.mark.parametrize("cap", [(), ("--max-connections", "100")])
def test_slow_clients_cannot_starve_the_server(workdir: Path, cap: tuple[str, ...]) -> None:
    """300 connections that send half their headers and stall, against a server that may
    hold 200 files: a new client is answered once the header timeout closed them, and
    the log stays short. With the default cap the process runs out of descriptors (the
    accept loop backs off); with a cap below the limit it never does."""
    timeout = 2.0
    with Server(
        workdir,
        f"sqlite:///{workdir / 'slow.db'}",
        "--no-auth",
        "--header-timeout",
        str(timeout),
        *cap,
        max_files=200,
    ) as srv:
        stalled = []
        try:
            deadline = time.monotonic() + 20
            while len(stalled) < 300 and time.monotonic() < deadline:
                sock = socket.socket()
                stalled.append(sock)
                sock.settimeout(1)
                try:
                    sock.connect(("127.0.0.1", srv.port))
                    sock.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: cardseq\r\n")
                except OSError:
                    pass  # the accept queue is full too: this one is stalled before it starts
            started = time.monotonic()
            response = httpx.get(srv.url + "/openapi.json", timeout=60)
            waited = time.monotonic() - started
        finally:
            for sock in stalled:
                sock.close()
    assert response.status_code == 200
    # the stalled connections ahead of it are closed after `timeout`, in two rounds
    assert waited < 3 * timeout + 10, waited
    log = srv.log()
    assert len(log) < 20_000 and "Traceback" not in log, log[-3000:]
    if cap:
        assert "Too many open files" not in log


def test_faults_are_500_and_logged(tmp_path: Path, caplog, monkeypatch) -> None:
    """A store failure is a 500 with code 500 naming its kind, its message in the log; a
    bug is a 500 "internal error" with its traceback in the log. In process (a fault
    cannot be caused from outside)."""
    from cardseq.aio import AsyncCardService
    from cardseq.errors import StoreError
    from cardseq.server import create_app

    app = create_app(f"sqlite:///{tmp_path / 'faults.db'}", users_file=None)

    async def store_down(self, *args, **kwargs):
        raise StoreError("store error: OperationalError: disk I/O error")

    async def bug(self, *args, **kwargs):
        raise RuntimeError("a bug")

    # on the class: the service's methods are looked up there first
    monkeypatch.setattr(AsyncCardService, "generate", store_down)
    monkeypatch.setattr(AsyncCardService, "card", bug)

    async def requests() -> None:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://cardseq"
            ) as http,
        ):
            series = await http.post(
                "/v2/card/series",
                json={"code": "F", "cardGenerationConfiguration": {"prefix": "F", "length": 9}},
            )
            assert series.status_code == 200
            message = fails(
                await http.post(
                    "/v2/card/generate", json={"seriesId": series.json()["entity"], "count": 1}
                ),
                500,
                500,
            )
            assert "StoreError" in message and "disk I/O error" not in message
            answer = await http.get("/v2/card", params={"number": "F00000000"})
            assert fails(answer, 500, 500) == "internal error"

    asyncio.run(requests())
    assert any(r.exc_info and "a bug" in str(r.exc_info[1]) for r in caplog.records)
    assert "disk I/O error" in caplog.text  # the store's message: in the log only


# ---- concurrency --------------------------------------------------------------------


@pytest.mark.heavy
def test_concurrent_clients_never_get_the_same_number(server: Server, client: httpx.Client) -> None:
    """20 clients, 15 requests each, random counts: every number once, and the ledger
    holds exactly the blocks that were answered."""
    series_id, config = new_series(client, length=12)
    definition = CardSeries("X", prefix=config["prefix"], length=12)
    answered: list[list[str]] = []
    failures: list[str] = []
    lock = threading.Lock()

    def work(seed: int) -> None:
        rng = random.Random(seed)
        with server.client() as own:
            for _ in range(15):
                response = generate(own, series_id, rng.randint(1, 500))
                with lock:
                    if response.status_code != 200:
                        failures.append(response.text)
                    else:
                        answered.append(response.json()["data"])

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(answered) == 300
    numbers = [n for block in answered for n in block]
    assert len(numbers) == len(set(numbers))
    # each answer is a run of consecutive numbers, newest first
    blocks = Counter()
    for block in answered:
        indexes = [definition.parse(n) for n in block]
        assert indexes == list(range(indexes[0], indexes[0] - len(block), -1))
        blocks[(block[-1], block[0], len(block))] += 1
    answer = client.get("/v2/card/generation/logs", params={"seriesId": series_id, "limit": 1000})
    log = answer.json()["data"]
    assert answer.json()["next"] is None  # 300 rows: one page
    assert Counter((e["firstNumber"], e["lastNumber"], e["count"]) for e in log) == blocks
    # and together they are the indexes 0 .. total - 1, no gap, no overlap
    assert sorted(definition.parse(n) for n in numbers) == list(range(len(numbers)))


# ---- a card's life, against a model of the rules ------------------------------------

ALLOWED = {
    "NOT_ISSUED": {"ACTIVE"},
    "ACTIVE": {"SUSPENDED", "EXPIRED", "DELETED"},
    "SUSPENDED": {"ACTIVE", "EXPIRED", "DELETED"},
    "EXPIRED": set(),
    "DELETED": set(),
}
LABELS = {status: status for status in ALLOWED} | {"BLOCKED": "SUSPENDED", "REISSUED": "ACTIVE"}


@pytest.fixture(scope="module")
def lifecycle_series(server: Server, client: httpx.Client) -> int:
    with open_store(server.db) as store:
        service = CardService(store)
        for label in ("BLOCKED", "REISSUED"):
            service.add_label(label, LABELS[label])
    series_id, _ = new_series(client, length=14)
    return series_id


@pytest.mark.heavy
def test_card_lifecycle_against_a_model(client: httpx.Client, lifecycle_series: int) -> None:
    """Random status changes through PUT /v2/card: after every step the server and the
    model agree on each card's status, label and customer, and on its status log."""

    outcomes: Counter[str] = Counter()
    CUSTOMERS = st.one_of(st.none(), st.from_regex(r"C[0-9]{1,6}", fullmatch=True))

    class Lifecycle(RuleBasedStateMachine):
        cards = Bundle("cards")

        def __init__(self) -> None:
            super().__init__()
            self.status: dict[str, str] = {}
            self.label: dict[str, str] = {}
            self.customer: dict[str, str | None] = {}
            self.history: dict[str, list[tuple[str, str, str, str | None]]] = {}

        @initialize(target=cards)
        def generate_cards(self):
            response = generate(client, lifecycle_series, 3)
            assert response.status_code == 200, response.text
            numbers = response.json()["data"]
            for number in numbers:
                self.status[number] = self.label[number] = "NOT_ISSUED"
                self.customer[number] = None
                self.history[number] = []
            return multiple(*numbers)

        @rule(card=cards, data=st.data(), customer=CUSTOMERS)
        def allowed_change(self, card, data, customer):
            """A label the rules allow from the card's status (most random labels are
            refused, so this takes cards deep into their lives)."""
            allowed = sorted(n for n, s in LABELS.items() if s in ALLOWED[self.status[card]])
            label = data.draw(st.sampled_from(allowed or sorted(LABELS)), "label")
            self.change(card, label, customer)

        @rule(card=cards, label=st.sampled_from(sorted(LABELS)), customer=CUSTOMERS)
        def change(self, card, label, customer):
            body = {"cardNumber": card, "statusLabel": label}
            if customer is not None:
                body["customerId"] = customer
            response = client.put("/v2/card", json=body)
            current, target = self.status[card], LABELS[label]
            if target == current:
                fails(response, 400, 3012)
                outcomes["3012"] += 1
            elif target not in ALLOWED[current]:
                fails(response, 400, 3038)
                outcomes["3038"] += 1
            else:
                outcomes[f"{current} -> {target}"] += 1
                assert response.status_code == 200, response.text
                new_customer = customer if customer is not None else self.customer[card]
                self.history[card].append((current, target, label, new_customer))
                self.status[card], self.label[card] = target, label
                self.customer[card] = new_customer
                entity = response.json()["entity"]
                assert (entity["status"], entity["statusLabel"], entity["customerId"]) == (
                    target,
                    label,
                    new_customer,
                )

        @rule(card=cards, label=st.sampled_from(["UNKNOWN", "lower_case", "X" * 51]))
        def unknown_label(self, card, label):
            fails(
                client.put("/v2/card", json={"cardNumber": card, "statusLabel": label}), 400, 3017
            )

        @invariant()
        def server_agrees(self):
            for number, status in self.status.items():
                card = client.get("/v2/card", params={"number": number}).json()
                assert (card["status"], card["statusLabel"], card["customerId"]) == (
                    status,
                    self.label[number],
                    self.customer[number],
                )
                log = client.get("/v2/card/statusLog", params={"number": number}).json()
                assert [
                    (e["fromStatus"], e["toStatus"], e["statusLabel"], e["customerId"])
                    for e in log["data"]
                ] == self.history[number]

    run_state_machine_as_test(
        Lifecycle,
        settings=settings(
            max_examples=25,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    # not vacuous: both refusals, many moves, and half of the 8 kinds of move (a typical
    # run makes about 100 moves of 6 or 7 kinds)
    moves = Counter({k: v for k, v in outcomes.items() if k not in {"3012", "3038"}})
    assert outcomes["3012"] and outcomes["3038"], outcomes
    assert moves.total() >= 20 and len(moves) >= 4, outcomes


def test_serve_takes_what_exists_at_start_out_of_the_collector_s_sight() -> None:
    """`serve` freezes the objects that live as long as the process once the app is
    made, so that a full garbage collection under load scans only newer ones (it
    took 15 ms of every request's time before; the p99 of benchmarks/http_server.py)."""
    import gc

    from cardseq.server import run

    made = object()
    before = gc.get_freeze_count()
    try:
        assert run._app(lambda: made, ()) is made
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()
