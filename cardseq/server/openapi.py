"""The OpenAPI 3.0 document of the HTTP server, written by hand to match what it does.

``build_openapi`` fills in the server's settings (the per-request count maximum, the
body limit, whether authentication is on), so that the document served by one server
describes that server exactly. The tests run Schemathesis against it.
"""

from __future__ import annotations

import copy
from typing import Any

from ..store.base import DEFAULT_LIMIT, MAX_LIMIT
from .bodies import MAX_ID, MAX_SMALL, SERIES_TYPES

STATUSES = ["NOT_ISSUED", "ACTIVE", "SUSPENDED", "EXPIRED", "DELETED"]
METHODS = [
    "DEFAULT",
    "LUHN",
    "MOD7",
    "RANDOM",
    "RANDOM_LUHN",
    "RANDOM_MOD7",
    "LUHNALGO",
    "MOD7_ALGO",
]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _array(items: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "array", "items": items, **extra}


def _object(
    properties: dict[str, Any], required: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    schema.update(extra)
    return schema


_STRING = {"type": "string"}
_INT = {"type": "integer"}
_TIME = {"type": "string", "format": "date-time"}
_NULLABLE_STRING = {"type": "string", "nullable": True}
_LABEL = "^[A-Za-z0-9_]{1,50}$"
#: the server takes any printable text (str.isprintable); the document promises the
#: printable ASCII part of it, which a regular expression can say exactly
_PRINTABLE = "^[ -~]*$"
_SERIES_ID = {**_INT, "minimum": 1, "maximum": MAX_ID}

SCHEMAS: dict[str, Any] = {
    "Problem": _object(
        {
            "code": {
                **_INT,
                "description": "a cardseq error code (docs/http.md), or the HTTP"
                " status for errors of the HTTP layer",
            },
            "message": {**_STRING, "description": "what is wrong, naming the field and value"},
        },
        ["code", "message"],
    ),
    "Warning": _object(
        {
            "code": {**_INT, "description": "0: a field the API does not know was ignored"},
            "message": _STRING,
        },
        ["code", "message"],
    ),
    "ErrorEnvelope": _object(
        {
            "data": _array(_STRING, maxItems=0),
            "warnings": _array(_ref("Warning")),
            "errors": _array(_ref("Problem"), minItems=1),
        },
        ["data", "warnings", "errors"],
        description="Every answer other than 200 has this shape.",
    ),
    "SeriesRequest": _object(
        {
            "code": {
                **_STRING,
                "pattern": "^[0-9]*[A-Za-z_-][A-Za-z0-9_-]*$",
                "maxLength": 50,
                "description": "unique; 1..50 letters, digits, '_' or '-', not all digits",
            },
            "name": _STRING,
            "type": {"type": "string", "enum": list(SERIES_TYPES)},
            "expiryDays": {**_INT, "minimum": 0, "maximum": MAX_SMALL},
            "maxActiveCardsPerCustomer": {**_INT, "minimum": 0, "maximum": MAX_SMALL},
            "cardGenerationEnabled": {"type": "boolean", "default": True},
            "isActive": {"type": "boolean"},
            "trigger": {"description": "kept as given", "oneOf": [_STRING, {"type": "object"}]},
            "cardGenerationConfiguration": _ref("GenerationConfiguration"),
        },
        ["code", "cardGenerationConfiguration"],
        description="Fields that are null count as absent; unknown fields are ignored and"
        " named in warnings.",
    ),
    "GenerationConfiguration": _object(
        {
            "prefix": {**_STRING, "pattern": "^[A-Za-z0-9]{0,50}$", "default": ""},
            "suffix": {**_STRING, "pattern": "^[A-Za-z0-9]{0,50}$", "default": ""},
            "offset": {**_INT, "minimum": 0, "default": 0},
            "length": {**_INT, "minimum": 5, "maximum": 150},
            "method": {"type": "string", "enum": METHODS, "default": "DEFAULT"},
        },
        ["length"],
    ),
    "SeriesCreated": _object(
        {
            "entity": {**_INT, "description": "the new series id"},
            "warnings": _array(_ref("Warning")),
            "errors": _array(_ref("Problem"), maxItems=0),
        },
        ["entity", "warnings", "errors"],
    ),
    "Series": _object(
        {
            "id": _INT,
            "code": _STRING,
            "cardGenerationConfiguration": _object(
                {
                    "prefix": _STRING,
                    "suffix": _STRING,
                    "offset": _INT,
                    "length": _INT,
                    "method": {"type": "string", "enum": METHODS[:6]},
                },
                ["prefix", "suffix", "offset", "length", "method"],
            ),
            "cardGenerationEnabled": {"type": "boolean"},
            "name": _STRING,
            "type": {"type": "string", "enum": list(SERIES_TYPES)},
            "expiryDays": _INT,
            "maxActiveCardsPerCustomer": _INT,
            "isActive": {"type": "boolean"},
            "trigger": {"oneOf": [_STRING, {"type": "object"}]},
        },
        ["id", "code", "cardGenerationConfiguration", "cardGenerationEnabled"],
        description="The optional fields are there when they were given at creation.",
    ),
    "GenerateRequest": _object(
        {
            "seriesId": _SERIES_ID,
            "seriesID": {
                **_SERIES_ID,
                "description": "the reference table's spelling of seriesId",
            },
            "count": {**_INT, "minimum": 1},
            "statusLabel": {
                **_STRING,
                "pattern": _LABEL,
                "default": "NOT_ISSUED",
                "description": "a label mapped to NOT_ISSUED",
            },
            "requestId": {
                **_STRING,
                "pattern": _PRINTABLE,
                "minLength": 1,
                "maxLength": 200,
                "description": "idempotency key: the same id again answers the same numbers",
            },
        },
        ["count"],
        oneOf=[{"required": ["seriesId"]}, {"required": ["seriesID"]}],
        description="seriesId or its other spelling seriesID is required (both may be"
        " given if they are equal); null counts as absent; unknown fields are ignored and"
        " named in warnings.",
    ),
    "Generated": _object(
        {
            "data": _array(_STRING, description="the numbers, newest first"),
            "warnings": _array(_ref("Warning")),
            "errors": _array(_ref("Problem"), maxItems=0),
        },
        ["data", "warnings", "errors"],
    ),
    "StatusRequest": _object(
        {
            "cardNumber": _STRING,
            "statusLabel": {**_STRING, "pattern": _LABEL},
            "customerId": {
                "oneOf": [
                    {**_STRING, "pattern": _PRINTABLE, "minLength": 1, "maxLength": 100},
                    {**_INT, "minimum": 0, "maximum": MAX_ID},
                ],
                "description": "the customer a card is issued to; kept as a string",
            },
        },
        ["cardNumber", "statusLabel"],
    ),
    "Card": _object(
        {
            "cardNumber": _STRING,
            "seriesId": _INT,
            "seriesCode": _STRING,
            "index": _INT,
            "status": {"type": "string", "enum": STATUSES},
            "statusLabel": _STRING,
            "generatedOn": _TIME,
            "customerId": _NULLABLE_STRING,
            "updatedOn": {**_TIME, "nullable": True},
        },
        [
            "cardNumber",
            "seriesId",
            "seriesCode",
            "index",
            "status",
            "statusLabel",
            "generatedOn",
            "customerId",
            "updatedOn",
        ],
    ),
    "CardUpdated": _object(
        {
            "entity": _ref("Card"),
            "warnings": _array(_ref("Warning")),
            "errors": _array(_ref("Problem"), maxItems=0),
        },
        ["entity", "warnings", "errors"],
    ),
    "StatusLog": _object(
        {
            "data": _array(
                _object(
                    {
                        "cardNumber": _STRING,
                        "fromStatus": {"type": "string", "enum": STATUSES},
                        "toStatus": {"type": "string", "enum": STATUSES},
                        "statusLabel": _STRING,
                        "customerId": _NULLABLE_STRING,
                        "changedOn": _TIME,
                    },
                    [
                        "cardNumber",
                        "fromStatus",
                        "toStatus",
                        "statusLabel",
                        "customerId",
                        "changedOn",
                    ],
                )
            ),
            "warnings": _array(_ref("Warning"), maxItems=0),
            "errors": _array(_ref("Problem"), maxItems=0),
        },
        ["data", "warnings", "errors"],
    ),
    "GenerationLog": _object(
        {
            "data": _array(
                _object(
                    {
                        "seriesId": _INT,
                        "start": {**_INT, "description": "index of the first number"},
                        "count": _INT,
                        "statusLabel": _STRING,
                        "requestId": _NULLABLE_STRING,
                        "generatedOn": _TIME,
                        "firstNumber": _STRING,
                        "lastNumber": _STRING,
                    },
                    [
                        "seriesId",
                        "start",
                        "count",
                        "statusLabel",
                        "requestId",
                        "generatedOn",
                        "firstNumber",
                        "lastNumber",
                    ],
                )
            ),
            "warnings": _array(_ref("Warning"), maxItems=0),
            "errors": _array(_ref("Problem"), maxItems=0),
        },
        ["data", "warnings", "errors"],
    ),
}


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
    return _json(_ref("ErrorEnvelope"), description, headers)


def build_openapi(
    *, max_count: int | None = 100_000, max_body: int = 64 * 1024, auth: bool = True
) -> dict[str, Any]:
    """The document for a server with these settings."""
    schemas = copy.deepcopy(SCHEMAS)
    if max_count is not None:
        count = schemas["GenerateRequest"]["properties"]["count"]
        count["maximum"] = max_count
        count["description"] = f"1..{max_count} (more: error 3026)"

    def common(*, body: bool, not_found: str | None = None) -> dict[str, Any]:
        responses: dict[str, Any] = {
            "400": _error(
                "a domain error (its code in errors) or a request the API cannot read (code 400)"
            ),
            "429": _error(
                "too many requests for this user (or address)",
                {
                    "Retry-After": {
                        "description": "whole seconds to wait, >= 1",
                        "schema": {"type": "integer", "minimum": 1},
                    }
                },
            ),
            "500": _error("an internal error or a store failure (code 500)"),
        }
        if auth:
            responses["401"] = _error(
                "credentials missing or wrong",
                {"WWW-Authenticate": {"description": REALM_HEADER, "schema": _STRING}},
            )
        if body:
            responses["413"] = _error(f"the request body is larger than {max_body} bytes")
            responses["415"] = _error("the Content-Type is not application/json")
        if not_found:
            responses["404"] = _error(not_found)
        return responses

    def body(name: str, example: dict[str, Any]) -> dict[str, Any]:
        return {
            "required": True,
            "content": {"application/json": {"schema": _ref(name), "example": example}},
        }

    def link(
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

    new_series = "$response.body#/entity"
    first_card = "$response.body#/data/0"
    created = _json(_ref("SeriesCreated"), "the new series' id")
    created["links"] = {
        "GetSeries": link("get-series", "the series just created", parameters={"id": new_series}),
        "GenerateCards": link(
            "generate-cards",
            "numbers of the series just created",
            request={"seriesId": new_series, "count": 3},
        ),
        "GenerationLog": link(
            "generation-log", "its generation requests", parameters={"seriesId": new_series}
        ),
    }
    generated = _json(_ref("Generated"), "the numbers, newest first")
    generated["links"] = {
        "GetCard": link("get-card", "the newest card generated", parameters={"number": first_card}),
        "CardStatusLog": link(
            "card-status-log", "its status changes", parameters={"number": first_card}
        ),
        "IssueCard": link(
            "update-card-status",
            "issue it to a customer",
            request={"cardNumber": first_card, "statusLabel": "ACTIVE", "customerId": "C1"},
        ),
    }

    number = {
        "name": "number",
        "in": "query",
        "required": True,
        "schema": {**_STRING, "minLength": 1},
        "description": "a card number",
    }
    paging = [
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {**_INT, "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
            "description": f"rows in a page, 1..{MAX_LIMIT} (otherwise error 701)",
        },
        {
            "name": "after",
            "in": "query",
            "required": False,
            "schema": {**_INT, "minimum": 0, "maximum": MAX_ID, "default": 0},
            "description": "the answer's `next` of the previous page: the rows after it"
            " (0: from the first; otherwise error 701 when negative)",
        },
    ]
    paths: dict[str, Any] = {
        "/v2/card/series": {
            "post": {
                "operationId": "create-series",
                "summary": "Register a card series",
                "requestBody": body(
                    "SeriesRequest",
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
                "responses": {"200": created, **common(body=True)},
            }
        },
        "/v2/card/series/{id}": {
            "get": {
                "operationId": "get-series",
                "summary": "A card series as created",
                "parameters": [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": _SERIES_ID,
                    }
                ],
                "responses": {
                    "200": _json(_ref("Series"), "the series"),
                    **common(
                        body=False,
                        not_found="no such series, or the id is not an integer (code 3000)",
                    ),
                },
            }
        },
        "/v2/card/generate": {
            "post": {
                "operationId": "generate-cards",
                "summary": "Generate card numbers in bulk",
                "requestBody": body(
                    "GenerateRequest", {"seriesId": 1, "count": 5, "statusLabel": "NOT_ISSUED"}
                ),
                "responses": {"200": generated, **common(body=True)},
            }
        },
        "/v2/card": {
            "get": {
                "operationId": "get-card",
                "summary": "A card's details",
                "parameters": [number],
                "responses": {
                    "200": _json(_ref("Card"), "the card"),
                    **common(body=False, not_found="no such card (code 3010)"),
                },
            },
            "put": {
                "operationId": "update-card-status",
                "summary": "Change a card's status by a status label",
                "requestBody": body(
                    "StatusRequest",
                    {
                        "cardNumber": "Test09000000000037end",
                        "statusLabel": "ACTIVE",
                        "customerId": "C1",
                    },
                ),
                "responses": {
                    "200": _json(_ref("CardUpdated"), "the card after the change"),
                    **common(body=True),
                },
            },
        },
        "/v2/card/statusLog": {
            "get": {
                "operationId": "card-status-log",
                "summary": "A card's status changes, oldest first, a page at a time",
                "parameters": [number, *paging],
                "responses": {
                    "200": _json(_ref("StatusLog"), "the changes"),
                    **common(body=False, not_found="no such card (code 3010)"),
                },
            }
        },
        "/v2/card/generation/logs": {
            "get": {
                "operationId": "generation-log",
                "summary": "A series' generation requests, oldest first, a page at a time",
                "parameters": [
                    {
                        "name": "seriesId",
                        "in": "query",
                        "required": True,
                        "schema": _SERIES_ID,
                    },
                    *paging,
                ],
                "responses": {
                    "200": _json(_ref("GenerationLog"), "the requests"),
                    **common(body=False, not_found="no such series (code 3000)"),
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document (no credentials needed)",
                "security": [],
                "responses": {
                    "200": _json({"type": "object"}, "the OpenAPI document"),
                    "429": common(body=False)["429"],
                },
            }
        },
    }
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {
            "title": "cardseq",
            "version": "0.1.0",
            "description": "Card series and collision-free card numbers in bulk, under"
            " the reference API's routes. See docs/http.md.",
        },
        "paths": paths,
        "components": {"schemas": schemas},
    }
    if auth:
        document["components"]["securitySchemes"] = {"basic": {"type": "http", "scheme": "basic"}}
        document["security"] = [{"basic": []}]
    return document


REALM_HEADER = 'Basic realm="cardseq"'

__all__ = ["build_openapi"]
