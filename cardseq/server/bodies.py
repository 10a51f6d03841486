"""Reading request bodies and query values into the service's arguments.

The service validates values (counts, labels, series definitions); this module checks
what only the HTTP layer sees: that the body is a JSON object of bounded size, that each
field has the JSON type the API documents, and which fields are unknown (they are
ignored, and named in ``warnings``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from ..errors import (
    CardNotFound,
    CardSeqError,
    InvalidArgument,
    InvalidLength,
    InvalidOffset,
    InvalidPrefix,
    InvalidSeries,
    InvalidStatusLabel,
    InvalidSuffix,
    show,
)
from ..integers import as_int, json_int, parse_int, text_int
from ..series import CardSeries
from ..store.base import MAX_ID

#: expiryDays, maxActiveCardsPerCustomer: 0 .. 2**31 - 1
MAX_SMALL = 2**31 - 1
#: the warning code for a field the API does not know (it was ignored)
UNKNOWN_FIELD = 0
SERIES_TYPES = ("DIGITAL", "PHYSICAL")
_MISSING = object()


class ApiError(Exception):
    """An answer other than 200, with its error object: ``status``, ``code``, ``message``."""

    def __init__(
        self, status: int, code: int, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def parse_json(raw: bytes) -> Any:
    """Strict JSON: no NaN or Infinity, no number too large for a double, no integer
    beyond Python's digit limit, no nesting deep enough to exhaust the stack."""
    if not raw.strip():
        raise ApiError(400, 400, "the request body is empty; a JSON object is expected")
    try:
        return json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise ApiError(400, 400, "the request body nests arrays or objects too deeply") from None
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError included
        why = str(error)
        if "integer string conversion" in why:
            why = "an integer has more than 4300 digits"
        raise ApiError(400, 400, f"the request body is not valid JSON: {why}"[:300]) from None


class Fields:
    """The members of a JSON object, taken one by one; those never taken are unknown."""

    def __init__(self, body: Any, where: str = "") -> None:
        self.body = body
        self.where = where
        self.taken: set[str] = set()

    def take(self, name: str) -> Any:
        """The value of ``name``; ``_MISSING`` when absent or null (null means absent)."""
        self.taken.add(name)
        value = self.body.get(name, _MISSING)
        return _MISSING if value is None else value

    def required_str(self, name: str, error: type[CardSeqError]) -> str:
        """The string value of ``name``; ``error`` when it is absent or not a string."""
        value = self.take(name)
        if value is _MISSING:
            raise error(f"{name} is required", field=name)
        if not isinstance(value, str):
            raise _bad(error, name, value, "must be a string")
        return value

    def optional(
        self, name: str, default: Any, error: type[CardSeqError], *, integer: bool = False
    ) -> Any:
        """The value of ``name`` (a string, or an integer), or ``default`` when absent."""
        value = self.take(name)
        if value is _MISSING:
            return default
        if integer:
            return json_int(value, name, error)
        if not isinstance(value, str):
            raise _bad(error, name, value, "must be a string")
        return value

    def unknown(self) -> list[dict[str, Any]]:
        return [
            {
                "code": UNKNOWN_FIELD,
                "message": f"field {self.where + name!r} is not known and was ignored",
            }
            for name in self.body
            if name not in self.taken
        ]


def body_object(body: Any) -> Fields:
    if not isinstance(body, dict):
        raise ApiError(400, 400, f"the request body must be a JSON object, not {_json_type(body)}")
    return Fields(body)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _bad(error: type[CardSeqError], field: str, value: Any, why: str) -> CardSeqError:
    return error.bad(field, value, why)


# ---- POST /v2/card/series -----------------------------------------------------------


def series_request(body: Any) -> tuple[CardSeries, bool, dict[str, Any], list[dict[str, Any]]]:
    """(definition, cardGenerationEnabled, details, warnings) from a series body."""
    fields = body_object(body)
    code = fields.required_str("code", InvalidSeries)
    details: dict[str, Any] = {}
    for name in ("name",):
        value = fields.take(name)
        if value is not _MISSING:
            if not isinstance(value, str):
                raise _bad(InvalidSeries, name, value, "must be a string")
            details[name] = value
    kind = fields.take("type")
    if kind is not _MISSING:
        if kind not in SERIES_TYPES:
            raise _bad(InvalidSeries, "type", kind, f"must be one of {', '.join(SERIES_TYPES)}")
        details["type"] = kind
    for name in ("expiryDays", "maxActiveCardsPerCustomer"):
        value = fields.take(name)
        if value is not _MISSING:
            details[name] = json_int(value, name, InvalidSeries, minimum=0, maximum=MAX_SMALL)
    enabled = fields.take("cardGenerationEnabled")
    if enabled is _MISSING:
        enabled = True
    elif not isinstance(enabled, bool):
        raise _bad(InvalidSeries, "cardGenerationEnabled", enabled, "must be true or false")
    active = fields.take("isActive")
    if active is not _MISSING:
        if not isinstance(active, bool):
            raise _bad(InvalidSeries, "isActive", active, "must be true or false")
        details["isActive"] = active
    trigger = fields.take("trigger")
    if trigger is not _MISSING:
        if not isinstance(trigger, (str, dict)):
            raise _bad(InvalidSeries, "trigger", trigger, "must be a string or an object")
        details["trigger"] = trigger
    config = fields.take("cardGenerationConfiguration")
    if config is _MISSING:
        raise InvalidLength("cardGenerationConfiguration.length is required", field="length")
    if not isinstance(config, dict):
        raise _bad(InvalidSeries, "cardGenerationConfiguration", config, "must be an object")
    conf = Fields(config, "cardGenerationConfiguration.")
    prefix = conf.optional("prefix", "", InvalidPrefix)
    suffix = conf.optional("suffix", "", InvalidSuffix)
    offset = conf.optional("offset", 0, InvalidOffset, integer=True)
    length = conf.take("length")
    if length is _MISSING:
        raise InvalidLength("cardGenerationConfiguration.length is required", field="length")
    length = json_int(length, "length", InvalidLength)
    method = conf.optional("method", "DEFAULT", InvalidSeries)
    series = CardSeries(
        code, prefix=prefix, suffix=suffix, length=length, offset=offset, method=method
    )
    return series, enabled, details, fields.unknown() + conf.unknown()


# ---- POST /v2/card/generate ---------------------------------------------------------


def series_id_value(value: Any, field: str = "seriesId") -> int:
    """A series id from JSON: an integer 1 .. 2**63 - 1 (3000 otherwise)."""
    if value is _MISSING:
        raise InvalidSeries(f"{field} is required", field=field)
    return json_int(value, field, InvalidSeries, minimum=1, maximum=MAX_ID)


def generate_request(body: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(keyword arguments of ``CardService.generate``, warnings)."""
    fields = body_object(body)
    given = fields.take("seriesId")
    table = fields.take("seriesID")  # the reference's table spells it so
    if given is _MISSING:
        series_id = series_id_value(table, "seriesID")
    else:
        series_id = series_id_value(given)
        if table is not _MISSING and series_id_value(table, "seriesID") != series_id:
            raise InvalidSeries(
                f"seriesId {show(given)} and seriesID {show(table)} differ",
                field="seriesId",
                value=given,
            )
    args: dict[str, Any] = {"series_id": series_id}
    count = fields.take("count")
    # the service reads it (3025, 3026), so that its error keeps the request's warnings
    args["count"] = None if count is _MISSING else count
    label = fields.take("statusLabel")
    if label is not _MISSING:
        args["status_label"] = label
    request_id = fields.take("requestId")
    if request_id is not _MISSING:
        if not isinstance(request_id, str) or not _text(request_id):
            raise _bad(
                InvalidArgument, "requestId", request_id, "must be a string of printable characters"
            )
        args["request_id"] = request_id  # the store checks its length (701)
    return args, fields.unknown()


# ---- PUT /v2/card -------------------------------------------------------------------


def status_request(body: Any) -> tuple[str, str, str | None, list[dict[str, Any]]]:
    """(cardNumber, statusLabel, customerId, warnings) of a status change."""
    fields = body_object(body)
    number = fields.required_str("cardNumber", CardNotFound)
    label = fields.required_str("statusLabel", InvalidStatusLabel)
    customer = fields.take("customerId")
    if customer is _MISSING:
        customer = None
    elif as_int(customer) is not None and 0 <= customer <= MAX_ID:
        customer = str(customer)
    elif not isinstance(customer, str) or not 0 < len(customer) <= 100 or not _text(customer):
        raise ApiError(
            400,
            400,
            f"customerId {show(customer)} must be a string of 1..100"
            " characters or a non-negative integer",
        )
    return number, label, customer, fields.unknown()


def _text(value: str) -> bool:
    """Printable text a database can store: no control characters, no lone surrogates
    (JSON can carry them; UTF-8 cannot)."""
    return value.isprintable()


# ---- query and path values ----------------------------------------------------------


def id_text(text: str | None) -> int | None:
    """A series id from a path or query: ASCII digits, else None. A value outside
    1 .. 2**63 - 1 is no series' id: 3000 (the route answers 404)."""
    value = parse_int(text)
    if value is not None and not 1 <= value <= MAX_ID:
        raise InvalidSeries.bad("seriesId", value, "is not a known series")
    return value


def page_query(query: Mapping[str, str]) -> dict[str, int]:
    """``limit`` and ``after`` of a listing route, when given, as integers; the store
    checks their range (701 for both)."""
    return {
        name: text_int(query[name], name, InvalidArgument, minimum=None)
        for name in ("limit", "after")
        if name in query
    }


__all__ = [
    "MAX_ID",
    "UNKNOWN_FIELD",
    "ApiError",
    "generate_request",
    "id_text",
    "page_query",
    "parse_json",
    "series_request",
    "status_request",
]
