"""The HTTP server's input edges and paged listings, in process: the app from
``create_app`` over a SQLite file, through httpx's ASGI transport (no socket), its
lifespan run as a server runs it; tests set rows up through a store of their own on
the same file."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from cardseq import CardSeries
from cardseq.allocator import SegmentAllocator
from cardseq.server import create_app
from cardseq.service import CardService
from cardseq.store import open_store

from .test_server import fails


class Client:
    """A synchronous face on httpx's ASGI transport, on an event loop of its own, with
    the app started (its lifespan entered) on that loop until ``close``."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.lifespan = app.router.lifespan_context(app)
        self.loop.run_until_complete(self.lifespan.__aenter__())
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")

    def run(self, awaitable: Any) -> Any:
        """Await ``awaitable`` on the client's loop (the app's service lives there)."""
        return self.loop.run_until_complete(awaitable)

    def get(self, path: str, **options: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.http.get(path, **options))

    def post(self, path: str, **options: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.http.post(path, **options))

    def put(self, path: str, **options: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.http.put(path, **options))

    def delete(self, path: str, **options: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.http.delete(path, **options))

    def close(self) -> None:
        self.loop.run_until_complete(self.http.aclose())
        self.loop.run_until_complete(self.lifespan.__aexit__(None, None, None))
        self.loop.close()


@pytest.fixture
def url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'inputs.db'}"


@pytest.fixture
def app(url):
    return create_app(url, users_file=None)


@pytest.fixture
def client(app):
    http = Client(app)
    yield http
    http.close()


@pytest.fixture
def store(url, client):
    """The app's store file, opened beside the app (as another process would)."""
    opened = open_store(url)
    yield opened
    opened.close()


@pytest.fixture
def series_id(client) -> int:
    series = CardSeries("GOLD", prefix="GOLD", length=12)
    return client.run(client.app.state.service.create_series(series))


# ---- integers: JSON ints only, ASCII digits only ------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"seriesId": 1, "seriesID": True},
        {"seriesId": 1, "seriesID": 1.0},
        {"seriesId": True, "seriesID": 1},
        {"seriesId": 1.0},
        {"seriesID": True},
        {"seriesID": "1"},
    ],
)
def test_series_id_is_a_json_integer_in_both_spellings(client, series_id, body) -> None:
    assert series_id == 1
    fails(client.post("/v2/card/generate", json={**body, "count": 1}), 400, 3000)


def test_both_spellings_agreeing_is_fine(client, series_id) -> None:
    answer = client.post("/v2/card/generate", json={"seriesId": 1, "seriesID": 1, "count": 2})
    assert answer.status_code == 200 and len(answer.json()["data"]) == 2


@pytest.mark.parametrize("count", [True, 1.0, "1", None])
def test_count_is_a_json_integer(client, series_id, count) -> None:
    fails(client.post("/v2/card/generate", json={"seriesId": 1, "count": count}), 400, 3025)


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("offset", True, 3047),
        ("offset", 1.0, 3047),
        ("offset", "1", 3047),
        ("length", True, 3005),
        ("length", 12.0, 3005),
        ("length", "12", 3005),
    ],
)
def test_series_integers_are_json_integers(client, field, value, code) -> None:
    config = {"prefix": "P", "length": 12, field: value}
    body = {"code": "S", "cardGenerationConfiguration": config}
    assert field in fails(client.post("/v2/card/series", json=body), 400, code)


@pytest.mark.parametrize("value", [True, 1.0, "30", -1, 2**31])
def test_series_detail_integers(client, value) -> None:
    body = {"code": "S", "expiryDays": value, "cardGenerationConfiguration": {"length": 9}}
    assert "expiryDays" in fails(client.post("/v2/card/series", json=body), 400, 3000)


@pytest.mark.parametrize("text", ["\u0661", " 1", "1_0", "+1", "1.0", "0x1"])
def test_query_and_path_ids_are_ascii_digits(client, series_id, text) -> None:
    fails(client.get("/v2/card/generation/logs", params={"seriesId": text}), 400, 3000)
    fails(client.get(f"/v2/card/series/{text}"), 404, 3000)


@pytest.mark.parametrize("name", ["limit", "after"])
@pytest.mark.parametrize("text", ["\u0663", " 10", "1_0", "+10", "1.0", "", "ten"])
def test_page_parameters_are_ascii_digits(client, series_id, name, text) -> None:
    answer = client.get("/v2/card/generation/logs", params={"seriesId": 1, name: text})
    assert name in fails(answer, 400, 701)


# ---- listings, a page at a time ------------------------------------------------------


def read_pages(client, path: str, params: dict, limit: int) -> tuple[list, list[int]]:
    """Every row of a paged route, following ``next``; (rows, page sizes)."""
    rows, sizes, after = [], [], 0
    while after is not None:
        answer = client.get(path, params={**params, "limit": limit, "after": after})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        rows += body["data"]
        sizes.append(len(body["data"]))
        after = body["next"]
    return rows, sizes


def test_generation_log_pages(store, client, series_id) -> None:
    blocks = [store.reserve(series_id, 1 + i % 3) for i in range(250)]
    rows, sizes = read_pages(client, "/v2/card/generation/logs", {"seriesId": series_id}, 100)
    assert sizes == [100, 100, 50]
    assert [(r["start"], r["count"]) for r in rows] == [(b.start, b.count) for b in blocks]
    default = client.get("/v2/card/generation/logs", params={"seriesId": series_id}).json()
    assert len(default["data"]) == 100 and default["next"] is not None


@pytest.mark.parametrize("params", [{"limit": 1001}, {"limit": 0}, {"after": -1}])
def test_out_of_range_pages_are_701(client, series_id, params) -> None:
    answer = client.get("/v2/card/generation/logs", params={"seriesId": series_id, **params})
    fails(answer, 400, 701)


def test_status_log_pages(store, client, series_id) -> None:
    service = CardService(store)
    number = service.generate(series_id, 1).numbers[0]
    service.issue(number, "c1")
    for _ in range(12):
        service.suspend(number)
        service.reactivate(number)
    rows, sizes = read_pages(client, "/v2/card/statusLog", {"number": number}, 10)
    assert sizes == [10, 10, 5]
    assert [r["toStatus"] for r in rows] == ["ACTIVE"] + ["SUSPENDED", "ACTIVE"] * 12
    fails(client.get("/v2/card/statusLog", params={"number": number, "limit": 5000}), 400, 701)


# ---- GET /v2/card: released is not "not generated yet" ------------------------------


def test_a_released_number_is_3010_saying_so(store, client, series_id) -> None:
    """An allocator hands out index 0 and releases 1..9 on close."""
    with SegmentAllocator(store, series_id, step=10) as allocator:
        number = allocator.next()
    assert client.get("/v2/card", params={"number": number}).json()["index"] == 0
    released = fails(client.get("/v2/card", params={"number": "GOLD00000005"}), 404, 3010)
    never = fails(client.get("/v2/card", params={"number": "GOLD00000010"}), 404, 3010)
    assert released == "cardNumber 'GOLD00000005' was released unused: it was never handed out"
    assert never == "cardNumber 'GOLD00000010' has not been generated yet"


# ---- the contract: models, and the document derived from them -----------------------


def test_refusals_of_a_body_keep_its_warnings(client) -> None:
    """A field the model refuses answers the field's code, and still names the fields
    that were ignored."""
    body = {"code": "S", "colour": "red", "expiryDays": True, "cardGenerationConfiguration": {}}
    answer = client.post("/v2/card/series", json=body)
    assert "expiryDays" in fails(answer, 400, 3000)
    assert answer.json()["warnings"] == [
        {"code": 0, "message": "field 'colour' is not known and was ignored"}
    ]
    answer = client.put("/v2/card", json={"cardNumber": 5, "statusLabel": "ACTIVE", "x": 1})
    fails(answer, 400, 3010)
    assert len(answer.json()["warnings"]) == 1


def test_document_takes_its_constants_from_the_code() -> None:
    """Version, realm, limits and rules come from where the server defines them."""
    import cardseq
    from cardseq.series import MAX_AFFIX, MAX_LENGTH, MIN_LENGTH
    from cardseq.server.auth import REALM
    from cardseq.server.openapi import build_openapi
    from cardseq.store.base import DEFAULT_LIMIT, MAX_ID, MAX_LIMIT, STATUSES

    document = build_openapi(max_count=77, max_body=1234)
    assert document["info"]["version"] == cardseq.__version__
    schemas = document["components"]["schemas"]
    generate = schemas["GenerateRequest"]["properties"]
    assert generate["count"]["maximum"] == 77 and generate["seriesId"]["maximum"] == MAX_ID
    assert generate["requestId"]["nullable"] is True  # null counts as absent
    config = schemas["GenerationConfiguration"]["properties"]
    assert (config["length"]["minimum"], config["length"]["maximum"]) == (MIN_LENGTH, MAX_LENGTH)
    assert f"{{0,{MAX_AFFIX}}}" in config["prefix"]["pattern"]
    assert schemas["Card"]["properties"]["status"]["enum"] == list(STATUSES)
    assert "next" in schemas["GenerationLog"]["required"]
    limit = next(
        p["schema"]
        for p in document["paths"]["/v2/card/statusLog"]["get"]["parameters"]
        if p["name"] == "limit"
    )
    assert (limit["maximum"], limit["default"]) == (MAX_LIMIT, DEFAULT_LIMIT)
    generate_answers = document["paths"]["/v2/card/generate"]["post"]["responses"]
    assert {"408", "413", "503"} <= set(generate_answers)
    assert "1234" in generate_answers["413"]["description"]
    assert generate_answers["401"]["headers"]["WWW-Authenticate"]["description"] == REALM
    get_card = document["paths"]["/v2/card"]["get"]["responses"]
    assert "408" not in get_card and "503" in get_card
    assert "users file" in get_card["503"]["description"]
    open_document = build_openapi(auth=False)
    open_503 = open_document["paths"]["/v2/card"]["get"]["responses"]["503"]["description"]
    assert "keys file" in open_503 and "users file" not in open_503


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/v2/card", "GET, HEAD, PUT"),  # a route per method: the answer names both
        ("/v2/card/generate", "POST"),
        ("/v2/card/series/1", "GET, HEAD"),
    ],
)
def test_a_method_not_allowed_names_every_method_of_the_path(client, path, allowed) -> None:
    response = client.delete(path)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert response.json()["errors"] == [{"code": 405, "message": "Method Not Allowed"}]
