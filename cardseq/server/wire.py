"""The reference API's wire format, in one place: the service's records as the answer
structs of ``models`` (the ones the OpenAPI document is made from, so the document and the
bytes cannot drift apart), the ``{"data", "warnings", "errors"}`` envelope, and each
error's HTTP status.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

import msgspec
from starlette.responses import Response

from .. import records
from ..errors import BrokenFile, CardSeqError, CommitUnknown, StoreUnreachable
from ..series import Cipher
from ..store.base import Page
from . import models

A = TypeVar("A", bound=msgspec.Struct)

log = logging.getLogger("cardseq.server")

#: Codes a well-formed request can still meet because of what the store holds: a code or
#: label taken, a series unknown, disabled or used up, a card missing or in another
#: status, a key absent, a replayed request id whose numbers were released, or that a
#: reservation with other parameters holds, a card locked by failed PIN checks.
STATE_CODES = frozenset(
    {702, 703, 705, 706, 707, 712, 713, 3000, 3002, 3006, 3010, 3012, 3017, 3018, 3019, 3038}
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
        plain = msgspec.to_builtins(payload)
        return json.dumps(plain, allow_nan=False, separators=(",", ":")).encode("ascii")


def respond(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        dumps(payload), status_code=status, headers=headers, media_type="application/json"
    )


# ---- the envelope -------------------------------------------------------------------


def notices(warnings: Sequence[records.Notice]) -> list[models.Warning]:
    return [models.Warning(w.code, w.message) for w in warnings]


def entity(value: int | records.Card, warnings: Sequence[models.Warning] = ()) -> Response:
    """One created thing's answer: a series' new id, or a card as changed."""
    if isinstance(value, int):
        return respond(200, models.SeriesCreated(value, list(warnings), []))
    return respond(200, models.CardUpdated(card(value), list(warnings), []))


def pin_checked(right: bool, warnings: Sequence[models.Warning]) -> Response:
    return respond(200, models.PinChecked(right, list(warnings), []))


def generated(numbers: list[str], warnings: Sequence[models.Warning]) -> Response:
    return respond(200, models.Generated(numbers, list(warnings), []))


def status_log(items: Page[records.StatusChange]) -> Response:
    """A page of a card's status changes; ``next`` is the ``after`` value of the next
    page (null on the last)."""
    rows = [status_change(c) for c in items.items]
    return respond(200, models.StatusLog(rows, [], [], items.next))


def generation_log(items: Page[records.GenerationEntry]) -> Response:
    """A page of a series' generation requests, as ``status_log``."""
    rows = [generation(e) for e in items.items]
    return respond(200, models.GenerationLog(rows, [], [], items.next))


def healthy() -> Response:
    return respond(200, models.Health("ok"))


# ---- errors -------------------------------------------------------------------------


def failure(
    status: int,
    code: int,
    message: str,
    warnings: Sequence[models.Warning] = (),
    headers: dict[str, str] | None = None,
) -> Response:
    """An answer other than 200: the envelope with one error and no data."""
    answer = models.ErrorEnvelope([], list(warnings), [models.Problem(code, message)])
    return respond(status, answer, headers)


#: what a client is told of a store failure. The error's own message is for the server's
#: log only: it can name the database's host, port, name and role, and quote the driver.
STORE_FAILURE = (
    "the store failed ({kind}); no number was handed out: retry later (a generate with"
    " the same requestId)"
)


def status_of(error: CardSeqError, *, not_found: tuple[int, ...] = ()) -> int:
    """503 for a store that cannot be reached now (a database server down, no primary
    during a failover: a retry may succeed); 500 for another store failure (code 500);
    404 for the codes that mean the path or query named something that does not exist;
    400 for any other domain error."""
    if isinstance(error, StoreUnreachable):
        return 503
    if error.code == 500:
        return 500
    return 404 if error.code in not_found else 400


def error(
    exc: CardSeqError, *, warnings: Sequence[models.Warning] = (), not_found: tuple[int, ...] = ()
) -> Response:
    """The answer to a domain error (its status by ``status_of``). A 5xx says only the
    kind of failure (``STORE_FAILURE``); the caller logs the message. A file of the
    server's own that cannot be read whole (``BrokenFile``: a keys file) is not the
    caller's fault: 503, and the message, which names the file, goes to the log only."""
    if isinstance(exc, CommitUnknown):  # the caller needs its request id; the log, where
        log.error("a reservation's commit was cut off: %s", exc.message)
        return failure(
            503,
            exc.code,
            f"the store's connection broke while reservation {exc.value!r} committed: it may"
            f" or may not be made; retry with requestId {exc.value!r}, which returns its"
            " numbers if it was made and makes it once if not",
            warnings,
        )
    if isinstance(exc, BrokenFile):
        what = (exc.field or "file").replace("_", " ")
        log.error("refusing what needs the %s until it is fixed: %s", what, exc.message)
        return failure(503, 503, f"unavailable: the server's {what} is broken", warnings)
    status = status_of(exc, not_found=not_found)
    message = exc.message if status < 500 else STORE_FAILURE.format(kind=type(exc).__name__)
    return failure(status, exc.code, message, warnings)


# ---- records ------------------------------------------------------------------------

#: the fields of a series' answer that come from what was given at its creation
_DETAILS = frozenset(models.Series.__struct_fields__) - {
    "id",
    "code",
    "cardGenerationConfiguration",
    "cardGenerationEnabled",
}


def series(view: records.SeriesDetails) -> models.Series:
    """A series as created, with its configuration and the details it was given (those
    the answer has a field for: a library caller may have kept others)."""
    info, s = view.info, view.info.series
    unset = msgspec.UNSET
    config = models.Configuration(
        s.prefix,
        s.suffix,
        s.offset,
        s.length,
        s.method,
        s.cipher if s.cipher is not Cipher.SIPHASH else unset,
        s.alphabet.spec if not s.alphabet.digits else unset,
        s.group or unset,
        s.separator if s.group else unset,
        list(s.blocked) or unset,
        s.pin_length or unset,
        s.pin_key_id if s.pin_length and s.pin_key_id is not None else unset,
        s.pin_attempts if s.pin_length else unset,
    )
    details = {name: value for name, value in view.details.items() if name in _DETAILS}
    return models.Series(info.id, s.code, config, info.enabled, **details)


def _answer(struct: type[A], record: object, names: dict[str, str]) -> A:
    """``struct`` filled from ``record``'s attributes, ``names`` mapping each field to
    its attribute; times as ``datetime.isoformat`` writes them (``models.Time``)."""
    values = {field: getattr(record, attribute) for field, attribute in names.items()}
    return struct(**{k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()})


_CARD = {
    "cardNumber": "number",
    "seriesId": "series_id",
    "seriesCode": "series_code",
    "index": "index",
    "status": "status",
    "statusLabel": "label",
    "generatedOn": "generated_on",
    "customerId": "customer_id",
    "updatedOn": "updated_on",
}
_STATUS_CHANGE = {
    "cardNumber": "number",
    "fromStatus": "from_status",
    "toStatus": "to_status",
    "statusLabel": "label",
    "customerId": "customer_id",
    "changedOn": "changed_on",
    "actor": "actor",
}
_GENERATION = {
    "seriesId": "series_id",
    "start": "start",
    "count": "count",
    "statusLabel": "label",
    "requestId": "request_id",
    "generatedOn": "generated_on",
    "firstNumber": "first_number",
    "lastNumber": "last_number",
    "actor": "actor",
}


def card(c: records.Card) -> models.Card:
    return _answer(models.Card, c, _CARD)


def status_change(c: records.StatusChange) -> models.StatusChange:
    return _answer(models.StatusChange, c, _STATUS_CHANGE)


def generation(e: records.GenerationEntry) -> models.Generation:
    return _answer(models.Generation, e, _GENERATION)
