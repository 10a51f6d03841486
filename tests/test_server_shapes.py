"""One source per shape: the server's answers are the structs its OpenAPI document is
made from, byte for byte, and every answer struct is some route's answer."""

from __future__ import annotations

import msgspec
import pytest

from cardseq.server import create_app, models, wire

from .test_server_inputs import Client

#: the requests that reach every documented answer kind: (method, path, options)
_GIFT = {"prefix": "9", "length": 12, "pinLength": 4}
_KEYED = {"length": 12, "method": "RANDOM", "cipher": "ff1"}
NUMBER = "<the first number generated>"
REQUESTS = [
    ("POST", "/v2/card/series", {"json": {"code": "G", "name": "Gift", "type": "DIGITAL",
                                          "cardGenerationConfiguration": _GIFT}}),
    ("POST", "/v2/card/series", {"json": {"code": "K", "cardGenerationConfiguration": _KEYED}}),
    ("GET", "/v2/card/series/1", {}),
    ("GET", "/v2/card/series/2", {}),
    ("POST", "/v2/card/generate", {"json": {"seriesId": 1, "count": 2, "colour": "red"}}),
    ("GET", "/v2/card", {"params": {"number": NUMBER}}),
    ("PUT", "/v2/card", {"json": {"cardNumber": NUMBER, "statusLabel": "ACTIVE",
                                  "customerId": "c1"}}),
    ("GET", "/v2/card/statusLog", {"params": {"number": NUMBER}}),
    ("POST", "/v2/card/pin", {"json": {"cardNumber": NUMBER, "pin": "0000"}}),
    ("GET", "/v2/card/generation/logs", {"params": {"seriesId": "1"}}),
    ("GET", "/healthz", {}),
    ("POST", "/v2/card/generate", {"json": {"seriesId": 1, "count": 0}}),
    ("GET", "/v2/card/series/99", {}),
    ("DELETE", "/v2/card", {}),
]  # fmt: skip


def _documented(document: dict, method: str, path: str, status: int) -> type[msgspec.Struct]:
    """The answer struct the document names for ``method path`` and ``status``."""
    for template, operations in document["paths"].items():
        parts, given = template.strip("/").split("/"), path.strip("/").split("/")
        if len(parts) == len(given) and all(
            p == g or p.startswith("{") for p, g in zip(parts, given, strict=True)
        ):
            operation = operations.get(method.lower())
            if operation is None:  # a method the path does not take: the envelope
                return models.ErrorEnvelope
            content = operation["responses"][str(status)]["content"]["application/json"]
            name = content["schema"]["$ref"].rsplit("/", 1)[1]
            return getattr(models, name)
    raise AssertionError(f"{method} {path} is not in the document")


@pytest.fixture
def client(tmp_path):
    app = create_app(
        f"sqlite:///{tmp_path / 's.db'}",
        users_file=None,
        keys={"K": bytes(16), "G.pin": bytes(range(16))},
    )
    client = Client(app)
    yield client
    client.close()


def test_every_answer_is_its_documented_struct_byte_for_byte(client):
    document = client.get("/openapi.json").json()
    met: set[type[msgspec.Struct]] = set()
    number = None
    for method, path, options in REQUESTS:
        options = {
            key: {k: number if v == NUMBER else v for k, v in value.items()}
            for key, value in options.items()
        }
        answer = client.run(client.http.request(method, path, **options))
        struct = _documented(document, method, path, answer.status_code)
        # strict: every field of the right type, none missing, none the struct lacks
        decoded = msgspec.json.decode(answer.content, type=struct, strict=True)
        extra = set(answer.json()) - set(struct.__struct_fields__)
        assert not extra, (path, extra)
        assert wire.dumps(decoded) == answer.content, (method, path)
        met.add(struct)
        if struct is models.Generated:
            number = decoded.data[0]
    assert met == set(models.ANSWERS)


def test_every_answer_struct_is_in_the_document():
    from cardseq.server.openapi import build_openapi

    document = build_openapi(max_count=10, max_body=100, auth=True, metrics_public=False)
    named = {
        schema["$ref"].rsplit("/", 1)[1]
        for operations in document["paths"].values()
        for operation in operations.values()
        for response in operation.get("responses", {}).values()
        for schema in [response.get("content", {}).get("application/json", {}).get("schema", {})]
        if "$ref" in schema
    }
    assert {struct.__name__ for struct in models.ANSWERS} <= named
