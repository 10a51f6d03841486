"""The OpenAPI 3.0 document of the HTTP server, derived from its models.

The schemas come from ``models`` (``msgspec.json.schema_components``, in OpenAPI 3.0's
dialect: ``nullable`` rather than a null type, and ``integer`` that excludes ``1.0``,
as the server does); what is not a
schema (routes, operation ids, parameters' places, answers, links, security) is built
here from the constants the server uses. ``build_openapi`` fills in the server's
settings (the per-request count maximum, the body limit, whether authentication is on),
so that the document served by one server describes that server exactly. The tests run
Schemathesis against it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from .. import __version__
from . import models, wire
from .auth import REALM
from .limits import DEFAULT_MAX_COUNT

_REF = "#/components/schemas/{name}"
_USERS_BROKEN = "the server's users file is broken: nobody is let in"
_KEYS_BROKEN = "the server's keys file is broken: what needs a key from it is refused"
_NULL = {"type": "null"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF.format(name=name)}


def _nullable(schema: Any) -> Any:
    """``schema`` with each ``anyOf`` that allows null (JSON Schema) written as
    ``nullable`` (OpenAPI 3.0)."""
    if isinstance(schema, list):
        return [_nullable(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {key: _nullable(value) for key, value in schema.items()}
    options = schema.get("anyOf")
    if isinstance(options, list) and _NULL in options:
        options = [option for option in options if option != _NULL]
        del schema["anyOf"]
        schema.update(options[0] if len(options) == 1 else {"anyOf": options})
        schema["nullable"] = True
    return schema


def _null_is_absent(schema: dict[str, Any]) -> None:
    """A request field that is not required may be null (the server reads it as absent)."""
    required = schema.get("required", [])
    for name, field in schema["properties"].items():
        if name not in required:
            field["nullable"] = True


def _schemas(max_count: int | None) -> dict[str, Any]:
    requests = _components(models.REQUESTS)
    for schema in requests.values():
        _null_is_absent(schema)
    generate = requests["GenerateRequest"]
    # one of the two spellings, as an integer (a null one counts as absent)
    generate["oneOf"] = [
        {"required": [name], "properties": {name: {"type": "integer"}}}
        for name in ("seriesId", "seriesID")
    ]
    if max_count is not None:
        count = generate["properties"]["count"]
        count["maximum"] = max_count
        count["description"] = f"1..{max_count} (more: error 3026)"
    return {**requests, **_components(models.ANSWERS)}


def _components(types: Iterable[type[msgspec.Struct]]) -> dict[str, Any]:
    _, schemas = msgspec.json.schema_components(types, ref_template=_REF)
    return {name: _nullable(schema) for name, schema in schemas.items()}


def _parameters(model: type[msgspec.Struct], where: str) -> list[dict[str, Any]]:
    """The parameters of a query or path model, one per field."""
    schema = _components([model])[model.__name__]
    return [
        {
            "name": name,
            "in": where,
            "required": name in schema.get("required", []),
            "schema": field,
        }
        for name, field in schema["properties"].items()
    ]


def _json(
    schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        response["headers"] = headers
    return response


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    return _json(_ref(models.ErrorEnvelope.__name__), description, headers)


def _link(
    operation: str,
    description: str,
    *,
    parameters: dict[str, str] | None = None,
    request: dict[str, Any] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"operationId": operation, "description": description}
    if parameters:
        out["parameters"] = parameters
    if request:
        out["requestBody"] = request
    return out


def _body(model: type[msgspec.Struct], example: dict[str, Any]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": _ref(model.__name__), "example": example}},
    }


def _rate_limited() -> dict[str, Any]:
    return _error(
        "too many requests for this user (or address), or too many at once from this address",
        {
            "Retry-After": {
                "description": "whole seconds to wait, >= 1",
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    )


def _unauthorized() -> dict[str, Any]:
    return _error(
        "credentials missing or wrong",
        {"WWW-Authenticate": {"description": REALM, "schema": {"type": "string"}}},
    )


def build_openapi(
    *,
    max_count: int | None = DEFAULT_MAX_COUNT,
    max_body: int = 64 * 1024,
    auth: bool = True,
    metrics_public: bool = False,
) -> dict[str, Any]:
    """The document for a server with these settings."""

    def answers(ok: dict[str, Any], *, body: bool, not_found: str | None = None) -> dict[str, Any]:
        responses: dict[str, Any] = {
            "200": ok,
            "400": _error(
                "a domain error (its code in errors) or a request the API cannot read (code 400);"
                " a request this document calls valid meets one only for what the store holds"
                " or for fields that do not fit together (codes "
                + ", ".join(map(str, sorted(wire.VALID_REQUEST_CODES)))
                + ")"
            ),
            "429": _rate_limited(),
            "500": _error("an internal error or a store failure (code 500)"),
            "503": _error(
                (f"{_USERS_BROKEN}; or {_KEYS_BROKEN}" if auth else _KEYS_BROKEN)
                + "; or the store cannot be reached now (code 500: a database server down,"
                " no primary during a failover); or a reservation whose commit was cut off"
                " (code 715): retry with its requestId"
            ),
        }
        if auth:
            responses["401"] = _unauthorized()
        if body:
            responses["408"] = _error("the request body did not arrive within the body timeout")
            responses["413"] = _error(f"the request body is larger than {max_body} bytes")
            responses["415"] = _error("the Content-Type is not application/json")
        if not_found:
            responses["404"] = _error(not_found)
        return responses

    new_series = "$response.body#/entity"
    first_card = "$response.body#/data/0"
    created = _json(_ref(models.SeriesCreated.__name__), "the new series' id")
    created["links"] = {
        "GetSeries": _link("get-series", "the series just created", parameters={"id": new_series}),
        "GenerateCards": _link(
            "generate-cards",
            "numbers of the series just created",
            request={"seriesId": new_series, "count": 3},
        ),
        "GenerationLog": _link(
            "generation-log", "its generation requests", parameters={"seriesId": new_series}
        ),
    }
    generated = _json(_ref(models.Generated.__name__), "the numbers, newest first")
    generated["links"] = {
        "GetCard": _link(
            "get-card", "the newest card generated", parameters={"number": first_card}
        ),
        "CardStatusLog": _link(
            "card-status-log", "its status changes", parameters={"number": first_card}
        ),
        "IssueCard": _link(
            "update-card-status",
            "issue it to a customer",
            request={"cardNumber": first_card, "statusLabel": "ACTIVE", "customerId": "C1"},
        ),
    }
    no_card = "no such card (code 3010)"
    paths: dict[str, Any] = {
        "/v2/card/series": {
            "post": {
                "operationId": "create-series",
                "summary": "Register a card series",
                "requestBody": _body(
                    models.SeriesRequest,
                    {
                        "code": "TEST09",
                        "name": "Test 09",
                        "type": "DIGITAL",
                        "expiryDays": 365,
                        "maxActiveCardsPerCustomer": 1,
                        "cardGenerationEnabled": True,
                        "isActive": True,
                        "cardGenerationConfiguration": {
                            "prefix": "Test09",
                            "suffix": "end",
                            "offset": 33,
                            "length": 21,
                            "method": "DEFAULT",
                        },
                    },
                ),
                "responses": answers(created, body=True),
            }
        },
        "/v2/card/series/{id}": {
            "get": {
                "operationId": "get-series",
                "summary": "A card series as created",
                "parameters": _parameters(models.SeriesPath, "path"),
                "responses": answers(
                    _json(_ref(models.Series.__name__), "the series"),
                    body=False,
                    not_found="no such series, or the id is not an integer (code 3000)",
                ),
            }
        },
        "/v2/card/generate": {
            "post": {
                "operationId": "generate-cards",
                "summary": "Generate card numbers in bulk",
                "requestBody": _body(
                    models.GenerateRequest,
                    {"seriesId": 1, "count": 5, "statusLabel": "NOT_ISSUED"},
                ),
                "responses": answers(generated, body=True),
            }
        },
        "/v2/card": {
            "get": {
                "operationId": "get-card",
                "summary": "A card's details",
                "parameters": _parameters(models.CardQuery, "query"),
                "responses": answers(
                    _json(_ref(models.Card.__name__), "the card"), body=False, not_found=no_card
                ),
            },
            "put": {
                "operationId": "update-card-status",
                "summary": "Change a card's status by a status label",
                "requestBody": _body(
                    models.StatusRequest,
                    {
                        "cardNumber": "Test09000000000037end",
                        "statusLabel": "ACTIVE",
                        "customerId": "C1",
                    },
                ),
                "responses": answers(
                    _json(_ref(models.CardUpdated.__name__), "the card after the change"),
                    body=True,
                ),
            },
        },
        "/v2/card/pin": {
            "post": {
                "operationId": "verify-card-pin",
                "summary": "cardseq's own route: whether a PIN is a card's; a wrong one"
                " counts toward locking the card (713)",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref(models.PinRequest.__name__)}},
                },
                "responses": answers(
                    _json(_ref(models.PinChecked.__name__), "whether the PIN is right"),
                    body=True,
                ),
            }
        },
        "/v2/card/statusLog": {
            "get": {
                "operationId": "card-status-log",
                "summary": "A card's status changes, oldest first, a page at a time",
                "parameters": _parameters(models.StatusLogQuery, "query"),
                "responses": answers(
                    _json(_ref(models.StatusLog.__name__), "the changes"),
                    body=False,
                    not_found=no_card,
                ),
            }
        },
        "/v2/card/generation/logs": {
            "get": {
                "operationId": "generation-log",
                "summary": "A series' generation requests, oldest first, a page at a time",
                "parameters": _parameters(models.GenerationLogQuery, "query"),
                "responses": answers(
                    _json(_ref(models.GenerationLog.__name__), "the requests"),
                    body=False,
                    not_found="no such series (code 3000)",
                ),
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document (no credentials needed)",
                "security": [],
                "responses": {
                    "200": _json({"type": "object"}, "the OpenAPI document"),
                    "429": _rate_limited(),
                },
            }
        },
        "/docs": {
            "get": {
                "operationId": "docs",
                "summary": "This document as an interactive page, Swagger UI (no credentials"
                " needed; its scripts and styles come from this server, under /docs/)",
                "security": [],
                "responses": {
                    "200": {
                        "description": "the page",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    },
                    "429": _rate_limited(),
                },
            }
        },
    }
    metrics: dict[str, Any] = {
        "operationId": "metrics",
        "summary": "Counters and request latency histograms, in the Prometheus text format",
        "responses": {
            "200": {
                "description": "the metrics",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            },
            "429": _rate_limited(),
        },
    }
    if metrics_public or not auth:
        metrics["security"] = []
    else:
        metrics["responses"]["401"] = _unauthorized()
        metrics["responses"]["503"] = _error(_USERS_BROKEN)
    paths["/metrics"] = {"get": metrics}
    paths["/healthz"] = {
        "get": {
            "operationId": "health",
            "summary": "Whether the store answers (no credentials needed)",
            "security": [],
            "responses": {
                "200": _json(_ref(models.Health.__name__), "the store answered a read"),
                "429": _rate_limited(),
                "503": _error("the store does not answer, or needs `cardseq db migrate`"),
            },
        }
    }
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {
            "title": "cardseq",
            "version": __version__,
            "description": "Card series and collision-free card numbers in bulk, under"
            " the reference API's routes. See docs/http.md.",
        },
        "paths": paths,
        "components": {"schemas": _schemas(max_count)},
    }
    if auth:
        document["components"]["securitySchemes"] = {"basic": {"type": "http", "scheme": "basic"}}
        document["security"] = [{"basic": []}]
    return document


__all__ = ["build_openapi"]
