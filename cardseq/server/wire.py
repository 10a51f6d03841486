"""The reference API's wire format, in one place: the service's records as camelCase
JSON, the ``{"data", "warnings", "errors"}`` envelope, and each error's HTTP status.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import msgspec
from starlette.responses import Response

from ..errors import BrokenFile, CardSeqError
from ..records import Card, GenerationEntry, Notice, SeriesDetails, StatusChange
from ..series import Cipher
from ..store.base import Page

#: a warning or an error object of the reference: ``{"code", "message"}``
Problem = dict[str, Any]
T = TypeVar("T")

log = logging.getLogger("cardseq.server")

#: Codes a well-formed request can still meet because of what the store holds: a code or
#: label taken, a series unknown, disabled or used up, a card missing or in another
#: status, a key absent, a replayed request id whose numbers were released, or that a
#: reservation with other parameters holds.
STATE_CODES = frozenset(
    {702, 703, 705, 706, 707, 712, 3000, 3002, 3006, 3010, 3012, 3017, 3018, 3019, 3038}
)
#: Codes for fields that are each valid but do not fit together, which JSON Schema cannot
#: say: a length too short for the prefix, suffix and check digit, an offset past the
#: series' capacity.
COMBINATION_CODES = frozenset({704, 3005, 3047})
#: The only 400s a schema-valid request can get. The reference answers them 400 like any
#: domain error, and so does this server; the document lists them, and the fuzz tests
#: fail any other 400 to a request the document calls valid.
VALID_REQUEST_CODES = STATE_CODES | COMBINATION_CODES


_encode = msgspec.json.Encoder().encode


def dumps(payload: Any) -> bytes:
    """Compact JSON in UTF-8, by msgspec (several times faster than ``json``). A string
    a client sent can hold a lone UTF-16 surrogate (JSON allows it, UTF-8 cannot carry
    it): such a payload is written in ASCII with escapes instead, so it still goes back."""
    try:
        return _encode(payload)
    except UnicodeEncodeError:
        return json.dumps(payload, allow_nan=False, separators=(",", ":")).encode("ascii")


def respond(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        dumps(payload), status_code=status, headers=headers, media_type="application/json"
    )


# ---- the envelope -------------------------------------------------------------------


def envelope(
    key: str,
    value: Any,
    warnings: Sequence[Problem] = (),
    errors: Sequence[Problem] = (),
    **more: Any,
) -> dict[str, Any]:
    """``{key: value, "warnings": [...], "errors": [...], **more}``: ``key`` is ``data``
    for lists, ``entity`` for one created or changed thing."""
    return {key: value, "warnings": list(warnings), "errors": list(errors), **more}


def notices(warnings: Sequence[Notice]) -> list[Problem]:
    return [{"code": w.code, "message": w.message} for w in warnings]


def entity(value: Any, warnings: Sequence[Problem] = ()) -> Response:
    return respond(200, envelope("entity", value, warnings))


def page(items: Page[T], convert: Callable[[T], Any]) -> Response:
    """A page of a listing: its rows in ``data``, and in ``next`` the ``after`` value
    of the next page (null on the last)."""
    return respond(200, envelope("data", [convert(i) for i in items.items], next=items.next))


# ---- errors -------------------------------------------------------------------------


def failure(
    status: int,
    code: int,
    message: str,
    warnings: Sequence[Problem] = (),
    headers: dict[str, str] | None = None,
) -> Response:
    """An answer other than 200: the envelope with one error and no data."""
    problem = {"code": code, "message": message}
    return respond(status, envelope("data", [], warnings, [problem]), headers)


#: what a client is told of a store failure. The error's own message is for the server's
#: log only: it can name the database's host, port, name and role, and quote the driver.
STORE_FAILURE = (
    "the store failed ({kind}); no number was handed out: retry later (a generate with"
    " the same requestId)"
)


def status_of(error: CardSeqError, *, not_found: tuple[int, ...] = ()) -> int:
    """500 for a store failure (code 500); 404 for the codes that mean the path or query
    named something that does not exist; 400 for any other domain error."""
    if error.code == 500:
        return 500
    return 404 if error.code in not_found else 400


def error(
    exc: CardSeqError, *, warnings: Sequence[Problem] = (), not_found: tuple[int, ...] = ()
) -> Response:
    """The answer to a domain error (its status by ``status_of``). A 5xx says only the
    kind of failure (``STORE_FAILURE``); the caller logs the message. A file of the
    server's own that cannot be read whole (``BrokenFile``: a keys file) is not the
    caller's fault: 503, and the message, which names the file, goes to the log only."""
    if isinstance(exc, BrokenFile):
        what = (exc.field or "file").replace("_", " ")
        log.error("refusing what needs the %s until it is fixed: %s", what, exc.message)
        return failure(503, 503, f"unavailable: the server's {what} is broken", warnings)
    status = status_of(exc, not_found=not_found)
    message = exc.message if status < 500 else STORE_FAILURE.format(kind=type(exc).__name__)
    return failure(status, exc.code, message, warnings)


# ---- records ------------------------------------------------------------------------


def series(view: SeriesDetails) -> dict[str, Any]:
    """A series as created, with its configuration and its details."""
    info, s = view.info, view.info.series
    return {
        "id": info.id,
        "code": s.code,
        "cardGenerationConfiguration": {
            "prefix": s.prefix,
            "suffix": s.suffix,
            "offset": s.offset,
            "length": s.length,
            "method": s.method.value,
            **({"cipher": s.cipher.value} if s.cipher is not Cipher.SIPHASH else {}),
        },
        "cardGenerationEnabled": info.enabled,
        **view.details,
    }


def card(c: Card) -> dict[str, Any]:
    return {
        "cardNumber": c.number,
        "seriesId": c.series_id,
        "seriesCode": c.series_code,
        "index": c.index,
        "status": c.status,
        "statusLabel": c.label,
        "generatedOn": c.generated_on.isoformat(),
        "customerId": c.customer_id,
        "updatedOn": c.updated_on.isoformat() if c.updated_on else None,
    }


def status_change(c: StatusChange) -> dict[str, Any]:
    return {
        "cardNumber": c.number,
        "fromStatus": c.from_status,
        "toStatus": c.to_status,
        "statusLabel": c.label,
        "customerId": c.customer_id,
        "changedOn": c.changed_on.isoformat(),
        "actor": c.actor,
    }


def generation(e: GenerationEntry) -> dict[str, Any]:
    return {
        "seriesId": e.series_id,
        "start": e.start,
        "count": e.count,
        "statusLabel": e.label,
        "requestId": e.request_id,
        "generatedOn": e.generated_on.isoformat(),
        "firstNumber": e.first_number,
        "lastNumber": e.last_number,
        "actor": e.actor,
    }
